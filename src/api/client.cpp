#include "api/client.h"

#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>

#include "api/auth.h"
#include "api/json.h"

namespace beemesh::api {

namespace {

struct Endpoint {
  std::string scheme = "http";
  std::string host;
  int port = 0;
};

std::string with_scheme(const std::string& server) {
  if (server.find("://") != std::string::npos) return server;
  return "http://" + server;
}

Endpoint parse_endpoint(const std::string& server) {
  Endpoint e;
  std::string rest = with_scheme(server);
  auto scheme_end = rest.find("://");
  e.scheme = rest.substr(0, scheme_end);
  rest = rest.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('/'));
  e.port = e.scheme == "https" ? 443 : 80;
  if (!rest.empty() && rest.front() == '[') {  // [::1]:7480
    auto close = rest.find(']');
    e.host = rest.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < rest.size() && rest[close + 1] == ':') {
      e.port = std::atoi(rest.c_str() + close + 2);
    }
    return e;
  }
  auto colon = rest.rfind(':');
  if (colon != std::string::npos) {
    e.host = rest.substr(0, colon);
    e.port = std::atoi(rest.c_str() + colon + 1);
  } else {
    e.host = rest;
  }
  return e;
}

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// Tries one TCP connection to say why the server is unreachable.
std::string connect_failure_reason(const Endpoint& endpoint) {
  if (endpoint.host.empty() || endpoint.port <= 0 || endpoint.port > 65535) {
    return "not a valid server address";
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(endpoint.port);
  if (int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return lower_first(gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(found, freeaddrinfo);
  int fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                  found->ai_protocol);
  if (fd < 0) return lower_first(std::strerror(errno));
  int error = 0;
  if (connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, 2000) == 1) {
        socklen_t len = sizeof error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
      } else {
        error = ETIMEDOUT;
      }
    }
  }
  close(fd);
  if (error == 0) return "the connection failed";
  return lower_first(std::strerror(error));
}

// Percent-encodes one path segment (ids are hex, but never trust that).
std::string path_segment(const std::string& text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

// Percent-encodes every segment of a decoded path ("/workloads/<id>/logs").
std::string encode_path(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == start) {
      out += '/';
      ++start;
      continue;
    }
    size_t end = slash == std::string::npos ? path.size() : slash;
    out += path_segment(path.substr(start, end - start));
    start = end;
  }
  return out;
}

// Splits complete "\n"-terminated lines off `buffer`.
template <typename Fn>
void take_lines(std::string& buffer, Fn on_line) {
  size_t start = 0;
  for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
    on_line(std::string_view(buffer).substr(start, nl - start));
  }
  buffer.erase(0, start);
}

}  // namespace

std::string describe_unreachable(const std::string& server) {
  return "cannot reach beemesh node at " + with_scheme(server) + ": " +
         connect_failure_reason(parse_endpoint(server));
}

struct ApiClient::Impl {
  Impl(const std::string& server, const ClientOptions& o)
      : url(with_scheme(server)), options(o), client(url) {
    client.set_connection_timeout(options.connect_timeout);
    client.set_read_timeout(options.read_timeout);
    client.set_write_timeout(options.read_timeout);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);  // headers and body go out in separate writes
    if (!options.ca_cert_file.empty()) client.set_ca_cert_path(options.ca_cert_file.c_str());
  }

  std::string url;
  ClientOptions options;
  httplib::Client client;
  RequestSigner signer;

  // The authentication headers for `method path` (none without a signer).
  Result<httplib::Headers> auth_headers(std::string_view method, std::string_view path) const {
    httplib::Headers headers;
    if (!signer) return headers;
    auto signed_headers = signer(method, path);
    if (!signed_headers) return signed_headers.error();
    headers.emplace(kCredentialHeader, signed_headers->credential_hex);
    headers.emplace(kAuthHeader, signed_headers->auth_hex);
    return headers;
  }

  Error transport_error(httplib::Error error) const {
    switch (error) {
      case httplib::Error::Connection:
        return make_error("unreachable", describe_unreachable(url));
      case httplib::Error::ConnectionTimeout:
        return make_error("timeout", "cannot reach beemesh node at " + url + ": connect timed out");
      case httplib::Error::Read:
        return make_error("timeout", "beemesh node at " + url +
                                         " closed the connection or did not answer within " +
                                         std::to_string(options.read_timeout.count() / 1000) +
                                         " s");
      default:
        return make_error("unreachable", "cannot reach beemesh node at " + url + ": " +
                                             lower_first(httplib::to_string(error)));
    }
  }

  Error status_error(int status, const std::string& body) const {
    if (auto j = parse_json(body)) {
      if (auto e = error_from_json(*j)) return *e;
    }
    std::string head = body.substr(0, 200);
    while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.pop_back();
    return make_error(
        "http_" + std::to_string(status),
        url + " answered HTTP " + std::to_string(status) + (head.empty() ? "" : ": " + head));
  }

  // The body of a 2xx answer, or the Error.
  Result<std::string> check(const httplib::Result& res) const {
    if (!res) return transport_error(res.error());
    if (res->status < 200 || res->status >= 300) return status_error(res->status, res->body);
    return res->body;
  }

  // GET `signed_path` (+ `query`), authenticated.
  Result<std::string> get(const std::string& signed_path, const std::string& query = "") {
    auto headers = auth_headers("GET", signed_path);
    if (!headers) return headers.error();
    return check(client.Get(encode_path(signed_path) + query, *headers));
  }

  Result<Json> get_json(const std::string& signed_path) {
    auto body = get(signed_path);
    if (!body) return body.error();
    return parse_json(*body);
  }
};

ApiClient::ApiClient(std::string server, ClientOptions options)
    : server_(with_scheme(server)), impl_(std::make_unique<Impl>(server_, options)) {}

ApiClient::~ApiClient() = default;

void ApiClient::set_signer(RequestSigner signer) {
  impl_->signer = std::move(signer);
}

Result<HealthInfo> ApiClient::health() {
  auto body = impl_->check(impl_->client.Get("/health"));
  if (!body) return body.error();
  auto j = parse_json(*body);
  if (!j) return j.error();
  HealthInfo h;
  auto node = node_from_json(*j);  // reads node_id, name, public_key, engine
  if (!node) return node.error();
  h.node_id = node->node_id;
  h.name = node->name;
  h.public_key_hex = node->public_key_hex;
  h.engine = node->engine;
  h.status = j->value("status", "");
  h.version = j->value("version", "");
  if (h.status != "ok") {
    return make_error("bad_response", server_ + "/health did not say ok: " + j->dump());
  }
  return h;
}

Result<std::vector<NodeInfo>> ApiClient::nodes() {
  auto j = impl_->get_json("/nodes");
  if (!j) return j.error();
  return nodes_from_json(*j);
}

Result<ApplyOutcome> ApiClient::apply(std::string_view yaml, const ApplyOptions& options,
                                      const OwnerAuth& auth, const ProgressFn& progress) {
  httplib::Params params;
  if (options.replicas >= 0) params.emplace("replicas", std::to_string(options.replicas));
  if (!options.node.empty()) params.emplace("node", options.node);
  if (!options.source.empty()) params.emplace("source", options.source);
  if (progress) params.emplace("progress", "1");

  auto headers = impl_->auth_headers("POST", "/apply");
  if (!headers) return headers.error();
  httplib::Request req;
  req.method = "POST";
  req.path = httplib::append_query_params("/apply", params);
  req.headers = std::move(*headers);
  req.body = std::string(yaml);
  req.set_header("Content-Type", "application/yaml");
  req.set_header("X-Beemesh-Owner", auth.owner_public_key_hex);
  req.set_header("X-Beemesh-Token", auth.token_hex);
  if (!auth.intent_hex.empty()) req.set_header("X-Beemesh-Intent", auth.intent_hex);

  // Streamed lines are handled as they arrive; anything else is collected whole.
  int status = 0;
  std::string buffer;
  std::string whole;
  std::optional<Result<ApplyOutcome>> final_line;
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    if (status != 200 || !progress) {
      whole.append(data, len);
      return true;
    }
    buffer.append(data, len);
    take_lines(buffer, [&](std::string_view line) {
      auto j = parse_json(line);
      if (!j) {
        final_line = Result<ApplyOutcome>(j.error());
      } else if (j->contains("progress") && (*j)["progress"].is_string()) {
        progress((*j)["progress"].get<std::string>());
      } else if (j->contains("result")) {
        final_line = apply_outcome_from_json((*j)["result"]);
      } else if (auto e = error_from_json(*j)) {
        final_line = Result<ApplyOutcome>(*e);
      }
    });
    return true;
  };

  auto res = impl_->client.send(req);
  if (!res) return impl_->transport_error(res.error());
  if (status < 200 || status >= 300) return impl_->status_error(status, whole);
  if (progress) {
    if (final_line) return *final_line;
    return make_error("bad_response", server_ + "/apply ended without a result line");
  }
  auto j = parse_json(whole);
  if (!j) return j.error();
  return apply_outcome_from_json(*j);
}

Result<std::vector<WorkloadView>> ApiClient::workloads() {
  auto j = impl_->get_json("/workloads");
  if (!j) return j.error();
  return workloads_from_json(*j);
}

Result<WorkloadView> ApiClient::workload(const std::string& workload_id, const std::string& node) {
  auto body =
      impl_->get("/workloads/" + workload_id, node.empty() ? "" : "?node=" + path_segment(node));
  if (!body) return body.error();
  auto j = parse_json(*body);
  if (!j) return j.error();
  return workload_from_json(*j);
}

Result<std::string> ApiClient::logs(const std::string& workload_id, int tail_lines) {
  return impl_->get("/workloads/" + workload_id + "/logs",
                    tail_lines >= 0 ? "?tail=" + std::to_string(tail_lines) : "");
}

Result<DeleteOutcome> ApiClient::delete_manifest(const std::string& manifest_id,
                                                 const OwnerAuth& auth) {
  const std::string path = "/manifests/" + manifest_id;
  auto headers = impl_->auth_headers("DELETE", path);
  if (!headers) return headers.error();
  headers->emplace("X-Beemesh-Owner", auth.owner_public_key_hex);
  headers->emplace("X-Beemesh-Token", auth.token_hex);
  if (!auth.intent_hex.empty()) headers->emplace("X-Beemesh-Intent", auth.intent_hex);
  auto body = impl_->check(impl_->client.Delete(encode_path(path), *headers));
  if (!body) return body.error();
  auto j = parse_json(*body);
  if (!j) return j.error();
  return delete_outcome_from_json(*j);
}

Result<std::vector<provider::ProviderInfo>> ApiClient::providers(const std::string& manifest_id) {
  auto j = impl_->get_json("/providers/" + manifest_id);
  if (!j) return j.error();
  return providers_from_json(*j);
}

Result<DesiredView> ApiClient::desired_state(const std::string& manifest_id,
                                             const std::string& owner_hex) {
  auto body = impl_->get("/desired/" + manifest_id,
                         owner_hex.empty() ? std::string() : "?owner=" + owner_hex);
  if (!body) return body.error();
  auto j = parse_json(*body);
  if (!j) return j.error();
  return desired_from_json(*j);
}

Result<std::string> ApiClient::metrics() {
  return impl_->get("/metrics");
}

Result<void> ApiClient::events(const std::function<bool(const EventView&)>& on_event,
                               bool replay_only) {
  int status = 0;
  std::string buffer;
  std::string whole;
  std::optional<Error> bad;
  bool stopped = false;
  auto headers = impl_->auth_headers("GET", "/events");
  if (!headers) return headers.error();
  auto res = impl_->client.Get(
      replay_only ? "/events?replay=1" : "/events", *headers,
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (status != 200) {
          whole.append(data, len);
          return true;
        }
        buffer.append(data, len);
        // Frames end with an empty line; "data:" lines carry the JSON, ":" lines are comments.
        for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
          std::string frame = buffer.substr(0, end + 1);
          buffer.erase(0, end + 2);
          std::string data_text;
          take_lines(frame, [&](std::string_view line) {
            if (line.starts_with("data:")) {
              line.remove_prefix(5);
              if (line.starts_with(" ")) line.remove_prefix(1);
              if (!data_text.empty()) data_text += "\n";
              data_text += line;
            }
          });
          if (data_text.empty()) continue;
          auto j = parse_json(data_text);
          auto event = j ? event_from_json(*j) : Result<EventView>(j.error());
          if (!event) {
            bad = event.error();
            return false;
          }
          if (!on_event(*event)) {
            stopped = true;
            return false;
          }
        }
        return true;
      });
  if (stopped) return ok_result();
  if (bad) return *bad;
  if (!res) return impl_->transport_error(res.error());
  if (status < 200 || status >= 300) return impl_->status_error(status, whole);
  return ok_result();
}

}  // namespace beemesh::api
