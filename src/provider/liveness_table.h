// provider/liveness_table.h — the verdicts of liveness from heartbeat observations: pure
// logic, no threads, no DHT; time is passed in (the reader's clock, ms).
//
// Rules (docs/notes/liveness.md):
//  * A node never observed is `unknown`.
//  * Once a heartbeat with a higher sequence than the first one seen has been observed (an
//    "advance"), the node is alive while the last advance is at most `dead_after` old on the
//    reader's clock, dead after. Remote timestamps play no part: clock skew does not matter.
//  * Before any advance (one sighting only, e.g. a node that just asked), the node is alive
//    while its newest heartbeat's timestamp + validity is not past AND the first sighting is
//    at most `dead_after` old; dead after.
//  * A completed read that finds no heartbeat of a node never seen makes it dead; for a node
//    seen before it changes nothing (the rules above decide).
//  * Heartbeats with a sequence not above the newest seen are ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "provider/liveness.h"

namespace beemesh::provider {

struct HeartbeatSeen {
  std::string node_id;
  uint64_t sequence = 0;
  int64_t timestamp_ms = 0;
  int64_t validity_ms = 0;
};

class LivenessTable {
 public:
  explicit LivenessTable(int64_t dead_after_ms) : dead_after_ms_(dead_after_ms) {}

  // Returns true when the heartbeat was newer than everything seen of its node.
  bool observe(const HeartbeatSeen& heartbeat, int64_t now_ms);
  void observe_missing(const std::string& node_id, int64_t now_ms);
  NodeState state(const std::string& node_id, int64_t now_ms) const;
  // When the node last showed it is alive (advance or first sighting), if ever.
  std::optional<int64_t> last_sign_of_life(const std::string& node_id) const;
  // Dead on the record alone (no heartbeat found, or a first sighting past its validity),
  // as opposed to dead because no new heartbeat was seen for dead_after.
  bool dead_by_record(const std::string& node_id, int64_t now_ms) const;
  // When anything (heartbeat or missing) was last observed of the node.
  std::optional<int64_t> last_observed(const std::string& node_id) const;
  bool known(const std::string& node_id) const { return entries_.count(node_id) != 0; }
  void forget(const std::string& node_id) { entries_.erase(node_id); }
  size_t size() const { return entries_.size(); }
  std::vector<std::string> nodes() const;

 private:
  struct Entry {
    bool has_heartbeat = false;
    bool advanced = false;
    uint64_t sequence = 0;
    int64_t timestamp_ms = 0;
    int64_t validity_ms = 0;
    int64_t first_seen_ms = 0;
    int64_t last_advance_ms = 0;
    int64_t last_observed_ms = 0;
  };
  int64_t dead_after_ms_;
  std::map<std::string, Entry> entries_;
};

}  // namespace beemesh::provider
