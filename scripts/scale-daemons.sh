#!/usr/bin/env bash
# scale-daemons.sh — N real beemesh daemons (beemesh_mock_machine: `beemesh machine` with the
# Mock engine) on this machine, 127.0.0.1 only, admitted the product's way, then APPLIES
# applies through the CLI, and a report (issue 16):
#   start      time until every daemon's API answers, and until sampled nodes list min(N, 50)
#   placement  distinct nodes placed on over the applies (goal at 200 daemons: >= 150)
#   discovery  `beemesh get providers` wall time from nodes that never saw the manifest (cold),
#              and the same CLI + REST round trip without a DHT lookup (`get nodes`) as baseline;
#              with discover_probe built, the same from other cold nodes at the REST API from one
#              process (no CLI start-up per call)
#   memory     RSS (and anonymous RSS) per daemon; idle CPU per daemon over IDLE_S seconds
#   rest       UDP datagrams received per daemon per second over the same IDLE_S window
#              (/proc/net/snmp Udp InDatagrams: every DHT message is one datagram, and each is
#              received once), and receive-buffer drops (RcvbufErrors) per second
# Everything is torn down on exit (trap): daemons SIGTERM then SIGKILL, the directory removed.
#
#   scripts/scale-daemons.sh [N=200]
#   env: APPLIES=300 REPLICAS=1 IDLE_S=20 DISCOVER_MANIFESTS=20 DISCOVER_FROM=5
#        REST_AFTER_S=0: another rest window (CPU, datagrams) of this many seconds after the
#        applies and discoveries (0: none). APPLIES=0 measures the empty mesh only.
#        REST_AT_S=0: the first rest window starts no earlier than this many seconds after the
#        start (the directory re-reads its shards 60, 120, 240 and 480 s after a read, then
#        every ~8 min: compare runs at the same age).
#        SNIFF_S=0: after the first rest window, scripts/dht-sniff.py for this many seconds:
#        the rest traffic by message kind and key (best with NETNS=1 and N <= ~50).
#        NETNS=0: 1 runs everything (daemons, CLI, curl) in a network namespace of its own
#        (unshare -n, needs root), so the datagram counts are the daemons' alone; without it
#        /proc/net/snmp counts the whole machine (other loopback traffic included).
#        PER_ADDRESS_CAP=512: the daemons' RPC max_connections_per_address (the daemon's is 32;
#        here every peer connects from 127.0.0.1, so 32 would cut a node off after 32 peers:
#        a one-machine artefact). 0 keeps the daemon's default.
#        ENTRIES=0: applies go through nodes 1..ENTRIES round robin (0: all N nodes). With
#        ENTRIES=1 every placement is chosen from one node's view of the mesh.
#        BEEMESH_BUILD_DIR=build (needs targets beemesh and beemesh_mock_machine, optional
#        discover_probe;
#        BEEMESH_CMAKE_ARGS=-DBEEMESH_BUILD_BENCH=ON)
#        KEEP=1 keeps the directory (logs) after the run
#        START_BATCH=0: start the daemons in batches of this many, each batch's APIs answering
#        before the next starts (0: all at once). On a shared 2-core machine, 200 daemons
#        started at once can collapse the DHT (every node reads its 64 directory shards).
#        LOG_LEVEL=warn: the daemons' --log-level. With debug, the report adds the daemon's own
#        breakdown of each cold discovery (DHT lookup, liveness step; ProviderManager's debug
#        line "discovery cache=... lookup_us=... liveness_us=...").
# Ports: 3*N consecutive ports below the ephemeral range (ip_local_port_range), every one
# checked free (TCP and UDP) with ss first: RPC base+i, API base+N+i, DHT (UDP) base+2N+i.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${NETNS:-0}" = 1 ] && [ -z "${SCALE_DAEMONS_IN_NETNS:-}" ]; then
  # Re-run in a new network namespace with its loopback up.
  exec unshare -n env SCALE_DAEMONS_IN_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' \
    "$0" "$@"
fi
N="${1:-200}"
APPLIES="${APPLIES:-300}"
REPLICAS="${REPLICAS:-1}"
IDLE_S="${IDLE_S:-20}"
REST_AFTER_S="${REST_AFTER_S:-0}"
SNIFF_S="${SNIFF_S:-0}"
REST_AT_S="${REST_AT_S:-0}"
DISCOVER_MANIFESTS="${DISCOVER_MANIFESTS:-20}"
DISCOVER_FROM="${DISCOVER_FROM:-5}"
PER_ADDRESS_CAP="${PER_ADDRESS_CAP:-512}"
ENTRIES="${ENTRIES:-0}"
LOG_LEVEL="${LOG_LEVEL:-warn}"
START_BATCH="${START_BATCH:-0}"
build="${BEEMESH_BUILD_DIR:-$root/build}"
BEEMESH="$build/src/app/beemesh"
MACHINE="$build/bench/scale/beemesh_mock_machine"
PROBE="$build/bench/scale/discover_probe"  # optional: the REST-level discovery figures
for b in "$BEEMESH" "$MACHINE"; do
  [ -x "$b" ] || { echo "missing $b (build beemesh beemesh_mock_machine)" >&2; exit 2; }
done
for tool in ss python3 curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done

# Descriptors: each daemon has its own limit, inherited from this shell.
ulimit -n "$(ulimit -Hn)"

dir="$(mktemp -d /tmp/beemesh-scale-XXXXXX)"
declare -a PID=()
cleanup() {
  local status=$? pid
  for pid in "${PID[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 200); do
    local alive=0
    for pid in "${PID[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1 && break; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PID[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $dir"; else rm -rf "$dir"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
t_begin="$(now_ms)"

# A block of 3N free ports below the ephemeral range.
read -r eph_low _ </proc/sys/net/ipv4/ip_local_port_range
used="$(ss -Htuan | awk '{print $5}' | sed 's/.*://' | sort -un)"
base=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % (eph_low - 20000 - 3 * N)))
  clash="$(printf '%s\n' "$used" | awk -v lo="$candidate" -v hi=$((candidate + 3 * N)) \
    '$1 >= lo && $1 < hi' | head -n 1)"
  if [ -z "$clash" ]; then base="$candidate"; break; fi
done
[ -n "$base" ] || { echo "no block of $((3 * N)) free ports below $eph_low" >&2; exit 1; }
rpc_port() { echo $((base + $1)); }
api_port() { echo $((base + N + $1)); }
dht_port() { echo $((base + 2 * N + $1)); }
api() { echo "http://127.0.0.1:$(api_port "$1")"; }

# The mesh, its join token and a deployer user, as scripts/demo.sh makes them.
export BEEMESH_HOME="$dir/user"
mkdir -p "$BEEMESH_HOME"
chmod 700 "$BEEMESH_HOME"
"$BEEMESH" mesh --dir "$dir/admin" init --mesh-id scale >/dev/null
token="$("$BEEMESH" mesh --dir "$dir/admin" admit --ttl 3600)"
user_key="$("$BEEMESH" whoami -o json | grep -oE '[0-9a-f]{64}' | head -n 1)"
"$BEEMESH" mesh --dir "$dir/admin" user --name scale --role deployer --key "$user_key" \
  >"$dir/user.credential"
"$BEEMESH" login --credential "$dir/user.credential" >/dev/null
network_id=$((100000 + RANDOM * 16 + RANDOM % 16))

echo "scale-daemons: $N daemons (Mock engine) in $dir, ports $base..$((base + 3 * N - 1)), RPC per-address cap ${PER_ADDRESS_CAP/#0/default (32)}"
start_node() {
  local i="$1"
  local args=(--data-dir "$dir/n$i" --name "n$i" --rpc-listen "127.0.0.1:$(rpc_port "$i")"
    --api-listen "127.0.0.1:$(api_port "$i")" --dht-listen "127.0.0.1:$(dht_port "$i")"
    --network-id "$network_id" --join "$token" --capacity-memory 4Gi --capacity-cpu 4000m
    --log-level "$LOG_LEVEL")
  [ "$PER_ADDRESS_CAP" = 0 ] || args+=(--per-address-cap "$PER_ADDRESS_CAP")
  if [ "$i" -gt 1 ]; then
    # Node 1 and up to two random earlier nodes (one bootstrap node alone can split the mesh).
    args+=(--bootstrap "127.0.0.1:$(dht_port 1)")
    if [ "$i" -gt 2 ]; then
      args+=(--bootstrap "127.0.0.1:$(dht_port $((2 + RANDOM % (i - 2))))")
    fi
  fi
  "$MACHINE" "${args[@]}" >"$dir/n$i.log" 2>&1 &
  PID[i]=$!
}
wait_health() {
  local i="$1" deadline=$((SECONDS + 120))
  until curl -sf -o /dev/null "$(api "$i")/health"; do
    kill -0 "${PID[$i]}" 2>/dev/null || { echo "n$i exited:" >&2; tail "$dir/n$i.log" >&2; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "n$i: no API after 120 s" >&2; exit 1; }
    sleep 0.1
  done
}
start_node 1
wait_health 1
for i in $(seq 2 "$N"); do
  start_node "$i"
  # START_BATCH: wait for the APIs of each batch before starting the next one.
  if [ "$START_BATCH" -gt 0 ] && [ $((i % START_BATCH)) = 0 ]; then
    for j in $(seq $((i - START_BATCH + 1)) "$i"); do wait_health "$j"; done
  fi
done
for i in $(seq 1 "$N"); do wait_health "$i"; done
t_up="$(now_ms)"
echo "start: all $N APIs answer after $(((t_up - t_begin) / 1000)) s"

nodes_seen() { "$BEEMESH" --server "$(api "$1")" -o json get nodes 2>/dev/null |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["nodes"]))' 2>/dev/null || echo 0; }
want=$((N < 50 ? N : 50))
samples=(1 $((N / 4 + 1)) $((N / 2 + 1)) $((3 * N / 4 + 1)) "$N")
deadline=$((SECONDS + 300))
for s in "${samples[@]}"; do
  until [ "$(nodes_seen "$s")" -ge "$want" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "n$s lists $(nodes_seen "$s") < $want nodes" >&2; break; }
    sleep 0.5
  done
done
t_settled="$(now_ms)"
seen_list=""
for s in "${samples[@]}"; do seen_list+=" n$s:$(nodes_seen "$s")"; done
echo "settle: sampled nodes list${seen_list} nodes, $(((t_settled - t_begin) / 1000)) s after the start"

# A rest window of $2 seconds ($1 names it): CPU per daemon (/proc/PID/stat utime+stime), memory
# (/proc/PID/status) and UDP datagrams (/proc/net/snmp: this namespace's, see NETNS).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
udp_counters() { awk '/^Udp:/ && $2 ~ /^[0-9]+$/ {print $2, $5, $6}' /proc/net/snmp; }
rest_window() {
  local label="$1" secs="$2" i pid udp0 udp1 load
  local -a t0=()
  for i in $(seq 1 "$N"); do t0[i]="$(cpu_ticks "${PID[$i]}")"; done
  udp0="$(udp_counters)"
  sleep "$secs"
  udp1="$(udp_counters)"
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  for i in $(seq 1 "$N"); do
    pid="${PID[$i]}"
    printf '%s %s %s\n' "$(($(cpu_ticks "$pid") - t0[i]))" \
      "$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status")" \
      "$(awk '/^RssAnon:/{print $2}' "/proc/$pid/status")"
  done >"$dir/$label.txt"
  python3 - "$dir/$label.txt" "$(getconf CLK_TCK)" "$secs" "$label" "$udp0" "$udp1" "$load" \
    "${SCALE_DAEMONS_IN_NETNS:+own network namespace}" <<'EOF'
import statistics, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1])]
hz, idle, label = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
(in0, out0, drop0), (in1, out1, drop1) = (list(map(int, a.split())) for a in sys.argv[5:7])
load, scope = sys.argv[7], sys.argv[8] or "whole machine"
n = len(rows)
cpu = [100.0 * r[0] / hz / idle for r in rows]
if label == "idle":
    print(f"memory: RSS per daemon median {statistics.median(r[1] for r in rows)/1024:.1f} MiB, "
          f"max {max(r[1] for r in rows)/1024:.1f} MiB; anonymous median "
          f"{statistics.median(r[2] for r in rows)/1024:.1f} MiB; total {sum(r[1] for r in rows)/1024:.0f} MiB")
print(f"{label} CPU over {idle:.0f} s: per daemon median {statistics.median(cpu):.3f} %, "
      f"mean {statistics.mean(cpu):.3f} %, max {max(cpu):.3f} %; all daemons {sum(cpu):.1f} % of one core")
print(f"{label} UDP ({scope}) over {idle:.0f} s: {(in1 - in0) / idle / n:.1f} datagrams received "
      f"per daemon per s ({(in1 - in0) / idle:.0f}/s in all, {(out1 - out0) / idle:.0f}/s sent), "
      f"receive-buffer drops {(drop1 - drop0) / idle:.1f}/s; load {load}")
EOF
}
wait_s=$((REST_AT_S - ($(now_ms) - t_begin) / 1000))
[ "$wait_s" -le 0 ] || sleep "$wait_s"
echo "rest: window starts $((($(now_ms) - t_begin) / 1000)) s after the start"
rest_window idle "$IDLE_S"
if [ "$SNIFF_S" != 0 ]; then
  # What the rest traffic is (scripts/dht-sniff.py), after the rest window: it costs CPU.
  "$BEEMESH" --server "$(api 1)" -o json get nodes >"$dir/nodes.json" 2>/dev/null || :
  python3 "$root/scripts/dht-sniff.py" --seconds "$SNIFF_S" --daemons "$N" \
    --nodes "$dir/nodes.json" || echo "dht-sniff failed (needs root)" >&2
fi

# Applies: manifest k through node (k mod ENTRIES)+1, with the CLI.
[ "$ENTRIES" -gt 0 ] && [ "$ENTRIES" -le "$N" ] || ENTRIES="$N"
mkdir -p "$dir/apply"
: >"$dir/apply/times.txt"
t_apply="$(now_ms)"
for k in $(seq 0 $((APPLIES - 1))); do
  cat >"$dir/apply/m$k.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: scale-$k
spec:
  containers:
    - name: app
      image: localhost/busybox:latest
      command: ["sleep", "3600"]
      resources:
        limits:
          memory: 16Mi
          cpu: 10m
EOF
  entry=$((k % ENTRIES + 1))
  t0="$(now_ms)"
  "$BEEMESH" --server "$(api "$entry")" -o json apply -f "$dir/apply/m$k.yaml" \
    --replicas "$REPLICAS" >"$dir/apply/m$k.json" 2>"$dir/apply/m$k.err" || true
  echo "$k $entry $(($(now_ms) - t0))" >>"$dir/apply/times.txt"
done
echo "applies: $APPLIES through $ENTRIES entry node(s) in $((($(now_ms) - t_apply) / 1000)) s"

# Cold discovery: DISCOVER_MANIFESTS manifests, each from DISCOVER_FROM nodes that are neither
# its entry node nor one of its placements; baseline: `get nodes` from the same nodes.
python3 - "$dir/apply" "$APPLIES" "$N" "$DISCOVER_MANIFESTS" "$DISCOVER_FROM" "$ENTRIES" \
  >"$dir/discover-plan.txt" <<'EOF'
import json, random, sys
d, applies, n, manifests, per, entries = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                         int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
ok = []
for k in range(applies):
    try:
        o = json.load(open(f"{d}/m{k}.json"))
    except Exception:
        continue
    if o.get("replicas_placed", 0) >= 1:
        ok.append((k, o["manifest_id"], {p["node_id"] for p in o["placements"] if p.get("ok")}))
random.shuffle(ok)
for k, mid, placed in ok[:manifests]:
    # The entry node is left out (it may have discovered the manifest); a placement node may be
    # drawn (1 in N per sample with 1 replica): it still asks the DHT (nothing cached for it).
    # Twice DISCOVER_FROM distinct nodes: the first half asks through the CLI, the second
    # through discover_probe (REST API, no CLI process), each cold.
    choices = [i for i in range(1, n + 1) if i != k % entries + 1]
    for j, i in enumerate(random.sample(choices, min(2 * per, len(choices)))):
        print(i, mid, len(placed), "cli" if j < per else "probe")
EOF
: >"$dir/discover.txt"
# Timed: the CLI alone (its output to a file); the JSON is counted after the clock stops
# (python3 alone starts in ~80 ms here: piping into it inflated the figures before 14:00
# on 2026-11-30).
get_providers() { "$BEEMESH" --server "$(api "$1")" -o json get providers "$2" >"$dir/providers.json" 2>/dev/null || :; }
count_providers() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)["providers"]))' \
  <"$dir/providers.json" 2>/dev/null || echo err; }
while read -r i mid _ how; do
  [ "$how" = cli ] || continue
  t0="$(now_ms)"
  get_providers "$i" "$mid"
  t1="$(now_ms)"
  found="$(count_providers)"
  t1b="$(now_ms)"
  "$BEEMESH" --server "$(api "$i")" -o json get nodes >/dev/null 2>&1 || true
  t2="$(now_ms)"
  get_providers "$i" "$mid"  # warm: cached, the providers' liveness known
  t3="$(now_ms)"
  echo "$((t1 - t0)) $((t2 - t1b)) $found $((t3 - t2)) $i $mid" >>"$dir/discover.txt"
done <"$dir/discover-plan.txt"
# The same cold discovery at the REST API from one process (the CLI's start-up excluded).
: >"$dir/probe.txt"
if [ -x "$PROBE" ]; then
  while read -r i mid _ how; do
    [ "$how" = probe ] && echo "$(api "$i") $mid"
  done <"$dir/discover-plan.txt" | "$PROBE" >"$dir/probe.txt" 2>"$dir/probe.err" || true
fi

[ "$REST_AFTER_S" = 0 ] || rest_window rest-after-applies "$REST_AFTER_S"

python3 - "$dir" "$APPLIES" "$N" "$REPLICAS" <<'EOF'
import collections, json, sys, statistics
d, applies, n, replicas = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))] if v else float("nan")
placed_on, hist, errors = set(), collections.Counter(), collections.Counter()
for k in range(applies):
    try:
        o = json.load(open(f"{d}/apply/m{k}.json"))
    except Exception:
        err = open(f"{d}/apply/m{k}.err").read().strip().splitlines()
        errors[(err[-1] if err else "no output")[:80]] += 1
        continue
    hist[o.get("replicas_placed", 0)] += 1
    placed_on |= {p["node_id"] for p in o.get("placements", []) if p.get("ok")}
times = [int(l.split()[2]) for l in open(f"{d}/apply/times.txt")]
print(f"apply (CLI, {replicas} replica(s)): p50 {pct(times, .5)} ms, p99 {pct(times, .99)} ms; "
      f"replicas placed per apply {dict(sorted(hist.items()))}; errors {dict(errors)}")
print(f"placement: {len(placed_on)} distinct nodes of {n} over {applies} applies (goal >= {min(150, n)})")
rows = [l.split() for l in open(f"{d}/discover.txt")]
cold = [int(r[0]) for r in rows]
base = [int(r[1]) for r in rows]
complete = sum(1 for r in rows if r[2] == str(replicas))
print(f"cold discovery (CLI get providers, wall): n={len(cold)} p50 {pct(cold, .5)} ms, "
      f"p99 {pct(cold, .99)} ms; all {replicas} provider(s) found in {complete}/{len(rows)}")
print(f"  baseline (CLI get nodes, no DHT lookup): p50 {pct(base, .5)} ms, p99 {pct(base, .99)} ms")
warm = [int(r[3]) for r in rows]
print(f"  warm (the same get providers again: cache hit, liveness known): p50 {pct(warm, .5)} ms, "
      f"p99 {pct(warm, .99)} ms")
probe = [l.split() for l in open(f"{d}/probe.txt")]
if probe:
    pc = [int(r[0]) / 1000 for r in probe if r[0] != "-1"]
    pb = [int(r[1]) / 1000 for r in probe if r[1] != "-1"]
    pw = [int(r[3]) / 1000 for r in probe if r[3] != "-1"]
    pfound = sum(1 for r in probe if r[2] == str(replicas))
    print(f"cold discovery (REST API, discover_probe, no CLI process): n={len(pc)} "
          f"p50 {pct(pc, .5):.1f} ms, p99 {pct(pc, .99):.1f} ms; all {replicas} provider(s) "
          f"found in {pfound}/{len(probe)}")
    print(f"  baseline (REST GET /nodes): p50 {pct(pb, .5):.1f} ms, p99 {pct(pb, .99):.1f} ms; "
          f"warm: p50 {pct(pw, .5):.1f} ms, p99 {pct(pw, .99):.1f} ms")
# The daemon's own breakdown (LOG_LEVEL=debug): the first discovery of the manifest on the
# node asked, as ProviderManager logged it.
import re
lookup, live = [], []
for r in rows:
    i, mid = r[4], r[5]
    try:
        log = open(f"{d}/n{i}.log").read()
    except OSError:
        continue
    m = re.search(r"manifest=" + re.escape(mid) + r" discovery cache=\w+ lookup_us=(\d+) liveness_us=(\d+)", log)
    if m:
        lookup.append(int(m.group(1)) / 1000)
        live.append(int(m.group(2)) / 1000)
if lookup:
    print(f"  in the daemon (n={len(lookup)}): DHT lookup p50 {pct(lookup, .5):.1f} ms, p99 "
          f"{pct(lookup, .99):.1f} ms; liveness step p50 {pct(live, .5):.1f} ms, p99 {pct(live, .99):.1f} ms")
EOF
