#!/usr/bin/env bash
# Configures and builds beemesh with CMake + Ninja (+ ccache) into $BEEMESH_BUILD_DIR.
# Extra arguments are ninja targets; none builds everything. BEEMESH_CMAKE_ARGS adds
# cache settings (e.g. -DBEEMESH_BUILD_BENCH=OFF, -DCMAKE_BUILD_TYPE=RelWithDebInfo).
# A new build directory gets -O2 without debug info, which keeps a cold build on 2 cores
# short; an existing one keeps what it was configured with.
set -euo pipefail
source "$(dirname "$0")/env.sh"
defaults=()
if [ ! -f "$BEEMESH_BUILD_DIR/CMakeCache.txt" ]; then
  defaults=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG"
            "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" -DBEEMESH_WERROR=ON)
fi
# shellcheck disable=SC2086
cmake -S "$BEEMESH_ROOT" -B "$BEEMESH_BUILD_DIR" -G Ninja -Wno-dev "${defaults[@]}" \
  ${BEEMESH_CMAKE_ARGS:-} >/dev/null
cmake --build "$BEEMESH_BUILD_DIR" -j"$(nproc)" ${1:+--target "$@"}
