// apply/handler_util.h — what the node-to-node handlers share (internal to src/apply).
//
// Promise: open_request() opens a request envelope (crypto::open_message) with the
// verifier's codes turned into apply codes, and lets a verified member's connection send
// full-size frames (net::PeerInfo::mark_verified). respond() signs a response with
// ok/code/message filled from an Error (or ok when `error` is null); the message is
// truncated to kMaxResponseMessage bytes.
#pragma once

#include <string>

#include "apply/codes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "net/server.h"

namespace beemesh::apply {

inline constexpr size_t kMaxResponseMessage = 4096;

template <typename Message>
Result<crypto::VerifiedMessage<Message>> open_request(crypto::EnvelopeVerifier& verifier,
                                                      ByteView request, const net::PeerInfo& peer) {
  auto req = crypto::open_message<Message>(verifier, request);
  if (!req) return codes::from_envelope_error(req.error());
  peer.mark_verified();
  return req;
}

template <typename Response>
Bytes respond(const crypto::Identity& me, const Clock& clock, Response response,
              const Error* error) {
  response.ok = error == nullptr;
  response.code = error ? error->code : std::string(codes::kOk);
  response.message = error ? error->message.substr(0, kMaxResponseMessage) : std::string();
  return crypto::sign_message(me, response, clock);
}

}  // namespace beemesh::apply
