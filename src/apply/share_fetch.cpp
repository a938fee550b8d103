#include "apply/share_fetch.h"

#include <asio/experimental/as_tuple.hpp>

#include <memory>
#include <optional>
#include <string>

#include "apply/codes.h"
#include "crypto/manifest_crypto.h"
#include "net/protocols.h"
#include "protocol/messages.h"
#include "runtime/runtime.h"

namespace beemesh::apply {

namespace {

struct FetchState {
  FetchState(asio::any_io_executor ex, size_t holders) : timer(ex), remaining(holders) {}
  asio::steady_timer timer;
  std::vector<crypto::KeyShare> shares;
  std::vector<std::string> failures;
  size_t remaining;
};

}  // namespace

asio::awaitable<Result<std::vector<crypto::KeyShare>>> fetch_key_shares(
    const crypto::Identity& me, const Clock& clock, crypto::EnvelopeVerifier& verifier,
    net::Client& client, const protocol::AppliedManifest& applied, const Bytes& grant,
    std::chrono::milliseconds timeout) {
  const size_t needed = applied.threshold;
  if (needed == 0 || applied.share_holders.size() < needed) {
    co_return make_error(std::string(codes::kTooFewShares),
                         "manifest names " + std::to_string(applied.share_holders.size()) +
                             " share holders for threshold " + std::to_string(needed));
  }
  auto ex = co_await asio::this_coro::executor;
  auto state = std::make_shared<FetchState>(ex, applied.share_holders.size());
  state->timer.expires_at(asio::steady_timer::time_point::max());
  for (const auto& holder : applied.share_holders) {
    protocol::KeyShareRequest request;
    request.request_id = runtime::new_workload_id();
    request.manifest_id = applied.manifest_id;
    request.grant = grant;
    request.share_index = holder.share_index;
    asio::co_spawn(
        ex,
        [&me, &clock, &verifier, &client, state, holder, request, timeout,
         needed]() -> asio::awaitable<void> {
          auto asking = signed_call<protocol::KeyShareRequest, protocol::KeyShareResponse>(
              me, clock, verifier, client, holder.rpc_endpoint,
              std::string(net::protocols::kKeyShare), request, holder.node_public_key, timeout);
          auto reply = co_await std::move(asking);
          std::optional<std::string> failure;
          if (!reply) {
            failure = reply.error().to_string();
          } else if (!reply->ok) {
            failure = reply->code + ": " + reply->message;
          } else {
            auto share = crypto::open_share(me, reply->sealed_share, holder.share_index);
            if (share) {
              state->shares.push_back(std::move(*share));
            } else {
              failure = share.error().to_string();
            }
          }
          if (failure) state->failures.push_back(holder.node_id + ": " + *failure);
          --state->remaining;
          if (state->shares.size() >= needed || state->remaining == 0) state->timer.cancel();
        },
        asio::detached);
  }
  while (state->shares.size() < needed && state->remaining > 0) {
    co_await state->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  if (state->shares.size() < needed) {
    std::string detail;
    for (const auto& f : state->failures) detail += (detail.empty() ? "" : "; ") + f;
    co_return make_error(std::string(codes::kTooFewShares),
                         "got " + std::to_string(state->shares.size()) + " of " +
                             std::to_string(needed) + " key shares (" + detail + ")");
  }
  std::vector<crypto::KeyShare> out(state->shares.begin(), state->shares.begin() + needed);
  co_return out;
}

}  // namespace beemesh::apply
