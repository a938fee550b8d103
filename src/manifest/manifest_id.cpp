// manifest/manifest_id.cpp — the stable id of a manifest:
//   hex(SHA-256(part(owner_key) || part(namespace) || part(kind) || part(name)))[0:32]
//   where part(x) = 8-byte big-endian length of x || x.
#include <sodium.h>

#include <array>

#include "common/bytes.h"
#include "manifest/manifest.h"

namespace beemesh::manifest {
namespace {

void hash_part(crypto_hash_sha256_state& state, std::string_view part) {
  std::array<unsigned char, 8> length{};
  uint64_t n = part.size();
  for (int i = 7; i >= 0; --i) {
    length[static_cast<size_t>(i)] = static_cast<unsigned char>(n & 0xff);
    n >>= 8;
  }
  crypto_hash_sha256_update(&state, length.data(), length.size());
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(part.data()),
                            part.size());
}

}  // namespace

std::string manifest_id(std::string_view owner_public_key, std::string_view namespace_,
                        std::string_view kind, std::string_view name) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  for (auto part : {owner_public_key, namespace_, kind, name}) hash_part(state, part);
  std::array<uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(&state, digest.data());
  return to_hex(digest).substr(0, 32);
}

Result<std::string> manifest_id(std::string_view owner_public_key, const Manifest& manifest) {
  const Document* primary = manifest.primary();
  if (primary == nullptr) {
    return make_error("invalid_manifest",
                      manifest.source + ": no Pod, Deployment or StatefulSet document");
  }
  return manifest_id(owner_public_key, primary->namespace_, primary->kind, primary->name);
}

}  // namespace beemesh::manifest
