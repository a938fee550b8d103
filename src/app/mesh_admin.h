// app/mesh_admin.h — the admin's side of mesh membership, and a node's side of joining.
//
// Usage (what `beemesh mesh ...` and `beemesh machine --join` call):
//   auto mesh = mesh_admin::init(dir, "prod", clock);            // admin.key, mesh.json
//   auto token = mesh_admin::create_join_token(dir, 1h, clock);  // for any number of nodes
//   // on the new machine:
//   auto joined = mesh_admin::join(*token, node_identity, "n2", clock);
//   mesh_admin::save_node_membership(data_dir, *joined);
//
// Promise:
//  * The admin directory holds admin.key (0600, the mesh's root of trust, never leaves it),
//    mesh.json {mesh_id, admin_public_key}, admin.credential (the admin's own user
//    credential, role admin) and revocations (the last signed RevocationList).
//    init() refuses ("exists") to overwrite a directory that already holds a mesh.
//  * A join token is "bmjoin1." + base64url(JSON): {mesh_id, admin_public_key, and either
//    ticket + ticket_seed (a join ticket: the new node signs its own node certificate with
//    the ticket key; valid for any number of nodes until the ticket expires or is
//    revoked) or credential (one node's credential, from admit_node)}. join() checks the
//    result with crypto::Membership before returning it: a token that does not make a
//    valid member is refused with that error code. Tokens are secrets: anyone holding a
//    ticket token can admit nodes until it expires.
//  * A node keeps its membership in its data dir: mesh.json and credential (0600).
//    load_node_membership() fails with "not_admitted" when either is missing.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "crypto/membership.h"

namespace beemesh::app::mesh_admin {

struct MeshInfo {
  std::string mesh_id;
  crypto::PublicKey admin{};
};

struct NodeMembership {
  MeshInfo mesh;
  Bytes credential;
};

Result<MeshInfo> init(const std::filesystem::path& dir, const std::string& mesh_id,
                      const Clock& clock);
Result<MeshInfo> load_mesh(const std::filesystem::path& dir);

Result<std::string> create_join_token(const std::filesystem::path& dir, std::chrono::seconds ttl,
                                      const Clock& clock);
// A token carrying one node's credential (for a node key the admin already knows).
Result<std::string> admit_node(const std::filesystem::path& dir, const crypto::PublicKey& node,
                               const std::string& name, std::chrono::seconds validity,
                               const Clock& clock);
// A user's credential (hex), for `beemesh login`.
Result<std::string> issue_user(const std::filesystem::path& dir, const std::string& name,
                               crypto::Role role, const crypto::PublicKey& user,
                               const std::vector<std::string>& namespaces,
                               std::chrono::seconds validity, const Clock& clock);
// Adds serials/keys to the admin's revocation list; returns the new signed list.
Result<Bytes> revoke(const std::filesystem::path& dir, const std::vector<Bytes>& serials,
                     const std::vector<crypto::PublicKey>& keys, const Clock& clock);

Result<NodeMembership> join(const std::string& token, const crypto::Identity& node,
                            const std::string& node_name, const Clock& clock);
Result<void> save_node_membership(const std::filesystem::path& data_dir,
                                  const NodeMembership& membership);
Result<NodeMembership> load_node_membership(const std::filesystem::path& data_dir);

}  // namespace beemesh::app::mesh_admin
