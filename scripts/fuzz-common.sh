# shellcheck shell=bash
# Sourced by scripts/fuzz.sh and scripts/fuzz-long.sh: the fuzz build directory, the list
# of targets, building them, the seed corpora and the libFuzzer options of each target.
# BEEMESH_FUZZ_BUILD_DIR overrides the build directory ($BEEMESH_ROOT/build-fuzz);
# BEEMESH_FUZZ_TARGETS="fuzz_envelope fuzz_records" picks a subset (default: every
# beemesh_fuzz_target in fuzz/CMakeLists.txt).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

FUZZ_BUILD="${BEEMESH_FUZZ_BUILD_DIR:-$BEEMESH_ROOT/build-fuzz}"
FUZZ_TARGETS="${BEEMESH_FUZZ_TARGETS:-$(sed -n 's/^beemesh_fuzz_target(\([a-z_]*\) .*/\1/p' \
  "$BEEMESH_ROOT/fuzz/CMakeLists.txt" | tr '\n' ' ')}"
FUZZ_SEEDS="$FUZZ_BUILD/seeds"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# Configures (clang, ASan + UBSan, libFuzzer) and builds $FUZZ_TARGETS and fuzz_seeds.
fuzz_build() {
  local san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
  if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
    CC=clang CXX=clang++ cmake -S "$BEEMESH_ROOT" -B "$FUZZ_BUILD" -G Ninja \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DBEEMESH_BUILD_FUZZ=ON -DBEEMESH_BUILD_TESTS=OFF -DBEEMESH_BUILD_BENCH=OFF \
      -DBEEMESH_WERROR=OFF \
      -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" >/dev/null
  fi
  # shellcheck disable=SC2086
  cmake --build "$FUZZ_BUILD" -j"$(nproc)" --target $FUZZ_TARGETS fuzz_seeds
}

# Writes the seed corpora into $FUZZ_SEEDS/<name> (fuzz_seeds and fuzz/corpus/).
fuzz_seed() {
  rm -rf "$FUZZ_SEEDS"
  "$FUZZ_BUILD/fuzz/fuzz_seeds" "$FUZZ_SEEDS"
  mkdir -p "$FUZZ_SEEDS/manifest"
  cp "$BEEMESH_ROOT"/fuzz/corpus/manifest/* "$FUZZ_SEEDS/manifest/"
  mkdir -p "$FUZZ_SEEDS/dht_datagram"
  cp "$BEEMESH_ROOT"/fuzz/corpus/dht_datagram/* "$FUZZ_SEEDS/dht_datagram/"
  mkdir -p "$FUZZ_BUILD/artifacts" "$FUZZ_BUILD/logs"
}

# The memory limit of a target: the YAML targets must stay small (an alias bomb would not);
# their ASan quarantine is cut to 64 MB so that the limit measures the parser.
fuzz_rss_limit_mb() {
  case "$1" in
    fuzz_manifest*) echo 512 ;;
    *) echo 2048 ;;
  esac
}
fuzz_asan_options() {
  case "$1" in
    fuzz_manifest*) echo "quarantine_size_mb=64:$ASAN_OPTIONS" ;;
    *) echo "$ASAN_OPTIONS" ;;
  esac
}

# fuzz_run TARGET LOG [libFuzzer options...]: runs TARGET on its corpus
# ($FUZZ_BUILD/corpus/<name>) and seeds; a crash, leak, timeout (10 s per input), memory
# beyond the limit or violated property is a failure (non-zero status).
fuzz_run() {
  local target="$1" log="$2"
  shift 2
  local name="${target#fuzz_}"
  mkdir -p "$FUZZ_BUILD/corpus/$name" "$FUZZ_SEEDS/$name"
  ASAN_OPTIONS="$(fuzz_asan_options "$target")" \
    "$FUZZ_BUILD/fuzz/$target" -timeout=10 -rss_limit_mb="$(fuzz_rss_limit_mb "$target")" \
    -print_final_stats=1 -artifact_prefix="$FUZZ_BUILD/artifacts/$target-" "$@" \
    "$FUZZ_BUILD/corpus/$name" "$FUZZ_SEEDS/$name" >"$log" 2>&1
}
