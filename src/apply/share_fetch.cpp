#include "apply/share_fetch.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "apply/async.h"
#include "apply/codes.h"
#include "apply/share_batcher.h"
#include "crypto/grants.h"
#include "crypto/manifest_crypto.h"
#include "net/protocols.h"
#include "protocol/messages.h"
#include "runtime/runtime.h"

namespace beemesh::apply {

namespace {

// Shared by the holders' requests, which may end on different threads of the loop.
struct FetchState {
  FetchState(const asio::any_io_executor& ex, size_t holders, size_t needed)
      : remaining(holders), needed(needed), enough(ex) {}
  std::mutex mutex;
  std::vector<crypto::KeyShare> shares;  // guarded by mutex
  std::vector<std::string> failures;     // guarded by mutex
  size_t remaining;                      // guarded by mutex: holders not answered yet
  const size_t needed;
  Signal enough;  // given once `needed` shares are in, or every holder has answered

  void settle(const protocol::ShareHolder& holder, Result<crypto::KeyShare> share) {
    bool done = false;
    {
      std::lock_guard lock(mutex);
      if (share) {
        shares.push_back(std::move(*share));
      } else {
        failures.push_back(holder.node_id + ": " + share.error().to_string());
      }
      --remaining;
      done = shares.size() >= needed || remaining == 0;
    }
    if (done) enough.set();
  }
};

}  // namespace

asio::awaitable<Result<std::vector<crypto::KeyShare>>> fetch_key_shares(
    const crypto::Identity& me, const Clock& clock, crypto::EnvelopeVerifier& verifier,
    net::Client& client, const protocol::AppliedManifest& applied, const Bytes& grant,
    std::chrono::milliseconds timeout, OwnShareReader own, KeyShareBatcher* batcher) {
  const size_t needed = applied.threshold;
  if (needed == 0 || applied.share_holders.size() < needed) {
    co_return make_error(std::string(codes::kTooFewShares),
                         "manifest names " + std::to_string(applied.share_holders.size()) +
                             " share holders for threshold " + std::to_string(needed));
  }
  auto ex = co_await asio::this_coro::executor;
  auto state = std::make_shared<FetchState>(ex, applied.share_holders.size(), needed);
  auto settle = [state](const protocol::ShareHolder& holder, Result<crypto::KeyShare> share) {
    state->settle(holder, std::move(share));
  };
  for (const auto& holder : applied.share_holders) {
    if (own && holder.node_public_key == me.public_key()) {
      asio::co_spawn(
          ex,
          [own, holder, settle]() -> asio::awaitable<void> {
            auto reading = own(holder);
            settle(holder, co_await std::move(reading));
          },
          asio::detached);
      continue;
    }
    // A sealed share (or why there is none) from a remote holder.
    auto settle_sealed = [&me, settle, holder](Result<Bytes> sealed) {
      if (!sealed) return settle(holder, sealed.error());
      settle(holder, crypto::open_share(me, *sealed, holder.share_index));
    };
    auto ask_single = [&me, &clock, &verifier, &client, holder, grant,
                       applied_id = applied.manifest_id, timeout, settle_sealed]() {
      protocol::KeyShareRequest request;
      request.request_id = runtime::new_workload_id();
      request.manifest_id = applied_id;
      request.grant = grant;
      request.share_index = holder.share_index;
      return [&me, &clock, &verifier, &client, holder, request, timeout,
              settle_sealed]() -> asio::awaitable<void> {
        auto asking = signed_call<protocol::KeyShareRequest, protocol::KeyShareResponse>(
            me, clock, verifier, client, holder.rpc_endpoint,
            std::string(net::protocols::kKeyShare), request, holder.node_public_key, timeout);
        auto reply = co_await std::move(asking);
        if (!reply) {
          settle_sealed(reply.error());
        } else if (!reply->ok) {
          settle_sealed(make_error(reply->code, reply->message));
        } else {
          settle_sealed(std::move(reply->sealed_share));
        }
      };
    };
    if (!batcher) {
      asio::co_spawn(ex, ask_single(), asio::detached);
      continue;
    }
    protocol::KeyShareItem item{applied.manifest_id, grant, holder.share_index};
    batcher->ask(ex, holder, std::move(item), timeout,
                 [ex, settle, holder, ask_single](Result<crypto::KeyShare> share) {
                   if (!share && share.error().code == "unknown_protocol") {
                     // A holder without batches: ask it the single way.
                     asio::co_spawn(ex, ask_single(), asio::detached);
                   } else {
                     settle(holder, std::move(share));
                   }
                 });
  }
  co_await state->enough.wait();
  // Holders still answering after this may add to `shares` (under the lock): take a copy.
  std::lock_guard lock(state->mutex);
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

asio::awaitable<Result<crypto::KeyShare>> own_key_share(const crypto::Identity& me,
                                                        const Clock& clock,
                                                        workload::StateStore& store,
                                                        asio::thread_pool& pool,
                                                        protocol::AppliedManifest applied,
                                                        Bytes grant, protocol::ShareHolder holder) {
  // What a holder checks before it releases a share to a requester (crypto::release_share),
  // with this node as the requester.
  auto checked = crypto::check_grant(grant,
                                     {.action = protocol::GrantAction::kKeyShare,
                                      .manifest_id = applied.manifest_id,
                                      .owner = applied.owner_public_key,
                                      .requester = me.public_key()},
                                     clock);
  if (!checked) co_return codes::from_grant_error(checked.error(), "key-share grant");
  auto reading = run_blocking(
      pool, [&store, mid = applied.manifest_id, publisher = to_hex(applied.owner_public_key)] {
        return store.key_shares_of_publisher(mid, publisher);
      });
  auto held = co_await std::move(reading);
  // A node may keep several splits of one publisher (a re-placement re-shares): the share
  // of the index the applied manifest names, as a holder answers a KeyShareRequest.
  if (held) {
    for (const auto& share : *held) {
      if (share.share_index == holder.share_index) {
        co_return crypto::open_share(me, share.sealed_share, holder.share_index);
      }
    }
  }
  co_return make_error(std::string(codes::kNotFound),
                       "no key share of index " + std::to_string(holder.share_index) +
                           " held for manifest " + applied.manifest_id + " from that publisher");
}

}  // namespace beemesh::apply
