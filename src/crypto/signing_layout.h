// crypto/signing_layout.h — private: big-endian appenders used to build the exact byte
// strings that signatures and associated data cover (docs/notes/crypto.md).
#pragma once

#include <cstdint>

#include "common/bytes.h"

namespace beemesh::crypto::detail {

inline void append(Bytes& out, ByteView data) {
  out.insert(out.end(), data.begin(), data.end());
}
inline void append_u8(Bytes& out, uint8_t v) {
  out.push_back(v);
}
inline void append_u16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
inline void append_u32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}
inline void append_u64(Bytes& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}
// Length-prefixed (u32 BE) field: unambiguous concatenation of variable-length parts.
inline void append_lp(Bytes& out, ByteView data) {
  append_u32(out, static_cast<uint32_t>(data.size()));
  append(out, data);
}

}  // namespace beemesh::crypto::detail
