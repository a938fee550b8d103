#include "apply/share_fetch.h"

#include <algorithm>
#include <functional>
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

// Shared by the holders' requests, which may end on different threads of the loop, and the
// hedge timer. The asks not made yet hold no reference to it (they reach it through a
// weak_ptr), so nothing outlives the fetch but the requests already in flight.
class FetchState {
 public:
  FetchState(const asio::any_io_executor& ex, std::vector<std::function<void()>> asks,
             size_t needed)
      : needed_(needed), asks_(std::move(asks)), enough(ex) {}

  // Asks holders, in order, until the shares in hand plus the asks in flight reach
  // `needed` (all the holders not asked yet when `all`); gives `enough` when nothing is in
  // flight and no holder is left to ask. Called with no lock held: asks run outside it.
  void ask_more(bool all) {
    std::vector<std::function<void()>> now;
    bool exhausted = false;
    {
      std::lock_guard lock(mutex_);
      if (finished_) return;
      while (next_ < asks_.size() && (all || shares_.size() + in_flight_ < needed_)) {
        now.push_back(std::move(asks_[next_++]));
        ++in_flight_;
      }
      exhausted = in_flight_ == 0 && next_ == asks_.size();
      if (exhausted) finish();
    }
    for (auto& ask : now) ask();
    if (exhausted) enough.set();
  }

  void settle(const protocol::ShareHolder& holder, Result<crypto::KeyShare> share) {
    bool done = false;
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
      if (share) {
        shares_.push_back(std::move(*share));
      } else {
        failures_.push_back(holder.node_id + ": " + share.error().to_string());
      }
      done = !finished_ && shares_.size() >= needed_;
      if (done) finish();
    }
    if (done) {
      enough.set();
    } else {
      ask_more(false);  // a failure: the next holder in its place
    }
  }

  // Once `enough` was given (holders still answering may add to the shares: a copy).
  Result<std::vector<crypto::KeyShare>> result() {
    std::lock_guard lock(mutex_);
    if (shares_.size() < needed_) {
      std::string detail;
      for (const auto& f : failures_) detail += (detail.empty() ? "" : "; ") + f;
      return make_error(std::string(codes::kTooFewShares), "got " + std::to_string(shares_.size()) +
                                                               " of " + std::to_string(needed_) +
                                                               " key shares (" + detail + ")");
    }
    return std::vector<crypto::KeyShare>(shares_.begin(), shares_.begin() + needed_);
  }

 private:
  void finish() {  // with mutex_ held
    finished_ = true;
    asks_.clear();
  }

  const size_t needed_;
  std::mutex mutex_;
  std::vector<crypto::KeyShare> shares_;     // guarded by mutex_
  std::vector<std::string> failures_;        // guarded by mutex_
  std::vector<std::function<void()>> asks_;  // guarded by mutex_: one per holder, in order
  size_t next_ = 0;                          // guarded by mutex_: the next holder to ask
  size_t in_flight_ = 0;                     // guarded by mutex_
  bool finished_ = false;                    // guarded by mutex_: enough was given

 public:
  Signal enough;  // given once `needed` shares are in, or every holder asked has answered
};

}  // namespace

asio::awaitable<Result<std::vector<crypto::KeyShare>>> fetch_key_shares(
    const crypto::Identity& me, const Clock& clock, crypto::EnvelopeVerifier& verifier,
    net::Client& client, const protocol::AppliedManifest& applied, Bytes grant,
    std::chrono::milliseconds timeout, OwnShareReader own, KeyShareBatcher* batcher,
    std::chrono::milliseconds hedge_after) {
  const size_t needed = applied.threshold;
  if (needed == 0 || applied.share_holders.size() < needed) {
    co_return make_error(std::string(codes::kTooFewShares),
                         "manifest names " + std::to_string(applied.share_holders.size()) +
                             " share holders for threshold " + std::to_string(needed));
  }
  auto ex = co_await asio::this_coro::executor;
  // This node's own share first (no RPC), then the remote holders in the record's order
  // from a place set by this node's key, so that the deploying nodes of one manifest do not
  // all ask the same holders (no random source on the apply path: runtime.cpp's ids).
  std::vector<protocol::ShareHolder> local, remote;
  for (const auto& holder : applied.share_holders) {
    (own && holder.node_public_key == me.public_key() ? local : remote).push_back(holder);
  }
  if (!remote.empty()) {
    std::rotate(remote.begin(), remote.begin() + me.public_key()[0] % remote.size(), remote.end());
  }
  auto state_holder = std::make_shared<std::weak_ptr<FetchState>>();
  auto settle = [state_holder](const protocol::ShareHolder& holder,
                               Result<crypto::KeyShare> share) {
    if (auto state = state_holder->lock()) state->settle(holder, std::move(share));
  };
  std::vector<std::function<void()>> asks;
  for (const auto& holder : local) {
    asks.push_back([ex, own, holder, settle] {
      asio::co_spawn(
          ex,
          [own, holder, settle]() -> asio::awaitable<void> {
            auto reading = own(holder);
            settle(holder, co_await std::move(reading));
          },
          asio::detached);
    });
  }
  for (const auto& holder : remote) {
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
      asks.push_back([ex, ask_single] { asio::co_spawn(ex, ask_single(), asio::detached); });
      continue;
    }
    asks.push_back(
        [ex, batcher, holder, settle, ask_single, timeout,
         item = protocol::KeyShareItem{applied.manifest_id, grant, holder.share_index}]() mutable {
          batcher->ask(ex, holder, std::move(item), timeout,
                       [ex, settle, holder, ask_single](Result<crypto::KeyShare> share) {
                         if (!share && share.error().code == "unknown_protocol") {
                           // A holder without batches: ask it the single way.
                           asio::co_spawn(ex, ask_single(), asio::detached);
                         } else {
                           settle(holder, std::move(share));
                         }
                       });
        });
  }
  auto state = std::make_shared<FetchState>(ex, std::move(asks), needed);
  *state_holder = state;
  state->ask_more(false);
  // The hedge: holders that have not answered by then are not waited for alone.
  asio::co_spawn(
      ex,
      [weak = std::weak_ptr<FetchState>(state), hedge_after]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, hedge_after);
        co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));  // no throw
        if (auto s = weak.lock()) s->ask_more(true);
      },
      asio::detached);
  co_await state->enough.wait();
  co_return state->result();
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
