#!/usr/bin/env bash
# Contract extraction benchmarks (release build):
#  1. builtin extraction over the CUAD dev contracts: median/p99/max per contract, peak memory;
#  2. upload-to-parsed latency of a 10-page PDF through the API with the builtin engine (SQLite).
# Usage: bench/contracts.sh [UPLOADS]   (CSCX_CUAD_DIR overrides the contracts' folder)
set -euo pipefail
# Benchmarks measure the server, not its per-token rate limits.
export CSCX_RATE_LIMIT_PER_MINUTE=0 CSCX_INGEST_RATE_LIMIT_PER_MINUTE=0
cd "$(dirname "$0")/.."
UPLOADS=${1:-20}
PORT=${PORT:-18091}
CUAD=${CSCX_CUAD_DIR:-../shared/data/cuad-dev}
cargo build -q --release -p cscx -p cscx-bench
BIN=target/release/cscx
BENCH=target/release/cscx-bench

"$BENCH" extract --dir "$CUAD/contracts" --passes 3

DATA=$(mktemp -d)
trap 'kill -TERM "${SERVER:-}" 2>/dev/null || true; rm -rf "$DATA"' EXIT
export CSCX_DATA_DIR=$DATA
"$BIN" user create --email bench@bench.example --role admin >/dev/null
TOKEN=$("$BIN" token create --email bench@bench.example --name bench 2>/dev/null)
"$BIN" serve --bind 127.0.0.1:$PORT >/dev/null 2>&1 & SERVER=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/health/ready >/dev/null && break; sleep 0.2; done
"$BENCH" upload --base http://127.0.0.1:$PORT --token "$TOKEN" --count "$UPLOADS" \
  --file crates/ai/tests/fixtures/msa-ten-pages.pdf
