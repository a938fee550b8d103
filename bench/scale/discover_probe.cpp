// discover_probe — cold discovery timed at the REST API, without a CLI process per call.
//
// scripts/scale-daemons.sh times `beemesh get providers` as a user sees it; on a loaded
// machine most of that tail is starting the CLI process. This tool opens one session per node
// (GET /health, untimed), then times, per line of stdin "<api url> <manifest id>":
//   cold   GET /providers/<id>  (the node never asked for it: a DHT lookup)
//   base   GET /nodes           (the same authenticated round trip, no DHT lookup)
//   warm   GET /providers/<id>  again (cache hit)
// and prints "cold_us base_us providers_found warm_us" per line. The user key and credential
// are the CLI's (BEEMESH_HOME or ~/.beemesh: user.key, credential).
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "api/client.h"
#include "cli/credential.h"
#include "cli/owner_auth.h"
#include "common/clock.h"

namespace {

using namespace beemesh;
using Steady = std::chrono::steady_clock;

long long us_since(Steady::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - t0).count();
}

}  // namespace

int main() {
  auto key_path = cli::default_identity_path();
  auto cred_path = cli::default_credential_path();
  if (!key_path || !cred_path) {
    std::cerr << "discover_probe: no BEEMESH_HOME or HOME\n";
    return 2;
  }
  auto user = cli::load_user_identity(*key_path);
  auto credential = cli::read_credential_file(*cred_path);
  if (!user || !credential) {
    std::cerr << "discover_probe: "
              << (!user ? user.error().to_string() : credential.error().to_string()) << "\n";
    return 2;
  }
  user->identity.set_credential(credential->bytes);
  const Clock& clock = system_clock();
  std::map<std::string, std::unique_ptr<api::ApiClient>> sessions;  // api url -> signed client
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string url, manifest;
    if (!(in >> url >> manifest)) continue;
    auto& client = sessions[url];
    if (!client) {
      client = std::make_unique<api::ApiClient>(url, api::ClientOptions{});
      auto health = client->health();
      if (!health) {
        std::cout << "-1 -1 err -1 " << health.error().to_string() << "\n";
        client.reset();
        continue;
      }
      client->set_signer(
          cli::request_signer(user->identity, credential->hex, health->public_key_hex, clock));
    }
    auto t0 = Steady::now();
    auto cold = client->providers(manifest);
    const auto cold_us = us_since(t0);
    t0 = Steady::now();
    auto base = client->nodes();
    const auto base_us = us_since(t0);
    t0 = Steady::now();
    auto warm = client->providers(manifest);
    const auto warm_us = us_since(t0);
    std::cout << cold_us << " " << (base ? base_us : -1) << " "
              << (cold ? std::to_string(cold->size()) : "err") << " " << (warm ? warm_us : -1)
              << "\n"
              << std::flush;
  }
  return 0;
}
