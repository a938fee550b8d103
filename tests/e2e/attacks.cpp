#include "e2e/attacks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fstream>

#include "common/clock.h"
#include "crypto/envelope.h"
#include "crypto/membership.h"
#include "crypto/tls_identity.h"
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

AttackerTls::AttackerTls(const crypto::Identity& as) {
  // OpenSSL writes to the socket with write(2), not send(MSG_NOSIGNAL): a node closing a
  // connection the attacker writes to must not kill the test process.
  std::signal(SIGPIPE, SIG_IGN);
  auto certificate = crypto::make_tls_certificate(as, as.credential());
  if (!certificate) return;
  std::unique_ptr<SSL_CTX, Free> owned(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = owned.get();
  if (ctx == nullptr) return;
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate(ctx, certificate->certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, certificate->private_key.get()) != 1) {
    return;
  }
  ctx_ = std::move(owned);
}

void AttackerTls::Free::operator()(SSL_CTX* ctx) const {
  SSL_CTX_free(ctx);
}

void Link::Free::operator()(SSL* ssl) const {
  SSL_free(ssl);
}

namespace {
int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// Waits for `events` on fd until the deadline; false when it passed.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, remaining_ms(deadline)) > 0;
}
}  // namespace

std::unique_ptr<Link> Link::open(uint16_t port, const AttackerTls* tls,
                                 std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int fd = connect_to(port, timeout);
  if (fd < 0) return nullptr;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  SSL* ssl = tls != nullptr && tls->ok() ? SSL_new(tls->context()) : nullptr;
  auto link = std::make_unique<Link>(Key{}, fd, ssl);  // owns fd and ssl from here
  if (tls == nullptr) return link;
  if (ssl == nullptr) return nullptr;
  SSL_set_fd(ssl, fd);
  for (;;) {
    int r = SSL_connect(ssl);
    if (r == 1) return link;
    int e = SSL_get_error(ssl, r);
    short events = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0 || !wait_for(fd, events, deadline)) return nullptr;
  }
}

Link::~Link() {
  ssl_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void Link::drain() {
  char buf[65536];
  while (!closed_) {
    if (ssl_ != nullptr) {
      size_t n = 0;
      int r = SSL_read_ex(ssl_.get(), buf, sizeof(buf), &n);
      if (r == 1) {
        received_ += static_cast<long>(n);
        continue;
      }
      int e = SSL_get_error(ssl_.get(), r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
      closed_ = true;
      return;
    }
    ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      received_ += n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    closed_ = true;
    return;
  }
}

bool Link::send_all(ByteView data, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t sent = 0;
  while (sent < data.size()) {
    drain();
    if (closed_) return false;
    short want = 0;
    if (ssl_ != nullptr) {
      size_t n = 0;
      int r = SSL_write_ex(ssl_.get(), data.data() + sent, data.size() - sent, &n);
      if (r == 1) {
        sent += n;
        continue;
      }
      int e = SSL_get_error(ssl_.get(), r);
      if (e == SSL_ERROR_WANT_WRITE) {
        want = POLLOUT;
      } else if (e == SSL_ERROR_WANT_READ) {
        want = POLLIN;
      } else {
        closed_ = true;
        return false;
      }
    } else {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        want = POLLOUT;
      } else {
        closed_ = true;
        return false;
      }
    }
    if (!wait_for(fd_, static_cast<short>(want | POLLIN), deadline)) return false;
  }
  return true;
}

bool Link::closed_by_node(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    drain();
    if (closed_) return true;
    if (!wait_for(fd_, POLLIN, deadline)) return false;
  }
}

int send_client_hello(uint16_t port, const AttackerTls& tls, std::chrono::milliseconds timeout) {
  // The handshake runs on memory BIOs, not on the socket: SSL_connect writes the ClientHello
  // into `out` and stops for want of an answer it is never given. Run on the socket, a node
  // answering before the client's first read would let the handshake go on (and fail as a
  // stranger's), so whether the call succeeded depended on scheduling.
  std::unique_ptr<SSL, SslFree> ssl(tls.ok() ? SSL_new(tls.context()) : nullptr);
  if (ssl == nullptr) return -1;
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    return -1;
  }
  SSL_set_bio(ssl.get(), in, out);  // the SSL object owns both from here
  int r = SSL_connect(ssl.get());
  if (r == 1 || SSL_get_error(ssl.get(), r) != SSL_ERROR_WANT_READ) return -1;
  const char* hello = nullptr;
  long size = BIO_get_mem_data(out, &hello);
  if (size <= 0) return -1;
  int fd = connect_to(port, timeout);
  if (fd < 0) return -1;
  timeval send_timeout{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
                       .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  if (!send_all(fd, ByteView(reinterpret_cast<const uint8_t*>(hello), static_cast<size_t>(size)))) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

bool closed_by_peer(int fd) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) continue;
    return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
  }
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
                std::chrono::milliseconds send_timeout, const AttackerTls* tls) {
  std::unique_ptr<Link> link;
  auto timeout = send_timeout.count() > 0 ? send_timeout : std::chrono::milliseconds(30'000);
  auto close_connection = [&] {
    if (!link) return;
    counters.reply_bytes += link->received();
    link.reset();
  };
  for (size_t j = first; more(j);) {
    if (!link) {
      link = Link::open(port, tls);
      if (!link) {
        ++counters.reconnects;
        std::this_thread::sleep_for(10ms);
        continue;
      }
    }
    if (!link->send_all(frame(j), timeout)) {
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
