// cli/owner_auth.h — the user's identity and the owner-signed tokens the CLI sends.
//
// The user's Ed25519 identity owns what they apply: manifest ids are computed from its
// public key (hex) and the node trusts an apply or delete only with an owner signature.
//
// Promise:
//  * default_identity_path() is $BEEMESH_HOME/user.key, else $HOME/.beemesh/user.key.
//  * load_user_identity() creates the key file on first use (directories 0700, file 0600 —
//    crypto::Identity::load_or_create) and says whether it did.
//  * apply_auth(): X-Beemesh-Owner = owner public key hex; X-Beemesh-Token = hex of an
//    owner-signed Grant(kApply) for `manifest_id` naming the entry node's public key,
//    valid from now for `validity` (10 minutes by default): the owner's permission for
//    that node to place and publish the manifest.
//  * delete_auth(): X-Beemesh-Token = hex of an Envelope{DeleteRequest{manifest_id,
//    owner_public_key, workload_id = "" (all), no grant}} signed by the owner, so a node
//    checks it like any signed message (timestamp window, replay cache).
//  * manifest_id_for() is manifest::manifest_id(owner public key hex, manifest).
//  * intent_hex(): hex of the owner-signed DesiredIntent (crypto/intent.h) for what is
//    applied: content version of `yaml`, `replicas`, `pinned_node`, the namespaces of every
//    document, name "Kind/name" of the primary workload, sequence = issued_ms = now (the
//    owner's clock: a later intent has a higher sequence while that clock moves forward).
//  * tombstone_hex(): hex of the owner-signed tombstone for `manifest_id`, sequence = now,
//    expiring after `keep` (nodes republish it until then).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "api/node_service.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "manifest/manifest.h"

namespace beemesh::cli {

// Error "no_home" when neither BEEMESH_HOME nor HOME is set.
Result<std::filesystem::path> default_identity_path();

struct UserIdentity {
  crypto::Identity identity;
  bool created = false;  // the key file did not exist before this call
};
Result<UserIdentity> load_user_identity(const std::filesystem::path& key_file);

std::string public_key_hex(const crypto::Identity& identity);

Result<std::string> manifest_id_for(const crypto::Identity& owner,
                                    const manifest::Manifest& manifest);

// `entry_node_public_key_hex`: the node's key from GET /health.
// `content_hash`: crypto::apply_content_hash of what is applied (bound into the grant).
Result<api::OwnerAuth> apply_auth(const crypto::Identity& owner, const std::string& manifest_id,
                                  const std::string& entry_node_public_key_hex, const Clock& clock,
                                  ByteView content_hash = {},
                                  std::chrono::milliseconds validity = std::chrono::minutes(10));

api::OwnerAuth delete_auth(const crypto::Identity& owner, const std::string& manifest_id,
                           const Clock& clock);

std::string intent_hex(const crypto::Identity& owner, const std::string& manifest_id,
                       const manifest::Manifest& manifest, std::string_view yaml, int replicas,
                       const std::string& pinned_node, const Clock& clock);
std::string tombstone_hex(const crypto::Identity& owner, const std::string& manifest_id,
                          const Clock& clock,
                          std::chrono::milliseconds keep = std::chrono::hours(24 * 7));

}  // namespace beemesh::cli
