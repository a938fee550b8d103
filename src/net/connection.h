// net/connection.h — internal: one framed TCP connection, shared by client and server.
//
// Promise: once started, a Connection reads frames until the peer goes away or it is closed,
// handing each complete frame to on_frame(); a claimed body larger than the limit or a
// malformed header closes the connection (logged with its reason) before anything of the
// claimed size is allocated. send() queues a frame without copying its payload; queued frames
// go out in order, batched into one gather write. close() is idempotent and calls on_closed()
// exactly once with the reason. Every member must be called on the socket's executor (a
// strand), which is also where on_frame/on_closed run.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "common/bytes.h"
#include "common/result.h"
#include "net/frame.h"

namespace beemesh::net {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket socket, size_t max_frame_size, std::string remote);
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const asio::any_io_executor& executor() const { return executor_; }
  const std::string& remote() const { return remote_; }
  size_t max_frame_size() const { return max_frame_size_; }
  bool is_open() const { return open_; }

  void start();
  void send(uint64_t request_id, FrameKind kind, std::string_view protocol, Bytes payload);
  void close(const Error& reason);

  // Stop / restart taking frames off the socket (TCP pushes back on the peer meanwhile).
  void pause_reading() { paused_ = true; }
  void resume_reading();

 protected:
  virtual void on_frame(Frame frame) = 0;
  virtual void on_closed(const Error& reason) = 0;

 private:
  struct OutFrame {
    std::array<uint8_t, kMaxHeaderSize> header;
    size_t header_size = 0;
    Bytes payload;
  };

  static asio::awaitable<void> read_loop(std::shared_ptr<Connection> self);
  asio::awaitable<Result<Frame>> read_frame();
  asio::awaitable<Result<void>> fill(size_t n);
  Error read_error(const std::error_code& ec) const;
  void flush();

  asio::ip::tcp::socket socket_;
  asio::any_io_executor executor_;
  size_t max_frame_size_;
  std::string remote_;
  bool open_ = true;
  bool started_ = false;
  bool paused_ = false;
  asio::steady_timer resume_signal_;

  // Read buffer: unparsed bytes are [read_begin_, read_end_).
  Bytes read_buffer_;
  size_t read_begin_ = 0;
  size_t read_end_ = 0;

  std::deque<OutFrame> queued_;
  std::vector<OutFrame> writing_;
  std::vector<asio::const_buffer> write_buffers_;
  bool write_in_progress_ = false;
};

}  // namespace beemesh::net
