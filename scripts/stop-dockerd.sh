#!/usr/bin/env bash
# Stops a dockerd started by scripts/start-dockerd.sh DIR: signals it by its pid (TERM, then
# KILL after 20 s), unmounts what it left mounted under DIR, deletes its bridge and DIR.
# Does nothing (successfully) when DIR holds no such instance.
set -euo pipefail

log() { echo "stop-dockerd: $*" >&2; }

[ $# -eq 1 ] || { log "usage: $0 DIR"; exit 1; }
[ -d "$1" ] || exit 0
DIR="$(cd "$1" && pwd)"
if [ ! -f "$DIR/.beemesh-dockerd" ]; then
  log "$DIR was not made by start-dockerd.sh; leaving it alone"
  exit 1
fi

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
wait_gone() {  # pid seconds
  for _ in $(seq 1 $(($2 * 10))); do
    alive "$1" || return 0
    sleep 0.1
  done
  ! alive "$1"
}

pid="$(cat "$DIR/dockerd.pid" 2>/dev/null || true)"
[ -n "$pid" ] || pid="$(cat "$DIR/launcher.pid" 2>/dev/null || true)"
if alive "$pid"; then
  # Force-remove every container first: dockerd's own shutdown gives each one 10 s.
  sock="$DIR/docker.sock"
  ids="$(curl -s --max-time 5 --unix-socket "$sock" 'http://docker/containers/json?all=1' |
    grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4 || true)"
  for id in $ids; do
    curl -s --max-time 10 --unix-socket "$sock" -X DELETE \
      "http://docker/containers/$id?force=1&v=1" >/dev/null || true
  done
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 20; then
    log "dockerd $pid ignored TERM for 20 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || log "dockerd $pid is still there"
  fi
fi

# Processes of this instance that outlived it (containerd, shims), found by their own
# state directory — nothing else on the machine matches it.
for cmdline in $(grep -lsF -- "$DIR/" /proc/[0-9]*/cmdline || true); do
  p="${cmdline#/proc/}"
  p="${p%/cmdline}"
  [ "$p" = "$$" ] && continue
  log "stopping leftover process $p ($(tr '\0' ' ' <"$cmdline" 2>/dev/null | cut -c1-80))"
  kill -KILL "$p" 2>/dev/null || true
done

# Mounts dockerd left behind (overlay layers, netns, shm), deepest first.
{ findmnt -rn -o TARGET 2>/dev/null || true; } | { grep -F -- "$DIR/" || true; } | sort -r |
  while read -r target; do
    umount -l "$target" 2>/dev/null || true
  done

if [ -f "$DIR/bridge" ]; then
  bridge="$(cat "$DIR/bridge")"
  ip link show "$bridge" >/dev/null 2>&1 && ip link del "$bridge" 2>/dev/null || true
fi
rm -rf "$DIR"
