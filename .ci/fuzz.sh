#!/usr/bin/env bash
# Bounded cargo-fuzz runs of the parsers that read untrusted input (fuzz/fuzz_targets), from the
# corpus in fuzz/corpus (copied, so the repository is not changed). A crash, a hang (10 s per
# input) or a runaway allocation (2 GB) fails the run; its input is left in fuzz/artifacts.
# Usage: .ci/fuzz.sh [SECONDS per target]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  # cargo-fuzz needs a nightly compiler, which cannot be fetched on these machines.
  echo "notice: no nightly toolchain; the fuzzers were not run"
  exit 0
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
cd fuzz
cargo +nightly fuzz build
for target in document usage_batch; do
  corpus=$(mktemp -d)
  cp -r "corpus/$target/." "$corpus/"
  echo "fuzzing $target for ${SECONDS_PER_TARGET}s"
  log="$corpus.log"
  set +e
  cargo +nightly fuzz run "$target" "$corpus" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+== ERROR|SUMMARY)' "$log" || true
  if [ "$rc" -ne 0 ]; then tail -n 60 "$log"; fi
  rm -f "$log"
  rm -rf "$corpus"
  if [ "$rc" -ne 0 ]; then echo "fuzz target $target failed (exit $rc); see fuzz/artifacts/$target"; exit "$rc"; fi
done
