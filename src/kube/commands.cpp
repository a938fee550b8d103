#include "kube/commands.h"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include "cli/owner_auth.h"
#include "common/bytes.h"
#include "common/files.h"
#include "kube/proxy.h"
#include "kube/tls_cert.h"

#include <openssl/evp.h>

namespace beemesh::kube {

namespace {

struct Flags {
  int port = 8001;
  std::string server = "http://127.0.0.1:7480";
  std::string identity;
  std::string credential;
  std::string ca_cert;
  std::string token_file;
  std::string state_dir;
  std::string port_file;
  std::string kubeconfig_file;
};

Result<std::filesystem::path> home_dir() {
  auto key = cli::default_identity_path();
  if (!key) return key.error();
  return key->parent_path();
}

Result<std::string> load_or_create_token(const std::string& file_flag) {
  std::filesystem::path file = file_flag;
  if (file.empty()) {
    auto home = home_dir();
    if (!home) return home.error();
    file = *home / "kube-proxy.token";
  }
  auto text = read_small_file(file, 4096);
  if (text) {
    std::string t = *text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    if (t.size() >= 32) return t;
    return make_error("bad_token", file.string() + ": token shorter than 32 characters");
  }
  if (text.error().code != "not_found") return text.error();
  std::random_device rd;
  Bytes bytes(32);
  for (auto& b : bytes) b = static_cast<uint8_t>(rd());
  std::string token = to_hex(bytes);
  if (auto w = write_private_file(file, token + "\n"); !w) return w.error();
  return token;
}

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<CertificateFiles> certificate() {
  auto home = home_dir();
  if (!home) return home.error();
  return load_or_create_certificate(*home);
}

int fail(const Error& e) {
  std::cerr << "error: " << e.message << " (" << e.code << ")\n";
  return 1;
}

int run_proxy(const Flags& f) {
  auto token = load_or_create_token(f.token_file);
  if (!token) return fail(token.error());
  std::filesystem::path state = f.state_dir;
  if (state.empty()) {
    auto home = home_dir();
    if (!home) return fail(home.error());
    state = *home / "kube";
  }
  auto store = ObjectStore::open(state);
  if (!store) return fail(store.error());
  GatewayOptions g;
  g.server = f.server;
  g.identity_path = f.identity;
  g.credential_path = f.credential;
  g.ca_cert_file = f.ca_cert;
  auto gateway = MeshGateway::open(g, system_clock());
  if (!gateway) return fail(gateway.error());
  auto cert = certificate();
  if (!cert) return fail(cert.error());
  KubeApi api(**gateway, **store, system_clock());
  ProxyOptions options;
  options.tls_cert_file = cert->cert.string();
  options.tls_key_file = cert->key.string();
  options.port = static_cast<uint16_t>(f.port);
  options.token = *token;
  KubeProxy proxy(api, options);
  // Signals are taken synchronously on this thread (blocked in every thread first).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (auto s = proxy.start(); !s) return fail(s.error());
  if (!f.port_file.empty()) {
    if (auto w = write_private_file(f.port_file, std::to_string(proxy.port()) + "\n"); !w) {
      return fail(w.error());
    }
  }
  std::cerr << "kube-proxy: serving the Kubernetes API on https://127.0.0.1:" << proxy.port()
            << " for " << (*gateway)->role() << " " << (*gateway)->owner_hex().substr(0, 16)
            << "… through " << f.server << "\n";
  int sig = 0;
  sigwait(&set, &sig);
  proxy.stop();
  return 0;
}

int run_kubeconfig(const Flags& f) {
  auto token = load_or_create_token(f.token_file);
  if (!token) return fail(token.error());
  auto cert = certificate();
  if (!cert) return fail(cert.error());
  std::filesystem::path file = f.kubeconfig_file;
  if (file.empty()) {
    auto home = home_dir();
    if (!home) return fail(home.error());
    file = *home / "kubeconfig";
  }
  std::string text =
      "apiVersion: v1\nkind: Config\nclusters:\n- name: beemesh\n  cluster:\n"
      "    server: https://127.0.0.1:" +
      std::to_string(f.port) + "\n    certificate-authority-data: " + base64(cert->cert_pem) +
      "\nusers:\n- name: beemesh\n  user:\n    token: " + *token +
      "\ncontexts:\n- name: beemesh\n  context:\n    cluster: beemesh\n"
      "    user: beemesh\n    namespace: default\ncurrent-context: beemesh\n";
  if (auto w = write_private_file(file, text); !w) return fail(w.error());
  std::cout << "export KUBECONFIG=" << file.string() << "\n";
  return 0;
}

}  // namespace

std::vector<cli::ExtraCommand> kube_commands() {
  auto flags = std::make_shared<Flags>();
  cli::ExtraCommand proxy{
      "kube-proxy", "Serve the Kubernetes API (kubectl) on 127.0.0.1, signing with your key",
      [flags](CLI::App& cmd) {
        cmd.add_option("--port", flags->port, "Port on 127.0.0.1 (0: any free port)")
            ->check(CLI::Range(0, 65535))
            ->capture_default_str();
        cmd.add_option("--server", flags->server, "API of the node to talk to")
            ->envname("BEEMESH_SERVER")
            ->capture_default_str();
        cmd.add_option("--identity", flags->identity, "User key file");
        cmd.add_option("--credential-file", flags->credential, "User credential file")
            ->envname("BEEMESH_CREDENTIAL");
        cmd.add_option("--ca-cert", flags->ca_cert, "CA certificates for an https:// server")
            ->envname("BEEMESH_CA_CERT");
        cmd.add_option("--token-file", flags->token_file, "Bearer token file");
        cmd.add_option("--state-dir", flags->state_dir, "Where applied objects are kept");
        cmd.add_option("--port-file", flags->port_file, "Write the bound port here");
      },
      [flags] { return run_proxy(*flags); }};
  cli::ExtraCommand kubeconfig{
      "kubeconfig", "Write a kubeconfig for `beemesh kube-proxy`",
      [flags](CLI::App& cmd) {
        cmd.add_option("--port", flags->port, "The kube-proxy's port")
            ->check(CLI::Range(1, 65535))
            ->capture_default_str();
        cmd.add_option("--token-file", flags->token_file, "Bearer token file");
        cmd.add_option("--file", flags->kubeconfig_file, "Where to write the kubeconfig");
      },
      [flags] { return run_kubeconfig(*flags); }};
  return {proxy, kubeconfig};
}

}  // namespace beemesh::kube
