#include "net/endpoint.h"

#include <cctype>
#include <charconv>

namespace beemesh::net {

namespace {
Error invalid(std::string_view text, std::string_view why) {
  return make_error("invalid_endpoint", "endpoint '" + std::string(text) +
                                            "': " + std::string(why) +
                                            " (expected host:port or [ipv6]:port)");
}
}  // namespace

Result<Endpoint> parse_endpoint(std::string_view text, bool allow_zero_port) {
  if (auto at = text.find('@'); at != std::string_view::npos) {
    auto id = text.substr(0, at);
    bool valid = !id.empty() && id.size() <= 64 && text.rfind('@') == at;
    for (char c : id) {
      valid = valid &&
              (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
    }
    if (!valid) return invalid(text, "bad peer id before '@'");
    auto parsed = parse_endpoint(text.substr(at + 1), allow_zero_port);
    if (parsed.ok()) parsed->peer_id = std::string(id);
    return parsed;
  }
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return invalid(text, "missing ']'");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return invalid(text, "missing port");
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid(text, "missing port");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return invalid(text, "an IPv6 address needs brackets");
    }
    port = text.substr(colon + 1);
  }
  if (host.empty()) return invalid(text, "empty host");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535 ||
      (value == 0 && !allow_zero_port)) {
    return invalid(text, "bad port '" + std::string(port) + "'");
  }
  return Endpoint{std::string(host), static_cast<uint16_t>(value)};
}

std::string format_endpoint(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out = "[" + std::string(host) + "]";
  } else {
    out = std::string(host);
  }
  return out + ":" + std::to_string(port);
}

std::string pinned_endpoint(std::string_view peer_id, std::string_view endpoint) {
  return std::string(peer_id) + "@" + std::string(endpoint);
}

}  // namespace beemesh::net
