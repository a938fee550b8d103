#!/usr/bin/env bash
# Configures (once) and builds beemesh with CMake + Ninja (+ ccache) into $BEEMESH_BUILD_DIR.
# Extra arguments are ninja targets; none builds everything.
set -euo pipefail
source "$(dirname "$0")/env.sh"
if [ ! -f "$BEEMESH_BUILD_DIR/build.ninja" ]; then
  cmake -S "$BEEMESH_ROOT" -B "$BEEMESH_BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBEEMESH_WERROR=ON ${BEEMESH_CMAKE_ARGS:-}
fi
cmake --build "$BEEMESH_BUILD_DIR" -j"$(nproc)" ${1:+--target "$@"}
