// fuzz_envelope: envelope decode + full verification.
// Mode 0 (first byte even): the input is an envelope off the wire; verify it against every
//   payload type. It must be refused cleanly unless its signature really verifies, and a
//   second verification of the same bytes must be refused as a replay.
// Mode 1 (first byte odd): the input is a payload; sign it with a fixed identity as the
//   type picked by the second byte, verify it (must pass), decode the inner message through
//   open_message, then flip one byte chosen by the input and verify again: it must be
//   refused or carry exactly the same signed content.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "crypto/envelope.h"
#include "fuzz_util.h"

namespace {

using namespace beemesh;  // NOLINT
using crypto::EnvelopeVerifier;
using protocol::PayloadType;

constexpr uint16_t kPayloadTypes = 13;  // ApplyRequest (1) .. QueryReply (13)

const std::vector<PayloadType>& all_types() {
  static const std::vector<PayloadType> types = [] {
    std::vector<PayloadType> t;
    for (uint16_t i = 1; i <= kPayloadTypes; ++i) t.push_back(static_cast<PayloadType>(i));
    return t;
  }();
  return types;
}

template <typename T>
void open_as(EnvelopeVerifier& verifier, ByteView wire) {
  auto r = crypto::open_message<T>(verifier, wire);
  (void)r;
}

void open_typed(EnvelopeVerifier& v, PayloadType type, ByteView wire) {
  using namespace protocol;  // NOLINT
  switch (type) {
    case PayloadType::kApplyRequest:
      open_as<ApplyRequest>(v, wire);
      break;
    case PayloadType::kApplyResponse:
      open_as<ApplyResponse>(v, wire);
      break;
    case PayloadType::kDeleteRequest:
      open_as<DeleteRequest>(v, wire);
      break;
    case PayloadType::kDeleteResponse:
      open_as<DeleteResponse>(v, wire);
      break;
    case PayloadType::kKeyShareRequest:
      open_as<KeyShareRequest>(v, wire);
      break;
    case PayloadType::kKeyShareResponse:
      open_as<KeyShareResponse>(v, wire);
      break;
    case PayloadType::kStoreShareRequest:
      open_as<StoreShareRequest>(v, wire);
      break;
    case PayloadType::kStoreShareResponse:
      open_as<StoreShareResponse>(v, wire);
      break;
    case PayloadType::kCapacityRequest:
      open_as<CapacityRequest>(v, wire);
      break;
    case PayloadType::kCapacityReply:
      open_as<CapacityReply>(v, wire);
      break;
    case PayloadType::kQueryRequest:
      open_as<QueryRequest>(v, wire);
      break;
    case PayloadType::kQueryReply:
      open_as<QueryReply>(v, wire);
      break;
    case PayloadType::kErrorReply:
      open_as<ErrorReply>(v, wire);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  ManualClock clock(1'700'000'000'000);
  EnvelopeVerifier verifier(clock, {.replay_capacity = 16});
  if ((data[0] & 1) == 0) {
    ByteView wire(data + 1, size - 1);
    auto r = verifier.verify_any(wire, all_types());
    auto env = protocol::decode_envelope(wire);
    if (r.ok()) {
      // Only a genuinely signed envelope (e.g. a seed) may pass: re-check independently.
      if (!env.ok() ||
          !crypto::verify_signature(
              env->signer_public_key,
              crypto::envelope_signing_bytes(env->payload_type, env->nonce, env->timestamp_ms,
                                             env->signer_public_key, env->payload),
              env->signature)) {
        fuzz::fail("envelope verified without a valid signature");
      }
      if (verifier.verify_any(wire, all_types()).ok()) fuzz::fail("replay accepted");
    }
    if (env.ok() && protocol::decode_envelope(protocol::encode_envelope(*env)).value() != *env) {
      fuzz::fail("envelope re-encoding changed it");
    }
    return 0;
  }
  const auto type = static_cast<PayloadType>(1 + data[1] % kPayloadTypes);
  ByteView payload(data + 2, size - 2);
  Bytes wire = crypto::sign_envelope(fuzz::fixed_identity(), type, payload, clock);
  auto ok = verifier.verify(wire, type);
  if (!ok.ok()) fuzz::fail("freshly signed envelope did not verify");
  if (!std::equal(ok->payload.begin(), ok->payload.end(), payload.begin(), payload.end())) {
    fuzz::fail("verified payload differs from the signed one");
  }
  EnvelopeVerifier second(clock);
  open_typed(second, type, wire);  // inner decoder behind a valid signature

  // Flip one byte of the wire form.
  size_t pos = (size_t{data[0]} * 131 + size) % wire.size();
  Bytes tampered = wire;
  tampered[pos] ^= static_cast<uint8_t>(1 + (data[0] >> 1));
  EnvelopeVerifier third(clock);
  auto t = third.verify(tampered, type);
  if (t.ok() && (t->payload != ok->payload || t->nonce != ok->nonce ||
                 t->timestamp_ms != ok->timestamp_ms || t->signer != ok->signer)) {
    fuzz::fail("tampered envelope verified with different signed content");
  }
  return 0;
}
