// apply/share_batcher.h — a deploying node's key-share requests, batched per holder.
//
// Promise: ask() queues one key-share item (what a KeyShareRequest carries) for `holder` and
// calls `done` exactly once, dispatched to the executor given to ask(), with the share,
// opened (crypto::ShareBatchOpener: one box key per answer, the index checked against the
// item's), or the error: the item's code from the holder, "bad_share", or the error of
// the whole call (transport codes, "bad_signature", "reply_mismatch", a refusal's code;
// "unknown_protocol" from a holder that predates batches: the caller asks it with a single
// KeyShareRequest instead). At most one batch per
// holder is in flight; items asked meanwhile wait for it and go together in the next one
// (at most protocol::kMaxKeyShareBatch per envelope). So an idle node sends at once, with
// no added delay, and a busy one signs and verifies one envelope each way per batch
// instead of per share. Each batch is a signed_call (apply/share_fetch.h): pinned to the
// holder's key, its reply matched by request id and answering every item in order, and
// bounded by the timeout of the first item queued (an item can wait up to one batch in
// flight before its own is sent). The holder checks every item on its own (its grant, its
// share), exactly as a single request (apply/node_handlers.h "keyshares").
// Thread-safe; the batch coroutines run on the first asker's executor and keep the
// batcher's state alive; `me`, `clock`, `verifier` and `client` must outlive them.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "crypto/shamir.h"
#include "net/client.h"
#include "protocol/messages.h"
#include "protocol/records.h"

namespace beemesh::apply {

class KeyShareBatcher {
 public:
  using Done = std::function<void(Result<crypto::KeyShare>)>;

  KeyShareBatcher(const crypto::Identity& me, const Clock& clock,
                  crypto::EnvelopeVerifier& verifier, net::Client& client);

  void ask(asio::any_io_executor executor, const protocol::ShareHolder& holder,
           protocol::KeyShareItem item, std::chrono::milliseconds timeout, Done done);

  // Batches sent and items carried so far (for tests and benchmarks).
  struct Stats {
    uint64_t batches = 0;
    uint64_t items = 0;
  };
  Stats stats() const;

 private:
  struct State;
  // Sends the queued items of holder `name` in batches until its queue is empty.
  static asio::awaitable<void> drain(std::shared_ptr<State> state, std::string name);
  std::shared_ptr<State> state_;
};

}  // namespace beemesh::apply
