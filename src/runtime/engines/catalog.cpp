#include "runtime/engines/catalog.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "runtime/engines/docker/docker_engine.h"
#include "runtime/engines/podman/podman_rest_engine.h"

namespace beemesh::runtime {
namespace {

// Reads typed values from one mapping; every error names "<prefix><key>".
class Keys {
 public:
  Keys(const YAML::Node& node, std::string prefix) : node_(node), prefix_(std::move(prefix)) {}

  Error error(const std::string& key, const std::string& reason) const {
    return make_error("bad_config", prefix_ + key + ": " + reason);
  }

  Result<void> only(const std::set<std::string>& allowed) const {
    for (const auto& kv : node_) {
      auto key = kv.first.as<std::string>();
      if (allowed.count(key) == 0) return error(key, "unknown key");
    }
    return {};
  }

  template <typename T>
  Result<void> read(const std::string& key, T& out) const {
    if (!node_[key]) return {};
    try {
      out = node_[key].as<T>();
    } catch (const YAML::Exception&) {
      return error(key, "wrong type");
    }
    return {};
  }

  // A duration in seconds (fractions allowed), more than 0 and at most an hour.
  Result<void> seconds(const std::string& key, std::chrono::milliseconds& out) const {
    if (!node_[key]) return {};
    double value = 0;
    BEEMESH_TRY(read(key, value));
    if (!std::isfinite(value) || value <= 0 || value > 3600) {
      return error(key, "must be more than 0 and at most 3600 (seconds)");
    }
    out = std::chrono::milliseconds(static_cast<int64_t>(std::llround(value * 1000)));
    if (out.count() == 0) out = std::chrono::milliseconds(1);
    return {};
  }

  // A path that, when given, is absolute.
  Result<void> path(const std::string& key, std::string& out) const {
    BEEMESH_TRY(read(key, out));
    if (!out.empty() && out.front() != '/') return error(key, "must be an absolute path");
    return {};
  }

 private:
  const YAML::Node& node_;
  std::string prefix_;
};

// "v1.41", "v4.0.0": a 'v' and two or more dot-separated numbers.
bool valid_api_version(const std::string& v) {
  if (v.size() < 4 || v.front() != 'v') return false;
  int groups = 0;
  std::size_t digits = 0;
  for (std::size_t i = 1; i <= v.size(); ++i) {
    if (i == v.size() || v[i] == '.') {
      if (digits == 0) return false;
      ++groups;
      digits = 0;
    } else if (v[i] >= '0' && v[i] <= '9') {
      ++digits;
    } else {
      return false;
    }
  }
  return groups >= 2;
}

const std::set<std::string> kCommonKeys = {"kind", "priority", "implicit"};

std::set<std::string> with_common(std::set<std::string> keys) {
  keys.insert(kCommonKeys.begin(), kCommonKeys.end());
  return keys;
}

// ---- what both Podman engines (podman-cli and podman) read alike --------------------------

// with_common() plus the keys read by read_podman_storage() and read_podman_timeouts(), and env.
std::set<std::string> with_podman_common(std::set<std::string> keys) {
  keys.insert({"binary", "root", "runroot", "storage_driver", "env", "play_timeout_seconds",
               "query_timeout_seconds", "probe_timeout_seconds", "start_timeout_seconds",
               "stop_grace_seconds"});
  return with_common(std::move(keys));
}

// The podman binary and its storage: binary (not empty), root, runroot, storage_driver.
template <typename Config>
Result<void> read_podman_storage(const Keys& k, Config& c) {
  BEEMESH_TRY(k.read("binary", c.podman_binary));
  if (c.podman_binary.empty()) return k.error("binary", "must not be empty");
  BEEMESH_TRY(k.path("root", c.root));
  BEEMESH_TRY(k.path("runroot", c.runroot));
  BEEMESH_TRY(k.read("storage_driver", c.storage_driver));
  return {};
}

// play, query, probe and start timeouts, and stop_grace_seconds (0..600).
template <typename Config>
Result<void> read_podman_timeouts(const Keys& k, Config& c) {
  BEEMESH_TRY(k.seconds("play_timeout_seconds", c.play_timeout));
  BEEMESH_TRY(k.seconds("query_timeout_seconds", c.query_timeout));
  BEEMESH_TRY(k.seconds("probe_timeout_seconds", c.probe_timeout));
  BEEMESH_TRY(k.seconds("start_timeout_seconds", c.start_timeout));
  BEEMESH_TRY(k.read("stop_grace_seconds", c.stop_grace_seconds));
  if (c.stop_grace_seconds < 0 || c.stop_grace_seconds > 600) {
    return k.error("stop_grace_seconds", "must be 0..600");
  }
  return {};
}

// ---- podman-cli (the podman CLI, one process per call)
// ------------------------------------------------------------------------

Result<void> read_podman(const YAML::Node& node, const std::string& prefix, EngineSettings& out) {
  PodmanConfig c;
  Keys k(node, prefix);
  BEEMESH_TRY(k.only(with_podman_common({"temp_dir"})));
  BEEMESH_TRY(read_podman_storage(k, c));
  BEEMESH_TRY(k.path("temp_dir", c.temp_dir));
  BEEMESH_TRY(k.read("env", c.env));
  BEEMESH_TRY(read_podman_timeouts(k, c));
  out.config = std::move(c);
  return {};
}

Result<std::shared_ptr<RuntimeEngine>> init_podman(const EngineSettings& s) {
  auto config = std::get<PodmanConfig>(s.config);
  config.name = s.name;
  return std::shared_ptr<RuntimeEngine>(std::make_shared<PodmanEngine>(std::move(config)));
}

// ---- podman (the libpod REST API; the default) -------------------------------------------

Result<void> read_podman_rest(const YAML::Node& node, const std::string& prefix,
                              EngineSettings& out) {
  PodmanRestConfig c;
  Keys k(node, prefix);
  BEEMESH_TRY(k.only(
      with_podman_common({"socket", "api_version", "service_dir", "service_start_timeout_seconds",
                          "service_idle_timeout_seconds"})));
  BEEMESH_TRY(k.path("socket", c.socket_path));
  BEEMESH_TRY(k.read("api_version", c.api_version));
  if (!valid_api_version(c.api_version)) return k.error("api_version", "must look like v4.0.0");
  BEEMESH_TRY(read_podman_storage(k, c));
  BEEMESH_TRY(k.read("env", c.env));
  BEEMESH_TRY(k.path("service_dir", c.service_dir));
  BEEMESH_TRY(k.seconds("service_start_timeout_seconds", c.service_start_timeout));
  BEEMESH_TRY(k.read("service_idle_timeout_seconds", c.service_idle_timeout_seconds));
  if (c.service_idle_timeout_seconds < 0 || c.service_idle_timeout_seconds > 86400) {
    return k.error("service_idle_timeout_seconds", "must be 0..86400 (0: never)");
  }
  BEEMESH_TRY(read_podman_timeouts(k, c));
  out.config = std::move(c);
  return {};
}

Result<std::shared_ptr<RuntimeEngine>> init_podman_rest(const EngineSettings& s) {
  auto config = std::get<PodmanRestConfig>(s.config);
  config.name = s.name;
  return std::shared_ptr<RuntimeEngine>(std::make_shared<PodmanRestEngine>(std::move(config)));
}

// ---- docker (Docker Engine API; also Podman's Docker-compatible service) ----------------

Result<void> read_docker(const YAML::Node& node, const std::string& prefix, EngineSettings& out) {
  docker::DockerEngineOptions o;
  Keys k(node, prefix);
  BEEMESH_TRY(k.only(with_common({"socket", "api_version", "pause_image", "pull_missing_images",
                                  "ping_timeout_seconds", "request_timeout_seconds",
                                  "pull_timeout_seconds", "nofile_limit", "nproc_limit"})));
  BEEMESH_TRY(k.path("socket", o.socket_path));
  BEEMESH_TRY(k.read("api_version", o.api_version));
  if (!valid_api_version(o.api_version)) return k.error("api_version", "must look like v1.41");
  BEEMESH_TRY(k.read("pause_image", o.pause_image));
  if (o.pause_image.empty()) return k.error("pause_image", "must not be empty");
  BEEMESH_TRY(k.read("pull_missing_images", o.pull_missing_images));
  BEEMESH_TRY(k.seconds("ping_timeout_seconds", o.ping_timeout));
  BEEMESH_TRY(k.seconds("request_timeout_seconds", o.request_timeout));
  BEEMESH_TRY(k.seconds("pull_timeout_seconds", o.pull_timeout));
  BEEMESH_TRY(k.read("nofile_limit", o.nofile_limit));
  BEEMESH_TRY(k.read("nproc_limit", o.nproc_limit));
  if (o.nofile_limit < 1) return k.error("nofile_limit", "must be more than 0");
  if (o.nproc_limit < 1) return k.error("nproc_limit", "must be more than 0");
  out.config = std::move(o);
  return {};
}

Result<std::shared_ptr<RuntimeEngine>> init_docker(const EngineSettings& s) {
  auto options = std::get<docker::DockerEngineOptions>(s.config);
  options.name = s.name;
  return std::shared_ptr<RuntimeEngine>(std::make_shared<docker::DockerEngine>(options));
}

// The registration list. A new engine kind is one line here (plus its config struct in
// EngineSettings::config).
constexpr std::array kKinds = {
    EngineKind{"podman", 100, &read_podman_rest, &init_podman_rest},
    EngineKind{"podman-cli", 90, &read_podman, &init_podman},
    EngineKind{"docker", 50, &read_docker, &init_docker},
};

bool valid_engine_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  return std::all_of(
             name.begin(), name.end(),
             [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }) &&
         name.front() != '-' && name.back() != '-';
}

}  // namespace

std::span<const EngineKind> engine_kinds() {
  return kKinds;
}

const EngineKind* find_engine_kind(std::string_view kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

std::vector<EngineSettings> default_engines() {
  std::vector<EngineSettings> out;
  out.push_back(EngineSettings{"podman", "podman", 100, true, PodmanRestConfig{}});
  out.push_back(EngineSettings{"docker", "docker", 50, true, docker::DockerEngineOptions{}});
  return out;
}

Result<std::vector<EngineSettings>> parse_engines(const YAML::Node& node) {
  if (node.IsNull()) return std::vector<EngineSettings>{};
  if (!node.IsMap()) {
    return make_error("bad_config", "engines: must be a mapping of engine name to settings");
  }
  std::vector<EngineSettings> out;
  for (const auto& kv : node) {
    const auto name = kv.first.as<std::string>();
    const std::string prefix = "engines." + name + ".";
    if (!valid_engine_name(name)) {
      return make_error(
          "bad_config",
          "engines." + name + ": an engine name is 1-63 lowercase letters, digits, '-'");
    }
    if (!kv.second.IsNull() && !kv.second.IsMap()) {
      return make_error("bad_config", "engines." + name + ": must be a mapping");
    }
    if (std::any_of(out.begin(), out.end(), [&](const auto& e) { return e.name == name; })) {
      return make_error("bad_config", "engines." + name + ": named twice");
    }
    const YAML::Node body = kv.second.IsNull() ? YAML::Node(YAML::NodeType::Map) : kv.second;
    EngineSettings s;
    s.name = name;
    s.kind = name;
    Keys k(body, prefix);
    BEEMESH_TRY(k.read("kind", s.kind));
    const EngineKind* kind = find_engine_kind(s.kind);
    if (kind == nullptr) {
      std::string known;
      for (const auto& kk : kKinds) known += (known.empty() ? "" : ", ") + std::string(kk.kind);
      const std::string what = "unknown engine kind '" + s.kind + "' (known: " + known + ")";
      if (body["kind"]) return k.error("kind", what);
      return make_error("bad_config", "engines." + name + ": " + what);
    }
    s.priority = kind->default_priority;
    BEEMESH_TRY(k.read("priority", s.priority));
    BEEMESH_TRY(k.read("implicit", s.implicit));
    BEEMESH_TRY(kind->read(body, prefix, s));
    out.push_back(std::move(s));
  }
  return out;
}

Result<void> register_engines(const std::vector<EngineSettings>& engines,
                              EngineRegistry& registry) {
  for (const auto& s : engines) {
    const EngineKind* kind = find_engine_kind(s.kind);
    if (kind == nullptr) return make_error("bad_config", "engines." + s.name + ": unknown kind");
    auto engine = kind->init(s);
    if (!engine) return engine.error();
    registry.add(std::move(*engine), s.priority, s.implicit);
  }
  return {};
}

}  // namespace beemesh::runtime
