#!/usr/bin/env bash
# Builds the libraries whose shared state carries Clang thread-safety annotations
# (src/common/thread_annotations.h: GUARDED_BY, REQUIRES, ...) with clang, where every
# -Wthread-safety finding is an error (other clang warnings are not: the GCC build owns
# -Werror). Run by scripts/test.sh. BEEMESH_TSA_BUILD_DIR overrides the build directory
# ($BEEMESH_ROOT/build-tsa); BEEMESH_TSA_TARGETS the targets (default: beemesh_workload).
set -euo pipefail
source "$(dirname "$0")/env.sh"

TSA_BUILD="${BEEMESH_TSA_BUILD_DIR:-$BEEMESH_ROOT/build-tsa}"
TSA_TARGETS="${BEEMESH_TSA_TARGETS:-beemesh_workload}"
if [ ! -f "$TSA_BUILD/build.ninja" ]; then
  # -O0: the analysis runs in the front end; optimising would only cost time.
  CC=clang CXX=clang++ cmake -S "$BEEMESH_ROOT" -B "$TSA_BUILD" -G Ninja -Wno-dev \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O0 -DCMAKE_C_FLAGS_RELEASE=-O0 \
    -DBEEMESH_BUILD_TESTS=OFF -DBEEMESH_BUILD_BENCH=OFF -DBEEMESH_WERROR=OFF \
    -DCMAKE_CXX_FLAGS="-Werror=thread-safety" >/dev/null
fi
# shellcheck disable=SC2086
cmake --build "$TSA_BUILD" -j"$(nproc)" --target $TSA_TARGETS
