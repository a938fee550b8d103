// net/stream.h — internal: the byte stream under a Connection, plain TCP or TLS over TCP.
//
// Promise: a Stream forwards async_read_some / async_write to whichever stream it holds, so
// the framing above does not know which it is. close() closes the TCP socket (no TLS
// close_notify: frames are length-prefixed, so a truncation is always noticed). Like the
// socket, it must be used on its executor only.
#pragma once

#include <utility>
#include <variant>

#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>

namespace beemesh::net {

using TcpSocket = asio::ip::tcp::socket;
using TlsSocket = asio::ssl::stream<asio::ip::tcp::socket>;

class Stream {
 public:
  explicit Stream(TcpSocket socket) : stream_(std::in_place_type<TcpSocket>, std::move(socket)) {}
  explicit Stream(TlsSocket socket) : stream_(std::in_place_type<TlsSocket>, std::move(socket)) {}

  TlsSocket* tls() { return std::get_if<TlsSocket>(&stream_); }

  TcpSocket& tcp() {
    return std::visit(
        [](auto& s) -> TcpSocket& {
          if constexpr (std::is_same_v<std::decay_t<decltype(s)>, TcpSocket>) {
            return s;
          } else {
            return s.next_layer();
          }
        },
        stream_);
  }

  asio::any_io_executor get_executor() { return tcp().get_executor(); }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    if (auto* tls = std::get_if<TlsSocket>(&stream_)) {
      return tls->async_read_some(buffers, std::forward<Token>(token));
    }
    return std::get<TcpSocket>(stream_).async_read_some(buffers, std::forward<Token>(token));
  }

  template <typename Buffers, typename Handler>
  void async_write(const Buffers& buffers, Handler&& handler) {
    if (auto* tls = std::get_if<TlsSocket>(&stream_)) {
      asio::async_write(*tls, buffers, std::forward<Handler>(handler));
      return;
    }
    asio::async_write(std::get<TcpSocket>(stream_), buffers, std::forward<Handler>(handler));
  }

  void close() {
    std::error_code ignored;
    tcp().shutdown(TcpSocket::shutdown_both, ignored);
    tcp().close(ignored);
  }

 private:
  std::variant<TcpSocket, TlsSocket> stream_;
};

}  // namespace beemesh::net
