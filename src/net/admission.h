// net/admission.h — internal: which inbound connections a Server keeps.
//
// Promise: admit() decides for a new connection against three caps — open connections,
// connections per remote address, and *pending* connections (not yet established by a
// complete request). When a cap is full it names the oldest pending connection to evict
// (of the same address, for the per-address cap) and admits the new one; when there is no
// pending connection to evict, it refuses the new one. An established connection is never
// named for eviction. Evicted connections are forgotten at once; remove() of a forgotten
// or unknown id does nothing. Not thread-safe: the server guards it with its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace beemesh::net {

class Admission {
 public:
  struct Limits {
    size_t max_connections = 0;
    size_t max_per_address = 0;
    size_t max_pending = 0;
  };
  struct Decision {
    bool admitted = false;
    std::vector<uint64_t> evict;  // ids to close (already forgotten)
    std::string refusal;          // why, when not admitted
  };

  explicit Admission(Limits limits) : limits_(limits) {}

  // `id`s grow with time: a smaller id is an older connection.
  Decision admit(uint64_t id, const std::string& address);
  // The connection delivered its first complete request. True the first time.
  bool establish(uint64_t id);
  void remove(uint64_t id);

  size_t open() const { return connections_.size(); }
  size_t pending() const { return pending_; }

 private:
  struct Entry {
    std::string address;
    bool pending = true;
  };
  bool evict_oldest_pending(const std::string* address, Decision& decision);

  Limits limits_;
  std::map<uint64_t, Entry> connections_;  // ordered by age
  std::unordered_map<std::string, size_t> per_address_;
  size_t pending_ = 0;
};

}  // namespace beemesh::net
