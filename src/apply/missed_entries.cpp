#include "apply/missed_entries.h"

namespace beemesh::apply {

bool keep_missed(const MissedEntry& entry, int64_t now_ms) {
  if (entry.withdrawn || entry.expires_ms <= now_ms) return false;
  return entry.liveness != provider::NodeState::dead;
}

bool needs_check(const MissedEntry& entry, int64_t now_ms) {
  return keep_missed(entry, now_ms) && entry.liveness == provider::NodeState::unknown;
}

}  // namespace beemesh::apply
