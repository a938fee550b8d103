#!/usr/bin/env bash
# Runs every libFuzzer target for a fixed number of executions (default 10,000,000; not
# part of CI: hours on 2 cores) and prints one line per target: executions, crashes and
# wall time. Exits non-zero if any target failed. Usage: scripts/fuzz-long.sh [runs]
# Same build directory, corpora, limits and environment variables as scripts/fuzz.sh
# (scripts/fuzz-common.sh); logs in <build>/logs/<target>.long.<worker>.<chunk>.log, crashing
# inputs in <build>/artifacts/. Record results with the command in docs/BENCHMARKS.md.
#
# BEEMESH_FUZZ_JOBS=N (default 1) splits a target's executions over N processes at once on
# the same corpus. BEEMESH_FUZZ_CHUNK=C (default 250,000) runs each worker's share in
# fresh processes of at most C executions: a long-lived libFuzzer process grows (ASan
# quarantine and allocator caches, the corpus), and the YAML targets' 512 MB RSS limit is
# meant to catch an input's memory, not the process's age. Executions are summed over chunks.
set -euo pipefail
source "$(dirname "$0")/fuzz-common.sh"

RUNS="${1:-10000000}"
JOBS="${BEEMESH_FUZZ_JOBS:-1}"
CHUNK="${BEEMESH_FUZZ_CHUNK:-250000}"
fuzz_build
fuzz_seed

# worker TARGET INDEX SHARE: runs SHARE executions in chunks; prints the executions done.
# Stops at the first failing chunk (its log holds the reason).
worker() {
  local target="$1" index="$2" share="$3" done_runs=0 chunk=0 n log
  while [ "$done_runs" -lt "$share" ]; do
    n=$((share - done_runs))
    if [ "$n" -gt "$CHUNK" ]; then n="$CHUNK"; fi
    log="$FUZZ_BUILD/logs/$target.long.$index.$chunk.log"
    if ! fuzz_run "$target" "$log" -runs="$n"; then
      done_runs=$((done_runs + $(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)))
      echo "$done_runs failed"
      return
    fi
    done_runs=$((done_runs + $(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)))
    chunk=$((chunk + 1))
  done
  echo "$done_runs ok"
}

echo "fuzz-long: $RUNS executions per target ($JOBS processes, chunks of $CHUNK), build $FUZZ_BUILD, commit $(git -C "$BEEMESH_ROOT" rev-parse --short HEAD)"
printf '%-28s %12s %8s %10s  %s\n' target executions crashes seconds result
failed=""
for target in $FUZZ_TARGETS; do
  before=$(find "$FUZZ_BUILD/artifacts" -name "$target-*" | wc -l)
  start=$(date +%s)
  results="$(mktemp)"
  for ((j = 0; j < JOBS; j++)); do
    share=$((RUNS / JOBS + (j < RUNS % JOBS ? 1 : 0)))
    worker "$target" "$j" "$share" >>"$results" &
  done
  wait
  executions=$(awk '{s += $1} END {print s + 0}' "$results")
  if grep -q failed "$results"; then result=FAILED; else result=ok; fi
  rm -f "$results"
  seconds=$(($(date +%s) - start))
  crashes=$(($(find "$FUZZ_BUILD/artifacts" -name "$target-*" | wc -l) - before))
  printf '%-28s %12s %8s %10s  %s\n' "$target" "$executions" "$crashes" "$seconds" "$result"
  if [ "$result" != ok ]; then failed="$failed $target"; fi
done

if [ -n "$failed" ]; then
  echo "fuzz-long: failures in:$failed (logs: $FUZZ_BUILD/logs/<target>.long.*.log)"
  exit 1
fi
echo "fuzz-long: all targets clean"
