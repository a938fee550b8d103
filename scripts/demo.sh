#!/usr/bin/env bash
# The interim main job: deploy examples/web.yaml on this machine through beemesh's Podman
# engine, show it serving over HTTP, its status and logs, then remove it. Exits non-zero if
# any step fails (and removes what it deployed). Needs root (Podman).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '\n== %s\n' "$*"; }

step "installing dependencies"
./scripts/install-deps.sh
step "preparing Podman (config/containers.conf, localhost/busybox:latest)"
./scripts/setup-podman.sh
step "building beemesh-engine"
./scripts/build.sh beemesh-engine

engine="$BEEMESH_BUILD_DIR/tools/beemesh-engine"
workload=""
cleanup() {
  if [ -n "$workload" ]; then
    "$engine" rm "$workload" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

step "deploying examples/web.yaml through the Podman engine (ports published on 127.0.0.1)"
deployed="$("$engine" deploy -f examples/web.yaml --publish --publish-ip 127.0.0.1)"
echo "$deployed"
workload="$(printf '%s\n' "$deployed" | sed -n 's/^  "id": "\([0-9a-z-]*\)",$/\1/p' | head -n1)"
port="$(printf '%s\n' "$deployed" | sed -n 's/^ *"host_port": \([0-9]*\),\{0,1\}$/\1/p' | head -n1)"
if [ -z "$workload" ] || [ -z "$port" ]; then
  echo "demo: could not read the workload id and host port from the deploy output" >&2
  exit 1
fi

step "fetching http://127.0.0.1:$port/ (served by the container Podman started)"
page=""
for _ in $(seq 1 50); do
  if page="$(curl -fsS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null)"; then break; fi
  sleep 0.1
done
echo "$page"
if [ "$page" != "hello from beemesh" ]; then
  echo "demo: expected 'hello from beemesh' from the web workload, got '$page'" >&2
  exit 1
fi

step "status of workload $workload"
"$engine" status "$workload"

step "logs of workload $workload"
"$engine" logs "$workload" --tail 20 --raw

step "removing workload $workload"
"$engine" rm "$workload"
workload_label="beemesh.io/workload-id=$workload"
workload=""
left="$(podman ps -a -q --filter "label=$workload_label" | wc -l)"
if [ "$left" -ne 0 ]; then
  echo "demo: $left container(s) still carry $workload_label after removal" >&2
  exit 1
fi
echo "nothing left behind (no container labelled $workload_label)"

step "demo finished: the page was served by a Podman container, which is now removed"
