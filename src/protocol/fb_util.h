// protocol/fb_util.h — private helpers shared by the encoders/decoders of this folder.
// Not part of the public API: nothing outside src/protocol includes this file.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "protocol/common_generated.h"
#include "protocol/protocol.h"

namespace beemesh::protocol::detail {

inline Error malformed(std::string_view what, std::string_view why) {
  return make_error(std::string(kErrMalformed), std::string(what) + ": " + std::string(why));
}

// Runs the size check and the FlatBuffers Verifier. `storage` receives an aligned copy of
// the input when the caller's bytes are not 8-byte aligned; the returned root points into
// either `bytes` or `storage` and lives as long as both.
template <typename T>
Result<const T*> verify_root(ByteView bytes, size_t max_size, std::string_view what,
                             Bytes& storage) {
  if (bytes.size() > max_size) {
    return make_error(std::string(kErrOversized),
                      std::string(what) + ": " + std::to_string(bytes.size()) +
                          " bytes exceeds the limit of " + std::to_string(max_size));
  }
  if (bytes.size() < sizeof(flatbuffers::uoffset_t) ||
      bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return malformed(what,
                     "too short to be a FlatBuffer (" + std::to_string(bytes.size()) + " bytes)");
  }
  const uint8_t* data = bytes.data();
  if (reinterpret_cast<uintptr_t>(data) % 8 != 0) {
    storage.assign(bytes.begin(), bytes.end());
    data = storage.data();
  }
  flatbuffers::Verifier verifier(data, bytes.size(), /*max_depth=*/16, /*max_tables=*/4096);
  if (!verifier.VerifyBuffer<T>(nullptr)) {
    return malformed(what, "FlatBuffers verification failed");
  }
  return flatbuffers::GetRoot<T>(data);
}

inline Result<void> check_version(uint16_t version, std::string_view what) {
  if (version == 0) return malformed(what, "missing schema_version");
  if (version > kSchemaVersion) {
    return make_error(std::string(kErrUnsupportedVersion),
                      std::string(what) + ": schema_version " + std::to_string(version) +
                          " is newer than supported " + std::to_string(kSchemaVersion));
  }
  return ok_result();
}

inline std::string str(const flatbuffers::String* s) {
  return s ? std::string(s->data(), s->size()) : std::string();
}

inline Bytes bytes_of(const flatbuffers::Vector<uint8_t>* v) {
  return v ? Bytes(v->begin(), v->end()) : Bytes();
}

// An optional byte field of at most `max` bytes (absent: empty).
inline Result<Bytes> bounded_bytes(const flatbuffers::Vector<uint8_t>* v, size_t max,
                                   std::string_view what, std::string_view field) {
  if (v && v->size() > max) {
    return malformed(what, std::string(field) + ": " + std::to_string(v->size()) +
                               " bytes exceeds " + std::to_string(max));
  }
  return bytes_of(v);
}

template <size_t N>
Result<std::array<uint8_t, N>> fixed(const flatbuffers::Vector<uint8_t>* v, std::string_view what,
                                     std::string_view field) {
  if (!v || v->size() != N) {
    return malformed(what, std::string(field) + ": expected " + std::to_string(N) + " bytes, got " +
                               std::to_string(v ? v->size() : 0));
  }
  std::array<uint8_t, N> out{};
  std::memcpy(out.data(), v->data(), N);
  return out;
}

inline Result<std::map<std::string, std::string>> key_values(
    const flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>* v, std::string_view what,
    std::string_view field) {
  std::map<std::string, std::string> out;
  if (!v) return out;
  for (const auto* kv : *v) {
    if (!kv) return malformed(what, std::string(field) + ": null entry");
    auto [it, inserted] = out.emplace(str(kv->key()), str(kv->value()));
    if (!inserted)
      return malformed(what, std::string(field) + ": duplicate key '" + it->first + "'");
  }
  return out;
}

inline std::vector<std::string> strings(
    const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
  std::vector<std::string> out;
  if (!v) return out;
  out.reserve(v->size());
  for (const auto* s : *v) out.push_back(str(s));
  return out;
}

inline flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>> make_key_values(
    flatbuffers::FlatBufferBuilder& fbb, const std::map<std::string, std::string>& kvs) {
  std::vector<flatbuffers::Offset<fb::KeyValue>> items;
  items.reserve(kvs.size());
  for (const auto& [k, v] : kvs) {
    items.push_back(fb::CreateKeyValue(fbb, fbb.CreateString(k), fbb.CreateString(v)));
  }
  return fbb.CreateVector(items);
}

inline flatbuffers::Offset<flatbuffers::Vector<uint8_t>> make_bytes(
    flatbuffers::FlatBufferBuilder& fbb, ByteView b) {
  return fbb.CreateVector(b.data(), b.size());
}

inline Bytes finish(flatbuffers::FlatBufferBuilder& fbb) {
  return Bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

}  // namespace beemesh::protocol::detail
