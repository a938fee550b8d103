// apply/handler_util.h — what the node-to-node handlers share (internal to src/apply).
//
// Promise: respond() signs a response with ok/code/message filled from an Error (or ok
// when `error` is null); the message is truncated to kMaxResponseMessage bytes.
#pragma once

#include <string>

#include "apply/codes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"

namespace beemesh::apply {

inline constexpr size_t kMaxResponseMessage = 4096;

template <typename Response>
Bytes respond(const crypto::Identity& me, const Clock& clock, Response response,
              const Error* error) {
  response.ok = error == nullptr;
  response.code = error ? error->code : std::string(codes::kOk);
  response.message = error ? error->message.substr(0, kMaxResponseMessage) : std::string();
  return crypto::sign_message(me, response, clock);
}

}  // namespace beemesh::apply
