#!/usr/bin/env python3
"""dht-sniff.py — what the OpenDHT messages on a loopback mesh are, by kind and by key.

Captures the UDP datagrams received on an interface (AF_PACKET, needs root) for a while,
decodes OpenDHT 2.4's msgpack messages and counts them:
  * requests by query (ping, find, get, listen, put, refresh, update);
  * the datagrams that answer or extend a request — reply (r), error (e), value part (p:
    values over 600 bytes travel in parts after their message), listen push (u) — each
    attributed to the query it belongs to (matched by the pair of endpoints and the tid);
  * by key: each request's key hash is named when it is one of beemesh's well-known keys
    (alive:<node>, peer:<node>, dir:<shard>, joins, revocations, with the nodes named from
    --nodes) and "other" (manifests, desired state, ...) otherwise.
Rates are per second; with --daemons N, also per daemon. Python cannot keep up with tens of
thousands of datagrams per second: "captured" then falls below the kernel's count, and the
figures are a sample (the proportions still hold roughly).

  scripts/dht-sniff.py [--seconds 10] [--iface lo] [--daemons N] [--nodes nodes.json]
  nodes.json: the output of `beemesh -o json get nodes` (ids and names), or a list of ids.
scripts/scale-daemons.sh runs it with SNIFF_S=<seconds> (in its own network namespace with
NETNS=1, where the daemons are the only traffic).
"""
import argparse
import collections
import hashlib
import json
import socket
import struct
import sys
import time

# ---- a minimal msgpack decoder (the subset OpenDHT sends) ----


def _dec(b, i):
    t = b[i]
    if t <= 0x7F:
        return t, i + 1
    if 0x80 <= t <= 0x8F:
        return _map(b, i + 1, t & 15)
    if 0x90 <= t <= 0x9F:
        return _arr(b, i + 1, t & 15)
    if 0xA0 <= t <= 0xBF:
        n = t & 31
        return b[i + 1:i + 1 + n], i + 1 + n
    if t >= 0xE0:
        return t - 256, i + 1
    if t == 0xC0:
        return None, i + 1
    if t in (0xC2, 0xC3):
        return t == 0xC3, i + 1
    sized = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}  # bin / str
    if t in sized:
        w = sized[t]
        n = int.from_bytes(b[i + 1:i + 1 + w], "big")
        return b[i + 1 + w:i + 1 + w + n], i + 1 + w + n
    ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h",
            0xD2: ">i", 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
    if t in ints:
        f = ints[t]
        w = struct.calcsize(f)
        return struct.unpack(f, b[i + 1:i + 1 + w])[0], i + 1 + w
    if t in (0xDC, 0xDD):
        w = 2 if t == 0xDC else 4
        return _arr(b, i + 1 + w, int.from_bytes(b[i + 1:i + 1 + w], "big"))
    if t in (0xDE, 0xDF):
        w = 2 if t == 0xDE else 4
        return _map(b, i + 1 + w, int.from_bytes(b[i + 1:i + 1 + w], "big"))
    raise ValueError(f"msgpack type {t:#x}")


def _map(b, i, n):
    d = {}
    for _ in range(n):
        k, i = _dec(b, i)
        v, i = _dec(b, i)
        d[bytes(k) if isinstance(k, (bytes, bytearray)) else k] = v
    return d, i


def _arr(b, i, n):
    a = []
    for _ in range(n):
        v, i = _dec(b, i)
        a.append(v)
    return a, i


def _value_id(parts):
    """The value id at the start of a value's first part, if there: {index: {o: 0, d: bin}}."""
    part = parts.get(0) if isinstance(parts, dict) else None
    if not isinstance(part, dict) or part.get(b"o") != 0:
        return None
    blob = part.get(b"d")
    if not isinstance(blob, (bytes, bytearray)) or not blob or not 0x80 <= blob[0] <= 0x8F:
        return None
    try:
        k, i = _dec(blob, 1)
        v, _ = _dec(blob, i)
    except Exception:
        return None
    return v if bytes(k) == b"id" else None


# ---- key names ----


def key_names(node_file):
    """Hash (hex) -> name of beemesh's well-known keys (dht/dht.h, apply/directory.h)."""
    def h(name):
        return hashlib.sha1(name.encode()).hexdigest()
    names = {h("beemesh/provider/beemesh:nodes:joins"): "joins",
             h("beemesh:revocations"): "revocations"}
    bucket = int(time.time() // 120)  # apply::kJoinBucket (2 min): the buckets around now
    for b in range(bucket - 10, bucket + 11):
        names[h(f"beemesh/provider/beemesh:nodes:joins:{b}")] = f"joins:{b}"

    for s in range(64):
        names[h(f"beemesh/provider/beemesh:nodes:{s}")] = f"dir:{s}"
    if node_file:
        data = json.load(open(node_file))
        nodes = data.get("nodes", data) if isinstance(data, dict) else data
        for n in nodes:
            nid, label = (n.get("node_id") or n.get("id"), n.get("name")) if isinstance(n, dict) else (n, None)
            if nid:
                names[h("beemesh/alive/" + nid)] = "alive:" + (label or nid[:8])
                names[h("beemesh/peer/" + nid)] = "peer:" + (label or nid[:8])
    return names


def key_class(name):
    return name.split(":")[0] if name else "other"


# ---- capture ----


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--iface", default="lo")
    ap.add_argument("--daemons", type=int, default=0)
    ap.add_argument("--nodes", help="`beemesh -o json get nodes` output, to name node keys")
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    names = key_names(args.nodes)

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
    s.bind((args.iface, 0))
    s.settimeout(0.5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)

    by_kind = collections.Counter()        # datagram kind ("put", "put/r", "put/p", ...)
    by_class = collections.Counter()       # (key class, kind)
    by_key = collections.Counter()         # (key name, kind), requests and pushes
    put_values = collections.Counter()     # (key name, value id): each put of a value
    senders = collections.defaultdict(set)  # (key class, query) -> source endpoints
    with_query = collections.Counter()     # (key class, query) requests carrying a Query
    open_reqs = {}                         # (endpoints, tid) -> (query, key name)
    captured = undecoded = 0
    end = time.time() + args.seconds
    while time.time() < end:
        try:
            p, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:  # loopback: each datagram is seen twice
            continue
        if len(p) < 34 or p[12:14] != b"\x08\x00" or p[23] != 17:  # IPv4 UDP only
            continue
        ihl = (p[14] & 15) * 4
        src = (p[26:30], p[14 + ihl:16 + ihl])
        dst = (p[30:34], p[16 + ihl:18 + ihl])
        captured += 1
        try:
            m, _ = _dec(p[14 + ihl + 8:], 0)
            if not isinstance(m, dict):
                raise ValueError("not a map")
        except Exception:
            undecoded += 1
            continue
        tid = m.get(b"t")
        tid = bytes(tid) if isinstance(tid, (bytes, bytearray)) else tid
        ends = frozenset((src, dst))
        q = m.get(b"q")
        if isinstance(q, (bytes, bytearray)):
            query = q.decode()
            a = m.get(b"a") if isinstance(m.get(b"a"), dict) else {}
            hsh = a.get(b"h", a.get(b"target"))  # find names its key as "target"
            name = names.get(bytes(hsh).hex(), "other") if hsh is not None else ""
            open_reqs[(ends, tid)] = (query, name)
            kind = query
            if name:
                senders[(key_class(name), query)].add(src)
                if a.get(b"q") is not None:
                    with_query[(key_class(name), query)] += 1
            if query == "put":
                for v in a.get(b"values", []) or []:
                    if isinstance(v, dict):
                        put_values[(name, v.get(b"id"))] += 1
        else:
            sub = next((k for k in ("e", "r", "p", "u") if k.encode() in m), "?")
            query, name = open_reqs.get((ends, tid), ("?", ""))
            kind = f"{query}/{sub}"
            if kind == "put/p":  # the first part starts with the value: {"id": ..., ...}
                vid = _value_id(m.get(b"p"))
                if vid is not None:
                    put_values[(name, vid)] += 1
        by_kind[kind] += 1
        if name:
            by_class[(key_class(name), kind)] += 1
            if "/" not in kind or kind.endswith("/u"):
                by_key[(name, kind)] += 1

    dur = args.seconds
    per = f", per daemon /{args.daemons}" if args.daemons else ""

    def rate(v):
        r = f"{v / dur:9.1f}/s"
        return r + (f" {v / dur / args.daemons:7.2f}/s" if args.daemons else "")

    print(f"captured {captured / dur:.0f} datagrams/s ({undecoded} undecoded) over {dur:.0f} s"
          f" on {args.iface}{per}")
    print("by kind (query, query/r reply, /e error, /p value part, /u listen push):")
    for k, v in by_kind.most_common():
        print(f"  {k:14} {rate(v)}")
    print("by key class and kind:")
    for (c, k), v in by_class.most_common(20):
        print(f"  {c:12} {k:14} {rate(v)}")
    print("requests by key class: distinct senders, share carrying a Query (where/select):")
    for (c, k), srcs in sorted(senders.items(), key=lambda kv: -by_class[kv[0]])[:12]:
        n = by_class[(c, k)]
        print(f"  {c:12} {k:10} {len(srcs):6} senders  {with_query[(c, k)] / max(1, n):5.0%} with a Query")
    print(f"busiest keys (requests and pushes), top {args.top}:")
    for (n, k), v in by_key.most_common(args.top):
        print(f"  {n:24} {k:10} {v / dur:8.1f}/s")
    if put_values:
        sends = sum(put_values.values())
        print(f"put requests: {sends} for {len(put_values)} distinct values, "
              f"{sends / len(put_values):.1f} per value (one per storing node: ~8); most sent:")
        for (n, vid), v in put_values.most_common(5):
            print(f"  {n:24} value {vid} x{v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
