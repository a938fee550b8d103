// Runs run_cli in-process against a real ApiServer (fake NodeService) on 127.0.0.1, with
// a private temporary directory ($BEEMESH_HOME) for the user identity, its credential and
// manifest files. The server checks every request's signature (FakeAuthenticator with
// check_signatures): the user holds a real admin-signed deployer credential.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "api/fake_authenticator.h"
#include "api/fake_node_service.h"
#include "api/server.h"
#include "cli/cli.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/identity.h"
#include "crypto/membership.h"

namespace beemesh::cli::testing {

inline constexpr std::string_view kWebYaml = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: localhost/busybox:latest
          command: ["httpd", "-f", "-p", "8080"]
)";

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "beemesh-cli-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// An admin-signed user credential (hex) for `user`.
inline std::string issue_user_credential(const crypto::Identity& admin,
                                         const crypto::PublicKey& user, crypto::Role role,
                                         const std::string& name, int64_t now_ms) {
  crypto::CertificateBody body;
  body.kind = crypto::CertKind::kUser;
  body.subject = user;
  body.name = name;
  body.role = role;
  body.mesh_id = "test-mesh";
  body.issued_ms = now_ms;
  body.expires_ms = now_ms + 86'400'000;
  return to_hex(crypto::make_credential(crypto::issue_certificate(admin, std::move(body))));
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home = dir.path() / "home";
    if (const char* old = std::getenv("BEEMESH_HOME")) saved_home = old;
    setenv("BEEMESH_HOME", home.c_str(), 1);
    node_identity = std::make_unique<crypto::Identity>(crypto::Identity::generate());
    service.self_info.public_key_hex = to_hex(node_identity->public_key());
    authenticator.callers.clear();
    authenticator.check_signatures(node_identity->public_key(), clock);
    auto started = server.start();
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    url = server.url();
    key_file = home / "user.key";
    credential_file = home / "credential";
    auto user = crypto::Identity::load_or_create(key_file);
    ASSERT_TRUE(user.ok()) << user.error().to_string();
    user_key_hex = to_hex(user->public_key());
    login_as(crypto::Role::kDeployer, "dave");
  }

  void TearDown() override {
    if (saved_home) {
      setenv("BEEMESH_HOME", saved_home->c_str(), 1);
    } else {
      unsetenv("BEEMESH_HOME");
    }
  }

  // Writes a credential with `role` for the user key to the default credential file and
  // lets the server know it. Returns its hex.
  std::string login_as(crypto::Role role, const std::string& name) {
    std::string hex = credential_for(role, name);
    write_file_at(credential_file, hex + "\n");
    return hex;
  }

  // A credential for the user key that the server accepts (not stored anywhere).
  std::string credential_for(crypto::Role role, const std::string& name) {
    auto key = from_hex(user_key_hex);
    crypto::PublicKey user{};
    std::copy(key->begin(), key->end(), user.begin());
    std::string hex = issue_user_credential(admin, user, role, name, clock.now_ms());
    authenticator.callers[hex] = api::testing::make_caller(role, name, user_key_hex);
    return hex;
  }

  void write_file_at(const std::filesystem::path& path, std::string_view content) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << content;
  }

  // beemesh --server URL --identity KEY ARGS...
  CliRun run(std::vector<std::string> args, bool with_defaults = true) {
    std::vector<std::string> all{"beemesh"};
    if (with_defaults) {
      all.insert(all.end(), {"--server", url, "--identity", key_file.string()});
    }
    all.insert(all.end(), args.begin(), args.end());
    return run_raw(all);
  }

  CliRun run_raw(const std::vector<std::string>& all, const std::vector<ExtraCommand>& extra = {}) {
    std::vector<const char*> argv;
    for (const auto& a : all) argv.push_back(a.c_str());
    std::ostringstream out;
    std::ostringstream err;
    CliRun r;
    r.code = run_cli(static_cast<int>(argv.size()), argv.data(), CliIo{out, err, clock}, extra);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  std::string write_file(const std::string& name, std::string_view content) {
    auto path = dir.path() / name;
    std::ofstream(path) << content;
    return path.string();
  }

  // The owner key the CLI uses (loads the key file it created).
  std::string owner_hex() {
    auto id = crypto::Identity::load_or_create(key_file);
    return id ? to_hex(id->public_key()) : "";
  }

  TempDir dir;
  std::filesystem::path home;
  std::optional<std::string> saved_home;
  ManualClock clock{1'700'000'000'000};
  crypto::Identity admin = crypto::Identity::generate();
  api::testing::FakeNodeService service;
  api::testing::FakeAuthenticator authenticator;
  std::unique_ptr<crypto::Identity> node_identity;
  api::ApiServer server{service, authenticator, api::ApiConfig{.port = 0}};
  std::string url;
  std::filesystem::path key_file;
  std::filesystem::path credential_file;
  std::string user_key_hex;
};

// A port nothing listens on (a server bound it, then went away).
inline std::string closed_server_url() {
  api::testing::FakeNodeService service;
  api::testing::FakeAuthenticator authenticator;
  api::ApiServer server(service, authenticator, api::ApiConfig{.port = 0});
  if (!server.start()) return "http://127.0.0.1:1";
  return server.url();
}

}  // namespace beemesh::cli::testing
