#include "net/connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace beemesh::net {

namespace {
constexpr size_t kReadBufferSize = 64 * 1024;
}

Connection::Connection(asio::ip::tcp::socket socket, size_t max_frame_size, std::string remote)
    : socket_(std::move(socket)),
      executor_(socket_.get_executor()),
      max_frame_size_(max_frame_size),
      remote_(std::move(remote)),
      resume_signal_(executor_),
      read_buffer_(kReadBufferSize) {
  resume_signal_.expires_at(asio::steady_timer::time_point::max());
}

void Connection::start() {
  if (started_) return;
  started_ = true;
  asio::co_spawn(executor_, read_loop(shared_from_this()), asio::detached);
}

void Connection::resume_reading() {
  if (!paused_) return;
  paused_ = false;
  resume_signal_.cancel();
}

asio::awaitable<void> Connection::read_loop(std::shared_ptr<Connection> self) {
  try {
    while (self->open_) {
      while (self->paused_ && self->open_) {
        std::error_code ignored;
        co_await self->resume_signal_.async_wait(
            asio::redirect_error(asio::use_awaitable, ignored));
      }
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
}

Error Connection::read_error(const std::error_code& ec) const {
  if (ec == asio::error::eof) {
    return make_error("disconnected", "peer " + remote_ + " closed the connection");
  }
  return make_error("disconnected", "connection to " + remote_ + " lost: " + ec.message());
}

asio::awaitable<Result<void>> Connection::fill(size_t n) {
  if (read_end_ - read_begin_ >= n) co_return ok_result();
  if (read_buffer_.size() - read_begin_ < n) {
    std::memmove(read_buffer_.data(), read_buffer_.data() + read_begin_, read_end_ - read_begin_);
    read_end_ -= read_begin_;
    read_begin_ = 0;
  }
  while (read_end_ - read_begin_ < n) {
    std::error_code ec;
    size_t got = co_await socket_.async_read_some(
        asio::buffer(read_buffer_.data() + read_end_, read_buffer_.size() - read_end_),
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return read_error(ec);
    read_end_ += got;
  }
  co_return ok_result();
}

asio::awaitable<Result<Frame>> Connection::read_frame() {
  if (auto r = co_await fill(kLengthPrefixSize); !r.ok()) co_return r.error();
  uint32_t body_size =
      decode_length_prefix(ByteView(read_buffer_.data() + read_begin_, kLengthPrefixSize));
  if (auto r = check_body_size(body_size, max_frame_size_); !r.ok()) co_return r.error();

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

  // The body size was checked against the limit above, so this allocation is bounded.
  size_t payload_size = body_size - kFixedHeaderSize - fixed->protocol_size;
  frame.payload.resize(payload_size);
  size_t buffered = std::min(payload_size, read_end_ - read_begin_);
  if (buffered > 0) {
    std::memcpy(frame.payload.data(), read_buffer_.data() + read_begin_, buffered);
    read_begin_ += buffered;
  }
  if (read_begin_ == read_end_) read_begin_ = read_end_ = 0;
  if (buffered < payload_size) {
    std::error_code ec;
    co_await asio::async_read(
        socket_, asio::buffer(frame.payload.data() + buffered, payload_size - buffered),
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return read_error(ec);
  }
  co_return frame;
}

void Connection::send(uint64_t request_id, FrameKind kind, std::string_view protocol,
                      Bytes payload) {
  if (!open_) return;
  OutFrame& f = queued_.emplace_back();
  f.header_size = encode_header(f.header, request_id, kind, protocol, payload.size());
  f.payload = std::move(payload);
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
  asio::async_write(socket_, write_buffers_,
                    [self = shared_from_this()](const std::error_code& ec, size_t) {
                      self->write_in_progress_ = false;
                      if (ec) {
                        if (self->open_) self->close(self->read_error(ec));
                        return;
                      }
                      self->flush();
                    });
}

void Connection::close(const Error& reason) {
  if (!open_) return;
  open_ = false;
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  resume_signal_.cancel();
  queued_.clear();  // frames being written stay alive until the write handler runs
  if (reason.code == "disconnected" || reason.code == "shutdown") {
    spdlog::debug("component=net event=connection_closed peer={} reason=\"{}\"", remote_,
                  reason.to_string());
  } else {
    spdlog::warn("component=net event=connection_closed peer={} reason=\"{}\"", remote_,
                 reason.to_string());
  }
  on_closed(reason);
}

}  // namespace beemesh::net
