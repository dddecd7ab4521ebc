#!/usr/bin/env bash
# Server-side render time of the workspace pages with 10,000 customers (release build, SQLite):
# p50 and p99 over N requests per page, measured by curl on the same machine.
# Usage: bench/web.sh [CUSTOMERS] [N]
set -euo pipefail
# Benchmarks measure the server, not its per-token rate limits.
export CSCX_RATE_LIMIT_PER_MINUTE=0 CSCX_INGEST_RATE_LIMIT_PER_MINUTE=0
cd "$(dirname "$0")/.."
CUSTOMERS=${1:-10000}
N=${2:-50}
PORT=${PORT:-18093}
cargo build -q --release -p cscx
BIN=target/release/cscx
DATA=$(mktemp -d)
trap 'kill -TERM "${SERVER:-}" 2>/dev/null || true; rm -rf "$DATA"' EXIT
export CSCX_DATA_DIR=$DATA
"$BIN" demo seed --customers "$CUSTOMERS" --usage-days 0 >/dev/null
echo 'a long bench password' | "$BIN" user create --email web@bench.example --role admin --password-stdin >/dev/null
"$BIN" serve --bind 127.0.0.1:$PORT >/dev/null 2>&1 & SERVER=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/health/ready >/dev/null && break; sleep 0.2; done
JAR=$DATA/cookies
curl -s -c "$JAR" -o /dev/null -d 'email=web@bench.example&password=a+long+bench+password' http://127.0.0.1:$PORT/login
ID=$(curl -s -b "$JAR" "http://127.0.0.1:$PORT/customers?sort=health_score" | grep -o 'href="/customers/[0-9a-f-]\{36\}"' | head -1 | cut -d/ -f3 | tr -d '"')
for page in / "/customers" "/customers?band=red&sort=-arr" "/customers?q=a&renewal_within=90" "/customers/$ID" /approvals /risk-signals; do
  for _ in $(seq 1 "$N"); do
    curl -s -b "$JAR" -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$PORT$page"
  done | sort -k2 -n | awk -v page="$page" '{ code=$1; t[NR]=$2*1000 } END {
    printf "%-40s status %s  p50 %6.1f ms  p99 %6.1f ms\n", page, code, t[int(NR*0.5+0.5)], t[int(NR*0.99+0.5)] }'
done
