// libFuzzer target: check_datagram() (dht/datagram_guard.h), run on every UDP datagram a DHT
// node receives before OpenDHT parses it. Asserts that a datagram it passes really has the
// shape OpenDHT relies on: one map, an error code when "e" is there, a map for the body it
// walks, and a non-empty field list in every "fileds".
#include <msgpack.hpp>

#include <cstdint>
#include <string_view>

#include "dht/datagram_guard.h"
#include "fuzz_util.h"

using namespace beemesh;

namespace {

const msgpack::object* last(const msgpack::object& map, std::string_view key) {
  const msgpack::object* found = nullptr;
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR &&
        std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key) {
      found = &kv.val;
    }
  }
  return found;
}

void check_passed(const uint8_t* data, size_t size) {
  msgpack::object_handle handle;
  try {
    handle = msgpack::unpack(reinterpret_cast<const char*>(data), size);
  } catch (const std::exception&) {
    fuzz::fail("passed bytes that are not msgpack");
  }
  const auto& msg = handle.get();
  if (msg.type != msgpack::type::MAP) fuzz::fail("passed a message that is not a map");
  const auto* e = last(msg, "e");
  if (e && (e->type != msgpack::type::ARRAY || e->via.array.size == 0)) {
    fuzz::fail("passed an error without a code");
  }
  const auto* a = last(msg, "a");
  const auto* r = last(msg, "r");
  const auto* u = last(msg, "u");
  if (!e && !r && last(msg, "p")) return;  // partial value data
  const auto* body = a ? a : r ? r : u ? u : e;
  if (!body || body->type != msgpack::type::MAP) fuzz::fail("passed a body that is not a map");
  for (uint32_t i = 0; i < body->via.map.size; ++i) {
    const auto& kv = body->via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR ||
        std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) != "fileds") {
      continue;
    }
    if (kv.val.type != msgpack::type::MAP) fuzz::fail("passed fields that are not a map");
    const auto* f = last(kv.val, "f");
    if (f && (f->type != msgpack::type::ARRAY || f->via.array.size == 0)) {
      fuzz::fail("passed an empty field selection");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (dht::check_datagram(data, size) == dht::DatagramVerdict::ok) check_passed(data, size);
  return 0;
}
