#include "dht/epoll_socket.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <limits>
#include <utility>
#include <vector>

#include "dht/datagram_guard.h"
#include "dht/opendht_arrival_fix.h"

namespace beemesh::dht {

namespace {

constexpr uint64_t kWakeId = 0;  // epoll data of the eventfd; registrations start at 1
constexpr int kMaxEvents = 64;

std::string errno_text(int err) {
  return std::strerror(err);
}

// A non-blocking, close-on-exec UDP socket bound to `addr`; `bound` receives the address
// actually bound. Returns -1 and sets `error` on failure.
int bind_udp(const ::dht::SockAddr& addr, ::dht::SockAddr& bound, std::string& error) {
  const sa_family_t family = addr.getFamily();
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = "socket: " + errno_text(errno);
    return -1;
  }
  if (family == AF_INET6) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  // Room for a burst while the receive thread is away. FORCE passes net.core.rmem_max with
  // CAP_NET_ADMIN; without it the kernel caps the plain request. Neither failing is fatal.
  const int rcvbuf = static_cast<int>(kReceiveBufferBytes);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  // The kernel's receive time of each datagram (dht/opendht_arrival_fix.h); without it a
  // datagram counts as received when it is read.
  const int stamp = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &stamp, sizeof(stamp));
  if (::bind(fd, addr.get(), addr.getLength()) != 0) {
    error = "bind " + addr.toString() + ": " + errno_text(errno);
    ::close(fd);
    return -1;
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    error = "getsockname: " + errno_text(errno);
    ::close(fd);
    return -1;
  }
  bound = ::dht::SockAddr(ss, len);
  return fd;
}

// The kernel's receive time of the datagram `message` holds (SO_TIMESTAMPNS), on the steady
// clock; `read_at` when the kernel gave none.
std::chrono::steady_clock::time_point arrival_of(msghdr& message,
                                                 std::chrono::steady_clock::time_point read_at) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    if (c->cmsg_len < CMSG_LEN(sizeof(timespec))) break;
    timespec stamp{};
    std::memcpy(&stamp, CMSG_DATA(c), sizeof(stamp));
    return kernel_arrival(stamp, std::chrono::system_clock::now(), read_at);
  }
  return read_at;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// EpollLoop

Result<std::shared_ptr<EpollLoop>> EpollLoop::start(int nice) {
  std::shared_ptr<EpollLoop> loop(new EpollLoop());
  loop->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (loop->epoll_fd_ < 0) {
    return make_error("dht_start_failed", "epoll_create1: " + errno_text(errno));
  }
  loop->wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->wake_fd_ < 0) {
    return make_error("dht_start_failed", "eventfd: " + errno_text(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeId;
  if (::epoll_ctl(loop->epoll_fd_, EPOLL_CTL_ADD, loop->wake_fd_, &ev) != 0) {
    return make_error("dht_start_failed", "epoll_ctl(eventfd): " + errno_text(errno));
  }
  EpollLoop* raw = loop.get();
  std::promise<pid_t> tid;
  auto receive_tid = tid.get_future();
  loop->thread_ = std::thread([raw, &tid] {
    tid.set_value(::gettid());
    raw->run();
  });
  loop->thread_id_ = loop->thread_.get_id();
  ::pthread_setname_np(loop->thread_.native_handle(), "dht-epoll");
  const pid_t receiver = receive_tid.get();
  if (nice != 0 && ::setpriority(PRIO_PROCESS, static_cast<id_t>(receiver), nice) != 0) {
    return make_error("dht_start_failed", "setpriority(receive thread, nice " +
                                              std::to_string(nice) + "): " + errno_text(errno));
  }
  return loop;
}

EpollLoop::~EpollLoop() {
  stopping_ = true;
  if (thread_.joinable()) {
    wake();
    if (std::this_thread::get_id() == thread_.get_id()) {
      thread_.detach();  // the last socket died on the loop thread: it exits on its own
    } else {
      thread_.join();
    }
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void EpollLoop::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
}

size_t EpollLoop::registered() const {
  MutexLock lock(mutex_);
  return registrations_.size();
}

Result<uint64_t> EpollLoop::add(int fd, EpollSocket* socket) {
  MutexLock lock(mutex_);
  const uint64_t id = next_id_++;
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: a socket left with datagrams after a turn fires again
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return make_error("dht_start_failed", "epoll_ctl(add): " + errno_text(errno));
  }
  registrations_.emplace(id, Registration{fd, socket});
  return id;
}

void EpollLoop::remove(EpollSocket* socket) {
  MutexLock lock(mutex_);
  for (auto it = registrations_.begin(); it != registrations_.end();) {
    if (it->second.socket == socket) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
      it = registrations_.erase(it);
    } else {
      ++it;
    }
  }
  if (std::this_thread::get_id() == thread_id_) return;  // called from its own callback
  while (dispatching_ == socket) idle_.wait(mutex_);
}

void EpollLoop::run() {
  std::array<epoll_event, kMaxEvents> events{};
  while (!stopping_) {
    const int n = ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, next_timeout());
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("component=dht epoll_wait: {}", errno_text(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    dispatch(events.data(), n);
    collect_due();
    auto drained_at = Clock::now();
    for (size_t i = 0; i < due_.size() && !stopping_; ++i) {
      queued_.erase(due_[i]);
      run_step(due_[i]);
      // A turn of many steps can be long, and under steady traffic it never ends: sockets
      // that became readable meanwhile are drained (cheap) before their kernel buffers fill,
      // and they, the pokes and the deadlines that came join the end of this turn.
      if (Clock::now() - drained_at >= kDrainEvery) {
        const int more = ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, 0);
        if (more > 0) dispatch(events.data(), more);
        collect_due();
        drained_at = Clock::now();
      }
    }
    due_.clear();
  }
}

void EpollLoop::dispatch(const epoll_event* events, int n) {
  for (int i = 0; i < n && !stopping_; ++i) {
    const uint64_t id = events[i].data.u64;
    if (id == kWakeId) {
      uint64_t count = 0;
      [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof(count));
      continue;
    }
    EpollSocket* socket = nullptr;
    int fd = -1;
    {
      MutexLock lock(mutex_);
      auto it = registrations_.find(id);
      if (it == registrations_.end()) continue;  // removed after epoll_wait returned
      socket = it->second.socket;
      fd = it->second.fd;
      dispatching_ = socket;
    }
    const bool received = socket->drain(fd, buffer_);
    if (received && socket->driver_ != 0) queue(socket->driver_);
    {
      MutexLock lock(mutex_);
      dispatching_ = nullptr;
    }
    idle_.notify_all();
  }
}

int EpollLoop::next_timeout() {
  MutexLock lock(mutex_);
  wake_pending_ = false;  // a poke from here on writes the eventfd again
  if (!poked_.empty()) return 0;
  if (deadlines_.empty()) return -1;
  const auto wait = deadlines_.begin()->first - Clock::now();
  if (wait <= Clock::duration::zero()) return 0;
  // Rounded up (waking before the deadline would find nothing due and wait again), and late by
  // kTimerSlack: the deadlines of the next few ms are run in the same turn.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait + kTimerSlack).count();
  return static_cast<int>(std::min<int64_t>(ms, std::numeric_limits<int>::max()));
}

void EpollLoop::queue(uint64_t driver) {
  if (queued_.insert(driver).second) due_.push_back(driver);
}

void EpollLoop::collect_due() {
  MutexLock lock(mutex_);
  for (uint64_t id : poked_) queue(id);
  poked_.clear();
  const auto now = Clock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const uint64_t id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = drivers_.find(id);
    if (it != drivers_.end()) {
      it->second.overdue_since = std::min(it->second.overdue_since, it->second.deadline);
      it->second.deadline = Clock::time_point::max();
    }
    queue(id);
  }
}

void EpollLoop::run_step(uint64_t driver) {
  std::shared_ptr<const Step> step;
  Clock::time_point overdue_since = Clock::time_point::max();
  {
    MutexLock lock(mutex_);
    auto it = drivers_.find(driver);
    if (it == drivers_.end()) return;  // undriven meanwhile
    step = it->second.step;
    overdue_since = std::exchange(it->second.overdue_since, Clock::time_point::max());
    stepping_ = driver;
  }
  if (overdue_since != Clock::time_point::max()) note_lateness(Clock::now(), overdue_since);
  Clock::time_point next = Clock::time_point::max();
  try {
    next = (*step)();
  } catch (const std::exception& e) {
    spdlog::error("component=dht driver={} step failed: {}", driver, e.what());
    next = Clock::now() + kStepRetry;
  }
  {
    MutexLock lock(mutex_);
    stepping_ = 0;
    auto it = drivers_.find(driver);
    if (it != drivers_.end()) {
      Driver& d = it->second;
      if (next != Clock::time_point::max()) next = std::max(next, Clock::now() + kMinStepGap);
      if (next != d.deadline) {
        if (d.deadline != Clock::time_point::max()) deadlines_.erase({d.deadline, driver});
        d.deadline = next;
        if (next != Clock::time_point::max()) deadlines_.emplace(next, driver);
      }
    }
  }
  idle_.notify_all();
}

void EpollLoop::note_lateness(Clock::time_point now, Clock::time_point deadline) {
  const auto late = now - deadline;
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(late).count();
  int64_t seen = max_lateness_us_.load(std::memory_order_relaxed);
  while (us > seen && !max_lateness_us_.compare_exchange_weak(seen, us)) {
  }
  if (late >= kLoopBehind) last_behind_.store(now.time_since_epoch().count());
}

uint64_t EpollLoop::drive(Step step) {
  MutexLock lock(mutex_);
  const uint64_t id = next_id_++;
  drivers_.emplace(id, Driver{std::make_shared<const Step>(std::move(step))});
  return id;
}

void EpollLoop::poke(uint64_t driver) {
  if (driver == 0) return;
  bool write = false;
  {
    MutexLock lock(mutex_);
    if (!drivers_.count(driver)) return;
    poked_.push_back(driver);
    // The loop thread reads poked_ before it waits again; from any other thread the eventfd
    // wakes it, once per turn.
    if (std::this_thread::get_id() != thread_id_ && !wake_pending_) {
      wake_pending_ = true;
      write = true;
    }
  }
  if (write) wake();
}

void EpollLoop::undrive(uint64_t driver) {
  MutexLock lock(mutex_);
  auto it = drivers_.find(driver);
  if (it == drivers_.end()) return;
  if (it->second.deadline != Clock::time_point::max()) {
    deadlines_.erase({it->second.deadline, driver});
  }
  drivers_.erase(it);
  if (std::this_thread::get_id() == thread_id_) return;  // called from a step
  while (stepping_ == driver) idle_.wait(mutex_);
}

size_t EpollLoop::drivers() const {
  MutexLock lock(mutex_);
  return drivers_.size();
}

// ---------------------------------------------------------------------------------------------
// EpollSocket

Result<std::unique_ptr<EpollSocket>> EpollSocket::open(std::shared_ptr<EpollLoop> loop,
                                                       const ::dht::SockAddr& bind4,
                                                       const ::dht::SockAddr& bind6,
                                                       uint64_t driver) {
  if (!loop) return make_error("dht_start_failed", "no epoll loop");
  std::unique_ptr<EpollSocket> s(new EpollSocket(loop));
  s->driver_ = driver;
  std::string err4;
  std::string err6;
  if (bind4) s->fd4_ = bind_udp(bind4, s->bound4_, err4);
  if (bind6) {
    if (bind6.getPort() == 0 && s->bound4_.getPort() != 0) {
      // Same port on both families when it is free: one port to tell other nodes.
      auto same = bind6;
      same.setPort(s->bound4_.getPort());
      std::string ignored;
      s->fd6_ = bind_udp(same, s->bound6_, ignored);
    }
    if (s->fd6_ < 0) s->fd6_ = bind_udp(bind6, s->bound6_, err6);
  }
  if (!bind4 && !bind6) return make_error("dht_start_failed", "UDP socket: no address to bind");
  if (bind4 && s->fd4_ < 0) return make_error("dht_start_failed", "UDP socket: " + err4);
  if (bind6 && s->fd6_ < 0) return make_error("dht_start_failed", "UDP socket: " + err6);
  for (int fd : {s->fd4_, s->fd6_}) {
    if (fd < 0) continue;
    auto added = loop->add(fd, s.get());
    if (!added.ok()) return added.error();
  }
  return s;
}

EpollSocket::~EpollSocket() {
  stop();
  if (fd4_ >= 0) ::close(fd4_);
  if (fd6_ >= 0) ::close(fd6_);
}

void EpollSocket::stop() {
  if (stopped_.exchange(true)) return;
  loop_->remove(this);
}

int EpollSocket::sendTo(const ::dht::SockAddr& dest, const uint8_t* data, size_t size,
                        bool replied) {
  if (!dest) return EFAULT;
  if (stopped_) return EBADF;
  const int fd = dest.getFamily() == AF_INET ? fd4_ : dest.getFamily() == AF_INET6 ? fd6_ : -1;
  if (fd < 0) return EAFNOSUPPORT;
  int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
  if (replied) flags |= MSG_CONFIRM;
  if (::sendto(fd, data, size, flags, dest.get(), dest.getLength()) < 0) return errno;
  return 0;
}

bool EpollSocket::drain(int fd, std::array<uint8_t, kMaxDatagramSize>& buffer) {
  ::dht::net::PacketList batch;
  for (size_t i = 0; i < kMaxBatch; ++i) {
    sockaddr_storage from{};
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(timespec))> control{};
    msghdr message{};
    message.msg_name = &from;
    message.msg_namelen = sizeof(from);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    // MSG_TRUNC: the datagram's real length, so an oversized one is seen and dropped.
    const ssize_t n = ::recvmsg(fd, &message, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0) break;  // EAGAIN: drained; anything else: try again on the next readiness
    if (static_cast<size_t>(n) > buffer.size()) {
      loop_->dropped_oversize_.fetch_add(1);
      continue;
    }
    if (auto verdict = check_datagram(buffer.data(), static_cast<size_t>(n));
        verdict != DatagramVerdict::ok) {
      loop_->dropped_malformed_.fetch_add(1);
      spdlog::debug("component=dht dropped a datagram of {} bytes: {}", n, verdict_name(verdict));
      continue;
    }
    auto one = getNewPacket();
    auto& packet = one.front();
    packet.data.assign(buffer.begin(), buffer.begin() + n);
    packet.from = ::dht::SockAddr(from, message.msg_namelen);
    packet.received = ::dht::clock::now();
    note_arrival(packet.data.data(), arrival_of(message, packet.received), packet.received);
    batch.splice(batch.end(), one);
  }
  if (batch.empty() || stopped_) return false;
  onReceived(std::move(batch));
  return true;
}

}  // namespace beemesh::dht
