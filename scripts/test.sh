#!/usr/bin/env bash
# The one test command: installs what the tests need, builds, checks the thread-safety
# annotations with clang, runs every test (unit, real Podman, real Docker APIs, real
# OpenDHT, daemon end-to-end) and a short fuzzing run. Exits non-zero if anything fails.
# Needs root (Podman, dockerd).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

./scripts/install-deps.sh
./scripts/setup-podman.sh
# Tests need neither the benchmarks nor the developer tools: don't build them here.
BEEMESH_CMAKE_ARGS="-DBEEMESH_BUILD_BENCH=OFF ${BEEMESH_CMAKE_ARGS:-}" ./scripts/build.sh

echo "== thread safety (clang -Wthread-safety)"
./scripts/thread-safety.sh

echo "== ctest"
ctest --test-dir "$BEEMESH_BUILD_DIR" --output-on-failure -j"$(nproc)" "$@"

if [ -x scripts/fuzz.sh ]; then
  echo "== fuzz (short run)"
  ./scripts/fuzz.sh 10
fi
echo "== all tests passed"
