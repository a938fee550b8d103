#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "manifest/manifest.h"

namespace beemesh::app {

namespace {

Result<uint16_t> parse_port(std::string_view digits) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port > 65535) {
    return make_error("bad_config", "not a port number: '" + std::string(digits) + "'");
  }
  return static_cast<uint16_t>(port);
}

bool has_space(std::string_view text) {
  return text.find_first_of(" \t/") != std::string_view::npos;
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text) {
  auto not_host_port = [&] {
    return make_error("bad_config", "not host:port: '" + std::string(text) + "'");
  };
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close == 1 || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return not_host_port();
    }
    auto port = parse_port(text.substr(close + 2));
    if (!port) return port.error();
    return HostPort{std::string(text.substr(1, close - 1)), *port};
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size() ||
      text.substr(0, colon).find(':') != std::string_view::npos || has_space(text)) {
    return not_host_port();
  }
  auto port = parse_port(text.substr(colon + 1));
  if (!port) return port.error();
  return HostPort{std::string(text.substr(0, colon)), *port};
}

Result<HostPort> parse_host_optional_port(std::string_view text) {
  if (text.empty() || has_space(text)) {
    return make_error("bad_config", "not a host or host:port: '" + std::string(text) + "'");
  }
  if (text.front() == '[') {
    if (text.back() == ']' && text.size() > 2) {
      return HostPort{std::string(text.substr(1, text.size() - 2)), 0};
    }
    return parse_host_port(text);
  }
  auto colons = std::count(text.begin(), text.end(), ':');
  if (colons == 0) return HostPort{std::string(text), 0};
  if (colons > 1) return HostPort{std::string(text), 0};  // a bare IPv6 literal
  return parse_host_port(text);
}

Result<ApiAdvertise> parse_api_advertise(std::string_view text) {
  ApiAdvertise out;
  for (std::string_view scheme : {"http", "https"}) {
    std::string prefix = std::string(scheme) + "://";
    if (text.starts_with(prefix)) {
      out.scheme = scheme;
      text.remove_prefix(prefix.size());
      if (text.ends_with("/")) text.remove_suffix(1);
      break;
    }
  }
  if (text.find("://") != std::string_view::npos) {
    return make_error("bad_config", "only http:// and https:// URLs: '" + std::string(text) + "'");
  }
  auto at = parse_host_optional_port(text);
  if (!at) return at.error();
  out.at = *at;
  return out;
}

namespace {

class Reader {
 public:
  Reader(std::string_view source, std::string prefix)
      : source_(source), prefix_(std::move(prefix)) {}

  Error error(const std::string& key, const std::string& reason) const {
    return make_error("bad_config", std::string(source_) + ": " + prefix_ + key + ": " + reason);
  }

  Result<void> check_keys(const YAML::Node& node, const std::set<std::string>& allowed) const {
    for (const auto& kv : node) {
      auto key = kv.first.as<std::string>();
      if (allowed.count(key) == 0) return error(key, "unknown key");
    }
    return {};
  }

  template <typename T>
  Result<void> read(const YAML::Node& node, const std::string& key, T& out) const {
    if (!node[key]) return {};
    try {
      out = node[key].as<T>();
    } catch (const YAML::Exception&) {
      return error(key, "wrong type");
    }
    return {};
  }

  Result<void> read_host_port(const YAML::Node& node, const std::string& key, HostPort& out) const {
    std::string text;
    if (auto r = read(node, key, text); !r) return r;
    if (text.empty()) return {};
    auto hp = parse_host_port(text);
    if (!hp) return error(key, hp.error().message);
    out = *hp;
    return {};
  }

  // A listen address that may also be "off" (host "" in the result).
  Result<void> read_listen_or_off(const YAML::Node& node, const std::string& key,
                                  std::optional<HostPort>& out) const {
    std::string text;
    if (auto r = read(node, key, text); !r) return r;
    if (text.empty()) return {};
    if (text == "off") {
      out = HostPort{};
      return {};
    }
    auto hp = parse_host_port(text);
    if (!hp) return error(key, hp.error().message);
    out = *hp;
    return {};
  }

 private:
  std::string_view source_;
  std::string prefix_;
};

Result<void> read_workload(const YAML::Node& node, std::string_view source, WorkloadSettings& w) {
  Reader r(source, "workload.");
  BEEMESH_TRY(r.check_keys(
      node, {"announce_as_provider", "provider_ttl_seconds", "preferred_runtime",
             "validate_manifests", "max_concurrent_deployments", "health_check_interval_seconds"}));
  BEEMESH_TRY(r.read(node, "announce_as_provider", w.announce_as_provider));
  BEEMESH_TRY(r.read(node, "provider_ttl_seconds", w.provider_ttl_seconds));
  if (node["preferred_runtime"]) {
    std::string rt;
    BEEMESH_TRY(r.read(node, "preferred_runtime", rt));
    w.preferred_runtime = rt.empty() ? std::nullopt : std::optional<std::string>(rt);
  }
  BEEMESH_TRY(r.read(node, "validate_manifests", w.validate_manifests));
  BEEMESH_TRY(r.read(node, "max_concurrent_deployments", w.max_concurrent_deployments));
  BEEMESH_TRY(r.read(node, "health_check_interval_seconds", w.health_check_interval_seconds));
  if (w.provider_ttl_seconds < 10) return r.error("provider_ttl_seconds", "must be >= 10");
  if (w.max_concurrent_deployments < 1) {
    return r.error("max_concurrent_deployments", "must be >= 1");
  }
  if (w.health_check_interval_seconds < 1) {
    return r.error("health_check_interval_seconds", "must be >= 1");
  }
  return {};
}

Result<void> read_discovery(const YAML::Node& node, std::string_view source, DiscoverySettings& d) {
  Reader r(source, "discovery.");
  BEEMESH_TRY(r.check_keys(node, {"cache_ttl_seconds", "timeout_seconds", "max_providers"}));
  BEEMESH_TRY(r.read(node, "cache_ttl_seconds", d.cache_ttl_seconds));
  BEEMESH_TRY(r.read(node, "timeout_seconds", d.timeout_seconds));
  BEEMESH_TRY(r.read(node, "max_providers", d.max_providers));
  if (d.timeout_seconds < 1) return r.error("timeout_seconds", "must be >= 1");
  if (d.max_providers < 1) return r.error("max_providers", "must be >= 1");
  return {};
}

}  // namespace

Result<NodeConfig> parse_config(std::string_view yaml, std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return make_error("bad_config", std::string(source) + ": " + e.what());
  }
  NodeConfig c;
  if (root.IsNull()) return c;
  Reader r(source, "");
  if (!root.IsMap()) return r.error("(top)", "must be a mapping");
  BEEMESH_TRY(r.check_keys(
      root,
      {"data_dir",    "node_name",     "rpc_listen",    "api_listen",      "dht_listen",
       "bootstrap",   "network_id",    "publish_ports", "publish_host_ip", "capacity",
       "key_shares",  "workload",      "discovery",     "log_level",       "log_json",
       "join_token",  "pod_security",  "api_tls_cert",  "api_tls_key",     "api_allowed_hosts",
       "dht_listen6", "rpc_advertise", "api_advertise", "check_advertise", "engines"}));
  std::string data_dir;
  BEEMESH_TRY(r.read(root, "data_dir", data_dir));
  if (!data_dir.empty()) c.data_dir = data_dir;
  BEEMESH_TRY(r.read(root, "node_name", c.node_name));
  BEEMESH_TRY(r.read_host_port(root, "rpc_listen", c.rpc_listen));
  BEEMESH_TRY(r.read_host_port(root, "api_listen", c.api_listen));
  std::optional<HostPort> dht4;
  BEEMESH_TRY(r.read_listen_or_off(root, "dht_listen", dht4));
  if (dht4) c.dht_listen = *dht4;
  BEEMESH_TRY(r.read_listen_or_off(root, "dht_listen6", c.dht_listen6));
  if (c.dht_listen.host.empty() && c.dht_listen6 && c.dht_listen6->host.empty()) {
    return r.error("dht_listen6", "dht_listen and dht_listen6 are both off; the DHT needs one");
  }
  std::string rpc_advertise, api_advertise;
  BEEMESH_TRY(r.read(root, "rpc_advertise", rpc_advertise));
  if (!rpc_advertise.empty()) {
    auto hp = parse_host_optional_port(rpc_advertise);
    if (!hp) return r.error("rpc_advertise", hp.error().message);
    c.rpc_advertise = *hp;
  }
  BEEMESH_TRY(r.read(root, "api_advertise", api_advertise));
  if (!api_advertise.empty()) {
    auto a = parse_api_advertise(api_advertise);
    if (!a) return r.error("api_advertise", a.error().message);
    c.api_advertise = *a;
  }
  BEEMESH_TRY(r.read(root, "check_advertise", c.check_advertise));
  std::vector<std::string> bootstrap;
  BEEMESH_TRY(r.read(root, "bootstrap", bootstrap));
  for (size_t i = 0; i < bootstrap.size(); ++i) {
    auto hp = parse_host_port(bootstrap[i]);
    if (!hp) return r.error("bootstrap[" + std::to_string(i) + "]", hp.error().message);
    c.bootstrap.push_back(*hp);
  }
  BEEMESH_TRY(r.read(root, "network_id", c.network_id));
  BEEMESH_TRY(r.read(root, "publish_ports", c.publish_ports));
  BEEMESH_TRY(r.read(root, "publish_host_ip", c.publish_host_ip));
  if (auto cap = root["capacity"]) {
    Reader cr(source, "capacity.");
    BEEMESH_TRY(cr.check_keys(cap, {"memory", "cpu"}));
    std::string mem, cpu;
    BEEMESH_TRY(cr.read(cap, "memory", mem));
    BEEMESH_TRY(cr.read(cap, "cpu", cpu));
    if (!mem.empty()) {
      auto v = manifest::parse_memory_bytes(mem);
      if (!v) return cr.error("memory", "not a Kubernetes quantity: '" + mem + "'");
      c.capacity_memory_bytes = *v;
    }
    if (!cpu.empty()) {
      auto v = manifest::parse_cpu_millis(cpu);
      if (!v) return cr.error("cpu", "not a Kubernetes quantity: '" + cpu + "'");
      c.capacity_cpu_millis = *v;
    }
  }
  if (auto ks = root["key_shares"]) {
    Reader kr(source, "key_shares.");
    BEEMESH_TRY(kr.check_keys(ks, {"count", "threshold"}));
    BEEMESH_TRY(kr.read(ks, "count", c.key_share_count));
    BEEMESH_TRY(kr.read(ks, "threshold", c.key_share_threshold));
    if (c.key_share_count < 1 || c.key_share_count > 255) {
      return kr.error("count", "must be 1..255");
    }
    if (c.key_share_threshold < 1 || c.key_share_threshold > c.key_share_count) {
      return kr.error("threshold", "must be 1..count");
    }
  }
  if (auto w = root["workload"]) BEEMESH_TRY(read_workload(w, source, c.workload));
  if (auto d = root["discovery"]) BEEMESH_TRY(read_discovery(d, source, c.discovery));
  if (auto e = root["engines"]) {
    auto engines = runtime::parse_engines(e);
    if (!engines) {
      return make_error("bad_config", std::string(source) + ": " + engines.error().message);
    }
    c.engines = std::move(*engines);
  }
  if (c.workload.preferred_runtime) {
    std::string names;
    bool found = false;
    for (const auto& e : c.engines) {
      names += (names.empty() ? "" : ", ") + e.name;
      found = found || e.name == *c.workload.preferred_runtime;
    }
    if (!found) {
      return r.error("workload.preferred_runtime",
                     "no engine named '" + *c.workload.preferred_runtime +
                         "' (engines: " + (names.empty() ? "none" : names) + ")");
    }
  }
  BEEMESH_TRY(r.read(root, "log_level", c.log_level));
  BEEMESH_TRY(r.read(root, "log_json", c.log_json));
  BEEMESH_TRY(r.read(root, "join_token", c.join_token));
  BEEMESH_TRY(r.read(root, "pod_security", c.pod_security));
  BEEMESH_TRY(r.read(root, "api_tls_cert", c.api_tls_cert));
  BEEMESH_TRY(r.read(root, "api_tls_key", c.api_tls_key));
  BEEMESH_TRY(r.read(root, "api_allowed_hosts", c.api_allowed_hosts));
  if (c.api_tls_cert.empty() != c.api_tls_key.empty()) {
    return r.error("api_tls_cert", "api_tls_cert and api_tls_key go together");
  }
  if (c.pod_security != "baseline" && c.pod_security != "restricted" &&
      c.pod_security != "privileged") {
    return r.error("pod_security", "must be baseline, restricted or privileged");
  }
  if (c.capacity_memory_bytes &&
      (*c.capacity_memory_bytes <= 0 || *c.capacity_memory_bytes > kMaxCapacityMemoryBytes)) {
    return r.error("capacity.memory", "must be more than 0 and at most 1Pi");
  }
  if (c.capacity_cpu_millis &&
      (*c.capacity_cpu_millis <= 0 || *c.capacity_cpu_millis > kMaxCapacityCpuMillis)) {
    return r.error("capacity.cpu", "must be more than 0 and at most 100000 cores");
  }
  return c;
}

Result<NodeConfig> load_config_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error("bad_config", path.string() + ": cannot read file");
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_config(buf.str(), path.string());
}

}  // namespace beemesh::app
