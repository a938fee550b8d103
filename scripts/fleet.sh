#!/usr/bin/env bash
# A fleet of beemesh machines on this one machine: N Linux network namespaces on a bridge,
# each one a "machine" with its own address, its own `beemesh machine` daemon (data dir,
# config file, log) and its own Podman (storage, runroot, tmp dir). Run as root.
#
#   scripts/fleet.sh up 4                 # 4 machines on 10.77.0.2..5, an admitted mesh, started
#   scripts/fleet.sh run 2 -- beemesh get nodes     # any command inside machine 2
#   scripts/fleet.sh run 4 -- curl http://10.77.0.3:PORT/
#   scripts/fleet.sh down                 # everything gone: daemons, pods, storage, netns, bridge
#
# Commands (I is a machine number, 1..N):
#   up N [--no-start] [-- FLAGS...]  create N machines and the mesh (admin key, join token,
#                                 a deployer user); start them all with FLAGS unless --no-start
#   start I [FLAGS...]            start machine I's daemon (FLAGS: `beemesh machine` flags,
#                                 remembered for later starts); waits until it answers /health
#   wait [COUNT] [SECONDS]        until every running machine lists COUNT nodes (default: all)
#   run I [--] CMD...             run CMD in machine I: its network namespace, its Podman
#                                 (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF), the fleet's user
#                                 (BEEMESH_HOME) and its API (BEEMESH_SERVER); beemesh on PATH
#   podman I ARGS...              machine I's Podman
#   stop I                        SIGTERM machine I's daemon (its pods keep running)
#   kill I                        power cut: SIGKILL the daemon (and Podman commands in flight)
#                                 in machine I, then stop all its containers (storage stays)
#   cut I | heal I                take machine I's link down | up again
#   ip I                          machine I's address
#   log I [LINES]                 the last lines of machine I's daemon log
#   status                        the machines, their addresses, daemons and links
#   down                          remove everything the fleet made; safe to run any time
#
# Environment: FLEET_PREFIX (bmfleet: bridge bmfleet0, namespaces bmfleet-I, host-side
# veths bmfleetvI), FLEET_SUBNET (10.77.0: bridge .1, machine I at .I+1; 10.x only),
# FLEET_DIR (/tmp/$FLEET_PREFIX: data, configs, logs, Podman storage), BEEMESH_BINARY
# (default $BEEMESH_BUILD_DIR/src/app/beemesh). In every machine: RPC on ADDRESS:7401,
# DHT on ADDRESS:4222 (UDP), the REST API on the namespace's own 127.0.0.1:7480, published
# ports on ADDRESS.
set -euo pipefail
source "$(dirname "$0")/env.sh"

FLEET_PREFIX="${FLEET_PREFIX:-bmfleet}"
FLEET_SUBNET="${FLEET_SUBNET:-10.77.0}"
FLEET_DIR="${FLEET_DIR:-/tmp/$FLEET_PREFIX}"
BEEMESH_BINARY="${BEEMESH_BINARY:-$BEEMESH_BUILD_DIR/src/app/beemesh}"
RPC_PORT=7401
DHT_PORT=4222
API_PORT=7480
MAX_MACHINES=50

die() {
  echo "fleet: $*" >&2
  exit 1
}

[[ "$FLEET_PREFIX" =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "FLEET_PREFIX must be 1-8 of [a-z0-9]"
[[ "$FLEET_SUBNET" =~ ^10\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "FLEET_SUBNET must be 10.X.Y"
case "$FLEET_DIR" in /?*) ;; *) die "FLEET_DIR must be an absolute path" ;; esac

BRIDGE="${FLEET_PREFIX}0"
ns_name() { echo "$FLEET_PREFIX-$1"; }
veth_name() { echo "${FLEET_PREFIX}v$1"; }
machine_ip() { echo "$FLEET_SUBNET.$(($1 + 1))"; }
machine_dir() { echo "$FLEET_DIR/m$1"; }
count() { cat "$FLEET_DIR/machines" 2>/dev/null || echo 0; }

need_root() { [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, Podman)"; }
need_tools() {
  local t
  for t in ip nsenter iptables podman curl; do
    command -v "$t" >/dev/null || die "$t is not installed (scripts/install-deps.sh)"
  done
}
# Checks that I names a machine of the fleet that is up.
check_machine() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] || die "not a machine number: '${1:-}'"
  if [ "$1" -lt 1 ] || [ "$1" -gt "$(count)" ]; then die "no machine $1 (the fleet has $(count))"; fi
  [ -e "/var/run/netns/$(ns_name "$1")" ] || die "machine $1's namespace is gone"
}

# Runs a command in machine I's namespace with its Podman and the fleet's user.
in_machine() {
  local i="$1" d
  shift
  d="$(machine_dir "$i")"
  nsenter --net="/var/run/netns/$(ns_name "$i")" \
    env PATH="$FLEET_DIR/bin:$PATH" \
    CONTAINERS_CONF="$d/containers.conf" CONTAINERS_STORAGE_CONF="$d/storage.conf" \
    BEEMESH_HOME="$FLEET_DIR/user" BEEMESH_SERVER="http://127.0.0.1:$API_PORT" "$@"
}

daemon_pid() {
  local pid
  pid="$(cat "$(machine_dir "$1")/daemon.pid" 2>/dev/null)" || return 1
  # Alive, not a zombie nobody reaped yet, and still the daemon.
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  grep -qa '^machine$' <(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  echo "$pid"
}

beemesh_admin() {
  BEEMESH_HOME="$FLEET_DIR/admin-home" "$BEEMESH_BINARY" mesh --dir "$FLEET_DIR/admin" "$@"
}

# The mesh: admin key, join token, the deployer user every `run` acts as.
make_mesh() {
  local key
  mkdir -p "$FLEET_DIR/admin-home" "$FLEET_DIR/user" "$FLEET_DIR/bin"
  chmod 700 "$FLEET_DIR/admin-home" "$FLEET_DIR/user"
  ln -sf "$(readlink -f "$BEEMESH_BINARY")" "$FLEET_DIR/bin/beemesh"
  echo $((100000 + RANDOM * 16 + RANDOM % 16)) >"$FLEET_DIR/network_id"
  beemesh_admin init --mesh-id "$FLEET_PREFIX" >/dev/null
  beemesh_admin admit --ttl 86400 | tail -n 1 >"$FLEET_DIR/join_token"
  grep -q '^bmjoin1\.' "$FLEET_DIR/join_token" || die "beemesh mesh admit printed no join token"
  key="$(BEEMESH_HOME="$FLEET_DIR/user" "$BEEMESH_BINARY" whoami -o json |
    grep -oE '[0-9a-f]{64}' | head -n 1)"
  [ -n "$key" ] || die "beemesh whoami printed no key"
  beemesh_admin user --name fleet --role deployer --key "$key" | tail -n 1 >"$FLEET_DIR/user.credential"
  BEEMESH_HOME="$FLEET_DIR/user" "$BEEMESH_BINARY" login --credential "$FLEET_DIR/user.credential" >/dev/null
}

# Machine I: namespace, veth on the bridge, address, config files.
make_machine() {
  local i="$1" n="$2" ns veth ip d j boot=""
  ns="$(ns_name "$i")"
  veth="$(veth_name "$i")"
  ip="$(machine_ip "$i")"
  d="$(machine_dir "$i")"
  ip netns add "$ns"
  ip link add "$veth" type veth peer name "${veth}p"
  ip link set "${veth}p" netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set "${veth}p" name eth0
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" route add default via "$FLEET_SUBNET.1"

  mkdir -p "$d/data" "$d/podman/root" "$d/podman/run" "$d/podman/tmp"
  cat >"$d/storage.conf" <<EOF
# machine $i's own Podman storage; images come read-only from the system store
[storage]
driver = "overlay"
graphroot = "$d/podman/root"
runroot = "$d/podman/run"
[storage.options]
additionalimagestores = ["/var/lib/containers/storage"]
EOF
  # The project's containers.conf with this machine's own tmp dir (events, locks).
  sed "s|^\[engine\]\$|[engine]\ntmp_dir = \"$d/podman/tmp\"|" "$CONTAINERS_CONF" >"$d/containers.conf"
  grep -q '^tmp_dir' "$d/containers.conf" || die "$CONTAINERS_CONF has no [engine] table"
  # Every other machine is a bootstrap node: any of them may be down.
  for j in $(seq 1 "$n"); do
    [ "$j" -eq "$i" ] && continue
    boot+="${boot:+, }\"$(machine_ip "$j"):$DHT_PORT\""
  done
  cat >"$d/beemesh.yaml" <<EOF
# machine $i of the fleet (scripts/fleet.sh); every key: packaging/beemesh.yaml
data_dir: $d/data
node_name: m$i
rpc_listen: $ip:$RPC_PORT
api_listen: 127.0.0.1:$API_PORT
dht_listen: $ip:$DHT_PORT
bootstrap: [$boot]
network_id: $(cat "$FLEET_DIR/network_id")
publish_host_ip: $ip
workload:
  health_check_interval_seconds: 2
EOF
}

cmd_up() {
  local n="${1:-}" start=1 i
  [[ "$n" =~ ^[0-9]+$ ]] || n=0
  if [ "$n" -lt 1 ] || [ "$n" -gt "$MAX_MACHINES" ]; then
    die "usage: fleet.sh up N [--no-start] [-- FLAGS...] (1 <= N <= $MAX_MACHINES)"
  fi
  shift
  if [ "${1:-}" = "--no-start" ]; then
    start=0
    shift
  fi
  [ "${1:-}" = "--" ] && shift
  need_root
  need_tools
  [ -x "$BEEMESH_BINARY" ] || die "$BEEMESH_BINARY is not built (scripts/build.sh beemesh)"
  [ -f "$CONTAINERS_CONF" ] || die "CONTAINERS_CONF $CONTAINERS_CONF does not exist"
  if [ -e "$FLEET_DIR" ] || ip link show "$BRIDGE" >/dev/null 2>&1; then
    die "a fleet $FLEET_PREFIX is already up (or left over): fleet.sh down first"
  fi
  mkdir -p "$FLEET_DIR"
  make_mesh
  ip link add "$BRIDGE" type bridge
  ip addr add "$FLEET_SUBNET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Bridged frames pass the host's FORWARD chain when br_netfilter is loaded (Docker sets
  # its policy to DROP): let the fleet's own traffic through.
  iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  for i in $(seq 1 "$n"); do make_machine "$i" "$n"; done
  echo "$n" >"$FLEET_DIR/machines"
  echo "fleet: $n machines on $BRIDGE ($FLEET_SUBNET.0/24), files in $FLEET_DIR"
  [ "$start" -eq 1 ] || return 0
  for i in $(seq 1 "$n"); do cmd_start "$i" "$@"; done
  cmd_wait "$n" 60
}

cmd_start() {
  local i="${1:-}" d pid deadline
  local args=() flags=()
  check_machine "$i"
  shift
  d="$(machine_dir "$i")"
  if [ "$#" -gt 0 ]; then printf '%s\n' "$@" >"$d/flags"; fi
  if pid="$(daemon_pid "$i")"; then die "machine $i's daemon already runs (pid $pid)"; fi
  args=(machine --config "$d/beemesh.yaml")
  if [ -f "$d/flags" ]; then
    mapfile -t flags <"$d/flags"
    args+=("${flags[@]}")
  fi
  # The join token is for the first start only.
  [ -f "$d/data/credential" ] || args+=(--join "$(cat "$FLEET_DIR/join_token")")
  # nsenter, env and setsid exec each other: $! is the daemon itself.
  nsenter --net="/var/run/netns/$(ns_name "$i")" env CONTAINERS_CONF="$d/containers.conf" \
    CONTAINERS_STORAGE_CONF="$d/storage.conf" setsid "$FLEET_DIR/bin/beemesh" "${args[@]}" \
    >>"$d/daemon.log" 2>&1 </dev/null &
  echo $! >"$d/daemon.pid"
  deadline=$((SECONDS + 30))
  while ! in_machine "$i" curl -fsS --max-time 1 -o /dev/null "http://127.0.0.1:$API_PORT/health" 2>/dev/null; do
    if ! daemon_pid "$i" >/dev/null; then
      tail -n 20 "$d/daemon.log" >&2
      die "machine $i's daemon exited while starting (log: $d/daemon.log)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "machine $i's daemon does not answer /health after 30 s"
    sleep 0.2
  done
  echo "fleet: machine $i up: $(machine_ip "$i") (rpc :$RPC_PORT, dht :$DHT_PORT/udp), api 127.0.0.1:$API_PORT in $(ns_name "$i"), pid $(cat "$d/daemon.pid")"
}

# How many nodes machine I lists (0 when it does not answer).
nodes_seen() {
  in_machine "$1" "$FLEET_DIR/bin/beemesh" get nodes -o yaml 2>/dev/null | grep -c '^  - ' || true
}

cmd_wait() {
  local want="${1:-}" timeout="${2:-60}" i seen deadline
  local running=()
  for i in $(seq 1 "$(count)"); do
    if daemon_pid "$i" >/dev/null; then running+=("$i"); fi
  done
  [ -n "$want" ] || want="${#running[@]}"
  deadline=$((SECONDS + timeout))
  for i in "${running[@]}"; do
    while seen="$(nodes_seen "$i")" && [ "$seen" -lt "$want" ]; do
      [ "$SECONDS" -lt "$deadline" ] || die "machine $i lists $seen of $want nodes after ${timeout}s"
      sleep 0.3
    done
  done
  echo "fleet: every running machine (${running[*]}) lists $want nodes"
}

cmd_stop() {
  local i="${1:-}" pid
  check_machine "$i"
  pid="$(daemon_pid "$i")" || {
    echo "fleet: machine $i's daemon is not running"
    return 0
  }
  kill -TERM "$pid"
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  echo "fleet: machine $i's daemon stopped"
}

# SIGKILL to the processes in machine I's namespace: all of them, or all but conmon (which
# must outlive its container for Podman to clean up after it: network, IPAM, state).
kill_ns_processes() {
  local ns pid pids
  ns="$(ns_name "$1")"
  [ -e "/var/run/netns/$ns" ] || return 0
  pids="$(ip netns pids "$ns" 2>/dev/null || true)"
  for pid in $pids; do
    if [ "$2" = but-conmon ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = conmon ]; then continue; fi
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# Ends every container of machine I's Podman (Podman cleans up: no netns, IP lease or mount
# is left), then every process left in its namespace.
end_containers() {
  local i="$1"
  [ -f "$(machine_dir "$i")/storage.conf" ] || return 0
  in_machine "$i" podman pod stop -a -t 0 >/dev/null 2>&1 || true
  in_machine "$i" podman stop -a -t 0 >/dev/null 2>&1 || true
}

# A power cut, as far as a machine on a shared kernel can have one: the daemon and any
# Podman command in flight die at once (SIGKILL), then every container stops. Data and
# storage stay; `start I` boots it again.
kill_machine() {
  local i="$1"
  kill_ns_processes "$i" but-conmon
  end_containers "$i"
  kill_ns_processes "$i" all
}

cmd_kill() {
  check_machine "${1:-}"
  kill_machine "$1"
  echo "fleet: machine $1 killed (its data and storage stay: fleet.sh start $1 boots it again)"
}

cmd_link() {
  local state="$1" i="${2:-}"
  check_machine "$i"
  ip link set "$(veth_name "$i")" "$state"
  echo "fleet: machine $i's link is $state"
}

cmd_run() {
  local i="${1:-}"
  check_machine "$i"
  shift
  [ "${1:-}" = "--" ] && shift
  [ "$#" -gt 0 ] || die "usage: fleet.sh run I [--] CMD..."
  in_machine "$i" "$@"
}

cmd_status() {
  local i pid link
  [ -f "$FLEET_DIR/machines" ] || {
    echo "fleet: no fleet $FLEET_PREFIX is up"
    return 0
  }
  printf '%-8s %-12s %-16s %-10s %s\n' MACHINE NAMESPACE ADDRESS DAEMON LINK
  for i in $(seq 1 "$(count)"); do
    pid="$(daemon_pid "$i" || echo -)"
    link="$(ip -br link show "$(veth_name "$i")" 2>/dev/null | awk '{print $2}')"
    printf '%-8s %-12s %-16s %-10s %s\n' "m$i" "$(ns_name "$i")" "$(machine_ip "$i")" "$pid" "${link:-gone}"
  done
}

# Removes everything: processes, containers, Podman storage, mounts, namespaces, veths,
# the bridge, the iptables rule, the fleet directory. Works on a half-made fleet too.
cmd_down() {
  local ns i mounts
  need_root
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$FLEET_PREFIX-[0-9]+\$" || true); do
    i="${ns#"$FLEET_PREFIX"-}"
    kill_ns_processes "$i" but-conmon
    if [ -f "$(machine_dir "$i")/storage.conf" ]; then
      in_machine "$i" podman pod rm -af -t 0 >/dev/null 2>&1 || true
      in_machine "$i" podman rm -af -t 0 >/dev/null 2>&1 || true
    fi
    kill_ns_processes "$i" all
    ip netns del "$ns" 2>/dev/null || true
  done
  for i in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 |
    grep -E "^${FLEET_PREFIX}v[0-9]+p?\$" || true); do
    ip link del "$i" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  while iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
  # Podman's overlay and shm mounts under the machines' storage, deepest first.
  mounts="$(awk -v dir="$FLEET_DIR/" 'index($2, dir) == 1 {print $2}' /proc/self/mounts | sort -r)"
  for i in $mounts; do umount -l "$i" 2>/dev/null || true; done
  rm -rf "$FLEET_DIR"
  echo "fleet: $FLEET_PREFIX is down (nothing left)"
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

command="${1:-}"
[ "$#" -gt 0 ] && shift
case "$command" in
  up) cmd_up "$@" ;;
  start) need_root && cmd_start "$@" ;;
  wait) cmd_wait "$@" ;;
  run) cmd_run "$@" ;;
  podman)
    check_machine "${1:-}"
    i="$1"
    shift
    in_machine "$i" podman "$@"
    ;;
  stop) cmd_stop "$@" ;;
  kill) cmd_kill "$@" ;;
  cut) cmd_link down "$@" ;;
  heal) cmd_link up "$@" ;;
  ip)
    check_machine "${1:-}"
    machine_ip "$1"
    ;;
  log)
    check_machine "${1:-}"
    tail -n "${2:-40}" "$(machine_dir "$1")/daemon.log"
    ;;
  status) cmd_status ;;
  down) cmd_down ;;
  -h | --help | help) usage 0 ;;
  *) usage 1 >&2 ;;
esac
