#!/usr/bin/env bash
# Starts a private Docker Engine (Debian's dockerd, package docker.io) by hand — not as a
# service — with all of its state under DIR, and prints its socket path (DIR/docker.sock).
#
#   scripts/start-dockerd.sh DIR        # then: DOCKER_HOST=unix://DIR/docker.sock ...
#   scripts/stop-dockerd.sh DIR         # stops it by pid and removes DIR
#
# Each instance gets its own bridge (bm<hash>, a free 10.x.y.0/24) and no iptables rules,
# so several instances (and a system dockerd) can run side by side; published ports on
# 127.0.0.1 are served by docker-proxy. The offline image localhost/busybox:latest is
# imported into it (no registry is reachable here). Needs root.
set -euo pipefail

log() { echo "start-dockerd: $*" >&2; }
die() { log "$*"; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DIR"
[ "$(id -u)" -eq 0 ] || die "needs root (dockerd manages mounts, cgroups and a bridge)"
command -v dockerd >/dev/null || die "dockerd not found (package docker.io; run scripts/install-deps.sh)"
command -v curl >/dev/null || die "curl not found (run scripts/install-deps.sh)"
[ -x /bin/busybox ] || die "/bin/busybox missing (package busybox-static)"

mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
LOGFILE="$DIR/dockerd.log"
[ ${#SOCK} -lt 100 ] || die "socket path $SOCK is too long for a Unix socket; use a shorter DIR"

api() { curl -sS --max-time "${API_TIMEOUT:-10}" --unix-socket "$SOCK" "$@"; }
ping_ok() { [ "$(curl -s --max-time 1 --unix-socket "$SOCK" http://docker/_ping 2>/dev/null)" = "OK" ]; }

if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && ping_ok; then
  log "dockerd already running in $DIR (pid $(cat "$PIDFILE"))"
  echo "$SOCK"
  exit 0
fi

touch "$DIR/.beemesh-dockerd"  # marks DIR as ours for stop-dockerd.sh
mkdir -p "$DIR/data" "$DIR/exec"
echo '{}' >"$DIR/daemon.json"  # ignore /etc/docker/daemon.json

# A bridge of our own on a free 10.x.y.0/24.
bridge_args=(--iptables=false --ip-masq=false)
hash="$(printf '%s' "$DIR" | sha256sum | cut -c1-10)"
BRIDGE="bm$hash"
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  subnet=""
  seed=$((16#${hash:0:4}))
  for i in $(seq 0 200); do
    n=$(((seed + i * 7) % 12800))
    candidate="10.$((200 + n / 256)).$((n % 256))"
    if ! ip -o -4 addr show | grep -q " ${candidate//./\\.}\."; then
      subnet="$candidate"
      break
    fi
  done
  [ -n "$subnet" ] || die "no free 10.x.y.0/24 subnet for the bridge"
  if ip link add "$BRIDGE" type bridge 2>/dev/null; then
    ip addr add "$subnet.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
  else
    BRIDGE=""
  fi
fi
if [ -n "$BRIDGE" ]; then
  echo "$BRIDGE" >"$DIR/bridge"
  bridge_args+=(--bridge "$BRIDGE")
else
  log "cannot create a bridge; using dockerd's default docker0 (do not run two at once)"
  bridge_args=()
fi

rm -f "$SOCK" "$PIDFILE"
(
  cd /
  exec setsid dockerd \
    --config-file "$DIR/daemon.json" \
    --exec-opt native.cgroupdriver=cgroupfs \
    --default-ulimit nofile=20000:20000 --default-ulimit nproc=32768:32768 \
    --data-root "$DIR/data" --exec-root "$DIR/exec" \
    --pidfile "$PIDFILE" --host "unix://$SOCK" \
    --shutdown-timeout 2 "${bridge_args[@]}" \
    </dev/null >"$LOGFILE" 2>&1
) &
launcher=$!
echo "$launcher" >"$DIR/launcher.pid"

for _ in $(seq 1 300); do
  ping_ok && break
  if ! kill -0 "$launcher" 2>/dev/null; then
    tail -n 20 "$LOGFILE" >&2 || true
    die "dockerd exited during start-up (log: $LOGFILE)"
  fi
  sleep 0.1
done
ping_ok || { tail -n 20 "$LOGFILE" >&2; die "dockerd did not answer /_ping within 30 s"; }

# The offline test image, built like scripts/setup-podman.sh does for Podman.
if [ "$(api -o /dev/null -w '%{http_code}' http://docker/images/localhost/busybox:latest/json)" != 200 ]; then
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,var/www,root}
  cp /bin/busybox "$rootfs/bin/busybox"
  # One perl process for the ~270 applet links (a fork per link takes seconds).
  (cd "$rootfs" && /bin/busybox --list-full | grep -vx bin/busybox |
    perl -ne 'chomp; symlink("/bin/busybox", $_) or die "symlink $_: $!\n"')
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  chmod 1777 "$rootfs/tmp"
  # POST /images/create?fromSrc=- is what `docker import` sends.
  out="$(tar -C "$rootfs" -c . | API_TIMEOUT=60 api -X POST -H 'Content-Type: application/x-tar' \
    --data-binary @- \
    'http://docker/images/create?fromSrc=-&repo=localhost/busybox&tag=latest&changes=ENV%20PATH%3D%2Fusr%2Fsbin%3A%2Fusr%2Fbin%3A%2Fsbin%3A%2Fbin&changes=CMD%20%5B%22%2Fbin%2Fsh%22%5D')"
  if [ "$(api -o /dev/null -w '%{http_code}' http://docker/images/localhost/busybox:latest/json)" != 200 ]; then
    die "importing localhost/busybox:latest failed: $out"
  fi
  log "imported localhost/busybox:latest"
fi

log "dockerd $(cat "$PIDFILE" 2>/dev/null || echo "?") ready on $SOCK${BRIDGE:+ (bridge $BRIDGE)}"
echo "$SOCK"
