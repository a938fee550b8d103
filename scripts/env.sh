# Sourced by beemesh's scripts: the environment its tools and tests run in.
BEEMESH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BEEMESH_ROOT
export CONTAINERS_CONF="$BEEMESH_ROOT/config/containers.conf"
export BEEMESH_BUILD_DIR="${BEEMESH_BUILD_DIR:-$BEEMESH_ROOT/build}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$BEEMESH_ROOT}"  # build dirs of one checkout share cache hits
