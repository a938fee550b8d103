#include "e2e/attacks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "common/clock.h"
#include "crypto/envelope.h"
#include "crypto/membership.h"
#include "manifest/manifest.h"
#include "net/frame.h"
#include "net/protocols.h"

namespace beemesh::e2e {

using namespace std::chrono_literals;

std::string alias_bomb() {
  std::string yaml =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\n  annotations:\n"
      "    a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n";
  for (char level = 'b'; level <= 'i'; ++level) {
    std::string prev(1, static_cast<char>(level - 1));
    yaml += std::string("    ") + level + ": &" + level + " [";
    for (int i = 0; i < 9; ++i) yaml += (i ? ",*" : "*") + prev;
    yaml += "]\n";
  }
  yaml += "spec:\n  containers: [{name: c, image: localhost/busybox:latest}]\n";
  return yaml;
}

Result<std::string> alias_bomb_manifest_id(const std::string& owner_public_key_hex) {
  // The bomb's benign twin: a plain pod of the same name.
  auto parsed = manifest::parse(
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\nspec:\n  containers:\n"
      "    - name: idle\n      image: localhost/busybox:latest\n"
      "      resources:\n        limits:\n          memory: 32Mi\n          cpu: 100m\n",
      "benign twin");
  if (!parsed) return parsed.error();
  return manifest::manifest_id(owner_public_key_hex, *parsed);
}

int64_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

RssSampler::RssSampler(pid_t pid) : pid_(pid), thread_([this] { run(); }) {}

RssSampler::~RssSampler() {
  stop();
}

int64_t RssSampler::stop() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
  return max_kib_;
}

void RssSampler::run() {
  while (!done_) {
    max_kib_ = std::max<int64_t>(max_kib_, rss_kib(pid_));
    std::this_thread::sleep_for(20ms);
  }
  max_kib_ = std::max<int64_t>(max_kib_, rss_kib(pid_));
}

int connect_to(uint16_t port, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

bool send_all(int fd, ByteView data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

CountingListener::CountingListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::listen(fd_, 512) == 0 &&
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port_ = ntohs(addr.sin_port);
  }
  thread_ = std::thread([this] {
    while (!done_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) == 1) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          ++accepted_;
          ::close(c);
        }
      }
    }
  });
}

CountingListener::~CountingListener() {
  done_ = true;
  thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void raise_open_file_limit(uint64_t at_least) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < at_least) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, at_least);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

crypto::Identity self_certified_stranger(const std::string& mesh_id) {
  auto id = crypto::Identity::generate();
  int64_t now = system_clock().now_ms();
  crypto::CertificateBody body;
  body.kind = crypto::CertKind::kNode;
  body.subject = id.public_key();
  body.name = "stranger";
  body.mesh_id = mesh_id;
  body.issued_ms = now;
  body.expires_ms = now + 3'600'000;
  id.set_credential(crypto::make_credential(crypto::issue_certificate(id, body)));
  return id;
}

Bytes half_frame_header(uint32_t claimed_body) {
  Bytes header(4 + net::kFixedHeaderSize + net::protocols::kApply.size());
  header[0] = static_cast<uint8_t>(claimed_body >> 24);
  header[1] = static_cast<uint8_t>(claimed_body >> 16);
  header[2] = static_cast<uint8_t>(claimed_body >> 8);
  header[3] = static_cast<uint8_t>(claimed_body);
  header[11] = 1;  // request id 1 (big-endian u64 in bytes 4..11)
  header[12] = static_cast<uint8_t>(net::FrameKind::request);
  header[13] = static_cast<uint8_t>(net::protocols::kApply.size());
  std::copy(net::protocols::kApply.begin(), net::protocols::kApply.end(), header.begin() + 14);
  return header;
}

Bytes stranger_capacity_frame(const crypto::Identity& stranger, const std::string& request_id,
                              uint64_t frame_id) {
  protocol::CapacityRequest req;
  req.request_id = request_id;
  req.manifest_id = std::string(64, 'f');
  req.cpu_millis = 100;
  req.memory_bytes = 32 << 20;
  Bytes envelope = crypto::sign_message(stranger, req, system_clock());
  return net::encode_frame(frame_id, net::FrameKind::request, net::protocols::kCapacity, envelope);
}

void send_flood(uint16_t port, size_t first, size_t step, const std::function<bool(size_t)>& more,
                const std::function<Bytes(size_t)>& frame, FloodCounters& counters,
                std::chrono::milliseconds send_timeout) {
  int fd = -1;
  std::thread drain;
  auto close_connection = [&] {
    if (fd < 0) return;
    ::shutdown(fd, SHUT_RDWR);
    if (drain.joinable()) drain.join();
    ::close(fd);
    fd = -1;
  };
  for (size_t j = first; more(j);) {
    if (fd < 0) {
      fd = connect_to(port);
      if (fd < 0) {
        ++counters.reconnects;
        std::this_thread::sleep_for(10ms);
        continue;
      }
      if (send_timeout.count() > 0) {
        timeval tv{static_cast<time_t>(send_timeout.count() / 1000),
                   static_cast<suseconds_t>(send_timeout.count() % 1000 * 1000)};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      }
      drain = std::thread([fd, &counters] {
        char buf[65536];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) counters.reply_bytes += n;
      });
    }
    if (!send_all(fd, frame(j))) {
      close_connection();
      ++counters.reconnects;
      continue;
    }
    ++counters.sent;
    j += step;
  }
  close_connection();
}

void list_fake_share_holders(protocol::ApplyRequest& request, int count, uint16_t port) {
  auto& holders = request.applied_manifest.share_holders;
  holders.clear();
  for (int h = 0; h < count; ++h) {
    auto fake = crypto::Identity::generate();
    holders.push_back({fake.node_id(), fake.public_key(), "127.0.0.1:" + std::to_string(port),
                       static_cast<uint8_t>(h % 255 + 1)});
  }
}

}  // namespace beemesh::e2e
