// dht/announce_check.h — the nodes an announcement of this node skipped as expired.
//
// Why: OpenDHT 2.4 marks a node expired when its requests to it time out (three attempts,
// ~3 s), and only a message from that node clears the mark. A node whose requests timed out
// while the mesh was overloaded (its own loop, or the storing nodes', behind) can hold the
// nodes nearest one of its keys as expired for good, and nothing makes them write to it: its
// permanent put then stays announced to the next-nearest nodes, where the gets of every other
// node, which ask the nearest, never look (docs/BENCHMARKS.md, session 30: at 1,000 nodes one
// node's shard record sat on nodes 9th to 26th nearest its key, the 8 nearest expired in its
// search alone, and a directory never listed that node).
//
// Promise: skipped_nearer_nodes(log, limit) reads OpenDHT 2.4.12's dump of a search
// (DhtRunner::getSearchLog: per family a "Search IPv4|IPv6 <hash> ..." line, a column header
// line, then a row per node, nearest first: common bits, node id, a '*' when in the routing
// table, "[<pending requests><'x' when expired>]", then bracketed status groups, the announce
// group holding 'a' for each announcement that node acknowledged, and last the node's address).
// It returns, per search, the addresses of the nodes marked expired that sit nearer the key
// than the farthest node that acknowledged an announcement, nearest first, at most `limit` in
// all. A search none of whose nodes acknowledged gives none (nothing was placed, so nothing
// sits too far). Rows it cannot read are skipped; an empty or foreign text gives none.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace beemesh::dht {

std::vector<std::string> skipped_nearer_nodes(std::string_view search_log, size_t limit);

}  // namespace beemesh::dht
