#!/usr/bin/env bash
# daemon_threads.sh BINARY [DIR] — starts 3 admitted `beemesh machine` daemons on loopback
# (nodes 2 and 3 bootstrap to node 1), waits 10 s, prints threads (by name), VmRSS and open
# descriptors of each, then stops them. Used for docs/BENCHMARKS.md (issue 16).
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
BIN="$1"
D="${2:-$(mktemp -d)}"
rm -rf "$D"
mkdir -p "$D/user"
chmod 700 "$D/user"
export BEEMESH_HOME="$D/user"
"$BIN" mesh --dir "$D/admin" init --mesh-id threads >/dev/null
token="$("$BIN" mesh --dir "$D/admin" admit --ttl 3600)"
net=$((100000 + RANDOM))
base=$((30000 + RANDOM % 20000))
pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait' EXIT
for i in 1 2 3; do
  args=(machine --data-dir "$D/n$i" --name "n$i" --rpc-listen "127.0.0.1:$((base + i * 3))"
    --api-listen "127.0.0.1:$((base + i * 3 + 1))" --dht-listen "127.0.0.1:$((base + i * 3 + 2))"
    --network-id "$net" --join "$token")
  [ "$i" -gt 1 ] && args+=(--bootstrap "127.0.0.1:$((base + 5))")
  "$BIN" "${args[@]}" >"$D/n$i.log" 2>&1 &
  pids+=($!)
  sleep 1
done
sleep 10
for p in "${pids[@]}"; do
  names="$(for t in /proc/"$p"/task/*; do cat "$t/comm"; done | sort | uniq -c |
    awk '{printf "%s x%s, ", $2, $1}')"
  echo "pid $p: threads $(awk '/^Threads/{print $2}' /proc/"$p"/status)," \
    "VmRSS $(awk '/^VmRSS/{print $2}' /proc/"$p"/status) KiB, fds $(ls /proc/"$p"/fd | wc -l)" \
    "(${names%, })"
done
