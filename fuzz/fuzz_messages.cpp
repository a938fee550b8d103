// fuzz_messages: every message decoder on arbitrary bytes. The first byte picks the type.
// Property: decoding never crashes; a decoded message re-encodes to bytes that decode to
// the same encoding (encode . decode . encode == encode).
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "protocol/messages.h"

namespace {

using namespace beemesh;            // NOLINT
using namespace beemesh::protocol;  // NOLINT

template <typename T>
void check(ByteView bytes) {
  auto decoded = decode<T>(bytes);
  if (!decoded.ok()) {
    const auto& code = decoded.error().code;
    if (code != "malformed" && code != "oversized" && code != "unsupported_version") {
      fuzz::fail("unexpected decoder error code");
    }
    return;
  }
  Bytes once = encode(*decoded);
  auto again = decode<T>(once);
  if (!again.ok()) fuzz::fail("re-encoded message does not decode");
  if (encode(*again) != once) fuzz::fail("re-encoding is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ByteView bytes(data + 1, size - 1);
  // Selector byte = payload type - 1 (ApplyRequest = 1 .. ApiAuth = 14).
  switch (static_cast<PayloadType>(1 + data[0] % 14)) {
    case PayloadType::kApplyRequest:
      check<ApplyRequest>(bytes);
      break;
    case PayloadType::kApplyResponse:
      check<ApplyResponse>(bytes);
      break;
    case PayloadType::kDeleteRequest:
      check<DeleteRequest>(bytes);
      break;
    case PayloadType::kDeleteResponse:
      check<DeleteResponse>(bytes);
      break;
    case PayloadType::kKeyShareRequest:
      check<KeyShareRequest>(bytes);
      break;
    case PayloadType::kKeyShareResponse:
      check<KeyShareResponse>(bytes);
      break;
    case PayloadType::kStoreShareRequest:
      check<StoreShareRequest>(bytes);
      break;
    case PayloadType::kStoreShareResponse:
      check<StoreShareResponse>(bytes);
      break;
    case PayloadType::kCapacityRequest:
      check<CapacityRequest>(bytes);
      break;
    case PayloadType::kCapacityReply:
      check<CapacityReply>(bytes);
      break;
    case PayloadType::kErrorReply:
      check<ErrorReply>(bytes);
      break;
    case PayloadType::kQueryRequest:
      check<QueryRequest>(bytes);
      break;
    case PayloadType::kQueryReply:
      check<QueryReply>(bytes);
      break;
    case PayloadType::kApiAuth:
      check<ApiAuth>(bytes);
      break;
  }
  return 0;
}
