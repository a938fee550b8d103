// dht/opendht_search_fix.h — OpenDHT 2.4.12's Search::insertNode made to never write into a node
// it has just removed.
//
// The bug (fixed upstream by ce7f592b "search: return if added node is actually removed",
// OpenDHT 3.1.5; Debian bookworm ships 2.4.12): `Dht::Search::insertNode(node, now, token)`
// inserts a node that was not in the search, then trims the search from its far end while it
// holds more than 14 good nodes. When every node after the new one is bad (expired), the trim
// removes them and then the new node itself — and with a token (a get's reply) insertNode then
// writes the token, the reply time and `candidate` through the removed node's iterator: into
// freed memory (the SearchNode and its old token buffer). Searches full of expired nodes come
// with load; an in-process mesh of 840–910 nodes on 2 cores aborted three times with glibc's
// `malloc(): mismatching next->prev_size (unsorted)`, and the core dump showed a freed
// SearchNode whose `candidate` had been written after the free (docs/notes/dht.md).
//
// And the cost (measured 2026-12-03, docs/notes/dht.md "Done searches refused at once"): for the
// node of every datagram, OpenDHT's `trySearchInsert` offers the node to the searches nearest
// its id outward, walking past every done or expired search, and each `insertNode` compares the
// node with all of the search's nodes — 28 % of the DHT loops' CPU at rest at 1,000 nodes in one
// process (~170 searches per node, most of them done).
//
// Promise:
//  * opendht_search_fix.cpp defines the symbol of `dht::Dht::Search::insertNode`.
//    libopendht.so.2 calls it through its PLT (all 6 call sites in 2.4.12), so in a process
//    whose executable links this file the library runs this definition, which runs the
//    library's own (insert_node_keeping_tokens below): with a token it first inserts without
//    the token, then gives the token by a second call only to a node that is in the search
//    (found: nothing is inserted or trimmed). A node removed at once gets no token and the
//    call returns false, as upstream's fix does. Without a token the library's runs once, as is.
//  * A call without a token on a search that is done (its gets answered, no put and no listen
//    on it) returns false at once: the node is not added. OpenDHT calls insertNode without a
//    token to offer a node it heard from (trySearchInsert) and to refill an active search
//    (never a done one); a done search is made active again only by `Dht::search()` (a get: it
//    clears `done` and refills the search from the nodes the node knows nearest its key),
//    `Search::put` or `Search::listen` (the search's next steps ask its nodes for nearer ones,
//    as any lookup). `done` is read from OpenDHT 2.4.12's private `Search` layout, only when
//    libopendht reports version 2.4.12 and the search's `af` field matches the node's family;
//    the first mismatch turns the refusal off for the process (with a line on stderr).
//    opendht_done_refusals() counts the refusals in this process (added per thread in
//    batches of 64, so up to 63 per thread are not yet counted).
//  * opendht_search_insert_fixed() tells whether that holds in this process: the definition
//    the dynamic linker binds is not libopendht's, and the library's own insertNode and
//    Search::getNode were found. OpenDht::start() calls it, which also keeps this file in
//    every link that uses OpenDht, and logs an error when it does not hold.
//  * opendht_removed_at_once() counts, in this process, the calls with a token whose node was
//    inserted and removed at once: each one a write into freed memory without this fix.
#pragma once

#include <cstdint>

namespace beemesh::dht {

bool opendht_search_insert_fixed();
uint64_t opendht_removed_at_once();
// Whether done searches are refused at once in this process (the layout holds so far).
bool opendht_done_searches_refused_at_once();
uint64_t opendht_done_refusals();

// The fix's steps over one search and one node, testable without OpenDHT: `insert(with_token)`
// runs the library's insertNode (with the reply's token or none) and returns what it returns;
// `present()` tells whether the node is in the search now. A template: it runs at every insert
// of every search (each datagram), where std::function callables would allocate.
struct InsertOutcome {
  bool inserted = false;         // what the call returns to OpenDHT
  bool removed_at_once = false;  // inserted, then trimmed by the same insert
};
template <typename Insert, typename Present>
InsertOutcome insert_node_keeping_tokens(Insert&& insert, Present&& present, bool has_token) {
  if (!has_token) return {insert(false), false};
  const bool inserted = insert(false);
  if (!present()) return {false, inserted};
  insert(true);  // found: the library only records the token on the node
  return {inserted, false};
}

}  // namespace beemesh::dht
