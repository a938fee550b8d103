// provider_node_helper — one DHT node with a provider manager in its own process, driven over
// stdin/stdout by provider_dht_test (the multi-process test).
//
//   provider_node_helper --network N --bootstrap HOST:PORT [--bootstrap ...] --manifest M
//                        --seed BYTE [--ttl S] [--endpoint E]
// Prints "ready <node_id> <port>", announces M, prints "announced" after the first put, then
// obeys stdin lines: "withdraw" (prints "withdrawn"), "quit". EOF on stdin also quits.
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "crypto/identity.h"
#include "dht/opendht_dht.h"
#include "provider/provider_manager.h"

using namespace beemesh;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  uint32_t network = 0;
  std::vector<std::string> bootstrap;
  std::string manifest = "m";
  int seed = 1;
  long ttl = 60;
  std::string endpoint = "127.0.0.1:1";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--network")
      network = static_cast<uint32_t>(std::stoul(value, nullptr, 0));
    else if (flag == "--bootstrap")
      bootstrap.push_back(value);
    else if (flag == "--manifest")
      manifest = value;
    else if (flag == "--seed")
      seed = std::stoi(value);
    else if (flag == "--ttl")
      ttl = std::stol(value);
    else if (flag == "--endpoint")
      endpoint = value;
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  auto node = dht::OpenDht::start(dht::loopback_config(network, bootstrap));
  if (!node.ok()) {
    std::cerr << node.error().to_string() << "\n";
    return 1;
  }
  crypto::Seed s{};
  s.fill(static_cast<uint8_t>(seed));
  auto identity = crypto::Identity::from_seed(s);
  provider::ProviderConfig config;
  config.early_reputs = {500ms, 1s, 2s, 4s};
  provider::ProviderManager providers(**node, identity, system_clock(), config);
  std::cout << "ready " << identity.node_id() << " " << (*node)->bound_port() << std::endl;

  std::promise<void> announced;
  providers.announce(manifest, {identity.node_id(), endpoint, "mock", {}},
                     std::chrono::seconds(ttl), [&](Result<void>) { announced.set_value(); });
  announced.get_future().wait();
  std::cout << "announced" << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "withdraw") {
      std::promise<void> done;
      providers.withdraw(manifest, [&](Result<void>) { done.set_value(); });
      done.get_future().wait();
      std::cout << "withdrawn" << std::endl;
    } else if (line == "quit") {
      break;
    }
  }
  return 0;
}
