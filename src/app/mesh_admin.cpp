#include "app/mesh_admin.h"

#include <sodium.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "common/files.h"

namespace beemesh::app::mesh_admin {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kTokenPrefix = "bmjoin1.";
constexpr size_t kMaxTokenSize = 16 * 1024;
constexpr size_t kMaxSmallFile = 64 * 1024;
constexpr auto kNodeValidity = std::chrono::hours(24 * 365);

Result<crypto::PublicKey> key_from_hex(std::string_view hex, std::string_view what) {
  auto bytes = from_hex(hex);
  crypto::PublicKey key{};
  if (!bytes || bytes->size() != key.size()) {
    return make_error("bad_key", std::string(what) + ": expected 64 hex characters");
  }
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

std::string base64url(std::string_view data) {
  std::string out(sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()),
                    data.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<std::string> unbase64url(std::string_view text) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return make_error("bad_token", "join token is not base64url");
  }
  out.resize(len);
  return out;
}

json mesh_json(const MeshInfo& mesh) {
  return {{"mesh_id", mesh.mesh_id}, {"admin_public_key", to_hex(mesh.admin)}};
}

Result<MeshInfo> mesh_from_json(const json& j, std::string_view where) {
  if (!j.is_object() || !j.contains("mesh_id") || !j["mesh_id"].is_string() ||
      !j.contains("admin_public_key") || !j["admin_public_key"].is_string()) {
    return make_error("bad_mesh_file",
                      std::string(where) + ": expected {mesh_id, admin_public_key}");
  }
  MeshInfo mesh;
  mesh.mesh_id = j["mesh_id"].get<std::string>();
  auto key = key_from_hex(j["admin_public_key"].get<std::string>(), where);
  if (!key) return key.error();
  mesh.admin = *key;
  return mesh;
}

Result<MeshInfo> read_mesh_file(const fs::path& file) {
  auto text = read_small_file(file, kMaxSmallFile);
  if (!text) return text.error();
  auto j = json::parse(*text, nullptr, false);
  return mesh_from_json(j, file.string());
}

struct Admin {
  MeshInfo mesh;
  crypto::Identity key;
};

Result<Admin> load_admin(const fs::path& dir) {
  auto mesh = read_mesh_file(dir / "mesh.json");
  if (!mesh) return mesh.error();
  if (!fs::exists(dir / "admin.key")) {
    return make_error("not_found", (dir / "admin.key").string() + ": no admin key here");
  }
  auto key = crypto::Identity::load_or_create(dir / "admin.key");
  if (!key) return key.error();
  if (key->public_key() != mesh->admin) {
    return make_error("bad_mesh_file",
                      (dir / "admin.key").string() + " does not match the admin key in mesh.json");
  }
  return Admin{*mesh, std::move(*key)};
}

Result<void> check_member(const MeshInfo& mesh, const Bytes& credential,
                          const crypto::PublicKey& subject, const Clock& clock) {
  crypto::Membership membership(mesh.admin, mesh.mesh_id, clock);
  auto member = membership.verify(credential, subject);
  if (!member) return member.error();
  return {};
}

}  // namespace

Result<MeshInfo> init(const fs::path& dir, const std::string& mesh_id, const Clock& clock) {
  if (mesh_id.empty() || mesh_id.size() > 64) {
    return make_error("bad_mesh_id", "mesh id must be 1 to 64 characters");
  }
  if (fs::exists(dir / "mesh.json") || fs::exists(dir / "admin.key")) {
    return make_error("exists", dir.string() + " already holds a mesh (mesh.json or admin.key)");
  }
  auto key = crypto::Identity::load_or_create(dir / "admin.key");
  if (!key) return key.error();
  MeshInfo mesh{mesh_id, key->public_key()};
  BEEMESH_TRY(write_private_file(dir / "mesh.json", mesh_json(mesh).dump(2) + "\n"));
  auto now = clock.now_ms();
  auto cert = crypto::issue_certificate(
      *key, {.kind = crypto::CertKind::kUser,
             .subject = key->public_key(),
             .name = "admin",
             .role = crypto::Role::kAdmin,
             .mesh_id = mesh_id,
             .issued_ms = now,
             .expires_ms = now + std::chrono::milliseconds(kNodeValidity).count()});
  BEEMESH_TRY(write_private_file(dir / "admin.credential", to_hex(crypto::make_credential(cert))));
  return mesh;
}

Result<MeshInfo> load_mesh(const fs::path& dir) {
  return read_mesh_file(dir / "mesh.json");
}

Result<std::string> create_join_token(const fs::path& dir, std::chrono::seconds ttl,
                                      const Clock& clock) {
  auto admin = load_admin(dir);
  if (!admin) return admin.error();
  crypto::Seed seed{};
  randombytes_buf(seed.data(), seed.size());
  auto ticket_key = crypto::Identity::from_seed(seed);
  auto now = clock.now_ms();
  auto ticket = crypto::issue_certificate(
      admin->key, {.kind = crypto::CertKind::kJoinTicket,
                   .subject = ticket_key.public_key(),
                   .name = "join-ticket",
                   .mesh_id = admin->mesh.mesh_id,
                   .issued_ms = now,
                   .expires_ms = now + std::chrono::milliseconds(ttl).count()});
  json j = mesh_json(admin->mesh);
  j["ticket"] = to_hex(ticket);
  j["ticket_seed"] = to_hex(seed);
  sodium_memzero(seed.data(), seed.size());
  return std::string(kTokenPrefix) + base64url(j.dump());
}

Result<std::string> admit_node(const fs::path& dir, const crypto::PublicKey& node,
                               const std::string& name, std::chrono::seconds validity,
                               const Clock& clock) {
  auto admin = load_admin(dir);
  if (!admin) return admin.error();
  auto now = clock.now_ms();
  auto cert = crypto::issue_certificate(
      admin->key, {.kind = crypto::CertKind::kNode,
                   .subject = node,
                   .name = name,
                   .mesh_id = admin->mesh.mesh_id,
                   .issued_ms = now,
                   .expires_ms = now + std::chrono::milliseconds(validity).count()});
  json j = mesh_json(admin->mesh);
  j["credential"] = to_hex(crypto::make_credential(cert));
  return std::string(kTokenPrefix) + base64url(j.dump());
}

Result<std::string> issue_user(const fs::path& dir, const std::string& name, crypto::Role role,
                               const crypto::PublicKey& user,
                               const std::vector<std::string>& namespaces,
                               std::chrono::seconds validity, const Clock& clock) {
  if (role == crypto::Role::kNone) return make_error("bad_role", "a user needs a role");
  auto admin = load_admin(dir);
  if (!admin) return admin.error();
  auto now = clock.now_ms();
  auto cert = crypto::issue_certificate(
      admin->key, {.kind = crypto::CertKind::kUser,
                   .subject = user,
                   .name = name,
                   .role = role,
                   .namespaces = namespaces,
                   .mesh_id = admin->mesh.mesh_id,
                   .issued_ms = now,
                   .expires_ms = now + std::chrono::milliseconds(validity).count()});
  auto credential = crypto::make_credential(cert);
  BEEMESH_TRY(check_member(admin->mesh, credential, user, clock));
  return to_hex(credential);
}

Result<Bytes> revoke(const fs::path& dir, const std::vector<Bytes>& serials,
                     const std::vector<crypto::PublicKey>& keys, const Clock& clock) {
  auto admin = load_admin(dir);
  if (!admin) return admin.error();
  crypto::RevocationList list;
  list.mesh_id = admin->mesh.mesh_id;
  auto previous = read_small_file(dir / "revocations", 4 * 1024 * 1024);
  if (previous) {
    auto bytes = from_hex(*previous);
    if (!bytes) return make_error("bad_mesh_file", (dir / "revocations").string() + ": not hex");
    auto opened = crypto::open_revocations(*bytes, admin->mesh.admin);
    if (!opened) return opened.error();
    list = std::move(*opened);
  } else if (previous.error().code != "not_found") {
    return previous.error();
  }
  list.sequence += 1;
  list.issued_ms = clock.now_ms();
  list.serials.insert(list.serials.end(), serials.begin(), serials.end());
  list.subject_keys.insert(list.subject_keys.end(), keys.begin(), keys.end());
  if (list.serials.size() + list.subject_keys.size() > crypto::kMaxRevocations) {
    return make_error(
        "too_many_revocations",
        "a revocation list holds at most " + std::to_string(crypto::kMaxRevocations) + " entries");
  }
  auto signed_list = crypto::sign_revocations(admin->key, list);
  BEEMESH_TRY(write_private_file(dir / "revocations", to_hex(signed_list)));
  return signed_list;
}

Result<NodeMembership> join(const std::string& token, const crypto::Identity& node,
                            const std::string& node_name, const Clock& clock) {
  if (token.size() > kMaxTokenSize || token.rfind(kTokenPrefix, 0) != 0) {
    return make_error("bad_token", "a join token starts with \"bmjoin1.\"");
  }
  auto decoded = unbase64url(std::string_view(token).substr(kTokenPrefix.size()));
  if (!decoded) return decoded.error();
  auto j = json::parse(*decoded, nullptr, false);
  auto mesh = mesh_from_json(j, "join token");
  if (!mesh) return mesh.error();
  NodeMembership out{*mesh, {}};
  auto field = [&](const char* name) -> Result<Bytes> {
    if (!j.contains(name) || !j[name].is_string()) {
      return make_error("bad_token", std::string("join token: missing ") + name);
    }
    auto bytes = from_hex(j[name].get<std::string>());
    if (!bytes) return make_error("bad_token", std::string("join token: ") + name + " not hex");
    return *bytes;
  };
  if (j.contains("credential")) {
    auto credential = field("credential");
    if (!credential) return credential.error();
    out.credential = std::move(*credential);
  } else {
    auto ticket = field("ticket");
    if (!ticket) return ticket.error();
    auto seed_bytes = field("ticket_seed");
    if (!seed_bytes) return seed_bytes.error();
    crypto::Seed seed{};
    if (seed_bytes->size() != seed.size()) {
      return make_error("bad_token", "join token: ticket_seed must be 32 bytes");
    }
    std::copy(seed_bytes->begin(), seed_bytes->end(), seed.begin());
    sodium_memzero(seed_bytes->data(), seed_bytes->size());
    auto ticket_key = crypto::Identity::from_seed(seed);
    sodium_memzero(seed.data(), seed.size());
    auto now = clock.now_ms();
    auto cert = crypto::issue_certificate(
        ticket_key, {.kind = crypto::CertKind::kNode,
                     .subject = node.public_key(),
                     .name = node_name,
                     .mesh_id = mesh->mesh_id,
                     .issued_ms = now,
                     .expires_ms = now + std::chrono::milliseconds(kNodeValidity).count()});
    out.credential = crypto::make_credential(cert, *ticket);
  }
  BEEMESH_TRY(check_member(out.mesh, out.credential, node.public_key(), clock));
  return out;
}

Result<void> save_node_membership(const fs::path& data_dir, const NodeMembership& membership) {
  BEEMESH_TRY(
      write_private_file(data_dir / "mesh.json", mesh_json(membership.mesh).dump(2) + "\n"));
  return write_private_file(data_dir / "credential", to_hex(membership.credential));
}

Result<NodeMembership> load_node_membership(const fs::path& data_dir) {
  if (!fs::exists(data_dir / "mesh.json") || !fs::exists(data_dir / "credential")) {
    return make_error("not_admitted",
                      data_dir.string() +
                          " holds no mesh membership (mesh.json + credential): start the node "
                          "once with --join TOKEN (from `beemesh mesh admit` on the admin's "
                          "machine)");
  }
  auto mesh = read_mesh_file(data_dir / "mesh.json");
  if (!mesh) return mesh.error();
  auto text = read_small_file(data_dir / "credential", 2 * crypto::kMaxCredentialSize + 2);
  if (!text) return text.error();
  auto credential = from_hex(*text);
  if (!credential) {
    return make_error("bad_credential", (data_dir / "credential").string() + ": not hex");
  }
  return NodeMembership{*mesh, std::move(*credential)};
}

}  // namespace beemesh::app::mesh_admin
