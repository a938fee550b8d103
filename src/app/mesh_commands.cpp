#include "app/mesh_commands.h"

#include <httplib.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "app/mesh_admin.h"
#include "common/clock.h"

namespace beemesh::app {

namespace {

namespace fs = std::filesystem;

struct MeshFlags {
  std::string dir;
  std::string mesh_id;
  int64_t ttl_s = 3600;
  std::string node_key;
  std::string name;
  std::string role = "deployer";
  std::string user_key;
  std::vector<std::string> namespaces;
  int64_t days = 365;
  std::vector<std::string> serials;
  std::vector<std::string> keys;
  std::string server;
  CLI::App* init = nullptr;
  CLI::App* admit = nullptr;
  CLI::App* user = nullptr;
  CLI::App* revoke = nullptr;
};

fs::path admin_dir(const MeshFlags& f) {
  if (!f.dir.empty()) return f.dir;
  if (const char* home = std::getenv("BEEMESH_HOME"); home && *home) {
    return fs::path(home) / "mesh-admin";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return fs::path(home) / ".beemesh" / "mesh-admin";
  }
  return "mesh-admin";
}

int fail(const Error& e) {
  std::cerr << "error: " << e.code << ": " << e.message << "\n";
  return 1;
}

Result<crypto::PublicKey> parse_key(const std::string& hex, std::string_view flag) {
  auto bytes = from_hex(hex);
  crypto::PublicKey key{};
  if (!bytes || bytes->size() != key.size()) {
    return make_error("bad_flag", std::string(flag) + ": expected 64 hex characters");
  }
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

int run_init(const MeshFlags& f) {
  auto mesh = mesh_admin::init(admin_dir(f), f.mesh_id, system_clock());
  if (!mesh) return fail(mesh.error());
  std::cout << "mesh " << mesh->mesh_id << " created in " << admin_dir(f).string()
            << "\nadmin public key " << to_hex(mesh->admin) << "\n";
  return 0;
}

int run_admit(const MeshFlags& f) {
  Result<std::string> token = make_error("bad_flag", "unreachable");
  if (f.node_key.empty()) {
    token =
        mesh_admin::create_join_token(admin_dir(f), std::chrono::seconds(f.ttl_s), system_clock());
  } else {
    auto key = parse_key(f.node_key, "--node-key");
    if (!key) return fail(key.error());
    token = mesh_admin::admit_node(admin_dir(f), *key, f.name.empty() ? "node" : f.name,
                                   std::chrono::hours(24 * f.days), system_clock());
  }
  if (!token) return fail(token.error());
  std::cout << *token << "\n";
  return 0;
}

int run_user(const MeshFlags& f) {
  auto role = crypto::parse_role(f.role);
  if (!role) return fail(make_error("bad_flag", "--role: admin, deployer or viewer"));
  auto key = parse_key(f.user_key, "--key");
  if (!key) return fail(key.error());
  auto credential = mesh_admin::issue_user(admin_dir(f), f.name, *role, *key, f.namespaces,
                                           std::chrono::hours(24 * f.days), system_clock());
  if (!credential) return fail(credential.error());
  std::cout << *credential << "\n";
  return 0;
}

int run_revoke(const MeshFlags& f) {
  std::vector<Bytes> serials;
  for (const auto& s : f.serials) {
    auto bytes = from_hex(s);
    if (!bytes || bytes->size() != crypto::kSerialSize) {
      return fail(make_error("bad_flag", "--serial: expected 32 hex characters"));
    }
    serials.push_back(std::move(*bytes));
  }
  std::vector<crypto::PublicKey> keys;
  for (const auto& k : f.keys) {
    auto key = parse_key(k, "--key");
    if (!key) return fail(key.error());
    keys.push_back(*key);
  }
  if (serials.empty() && keys.empty()) {
    return fail(make_error("bad_flag", "name at least one --serial or --key to revoke"));
  }
  auto list = mesh_admin::revoke(admin_dir(f), serials, keys, system_clock());
  if (!list) return fail(list.error());
  std::cout << "revocation list written (" << (serials.size() + keys.size()) << " new entries)\n";
  if (f.server.empty()) return 0;
  httplib::Client client(f.server);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  auto res = client.Post("/mesh/revocations", to_hex(*list), "text/plain");
  if (!res) return fail(make_error("unreachable", f.server + ": no answer"));
  if (res->status / 100 != 2) {
    return fail(make_error("refused", f.server + " answered " + std::to_string(res->status) + ": " +
                                          res->body.substr(0, 512)));
  }
  std::cout << "installed on " << f.server << "\n";
  return 0;
}

}  // namespace

cli::ExtraCommand mesh_command() {
  auto f = std::make_shared<MeshFlags>();
  return cli::ExtraCommand{
      "mesh", "Mesh membership: create a mesh, admit nodes and users, revoke",
      [f](CLI::App& cmd) {
        cmd.require_subcommand(1);
        cmd.add_option("--dir", f->dir, "Admin directory (admin.key, mesh.json)");
        f->init = cmd.add_subcommand("init", "Create a mesh: its admin key and mesh id");
        f->init->add_option("--mesh-id", f->mesh_id, "Name of the mesh")->required();
        f->admit = cmd.add_subcommand(
            "admit", "Print a join token for new machines (beemesh machine --join TOKEN)");
        f->admit->add_option("--ttl", f->ttl_s, "Seconds the join ticket stays valid");
        f->admit->add_option("--node-key", f->node_key,
                             "Admit one known node key instead (hex, from its node.key)");
        f->admit->add_option("--name", f->name, "Node name for --node-key");
        f->admit->add_option("--days", f->days, "Validity of a --node-key certificate");
        f->user = cmd.add_subcommand("user", "Print a user credential (beemesh login)");
        f->user->add_option("--name", f->name, "User name")->required();
        f->user->add_option("--role", f->role, "admin | deployer | viewer");
        f->user->add_option("--key", f->user_key, "User public key (beemesh whoami)")->required();
        f->user->add_option("--namespace", f->namespaces, "Namespaces (repeatable; none = all)");
        f->user->add_option("--days", f->days, "Validity in days");
        f->revoke = cmd.add_subcommand("revoke", "Revoke certificates or keys");
        f->revoke->add_option("--serial", f->serials, "Certificate serial (hex, repeatable)");
        f->revoke->add_option("--key", f->keys, "Public key (hex, repeatable)");
        f->revoke->add_option("--server", f->server, "Node API URL to install the list on");
      },
      [f]() -> int {
        if (f->init->parsed()) return run_init(*f);
        if (f->admit->parsed()) return run_admit(*f);
        if (f->user->parsed()) return run_user(*f);
        if (f->revoke->parsed()) return run_revoke(*f);
        return 2;
      }};
}

}  // namespace beemesh::app
