#include "kube/proxy.h"

#include <httplib.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "common/safe_text.h"
#include "kube/objects.h"
#include "kube/views.h"

namespace beemesh::kube {

namespace {

// Streams must not pass through httplib's gzip, which holds data back until its buffer fills
// (kubectl asks for gzip): httplib compresses "application/json" and "text/*" only, so a
// watch is "application/json;stream=watch" (what the kube-apiserver sends) and a followed
// log "application/octet-stream" (kubectl copies the bytes as they are).
constexpr const char* kWatchContentType = "application/json;stream=watch";
constexpr const char* kFollowContentType = "application/octet-stream";

bool loopback_host(const std::string& host_header) {
  std::string h = host_header;
  if (!h.empty() && h.front() == '[') {
    return h.rfind("[::1]", 0) == 0;
  }
  if (auto colon = h.find(':'); colon != std::string::npos) h = h.substr(0, colon);
  return h == "localhost" || h == "127.0.0.1";
}

bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void send_status(httplib::Response& res, const Error& e) {
  Json st = status_object(e);
  res.status = http_status(st);
  res.set_content(st.dump(), "application/json");
}

}  // namespace

struct KubeProxy::Impl {
  Impl(ApiHandler& a, ProxyOptions o) : api(a), options(std::move(o)) {}
  ApiHandler& api;
  ProxyOptions options;
  std::unique_ptr<httplib::Server> server;
  std::thread listener;
  std::atomic<bool> stopping{false};
  std::atomic<bool> started{false};
  std::atomic<int> watches{0};
  std::atomic<int> follows{0};
  std::atomic<bool> listener_done{false};
  uint16_t port = 0;

  std::optional<Error> screen(const httplib::Request& req) const {
    size_t bytes = 0;
    for (const auto& [k, v] : req.headers) bytes += k.size() + v.size();
    if (req.headers.size() > options.max_header_count || bytes > options.max_header_bytes) {
      return make_error("header_too_large", "too many or too large headers");
    }
    if (req.has_header("Origin")) {
      return make_error("forbidden_origin", "requests from web pages (Origin) are refused");
    }
    if (!loopback_host(req.get_header_value("Host"))) {
      return make_error("forbidden_host", "Host must be localhost, 127.0.0.1 or [::1]");
    }
    std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (options.token.empty() || !auth.starts_with(prefix) ||
        !same_secret(auth.substr(prefix.size()), options.token)) {
      return make_error(
          "unauthenticated",
          "missing or wrong bearer token (use the kubeconfig from `beemesh kubeconfig`)");
    }
    return std::nullopt;
  }

  Request to_request(const httplib::Request& req) const {
    Request r;
    r.method = req.method;
    r.path = req.path;
    for (const auto& [k, v] : req.params) r.query[k] = v;
    r.accept = req.get_header_value("Accept");
    r.content_type = req.get_header_value("Content-Type");
    r.body = req.body;
    return r;
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    Request r = to_request(req);
    std::string watch = r.param("watch");
    if (r.method == "GET" && (watch == "1" || watch == "true")) return start_watch(r, res);
    std::string follow = r.param("follow");
    if (r.method == "GET" && r.path.ends_with("/log") && (follow == "1" || follow == "true")) {
      return start_follow(r, res);
    }
    Reply reply = api.handle(r);
    for (const auto& w : reply.warnings) {
      Json text = printable(w, 512);  // one line; JSON escaping quotes it
      res.set_header("Warning", "299 - " + text.dump(-1, ' ', true));
    }
    res.status = reply.status;
    res.set_content(reply.body, reply.content_type);
  }

  // kubectl logs -f: the log so far, then every watch_poll the lines that came after the
  // last window (the window is the last kFollowWindow lines; see docs/notes/kube.md).
  static constexpr int kFollowWindow = 1000;
  void start_follow(Request r, httplib::Response& res) {
    auto first_text = api.pod_log(r);
    if (!first_text) return send_status(res, first_text.error());
    if (follows.fetch_add(1) >= options.max_follows) {
      follows.fetch_sub(1);
      return send_status(res, make_error("too_many_requests", "too many log follows at once"));
    }
    auto deadline = std::chrono::steady_clock::now() + options.max_watch;
    auto window = std::make_shared<std::vector<std::string>>();
    auto pending = std::make_shared<std::string>(std::move(*first_text));
    r.query["tailLines"] = std::to_string(kFollowWindow);
    res.status = 200;
    res.set_chunked_content_provider(
        kFollowContentType,
        [this, r, deadline, window, pending](size_t, httplib::DataSink& sink) {
          if (stopping || std::chrono::steady_clock::now() >= deadline) {
            sink.done();
            return true;
          }
          std::string out;
          if (!pending->empty()) {
            out = std::move(*pending);
            pending->clear();
            auto text = api.pod_log(r);  // the window the next polls compare with
            if (text) *window = split_lines(*text);
          } else {
            auto until = std::chrono::steady_clock::now() + options.watch_poll;
            while (!stopping && std::chrono::steady_clock::now() < until) {
              std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            auto text = api.pod_log(r);
            if (!text) return true;
            auto cur = split_lines(*text);
            for (size_t i = overlap(*window, cur); i < cur.size(); ++i) out += cur[i] + "\n";
            *window = std::move(cur);
          }
          return out.empty() || sink.write(out.data(), out.size());
        },
        [this](bool) { follows.fetch_sub(1); });
  }

  static std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
      size_t nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      lines.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
    return lines;
  }

  // The largest k with the last k lines of `prev` equal to the first k of `cur`.
  static size_t overlap(const std::vector<std::string>& prev, const std::vector<std::string>& cur) {
    for (size_t k = std::min(prev.size(), cur.size()); k > 0; --k) {
      if (std::equal(prev.end() - static_cast<long>(k), prev.end(), cur.begin())) return k;
    }
    return 0;
  }

  void start_watch(const Request& r, httplib::Response& res) {
    auto target = parse_target(r.path);
    if (!target || !target->name.empty() || !target->sub.empty()) {
      send_status(res, target ? make_error("method_not_allowed", "watch a list, not one object")
                              : target.error());
      return;
    }
    if (watches.fetch_add(1) >= options.max_watches) {
      watches.fetch_sub(1);
      send_status(res, make_error("too_many_requests", "too many watches at once"));
      return;
    }
    auto seconds = options.max_watch;
    if (std::string s = r.param("timeoutSeconds"); !s.empty()) {
      try {
        seconds = std::min(seconds, std::chrono::seconds(std::max(1, std::stoi(s))));
      } catch (const std::exception&) {
      }
    }
    const bool table = wants_table(r.accept);
    const std::string rv = r.param("resourceVersion");
    const bool send_initial = rv.empty() || rv == "0";
    auto deadline = std::chrono::steady_clock::now() + seconds;
    auto state = std::make_shared<std::map<std::string, Json>>();
    auto first = std::make_shared<bool>(true);
    res.status = 200;
    res.set_chunked_content_provider(
        kWatchContentType,
        [this, r, t = *target, table, send_initial, deadline, state, first](
            size_t, httplib::DataSink& sink) {
          if (stopping || std::chrono::steady_clock::now() >= deadline) {
            sink.done();
            return true;
          }
          if (!*first) {
            auto until = std::chrono::steady_clock::now() + options.watch_poll;
            while (!stopping && std::chrono::steady_clock::now() < until) {
              std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
          }
          auto items = api.list_items(t, r);
          if (!items) {
            *first = false;  // try again after a poll interval
            return true;
          }
          std::map<std::string, Json> now;
          for (auto& o : *items) {
            std::string key =
                o["metadata"].value("namespace", "") + "/" + o["metadata"].value("name", "");
            now[key] = std::move(o);
          }
          bool emitted = false;
          auto emit = [&](const char* type, const Json& o) {
            emitted = true;
            Json obj = table ? table_object(*t.type, Json::array({o}), api.now_ms()) : o;
            std::string line = Json{{"type", type}, {"object", obj}}.dump() + "\n";
            return sink.write(line.data(), line.size());
          };
          bool ok = true;
          for (const auto& [key, o] : now) {
            auto old = state->find(key);
            if (old == state->end()) {
              if (!*first || send_initial) ok = ok && emit("ADDED", o);
            } else if (old->second != o) {
              ok = ok && emit("MODIFIED", o);
            }
          }
          for (const auto& [key, o] : *state) {
            if (!now.contains(key)) ok = ok && emit("DELETED", o);
          }
          if (ok && !emitted) {
            // Nothing changed: a blank line (JSON streams skip whitespace) finds out whether
            // the client is still there; a vanished one fails the write and ends the watch.
            ok = sink.write("\n", 1);
          }
          *state = std::move(now);
          *first = false;
          return ok;
        },
        [this](bool) { watches.fetch_sub(1); });
  }
};

KubeProxy::KubeProxy(ApiHandler& api, ProxyOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {}

KubeProxy::~KubeProxy() {
  stop();
}

uint16_t KubeProxy::port() const {
  return impl_->port;
}

Result<void> KubeProxy::start() {
  Impl& impl = *impl_;
  if (impl.options.host != "127.0.0.1" && impl.options.host != "::1" &&
      impl.options.host != "localhost") {
    return make_error("proxy_requires_loopback",
                      "kube-proxy listens on loopback only (it acts with your key over plain "
                      "HTTP); got " +
                          impl.options.host);
  }
  auto tls = std::make_unique<httplib::SSLServer>(impl.options.tls_cert_file.c_str(),
                                                  impl.options.tls_key_file.c_str());
  if (!tls->is_valid()) {
    return make_error("tls_failed", "cannot load the proxy certificate " +
                                        impl.options.tls_cert_file + " and key " +
                                        impl.options.tls_key_file);
  }
  impl.server = std::move(tls);
  httplib::Server& http = *impl.server;
  const size_t threads = static_cast<size_t>(std::max(2, impl.options.threads));
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(impl.options.max_body_bytes);
  http.set_read_timeout(static_cast<time_t>(impl.options.read_timeout.count()), 0);
  http.set_write_timeout(10, 0);
  http.set_keep_alive_timeout(5);
  http.set_tcp_nodelay(true);
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http.set_pre_routing_handler([&impl](const httplib::Request& req, httplib::Response& res) {
    if (auto refused = impl.screen(req)) {
      send_status(res, *refused);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto h = [&impl](const httplib::Request& req, httplib::Response& res) { impl.handle(req, res); };
  http.Get(".*", h);
  http.Post(".*", h);
  http.Patch(".*", h);
  http.Put(".*", h);
  http.Delete(".*", h);
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_status(res, make_error("internal", "internal error"));
      });
  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("kube-proxy: {} {} -> {}", req.method, printable(req.path, 256), res.status);
  });
  int bound = 0;
  if (impl.options.port == 0) {
    bound = http.bind_to_any_port(impl.options.host);
  } else if (http.bind_to_port(impl.options.host, impl.options.port)) {
    bound = impl.options.port;
  }
  if (bound <= 0) {
    return make_error("bind_failed", "kube-proxy cannot listen on " + impl.options.host + ":" +
                                         std::to_string(impl.options.port));
  }
  impl.port = static_cast<uint16_t>(bound);
  impl.started = true;
  impl.listener = std::thread([&impl] {
    impl.server->listen_after_bind();
    impl.listener_done = true;
  });
  ::pthread_setname_np(impl.listener.native_handle(), "kube-proxy");
  while (!http.is_running() && !impl.listener_done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

void KubeProxy::stop() {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopping.exchange(true)) return;
  impl.server->stop();
  if (impl.listener.joinable()) impl.listener.join();
}

}  // namespace beemesh::kube
