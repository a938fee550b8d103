#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in $BEEMESH_ROOT/build-fuzz and runs
# each for a bounded time. Fails if any target finds a crash, leak, timeout, memory beyond
# its limit or violated property. Usage: scripts/fuzz.sh [seconds-per-target, default 60]
# Optional: BEEMESH_FUZZ_TARGETS="fuzz_envelope fuzz_records" to run a subset,
# BEEMESH_FUZZ_BUILD_DIR for another build directory (scripts/fuzz-common.sh).
# Corpora persist in build-fuzz/corpus/<target> (seeded from fuzz_seeds and fuzz/corpus/);
# crashing inputs are written to build-fuzz/artifacts/. Long runs: scripts/fuzz-long.sh.
set -euo pipefail
source "$(dirname "$0")/fuzz-common.sh"

SECONDS_PER_TARGET="${1:-60}"
fuzz_build
fuzz_seed

failed=""
for target in $FUZZ_TARGETS; do
  log="$FUZZ_BUILD/logs/$target.log"
  echo "== $target: ${SECONDS_PER_TARGET}s"
  if fuzz_run "$target" "$log" -max_total_time="$SECONDS_PER_TARGET"; then
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$log" | tail -2 | sed 's/^/   /'
  else
    echo "!! $target FAILED (log: $log)"
    tail -40 "$log"
    failed="$failed $target"
  fi
done

if [ -n "$failed" ]; then
  echo "fuzz: failures in:$failed"
  exit 1
fi
echo "fuzz: all targets clean"
