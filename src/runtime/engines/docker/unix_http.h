// runtime/engines/docker/unix_http.h — a minimal HTTP/1.1 client over a Unix socket.
//
// Promise:
//  * request() opens one connection per call (so it is safe from many threads at once),
//    sends one request with `Connection: close`, and reads the whole response, decoding
//    Content-Length, chunked and read-until-close bodies.
//  * Every call is bounded by its timeout (connect + send + receive together); when the
//    time runs out it returns Error{"timeout"}. A socket nobody listens on gives
//    Error{"unavailable"}; a malformed or oversized answer gives Error{"invalid_response"}.
//  * HttpResponseParser is the incremental parser request() uses; it is exposed so it can
//    be tested without a socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace beemesh::runtime::docker {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class HttpResponseParser {
 public:
  explicit HttpResponseParser(std::size_t max_body_bytes = 64 * 1024 * 1024,
                              bool head_request = false)
      : max_body_(max_body_bytes), head_(head_request) {}

  // Consumes more bytes of the stream. Error on malformed or oversized input.
  Result<void> feed(std::string_view data);
  // True once the whole response (headers and body) has been seen.
  bool complete() const { return state_ == State::Done; }
  // The peer closed the connection: completes a read-until-close body; anything else
  // that is incomplete is an error.
  Result<void> finish();

  const HttpResponse& response() const { return response_; }
  HttpResponse take() { return std::move(response_); }

 private:
  enum class State { Headers, Fixed, ChunkSize, ChunkData, ChunkEnd, Trailers, UntilClose, Done };
  Result<void> parse_headers(std::string_view head);
  Result<void> append_body(std::string_view data);

  std::size_t max_body_;
  bool head_;
  State state_ = State::Headers;
  std::string buffer_;
  std::size_t remaining_ = 0;
  HttpResponse response_;
};

class UnixHttpClient {
 public:
  explicit UnixHttpClient(std::string socket_path,
                          std::size_t max_response_bytes = 64 * 1024 * 1024)
      : socket_path_(std::move(socket_path)), max_response_bytes_(max_response_bytes) {}

  const std::string& socket_path() const { return socket_path_; }

  // `target` is the request path with its query string, e.g. "/v1.41/containers/json?all=1".
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body, std::string_view content_type,
                               std::chrono::milliseconds timeout) const;

 private:
  std::string socket_path_;
  std::size_t max_response_bytes_;
};

// Percent-encodes everything but RFC 3986 unreserved characters (for query values).
std::string url_encode(std::string_view text);

}  // namespace beemesh::runtime::docker
