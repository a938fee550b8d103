#include "runtime/engines/docker/unix_http.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include "common/fd.h"

namespace beemesh::runtime::docker {
namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

Error bad_response(std::string message) {
  return make_error("invalid_response", std::move(message));
}

using SteadyClock = std::chrono::steady_clock;

int remaining_ms(SteadyClock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1'000'000));
}

}  // namespace

Result<void> HttpResponseParser::append_body(std::string_view data) {
  if (response_.body.size() + data.size() > max_body_) {
    return bad_response("response body larger than " + std::to_string(max_body_) + " bytes");
  }
  response_.body.append(data);
  return ok_result();
}

Result<void> HttpResponseParser::parse_headers(std::string_view head) {
  // Status line: HTTP/1.1 200 OK
  auto eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.substr(0, 5) != "HTTP/") {
    return bad_response("not an HTTP response: '" + std::string(status_line.substr(0, 40)) + "'");
  }
  auto space = status_line.find(' ');
  if (space == std::string_view::npos || status_line.size() < space + 4) {
    return bad_response("bad status line '" + std::string(status_line) + "'");
  }
  int status = 0;
  auto code = status_line.substr(space + 1, 3);
  auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
  if (ec != std::errc() || ptr != code.data() + code.size() || status < 100 || status > 999) {
    return bad_response("bad status line '" + std::string(status_line) + "'");
  }
  response_ = HttpResponse{};
  response_.status = status;
  std::string_view rest = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
  while (!rest.empty()) {
    auto line_end = rest.find("\r\n");
    std::string_view line = rest.substr(0, line_end);
    rest = line_end == std::string_view::npos ? std::string_view{} : rest.substr(line_end + 2);
    if (line.empty()) continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return bad_response("bad header line '" + std::string(line.substr(0, 80)) + "'");
    }
    response_.headers[lower(trim(line.substr(0, colon)))] =
        std::string(trim(line.substr(colon + 1)));
  }

  if (status < 200) {  // 100 Continue and friends: another header block follows
    state_ = State::Headers;
    return ok_result();
  }
  if (head_ || status == 204 || status == 304) {
    state_ = State::Done;
    return ok_result();
  }
  auto te = response_.headers.find("transfer-encoding");
  if (te != response_.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
    state_ = State::ChunkSize;
    return ok_result();
  }
  auto cl = response_.headers.find("content-length");
  if (cl != response_.headers.end()) {
    std::size_t length = 0;
    const std::string& v = cl->second;
    auto [p, e] = std::from_chars(v.data(), v.data() + v.size(), length);
    if (e != std::errc() || p != v.data() + v.size()) {
      return bad_response("bad Content-Length '" + v + "'");
    }
    if (length > max_body_) {
      return bad_response("response body larger than " + std::to_string(max_body_) + " bytes");
    }
    remaining_ = length;
    state_ = length == 0 ? State::Done : State::Fixed;
    return ok_result();
  }
  state_ = State::UntilClose;
  return ok_result();
}

Result<void> HttpResponseParser::feed(std::string_view data) {
  buffer_.append(data);
  std::size_t pos = 0;
  auto result = [&]() -> Result<void> {
    while (true) {
      std::string_view avail(buffer_.data() + pos, buffer_.size() - pos);
      switch (state_) {
        case State::Headers: {
          auto end = avail.find("\r\n\r\n");
          if (end == std::string_view::npos) {
            if (avail.size() > kMaxHeaderBytes) return bad_response("response headers too large");
            return ok_result();
          }
          auto parsed = parse_headers(avail.substr(0, end + 2));
          if (!parsed) return parsed;
          pos += end + 4;
          break;
        }
        case State::Fixed: {
          std::size_t take = std::min(remaining_, avail.size());
          if (auto r = append_body(avail.substr(0, take)); !r) return r;
          pos += take;
          remaining_ -= take;
          if (remaining_ == 0) state_ = State::Done;
          if (take == avail.size() && state_ != State::Done) return ok_result();
          break;
        }
        case State::ChunkSize: {
          auto end = avail.find("\r\n");
          if (end == std::string_view::npos) {
            if (avail.size() > 1024) return bad_response("chunk size line too long");
            return ok_result();
          }
          std::string_view line = avail.substr(0, end);
          line = trim(line.substr(0, line.find(';')));
          std::size_t size = 0;
          auto [p, e] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
          if (line.empty() || e != std::errc() || p != line.data() + line.size()) {
            return bad_response("bad chunk size '" + std::string(line.substr(0, 40)) + "'");
          }
          pos += end + 2;
          if (size == 0) {
            state_ = State::Trailers;
          } else {
            remaining_ = size;
            state_ = State::ChunkData;
          }
          break;
        }
        case State::ChunkData: {
          std::size_t take = std::min(remaining_, avail.size());
          if (auto r = append_body(avail.substr(0, take)); !r) return r;
          pos += take;
          remaining_ -= take;
          if (remaining_ == 0) {
            state_ = State::ChunkEnd;
          } else {
            return ok_result();
          }
          break;
        }
        case State::ChunkEnd: {
          if (avail.size() < 2) return ok_result();
          if (avail.substr(0, 2) != "\r\n") return bad_response("chunk not followed by CRLF");
          pos += 2;
          state_ = State::ChunkSize;
          break;
        }
        case State::Trailers: {
          auto end = avail.find("\r\n");
          if (end == std::string_view::npos) {
            if (avail.size() > kMaxHeaderBytes) return bad_response("trailers too large");
            return ok_result();
          }
          pos += end + 2;
          if (end == 0) state_ = State::Done;
          break;
        }
        case State::UntilClose: {
          if (auto r = append_body(avail); !r) return r;
          pos += avail.size();
          return ok_result();
        }
        case State::Done:
          return ok_result();  // bytes after the response are ignored
      }
    }
  }();
  buffer_.erase(0, pos);
  return result;
}

Result<void> HttpResponseParser::finish() {
  if (state_ == State::UntilClose) state_ = State::Done;
  if (state_ == State::Done) return ok_result();
  if (state_ == State::Headers && response_.status == 0) {
    return bad_response("connection closed before a response arrived");
  }
  return bad_response("connection closed in the middle of the response");
}

Result<HttpResponse> UnixHttpClient::request(std::string_view method, std::string_view target,
                                             std::string_view body, std::string_view content_type,
                                             std::chrono::milliseconds timeout) const {
  const auto deadline = SteadyClock::now() + timeout;
  const std::string what =
      std::string(method) + " " + std::string(target) + " on unix://" + socket_path_;
  auto timed_out = [&]() {
    return make_error(
        "timeout", what + ": no complete answer within " + std::to_string(timeout.count()) + " ms");
  };

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.empty() || socket_path_.size() >= sizeof(addr.sun_path)) {
    return make_error("unavailable", what + ": socket path empty or longer than " +
                                         std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());

  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) {
    return make_error("io_error", what + ": socket(): " + std::strerror(errno));
  }
  while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN) {  // listen backlog full: retry until the deadline
      if (remaining_ms(deadline) == 0) return timed_out();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (err == EINPROGRESS) {
      pollfd p{fd.get(), POLLOUT, 0};
      int n = ::poll(&p, 1, remaining_ms(deadline));
      if (n == 0) return timed_out();
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error == 0) break;
      err = so_error;
    }
    return make_error("unavailable", what + ": connect: " + std::strerror(err));
  }

  std::string request;
  request.reserve(256 + body.size());
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  request.append("Host: docker\r\nUser-Agent: beemesh\r\nConnection: close\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    if (!content_type.empty()) request.append("Content-Type: ").append(content_type).append("\r\n");
    request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  request.append("\r\n").append(body);

  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd.get(), POLLOUT, 0};
      int ms = remaining_ms(deadline);
      if (ms == 0 || ::poll(&p, 1, ms) == 0) return timed_out();
      continue;
    }
    return make_error("io_error", what + ": send: " + std::strerror(errno));
  }

  HttpResponseParser parser(max_response_bytes_, method == "HEAD");
  char chunk[16 * 1024];
  while (!parser.complete()) {
    ssize_t n = ::recv(fd.get(), chunk, sizeof(chunk), 0);
    if (n > 0) {
      auto fed = parser.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
      if (!fed) return make_error(fed.error().code, what + ": " + fed.error().message);
      continue;
    }
    if (n == 0) {
      auto done = parser.finish();
      if (!done) return make_error(done.error().code, what + ": " + done.error().message);
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      pollfd p{fd.get(), POLLIN, 0};
      int ms = remaining_ms(deadline);
      if (ms == 0) return timed_out();
      int r = ::poll(&p, 1, ms);
      if (r == 0) return timed_out();
      if (r < 0 && errno != EINTR) {
        return make_error("io_error", what + ": poll: " + std::strerror(errno));
      }
      continue;
    }
    return make_error("io_error", what + ": recv: " + std::strerror(errno));
  }
  return parser.take();
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace beemesh::runtime::docker
