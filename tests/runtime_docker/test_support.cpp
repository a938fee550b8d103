#include "test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <httplib.h>

#include "runtime/engines/docker/unix_http.h"

namespace beemesh::test {
namespace {

int bind_loopback(bool keep_listening, int* port_out) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      (keep_listening && ::listen(fd, 4) != 0)) {
    ::close(fd);
    return -1;
  }
  *port_out = ntohs(addr.sin_port);
  if (!keep_listening) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int free_loopback_port() {
  int port = 0;
  bind_loopback(false, &port);
  return port;
}

PortHolder::PortHolder() {
  fd_ = bind_loopback(true, &port_);
}

PortHolder::~PortHolder() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::string> http_get_eventually(int port, const std::string& path,
                                        std::chrono::milliseconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  std::string last = "no attempt";
  while (true) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(2, 0);
    auto res = client.Get(path.c_str());
    if (res && res->status == 200) return res->body;
    last = res ? "HTTP " + std::to_string(res->status) : httplib::to_string(res.error());
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return make_error("http_failed", "GET 127.0.0.1:" + std::to_string(port) + path + ": " + last);
}

Result<nlohmann::json> api_get(const std::string& socket, const std::string& path) {
  runtime::docker::UnixHttpClient client(socket);
  auto r = client.request("GET", "/v1.41" + path, "", "", std::chrono::seconds(10));
  if (!r) return r.error();
  if (r->status != 200) {
    return make_error("http_" + std::to_string(r->status), path + ": " + r->body);
  }
  auto json = nlohmann::json::parse(r->body, nullptr, false);
  if (json.is_discarded()) return make_error("invalid_response", path + ": not JSON");
  return json;
}

UnixHttpPost::UnixHttpPost(const std::string& socket, const std::string& path) {
  runtime::docker::UnixHttpClient client(socket);
  auto r = client.request("POST", "/v1.41" + path, "", "", std::chrono::seconds(30));
  if (!r) {
    error_ = r.error().to_string();
  } else if (r->status < 200 || r->status > 299) {
    error_ = "POST " + path + ": HTTP " + std::to_string(r->status) + ": " + r->body;
  }
}

Result<std::vector<std::string>> containers_labelled(const std::string& socket,
                                                     const std::string& key,
                                                     const std::string& value) {
  nlohmann::json filters = {{"label", {key + "=" + value}}};
  auto list = api_get(
      socket, "/containers/json?all=1&filters=" + runtime::docker::url_encode(filters.dump()));
  if (!list) return list.error();
  std::vector<std::string> ids;
  for (const auto& c : *list) ids.push_back(c.value("Id", ""));
  return ids;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace beemesh::test
