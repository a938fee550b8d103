// apply/share_fetch.h — the deploying node's side of key reconstruction.
//
// Promise: asks the share holders of `applied` for k = `applied.threshold` shares (signed
// KeyShareRequests carrying the key-share grant), opens each sealed share it gets back, and
// completes as soon as k shares are in hand. It asks k holders at first — this node's own
// share first when it is a holder (read locally with the same grant check instead of asked
// over RPC), then remote holders in order from a place set by this node's key — and the next holder
// in place of each that fails. Holders that have not answered `hedge_after` after the start are not
// waited for alone: every holder not asked yet is asked then, so a slow or dead holder delays the
// fetch by at most `hedge_after` when k others answer. Fewer than k usable shares once every holder
// asked has answered -> Error "too_few_shares" whose message lists each holder's failure.
// Each request is bounded by `timeout`. (Asking all n holders at once, as before session
// 18, cost each deploy n - k needless share requests: a TLS connection each, at 1,000 nodes.)
#pragma once

#include <asio.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/safe_text.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "crypto/shamir.h"
#include "net/client.h"
#include "net/endpoint.h"
#include "protocol/messages.h"
#include "protocol/records.h"
#include "workload/state_store.h"

namespace beemesh::apply {

class KeyShareBatcher;

// How long a deploying node waits for the first k holders it asked before it asks the others.
inline constexpr std::chrono::milliseconds kShareFetchHedge{250};

// How this node takes its own share when it is one of the holders (own_key_share below).
using OwnShareReader =
    std::function<asio::awaitable<Result<crypto::KeyShare>>(const protocol::ShareHolder&)>;

// With `batcher` set, remote holders are asked through it (one envelope for the shares of
// several applies to the same holder, apply/share_batcher.h; a holder that does not know
// batches is asked with a single KeyShareRequest). Without it, one KeyShareRequest each.
// With `own` set, the holder whose key is `me`'s is not asked over RPC (a node talking to
// itself: two signatures, two verifications and a re-sealing for nothing) but read by `own`.
// `grant` is taken by value: the coroutine starts when awaited, after a temporary argument of
// the call would be gone; `me`, `clock`, `verifier`, `client` and `applied` must outlive it.
asio::awaitable<Result<std::vector<crypto::KeyShare>>> fetch_key_shares(
    const crypto::Identity& me, const Clock& clock, crypto::EnvelopeVerifier& verifier,
    net::Client& client, const protocol::AppliedManifest& applied, Bytes grant,
    std::chrono::milliseconds timeout, OwnShareReader own = {}, KeyShareBatcher* batcher = nullptr,
    std::chrono::milliseconds hedge_after = kShareFetchHedge);

// This node's own share of `applied`, as a holder would release it to this node: the
// key-share grant must pass the same check a holder makes (crypto::check_grant: kKeyShare,
// this manifest, signed by the publisher of `applied`, naming this node), then the share
// stored for (manifest, publisher) is read from `store` (on `pool`) and opened. The grant is
// checked before the store is read. Errors: check_grant's codes, "not_found", "bad_share".
asio::awaitable<Result<crypto::KeyShare>> own_key_share(const crypto::Identity& me,
                                                        const Clock& clock,
                                                        workload::StateStore& store,
                                                        asio::thread_pool& pool,
                                                        protocol::AppliedManifest applied,
                                                        Bytes grant, protocol::ShareHolder holder);

// Sends a signed request and opens the signed response as a reply
// (crypto::EnvelopeVerifier::verify_reply: every envelope check except the shared replay
// cache), checking that the responder is `expected_signer` and that the response carries
// the request's request_id ("reply_mismatch" otherwise: a reply is accepted only for the
// request it answers, which is what makes skipping the replay cache safe). Transport
// failures keep their net codes. With an expected signer the endpoint is pinned to its node
// id (net/endpoint.h): over TLS the connection is refused ("peer_mismatch") unless that node
// answers, before the request leaves this node. Every argument is taken by value: the coroutine
// starts later and must own what it uses.
template <typename Request, typename Response>
asio::awaitable<Result<Response>> signed_call(const crypto::Identity& me, const Clock& clock,
                                              crypto::EnvelopeVerifier& verifier,
                                              net::Client& client, std::string endpoint,
                                              std::string protocol, Request request,
                                              std::optional<crypto::PublicKey> expected_signer,
                                              std::chrono::milliseconds timeout) {
  auto wire = crypto::sign_message(me, request, clock);
  if (expected_signer)
    endpoint = net::pinned_endpoint(crypto::node_id_of(*expected_signer), endpoint);
  auto sending = client.request(std::move(endpoint), std::move(protocol), std::move(wire), timeout);
  auto reply = co_await std::move(sending);
  if (!reply) co_return reply.error();
  auto opened = crypto::open_reply<Response>(verifier, *reply);
  if (!opened) co_return opened.error();
  if (expected_signer && opened->envelope.signer != *expected_signer) {
    co_return make_error("bad_signature", "response signed by an unexpected node");
  }
  if (opened->message.request_id != request.request_id) {
    std::string said;  // a refusal before the peer could read our request id says why
    if constexpr (requires { opened->message.code; }) {
      if (!opened->message.code.empty()) {
        said = "; it says " + printable(opened->message.code, 64);
      }
    }
    co_return make_error("reply_mismatch", "reply from " + opened->envelope.signer_node_id +
                                               " answers request '" +
                                               printable(opened->message.request_id, 64) +
                                               "', not '" + request.request_id + "'" + said);
  }
  co_return std::move(opened->message);
}

}  // namespace beemesh::apply
