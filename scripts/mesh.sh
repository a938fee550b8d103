# shellcheck shell=bash
# Sourced by beemesh's scripts (demo.sh): start and stop a local mesh of `beemesh machine`
# processes on 127.0.0.1. Needs bash, ss (iproute2) and the built beemesh binary.
#
#   source scripts/mesh.sh
#   mesh_start 3 "$BEEMESH_BUILD_DIR/src/app/beemesh" /tmp/somewhere   # waits until all see each other
#   mesh_cli 1 get nodes                   # beemesh --server <node 1's API> get nodes
#   mesh_stop                              # SIGTERM, then SIGKILL after 10 s
#
# Every node gets its own data directory and log under the given directory, free ports
# (RPC and API on TCP, DHT on UDP; checked with ss), a network id drawn at random (so two
# meshes on one machine never mix) and --bootstrap to node 1. After mesh_start:
# MESH_API_URL[i], MESH_PID[i], MESH_LOG[i] for i = 1..N; BEEMESH_HOME points at the
# mesh's user directory (the CLI creates the user key there on first use).

MESH_BIN=""
MESH_DIR=""
MESH_NODES=0
MESH_NETWORK_ID=""
MESH_PORT=""
declare -a MESH_API_URL=() MESH_PID=() MESH_LOG=() MESH_TAKEN_PORTS=()

# Sets MESH_PORT to a port nobody listens on (tcp|udp), not handed out before by this mesh.
# (Not meant for $(...): the ports handed out are remembered in this shell.)
mesh_free_port() {
  local proto="$1" port flag
  [ "$proto" = udp ] && flag=-Huan || flag=-Htan
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    case " ${MESH_TAKEN_PORTS[*]} " in *" $port "*) continue ;; esac
    if [ -z "$(ss $flag "sport = :$port" 2>/dev/null)" ]; then
      MESH_TAKEN_PORTS+=("$port")
      MESH_PORT="$port"
      return 0
    fi
  done
  echo "mesh: no free $proto port found" >&2
  return 1
}

# beemesh --server <node i> ARGS...
mesh_cli() {
  local i="$1"
  shift
  "$MESH_BIN" --server "${MESH_API_URL[$i]}" "$@"
}

# How many nodes node i lists in GET /nodes (0 when it does not answer).
mesh_nodes_seen() {
  mesh_cli "$1" get nodes -o yaml 2>/dev/null | grep -c '^  - ' || true
}

mesh_log_tails() {
  local i
  for i in $(seq 1 "$MESH_NODES"); do
    [ -f "${MESH_LOG[$i]:-}" ] || continue
    echo "---- last lines of node n$i's log (${MESH_LOG[$i]})" >&2
    tail -n 15 "${MESH_LOG[$i]}" >&2
  done
}

# mesh_start N BINARY DIR [extra daemon flags...]
mesh_start() {
  local n="$1" i dht1="" rpc api dht
  MESH_BIN="$2"
  MESH_DIR="$3"
  shift 3
  MESH_NODES="$n"
  MESH_NETWORK_ID=$((100000 + RANDOM * 16 + RANDOM % 16))
  mkdir -p "$MESH_DIR/user"
  chmod 700 "$MESH_DIR/user"
  export BEEMESH_HOME="$MESH_DIR/user"
  for i in $(seq 1 "$n"); do
    mesh_free_port tcp || return 1
    rpc="$MESH_PORT"
    mesh_free_port tcp || return 1
    api="$MESH_PORT"
    mesh_free_port udp || return 1
    dht="$MESH_PORT"
    local args=(machine --data-dir "$MESH_DIR/n$i" --name "n$i"
      --rpc-listen "127.0.0.1:$rpc" --api-listen "127.0.0.1:$api" --dht-listen "127.0.0.1:$dht"
      --network-id "$MESH_NETWORK_ID" "$@")
    if [ "$i" -eq 1 ]; then
      dht1="$dht"
    else
      args+=(--bootstrap "127.0.0.1:$dht1")
    fi
    MESH_API_URL[i]="http://127.0.0.1:$api"
    MESH_LOG[i]="$MESH_DIR/n$i.log"
    "$MESH_BIN" "${args[@]}" >"${MESH_LOG[$i]}" 2>&1 &
    MESH_PID[i]=$!
    printf '  n%s: pid %s, api %s, rpc 127.0.0.1:%s, dht 127.0.0.1:%s (udp)\n' \
      "$i" "${MESH_PID[$i]}" "${MESH_API_URL[$i]}" "$rpc" "$dht"
    if [ "$i" -eq 1 ]; then
      # The others bootstrap to node 1: let it come up first.
      mesh_wait_seen 1 1 30 || return 1
    fi
  done
  for i in $(seq 1 "$n"); do
    mesh_wait_seen "$i" "$n" 60 || return 1
  done
}

# mesh_wait_seen I COUNT TIMEOUT_S: until node I lists COUNT nodes.
mesh_wait_seen() {
  local i="$1" want="$2" timeout="$3" seen=0
  local deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "${MESH_PID[$i]}" 2>/dev/null; then
      echo "mesh: node n$i exited while starting" >&2
      mesh_log_tails
      return 1
    fi
    seen="$(mesh_nodes_seen "$i")"
    [ "$seen" -ge "$want" ] && return 0
    sleep 0.2
  done
  echo "mesh: node n$i sees $seen of $want nodes after ${timeout}s" >&2
  mesh_log_tails
  return 1
}

# Stops every daemon this mesh started (SIGTERM, SIGKILL after 10 s). Idempotent.
mesh_stop() {
  local i pid
  for i in $(seq 1 "$MESH_NODES"); do
    pid="${MESH_PID[$i]:-}"
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for i in $(seq 1 "$MESH_NODES"); do
    pid="${MESH_PID[$i]:-}"
    [ -n "$pid" ] || continue
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    MESH_PID[i]=""
  done
}
