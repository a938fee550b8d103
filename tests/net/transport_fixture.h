// tests/net/transport_fixture.h — a loop, a server with an "echo" handler on an ephemeral
// loopback port, and a client; plus byte helpers.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "net/client.h"
#include "net/event_loop.h"
#include "net/server.h"
#include "net_test_support.h"

namespace beemesh::net::testing {

inline Bytes B(std::string_view s) {
  return to_bytes(s);
}
inline std::string S(const Bytes& b) {
  return std::string(as_string(b));
}

inline Handler echo_handler() {
  return [](const PeerInfo&, Bytes request) -> asio::awaitable<Result<Bytes>> {
    co_return std::move(request);
  };
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server.handle("echo", echo_handler()).ok());
    auto port = server.listen();
    ASSERT_TRUE(port.ok()) << port.error().to_string();
    endpoint = server.endpoint();
  }

  // Declaration order is destruction order in reverse: client, server, then the loop.
  EventLoop loop;
  Server server{loop};
  Client client{loop};
  std::string endpoint;
};

}  // namespace beemesh::net::testing
