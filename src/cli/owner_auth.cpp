#include "cli/owner_auth.h"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>
#include <system_error>

#include "common/bytes.h"
#include "crypto/envelope.h"
#include "crypto/grants.h"
#include "crypto/intent.h"
#include "protocol/messages.h"

namespace beemesh::cli {

namespace {

std::string random_request_id() {
  std::random_device rd;
  Bytes bytes(8);
  for (auto& b : bytes) b = static_cast<uint8_t>(rd());
  return to_hex(bytes);
}

}  // namespace

Result<std::filesystem::path> default_identity_path() {
  if (const char* home = std::getenv("BEEMESH_HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / "user.key";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".beemesh" / "user.key";
  }
  return make_error("no_home", "neither BEEMESH_HOME nor HOME is set; pass --identity PATH");
}

Result<UserIdentity> load_user_identity(const std::filesystem::path& key_file) {
  std::error_code ec;
  bool existed = std::filesystem::exists(key_file, ec);
  auto identity = crypto::Identity::load_or_create(key_file);
  if (!identity) return identity.error();
  return UserIdentity{std::move(*identity), !existed};
}

std::string public_key_hex(const crypto::Identity& identity) {
  return to_hex(identity.public_key());
}

Result<std::string> manifest_id_for(const crypto::Identity& owner,
                                    const manifest::Manifest& manifest) {
  return manifest::manifest_id(public_key_hex(owner), manifest);
}

Result<api::OwnerAuth> apply_auth(const crypto::Identity& owner, const std::string& manifest_id,
                                  const std::string& entry_node_public_key_hex, const Clock& clock,
                                  ByteView content_hash, std::chrono::milliseconds validity) {
  auto key = from_hex(entry_node_public_key_hex);
  if (!key || key->size() != crypto::PublicKey{}.size()) {
    return make_error("bad_response", "the entry node reported no valid public key ('" +
                                          entry_node_public_key_hex + "')");
  }
  crypto::PublicKey entry{};
  std::copy(key->begin(), key->end(), entry.begin());
  const int64_t now = clock.now_ms();
  Bytes grant = crypto::issue_grant(owner, crypto::GrantAction::kApply, manifest_id, entry, now,
                                    now + validity.count(), content_hash);
  return api::OwnerAuth{public_key_hex(owner), to_hex(grant)};
}

api::OwnerAuth delete_auth(const crypto::Identity& owner, const std::string& manifest_id,
                           const Clock& clock) {
  protocol::DeleteRequest request;
  request.request_id = random_request_id();
  request.manifest_id = manifest_id;
  request.owner_public_key = owner.public_key();
  Bytes envelope = crypto::sign_message(owner, request, clock);
  return api::OwnerAuth{public_key_hex(owner), to_hex(envelope)};
}

std::string intent_hex(const crypto::Identity& owner, const std::string& manifest_id,
                       const manifest::Manifest& manifest, std::string_view yaml, int replicas,
                       const std::string& pinned_node, const Clock& clock) {
  const int64_t now = clock.now_ms();
  protocol::DesiredIntent intent;
  intent.manifest_id = manifest_id;
  intent.owner_public_key = owner.public_key();
  std::set<std::string> namespaces;
  for (const auto& doc : manifest.documents) namespaces.insert(doc.namespace_);
  intent.namespaces.assign(namespaces.begin(), namespaces.end());
  if (const auto* primary = manifest.primary()) intent.name = primary->kind + "/" + primary->name;
  intent.content_version = crypto::content_version(yaml);
  intent.sequence = static_cast<uint64_t>(now);
  intent.replicas = static_cast<uint32_t>(std::max(0, replicas));
  intent.pinned_node = pinned_node;
  intent.issued_ms = now;
  return to_hex(crypto::sign_intent(owner, intent));
}

std::string tombstone_hex(const crypto::Identity& owner, const std::string& manifest_id,
                          const Clock& clock, std::chrono::milliseconds keep) {
  const int64_t now = clock.now_ms();
  protocol::DesiredIntent tombstone;
  tombstone.tombstone = true;
  tombstone.manifest_id = manifest_id;
  tombstone.owner_public_key = owner.public_key();
  tombstone.sequence = static_cast<uint64_t>(now);
  tombstone.issued_ms = now;
  tombstone.expires_ms = now + keep.count();
  return to_hex(crypto::sign_intent(owner, tombstone));
}

}  // namespace beemesh::cli
