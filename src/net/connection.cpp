#include "net/connection.h"

#include "net/tls_handshake.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace beemesh::net {

namespace {
constexpr size_t kInitialReadBuffer = 4 * 1024;
constexpr size_t kMaxReadBuffer = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;  // most bytes of a body read by one receive

bool quiet_reason(const std::string& code) {
  return code == "disconnected" || code == "shutdown" || code == "idle_timeout" ||
         code == "evicted";
}
}  // namespace

// The receive memory of one partly read frame, admitted and counted while it is held.
class Connection::FrameMemory {
 public:
  explicit FrameMemory(Connection& c) : c_(c) {}
  ~FrameMemory() {
    if (held_ == 0) return;
    c_.released(held_);
    if (c_.options_.gauge) c_.options_.gauge->sub(held_);
  }
  FrameMemory(const FrameMemory&) = delete;
  FrameMemory& operator=(const FrameMemory&) = delete;

  Result<void> take(size_t n) {
    if (auto r = c_.admit(n); !r.ok()) return r;
    held_ += n;
    if (c_.options_.gauge) c_.options_.gauge->add(n);
    return {};
  }

 private:
  Connection& c_;
  size_t held_ = 0;
};

Connection::Connection(Stream stream, std::string remote, ConnectionOptions options)
    : socket_(std::move(stream)),
      executor_(socket_.get_executor()),
      remote_(std::move(remote)),
      options_(std::move(options)),
      resume_signal_(executor_),
      watchdog_timer_(executor_) {
  resume_signal_.expires_at(asio::steady_timer::time_point::max());
  watchdog_timer_.expires_at(asio::steady_timer::time_point::max());
}

Connection::~Connection() {
  set_read_buffer_size(0);
}

void Connection::start() {
  if (started_) return;
  started_ = true;
  asio::co_spawn(executor_, read_loop(shared_from_this()), asio::detached);
  if (options_.frame_timeout.count() > 0 || options_.idle_timeout.count() > 0) {
    asio::co_spawn(executor_, watchdog(shared_from_this()), asio::detached);
  }
}

void Connection::start_tls(const TlsOptions& tls) {
  if (started_) return;
  if (!socket_.tls()) {
    close(make_error("tls_setup", "TLS requested on a plain TCP connection from " + remote_));
    return;
  }
  asio::co_spawn(executor_, handshake(shared_from_this(), tls), asio::detached);
}

asio::awaitable<void> Connection::handshake(std::shared_ptr<Connection> self, TlsOptions tls) {
  asio::steady_timer guard(self->executor_, tls.handshake_timeout);
  guard.async_wait([self, timeout = tls.handshake_timeout](const std::error_code& ec) {
    if (ec || !self->open_ || self->started_) return;
    self->close(make_error("handshake_timeout", "TLS handshake with " + self->remote_ +
                                                    " not done within " +
                                                    std::to_string(timeout.count()) + " ms"));
  });
  Result<void> done = ok_result();
  try {
    done = co_await tls_handshake(*self->socket_.tls(), asio::ssl::stream_base::server, tls, "",
                                  self->remote_);
  } catch (const std::exception& e) {
    done = make_error("handshake_failed", std::string("TLS handshake: ") + e.what());
  }
  guard.cancel();
  if (!self->open_) co_return;  // timed out, evicted or stopped meanwhile
  if (!done.ok()) {
    self->close(done.error());
    co_return;
  }
  auto peer = read_peer_certificate(self->socket_.tls()->native_handle(), "");
  if (!peer.ok()) {
    self->close(peer.error());
    co_return;
  }
  self->on_peer_certificate(*peer);
  self->start();
}

void Connection::resume_reading() {
  if (!paused_) return;
  paused_ = false;
  if (!backlogged_) resume_signal_.cancel();
}

asio::awaitable<void> Connection::read_loop(std::shared_ptr<Connection> self) {
  try {
    while (self->open_) {
      while ((self->paused_ || self->backlogged_) && self->open_) {
        std::error_code ignored;
        co_await self->resume_signal_.async_wait(
            asio::redirect_error(asio::use_awaitable, ignored));
      }
      if (!self->open_) break;
      co_await self->before_frame();
      if (!self->open_) break;
      auto frame = co_await self->read_frame();
      if (!self->open_) break;
      if (!frame.ok()) {
        self->close(frame.error());
        break;
      }
      self->on_frame(std::move(frame).value());
    }
  } catch (const std::exception& e) {
    self->close(
        make_error("internal", std::string("reading from ") + self->remote_ + ": " + e.what()));
  }
  // Nothing reads any more: give the receive memory back now, not when the last owner lets go.
  self->set_read_buffer_size(0);
}

asio::awaitable<void> Connection::watchdog(std::shared_ptr<Connection> self) {
  while (self->open_) {
    auto now = asio::steady_timer::clock_type::now();
    if (self->deadline_ <= now) {
      if (self->deadline_kind_ == Deadline::idle && (self->busy() || self->write_in_progress_)) {
        self->deadline_ = now + self->options_.idle_timeout;
        continue;
      }
      if (self->deadline_kind_ == Deadline::idle) {
        self->close(make_error("idle_timeout",
                               "no request from " + self->remote_ + " for " +
                                   std::to_string(self->options_.idle_timeout.count()) + " ms"));
      } else {
        self->close(make_error("frame_timeout",
                               "a frame from " + self->remote_ + " did not arrive in full within " +
                                   std::to_string(self->options_.frame_timeout.count()) + " ms"));
      }
      co_return;
    }
    self->watchdog_timer_.expires_at(self->deadline_);
    std::error_code ignored;
    co_await self->watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

void Connection::arm(Deadline kind) {
  auto timeout = kind == Deadline::idle    ? options_.idle_timeout
                 : kind == Deadline::frame ? options_.frame_timeout
                                           : std::chrono::milliseconds(0);
  deadline_kind_ = kind;
  if (timeout.count() <= 0) {
    deadline_ = asio::steady_timer::time_point::max();
    return;
  }
  deadline_ = asio::steady_timer::clock_type::now() + timeout;
  // The watchdog sleeps until the previous deadline; wake it when this one comes first.
  if (deadline_ < watchdog_timer_.expiry()) watchdog_timer_.cancel();
}

void Connection::refresh_idle() {
  // Later than the watchdog's wake-up, so it needs no wake: it re-arms when it gets there.
  if (deadline_kind_ == Deadline::idle && options_.idle_timeout.count() > 0) {
    deadline_ = asio::steady_timer::clock_type::now() + options_.idle_timeout;
  }
}

void Connection::set_read_buffer_size(size_t size) {
  size_t old = read_buffer_.size();
  if (size == old) return;
  if (size == 0) {
    Bytes().swap(read_buffer_);
    read_begin_ = read_end_ = 0;
  } else {
    read_buffer_.reserve(size);
    read_buffer_.resize(size);
  }
  if (options_.gauge) {
    if (size > old) {
      options_.gauge->add(size - old);
    } else {
      options_.gauge->sub(old - size);
    }
  }
}

Error Connection::read_error(const std::error_code& ec) const {
  if (ec == asio::error::eof) {
    return make_error("disconnected", "peer " + remote_ + " closed the connection");
  }
  return make_error("disconnected", "connection to " + remote_ + " lost: " + ec.message());
}

asio::awaitable<Result<void>> Connection::fill(size_t n) {
  if (read_end_ - read_begin_ >= n) co_return ok_result();
  if (read_buffer_.size() < kInitialReadBuffer) set_read_buffer_size(kInitialReadBuffer);
  if (read_buffer_.size() - read_begin_ < n) {
    std::memmove(read_buffer_.data(), read_buffer_.data() + read_begin_, read_end_ - read_begin_);
    read_end_ -= read_begin_;
    read_begin_ = 0;
  }
  while (read_end_ - read_begin_ < n) {
    std::error_code ec;
    size_t space = read_buffer_.size() - read_end_;
    size_t got =
        co_await socket_.async_read_some(asio::buffer(read_buffer_.data() + read_end_, space),
                                         asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return read_error(ec);
    read_end_ += got;
    // A full buffer means more is waiting: take bigger bites (small frames come in batches).
    if (got == space && read_buffer_.size() < kMaxReadBuffer) {
      set_read_buffer_size(std::min(kMaxReadBuffer, read_buffer_.size() * 2));
    }
  }
  co_return ok_result();
}

asio::awaitable<Result<Frame>> Connection::read_frame() {
  if (read_begin_ == read_end_) {
    arm(Deadline::idle);
    if (auto r = co_await fill(1); !r.ok()) co_return r.error();
  }
  arm(Deadline::frame);
  if (auto r = co_await fill(kLengthPrefixSize); !r.ok()) co_return r.error();
  uint32_t body_size =
      decode_length_prefix(ByteView(read_buffer_.data() + read_begin_, kLengthPrefixSize));
  if (auto r = check_body_size(body_size, frame_limit()); !r.ok()) co_return r.error();

  if (auto r = co_await fill(kLengthPrefixSize + kFixedHeaderSize); !r.ok()) co_return r.error();
  auto fixed = parse_fixed_header(
      ByteView(read_buffer_.data() + read_begin_ + kLengthPrefixSize, kFixedHeaderSize), body_size);
  if (!fixed.ok()) co_return fixed.error();

  size_t header_size = kLengthPrefixSize + kFixedHeaderSize + fixed->protocol_size;
  if (auto r = co_await fill(header_size); !r.ok()) co_return r.error();
  Frame frame;
  frame.request_id = fixed->request_id;
  frame.kind = fixed->kind;
  frame.protocol.assign(reinterpret_cast<const char*>(read_buffer_.data() + read_begin_ +
                                                      header_size - fixed->protocol_size),
                        fixed->protocol_size);
  if (auto v = validate_protocol_id(frame.protocol); !v.ok()) {
    co_return make_error("protocol_error", v.error().message);
  }
  read_begin_ += header_size;
  if (read_begin_ == read_end_) read_begin_ = read_end_ = 0;

  size_t payload_size = body_size - kFixedHeaderSize - fixed->protocol_size;
  if (auto r = co_await read_payload(frame.payload, payload_size); !r.ok()) co_return r.error();
  arm(Deadline::none);
  co_return frame;
}

asio::awaitable<Result<void>> Connection::read_payload(Bytes& payload, size_t size) {
  // The buffer grows with what has arrived (doubling, in receives of at most kReadChunk), so
  // a peer that claims a large body and stalls holds little memory.
  FrameMemory memory(*this);
  size_t have = 0;
  while (have < size) {
    size_t buffered = read_end_ - read_begin_;
    size_t room = payload.capacity() - have;
    // Receive into the room left; grow only when the buffer is full: capacity stays within
    // max(kReadChunk, twice what arrived).
    size_t step = buffered > 0 ? std::min(size - have, buffered)
                               : std::min({size - have, kReadChunk, room > 0 ? room : kReadChunk});
    size_t needed = have + step;
    if (needed > payload.capacity()) {
      size_t target = std::min(size, std::max(needed, payload.capacity() * 2));
      if (auto r = memory.take(target - payload.capacity()); !r.ok()) co_return r.error();
      payload.reserve(target);
    }
    payload.resize(needed);
    if (buffered > 0) {
      std::memcpy(payload.data() + have, read_buffer_.data() + read_begin_, step);
      read_begin_ += step;
      if (read_begin_ == read_end_) read_begin_ = read_end_ = 0;
      have = needed;
      continue;
    }
    std::error_code ec;
    size_t got = co_await socket_.async_read_some(asio::buffer(payload.data() + have, step),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return read_error(ec);
    have += got;
    payload.resize(have);
  }
  co_return ok_result();
}

void Connection::send(uint64_t request_id, FrameKind kind, std::string_view protocol,
                      Bytes payload) {
  if (!open_) return;
  OutFrame& f = queued_.emplace_back();
  f.header_size = encode_header(f.header, request_id, kind, protocol, payload.size());
  f.payload = std::move(payload);
  unsent_bytes_ += f.header_size + f.payload.size();
  if (unsent_bytes_ > options_.max_unsent_bytes) backlogged_ = true;
  if (!write_in_progress_) flush();
}

void Connection::flush() {
  if (queued_.empty() || !open_) return;
  write_in_progress_ = true;
  writing_.clear();
  write_buffers_.clear();
  while (!queued_.empty()) {
    writing_.push_back(std::move(queued_.front()));
    queued_.pop_front();
  }
  for (const auto& f : writing_) {
    write_buffers_.emplace_back(f.header.data(), f.header_size);
    if (!f.payload.empty()) write_buffers_.emplace_back(f.payload.data(), f.payload.size());
  }
  socket_.async_write(
      write_buffers_, [self = shared_from_this()](const std::error_code& ec, size_t written) {
        self->write_in_progress_ = false;
        self->unsent_bytes_ -= std::min(written, self->unsent_bytes_);
        if (ec) {
          if (self->open_) self->close(self->read_error(ec));
          return;
        }
        if (self->backlogged_ && self->unsent_bytes_ <= self->options_.max_unsent_bytes / 2) {
          self->backlogged_ = false;
          if (!self->paused_) self->resume_signal_.cancel();
        }
        self->flush();
      });
}

void Connection::close(const Error& reason) {
  if (!open_) return;
  open_ = false;
  socket_.close();
  resume_signal_.cancel();
  watchdog_timer_.cancel();
  queued_.clear();  // frames being written stay alive until the write handler runs
  auto budget = quiet_reason(reason.code) || !options_.warnings ? std::optional<int64_t>()
                                                                : options_.warnings->take();
  if (!budget) {
    spdlog::debug("component=net event=connection_closed peer={} reason=\"{}\"", remote_,
                  reason.to_string());
  } else {
    spdlog::warn("component=net event=connection_closed peer={} reason=\"{}\"{}", remote_,
                 reason.to_string(),
                 *budget > 0 ? " (" + std::to_string(*budget) + " similar lines not logged)"
                             : std::string());
  }
  on_closed(reason);
}

}  // namespace beemesh::net
