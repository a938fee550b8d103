// provider/liveness.h — is a node alive? The contract discovery and the reconcile loop use.
//
// Promise:
//  * state() never waits: `alive` or `dead` once this node has evidence, else `unknown`.
//    Callers treat `unknown` as alive (a node is only filtered on evidence).
//  * watch(node, interest) keeps the node's state current (within ~10 s of a death) for
//    `interest` (0: until unwatch()); it returns false, and watches nothing, when the
//    implementation's budget of watched nodes is full. Watching the same node again extends
//    the interest.
//  * check(nodes, timeout) learns the state of the given nodes whose state is unknown: their
//    reads run at once, in parallel, and it waits at most `timeout` for them (it blocks, so
//    it is never called on an event loop). A read that answers after `timeout` still sets
//    the state for later state() calls. Callers that must answer fast pass a short timeout
//    and treat what is still unknown as alive (ProviderManager: 50 ms).
//  * on_change(cb) calls cb(node, state) on a background thread whenever a watched node
//    turns dead or alive again; cb must not block. remove_callback() waits for none.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace beemesh::provider {

enum class NodeState { unknown, alive, dead };
std::string_view to_string(NodeState state);

class Liveness {
 public:
  virtual ~Liveness() = default;
  virtual NodeState state(const std::string& node_id) const = 0;
  bool alive(const std::string& node_id) const { return state(node_id) != NodeState::dead; }
  virtual bool watch(const std::string& node_id,
                     std::chrono::milliseconds interest = std::chrono::milliseconds(0)) = 0;
  virtual void unwatch(const std::string& node_id) = 0;
  virtual void check(const std::vector<std::string>& node_ids,
                     std::chrono::milliseconds timeout) = 0;
  using ChangeCallback = std::function<void(const std::string& node_id, NodeState state)>;
  virtual uint64_t on_change(ChangeCallback callback) = 0;
  virtual void remove_callback(uint64_t token) = 0;
};

}  // namespace beemesh::provider
