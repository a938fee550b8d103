#include "api/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "api/http_status.h"
#include "api/json.h"
#include "api/version.h"
#include "common/bytes.h"

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

}  // namespace

struct ApiServer::Impl {
  Impl(NodeService& s, ApiConfig c) : service(s), config(std::move(c)) {}

  NodeService& service;
  ApiConfig config;
  httplib::Server server;
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

  void routes();
  void handle_apply(const httplib::Request& req, httplib::Response& res);
  void handle_delete(const httplib::Request& req, httplib::Response& res);
  void handle_events(const httplib::Request& req, httplib::Response& res);
  bool write_events(EventStream& stream, httplib::DataSink& sink);
};

void ApiServer::Impl::routes() {
  server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    NodeInfo self = service.self();
    send_json(res, 200,
              Json{{"status", "ok"},
                   {"node_id", self.node_id},
                   {"name", self.name},
                   {"version", std::string(kVersion)},
                   {"public_key", self.public_key_hex},
                   {"engine", self.engine}});
  });

  server.Get("/nodes", [this](const httplib::Request&, httplib::Response& res) {
    Json nodes = Json::array();
    for (const auto& n : service.nodes()) nodes.push_back(node_to_json(n));
    send_json(res, 200, Json{{"nodes", std::move(nodes)}});
  });

  server.Post("/apply", [this](const httplib::Request& req, httplib::Response& res) {
    handle_apply(req, res);
  });

  server.Get("/workloads", [this](const httplib::Request&, httplib::Response& res) {
    Json list = Json::array();
    for (const auto& w : service.workloads()) list.push_back(workload_to_json(w));
    send_json(res, 200, Json{{"workloads", std::move(list)}});
  });

  server.Get(R"(/workloads/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto w = service.workload(req.matches[1]);
    if (!w) return send_error(res, w.error());
    send_json(res, 200, workload_to_json(*w));
  });

  server.Get(R"(/workloads/([^/]+)/logs)",
             [this](const httplib::Request& req, httplib::Response& res) {
               auto tail = int_param(req, "tail", -1, -1, 1'000'000);
               if (!tail) return send_error(res, tail.error());
               auto logs = service.logs(req.matches[1], *tail);
               if (!logs) return send_error(res, logs.error());
               res.status = 200;
               res.set_content(*logs, "text/plain; charset=utf-8");
             });

  server.Delete(
      R"(/manifests/([^/]+))",
      [this](const httplib::Request& req, httplib::Response& res) { handle_delete(req, res); });

  server.Get(R"(/providers/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::string manifest_id = req.matches[1];
    Json list = Json::array();
    for (const auto& p : service.providers(manifest_id)) list.push_back(provider_to_json(p));
    send_json(res, 200, Json{{"manifest_id", manifest_id}, {"providers", std::move(list)}});
  });

  server.Get("/events", [this](const httplib::Request& req, httplib::Response& res) {
    handle_events(req, res);
  });

  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(service.metrics_text(), kPrometheus);
  });

  // Statuses set by httplib itself (no route, body too large, unreadable request) and
  // handlers that set a status without a body get the JSON error shape too.
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
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

  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("api: {} {} failed: {}", req.method, req.path, what);
        send_json(res, 500, error_to_json(make_error("internal", req.path + ": " + what)));
      });

  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("api: {} {} -> {}", req.method, req.path, res.status);
  });
}

void ApiServer::Impl::handle_apply(const httplib::Request& req, httplib::Response& res) {
  auto auth = owner_auth(req);
  if (!auth) return send_error(res, auth.error());
  auto replicas = int_param(req, "replicas", -1, 1, 10'000);
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
    auto outcome = service.apply(req.body, options, *auth, {});
    if (!outcome) return send_error(res, outcome.error());
    return send_json(res, 200, apply_outcome_to_json(*outcome));
  }

  // Streamed: one JSON object per line — {"progress":"..."} while the apply runs, then
  // {"result":{...}} or {"error":{...}}. The status is 200 once streaming has begun.
  res.set_chunked_content_provider(
      kNdjson, [this, yaml = req.body, options, auth = *auth](size_t, httplib::DataSink& sink) {
        bool client_alive = true;
        auto write_line = [&](const Json& line) {
          if (!client_alive) return;
          std::string text = line.dump() + "\n";
          client_alive = sink.write(text.data(), text.size());
        };
        // The apply goes on even when the client leaves: it is already under way.
        auto outcome = service.apply(yaml, options, auth, [&](std::string_view step) {
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

void ApiServer::Impl::handle_delete(const httplib::Request& req, httplib::Response& res) {
  auto auth = owner_auth(req);
  if (!auth) return send_error(res, auth.error());
  auto outcome = service.delete_manifest(req.matches[1], *auth);
  if (!outcome) return send_error(res, outcome.error());
  send_json(res, 200, delete_outcome_to_json(*outcome));
}

void ApiServer::Impl::handle_events(const httplib::Request&, httplib::Response& res) {
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

ApiServer::ApiServer(NodeService& service, ApiConfig config)
    : impl_(std::make_unique<Impl>(service, std::move(config))) {}

ApiServer::~ApiServer() {
  stop();
}

Result<void> ApiServer::start() {
  if (impl_->started.exchange(true)) {
    return make_error("already_started", "API server on " + url() + " is already started");
  }
  Impl& impl = *impl_;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, impl.config.threads));
  // httplib owns (and deletes) the queue it asks for.
  impl.server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl.server.set_payload_max_length(impl.config.max_body_bytes);
  impl.server.set_keep_alive_timeout(2);
  // Small JSON answers and streamed progress lines must not wait for Nagle + delayed ACK.
  impl.server.set_tcp_nodelay(true);
  // httplib's default also sets SO_REUSEPORT, which would let a second daemon bind the same
  // port and silently share its traffic. SO_REUSEADDR alone still allows a quick restart.
  impl.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  impl.routes();

  const std::string where = impl.config.host + ":" + std::to_string(impl.config.port);
  int bound = 0;
  if (impl.config.port == 0) {
    bound = impl.server.bind_to_any_port(impl.config.host);
  } else if (impl.server.bind_to_port(impl.config.host, impl.config.port)) {
    bound = impl.config.port;
  }
  if (bound <= 0) {
    impl.started = false;
    return make_error("bind_failed", "API server cannot listen on " + where +
                                         " (address in use or not available)");
  }
  impl.port = bound;
  impl.listener = std::thread([&impl] {
    impl.server.listen_after_bind();
    impl.listener_done = true;
  });
  // httplib's stop() does nothing until the accept loop runs, so wait for it: a stop()
  // right after start() must not leave the loop running forever.
  while (!impl.server.is_running() && !impl.listener_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::info("api: listening on http://{}:{}", impl.config.host, bound);
  return ok_result();
}

void ApiServer::stop() {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopping.exchange(true)) return;
  {
    std::lock_guard lock(impl.streams_mutex);
    for (const auto& stream : impl.streams) stream->close();
  }
  impl.server.stop();
  if (impl.listener.joinable()) impl.listener.join();
}

int ApiServer::port() const {
  return impl_->port;
}

std::string ApiServer::url() const {
  return "http://" + impl_->config.host + ":" + std::to_string(impl_->port);
}

int ApiServer::active_event_streams() const {
  std::lock_guard lock(impl_->streams_mutex);
  return static_cast<int>(impl_->streams.size());
}

}  // namespace beemesh::api
