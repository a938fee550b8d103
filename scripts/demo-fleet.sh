#!/usr/bin/env bash
# The demo's story across 4 machines (`./scripts/demo.sh --fleet` runs this after it has
# installed the dependencies, prepared Podman and built beemesh): scripts/fleet.sh makes 4
# network namespaces on a bridge, each one a machine with its own address (10.79.0.2..5),
# its own daemon (data dir, config file) and its own Podman storage, all members of one
# admitted mesh. examples/web.yaml is applied with 2 replicas through machine 1; each
# replica serves the page on its own machine's address, and a machine that runs no replica
# fetches it there; logs are read through another machine; the delete leaves no pod in any
# machine's Podman and no provider. The fleet (namespaces, bridge, daemons, pods, storage)
# is removed on every exit. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

export FLEET_PREFIX=bmdemo FLEET_SUBNET=10.79.0 FLEET_DIR=/tmp/beemesh-demo-fleet
MACHINES=4

source scripts/demo-common.sh
fleet() { ./scripts/fleet.sh "$@"; }
# beemesh ARGS... inside machine I, through machine I's own node.
on() {
  local i="$1"
  shift
  fleet run "$i" -- beemesh "$@"
}

cleanup() {
  local status=$?
  set +e
  if [ "$status" -ne 0 ] && [ -f "$FLEET_DIR/machines" ]; then
    for i in $(seq 1 "$MACHINES"); do
      echo "---- last lines of machine m$i's log" >&2
      fleet log "$i" 15 >&2
    done
  fi
  fleet down >/dev/null
  [ "$status" -eq 0 ] || echo "demo: FAILED (exit $status); the fleet is removed" >&2
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "4 machines: network namespaces on bridge ${FLEET_PREFIX}0, each with its own address, daemon and Podman"
# A fleet a killed earlier demo left behind goes first.
fleet down >/dev/null
show ./scripts/fleet.sh up "$MACHINES"
show ./scripts/fleet.sh status

step "the nodes, as machine m1 sees them (RPC on each machine's own address)"
printf '$ scripts/fleet.sh run 1 -- beemesh get nodes\n'
on 1 get nodes

step "applying examples/web.yaml with 2 replicas through m1"
apply_out="$(on 1 apply -f examples/web.yaml --replicas 2 2>&1)" || fail "apply failed: $apply_out"
echo "$apply_out"
manifest_id="$(printf '%s\n' "$apply_out" | sed -n 's/.* created: manifest \([0-9a-f]*\),.*/\1/p')"
[ -n "$manifest_id" ] || fail "could not read the manifest id from the apply output"
printf '%s\n' "$apply_out" | grep -q '2/2 replicas placed' || fail "not both replicas were placed"

step "where it runs: the workloads on each machine"
declare -a urls=() workloads=() replica_on=()
client=""
for i in $(seq 1 "$MACHINES"); do
  echo "-- m$i ($(fleet ip "$i"))"
  on "$i" get workloads
  yaml="$(on "$i" get workloads -o yaml)"
  ip="$(printf '%s\n' "$yaml" | sed -n 's/^ *host_ip: \([0-9.]*\)$/\1/p' | head -n 1)"
  port="$(printf '%s\n' "$yaml" | sed -n 's/^ *host_port: \([0-9]*\)$/\1/p' | head -n 1)"
  id="$(printf '%s\n' "$yaml" | sed -n 's/^    id: \([0-9a-f]*\)$/\1/p' | head -n 1)"
  if [ -n "$id" ]; then
    [ "$ip" = "$(fleet ip "$i")" ] || fail "m$i publishes its replica on '$ip', not on its own address"
    urls+=("http://$ip:$port/")
    workloads+=("$id")
    replica_on+=("$i")
  elif [ -z "$client" ]; then
    client="$i"
  fi
done
[ "${#urls[@]}" -eq 2 ] || fail "expected 2 replicas across the machines, found ${#urls[@]}"
[ -n "$client" ] || fail "every machine runs a replica"
echo "replicas on m${replica_on[0]} and m${replica_on[1]}; m$client runs none"

step "providers of manifest $manifest_id, discovered through m$client"
count=0
for _ in $(seq 1 50); do
  count="$(on "$client" get providers "$manifest_id" -o yaml | grep -c 'node_id:' || true)"
  [ "$count" -eq 2 ] && break
  sleep 0.2
done
on "$client" get providers "$manifest_id"
[ "$count" -eq 2 ] || fail "m$client discovers $count providers, expected 2"

step "m$client, which runs no replica, fetches the page at each replica's own address"
for url in "${urls[@]}"; do
  page=""
  for _ in $(seq 1 50); do
    page="$(fleet run "$client" -- curl -fsS --max-time 2 "$url" 2>/dev/null)" && break
    sleep 0.1
  done
  printf '$ scripts/fleet.sh run %s -- curl %s\n%s\n' "$client" "$url" "$page"
  [ "$page" = "hello from beemesh" ] || fail "expected 'hello from beemesh' at $url, got '$page'"
done

reader=$((client % MACHINES + 1))
step "logs of workload ${workloads[0]} (on m${replica_on[0]}), read through m$reader"
printf '$ scripts/fleet.sh run %s -- beemesh logs %s --tail 5\n' "$reader" "${workloads[0]}"
on "$reader" logs "${workloads[0]}" --tail 5

step "deleting the manifest through m$client"
printf '$ scripts/fleet.sh run %s -- beemesh delete -f examples/web.yaml\n' "$client"
on "$client" delete -f examples/web.yaml
for i in $(seq 1 "$MACHINES"); do
  left=""
  for _ in $(seq 1 100); do
    left="$(fleet podman "$i" pod ls -q)"
    [ -z "$left" ] && break
    sleep 0.2
  done
  [ -z "$left" ] || fail "m$i's Podman still runs pods: $left"
done
echo "no machine's Podman runs a pod any more"
for i in $(seq 1 "$MACHINES"); do
  for _ in $(seq 1 50); do
    count="$(on "$i" get providers "$manifest_id" -o yaml | grep -c 'node_id:' || true)"
    [ "$count" -eq 0 ] && break
    sleep 0.2
  done
  [ "$count" -eq 0 ] || fail "m$i still discovers $count providers after the delete"
done
echo "no machine announces it any more"

step "removing the fleet"
fleet down

step "demo finished: 2 replicas on 2 of 4 machines served the page at their own addresses, and are gone again"
