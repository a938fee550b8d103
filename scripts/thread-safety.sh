#!/usr/bin/env bash
# Builds the libraries whose shared state carries Clang thread-safety annotations
# (src/common/thread_annotations.h: GUARDED_BY, REQUIRES, ...) with clang, where every
# -Wthread-safety finding is an error (other clang warnings are not: the GCC build owns
# -Werror). Run by scripts/test.sh. Only the object files of the annotated libraries are
# compiled (not their dependencies): the analysis needs nothing linked. BEEMESH_TSA_BUILD_DIR
# overrides the build directory ($BEEMESH_ROOT/build-tsa); BEEMESH_TSA_LIBRARIES the
# libraries (default: "workload kube dht").
set -euo pipefail
source "$(dirname "$0")/env.sh"

TSA_BUILD="${BEEMESH_TSA_BUILD_DIR:-$BEEMESH_ROOT/build-tsa}"
TSA_LIBRARIES="${BEEMESH_TSA_LIBRARIES:-workload kube dht}"
if [ ! -f "$TSA_BUILD/build.ninja" ]; then
  # -O0: the analysis runs in the front end; optimising would only cost time.
  CC=clang CXX=clang++ cmake -S "$BEEMESH_ROOT" -B "$TSA_BUILD" -G Ninja -Wno-dev \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O0 -DCMAKE_C_FLAGS_RELEASE=-O0 \
    -DBEEMESH_BUILD_TESTS=OFF -DBEEMESH_BUILD_BENCH=OFF -DBEEMESH_WERROR=OFF \
    -DCMAKE_CXX_FLAGS="-Werror=thread-safety" >/dev/null
fi
objects=()
for lib in $TSA_LIBRARIES; do
  mapfile -t -O "${#objects[@]}" objects < <(ninja -C "$TSA_BUILD" -t targets all |
    sed -n "s|^\(src/$lib/CMakeFiles/beemesh_$lib\.dir/[^:]*\.o\): .*|\1|p")
done
if [ ${#objects[@]} -eq 0 ]; then
  echo "thread-safety: no object files found for: $TSA_LIBRARIES" >&2
  exit 1
fi
echo "thread-safety: ${#objects[@]} object files of: $TSA_LIBRARIES"
ninja -C "$TSA_BUILD" -j"$(nproc)" "${objects[@]}"
