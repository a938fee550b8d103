#include "api/server.h"

#include <httplib.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "api/http_status.h"
#include "api/json.h"
#include "api/version.h"
#include "common/bytes.h"
#include "common/safe_text.h"

namespace beemesh::api {

namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kNdjson = "application/x-ndjson";
constexpr const char* kEventStream = "text/event-stream";
constexpr const char* kPrometheus = "text/plain; version=0.0.4; charset=utf-8";
// Events a slow event-stream client may fall behind by before its stream is ended.
constexpr std::size_t kMaxQueuedEvents = 4096;

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

void send_error(httplib::Response& res, const Error& error) {
  send_json(res, http_status_for(error.code), error_to_json(error));
}

Result<int> int_param(const httplib::Request& req, const char* name, int fallback, int min,
                      int max) {
  if (!req.has_param(name)) return fallback;
  std::string text = req.get_param_value(name);
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return make_error("bad_request", std::string("query parameter ") + name + "=" + text +
                                         ": expected an integer in " + std::to_string(min) + ".." +
                                         std::to_string(max));
  }
  return value;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

// X-Beemesh-Owner (64 hex chars: an Ed25519 public key) and X-Beemesh-Token (hex).
Result<OwnerAuth> owner_auth(const httplib::Request& req) {
  OwnerAuth auth;
  auth.owner_public_key_hex = req.get_header_value("X-Beemesh-Owner");
  auth.token_hex = req.get_header_value("X-Beemesh-Token");
  if (auth.owner_public_key_hex.empty()) {
    return make_error("unauthorized", "missing X-Beemesh-Owner header (owner public key, hex)");
  }
  if (auth.token_hex.empty()) {
    return make_error("unauthorized", "missing X-Beemesh-Token header (owner-signed token, hex)");
  }
  if (auth.owner_public_key_hex.size() != 64 || !is_hex(auth.owner_public_key_hex)) {
    return make_error("bad_request",
                      "X-Beemesh-Owner: expected 64 hex characters (an Ed25519 public key)");
  }
  if (auth.token_hex.size() % 2 != 0 || !is_hex(auth.token_hex)) {
    return make_error("bad_request", "X-Beemesh-Token: expected hex");
  }
  // Optional owner-signed intent or tombstone (at most protocol::kMaxSignedIntentSize
  // bytes; the header line limit of 8 KiB bounds it first).
  auth.intent_hex = req.get_header_value("X-Beemesh-Intent");
  if (auth.intent_hex.size() % 2 != 0 || !is_hex(auth.intent_hex)) {
    return make_error("bad_request", "X-Beemesh-Intent: expected hex");
  }
  return auth;
}

std::string sse_frame(const EventView& event) {
  // Event types are single words; JSON output of dump() never holds a raw newline.
  return "event: " + event.type + "\ndata: " + event_to_json(event).dump() + "\n\n";
}

// Events waiting to be written to one GET /events client.
struct EventStream {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<EventView> queue;
  bool closed = false;    // server stopping
  bool overflow = false;  // client fell too far behind

  void push(const EventView& event) {
    {
      std::lock_guard lock(mutex);
      if (closed || overflow) return;
      if (queue.size() >= kMaxQueuedEvents) {
        overflow = true;
      } else {
        queue.push_back(event);
      }
    }
    cv.notify_one();
  }
  void close() {
    {
      std::lock_guard lock(mutex);
      closed = true;
    }
    cv.notify_all();
  }
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "name", "name:port", "[v6]", "[v6]:port" -> {lower-case name (v6 in brackets), port or ""}.
struct HostPort {
  std::string host;
  std::string port;
};

std::optional<HostPort> split_host(std::string_view value) {
  HostPort out;
  if (value.empty()) return std::nullopt;
  if (value.front() == '[') {
    auto close = value.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = lower(value.substr(0, close + 1));
    value.remove_prefix(close + 1);
    if (value.empty()) return out;
    if (value.front() != ':') return std::nullopt;
    out.port = std::string(value.substr(1));
  } else {
    auto colon = value.find(':');
    if (colon != std::string_view::npos && value.find(':', colon + 1) != std::string_view::npos) {
      // A bare IPv6 address (as written in a config file, never in a Host header).
      out.host = "[" + lower(value) + "]";
      return out;
    }
    out.host = lower(value.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(value.substr(colon + 1));
  }
  if (out.host.empty() || out.host == "[]") return std::nullopt;
  if (!std::all_of(out.port.begin(), out.port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return out;
}

bool is_wildcard(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]" || host == "*";
}

bool is_public_route(const httplib::Request& req) {
  return ((req.method == "GET" || req.method == "HEAD") && req.path == "/health") ||
         (req.method == "POST" && req.path == "/mesh/revocations");
}

// Credentials are at most crypto::kMaxCredentialSize bytes; an ApiAuth envelope carries a
// few hundred bytes plus, at most, the signer's credential again.
constexpr std::size_t kMaxCredentialHex = 2 * crypto::kMaxCredentialSize;
constexpr std::size_t kMaxAuthHex = 2 * (crypto::kMaxCredentialSize + 2048);

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string h = lower(host);
  if (h == "localhost" || h == "::1") return true;
  // 127.0.0.0/8, written as a dotted quad.
  if (!h.starts_with("127.")) return false;
  int parts = 0;
  size_t start = 0;
  while (start <= h.size()) {
    size_t dot = h.find('.', start);
    std::string_view part = std::string_view(h).substr(
        start, dot == std::string::npos ? std::string::npos : dot - start);
    int value = -1;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size() || value > 255) {
      return false;
    }
    ++parts;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

struct ApiServer::Impl {
  Impl(NodeService& s, Authenticator& a, ApiConfig c)
      : service(s), authenticator(a), config(std::move(c)) {}

  NodeService& service;
  Authenticator& authenticator;
  ApiConfig config;
  bool tls = false;
  std::unique_ptr<httplib::Server> server;  // httplib::SSLServer with TLS
  std::thread listener;
  std::atomic<int> port{0};
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> listener_done{false};

  mutable std::mutex streams_mutex;
  std::set<std::shared_ptr<EventStream>> streams;

  int max_event_streams() const {
    if (config.max_event_streams > 0) return config.max_event_streams;
    return std::max(1, config.threads / 2);
  }

  using CallerHandler =
      std::function<void(const httplib::Request&, httplib::Response&, const Caller&)>;

  bool host_allowed(const httplib::Request& req) const;
  std::optional<Error> screen(const httplib::Request& req) const;
  Result<Caller> authenticate(const httplib::Request& req, crypto::Role needed);
  // The handler runs only for a caller holding at least `needed`.
  httplib::Server::Handler guarded(crypto::Role needed, CallerHandler handler);

  void routes();
  void handle_apply(const httplib::Request& req, httplib::Response& res, const Caller& caller);
  void handle_delete(const httplib::Request& req, httplib::Response& res, const Caller& caller);
  void handle_revocations(const httplib::Request& req, httplib::Response& res);
  void handle_events(const httplib::Request& req, httplib::Response& res);
  bool write_events(EventStream& stream, httplib::DataSink& sink);
};

bool ApiServer::Impl::host_allowed(const httplib::Request& req) const {
  if (req.get_header_value_count("Host") != 1) return false;
  auto got = split_host(req.get_header_value("Host"));
  if (!got) return false;
  if (got->host == "localhost" || got->host == "127.0.0.1" || got->host == "[::1]") return true;
  if (!is_wildcard(config.host)) {
    auto own = split_host(config.host);
    if (own && own->host == got->host) return true;
  }
  for (const auto& allowed : config.allowed_hosts) {
    auto entry = split_host(allowed);
    if (!entry || entry->host != got->host) continue;
    if (entry->port.empty() || entry->port == got->port) return true;
  }
  return false;
}

std::optional<Error> ApiServer::Impl::screen(const httplib::Request& req) const {
  std::size_t header_bytes = 0;
  for (const auto& [name, value] : req.headers) header_bytes += name.size() + value.size();
  if (req.headers.size() > config.max_header_count || header_bytes > config.max_header_bytes) {
    return make_error("header_too_large", "request headers exceed the limit (" +
                                              std::to_string(config.max_header_count) +
                                              " headers, " +
                                              std::to_string(config.max_header_bytes) + " bytes)");
  }
  if (req.has_header("Origin")) {
    return make_error("forbidden_origin", "requests from web pages are refused (Origin " +
                                              printable(req.get_header_value("Origin"), 128) + ")");
  }
  if (!host_allowed(req)) {
    return make_error("forbidden_host", "Host " + printable(req.get_header_value("Host"), 128) +
                                            " is not an address of this node");
  }
  if (!is_public_route(req) &&
      (!req.has_header(kCredentialHeader) || !req.has_header(kAuthHeader))) {
    return make_error("unauthenticated", std::string("missing ") + kCredentialHeader + " or " +
                                             kAuthHeader +
                                             " header (run `beemesh login --credential FILE`)");
  }
  return std::nullopt;
}

Result<Caller> ApiServer::Impl::authenticate(const httplib::Request& req, crypto::Role needed) {
  AuthRequest auth{req.method, req.path, req.get_header_value(kCredentialHeader),
                   req.get_header_value(kAuthHeader)};
  if (auth.credential_hex.empty() || auth.auth_hex.empty()) {
    return make_error("unauthenticated", std::string("missing ") + kCredentialHeader + " or " +
                                             kAuthHeader + " header");
  }
  if (auth.credential_hex.size() > kMaxCredentialHex || auth.auth_hex.size() > kMaxAuthHex) {
    return make_error("unauthenticated", std::string(kCredentialHeader) + " or " + kAuthHeader +
                                             " is larger than a credential can be");
  }
  auto caller = authenticator.authenticate(auth);
  if (!caller && (caller.error().code == "replay_quota_exceeded" ||
                  caller.error().code == "replay_cache_full")) {
    // The user is known; they send too fast (429, not 401: the credential is fine).
    return make_error("too_many_requests", "slow down: " + printable(caller.error().message));
  }
  if (!caller) {
    return make_error("unauthenticated", "request not authenticated: " + caller.error().code +
                                             ": " + printable(caller.error().message));
  }
  if (caller->role < needed) {
    return make_error("forbidden_role", req.method + " " + printable(req.path, 128) +
                                            " needs role " +
                                            std::string(crypto::role_name(needed)) + "; user '" +
                                            printable(caller->name, 64) + "' holds role " +
                                            std::string(crypto::role_name(caller->role)));
  }
  return caller;
}

httplib::Server::Handler ApiServer::Impl::guarded(crypto::Role needed, CallerHandler handler) {
  return [this, needed, handler = std::move(handler)](const httplib::Request& req,
                                                      httplib::Response& res) {
    auto caller = authenticate(req, needed);
    if (!caller) return send_error(res, caller.error());
    handler(req, res, *caller);
  };
}

void ApiServer::Impl::routes() {
  using crypto::Role;
  httplib::Server& http = *server;

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (auto refused = screen(req)) {
      send_error(res, *refused);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    NodeInfo self = service.self();
    send_json(res, 200,
              Json{{"status", "ok"},
                   {"node_id", self.node_id},
                   {"name", self.name},
                   {"version", std::string(kVersion)},
                   {"public_key", self.public_key_hex},
                   {"engine", self.engine}});
  });

  http.Post("/mesh/revocations", [this](const httplib::Request& req, httplib::Response& res) {
    handle_revocations(req, res);
  });

  http.Get("/nodes", guarded(Role::kViewer, [this](const httplib::Request&, httplib::Response& res,
                                                   const Caller&) {
             Json nodes = Json::array();
             for (const auto& n : service.nodes()) nodes.push_back(node_to_json(n));
             send_json(res, 200, Json{{"nodes", std::move(nodes)}});
           }));

  http.Post("/apply", guarded(Role::kDeployer,
                              [this](const httplib::Request& req, httplib::Response& res,
                                     const Caller& caller) { handle_apply(req, res, caller); }));

  http.Get("/workloads", guarded(Role::kViewer, [this](const httplib::Request&,
                                                       httplib::Response& res, const Caller&) {
             Json list = Json::array();
             for (const auto& w : service.workloads()) list.push_back(workload_to_json(w));
             send_json(res, 200, Json{{"workloads", std::move(list)}});
           }));

  http.Get(R"(/workloads/([^/]+))",
           guarded(Role::kViewer,
                   [this](const httplib::Request& req, httplib::Response& res, const Caller&) {
                     const std::string node = req.get_param_value("node");
                     if (node.size() > 128) {
                       return send_error(res, make_error("bad_request", "node id too long"));
                     }
                     auto w = node.empty() ? service.workload(req.matches[1])
                                           : service.workload_on(req.matches[1], node);
                     if (!w) return send_error(res, w.error());
                     send_json(res, 200, workload_to_json(*w));
                   }));

  http.Get(R"(/workloads/([^/]+)/logs)",
           guarded(Role::kViewer,
                   [this](const httplib::Request& req, httplib::Response& res, const Caller&) {
                     auto tail = int_param(req, "tail", -1, -1, 1'000'000);
                     if (!tail) return send_error(res, tail.error());
                     auto logs = service.logs(req.matches[1], *tail);
                     if (!logs) return send_error(res, logs.error());
                     res.status = 200;
                     res.set_content(*logs, "text/plain; charset=utf-8");
                   }));

  http.Delete(
      R"(/manifests/([^/]+))",
      guarded(Role::kDeployer, [this](const httplib::Request& req, httplib::Response& res,
                                      const Caller& caller) { handle_delete(req, res, caller); }));

  http.Get(
      R"(/providers/([^/]+))",
      guarded(Role::kViewer, [this](const httplib::Request& req, httplib::Response& res,
                                    const Caller&) {
        std::string manifest_id = req.matches[1];
        Json list = Json::array();
        for (const auto& p : service.providers(manifest_id)) {
          list.push_back(provider_to_json(p));
        }
        send_json(res, 200, Json{{"manifest_id", manifest_id}, {"providers", std::move(list)}});
      }));

  http.Get(R"(/desired/([^/]+))",
           guarded(Role::kViewer, [this](const httplib::Request& req, httplib::Response& res,
                                         const Caller& caller) {
             std::string owner =
                 req.has_param("owner") ? req.get_param_value("owner") : caller.user_key_hex;
             auto desired = service.desired_state(req.matches[1], owner);
             if (!desired) return send_error(res, desired.error());
             send_json(res, 200, desired_to_json(*desired));
           }));

  http.Get("/events",
           guarded(Role::kViewer, [this](const httplib::Request& req, httplib::Response& res,
                                         const Caller&) { handle_events(req, res); }));

  http.Get("/metrics", guarded(Role::kViewer, [this](const httplib::Request&,
                                                     httplib::Response& res, const Caller&) {
             res.status = 200;
             res.set_content(service.metrics_text(), kPrometheus);
           }));

  // Statuses set by httplib itself (no route, body too large, unreadable request) and
  // handlers that set a status without a body get the JSON error shape too.
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    Error error;
    switch (res.status) {
      case 404:
        error = make_error("not_found", "no endpoint " + req.method + " " + req.path);
        break;
      case 413:
        error = make_error("payload_too_large", "request body is larger than the limit");
        break;
      case 400:
        error = make_error("bad_request", "malformed HTTP request");
        break;
      default:
        error = make_error("http_" + std::to_string(res.status), "request failed");
        break;
    }
    res.set_content(error_to_json(error).dump(), kJson);
  });

  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("api: {} {} failed: {}", printable(req.method, 16), printable(req.path, 256),
                      printable(what));
        send_json(res, 500,
                  error_to_json(make_error("internal", printable(req.path, 256) + ": " + what)));
      });

  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("api: {} {} -> {}", printable(req.method, 16), printable(req.path, 256),
                  res.status);
  });
}

void ApiServer::Impl::handle_apply(const httplib::Request& req, httplib::Response& res,
                                   const Caller& caller) {
  auto auth = owner_auth(req);
  if (!auth) return send_error(res, auth.error());
  auto replicas = int_param(req, "replicas", -1, 0, 10'000);
  if (!replicas) return send_error(res, replicas.error());
  auto progress = int_param(req, "progress", 0, 0, 1);
  if (!progress) return send_error(res, progress.error());
  if (req.body.empty()) {
    return send_error(res, make_error("invalid_manifest", "request body is empty (expected YAML)"));
  }

  ApplyOptions options;
  options.replicas = *replicas;
  options.node = req.get_param_value("node");
  if (req.has_param("source")) options.source = req.get_param_value("source");

  if (*progress == 0) {
    auto outcome = service.apply(req.body, options, *auth, caller, {});
    if (!outcome) return send_error(res, outcome.error());
    return send_json(res, 200, apply_outcome_to_json(*outcome));
  }

  // Streamed: one JSON object per line — {"progress":"..."} while the apply runs, then
  // {"result":{...}} or {"error":{...}}. The status is 200 once streaming has begun.
  res.set_chunked_content_provider(kNdjson, [this, yaml = req.body, options, auth = *auth, caller](
                                                size_t, httplib::DataSink& sink) {
    bool client_alive = true;
    auto write_line = [&](const Json& line) {
      if (!client_alive) return;
      std::string text = line.dump() + "\n";
      client_alive = sink.write(text.data(), text.size());
    };
    // The apply goes on even when the client leaves: it is already under way.
    auto outcome = service.apply(yaml, options, auth, caller, [&](std::string_view step) {
      write_line(Json{{"progress", std::string(step)}});
    });
    if (outcome) {
      write_line(Json{{"result", apply_outcome_to_json(*outcome)}});
    } else {
      write_line(error_to_json(outcome.error()));
    }
    if (client_alive) sink.done();
    return client_alive;
  });
}

void ApiServer::Impl::handle_delete(const httplib::Request& req, httplib::Response& res,
                                    const Caller& caller) {
  auto auth = owner_auth(req);
  if (!auth) return send_error(res, auth.error());
  auto outcome = service.delete_manifest(req.matches[1], *auth, caller);
  if (!outcome) return send_error(res, outcome.error());
  send_json(res, 200, delete_outcome_to_json(*outcome));
}

void ApiServer::Impl::handle_revocations(const httplib::Request& req, httplib::Response& res) {
  std::string list;
  if (req.get_header_value("Content-Type") == "application/octet-stream") {
    list = req.body;
  } else {
    // Hex text, as `beemesh mesh revoke --server` posts it.
    std::string_view text = req.body;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
      text.remove_suffix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
      text.remove_prefix(1);
    }
    auto bytes = from_hex(text);
    if (!bytes) {
      return send_error(res, make_error("bad_request",
                                        "body: expected a signed revocation list in hex (or raw "
                                        "with Content-Type application/octet-stream)"));
    }
    list.assign(bytes->begin(), bytes->end());
  }
  if (list.empty()) {
    return send_error(res, make_error("bad_request", "body: empty revocation list"));
  }
  auto installed = service.install_revocations(list);
  if (!installed) return send_error(res, installed.error());
  send_json(res, 200, Json{{"installed", true}});
}

void ApiServer::Impl::handle_events(const httplib::Request& req, httplib::Response& res) {
  if (req.get_param_value("replay") == "1") {
    // Only the recent events (delivered before subscribe_events returns), then the end: no
    // stream stays open, so it takes none of the max_event_streams places.
    auto recent = std::make_shared<EventStream>();
    service.subscribe_events([recent](const EventView& event) { recent->push(event); }).reset();
    std::string body = "retry: 2000\n\n";
    std::lock_guard lock(recent->mutex);
    for (const auto& event : recent->queue) body += sse_frame(event);
    res.set_header("Cache-Control", "no-cache");
    res.set_content(body, kEventStream);
    return;
  }
  auto stream = std::make_shared<EventStream>();
  {
    std::lock_guard lock(streams_mutex);
    if (stopping) return send_error(res, make_error("unavailable", "the API is shutting down"));
    if (static_cast<int>(streams.size()) >= max_event_streams()) {
      return send_error(res, make_error("busy", "too many open event streams (limit " +
                                                    std::to_string(max_event_streams()) + ")"));
    }
    streams.insert(stream);
  }
  // Recent events arrive first (possibly synchronously, from inside subscribe_events).
  std::shared_ptr<Subscription> subscription =
      service.subscribe_events([stream](const EventView& event) { stream->push(event); });

  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      kEventStream,
      [this, stream, subscription](size_t, httplib::DataSink& sink) {
        bool ok = write_events(*stream, sink);
        if (ok) sink.done();
        return ok;
      },
      [this, stream, subscription](bool) mutable {
        subscription.reset();
        std::lock_guard lock(streams_mutex);
        streams.erase(stream);
      });
}

// Writes events until the server stops (true: end the response cleanly) or the client is
// gone or too slow (false).
bool ApiServer::Impl::write_events(EventStream& stream, httplib::DataSink& sink) {
  const std::string retry = "retry: 2000\n\n";
  if (!sink.write(retry.data(), retry.size())) return false;
  std::unique_lock lock(stream.mutex);
  while (true) {
    stream.cv.wait_for(lock, config.event_heartbeat,
                       [&] { return stream.closed || stream.overflow || !stream.queue.empty(); });
    if (stream.closed) return true;
    if (stream.overflow) {
      spdlog::warn("api: ending event stream of a client {} events behind", kMaxQueuedEvents);
      return false;
    }
    std::string out;
    while (!stream.queue.empty()) {
      out += sse_frame(stream.queue.front());
      stream.queue.pop_front();
    }
    if (out.empty()) out = ": keep-alive\n\n";
    lock.unlock();
    bool written = sink.write(out.data(), out.size());
    lock.lock();
    if (!written) return false;
  }
}

ApiServer::ApiServer(NodeService& service, Authenticator& authenticator, ApiConfig config)
    : impl_(std::make_unique<Impl>(service, authenticator, std::move(config))) {}

ApiServer::~ApiServer() {
  stop();
}

Result<void> ApiServer::start() {
  if (impl_->started.exchange(true)) {
    return make_error("already_started", "API server on " + url() + " is already started");
  }
  Impl& impl = *impl_;
  const std::string where = impl.config.host + ":" + std::to_string(impl.config.port);
  const bool has_cert = !impl.config.tls_cert_file.empty();
  const bool has_key = !impl.config.tls_key_file.empty();
  if (has_cert != has_key) {
    impl.started = false;
    return make_error("tls_config", "API TLS needs both a certificate and a key file (got only " +
                                        std::string(has_cert ? "the certificate" : "the key") +
                                        ")");
  }
  impl.tls = has_cert;
  if (!impl.tls && !is_loopback_host(impl.config.host)) {
    impl.started = false;
    return make_error("api_requires_tls",
                      "the API listens on " + where +
                          ", which is not a loopback address: configure a TLS certificate and "
                          "key (api_tls_cert, api_tls_key) or listen on 127.0.0.1");
  }
  if (impl.tls) {
    auto ssl = std::make_unique<httplib::SSLServer>(impl.config.tls_cert_file.c_str(),
                                                    impl.config.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      impl.started = false;
      return make_error("tls_failed", "cannot load the API TLS certificate " +
                                          impl.config.tls_cert_file + " and key " +
                                          impl.config.tls_key_file);
    }
    impl.server = std::move(ssl);
  } else {
    impl.server = std::make_unique<httplib::Server>();
  }
  httplib::Server& http = *impl.server;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, impl.config.threads));
  // httplib owns (and deletes) the queue it asks for.
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(impl.config.max_body_bytes);
  http.set_keep_alive_timeout(2);
  http.set_read_timeout(5, 0);
  // Small JSON answers and streamed progress lines must not wait for Nagle + delayed ACK.
  http.set_tcp_nodelay(true);
  // httplib's default also sets SO_REUSEPORT, which would let a second daemon bind the same
  // port and silently share its traffic. SO_REUSEADDR alone still allows a quick restart.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  impl.routes();

  int bound = 0;
  if (impl.config.port == 0) {
    bound = http.bind_to_any_port(impl.config.host);
  } else if (http.bind_to_port(impl.config.host, impl.config.port)) {
    bound = impl.config.port;
  }
  if (bound <= 0) {
    impl.started = false;
    return make_error("bind_failed", "API server cannot listen on " + where +
                                         " (address in use or not available)");
  }
  impl.port = bound;
  impl.listener = std::thread([&impl] {
    impl.server->listen_after_bind();
    impl.listener_done = true;
  });
  ::pthread_setname_np(impl.listener.native_handle(), "api-listen");
  // httplib's stop() does nothing until the accept loop runs, so wait for it: a stop()
  // right after start() must not leave the loop running forever.
  while (!http.is_running() && !impl.listener_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::info("api: listening on {}", url());
  return ok_result();
}

void ApiServer::stop() {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopping.exchange(true)) return;
  {
    std::lock_guard lock(impl.streams_mutex);
    for (const auto& stream : impl.streams) stream->close();
  }
  if (impl.server) impl.server->stop();
  if (impl.listener.joinable()) impl.listener.join();
}

int ApiServer::port() const {
  return impl_->port;
}

std::string ApiServer::url() const {
  std::string host = impl_->config.host;
  if (host.find(':') != std::string::npos && !host.starts_with("[")) host = "[" + host + "]";
  return (impl_->tls ? "https://" : "http://") + host + ":" + std::to_string(impl_->port);
}

int ApiServer::active_event_streams() const {
  std::lock_guard lock(impl_->streams_mutex);
  return static_cast<int>(impl_->streams.size());
}

}  // namespace beemesh::api
