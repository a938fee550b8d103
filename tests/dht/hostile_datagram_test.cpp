// Hostile UDP datagrams at real OpenDHT nodes (label dht): what anyone who can reach a DHT
// port can send, and that the nodes keep serving the mesh afterwards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <msgpack.hpp>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dht/loopback_mesh.h"

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;
using Datagram = std::vector<uint8_t>;
using Packer = msgpack::packer<msgpack::sbuffer>;

constexpr uint32_t kNet = 0x7e570002;

class UdpSender {
 public:
  UdpSender() : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {}
  ~UdpSender() { ::close(fd_); }
  UdpSender(const UdpSender&) = delete;
  UdpSender& operator=(const UdpSender&) = delete;
  void send(uint16_t port, const Datagram& d) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    ::sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  }

 private:
  int fd_;
};

// Random msgpack shaped like OpenDHT's messages: its keys, its types, wrong ones, any nesting.
class MessageGenerator {
 public:
  explicit MessageGenerator(uint64_t seed) : rng_(seed) {}

  Datagram next() {
    msgpack::sbuffer buffer;
    Packer pk(&buffer);
    const auto entries = pick(7);
    pk.pack_map(static_cast<uint32_t>(entries));
    for (size_t i = 0; i < entries; ++i) {
      pk.pack(key());
      if (i == 0 && pick(2) == 0) {
        pk.pack(kNet);  // under some key; "n" with it lets a message past the network check
      } else {
        object(pk, 0);
      }
    }
    Datagram d(buffer.data(), buffer.data() + buffer.size());
    if (pick(4) == 0 && !d.empty()) d.resize(pick(d.size()));                     // truncated
    if (pick(4) == 0 && !d.empty()) d[pick(d.size())] ^= uint8_t(1 + pick(255));  // a flipped byte
    return d;
  }

 private:
  size_t pick(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  std::string key() {
    static const char* const kKeys[] = {
        "y",  "r",      "u",      "e",     "v",   "a",  "t",  "n",   "q", "ua",     "s",
        "id", "h",      "target", "token", "vid", "n4", "n6", "sa",  "c", "values", "exp",
        "re", "fileds", "w",      "ve",    "f",   "o",  "d",  "sid", "p"};
    return kKeys[pick(std::size(kKeys))];
  }
  void object(Packer& pk, int depth) {
    switch (pick(depth > 4 ? 6 : 9)) {
      case 0:
        pk.pack_nil();
        break;
      case 1:
        pk.pack(pick(2) == 1);
        break;
      case 2:
        pk.pack(static_cast<int64_t>(rng_()) >> pick(64));
        break;
      case 3:
        pk.pack(key());
        break;
      case 4: {
        const size_t n = pick(3) == 0 ? 20 : pick(48);
        std::string bytes(n, '\0');
        for (auto& c : bytes) c = static_cast<char>(rng_());
        pk.pack_bin(static_cast<uint32_t>(n));
        pk.pack_bin_body(bytes.data(), static_cast<uint32_t>(n));
        break;
      }
      case 5:
        pk.pack(uint64_t{2});  // AF_INET
        break;
      case 6:
      case 7: {
        const auto n = pick(5);
        pk.pack_map(static_cast<uint32_t>(n));
        for (size_t i = 0; i < n; ++i) {
          pk.pack(key());
          object(pk, depth + 1);
        }
        break;
      }
      default: {
        const auto n = pick(5);
        pk.pack_array(static_cast<uint32_t>(n));
        for (size_t i = 0; i < n; ++i) object(pk, depth + 1);
        break;
      }
    }
  }
  std::mt19937_64 rng_;
};

class HostileDatagrams : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = LoopbackMesh::start(4, kNet);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    mesh = std::move(m).value();
    ASSERT_TRUE(mesh->wait_connected(2, 20s));
  }
  // A value put on node 0 now is read from node `reader` (the mesh still works there).
  bool mesh_serves(size_t reader, const std::string& name) {
    const auto key = Key::of(name);
    const Value value{0, ValueKind::raw, to_bytes(name)};
    for (int attempt = 0; attempt < 20; ++attempt) {
      (void)mesh->node(0).put_blocking(key, value, 5s);
      auto got = mesh->node(reader).get_blocking(key, 5s);
      if (got.ok() && !got->empty()) return true;
      std::this_thread::sleep_for(250ms);
    }
    return false;
  }
  std::unique_ptr<LoopbackMesh> mesh;
  UdpSender sender;
};

// Each of these stopped an OpenDHT 2.4.12 node's whole process before check_datagram().
TEST_F(HostileDatagrams, DatagramsThatKilledOpenDhtAreDroppedAndTheNodeServesOn) {
  const std::vector<Datagram> killers = {
      // {"r": {"fileds": {"f": [], "v": []}}}: SIGFPE
      {0x81, 0xa1, 'r', 0x81, 0xa6, 'f', 'i', 'l', 'e', 'd', 's', 0x82, 0xa1, 'f', 0x90, 0xa1, 'v',
       0x90},
      // {"e": []}: SIGSEGV
      {0x81, 0xa1, 'e', 0x90},
      // {"v": <bin>, "u": -641739}: a number walked as a map (SIGSEGV; found by the storm)
      {0x82, 0xa1, 'v', 0xc4, 0x02, 'a', 'b', 0xa1, 'u', 0xd2, 0xff, 0xf6, 0x35, 0x01},
      // {"a": "zzzz...."}: a string walked as a map
      {0x81, 0xa1, 'a', 0xb0, 'z', 'z', 'z', 'z', 'z', 'z',
       'z',  'z',  'z', 'z',  'z', 'z', 'z', 'z', 'z', 'z'},
  };
  const auto refused = mesh->node(1).stats().datagrams_refused;
  for (const auto& d : killers) sender.send(mesh->node(1).bound_port(), d);
  std::this_thread::sleep_for(500ms);
  EXPECT_GE(mesh->node(1).stats().datagrams_refused, refused + killers.size());
  EXPECT_TRUE(mesh_serves(1, "after-the-killers"));
}

// 30,000 random messages in OpenDHT's vocabulary (types wrong, truncated, bytes flipped), at
// two nodes: the process lives and both nodes still read values put elsewhere.
TEST_F(HostileDatagrams, AStormOfMalformedMessagesLeavesTheMeshServing) {
  MessageGenerator generator(20261201);
  for (int i = 0; i < 30'000; ++i) {
    sender.send(mesh->node(1 + i % 2).bound_port(), generator.next());
    if (i % 500 == 499) std::this_thread::sleep_for(5ms);  // within the receive buffers
  }
  std::this_thread::sleep_for(1s);
  EXPECT_GT(mesh->node(1).stats().datagrams_refused, 0u);
  EXPECT_TRUE(mesh_serves(1, "after-the-storm-1"));
  EXPECT_TRUE(mesh_serves(2, "after-the-storm-2"));
}

}  // namespace
}  // namespace beemesh::dht
