#!/usr/bin/env bash
# Configures and builds beemesh with CMake + Ninja (+ ccache) into $BEEMESH_BUILD_DIR.
# Extra arguments are ninja targets; none builds everything. BEEMESH_CMAKE_ARGS adds
# cache settings (e.g. -DBEEMESH_BUILD_BENCH=OFF, -DCMAKE_BUILD_TYPE=RelWithDebInfo).
# Default: -O2 without debug info, which keeps a cold build on 2 cores short.
set -euo pipefail
source "$(dirname "$0")/env.sh"
# shellcheck disable=SC2086
cmake -S "$BEEMESH_ROOT" -B "$BEEMESH_BUILD_DIR" -G Ninja -Wno-dev \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DBEEMESH_WERROR=ON ${BEEMESH_CMAKE_ARGS:-} >/dev/null
cmake --build "$BEEMESH_BUILD_DIR" -j"$(nproc)" ${1:+--target "$@"}
