// Runs run_cli in-process against a real ApiServer (fake NodeService) on 127.0.0.1, with
// a private temporary directory for the user identity and manifest files.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "api/fake_node_service.h"
#include "api/server.h"
#include "cli/cli.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/identity.h"

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

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_identity = std::make_unique<crypto::Identity>(crypto::Identity::generate());
    service.self_info.public_key_hex = to_hex(node_identity->public_key());
    auto started = server.start();
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    url = server.url();
    key_file = dir.path() / "home" / "user.key";
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
  ManualClock clock{1'700'000'000'000};
  api::testing::FakeNodeService service;
  std::unique_ptr<crypto::Identity> node_identity;
  api::ApiServer server{service, api::ApiConfig{.port = 0}};
  std::string url;
  std::filesystem::path key_file;
};

// A port nothing listens on (a server bound it, then went away).
inline std::string closed_server_url() {
  api::testing::FakeNodeService service;
  api::ApiServer server(service, api::ApiConfig{.port = 0});
  if (!server.start()) return "http://127.0.0.1:1";
  return server.url();
}

}  // namespace beemesh::cli::testing
