// net/frame.h — the wire format of one frame on a beemesh node-to-node TCP connection.
//
// Promise: a frame is
//   u32 BE body length | u64 BE request id | u8 kind | u8 protocol length | protocol | payload
// where the body length counts every byte after the length prefix. encode_header writes
// exactly that; check_body_size and parse_fixed_header reject a frame before anything the
// peer claims is allocated (a body longer than the configured maximum, a body too short for
// its own header, an unknown kind, a malformed protocol id). Error frames carry
// u8 code length | code | message as payload. See docs/notes/net.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace beemesh::net {

inline constexpr size_t kLengthPrefixSize = 4;
inline constexpr size_t kFixedHeaderSize = 10;  // request id (8) + kind (1) + protocol length (1)
inline constexpr size_t kMaxProtocolIdSize = 32;
inline constexpr size_t kMaxHeaderSize = kLengthPrefixSize + kFixedHeaderSize + kMaxProtocolIdSize;
inline constexpr size_t kDefaultMaxFrameSize = 4 * 1024 * 1024;  // body bytes, header included
inline constexpr size_t kMaxErrorCodeSize = 255;
inline constexpr size_t kMaxErrorMessageSize = 16 * 1024;

enum class FrameKind : uint8_t { request = 0, response = 1, error = 2 };

std::string_view to_string(FrameKind kind);

// One decoded frame.
struct Frame {
  uint64_t request_id = 0;
  FrameKind kind = FrameKind::request;
  std::string protocol;
  Bytes payload;
};

// The fixed part of a frame body (what follows the length prefix, before the protocol id).
struct FixedHeader {
  uint64_t request_id = 0;
  FrameKind kind = FrameKind::request;
  uint8_t protocol_size = 0;
};

// A protocol id is 1..32 characters of [a-z0-9._-]. Error code "invalid_protocol".
Result<void> validate_protocol_id(std::string_view id);

// Body size of a frame carrying `payload_size` bytes for `protocol`.
inline size_t body_size_for(std::string_view protocol, size_t payload_size) {
  return kFixedHeaderSize + protocol.size() + payload_size;
}

// Writes the length prefix and header of a frame into `out` and returns how many bytes it
// used. The caller has validated the protocol id and that the body fits in a u32.
size_t encode_header(std::array<uint8_t, kMaxHeaderSize>& out, uint64_t request_id, FrameKind kind,
                     std::string_view protocol, size_t payload_size);

// A whole frame as one buffer (raw clients, tests).
Bytes encode_frame(uint64_t request_id, FrameKind kind, std::string_view protocol,
                   ByteView payload);

// Reads the big-endian body length from the first 4 bytes of `prefix`.
uint32_t decode_length_prefix(ByteView prefix);

// Accepts a claimed body size only if it can hold a header and is within `max_frame_size`.
// Codes: "frame_too_large", "protocol_error".
Result<void> check_body_size(uint32_t body_size, size_t max_frame_size);

// Parses the 10 fixed header bytes of a body of `body_size` bytes. Code "protocol_error".
Result<FixedHeader> parse_fixed_header(ByteView fixed, uint32_t body_size);

// Error frame payloads. The code is cut to 255 bytes, the message to 16 KiB. Decoding a
// malformed payload yields a "protocol_error" Error describing it.
Bytes encode_error_payload(const Error& error);
Error decode_error_payload(ByteView payload);

}  // namespace beemesh::net
