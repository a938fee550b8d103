// tests/runtime_docker/test_support.h — small helpers for tests against real Docker APIs.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace beemesh::test {

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

// Holds a listening socket on 127.0.0.1:port until destroyed.
class PortHolder {
 public:
  PortHolder();
  ~PortHolder();
  PortHolder(const PortHolder&) = delete;
  PortHolder& operator=(const PortHolder&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// GET http://127.0.0.1:port/path, retried until it answers 200 or `within` runs out.
Result<std::string> http_get_eventually(int port, const std::string& path,
                                        std::chrono::milliseconds within);

// GET /v1.41<path> on a Docker API socket; the JSON answer, or Error with the status.
Result<nlohmann::json> api_get(const std::string& socket, const std::string& path);

// POST /v1.41<path> on a Docker API socket with an empty body; ok() when it answered 2xx.
class UnixHttpPost {
 public:
  UnixHttpPost(const std::string& socket, const std::string& path);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

// Ids of all containers (running or not) carrying label key=value.
Result<std::vector<std::string>> containers_labelled(const std::string& socket,
                                                     const std::string& key,
                                                     const std::string& value);

// Polls `condition` every 100 ms until it holds or `within` runs out.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within);

}  // namespace beemesh::test
