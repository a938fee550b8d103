// Hostile input (issue 11, docs/LIMITS.md): each attack of the issue run against real
// daemon processes of one admitted 3-node mesh with real Podman, shared by the cases. A
// node's memory is its RSS (/proc/PID/status VmRSS), sampled every 20 ms while the attack
// runs; "serves members" means a deployer's `beemesh apply` through that node still
// places its replica.
// Needs: CONTAINERS_CONF, localhost/busybox:latest (scripts/setup-podman.sh), root, and
// BEEMESH_BINARY (ctest sets both variables). Missing Podman is a failure, never a skip.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "api/json.h"
#include "cli/owner_auth.h"
#include "common/bytes.h"
#include "crypto/envelope.h"
#include "crypto/grants.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "e2e/direct_rpc.h"
#include "e2e/mesh.h"
#include "e2e/rest.h"
#include "manifest/manifest.h"
#include "net/frame.h"
#include "net/protocols.h"
#include "protocol/messages.h"
#include "runtime/runtime.h"

namespace beemesh::e2e {
namespace {

using namespace std::chrono_literals;

const std::string kManifestLabel = "beemesh.io/manifest-id";
constexpr int64_t kRssLimitKib = 100 * 1024;  // 100 MB

std::string idle_pod(const std::string& name) {
  return "apiVersion: v1\n"
         "kind: Pod\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "spec:\n"
         "  containers:\n"
         "    - name: idle\n"
         "      image: localhost/busybox:latest\n"
         "      command: [\"sh\", \"-c\", \"exec sleep 3600\"]\n"
         "      resources:\n"
         "        limits:\n"
         "          memory: 32Mi\n"
         "          cpu: 100m\n";
}

// "Billion laughs": nine levels of nine aliases each, about 500 bytes, 9^9 scalars when
// expanded.
std::string alias_bomb() {
  std::string yaml =
      "apiVersion: v1\n"
      "kind: Pod\n"
      "metadata:\n"
      "  name: bomb\n"
      "  annotations:\n"
      "    a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n";
  for (char level = 'b'; level <= 'i'; ++level) {
    std::string prev(1, static_cast<char>(level - 1));
    yaml += std::string("    ") + level + ": &" + level + " [";
    for (int i = 0; i < 9; ++i) yaml += (i ? ",*" : "*") + prev;
    yaml += "]\n";
  }
  yaml +=
      "spec:\n"
      "  containers: [{name: c, image: localhost/busybox:latest}]\n";
  return yaml;
}

std::string describe(const Result<ProcessResult>& r) {
  if (!r) return "could not run: " + r.error().to_string();
  return "exit " + std::to_string(r->exit_code) + "\nstdout:\n" + r->out + "\nstderr:\n" + r->err;
}

std::string describe(const Result<RestReply>& r) {
  if (!r) return "no answer: " + r.error().to_string();
  return "HTTP " + std::to_string(r->status) + " " + r->body;
}

int64_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// The largest RSS of `pid` seen while it lives.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid) : pid_(pid), thread_([this] { run(); }) {}
  ~RssSampler() { stop(); }
  int64_t stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    return max_kib_;
  }
  int64_t max_kib() const { return max_kib_; }

 private:
  void run() {
    while (!done_) {
      max_kib_ = std::max<int64_t>(max_kib_, rss_kib(pid_));
      std::this_thread::sleep_for(20ms);
    }
    max_kib_ = std::max<int64_t>(max_kib_, rss_kib(pid_));
  }
  pid_t pid_;
  std::atomic<bool> done_{false};
  std::atomic<int64_t> max_kib_{0};
  std::thread thread_;
};

// A TCP connection to 127.0.0.1:port within `timeout`, or -1.
int connect_to(uint16_t port, std::chrono::milliseconds timeout = 2s) {
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

// A TCP listener on 127.0.0.1 counting the connections it accepts.
class CountingListener {
 public:
  CountingListener() {
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
  ~CountingListener() {
    done_ = true;
    thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> done_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// An identity holding a "node certificate" it signed itself: a non-member that looks like one.
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

// Remote text that tries to colour the terminal and forge a line of its own.
const std::string kEvilText = "evil\x1b[31mred\nFAKE-LINE";

// No escape character and no line that starts with the forged text.
bool clean(const std::string& text) {
  if (text.find('\x1b') != std::string::npos) return false;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find("FAKE-LINE") == 0 || line.find("| FAKE-LINE") != std::string::npos) return false;
  }
  return true;
}

std::string read_log(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class HostileMesh : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (auto ready = check_podman_ready(); !ready) {
      setup_error_ = "Podman is not usable: " + ready.error().to_string();
      return;
    }
    // Room for 1,024 attack connections and the test's own descriptors.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 4096) {
      limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 4096);
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    MeshOptions options;
    options.nodes = 3;
    auto mesh = Mesh::start(options);
    if (!mesh) {
      setup_error_ = "mesh did not start: " + mesh.error().to_string();
      return;
    }
    mesh_ = std::move(*mesh);
  }

  static void TearDownTestSuite() { mesh_.reset(); }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  void TearDown() override {
    if (HasFailure() && mesh_) {
      for (int i = 0; i < mesh_->size(); ++i) {
        std::cerr << "---- log of " << mesh_->node(i).name << "\n" << mesh_->log_tail(i, 40);
      }
    }
  }

  static pid_t pid_of(int i) { return mesh_->node(i).process->pid(); }

  static std::string write_manifest(const std::string& yaml) {
    static int count = 0;
    auto path = mesh_->work_dir() / ("manifest-" + std::to_string(++count) + ".yaml");
    std::ofstream(path) << yaml;
    return path.string();
  }

  // A deployer's apply of a small pod through node i succeeds, and is deleted again.
  static void expect_member_apply_works(int i, const std::string& name) {
    std::string yaml = idle_pod(name);
    std::string file = write_manifest(yaml);
    auto r = mesh_->cli(i, {"apply", "-f", file, "-o", "json"});
    ASSERT_TRUE(r && r->success()) << describe(r);
    auto json = api::parse_json(r->out);
    ASSERT_TRUE(json) << r->out;
    auto outcome = api::apply_outcome_from_json(*json);
    ASSERT_TRUE(outcome) << r->out;
    mesh_->track_manifest(outcome->manifest_id);
    EXPECT_EQ(outcome->replicas_placed, 1) << r->out;
    auto removed = mesh_->cli(i, {"delete", "-f", file});
    EXPECT_TRUE(removed && removed->success()) << describe(removed);
  }

  static Result<std::vector<TargetNode>> targets() {
    std::vector<TargetNode> out;
    for (int i = 0; i < mesh_->size(); ++i) {
      auto t = target_node(mesh_->node(i).public_key_hex, mesh_->node(i).rpc_endpoint());
      if (!t) return t.error();
      out.push_back(*t);
    }
    return out;
  }

  static std::unique_ptr<Mesh> mesh_;
  static std::string setup_error_;
};

std::unique_ptr<Mesh> HostileMesh::mesh_;
std::string HostileMesh::setup_error_;

// ---- YAML -----------------------------------------------------------------------------------

TEST_F(HostileMesh, AliasBombThroughRestIsInvalidManifestAndNodeStaysUnder100MB) {
  std::string bomb = alias_bomb();
  ASSERT_LT(bomb.size(), 600u);
  // The owner grant names the id the bomb would have if it were a plain pod named "bomb".
  auto parsed = manifest::parse(idle_pod("bomb"), "benign twin");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  auto mid = manifest::manifest_id(mesh_->deployer().public_key_hex, *parsed);
  ASSERT_TRUE(mid) << mid.error().to_string();
  auto headers = mesh_->auth_headers(mesh_->deployer(), 0, "POST", "/apply");
  ASSERT_TRUE(headers) << headers.error().to_string();
  auto owner = mesh_->identity_of(mesh_->deployer());
  ASSERT_TRUE(owner) << owner.error().to_string();
  auto grant = cli::apply_auth(*owner, *mid, mesh_->node(0).public_key_hex, system_clock(),
                               crypto::apply_content_hash(bomb, {}, 0, 0, 1));
  ASSERT_TRUE(grant) << grant.error().to_string();
  headers->emplace("X-Beemesh-Owner", grant->owner_public_key_hex);
  headers->emplace("X-Beemesh-Token", grant->token_hex);

  RssSampler rss(pid_of(0));
  auto reply =
      rest_call(mesh_->node(0).api_port, "POST", "/apply", *headers, bomb, "application/yaml", 30s);
  std::this_thread::sleep_for(500ms);
  int64_t peak = rss.stop();
  ASSERT_TRUE(reply) << reply.error().to_string();
  EXPECT_EQ(reply->error_code, "invalid_manifest") << describe(reply);
  EXPECT_LT(peak, kRssLimitKib) << "n1 peaked at " << peak << " KiB";
  EXPECT_TRUE(mesh_->node(0).process->running());
}

TEST_F(HostileMesh, AliasBombThroughRpcIsInvalidManifestAndNodeStaysUnder100MB) {
  auto nodes = targets();
  ASSERT_TRUE(nodes) << nodes.error().to_string();
  auto owner = mesh_->identity_of(mesh_->deployer());
  ASSERT_TRUE(owner) << owner.error().to_string();
  auto entry = mesh_->admitted_node_identity("bomb-entry");
  ASSERT_TRUE(entry) << entry.error().to_string();
  auto parsed = manifest::parse(idle_pod("bomb"), "benign twin");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  auto mid = manifest::manifest_id(mesh_->deployer().public_key_hex, *parsed);
  ASSERT_TRUE(mid) << mid.error().to_string();
  DirectRpc rpc;
  // A member entry node sends the bomb, encrypted, for the target to decrypt and parse.
  auto prepared = prepare_apply(rpc, *owner, *entry, alias_bomb(), (*nodes)[1], *nodes,
                                system_clock(), PrepareOptions::for_manifest_id(*mid));
  ASSERT_TRUE(prepared) << prepared.error().to_string();
  mesh_->track_manifest(*mid);

  RssSampler rss(pid_of(1));
  auto answer =
      rpc.apply((*nodes)[1], crypto::sign_message(*entry, prepared->request, system_clock()));
  std::this_thread::sleep_for(500ms);
  int64_t peak = rss.stop();
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_FALSE(answer->ok);
  EXPECT_EQ(answer->code, "invalid_manifest") << answer->message;
  EXPECT_LT(peak, kRssLimitKib) << "n2 peaked at " << peak << " KiB";
  EXPECT_TRUE(mesh_->node(1).process->running());
}

// ---- transport ------------------------------------------------------------------------------

TEST_F(HostileMesh, HalfSentFourMegabyteFramesLeaveNodeUnder100MBAndServingMembers) {
  constexpr int kConnections = 1024;
  constexpr uint32_t kClaimedBody = 4 * 1024 * 1024;
  // Length prefix claiming 4 MiB, then the fixed header and protocol id of an apply; no
  // body ever follows.
  Bytes header(4 + net::kFixedHeaderSize + net::protocols::kApply.size());
  header[0] = static_cast<uint8_t>(kClaimedBody >> 24);
  header[1] = static_cast<uint8_t>(kClaimedBody >> 16);
  header[2] = static_cast<uint8_t>(kClaimedBody >> 8);
  header[3] = static_cast<uint8_t>(kClaimedBody);
  header[11] = 1;  // request id 1 (big-endian u64 in bytes 4..11)
  header[12] = static_cast<uint8_t>(net::FrameKind::request);
  header[13] = static_cast<uint8_t>(net::protocols::kApply.size());
  std::copy(net::protocols::kApply.begin(), net::protocols::kApply.end(), header.begin() + 14);

  RssSampler rss(pid_of(0));
  std::vector<int> fds;
  int refused = 0;
  for (int c = 0; c < kConnections; ++c) {
    int fd = connect_to(mesh_->node(0).rpc_port);
    if (fd < 0) {
      ++refused;
      continue;
    }
    (void)send_all(fd, header);  // the node may already have closed it
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(3s);
  EXPECT_LT(rss.max_kib(), kRssLimitKib)
      << "n1 at " << rss.max_kib() << " KiB with " << fds.size() << " connections open";
  // While they are all still open, a member's apply goes through that node.
  expect_member_apply_works(0, "after-half-frames");
  int64_t peak = rss.stop();
  for (int fd : fds) ::close(fd);
  EXPECT_LT(peak, kRssLimitKib) << "n1 peaked at " << peak << " KiB (" << fds.size()
                                << " connections made, " << refused << " not)";
  EXPECT_TRUE(mesh_->node(0).process->running());
}

TEST_F(HostileMesh, TwoHundredThousandStrangerRequestsDoNotStopTheNodeServingMembers) {
  constexpr int kRequests = 200'000;
  constexpr int kConnections = 4;
  constexpr int kKeys = 64;
  std::vector<crypto::Identity> strangers;
  for (int k = 0; k < kKeys; ++k) strangers.push_back(self_certified_stranger(mesh_->mesh_id()));

  std::atomic<int> sent{0};
  std::atomic<int> reconnects{0};
  auto deadline = std::chrono::steady_clock::now() + 180s;
  auto worker = [&](int w) {
    int fd = -1;
    std::thread drain;
    auto close_connection = [&] {
      if (fd < 0) return;
      ::shutdown(fd, SHUT_RDWR);
      if (drain.joinable()) drain.join();
      ::close(fd);
      fd = -1;
    };
    for (int j = w; j < kRequests && std::chrono::steady_clock::now() < deadline;) {
      if (fd < 0) {
        fd = connect_to(mesh_->node(0).rpc_port);
        if (fd < 0) {
          ++reconnects;
          std::this_thread::sleep_for(10ms);
          continue;
        }
        drain = std::thread([fd] {
          char buf[65536];
          while (::recv(fd, buf, sizeof(buf), 0) > 0) {
          }
        });
      }
      protocol::CapacityRequest req;
      req.request_id = "flood-" + std::to_string(j);
      req.manifest_id = std::string(64, 'f');
      req.cpu_millis = 100;
      req.memory_bytes = 32 << 20;
      Bytes envelope =
          crypto::sign_message(strangers[static_cast<size_t>(j % kKeys)], req, system_clock());
      Bytes frame = net::encode_frame(static_cast<uint64_t>(j) + 1, net::FrameKind::request,
                                      net::protocols::kCapacity, envelope);
      if (!send_all(fd, frame)) {
        close_connection();
        ++reconnects;
        continue;
      }
      ++sent;
      j += kConnections;
    }
    close_connection();
  };
  RssSampler rss(pid_of(0));
  std::vector<std::thread> workers;
  for (int w = 0; w < kConnections; ++w) workers.emplace_back(worker, w);
  for (auto& t : workers) t.join();
  int64_t peak = rss.stop();
  EXPECT_EQ(sent.load(), kRequests)
      << "the flood did not finish in 180 s (" << reconnects << " reconnects)";
  ASSERT_TRUE(mesh_->node(0).process->running());
  std::cerr << "flood: " << sent << " requests sent, " << reconnects << " reconnects, n1 peak "
            << peak << " KiB\n";
  expect_member_apply_works(0, "after-flood");
}

// ---- requests -------------------------------------------------------------------------------

TEST_F(HostileMesh, RequestListing500HoldersOpensNoConnectionToANonMember) {
  CountingListener listener;
  ASSERT_NE(listener.port(), 0);
  auto nodes = targets();
  ASSERT_TRUE(nodes) << nodes.error().to_string();
  auto owner = mesh_->identity_of(mesh_->deployer());
  ASSERT_TRUE(owner) << owner.error().to_string();
  auto entry = mesh_->admitted_node_identity("holder-lister");
  ASSERT_TRUE(entry) << entry.error().to_string();
  DirectRpc rpc;
  auto prepared = prepare_apply(rpc, *owner, *entry, idle_pod("five-hundred"), (*nodes)[1], *nodes,
                                system_clock(), PrepareOptions::without_storing_shares());
  ASSERT_TRUE(prepared) << prepared.error().to_string();
  mesh_->track_manifest(prepared->manifest_id);
  auto& holders = prepared->request.applied_manifest.share_holders;
  holders.clear();
  for (int h = 0; h < 500; ++h) {
    auto fake = crypto::Identity::generate();
    holders.push_back({fake.node_id(), fake.public_key(),
                       "127.0.0.1:" + std::to_string(listener.port()),
                       static_cast<uint8_t>(h % 255 + 1)});
  }
  auto answer =
      rpc.apply((*nodes)[1], crypto::sign_message(*entry, prepared->request, system_clock()));
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_FALSE(answer->ok);
  std::this_thread::sleep_for(2s);  // late connection attempts count too
  EXPECT_EQ(listener.accepted(), 0) << "n2 connected to the listed non-member endpoint";
  auto pods = mesh_->pods_with_label(kManifestLabel, prepared->manifest_id);
  ASSERT_TRUE(pods) << pods.error().to_string();
  EXPECT_TRUE(pods->empty());
}

TEST_F(HostileMesh, OversizedShareIsRefused) {
  auto nodes = targets();
  ASSERT_TRUE(nodes) << nodes.error().to_string();
  auto owner = mesh_->identity_of(mesh_->deployer());
  ASSERT_TRUE(owner) << owner.error().to_string();
  auto entry = mesh_->admitted_node_identity("share-stuffer");
  ASSERT_TRUE(entry) << entry.error().to_string();
  auto parsed = manifest::parse(idle_pod("stuffed"), "stuffed");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  auto mid = manifest::manifest_id(mesh_->deployer().public_key_hex, *parsed);
  ASSERT_TRUE(mid) << mid.error().to_string();

  protocol::StoreShareRequest req;
  req.request_id = runtime::new_workload_id();
  req.manifest_id = *mid;
  req.owner_public_key = owner->public_key();
  req.share_index = 1;
  req.sealed_share = Bytes(1024 * 1024, 0x5a);
  req.threshold = 2;
  req.expires_ms = system_clock().now_ms() + 3'600'000;
  DirectRpc rpc;
  auto answer = rpc.store_share((*nodes)[1], crypto::sign_message(*entry, req, system_clock()));
  // Refused either as an answer or by the transport closing on the frame.
  if (answer) {
    EXPECT_FALSE(answer->ok) << "a 1 MiB share was stored";
    EXPECT_FALSE(answer->code.empty());
  }
  EXPECT_TRUE(mesh_->node(1).process->running());
}

// ---- output ---------------------------------------------------------------------------------

TEST_F(HostileMesh, ControlCharactersInARemoteNodeNameNeverReachTheCliOrTheLog) {
  auto added = mesh_->add_node(kEvilText);
  if (!added) {
    // Refusing such a name at start is the other correct answer.
    EXPECT_EQ(added.error().code, "daemon_exited") << added.error().to_string();
    std::cerr << "refused at start: " << added.error().to_string() << "\n";
    return;
  }
  for (const auto& format : {"table", "yaml", "json"}) {
    SCOPED_TRACE(std::string("get nodes -o ") + format);
    auto r = mesh_->cli(0, {"get", "nodes", "-o", format});
    ASSERT_TRUE(r && r->success()) << describe(r);
    EXPECT_TRUE(clean(r->out)) << r->out;
    EXPECT_TRUE(clean(r->err)) << r->err;
  }
  EXPECT_TRUE(clean(read_log(mesh_->node(0).log_file)))
      << "n1's log holds the remote name unescaped";
  mesh_->kill9(*added);
}

TEST_F(HostileMesh, ControlCharactersInARemoteRequestNeverReachTheNodeLogUnescaped) {
  // A member (the test, admitted) sends requests whose ids carry the evil text.
  auto nodes = targets();
  ASSERT_TRUE(nodes) << nodes.error().to_string();
  auto member = mesh_->admitted_node_identity("chatty");
  ASSERT_TRUE(member) << member.error().to_string();
  DirectRpc rpc;
  protocol::ApplyRequest apply;
  apply.request_id = kEvilText;
  apply.manifest_id = kEvilText;
  apply.workload_id = kEvilText;
  auto applied = rpc.apply((*nodes)[1], crypto::sign_message(*member, apply, system_clock()));
  ASSERT_TRUE(applied) << applied.error().to_string();
  EXPECT_FALSE(applied->ok);
  protocol::DeleteRequest del;
  del.request_id = kEvilText;
  del.manifest_id = kEvilText;
  del.workload_id = kEvilText;
  (void)rpc.remove((*nodes)[1], crypto::sign_message(*member, del, system_clock()));
  std::this_thread::sleep_for(500ms);  // the log is written asynchronously
  EXPECT_TRUE(clean(read_log(mesh_->node(1).log_file)))
      << "n2's log holds a remote string unescaped";
}

TEST_F(HostileMesh, ControlCharactersInANodeAnswerNeverReachTheCliOutput) {
  // The node's error names the workload id it was asked for; the CLI prints that error.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"logs", kEvilText}, {"describe", "workload", kEvilText}, {"delete", kEvilText}}) {
    SCOPED_TRACE(args.front());
    auto r = mesh_->cli(0, args);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(clean(r->out)) << r->out;
    EXPECT_TRUE(clean(r->err)) << r->err;
  }
  EXPECT_TRUE(clean(read_log(mesh_->node(0).log_file)))
      << "n1's log holds a remote string unescaped";
}

}  // namespace
}  // namespace beemesh::e2e
