#include "app/clock_probe.h"

#include <algorithm>
#include <iterator>

#include "apply/share_fetch.h"
#include "net/protocols.h"
#include "protocol/messages.h"
#include "runtime/runtime.h"

namespace beemesh::app {

std::vector<apply::NodeEntry> clock_probe_targets(const std::vector<apply::NodeEntry>& nodes,
                                                  const std::string& self, size_t k,
                                                  std::mt19937_64& random) {
  std::vector<apply::NodeEntry> others;
  for (const auto& n : nodes) {
    if (n.node_id != self) others.push_back(n);
  }
  std::vector<apply::NodeEntry> out;
  std::sample(others.begin(), others.end(), std::back_inserter(out), k, random);
  return out;
}

ClockProbe::ClockProbe(Parts parts, asio::any_io_executor executor,
                       std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
                       size_t per_round)
    : p_(parts),
      executor_(executor),
      interval_(interval),
      timeout_(timeout),
      per_round_(per_round),
      timer_(executor) {}

ClockProbe::~ClockProbe() {
  alive_->store(false);
  timer_.cancel();
}

void ClockProbe::start() {
  arm_timer();
}

void ClockProbe::arm_timer() {
  timer_.expires_after(interval_);
  timer_.async_wait([this, alive = alive_](const std::error_code& ec) {
    if (ec || !alive->load()) return;
    probe_some();
    arm_timer();
  });
}

void ClockProbe::probe_some() {
  const auto& self = p_.directory.self().node_id;
  for (const auto& n : clock_probe_targets(p_.directory.nodes(), self, per_round_, random_)) {
    protocol::CapacityRequest req;
    req.request_id = runtime::new_workload_id();
    auto call = apply::signed_call<protocol::CapacityRequest, protocol::CapacityReply>(
        p_.identity, p_.clock, p_.verifier, p_.client, n.rpc_endpoint,
        std::string(net::protocols::kCapacity), req, n.public_key, timeout_);
    // The verifier records the clock; a failed probe shows as a stale CLOCK value.
    asio::co_spawn(
        executor_,
        [call = std::move(call)]() mutable -> asio::awaitable<void> {
          auto result = co_await std::move(call);
          (void)result;
        },
        asio::detached);
  }
}

}  // namespace beemesh::app
