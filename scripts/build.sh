#!/usr/bin/env bash
# Configures and builds beemesh with CMake + Ninja (+ ccache) into $BEEMESH_BUILD_DIR.
# Extra arguments are ninja targets; none builds everything. BEEMESH_CMAKE_ARGS adds
# cache settings (e.g. -DBEEMESH_BUILD_BENCH=OFF).
set -euo pipefail
source "$(dirname "$0")/env.sh"
# shellcheck disable=SC2086
cmake -S "$BEEMESH_ROOT" -B "$BEEMESH_BUILD_DIR" -G Ninja -Wno-dev \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBEEMESH_WERROR=ON ${BEEMESH_CMAKE_ARGS:-} >/dev/null
cmake --build "$BEEMESH_BUILD_DIR" -j"$(nproc)" ${1:+--target "$@"}
