#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in $BEEMESH_ROOT/build-fuzz and runs
# each for a bounded time. Fails if any target finds a crash, leak, timeout or violated
# property. Usage: scripts/fuzz.sh [seconds-per-target, default 60]
# Optional: BEEMESH_FUZZ_TARGETS="fuzz_envelope fuzz_records" to run a subset.
# Corpora persist in build-fuzz/corpus/<target> (seeded from fuzz_seeds and fuzz/corpus/);
# crashing inputs are written to build-fuzz/artifacts/.
set -euo pipefail
source "$(dirname "$0")/env.sh"

SECONDS_PER_TARGET="${1:-60}"
BUILD="$BEEMESH_ROOT/build-fuzz"
TARGETS="${BEEMESH_FUZZ_TARGETS:-fuzz_envelope fuzz_messages fuzz_records fuzz_manifest}"
SAN_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"

if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$BEEMESH_ROOT" -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBEEMESH_BUILD_FUZZ=ON -DBEEMESH_BUILD_TESTS=OFF -DBEEMESH_BUILD_BENCH=OFF \
    -DBEEMESH_WERROR=OFF \
    -DCMAKE_C_FLAGS="$SAN_FLAGS" -DCMAKE_CXX_FLAGS="$SAN_FLAGS" >/dev/null
fi
# shellcheck disable=SC2086
cmake --build "$BEEMESH_ROOT/build-fuzz" -j"$(nproc)" --target $TARGETS fuzz_seeds

SEEDS="$BUILD/seeds"
rm -rf "$SEEDS"
"$BUILD/fuzz/fuzz_seeds" "$SEEDS"
mkdir -p "$SEEDS/manifest"
cp "$BEEMESH_ROOT"/fuzz/corpus/manifest/* "$SEEDS/manifest/"
mkdir -p "$BUILD/artifacts" "$BUILD/logs"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=""
for target in $TARGETS; do
  name="${target#fuzz_}"
  corpus="$BUILD/corpus/$name"
  mkdir -p "$corpus" "$SEEDS/$name"
  log="$BUILD/logs/$target.log"
  echo "== $target: ${SECONDS_PER_TARGET}s"
  if "$BUILD/fuzz/$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$BUILD/artifacts/$target-" "$corpus" "$SEEDS/$name" >"$log" 2>&1; then
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
