#include "dht/datagram_guard.h"

#include <msgpack.hpp>

#include <exception>

namespace beemesh::dht {

namespace {

bool is_key(const msgpack::object& key, std::string_view name) {
  return key.type == msgpack::type::STR &&
         std::string_view(key.via.str.ptr, key.via.str.size) == name;
}

// OpenDHT's "fileds": a map whose every "f" is a non-empty array (the fields answered).
bool fields_have_a_selection(const msgpack::object& fields) {
  if (fields.type != msgpack::type::MAP) return false;
  for (uint32_t i = 0; i < fields.via.map.size; ++i) {
    const auto& kv = fields.via.map.ptr[i];
    if (is_key(kv.key, "f") &&
        (kv.val.type != msgpack::type::ARRAY || kv.val.via.array.size == 0)) {
      return false;
    }
  }
  return true;
}

DatagramVerdict check_message(const msgpack::object& msg) {
  if (msg.type != msgpack::type::MAP) return DatagramVerdict::not_a_map;
  // The top-level keys OpenDHT looks at; like OpenDHT, the last of equal keys counts. "p" is
  // partial value data (a large answer's values, in pieces); "v" is the user agent.
  const msgpack::object *a = nullptr, *r = nullptr, *u = nullptr, *e = nullptr, *p = nullptr;
  for (uint32_t i = 0; i < msg.via.map.size; ++i) {
    const auto& kv = msg.via.map.ptr[i];
    if (is_key(kv.key, "a")) a = &kv.val;
    if (is_key(kv.key, "r")) r = &kv.val;
    if (is_key(kv.key, "u")) u = &kv.val;
    if (is_key(kv.key, "e")) e = &kv.val;
    if (is_key(kv.key, "p")) p = &kv.val;
  }
  if (e && (e->type != msgpack::type::ARRAY || e->via.array.size == 0)) {
    return DatagramVerdict::error_without_code;
  }
  if (!e && !r && p) return DatagramVerdict::ok;  // partial value data: no body is read
  const msgpack::object* body = a ? a : r ? r : u ? u : e;
  if (!body) return DatagramVerdict::no_body;
  if (body->type != msgpack::type::MAP) return DatagramVerdict::body_not_a_map;
  for (uint32_t i = 0; i < body->via.map.size; ++i) {
    const auto& kv = body->via.map.ptr[i];
    if (is_key(kv.key, "fileds") && !fields_have_a_selection(kv.val)) {
      return DatagramVerdict::empty_field_selection;
    }
  }
  return DatagramVerdict::ok;
}

}  // namespace

DatagramVerdict check_datagram(const uint8_t* data, size_t size) {
  // No container can hold more elements than the datagram has bytes: a header that claims
  // more is refused before anything is allocated for it.
  const auto n = static_cast<std::size_t>(size);
  const msgpack::unpack_limit limit(n, n / 2, n, n, n, kMaxDatagramDepth);
  try {
    std::size_t offset = 0;
    auto handle =
        msgpack::unpack(reinterpret_cast<const char*>(data), n, offset, nullptr, nullptr, limit);
    if (offset != n) return DatagramVerdict::not_msgpack;
    return check_message(handle.get());
  } catch (const msgpack::depth_size_overflow&) {
    return DatagramVerdict::too_deep;
  } catch (const std::exception&) {
    return DatagramVerdict::not_msgpack;
  }
}

std::string_view verdict_name(DatagramVerdict v) {
  switch (v) {
    case DatagramVerdict::ok:
      return "ok";
    case DatagramVerdict::not_msgpack:
      return "not_msgpack";
    case DatagramVerdict::too_deep:
      return "too_deep";
    case DatagramVerdict::not_a_map:
      return "not_a_map";
    case DatagramVerdict::no_body:
      return "no_body";
    case DatagramVerdict::body_not_a_map:
      return "body_not_a_map";
    case DatagramVerdict::error_without_code:
      return "error_without_code";
    case DatagramVerdict::empty_field_selection:
      return "empty_field_selection";
  }
  return "unknown";
}

}  // namespace beemesh::dht
