#!/usr/bin/env bash
# Customer-intelligence benchmarks (release build, this machine):
#   1. usage ingestion through the HTTP API in batches of 1,000 vs raw inserts of the same rows,
#      with event ids numbered in sending order and with ids in no order (like UUIDv4);
#   2. freshness: a 1,000-event batch until it shows in daily metrics and the health score;
#   3. full rollup + health recompute for 10,000 customers and EVENTS_FULL events (default 10M);
#   4. peak memory of `cscx usage import` on a small and a large file (flat = streaming);
#   5. Segment's /v1/batch beside the native endpoint at SDK-sized batches (SKIP_SEGMENT=1 skips).
# SQLite always; PostgreSQL too when BENCH_PG_URL is set (ingestion and freshness only).
# Usage: bench/intelligence.sh   (EVENTS_HTTP, EVENTS_FULL, IMPORT_LINES to resize)
set -euo pipefail
# Benchmarks measure the server, not its per-token rate limits.
export CSCX_RATE_LIMIT_PER_MINUTE=0 CSCX_INGEST_RATE_LIMIT_PER_MINUTE=0
cd "$(dirname "$0")/.."
EVENTS_HTTP="${EVENTS_HTTP:-200000}"
EVENTS_FULL="${EVENTS_FULL:-10000000}"
IMPORT_LINES="${IMPORT_LINES:-2000000}"
cargo build --release -p cscx -p cscx-bench
BIN=$PWD/target/release/cscx
BENCH=$PWD/target/release/cscx-bench
PORT=18282

start_server() { "$BIN" serve --bind 127.0.0.1:$PORT "$@" >/dev/null 2>&1 & SERVER=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/health/ready >/dev/null && return; sleep 0.2; done; echo "server did not start"; exit 1; }
stop_server() { kill -TERM "$SERVER"; wait "$SERVER" || true; }

setup() { # $1 = database URL or empty for SQLite; sets TOKEN and INGEST
  export CSCX_DATA_DIR; CSCX_DATA_DIR=$(mktemp -d); export CSCX_LOG=warn
  if [ -n "$1" ]; then export DATABASE_URL="$1"; else unset DATABASE_URL; fi
  "$BIN" user create --email bench@bench.example --role admin >/dev/null
  TOKEN=$("$BIN" token create --email bench@bench.example --name bench 2>/dev/null)
  INGEST=$("$BIN" token create --email bench@bench.example --name ingest --scope ingest 2>/dev/null)
}

ingestion() { # $1 label, $2 url, $3 "" (numbered event ids, then freshness) or --random-event-ids
  if [ -n "$3" ]; then echo "== ingestion ($3): $1"; else echo "== ingestion and freshness: $1"; fi
  setup "$2"
  "$BIN" demo seed --customers 2000 --usage-days 0 >/dev/null
  start_server --no-worker
  "$BENCH" ingest --base http://127.0.0.1:$PORT --token "$TOKEN" --ingest-token "$INGEST" --events "$EVENTS_HTTP" --batch 1000 --concurrency 4 $3
  stop_server
  "$BENCH" raw --database-url "${2:-sqlite://$CSCX_DATA_DIR/cscx.db}" --events "$EVENTS_HTTP" --batch 1000 $3
  if [ -z "$3" ]; then
    start_server
    sleep 2
    "$BENCH" freshness --base http://127.0.0.1:$PORT --token "$TOKEN"
    stop_server
  fi
  rm -rf "$CSCX_DATA_DIR"
}

reset_pg() { psql "${1%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${1##*/}" -qc "CREATE DATABASE ${1##*/}"; }

if [ -z "${SKIP_INGEST:-}" ]; then
  ingestion "SQLite" "" ""
  ingestion "SQLite" "" --random-event-ids
  if [ -n "${BENCH_PG_URL:-}" ]; then
    reset_pg "$BENCH_PG_URL"; ingestion "PostgreSQL" "$BENCH_PG_URL" ""
    reset_pg "$BENCH_PG_URL"; ingestion "PostgreSQL" "$BENCH_PG_URL" --random-event-ids
  fi
fi

# Segment's /v1/batch against the native endpoint side by side: SDK-sized batches of 100,
# random event ids, a fresh SQLite database each (the same ids would be duplicates).
if [ -z "${SKIP_SEGMENT:-}" ]; then
  for mode in "" --segment; do
    echo "== batches of 100, random ids: ${mode:-native}"
    setup ""
    "$BIN" demo seed --customers 2000 --usage-days 0 >/dev/null
    start_server --no-worker
    "$BENCH" ingest --base http://127.0.0.1:$PORT --token "$TOKEN" --ingest-token "$INGEST" --events "$EVENTS_HTTP" --batch 100 --concurrency 4 --random-event-ids $mode
    stop_server
    rm -rf "$CSCX_DATA_DIR"
  done
fi

[ -n "${SKIP_FULL:-}" ] && exit 0
echo "== full rollup and health recompute: 10,000 customers, $EVENTS_FULL events (SQLite)"
setup ""
"$BIN" demo seed --customers 10000 --usage-days 0 >/dev/null
"$BENCH" raw --database-url "sqlite://$CSCX_DATA_DIR/cscx.db" --events "$EVENTS_FULL" --batch 20000 --days 60
FROM=$(date -u -d '-60 days' +%F)
START=$(date +%s.%N)
/usr/bin/time -f "usage rollup: %e s wall, %M KiB max RSS" "$BIN" usage rollup --from "$FROM"
/usr/bin/time -f "health recompute: %e s wall, %M KiB max RSS" "$BIN" health recompute
END=$(date +%s.%N)
awk -v a="$START" -v b="$END" 'BEGIN { printf "full rollup + recompute: %.1f s\n", b - a }'
du -sh "$CSCX_DATA_DIR"
rm -rf "$CSCX_DATA_DIR"

echo "== import memory (SQLite)"
setup ""
"$BIN" demo seed --customers 200 --usage-days 0 >/dev/null
python3 - "$CSCX_DATA_DIR" "$IMPORT_LINES" <<'PY'
import json, sys, datetime
d, n = sys.argv[1], int(sys.argv[2])
now = datetime.datetime.now(datetime.timezone.utc)
for name, lines in (("small", n // 20), ("large", n)):
    with open(f"{d}/{name}.ndjson", "w") as f:
        for i in range(lines):
            ts = (now - datetime.timedelta(minutes=(i * 7) % 80000)).strftime("%Y-%m-%dT%H:%M:%SZ")
            f.write(json.dumps({"event_id": f"{name}-{i}", "customer_key": f"acct-{i % 200 + 1}", "event_type": "login", "user_id": f"u{i % 50}", "timestamp": ts}) + "\n")
PY
ls -la "$CSCX_DATA_DIR"/*.ndjson | awk '{print $5, $9}'
# Peak anonymous memory (heap), sampled from /proc: the SQLite file is memory-mapped, so plain
# RSS also counts database pages the OS can drop at will.
import_peak() { # $1 label, $2 file
  local start=$SECONDS peak=0
  "$BIN" usage import "$2" --no-rollup >/dev/null 2>&1 & local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    local anon; anon=$(awk '/RssAnon/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    [ "${anon:-0}" -gt "$peak" ] && peak=$anon
    sleep 0.2
  done
  wait "$pid"
  echo "import $1 ($(wc -l < "$2") lines): $((SECONDS - start)) s, peak heap (RssAnon) $peak KiB"
}
import_peak small "$CSCX_DATA_DIR/small.ndjson"
import_peak large "$CSCX_DATA_DIR/large.ndjson"
rm -rf "$CSCX_DATA_DIR"
