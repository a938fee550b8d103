// net/connection.h — internal: one framed connection (TCP or TLS), shared by client and server.
//
// Promise: once started, a Connection reads frames until the peer goes away or it is closed,
// handing each complete frame to on_frame(). Receive memory grows only as bytes arrive: a
// header claiming a large body allocates nothing of that size; the body is read in chunks of
// at most 64 KiB into a buffer that grows geometrically, and every byte of buffer capacity is
// counted in the shared BufferGauge while held. A claimed body over frame_limit() or a
// malformed header closes the connection (logged with its reason); so does a frame whose
// bytes do not all arrive within frame_timeout ("frame_timeout") and, when idle_timeout is
// set, a connection on which no frame starts for that long while nothing runs or is written
// for it ("idle_timeout"). send() queues a frame without copying its payload; queued frames go
// out in order, batched into one gather write. close() is idempotent, frees the receive
// buffers and calls on_closed() exactly once with the reason. Every member must be called on
// the socket's executor (a strand), which is also where on_frame/on_closed run.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
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
#include "common/log_budget.h"
#include "common/result.h"
#include "net/frame.h"
#include "net/stream.h"
#include "net/tls.h"

namespace beemesh::net {

// Bytes of receive buffers held by a set of connections (a server's or a client's). Thread-safe.
class BufferGauge {
 public:
  void add(size_t n) { bytes_.fetch_add(n, std::memory_order_relaxed); }
  void sub(size_t n) { bytes_.fetch_sub(n, std::memory_order_relaxed); }
  size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  std::atomic<size_t> bytes_{0};
};

struct ConnectionOptions {
  size_t max_frame_size = kDefaultMaxFrameSize;
  std::chrono::milliseconds frame_timeout{0};  // 0: none
  std::chrono::milliseconds idle_timeout{0};   // 0: none
  std::shared_ptr<BufferGauge> gauge;          // may be null
  // Replies queued but not yet taken by the peer's socket: above this the connection stops
  // reading new frames until half of it has drained (a peer that sends and never reads
  // cannot make the node hold its answers without bound).
  size_t max_unsent_bytes = 8 * 1024 * 1024;
  // Warnings about closed connections share this budget (null: logged at debug level).
  std::shared_ptr<LogBudget> warnings;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Stream stream, std::string remote, ConnectionOptions options);
  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const asio::any_io_executor& executor() const { return executor_; }
  const std::string& remote() const { return remote_; }
  size_t max_frame_size() const { return options_.max_frame_size; }
  bool is_open() const { return open_; }
  size_t unsent_bytes() const { return unsent_bytes_; }

  void start();
  // Server side of TLS: the handshake and the peer check (net/tls.h) within
  // tls.handshake_timeout, then start(); a failure closes the connection with its Error
  // ("handshake_timeout" when the time ran out).
  void start_tls(const TlsOptions& tls);
  void send(uint64_t request_id, FrameKind kind, std::string_view protocol, Bytes payload);
  void close(const Error& reason);

  // Stop / restart taking frames off the socket (TCP pushes back on the peer meanwhile).
  void pause_reading() { paused_ = true; }
  void resume_reading();

 protected:
  virtual void on_frame(Frame frame) = 0;
  virtual void on_closed(const Error& reason) = 0;
  // The largest body accepted for the next frame.
  virtual size_t frame_limit() const { return options_.max_frame_size; }
  // Asked before a partly received frame's buffer grows by n bytes; an Error closes the
  // connection with it. Every admitted byte is handed back through released() once.
  virtual Result<void> admit(size_t) { return {}; }
  virtual void released(size_t) {}
  // With TLS: the peer's certificate, once its handshake and verify hook passed, just before
  // the first frame is read.
  virtual void on_peer_certificate(const PeerCertificate&) {}
  // Awaited before each frame is read (the server waits here for its peer's budget); must
  // return when the connection closes.
  virtual asio::awaitable<void> before_frame() { co_return; }
  // True while the connection does work for its peer (then it is never idle).
  virtual bool busy() const { return false; }
  // Work for the peer just ended: the idle timeout counts from now.
  void refresh_idle();

 private:
  struct OutFrame {
    std::array<uint8_t, kMaxHeaderSize> header;
    size_t header_size = 0;
    Bytes payload;
  };
  enum class Deadline { none, idle, frame };
  class FrameMemory;

  static asio::awaitable<void> read_loop(std::shared_ptr<Connection> self);
  static asio::awaitable<void> handshake(std::shared_ptr<Connection> self, TlsOptions tls);
  static asio::awaitable<void> watchdog(std::shared_ptr<Connection> self);
  asio::awaitable<Result<Frame>> read_frame();
  asio::awaitable<Result<void>> read_payload(Bytes& payload, size_t size);
  asio::awaitable<Result<void>> fill(size_t n);
  void set_read_buffer_size(size_t size);
  void arm(Deadline kind);
  Error read_error(const std::error_code& ec) const;
  void flush();

  Stream socket_;
  asio::any_io_executor executor_;
  std::string remote_;
  const ConnectionOptions options_;
  bool open_ = true;
  bool started_ = false;
  bool paused_ = false;
  bool backlogged_ = false;  // unsent_bytes_ went over max_unsent_bytes
  size_t unsent_bytes_ = 0;  // queued_ + writing_
  asio::steady_timer resume_signal_;

  // The watchdog closes the connection when `deadline_` passes.
  asio::steady_timer watchdog_timer_;
  asio::steady_timer::time_point deadline_ = asio::steady_timer::time_point::max();
  Deadline deadline_kind_ = Deadline::none;

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
