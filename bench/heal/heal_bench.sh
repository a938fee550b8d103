#!/usr/bin/env bash
# Time from a machine's death to its replacement serving (issue 13), on a fleet of
# network-namespace machines (scripts/fleet.sh), real daemons and real Podman. Run as root.
#
#   bench/heal/heal_bench.sh [RUNS=10] [MACHINES=5]
#
# Applies a 2-replica web Deployment through machine 1, then RUNS times: picks a machine
# running a replica, `fleet.sh kill`s it (SIGKILL of its daemon and its containers), and
# polls (every 200 ms, from a machine running the other replica) every live machine's
# published port until a third machine serves the page; prints the time from the kill.
# Then boots the killed machine again and waits until exactly 2 replicas run (its stale
# replica or another removes itself) before the next run. Prints p50 and max.
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
RUNS="${1:-10}"
MACHINES="${2:-5}"
export FLEET_PREFIX=bmhb FLEET_SUBNET=10.81.0 FLEET_DIR=/tmp/bmhb
FLEET="$(dirname "$0")/../../scripts/fleet.sh"
MID=""
YAML="$FLEET_DIR-web.yaml"

cleanup() { "$FLEET" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
"$FLEET" up "$MACHINES" -- --capacity-memory 1Gi --capacity-cpu 2000m >/dev/null
"$FLEET" wait "$MACHINES" 60 >/dev/null
cat >"$YAML" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bench-web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: bench-web
  template:
    metadata:
      labels:
        app: bench-web
    spec:
      containers:
        - name: web
          image: localhost/busybox:latest
          command: ["sh", "-c"]
          args:
            - |
              mkdir -p /www && echo "bench page" > /www/index.html
              exec httpd -f -p 8080 -h /www
          ports:
            - containerPort: 8080
          resources:
            limits:
              memory: 64Mi
              cpu: 100m
YAML
MID="$("$FLEET" run 1 -- beemesh apply -f "$YAML" -o json 2>/dev/null |
  jq -r '.. | objects | select(has("manifest_id")) | .manifest_id' | head -n 1)"
[ -n "$MID" ] || { echo "heal_bench: apply printed no manifest id" >&2; exit 1; }

# Machines running a pod of the manifest (running containers only).
replica_machines() {
  local m
  for m in $(seq 1 "$MACHINES"); do
    if "$FLEET" podman "$m" ps -q --filter "label=beemesh.io/manifest-id=$MID" 2>/dev/null |
      grep -q .; then echo "$m"; fi
  done
}
# host:port of machine M's replica, from its workloads.
address_of() {
  "$FLEET" run "$1" -- beemesh get workloads -o json 2>/dev/null |
    jq -r --arg mid "$MID" '.. | objects | select(.manifest_id? == $mid and (.ports | type) == "array") | .ports[0] | select(. != null) | "\(.host_ip):\(.host_port)"' |
    head -n 1
}
wait_count() {
  local want="$1" deadline=$((SECONDS + 120)) stable=0
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ "$(replica_machines | wc -l)" -eq "$want" ]; then
      stable=$((stable + 1))
      [ "$stable" -ge 5 ] && return 0
    else
      stable=0
    fi
    sleep 1
  done
  echo "heal_bench: the count did not settle at $want" >&2
  return 1
}

wait_count 2
times=()
for run in $(seq 1 "$RUNS"); do
  mapfile -t before < <(replica_machines)
  victim="${before[1]}"
  survivor="${before[0]}"
  start=$(date +%s%N)
  "$FLEET" kill "$victim" >/dev/null
  served=""
  deadline=$((SECONDS + 90))
  while [ -z "$served" ] && [ "$SECONDS" -lt "$deadline" ]; do
    for m in $(seq 1 "$MACHINES"); do
      [ "$m" = "$victim" ] || [ "$m" = "$survivor" ] && continue
      addr="$(address_of "$m")"
      [ -n "$addr" ] && [ "$addr" != "null:null" ] || continue
      if "$FLEET" run "$survivor" -- curl -fsS --max-time 1 "http://$addr/" 2>/dev/null |
        grep -q "bench page"; then
        served="$m"
        break
      fi
    done
    [ -n "$served" ] || sleep 0.2
  done
  end=$(date +%s%N)
  ms=$(((end - start) / 1000000))
  [ -n "$served" ] || ms=-1
  echo "run $run: killed machine $victim, replacement serving on machine ${served:-none} after $ms ms"
  times+=("$ms")
  "$FLEET" start "$victim" >/dev/null
  wait_count 2
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {
  printf "runs %d  p50 %d ms  max %d ms\n", NR, a[int((NR+1)/2)], a[NR] }'
