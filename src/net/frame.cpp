#include "net/frame.h"

#include <algorithm>
#include <cstring>

namespace beemesh::net {

namespace {

void put_u32(uint8_t* out, uint32_t v) {
  out[0] = static_cast<uint8_t>(v >> 24);
  out[1] = static_cast<uint8_t>(v >> 16);
  out[2] = static_cast<uint8_t>(v >> 8);
  out[3] = static_cast<uint8_t>(v);
}

void put_u64(uint8_t* out, uint64_t v) {
  put_u32(out, static_cast<uint32_t>(v >> 32));
  put_u32(out + 4, static_cast<uint32_t>(v));
}

uint32_t get_u32(const uint8_t* in) {
  return (uint32_t{in[0]} << 24) | (uint32_t{in[1]} << 16) | (uint32_t{in[2]} << 8) |
         uint32_t{in[3]};
}

uint64_t get_u64(const uint8_t* in) {
  return (uint64_t{get_u32(in)} << 32) | get_u32(in + 4);
}

bool is_protocol_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

}  // namespace

std::string_view to_string(FrameKind kind) {
  switch (kind) {
    case FrameKind::request:
      return "request";
    case FrameKind::response:
      return "response";
    case FrameKind::error:
      return "error";
  }
  return "unknown";
}

Result<void> validate_protocol_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxProtocolIdSize) {
    return make_error("invalid_protocol", "protocol id '" + std::string(id) + "' must have 1.." +
                                              std::to_string(kMaxProtocolIdSize) + " characters");
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (!is_protocol_char(id[i])) {
      return make_error("invalid_protocol", "protocol id '" + std::string(id) +
                                                "' has a character outside [a-z0-9._-] at offset " +
                                                std::to_string(i));
    }
  }
  return ok_result();
}

size_t encode_header(std::array<uint8_t, kMaxHeaderSize>& out, uint64_t request_id, FrameKind kind,
                     std::string_view protocol, size_t payload_size) {
  put_u32(out.data(), static_cast<uint32_t>(body_size_for(protocol, payload_size)));
  put_u64(out.data() + 4, request_id);
  out[12] = static_cast<uint8_t>(kind);
  out[13] = static_cast<uint8_t>(protocol.size());
  std::memcpy(out.data() + 14, protocol.data(), protocol.size());
  return kLengthPrefixSize + kFixedHeaderSize + protocol.size();
}

Bytes encode_frame(uint64_t request_id, FrameKind kind, std::string_view protocol,
                   ByteView payload) {
  std::array<uint8_t, kMaxHeaderSize> header{};
  size_t n = encode_header(header, request_id, kind, protocol, payload.size());
  Bytes out;
  out.reserve(n + payload.size());
  out.insert(out.end(), header.begin(), header.begin() + static_cast<std::ptrdiff_t>(n));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

uint32_t decode_length_prefix(ByteView prefix) {
  return get_u32(prefix.data());
}

Result<void> check_body_size(uint32_t body_size, size_t max_frame_size) {
  if (body_size > max_frame_size) {
    return make_error("frame_too_large", "frame body of " + std::to_string(body_size) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(max_frame_size) + " bytes");
  }
  if (body_size < kFixedHeaderSize) {
    return make_error("protocol_error", "frame body of " + std::to_string(body_size) +
                                            " bytes is shorter than its " +
                                            std::to_string(kFixedHeaderSize) + "-byte header");
  }
  return ok_result();
}

Result<FixedHeader> parse_fixed_header(ByteView fixed, uint32_t body_size) {
  FixedHeader h;
  h.request_id = get_u64(fixed.data());
  uint8_t kind = fixed[8];
  if (kind > static_cast<uint8_t>(FrameKind::error)) {
    return make_error("protocol_error", "unknown frame kind " + std::to_string(kind));
  }
  h.kind = static_cast<FrameKind>(kind);
  h.protocol_size = fixed[9];
  if (h.protocol_size == 0 || h.protocol_size > kMaxProtocolIdSize) {
    return make_error("protocol_error", "protocol id length " + std::to_string(h.protocol_size) +
                                            " not in 1.." + std::to_string(kMaxProtocolIdSize));
  }
  if (kFixedHeaderSize + h.protocol_size > body_size) {
    return make_error("protocol_error", "protocol id of " + std::to_string(h.protocol_size) +
                                            " bytes overruns a frame body of " +
                                            std::to_string(body_size) + " bytes");
  }
  return h;
}

Bytes encode_error_payload(const Error& error) {
  size_t code_size = std::min(error.code.size(), kMaxErrorCodeSize);
  size_t message_size = std::min(error.message.size(), kMaxErrorMessageSize);
  Bytes out;
  out.reserve(1 + code_size + message_size);
  out.push_back(static_cast<uint8_t>(code_size));
  out.insert(out.end(), error.code.begin(),
             error.code.begin() + static_cast<std::ptrdiff_t>(code_size));
  out.insert(out.end(), error.message.begin(),
             error.message.begin() + static_cast<std::ptrdiff_t>(message_size));
  return out;
}

Error decode_error_payload(ByteView payload) {
  if (payload.empty() || payload.size() < 1u + payload[0]) {
    return make_error("protocol_error", "error frame payload of " + std::to_string(payload.size()) +
                                            " bytes is shorter than its code");
  }
  size_t code_size = payload[0];
  Error e;
  e.code.assign(reinterpret_cast<const char*>(payload.data() + 1), code_size);
  e.message.assign(reinterpret_cast<const char*>(payload.data() + 1 + code_size),
                   payload.size() - 1 - code_size);
  return e;
}

}  // namespace beemesh::net
