#include "runtime/engines/docker/unix_http.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

namespace beemesh::runtime::docker {
namespace {

using namespace std::chrono_literals;

// Feeds `raw` one byte at a time, then EOF; the parsed response.
Result<HttpResponse> parse_bytewise(const std::string& raw, std::size_t max_body = 1 << 20) {
  HttpResponseParser parser(max_body);
  for (char c : raw) {
    if (parser.complete()) break;
    if (auto r = parser.feed(std::string_view(&c, 1)); !r) return r.error();
  }
  if (!parser.complete()) {
    if (auto r = parser.finish(); !r) return r.error();
  }
  return parser.take();
}

TEST(HttpResponseParser, ReadsAContentLengthBody) {
  HttpResponseParser parser;
  ASSERT_TRUE(
      parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nApi-Version: 1.41\r\n\r\nhello").ok());
  ASSERT_TRUE(parser.complete());
  EXPECT_EQ(parser.response().status, 200);
  EXPECT_EQ(parser.response().body, "hello");
  EXPECT_EQ(parser.response().headers.at("api-version"), "1.41");
}

TEST(HttpResponseParser, CompletesWithoutWaitingForCloseWhenTheLengthIsReached) {
  HttpResponseParser parser;
  ASSERT_TRUE(parser.feed("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}").ok());
  EXPECT_TRUE(parser.complete());
}

TEST(HttpResponseParser, DecodesAChunkedBodyFedOneByteAtATime) {
  auto r = parse_bytewise(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->body, "hello 0123456789");
}

TEST(HttpResponseParser, ReadsUntilCloseWhenNoLengthIsGiven) {
  auto r =
      parse_bytewise("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nstreamed until close");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->body, "streamed until close");
}

TEST(HttpResponseParser, NoContentHasNoBody) {
  HttpResponseParser parser;
  ASSERT_TRUE(parser.feed("HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n").ok());
  EXPECT_TRUE(parser.complete());
  EXPECT_EQ(parser.response().status, 204);
  EXPECT_EQ(parser.response().body, "");
}

TEST(HttpResponseParser, SkipsAnInterim100Continue) {
  auto r = parse_bytewise(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "{}");
}

TEST(HttpResponseParser, RejectsSomethingThatIsNotHttp) {
  HttpResponseParser parser;
  auto r = parser.feed("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_response");
}

TEST(HttpResponseParser, RejectsABadChunkSize) {
  auto r = parse_bytewise("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_response");
}

TEST(HttpResponseParser, RejectsABodyOverTheLimit) {
  auto r = parse_bytewise("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_response");
  auto chunked = parse_bytewise(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
      "chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
      10);
  ASSERT_FALSE(chunked.ok());
  EXPECT_EQ(chunked.error().code, "invalid_response");
}

TEST(HttpResponseParser, ACloseInTheMiddleOfTheBodyIsAnError) {
  auto r = parse_bytewise("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_response");
  EXPECT_NE(r.error().message.find("middle"), std::string::npos);
}

TEST(HttpResponseParser, ACloseBeforeAnyResponseIsAnError) {
  HttpResponseParser parser;
  auto r = parser.finish();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("before a response"), std::string::npos);
}

TEST(UrlEncode, EncodesEverythingButUnreservedCharacters) {
  EXPECT_EQ(url_encode(R"({"label":["a=b"]})"), "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
  EXPECT_EQ(url_encode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(url_encode("a b/c"), "a%20b%2Fc");
}

// A Unix-socket server that answers each connection with `reply` (or never, when empty),
// recording the request it read.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
    char dir[] = "/tmp/bm-http-XXXXXX";
    EXPECT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/s.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    thread_ = std::thread([this] {
      int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      char buf[4096];
      while (request_.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(conn, buf, sizeof(buf));
        if (n <= 0) break;
        request_.append(buf, static_cast<std::size_t>(n));
      }
      if (!reply_.empty()) {
        (void)!::write(conn, reply_.data(), reply_.size());
      } else {
        char c;
        (void)!::read(conn, &c, 1);  // hold the connection until the client gives up
      }
      ::close(conn);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }
  const std::string& path() const { return path_; }
  // The request the server read (waits for its thread to finish the exchange).
  const std::string& request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  std::string reply_;
  std::string dir_;
  std::string path_;
  int fd_ = -1;
  std::string request_;
  std::thread thread_;
};

TEST(UnixHttpClient, SendsOneRequestAndReadsAChunkedAnswer) {
  OneShotServer server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n");
  UnixHttpClient client(server.path());
  auto r = client.request("POST", "/v1.41/containers/create?name=x", "{}", "application/json", 5s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "OK");
  const std::string request = server.request();
  EXPECT_EQ(request.rfind("POST /v1.41/containers/create?name=x HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(request.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(request.find("Host: "), std::string::npos);
}

TEST(UnixHttpClient, AServerThatNeverAnswersIsATimeout) {
  OneShotServer server("");
  UnixHttpClient client(server.path());
  auto r = client.request("GET", "/_ping", "", "", 200ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "timeout");
  EXPECT_NE(r.error().message.find("GET /_ping"), std::string::npos) << r.error().message;
}

TEST(UnixHttpClient, ASocketNobodyListensOnIsUnavailable) {
  UnixHttpClient client("/tmp/beemesh-no-such-dir/docker.sock");
  auto r = client.request("GET", "/_ping", "", "", 1s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "unavailable");
  EXPECT_NE(r.error().message.find("/tmp/beemesh-no-such-dir/docker.sock"), std::string::npos);
}

}  // namespace
}  // namespace beemesh::runtime::docker
