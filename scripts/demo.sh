#!/usr/bin/env bash
# The main job, end to end: creates a mesh (its admin key, a join token and a deployer
# user who logs in), starts 3 admitted beemesh nodes on this machine (127.0.0.1 only),
# applies examples/web.yaml with 2 replicas through one node, shows where it runs (nodes,
# workloads on each node, the providers any node discovers), fetches the page each replica
# serves, shows its logs, deletes it and tears everything down. Exits non-zero if any step
# fails; the daemons, their data and any pod left are removed on every exit.
# Run as root on Debian bookworm (Podman needs root here).
#
# ./scripts/demo.sh --fleet tells the same story across 4 machines of their own: network
# namespaces on a bridge (scripts/fleet.sh), each with its own address 10.79.0.2..5, daemon
# and Podman; the page is fetched from a machine that runs no replica, at each replica's own
# address, and the fleet is removed on every exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/mesh.sh

fleet=0
case "${1:-}" in
  "") ;;
  --fleet) fleet=1 ;;
  *)
    echo "usage: $0 [--fleet]" >&2
    exit 2
    ;;
esac

source scripts/demo-common.sh

step "installing dependencies"
./scripts/install-deps.sh
step "preparing Podman (config/containers.conf, localhost/busybox:latest)"
./scripts/setup-podman.sh
step "building beemesh"
./scripts/build.sh beemesh
BEEMESH="$BEEMESH_BUILD_DIR/src/app/beemesh"
beemesh() { "$BEEMESH" "$@"; }

if [ "$fleet" -eq 1 ]; then
  export BEEMESH_BINARY="$BEEMESH"
  exec ./scripts/demo-fleet.sh
fi

demo_dir="$(mktemp -d /tmp/beemesh-demo.XXXXXX)"
manifest_id=""
kube_proxy_pid=""
cleanup() {
  local status=$?
  set +e
  [ -n "$kube_proxy_pid" ] && kill "$kube_proxy_pid" 2>/dev/null
  mesh_stop
  if [ -n "$manifest_id" ]; then
    for pod in $(podman pod ls -q --filter "label=beemesh.io/manifest-id=$manifest_id"); do
      podman pod rm -f -t 0 "$pod" >/dev/null 2>&1
    done
  fi
  if [ "$status" -ne 0 ]; then
    mesh_log_tails
    echo "demo: FAILED (exit $status); daemons stopped, pods removed" >&2
  fi
  rm -rf "$demo_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "creating the mesh: admin key, join token, a deployer user"
# The user's key and credential live in $BEEMESH_HOME (mesh_start keeps this directory).
export BEEMESH_HOME="$demo_dir/user"
mkdir -p "$BEEMESH_HOME"
chmod 700 "$BEEMESH_HOME"
admin_dir="$demo_dir/admin"
show beemesh mesh --dir "$admin_dir" init --mesh-id demo
join_token="$(beemesh mesh --dir "$admin_dir" admit --ttl 3600)" || fail "mesh admit failed"
[ -n "$join_token" ] || fail "mesh admit printed no join token"
echo "join token: ${join_token:0:24}... (any node may join with it for an hour)"
user_key="$(beemesh whoami -o json | grep -oE '[0-9a-f]{64}' | head -n 1)" || fail "whoami failed"
[ -n "$user_key" ] || fail "whoami printed no public key"
echo "user key: $user_key"
beemesh mesh --dir "$admin_dir" user --name demo --role deployer --key "$user_key" \
  >"$demo_dir/demo.credential" || fail "mesh user failed"
show beemesh login --credential "$demo_dir/demo.credential"

step "starting a 3-node mesh on 127.0.0.1 (data and logs in $demo_dir)"
# Every node joins with the token on its first start.
mesh_start 3 "$BEEMESH" "$demo_dir" --join "$join_token" --capacity-memory 2Gi --capacity-cpu 2000m
n1="${MESH_API_URL[1]}"
n2="${MESH_API_URL[2]}"
n3="${MESH_API_URL[3]}"
echo "every node sees the other two (the node directory is kept in the DHT)"

step "the nodes, as n1 sees them"
show beemesh --server "$n1" get nodes

step "applying examples/web.yaml with 2 replicas through n1"
apply_out="$(beemesh --server "$n1" apply -f examples/web.yaml --replicas 2 2>&1)" ||
  fail "apply failed: $apply_out"
echo "$apply_out"
manifest_id="$(printf '%s\n' "$apply_out" | sed -n 's/.* created: manifest \([0-9a-f]*\),.*/\1/p')"
[ -n "$manifest_id" ] || fail "could not read the manifest id from the apply output"
printf '%s\n' "$apply_out" | grep -q '2/2 replicas placed' || fail "not both replicas were placed"

step "where it runs: the workloads on each node"
declare -a ports=() workloads=()
for i in 1 2 3; do
  echo "-- n$i"
  beemesh --server "${MESH_API_URL[$i]}" get workloads
  yaml="$(beemesh --server "${MESH_API_URL[$i]}" get workloads -o yaml)"
  mapfile -t -O "${#ports[@]}" ports < <(printf '%s\n' "$yaml" | sed -n 's/^ *host_port: \([0-9]*\)$/\1/p')
  mapfile -t -O "${#workloads[@]}" workloads < <(printf '%s\n' "$yaml" | sed -n 's/^    id: \([0-9a-f]*\)$/\1/p')
done
[ "${#ports[@]}" -eq 2 ] || fail "expected 2 published ports across the mesh, found ${#ports[@]}"

step "providers of manifest $manifest_id, discovered through n3"
for _ in $(seq 1 50); do
  count="$(beemesh --server "$n3" get providers "$manifest_id" -o yaml | grep -c 'node_id:' || true)"
  [ "$count" -eq 2 ] && break
  sleep 0.2
done
show beemesh --server "$n3" get providers "$manifest_id"
[ "$count" -eq 2 ] || fail "n3 discovers $count providers, expected 2"

step "the page each replica serves"
for port in "${ports[@]}"; do
  page=""
  for _ in $(seq 1 50); do
    page="$(curl -fsS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null)" && break
    sleep 0.1
  done
  printf '$ curl http://127.0.0.1:%s/\n%s\n' "$port" "$page"
  [ "$page" = "hello from beemesh" ] || fail "expected 'hello from beemesh' on port $port, got '$page'"
done

step "describe and logs of workload ${workloads[0]}, asked through n2 (any node will do)"
show beemesh --server "$n2" describe workload "${workloads[0]}"
show beemesh --server "$n2" logs "${workloads[0]}" --tail 5

if command -v kubectl >/dev/null; then
  step "the same pods through kubectl (beemesh kube-proxy signs with the user's key)"
  mesh_free_port tcp || fail "no free port for kube-proxy"
  eval "$(beemesh kubeconfig --port "$MESH_PORT" --file "$demo_dir/kubeconfig")"
  beemesh kube-proxy --port "$MESH_PORT" --server "$n1" >"$demo_dir/kube-proxy.log" 2>&1 &
  kube_proxy_pid=$!
  for _ in $(seq 1 50); do kubectl get nodes >/dev/null 2>&1 && break; sleep 0.1; done
  show kubectl get pods -o wide
  kill "$kube_proxy_pid" && wait "$kube_proxy_pid" 2>/dev/null || true
  kube_proxy_pid=""
fi

step "deleting the manifest through n3"
show beemesh --server "$n3" delete -f examples/web.yaml
left=""
for _ in $(seq 1 100); do
  left="$(podman pod ls -q --filter "label=beemesh.io/manifest-id=$manifest_id")"
  [ -z "$left" ] && break
  sleep 0.2
done
[ -z "$left" ] || fail "pods still carry beemesh.io/manifest-id=$manifest_id: $left"
echo "no pod carries beemesh.io/manifest-id=$manifest_id any more"
for _ in $(seq 1 50); do
  count="$(beemesh --server "$n1" get providers "$manifest_id" -o yaml | grep -c 'node_id:' || true)"
  [ "$count" -eq 0 ] && break
  sleep 0.2
done
[ "$count" -eq 0 ] || fail "n1 still discovers $count providers after the delete"
echo "no node announces it any more"

step "stopping the daemons"
mesh_stop
echo "stopped; removing $demo_dir"

step "demo finished: 2 replicas on 2 of 3 nodes served the page, and are gone again"
