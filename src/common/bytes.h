// common/bytes.h — byte buffers and hex encoding.
//
// Promise: to_hex/from_hex round-trip; from_hex rejects odd length and non-hex
// characters with an Error naming the offset.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace beemesh {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

std::string to_hex(ByteView data);
Result<Bytes> from_hex(std::string_view hex);

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes to_bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

}  // namespace beemesh
