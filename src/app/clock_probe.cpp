#include "app/clock_probe.h"

#include "apply/share_fetch.h"
#include "net/protocols.h"
#include "protocol/messages.h"
#include "runtime/runtime.h"

namespace beemesh::app {

ClockProbe::ClockProbe(Parts parts, asio::any_io_executor executor,
                       std::chrono::milliseconds interval, std::chrono::milliseconds timeout)
    : p_(parts), executor_(executor), interval_(interval), timeout_(timeout), timer_(executor) {}

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
    probe_all();
    arm_timer();
  });
}

void ClockProbe::probe_all() {
  const auto self = p_.directory.self().node_id;
  for (const auto& n : p_.directory.nodes()) {
    if (n.node_id == self) continue;
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
