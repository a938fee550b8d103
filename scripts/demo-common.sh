# shellcheck shell=bash
# Sourced by scripts/demo.sh and scripts/demo-fleet.sh: how a demo prints its story.

step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "demo: $*" >&2
  exit 1
}
# Shows the command, then runs it.
show() {
  printf '$ %s\n' "$*"
  "$@"
}
