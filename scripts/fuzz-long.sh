#!/usr/bin/env bash
# Runs every libFuzzer target for a fixed number of executions (default 10,000,000; not
# part of CI: hours on 2 cores) and prints one line per target: executions, crashes and
# wall time. Exits non-zero if any target failed. Usage: scripts/fuzz-long.sh [runs]
# Same build directory, corpora, limits and environment variables as scripts/fuzz.sh
# (scripts/fuzz-common.sh); logs in <build>/logs/<target>.long.log, crashing inputs in
# <build>/artifacts/. Record results with the command in docs/BENCHMARKS.md.
set -euo pipefail
source "$(dirname "$0")/fuzz-common.sh"

RUNS="${1:-10000000}"
fuzz_build
fuzz_seed

echo "fuzz-long: $RUNS executions per target, build $FUZZ_BUILD, commit $(git -C "$BEEMESH_ROOT" rev-parse --short HEAD)"
printf '%-28s %12s %8s %10s  %s\n' target executions crashes seconds result
failed=""
for target in $FUZZ_TARGETS; do
  log="$FUZZ_BUILD/logs/$target.long.log"
  before=$(find "$FUZZ_BUILD/artifacts" -name "$target-*" | wc -l)
  start=$(date +%s)
  if fuzz_run "$target" "$log" -runs="$RUNS"; then result=ok; else result=FAILED; fi
  seconds=$(($(date +%s) - start))
  crashes=$(($(find "$FUZZ_BUILD/artifacts" -name "$target-*" | wc -l) - before))
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-28s %12s %8s %10s  %s\n' "$target" "${executions:-?}" "$crashes" "$seconds" "$result"
  if [ "$result" != ok ]; then failed="$failed $target"; fi
done

if [ -n "$failed" ]; then
  echo "fuzz-long: failures in:$failed (logs: $FUZZ_BUILD/logs/<target>.long.log)"
  exit 1
fi
echo "fuzz-long: all targets clean"
