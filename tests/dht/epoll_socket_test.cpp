// The epoll datagram socket under OpenDHT: descriptor numbers past FD_SETSIZE, real runners on
// it, and a shutdown that never waits forever.
#include "dht/epoll_socket.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dht/opendht_dht.h"

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kNet = 0x7e570e01;

// Holds `count` descriptors open so that the next ones get numbers above them.
class FdFiller {
 public:
  explicit FdFiller(size_t count) {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < count + 256 && lim.rlim_max >= count + 256) {
      lim.rlim_cur = count + 256;
      ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    for (size_t i = 0; i < count; ++i) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      fds_.push_back(fd);
    }
  }
  ~FdFiller() {
    for (int fd : fds_) ::close(fd);
  }
  FdFiller(const FdFiller&) = delete;
  FdFiller& operator=(const FdFiller&) = delete;
  size_t size() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
};

::dht::SockAddr loopback4() {
  return ::dht::SockAddr::resolve("127.0.0.1", "0").front();
}

// Collects what a socket receives.
struct Inbox {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::pair<std::string, in_port_t>> got;

  ::dht::net::DatagramSocket::OnReceive callback() {
    return [this](::dht::net::PacketList&& packets) {
      std::lock_guard lock(mutex);
      for (const auto& p : packets) {
        got.emplace_back(std::string(p.data.begin(), p.data.end()), p.from.getPort());
      }
      cv.notify_all();
      return ::dht::net::PacketList{};
    };
  }
  bool wait_for(size_t n, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, deadline, [&] { return got.size() >= n; });
  }
};

// `text` in a datagram shaped like a DHT message ({"a": {"x": text}}): what the sockets pass on.
std::string message(const std::string& text) {
  std::string out =
      "\x81\xa1"
      "a\x81\xa1"
      "x";
  out += static_cast<char>(0xa0 | text.size());  // text: at most 31 bytes
  return out + text;
}

int send_bytes(EpollSocket& from, const EpollSocket& to, const std::string& bytes) {
  return from.sendTo(to.getBound(AF_INET), reinterpret_cast<const uint8_t*>(bytes.data()),
                     bytes.size(), false);
}

int send_text(EpollSocket& from, const EpollSocket& to, const std::string& text) {
  return send_bytes(from, to, message(text));
}

TEST(EpollSocketTest, SendsAndReceivesOnDescriptorsAboveFdSetSize) {
  FdFiller filler(1100);
  if (filler.size() < 1100) GTEST_SKIP() << "RLIMIT_NOFILE too low to open 1100 descriptors";
  auto loop = EpollLoop::start();
  ASSERT_TRUE(loop.ok()) << loop.error().to_string();
  auto a = EpollSocket::open(*loop, loopback4(), {});
  auto b = EpollSocket::open(*loop, loopback4(), {});
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  ASSERT_GE((*a)->fd4(), FD_SETSIZE);
  ASSERT_GE((*b)->fd4(), FD_SETSIZE);
  EXPECT_TRUE((*a)->hasIPv4());
  EXPECT_FALSE((*a)->hasIPv6());
  Inbox at_a, at_b;
  (*a)->setOnReceive(at_a.callback());
  (*b)->setOnReceive(at_b.callback());

  EXPECT_EQ(send_text(**a, **b, "ping"), 0);
  ASSERT_TRUE(at_b.wait_for(1, 5s));
  EXPECT_EQ(at_b.got[0].first, message("ping"));
  EXPECT_EQ(at_b.got[0].second, (*a)->getPort(AF_INET));

  EXPECT_EQ(send_text(**b, **a, "pong"), 0);
  ASSERT_TRUE(at_a.wait_for(1, 5s));
  EXPECT_EQ(at_a.got[0].first, message("pong"));
}

TEST(EpollSocketTest, TheReceiveThreadRunsAtTheNiceValueTheLoopWasStartedWith) {
  std::promise<int> nice_seen;  // before the sockets: outlives their callbacks
  std::atomic<bool> once{false};
  const int callers_nice = ::getpriority(PRIO_PROCESS, 0);
  auto loop = EpollLoop::start(7);
  ASSERT_TRUE(loop.ok()) << loop.error().to_string();
  auto a = EpollSocket::open(*loop, loopback4(), {});
  auto b = EpollSocket::open(*loop, loopback4(), {});
  ASSERT_TRUE(a.ok() && b.ok());
  (*b)->setOnReceive([&](::dht::net::PacketList&&) {
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, 0);  // Linux: the calling thread's
    if (!once.exchange(true)) nice_seen.set_value(errno == 0 ? nice : -1000);
    return ::dht::net::PacketList{};
  });
  EXPECT_EQ(send_text(**a, **b, "nice?"), 0);
  auto seen = nice_seen.get_future();
  ASSERT_EQ(seen.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(seen.get(), 7);
  EXPECT_EQ(::getpriority(PRIO_PROCESS, 0), callers_nice)
      << "the caller's thread is left as it was";
}

TEST(EpollSocketTest, ADatagramNotShapedLikeADhtMessageIsDroppedAndCounted) {
  auto loop = EpollLoop::start();
  ASSERT_TRUE(loop.ok()) << loop.error().to_string();
  auto a = EpollSocket::open(*loop, loopback4(), {});
  auto b = EpollSocket::open(*loop, loopback4(), {});
  ASSERT_TRUE(a.ok() && b.ok());
  Inbox at_b;
  (*b)->setOnReceive(at_b.callback());
  EXPECT_EQ(send_bytes(**a, **b, "plain text"), 0);
  EXPECT_EQ(send_bytes(**a, **b,
                       std::string("\x81\xa1"
                                   "e\x90",
                                   4)),
            0);  // {"e": []}
  EXPECT_EQ(send_text(**a, **b, "after"), 0);
  ASSERT_TRUE(at_b.wait_for(1, 5s));
  EXPECT_EQ(at_b.got[0].first, message("after")) << "the two before it never reached OpenDHT";
  EXPECT_EQ((*loop)->dropped_malformed(), 2u);
}

TEST(EpollSocketTest, RefusesToSendToAFamilyItHasNoSocketFor) {
  auto loop = EpollLoop::start();
  ASSERT_TRUE(loop.ok());
  auto a = EpollSocket::open(*loop, loopback4(), {});
  ASSERT_TRUE(a.ok());
  const auto v6 = ::dht::SockAddr::resolve("::1", "4222").front();
  const uint8_t byte = 0;
  EXPECT_EQ((*a)->sendTo(v6, &byte, 1, false), EAFNOSUPPORT);
}

TEST(EpollSocketTest, TwoOpenDhtNodesOnSocketsAboveFdSetSizePutAndGetAValue) {
  FdFiller filler(1100);
  if (filler.size() < 1100) GTEST_SKIP() << "RLIMIT_NOFILE too low to open 1100 descriptors";
  auto loop = EpollLoop::start();
  ASSERT_TRUE(loop.ok());
  auto first = OpenDht::start(loopback_config(kNet), *loop);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  auto second = OpenDht::start(loopback_config(kNet, {(*first)->endpoint()}), *loop);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ((*loop)->registered(), 4u);  // IPv4 + IPv6 of each node, one thread for both

  const auto key = Key::of("epoll-socket-test/value");
  std::promise<Result<void>> put_done;
  (*second)->put(key, Value{0, ValueKind::provider_record, to_bytes("over epoll")},
                 [&](Result<void> r) { put_done.set_value(std::move(r)); });
  auto put_future = put_done.get_future();
  ASSERT_EQ(put_future.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(put_future.get().ok());

  bool found = false;
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (!found && std::chrono::steady_clock::now() < until) {
    auto got = (*first)->get_blocking(key, 5s);
    if (got.ok()) {
      for (const auto& v : *got) found |= as_string(v.data) == "over epoll";
    }
    if (!found) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(found);

  (*second)->shutdown();
  (*first)->shutdown();
  EXPECT_EQ((*loop)->registered(), 0u);
}

TEST(EpollSocketTest, ABurstArrivingWhileTheReceiveThreadIsBusyWaitsInTheReceiveBuffer) {
  constexpr size_t kBurst = 1000;  // the kernel's default buffer (208 KiB) holds ~250 of these
  std::promise<void> release;      // before the sockets: outlives their callbacks
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_seen;
  auto loop = EpollLoop::start();
  ASSERT_TRUE(loop.ok());
  auto a = EpollSocket::open(*loop, loopback4(), {});
  auto b = EpollSocket::open(*loop, loopback4(), {});
  ASSERT_TRUE(a.ok() && b.ok());
  std::atomic<size_t> received{0};
  (*b)->setOnReceive([&](::dht::net::PacketList&& packets) {
    if (received.fetch_add(packets.size()) == 0) {
      first_seen.set_value();
      released.wait();  // the receive thread is away while the burst arrives
    }
    return ::dht::net::PacketList{};
  });
  const auto to_b = (*b)->getBound(AF_INET);  // getBound() waits for b's callback to return
  const auto send = [&](const std::string& text) {
    const auto bytes = message(text);
    return (*a)->sendTo(to_b, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), false);
  };
  ASSERT_EQ(send("first"), 0);
  ASSERT_EQ(first_seen.get_future().wait_for(5s), std::future_status::ready);
  for (size_t i = 0; i < kBurst; ++i) ASSERT_EQ(send("burst " + std::to_string(i)), 0);
  release.set_value();
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (received < kBurst + 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(received, kBurst + 1) << "datagrams the kernel dropped at a full receive buffer";
}

TEST(EpollSocketTest, StopWhileReceivingReturnsAndNoCallbackRunsAfterIt) {
  auto loop = EpollLoop::start();
  ASSERT_TRUE(loop.ok());
  auto sender = EpollSocket::open(*loop, loopback4(), {});
  auto receiver = EpollSocket::open(*loop, loopback4(), {});
  ASSERT_TRUE(sender.ok());
  ASSERT_TRUE(receiver.ok());
  std::atomic<bool> stopped{false};
  std::atomic<int> after_stop{0};
  std::atomic<int> batches{0};
  (*receiver)->setOnReceive([&](::dht::net::PacketList&&) {
    if (stopped) ++after_stop;
    ++batches;
    std::this_thread::sleep_for(20ms);  // a slow consumer: stop() arrives mid-callback
    return ::dht::net::PacketList{};
  });
  std::atomic<bool> flooding{true};
  std::thread flood([&] {
    while (flooding) {
      send_text(**sender, **receiver, "flood");
      std::this_thread::sleep_for(50us);
    }
  });
  while (batches < 3) std::this_thread::sleep_for(1ms);

  const auto t = std::chrono::steady_clock::now();
  (*receiver)->stop();
  stopped = true;
  const auto took = std::chrono::steady_clock::now() - t;
  std::this_thread::sleep_for(100ms);  // datagrams keep arriving at the stopped socket
  flooding = false;
  flood.join();

  EXPECT_LT(took, 1s);
  EXPECT_EQ(after_stop, 0);
  EXPECT_EQ(send_text(**receiver, **sender, "late"), EBADF);
  EXPECT_EQ((*loop)->registered(), 1u);
}

TEST(EpollSocketTest, ANodeShutsDownWhileItsPeerKeepsSending) {
  auto loop = EpollLoop::start();
  ASSERT_TRUE(loop.ok());
  auto quiet = OpenDht::start(loopback_config(kNet), *loop);
  ASSERT_TRUE(quiet.ok());
  auto busy = OpenDht::start(loopback_config(kNet, {(*quiet)->endpoint()}), *loop);
  ASSERT_TRUE(busy.ok());
  std::atomic<bool> running{true};
  std::thread load([&] {
    int i = 0;
    while (running) {
      (*busy)->put(Key::of("busy/" + std::to_string(i++)),
                   Value{0, ValueKind::provider_record, to_bytes("x")});
      std::this_thread::sleep_for(1ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  const auto t = std::chrono::steady_clock::now();
  (*quiet)->shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t, 10s);
  running = false;
  load.join();
}

}  // namespace
}  // namespace beemesh::dht
