#!/usr/bin/env bash
# The health score on real customers: the CDNOW development split (../shared/data/cdnow-dev)
# loaded through the API into a fresh SQLite instance, then `cscx health backtest` and
# `cscx health calibrate` as of 2022-09-30 against who never bought again by 2023-06-30.
# Usage: bench/cdnow.sh [path/to/cdnow_dev.txt]
set -euo pipefail
export CSCX_RATE_LIMIT_PER_MINUTE=0 CSCX_INGEST_RATE_LIMIT_PER_MINUTE=0 CSCX_LOG=warn
cd "$(dirname "$0")/.."
LOG="${1:-../shared/data/cdnow-dev/cdnow_dev.txt}"
cargo build --release -p cscx
BIN=$PWD/target/release/cscx
PORT=18283
export CSCX_DATA_DIR; CSCX_DATA_DIR=$(mktemp -d)
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$CSCX_DATA_DIR"' EXIT; else echo "data kept in $CSCX_DATA_DIR"; fi
"$BIN" user create --email bench@bench.example --role admin >/dev/null
TOKEN=$("$BIN" token create --email bench@bench.example --name bench 2>/dev/null)
INGEST=$("$BIN" token create --email bench@bench.example --name ingest --scope ingest 2>/dev/null)
"$BIN" serve --bind 127.0.0.1:$PORT >/dev/null 2>&1 & SERVER=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/health/ready >/dev/null && break; sleep 0.2; done
start=$(date +%s)
python3 bench/cdnow.py "http://127.0.0.1:$PORT" "$TOKEN" "$INGEST" "$LOG" "$CSCX_DATA_DIR/outcomes.csv"
echo "loaded through the API in $(( $(date +%s) - start )) s"
kill -TERM "$SERVER"; wait "$SERVER" || true
start=$(date +%s)
"$BIN" health backtest --as-of 2022-09-30 --outcomes "$CSCX_DATA_DIR/outcomes.csv"
echo "back-test (with the rollups it finished first) in $(( $(date +%s) - start )) s"
"$BIN" health calibrate --as-of 2022-09-30 --outcomes "$CSCX_DATA_DIR/outcomes.csv" | tr -s " \n" " "; echo
