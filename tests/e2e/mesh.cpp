#include "e2e/mesh.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "api/client.h"
#include "api/json.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/membership.h"
#include "e2e/rest.h"

extern char** environ;

namespace beemesh::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---- ports -------------------------------------------------------------------------------

namespace {

// Binds `type` on `family` loopback at `port` (0 = any); returns the bound port or 0.
uint16_t bind_port(int family, int type, uint16_t port) {
  int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  uint16_t bound = 0;
  if (family == AF_INET) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      bound = ntohs(addr.sin_port);
    }
  } else {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(port);
    addr.sin6_addr = in6addr_loopback;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      bound = ntohs(addr.sin6_port);
    }
  }
  ::close(fd);
  return bound;
}

}  // namespace

Result<uint16_t> free_tcp_port() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    uint16_t port = bind_port(AF_INET, SOCK_STREAM, 0);
    if (port != 0) return port;
  }
  return make_error("no_port", "no free TCP port on 127.0.0.1");
}

Result<uint16_t> free_udp_port() {
  // The daemon's DHT binds the same UDP port on 127.0.0.1 and ::1.
  for (int attempt = 0; attempt < 20; ++attempt) {
    uint16_t port = bind_port(AF_INET, SOCK_DGRAM, 0);
    if (port != 0 && bind_port(AF_INET6, SOCK_DGRAM, port) == port) return port;
  }
  return make_error("no_port", "no UDP port free on both 127.0.0.1 and ::1");
}

// ---- child processes --------------------------------------------------------------------

ChildProcess::ChildProcess(std::vector<std::string> argv, fs::path log_file,
                           std::map<std::string, std::string> env)
    : argv_(std::move(argv)), log_file_(std::move(log_file)), env_(std::move(env)) {}

ChildProcess::~ChildProcess() {
  kill9();
}

Result<void> ChildProcess::start() {
  if (pid_ > 0 && running()) return make_error("already_running", argv_.at(0) + " already runs");
  // Everything the child needs is built before fork (only async-signal-safe calls after).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos && env_.count(entry.substr(0, eq))) continue;
    env_strings.push_back(std::move(entry));
  }
  for (const auto& [k, v] : env_) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  int log_fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return make_error("io_error", log_file_.string() + ": " + std::strerror(errno));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return make_error("spawn_failed", std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    // The test process may block signals in threads; the daemon wants default ones.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;
  exit_status_ = -1;
  return {};
}

void ChildProcess::reap(bool block) {
  if (pid_ <= 0) return;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
  } else if (r < 0 && errno == ECHILD) {
    pid_ = -1;
  }
}

bool ChildProcess::running() {
  reap(false);
  return pid_ > 0;
}

void ChildProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

bool ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return true;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return exit_status_ == 0;
    std::this_thread::sleep_for(20ms);
  }
  kill9();
  return false;
}

// ---- the mesh ------------------------------------------------------------------------------

Mesh::Mesh(MeshOptions options) : options_(std::move(options)) {}

Mesh::~Mesh() {
  for (auto& n : nodes_) {
    if (n.process) n.process->terminate(5s);
  }
  for (const auto& mid : manifests_) remove_pods_with_label("beemesh.io/manifest-id", mid);
  for (auto& n : nodes_) {
    if (n.storage_conf.empty()) continue;
    for (const auto& mid : manifests_) {
      remove_pods_with_label("beemesh.io/manifest-id", mid, n.storage_conf);
    }
    // Anything else this node's own Podman still runs (a crashed test's pods).
    (void)e2e::podman({"pod", "rm", "-af", "-t", "0"}, n.storage_conf);
    (void)e2e::podman({"rm", "-af", "-t", "0"}, n.storage_conf);
  }
  bool keep = options_.keep_work_dir || std::getenv("BEEMESH_E2E_KEEP") != nullptr;
  std::error_code ec;
  if (!keep && !work_dir_.empty()) fs::remove_all(work_dir_, ec);
}

Result<std::unique_ptr<Mesh>> Mesh::start(MeshOptions options) {
  if (options.binary.empty()) {
    const char* env = std::getenv("BEEMESH_BINARY");
    if (!env || !*env) {
      return make_error("no_binary",
                        "set BEEMESH_BINARY to the built beemesh binary (ctest does this)");
    }
    options.binary = env;
  }
  if (::access(options.binary.c_str(), X_OK) != 0) {
    return make_error("no_binary", options.binary.string() + " is not an executable file");
  }
  if (options.nodes < 1) return make_error("invalid_argument", "a mesh needs at least one node");
  std::unique_ptr<Mesh> mesh(new Mesh(options));

  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/beemesh-e2e-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    return make_error("io_error", pattern + ": " + std::strerror(errno));
  }
  mesh->work_dir_ = pattern;

  std::random_device rd;
  mesh->network_id_ = 0x100000u + (rd() % 0x7fffff);
  mesh->mesh_id_ =
      options.mesh_id.empty() ? "e2e-" + std::to_string(mesh->network_id_) : options.mesh_id;
  mesh->config_file_ = mesh->work_dir_ / "beemesh.yaml";
  {
    std::ofstream cfg(mesh->config_file_);
    cfg << "# written by tests/e2e/mesh.cpp; flags give ports, names and data dirs\n"
        << "workload:\n"
        << "  health_check_interval_seconds: " << options.health_check_interval_seconds << "\n"
        << "discovery:\n"
        << "  cache_ttl_seconds: " << options.discovery_cache_ttl_seconds << "\n"
        << "log_level: " << options.log_level << "\n";
  }
  BEEMESH_TRY(mesh->set_up_membership());

  for (int i = 0; i < options.nodes; ++i) {
    auto n = mesh->new_node("n" + std::to_string(i + 1));
    if (!n) return n.error();
    mesh->nodes_.push_back(std::move(*n));
  }
  // Node 0 first (everyone bootstraps to it), then the rest together.
  BEEMESH_TRY(mesh->spawn(0));
  BEEMESH_TRY(mesh->wait_ready(0, 1, options.start_timeout));
  for (int i = 1; i < options.nodes; ++i) BEEMESH_TRY(mesh->spawn(i));
  for (int i = 0; i < options.nodes; ++i) {
    BEEMESH_TRY(mesh->wait_ready(i, options.nodes, options.start_timeout));
  }
  return mesh;
}

namespace {

std::string describe_run(const std::string& what, const Result<ProcessResult>& r) {
  if (!r) return what + " could not run: " + r.error().to_string();
  return what + " exited " + std::to_string(r->exit_code) + "; stdout: " + r->out +
         "; stderr: " + r->err;
}

// The last non-empty line of `text`, without surrounding white space.
std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    auto b = line.find_first_not_of(" \t\r");
    auto e = line.find_last_not_of(" \t\r");
    if (b != std::string::npos) last = line.substr(b, e - b + 1);
  }
  return last;
}

// The first run of 64 hex digits in `text` (a public key), or "".
std::string first_key_hex(const std::string& text) {
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (std::isxdigit(static_cast<unsigned char>(text[i]))) {
      if (++run == 64 &&
          (i + 1 == text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])))) {
        return text.substr(i + 1 - 64, 64);
      }
    } else {
      run = 0;
    }
  }
  return "";
}

api::ClientOptions quick_client_options() {
  api::ClientOptions options;
  options.connect_timeout = 1s;
  options.read_timeout = 5s;
  return options;
}

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("io_error", "cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<void> Mesh::set_up_membership() {
  admin_dir_ = work_dir_ / "admin";
  auto init = admin({"init", "--mesh-id", mesh_id_});
  if (!init || !init->success()) {
    return make_error("mesh_init_failed", describe_run("beemesh mesh init", init));
  }
  auto token = admin({"admit", "--ttl", std::to_string(options_.join_token_ttl.count())});
  if (!token || !token->success()) {
    return make_error("mesh_admit_failed", describe_run("beemesh mesh admit", token));
  }
  join_token_ = last_line(token->out);
  if (join_token_.rfind("bmjoin1.", 0) != 0) {
    return make_error("mesh_admit_failed",
                      "beemesh mesh admit printed no join token: " + token->out);
  }
  // The deployer lives in user_home() (what user_home() always meant: the CLI's home).
  auto deployer = create_user("deployer", "deployer", {}, user_home());
  if (!deployer) return deployer.error();
  deployer_ = *deployer;
  return {};
}

Result<ProcessResult> Mesh::admin(std::vector<std::string> args,
                                  std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {options_.binary.string(), "mesh", "--dir", admin_dir_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions po;
  po.timeout = timeout;
  po.env["BEEMESH_HOME"] = (work_dir_ / "admin-home").string();
  return run_process(argv, po);
}

Result<MeshUser> Mesh::add_user(const std::string& name, const std::string& role,
                                const std::vector<std::string>& namespaces) {
  return create_user(name, role, namespaces, work_dir_ / "users" / name);
}

Result<MeshUser> Mesh::create_user(const std::string& name, const std::string& role,
                                   const std::vector<std::string>& namespaces,
                                   const fs::path& home) {
  MeshUser user;
  user.name = name;
  user.role = role;
  user.home = home;
  std::error_code ec;
  fs::create_directories(user.home, ec);
  if (ec) return make_error("io_error", user.home.string() + ": " + ec.message());
  ::chmod(user.home.c_str(), 0700);
  auto who = run_as(user, {"whoami", "-o", "json"});
  if (!who || !who->success()) {
    return make_error("whoami_failed", describe_run("beemesh whoami (" + name + ")", who));
  }
  user.public_key_hex = first_key_hex(who->out);
  if (user.public_key_hex.size() != 64) {
    return make_error("whoami_failed", "beemesh whoami printed no public key: " + who->out);
  }
  if (role.empty()) return user;
  std::vector<std::string> args = {"user",  "--name",           name, "--role", role,
                                   "--key", user.public_key_hex};
  for (const auto& ns : namespaces) {
    args.push_back("--namespace");
    args.push_back(ns);
  }
  auto issued = admin(args);
  if (!issued || !issued->success()) {
    return make_error("mesh_user_failed", describe_run("beemesh mesh user (" + name + ")", issued));
  }
  user.credential_hex = last_line(issued->out);
  fs::path file = user.home / "issued.credential";
  {
    std::ofstream out(file);
    out << user.credential_hex << "\n";
  }
  auto login = run_as(user, {"login", "--credential", file.string()});
  if (!login || !login->success()) {
    return make_error("login_failed", describe_run("beemesh login (" + name + ")", login));
  }
  return user;
}

Result<crypto::Identity> Mesh::identity_of(const MeshUser& user) const {
  auto identity = crypto::Identity::load_or_create(user.home / "user.key");
  if (!identity) return identity.error();
  if (!user.credential_hex.empty()) {
    auto credential = from_hex(user.credential_hex);
    if (!credential) return credential.error();
    identity->set_credential(std::move(*credential));
  }
  return identity;
}

Result<crypto::Identity> Mesh::admitted_node_identity(const std::string& name) const {
  if (!fs::exists(admin_dir_ / "admin.key")) {
    return make_error("no_admin_key", (admin_dir_ / "admin.key").string() + " does not exist");
  }
  auto admin = crypto::Identity::load_or_create(admin_dir_ / "admin.key");
  if (!admin) return admin.error();
  auto node = crypto::Identity::generate();
  int64_t now = system_clock().now_ms();
  crypto::CertificateBody body;
  body.kind = crypto::CertKind::kNode;
  body.subject = node.public_key();
  body.name = name;
  body.mesh_id = mesh_id_;
  body.issued_ms = now;
  body.expires_ms = now + 24 * 3600 * 1000LL;
  node.set_credential(crypto::make_credential(crypto::issue_certificate(*admin, body)));
  return node;
}

Result<std::multimap<std::string, std::string>> Mesh::auth_headers(const MeshUser& user, int i,
                                                                   const std::string& method,
                                                                   const std::string& path) {
  auto identity = identity_of(user);
  if (!identity) return identity.error();
  return user_auth_headers(*identity, method, path, node(i).public_key_hex);
}

Result<MeshNode> Mesh::new_node(const std::string& name) {
  auto pick = [&](bool udp) -> Result<uint16_t> {
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto port = udp ? free_udp_port() : free_tcp_port();
      if (!port) return port;
      if (taken_ports_.insert(*port).second) return port;
    }
    return make_error("no_port", "could not find distinct free ports");
  };
  MeshNode n;
  n.name = name;
  // Names may hold anything a test wants to try; paths use a plain one.
  std::string plain = "node" + std::to_string(taken_ports_.size());
  bool safe = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  std::string dir_name = safe && !name.empty() ? name : plain;
  n.data_dir = work_dir_ / dir_name;
  n.log_file = work_dir_ / (dir_name + ".log");
  if (options_.own_podman_storage) {
    fs::path podman_dir = work_dir_ / (dir_name + "-podman");
    n.storage_conf = podman_dir / "storage.conf";
    fs::create_directories(podman_dir);
    std::ofstream conf(n.storage_conf);
    conf << "# this node's own Podman storage; images come read-only from the system store\n"
         << "[storage]\ndriver = \"overlay\"\n"
         << "graphroot = \"" << (podman_dir / "root").string() << "\"\n"
         << "runroot = \"" << (podman_dir / "run").string() << "\"\n"
         << "[storage.options]\n"
         << "additionalimagestores = [\"/var/lib/containers/storage\"]\n";
  }
  auto rpc = pick(false);
  auto api = pick(false);
  auto dht = pick(true);
  if (!rpc || !api || !dht) return !rpc ? rpc.error() : !api ? api.error() : dht.error();
  n.rpc_port = *rpc;
  n.api_port = *api;
  n.dht_port = *dht;
  return n;
}

std::vector<std::string> Mesh::machine_argv(const MeshNode& n, bool bootstrap) const {
  std::vector<std::string> argv = {options_.binary.string(),
                                   "machine",
                                   "--config",
                                   config_file_.string(),
                                   "--data-dir",
                                   n.data_dir.string(),
                                   "--name",
                                   n.name,
                                   "--rpc-listen",
                                   n.rpc_endpoint(),
                                   "--api-listen",
                                   "127.0.0.1:" + std::to_string(n.api_port),
                                   "--dht-listen",
                                   "127.0.0.1:" + std::to_string(n.dht_port),
                                   "--network-id",
                                   std::to_string(network_id_),
                                   "--engine",
                                   options_.engine,
                                   "--capacity-memory",
                                   options_.capacity_memory,
                                   "--capacity-cpu",
                                   options_.capacity_cpu};
  if (!options_.pod_security.empty()) {
    argv.push_back("--pod-security");
    argv.push_back(options_.pod_security);
  }
  if (bootstrap && !nodes_.empty()) {
    argv.push_back("--bootstrap");
    argv.push_back("127.0.0.1:" + std::to_string(nodes_.front().dht_port));
  }
  argv.insert(argv.end(), n.extra_flags.begin(), n.extra_flags.end());
  return argv;
}

Result<void> Mesh::spawn(int i) {
  auto& n = node(i);
  auto argv = machine_argv(n, i != 0);
  // The token is needed on the first start only; later starts use the stored membership.
  if (!n.joined) {
    argv.push_back("--join");
    argv.push_back(join_token_);
    n.joined = true;
  }
  std::map<std::string, std::string> env;
  if (!n.storage_conf.empty()) env["CONTAINERS_STORAGE_CONF"] = n.storage_conf.string();
  n.process = std::make_unique<ChildProcess>(argv, n.log_file, env);
  return n.process->start();
}

Result<int> Mesh::add_node(const std::string& name, std::vector<std::string> extra_flags) {
  auto n = new_node(name);
  if (!n) return n.error();
  n->extra_flags = std::move(extra_flags);
  nodes_.push_back(std::move(*n));
  int i = size() - 1;
  auto started = spawn(i);
  if (started) {
    started = wait_ready(i, size(), options_.start_timeout);
    for (int j = 0; started && j < i; ++j) started = wait_ready(j, size(), options_.start_timeout);
  }
  if (!started) {
    Error error = started.error();
    error.message += "\nlog of the added node:\n" + log_tail(i, 60);
    kill9(i);
    nodes_.pop_back();
    return error;
  }
  return i;
}

Result<StartAttempt> Mesh::start_non_member(const std::string& name,
                                            std::chrono::milliseconds timeout) {
  auto n = new_node(name);
  if (!n) return n.error();
  std::map<std::string, std::string> env;
  if (!n->storage_conf.empty()) env["CONTAINERS_STORAGE_CONF"] = n->storage_conf.string();
  ChildProcess process(machine_argv(*n, true), n->log_file, env);
  BEEMESH_TRY(process.start());
  StartAttempt attempt;
  attempt.exited = eventually([&] { return !process.running(); }, timeout, 50ms);
  if (!attempt.exited) process.kill9();
  attempt.exit_status = process.exit_status();
  attempt.log = read_file(n->log_file).value_or("");
  return attempt;
}

Result<std::unique_ptr<StrangerNode>> Mesh::start_stranger(const std::string& name) {
  auto stranger = std::make_unique<StrangerNode>();
  auto n = new_node(name);
  if (!n) return n.error();
  stranger->node = std::move(*n);
  stranger->admin_dir = work_dir_ / (stranger->node.data_dir.filename().string() + "-admin");
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {options_.binary.string(), "mesh", "--dir",
                                     stranger->admin_dir.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions po;
    po.timeout = 60s;
    po.env["BEEMESH_HOME"] = (work_dir_ / "stranger-home").string();
    return run_process(argv, po);
  };
  auto init = run({"init", "--mesh-id", "stranger-" + name});
  if (!init || !init->success()) {
    return make_error("mesh_init_failed", describe_run("stranger's mesh init", init));
  }
  auto token = run({"admit", "--ttl", "3600"});
  if (!token || !token->success()) {
    return make_error("mesh_admit_failed", describe_run("stranger's mesh admit", token));
  }
  auto argv = machine_argv(stranger->node, true);
  argv.push_back("--join");
  argv.push_back(last_line(token->out));
  std::map<std::string, std::string> env;
  if (!stranger->node.storage_conf.empty()) {
    env["CONTAINERS_STORAGE_CONF"] = stranger->node.storage_conf.string();
  }
  stranger->node.process = std::make_unique<ChildProcess>(argv, stranger->node.log_file, env);
  BEEMESH_TRY(stranger->node.process->start());
  api::ApiClient client(stranger->node.api_url(), quick_client_options());
  Result<api::HealthInfo> health = make_error("timeout", "no answer");
  bool up = eventually(
      [&] {
        if (!stranger->node.process->running()) return true;
        health = client.health();
        return health.ok();
      },
      options_.start_timeout, 100ms);
  if (!up || !health) {
    auto log = read_file(stranger->node.log_file).value_or("");
    return make_error("daemon_exited",
                      "the stranger's node did not come up (" +
                          (health ? std::string("?") : health.error().to_string()) + "); log:\n" +
                          log);
  }
  stranger->node.node_id = health->node_id;
  stranger->node.public_key_hex = health->public_key_hex;
  return stranger;
}

void Mesh::kill9(int i) {
  if (node(i).process) node(i).process->kill9();
}

bool Mesh::terminate(int i) {
  return node(i).process ? node(i).process->terminate(10s) : true;
}

Result<void> Mesh::restart(int i) {
  if (node(i).process && node(i).process->running()) {
    return make_error("already_running", node(i).name + " is still running");
  }
  BEEMESH_TRY(spawn(i));
  return wait_ready(i, size(), options_.start_timeout);
}

Result<size_t> Mesh::nodes_listed(int i) {
  auto headers = auth_headers(deployer_, i, "GET", "/nodes");
  if (!headers) return headers.error();
  auto reply = rest_call(node(i).api_port, "GET", "/nodes", *headers, {}, {}, 5s);
  if (!reply) return reply.error();
  if (reply->status != 200) {
    return make_error(
        reply->error_code.empty() ? "http_" + std::to_string(reply->status) : reply->error_code,
        "GET /nodes: " + reply->body);
  }
  auto json = api::parse_json(reply->body);
  if (!json) return json.error();
  auto nodes = api::nodes_from_json(*json);
  if (!nodes) return nodes.error();
  return nodes->size();
}

Result<void> Mesh::wait_ready(int i, int expected_nodes, std::chrono::milliseconds timeout) {
  auto& n = node(i);
  api::ApiClient client(n.api_url(), quick_client_options());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string waiting_for = "GET /health";
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!n.process || !n.process->running()) {
      return make_error("daemon_exited",
                        n.name + " exited with status " +
                            std::to_string(n.process ? n.process->exit_status() : -1) +
                            " while waiting for " + waiting_for + "; log:\n" + log_tail(i));
    }
    if (n.node_id.empty() || waiting_for == "GET /health") {
      auto health = client.health();
      if (!health) {
        last_error = health.error().to_string();
        std::this_thread::sleep_for(50ms);
        continue;
      }
      n.node_id = health->node_id;
      n.public_key_hex = health->public_key_hex;
      waiting_for = "GET /nodes to list " + std::to_string(expected_nodes) + " nodes";
    }
    // Reads need a user with a certificate: the harness asks as the deployer.
    auto listed = nodes_listed(i);
    if (listed && static_cast<int>(*listed) >= expected_nodes) return {};
    last_error = listed ? std::to_string(*listed) + " listed" : listed.error().to_string();
    std::this_thread::sleep_for(100ms);
  }
  return make_error("timeout", n.name + " (" + n.api_url() + "): gave up waiting for " +
                                   waiting_for + " (last: " + last_error + "); log:\n" +
                                   log_tail(i));
}

Result<ProcessResult> Mesh::cli(int i, std::vector<std::string> args,
                                std::chrono::milliseconds timeout) {
  return cli_as(deployer_, i, std::move(args), timeout);
}

Result<ProcessResult> Mesh::cli_as(const MeshUser& user, int i, std::vector<std::string> args,
                                   std::chrono::milliseconds timeout) {
  args.insert(args.begin(), {"--server", node(i).api_url()});
  return run_as(user, std::move(args), timeout);
}

Result<ProcessResult> Mesh::run_as(const MeshUser& user, std::vector<std::string> args,
                                   std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {options_.binary.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions po;
  po.timeout = timeout;
  po.env["BEEMESH_HOME"] = user.home.string();
  return run_process(argv, po);
}

std::string Mesh::log_tail(int i, size_t lines) const {
  std::ifstream in(nodes_.at(static_cast<size_t>(i)).log_file);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += "  | " + l + "\n";
  return out;
}

Result<ProcessResult> Mesh::podman(int i, std::vector<std::string> args) {
  return e2e::podman(std::move(args), node(i).storage_conf);
}

Result<std::vector<std::string>> Mesh::pods_with_label(int i, const std::string& key,
                                                       const std::string& value) {
  return e2e::pods_with_label(key, value, node(i).storage_conf);
}

Result<std::vector<std::string>> Mesh::pods_with_label(const std::string& key,
                                                       const std::string& value) {
  std::set<fs::path> stores;
  for (const auto& n : nodes_) stores.insert(n.storage_conf);
  std::vector<std::string> all;
  for (const auto& store : stores) {
    auto ids = e2e::pods_with_label(key, value, store);
    if (!ids) return ids.error();
    all.insert(all.end(), ids->begin(), ids->end());
  }
  std::sort(all.begin(), all.end());
  return all;
}

// ---- podman -------------------------------------------------------------------------------

Result<ProcessResult> podman(std::vector<std::string> args, const fs::path& storage_conf) {
  args.insert(args.begin(), "podman");
  ProcessOptions po;
  po.timeout = 60s;
  if (!storage_conf.empty()) po.env["CONTAINERS_STORAGE_CONF"] = storage_conf.string();
  return run_process(args, po);
}

Result<void> check_podman_ready() {
  const char* conf = std::getenv("CONTAINERS_CONF");
  if (!conf || !*conf) {
    return make_error("no_podman_config",
                      "CONTAINERS_CONF is not set (source scripts/env.sh; ctest sets it)");
  }
  auto version = podman({"version", "--format", "{{.Client.Version}}"});
  if (!version) return make_error("no_podman", "podman cannot run: " + version.error().to_string());
  if (!version->success()) return make_error("no_podman", "podman version: " + version->err);
  auto image = podman({"image", "exists", "localhost/busybox:latest"});
  if (!image || !image->success()) {
    return make_error("no_image",
                      "localhost/busybox:latest is missing (run scripts/setup-podman.sh)");
  }
  return {};
}

Result<std::vector<std::string>> pods_with_label(const std::string& key, const std::string& value,
                                                 const fs::path& storage_conf) {
  auto r = podman({"pod", "ls", "-q", "--no-trunc", "--filter", "label=" + key + "=" + value},
                  storage_conf);
  if (!r) return r.error();
  if (!r->success()) return make_error("podman_failed", "podman pod ls: " + r->err);
  std::vector<std::string> ids;
  std::istringstream in(r->out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) ids.push_back(line);
  }
  return ids;
}

void remove_pods_with_label(const std::string& key, const std::string& value,
                            const fs::path& storage_conf) {
  auto ids = pods_with_label(key, value, storage_conf);
  if (!ids) return;
  for (const auto& id : *ids) (void)podman({"pod", "rm", "-f", "-t", "0", id}, storage_conf);
}

// ---- HTTP and waiting ----------------------------------------------------------------------

Result<std::string> http_get(uint16_t port, const std::string& path,
                             std::chrono::milliseconds timeout) {
  return http_get("127.0.0.1", port, path, timeout);
}

Result<std::string> http_get(const std::string& host, uint16_t port, const std::string& path,
                             std::chrono::milliseconds timeout) {
  httplib::Client client(host, port);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  const std::string url = "http://" + host + ":" + std::to_string(port) + path;
  auto res = client.Get(path);
  if (!res) return make_error("unreachable", "GET " + url + ": " + httplib::to_string(res.error()));
  if (res->status != 200) {
    return make_error("http_" + std::to_string(res->status),
                      "GET " + url + " answered " + std::to_string(res->status));
  }
  return res->body;
}

bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (probe()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace beemesh::e2e
