#include "apply/share_batcher.h"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apply/share_fetch.h"
#include "common/bytes.h"
#include "crypto/manifest_crypto.h"
#include "net/protocols.h"
#include "runtime/runtime.h"

namespace beemesh::apply {

namespace {

struct Pending {
  asio::any_io_executor executor;
  protocol::KeyShareItem item;
  std::chrono::milliseconds timeout;
  KeyShareBatcher::Done done;
};

struct HolderQueue {
  std::string endpoint;
  crypto::PublicKey key{};
  std::deque<Pending> queued;
};

void deliver(Pending& p, Result<crypto::KeyShare> result) {
  asio::dispatch(p.executor, [done = std::move(p.done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

}  // namespace

struct KeyShareBatcher::State {
  State(const crypto::Identity& m, const Clock& c, crypto::EnvelopeVerifier& v, net::Client& cl)
      : me(m), clock(c), verifier(v), client(cl) {}
  const crypto::Identity& me;
  const Clock& clock;
  crypto::EnvelopeVerifier& verifier;
  net::Client& client;
  std::mutex mutex;
  // One queue per holder (key + endpoint) with a batch in flight; erased when it drains.
  std::map<std::string, HolderQueue> queues;
  Stats stats;
};

KeyShareBatcher::KeyShareBatcher(const crypto::Identity& me, const Clock& clock,
                                 crypto::EnvelopeVerifier& verifier, net::Client& client)
    : state_(std::make_shared<State>(me, clock, verifier, client)) {}

void KeyShareBatcher::ask(asio::any_io_executor executor, const protocol::ShareHolder& holder,
                          protocol::KeyShareItem item, std::chrono::milliseconds timeout,
                          Done done) {
  std::string name = to_hex(holder.node_public_key) + "@" + holder.rpc_endpoint;
  bool start = false;
  {
    std::lock_guard lock(state_->mutex);
    auto [it, fresh] = state_->queues.try_emplace(name);
    if (fresh) {
      it->second.endpoint = holder.rpc_endpoint;
      it->second.key = holder.node_public_key;
      start = true;
    }
    it->second.queued.push_back({executor, std::move(item), timeout, std::move(done)});
  }
  // co_spawn starts the coroutine from the executor's queue: what is asked in the same turn
  // of the loop goes in the first batch.
  if (start) asio::co_spawn(executor, drain(state_, std::move(name)), asio::detached);
}

KeyShareBatcher::Stats KeyShareBatcher::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

asio::awaitable<void> KeyShareBatcher::drain(std::shared_ptr<State> state, std::string name) {
  bool more = true;
  while (more) {
    std::vector<Pending> batch;
    std::string endpoint;
    crypto::PublicKey key{};
    {
      std::lock_guard lock(state->mutex);
      auto it = state->queues.find(name);
      if (it->second.queued.empty()) {
        state->queues.erase(it);
        more = false;
      } else {
        auto& queued = it->second.queued;
        while (!queued.empty() && batch.size() < protocol::kMaxKeyShareBatch) {
          batch.push_back(std::move(queued.front()));
          queued.pop_front();
        }
        endpoint = it->second.endpoint;
        key = it->second.key;
        ++state->stats.batches;
        state->stats.items += batch.size();
      }
    }
    if (!more) break;
    protocol::KeyShareBatchRequest request;
    request.request_id = runtime::new_workload_id();
    request.items.reserve(batch.size());
    for (const auto& p : batch) request.items.push_back(p.item);
    auto asking = signed_call<protocol::KeyShareBatchRequest, protocol::KeyShareBatchResponse>(
        state->me, state->clock, state->verifier, state->client, endpoint,
        std::string(net::protocols::kKeyShareBatch), std::move(request), key,
        batch.front().timeout);
    auto reply = co_await std::move(asking);
    std::optional<Error> failed;
    std::optional<crypto::ShareBatchOpener> opener;
    if (!reply) {
      failed = reply.error();
    } else if (!reply->ok) {
      failed = make_error(reply->code, reply->message);
    } else if (reply->items.size() != batch.size()) {
      failed = make_error("reply_mismatch", "key-share batch of " + std::to_string(batch.size()) +
                                                " items answered with " +
                                                std::to_string(reply->items.size()));
    } else if (std::any_of(reply->items.begin(), reply->items.end(),
                           [](const auto& item) { return item.ok; })) {
      auto opening = crypto::ShareBatchOpener::from(state->me, reply->ephemeral_public_key);
      if (opening) {
        opener.emplace(std::move(*opening));
      } else {
        failed = opening.error();
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (failed) {
        deliver(batch[i], *failed);
        continue;
      }
      auto& answer = reply->items[i];
      if (answer.manifest_id != batch[i].item.manifest_id ||
          (answer.ok && answer.share_index != batch[i].item.share_index)) {
        deliver(batch[i],
                make_error("reply_mismatch", "key-share batch answer " + std::to_string(i) +
                                                 " is for another manifest or share"));
        continue;
      }
      if (!answer.ok) {
        deliver(batch[i], make_error(answer.code, answer.message));
        continue;
      }
      deliver(batch[i], opener->open(answer.sealed_share, batch[i].item.share_index));
    }
  }
}

}  // namespace beemesh::apply
