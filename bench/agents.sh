#!/usr/bin/env bash
# Agent benchmarks (release build, SQLite, builtin engine, demo portfolio): time to first SSE
# event and to `done` for the evaluation requests; concurrent approval decisions.
# Usage: bench/agents.sh [APPROVALS] [CONCURRENCY]
set -euo pipefail
# Benchmarks measure the server, not its per-token rate limits.
export CSCX_RATE_LIMIT_PER_MINUTE=0 CSCX_INGEST_RATE_LIMIT_PER_MINUTE=0
cd "$(dirname "$0")/.."
APPROVALS=${1:-200}
CONCURRENCY=${2:-8}
PORT=${PORT:-18092}
cargo build -q --release -p cscx -p cscx-bench
BIN=target/release/cscx
DATA=$(mktemp -d)
trap 'kill -TERM "${SERVER:-}" 2>/dev/null || true; rm -rf "$DATA"' EXIT
export CSCX_DATA_DIR=$DATA CSCX_AGENT_MESSAGES_PER_MINUTE=100000
"$BIN" demo seed --customers "${CUSTOMERS:-40}" --usage-days "${USAGE_DAYS:-60}" >/dev/null
"$BIN" user create --email bench@bench.example --role admin >/dev/null
TOKEN=$("$BIN" token create --email bench@bench.example --name bench 2>/dev/null)
"$BIN" serve --bind 127.0.0.1:$PORT >/dev/null 2>&1 & SERVER=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/health/ready >/dev/null && break; sleep 0.2; done
target/release/cscx-bench agents --base http://127.0.0.1:$PORT --token "$TOKEN" \
  --approvals "$APPROVALS" --concurrency "$CONCURRENCY"
