#!/usr/bin/env bash
# Reproducible API benchmark: 10,000 customers with stakeholders, then GET /api/v1/customers
# (filter + sort, limit 50) and GET /api/v1/customers/{id} at a fixed rate, on SQLite and, when
# BENCH_PG_URL is set (e.g. postgres://postgres@127.0.0.1:5432/cscx_bench), on PostgreSQL.
# Usage: bench/run.sh [rate] [seconds]
set -euo pipefail
# Benchmarks measure the server, not its per-token rate limits.
export CSCX_RATE_LIMIT_PER_MINUTE=0 CSCX_INGEST_RATE_LIMIT_PER_MINUTE=0
cd "$(dirname "$0")/.."
RATE="${1:-1000}"
SECONDS_="${2:-20}"
cargo build --release -p cscx -p cscx-bench
BIN=target/release/cscx
BENCH=target/release/cscx-bench

run_one() {
  local label="$1" url="$2"
  local dir; dir=$(mktemp -d)
  export CSCX_DATA_DIR="$dir" CSCX_LOG=warn
  if [ -n "$url" ]; then export DATABASE_URL="$url"; else unset DATABASE_URL; fi
  echo "== $label"
  "$BIN" user create --email bench@bench.example --role admin >/dev/null
  local token; token=$("$BIN" token create --email bench@bench.example --name bench 2>/dev/null)
  /usr/bin/time -f "seeded in %e s (max RSS %M KiB)" "$BIN" demo seed --customers 10000 --usage-days 0
  "$BIN" serve --bind 127.0.0.1:18181 >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 50); do curl -sf http://127.0.0.1:18181/health/ready >/dev/null && break; sleep 0.2; done
  "$BENCH" plans --database-url "${url:-sqlite://$dir/cscx.db}"
  "$BENCH" load --base http://127.0.0.1:18181 --token "$token" --rate "$RATE" --seconds "$SECONDS_"
  echo "server RSS: $(ps -o rss= -p $pid) KiB"
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$dir"
}

run_one "SQLite" ""
if [ -n "${BENCH_PG_URL:-}" ]; then
  psql "${BENCH_PG_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${BENCH_PG_URL##*/}" -qc "CREATE DATABASE ${BENCH_PG_URL##*/}"
  run_one "PostgreSQL" "$BENCH_PG_URL"
fi
