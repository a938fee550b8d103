// tests/net/raw_peer.h — a hand-driven TCP peer for hostile-input tests: it sends whatever
// bytes a test gives it (half frames, stalls) and can tell whether the server hung up.
#pragma once

#include <array>
#include <cstdint>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "common/bytes.h"
#include "net/frame.h"
#include "net_test_support.h"

namespace beemesh::net::testing {

class RawPeer {
 public:
  explicit RawPeer(uint16_t port) : socket_(io_) {
    socket_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  // Best effort: the server may hang up while we write.
  std::error_code send(const Bytes& bytes) {
    std::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
    return ec;
  }

  // The prefix and header of a request frame whose payload claims `payload_size` bytes.
  static Bytes header(std::string_view protocol, size_t payload_size) {
    std::array<uint8_t, kMaxHeaderSize> h{};
    size_t n = encode_header(h, 1, FrameKind::request, protocol, payload_size);
    return Bytes(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(n));
  }

  // Sends a whole request and reads the whole reply frame; false when the connection broke.
  bool round_trip(std::string_view protocol, const Bytes& payload) {
    if (send(encode_frame(1, FrameKind::request, protocol, payload))) return false;
    std::array<uint8_t, 4> prefix{};
    std::error_code ec;
    asio::read(socket_, asio::buffer(prefix), ec);
    if (ec) return false;
    Bytes body(decode_length_prefix(ByteView(prefix.data(), prefix.size())));
    asio::read(socket_, asio::buffer(body), ec);
    return !ec;
  }

  // Waits until the server closes the connection (true) or the hang deadline passes (false).
  bool closed_by_server() {
    bool closed = false;
    read_until_closed(closed);
    io_.restart();
    io_.run_for(kHangDeadline);
    return closed;
  }

  void close() {
    std::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void read_until_closed(bool& closed) {
    socket_.async_read_some(asio::buffer(sink_),
                            [this, &closed](const std::error_code& ec, size_t) {
                              if (ec) {
                                closed = true;
                                io_.stop();
                                return;
                              }
                              read_until_closed(closed);
                            });
  }

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::array<uint8_t, 4096> sink_{};
};

}  // namespace beemesh::net::testing
