// apply/missed_entries.h — whether a read of a node directory shard keeps an entry it lacks
// (apply/directory.h: "A read replaces what the shard listed, except...").
//
// Promise (pure, no I/O, no clock of its own):
//  * keep_missed(): an entry the shard listed, and a new read of the shard lacks, is dropped
//    when the read lists its withdrawal, when its record (as last read) has expired at
//    `now_ms` (expires_ms = the record's timestamp + TTL; 0: unknown, taken as expired), or
//    when liveness is wired and knows the node dead; otherwise it is kept. Absence alone is
//    no evidence of departure: the storing nodes a DHT get reaches need not hold every record
//    of the key (a 1,000-node mesh had reads from a few nodes miss a live node's record
//    several times in a row, docs/BENCHMARKS.md, session 27).
//  * A kept entry whose node's liveness is `unknown` is one the caller asks liveness to check
//    (needs_check()): the next read that lacks it drops it if the check found it dead.
#pragma once

#include <cstdint>
#include <optional>

#include "provider/liveness.h"

namespace beemesh::apply {

struct MissedEntry {
  bool withdrawn = false;  // the read lists a withdrawal of the node's record
  int64_t expires_ms = 0;  // when its record last read expires (Unix ms)
  // The node's state by this node's liveness; nullopt: no liveness wired.
  std::optional<provider::NodeState> liveness;
};

bool keep_missed(const MissedEntry& entry, int64_t now_ms);
bool needs_check(const MissedEntry& entry, int64_t now_ms);

}  // namespace beemesh::apply
