// dht/epoll_socket.h — OpenDHT's datagram socket on epoll: no FD_SETSIZE limit, and one
// thread that receives for, and runs, many DHT nodes of a process.
//
// Why: OpenDHT 2.4's own `net::UdpSocket` waits with select(), so a process aborts once a DHT
// socket gets a descriptor number >= 1024, and it costs one receive thread per node.
// OpenDHT accepts any `net::DatagramSocket` through `DhtRunner::Context::sock`.
//
// Promise:
//  * EpollLoop::start(nice) creates one epoll instance and one thread, at that nice value.
//    Every EpollSocket registered on it is served by that thread: readable sockets are
//    drained in turns of at most kMaxBatch datagrams per socket, so one busy socket cannot
//    starve the others.
//  * EpollSocket::open() binds a UDP socket per non-empty address (IPv4 and/or IPv6, IPv6
//    V6ONLY; with IPv6 port 0 it first tries the IPv4 port), non-blocking and close-on-exec,
//    at any descriptor number, with a receive buffer of kReceiveBufferBytes (the kernel doubles
//    it for its bookkeeping; without CAP_NET_ADMIN it caps it at net.core.rmem_max). It fails with
//    `dht_start_failed` if an address it was given cannot be bound, or none was given.
//  * Received datagrams reach the callback OpenDHT sets (setOnReceive) on the loop thread,
//    in batches, in arrival order per socket. A datagram larger than kMaxDatagramSize (the
//    UDP maximum, 65,507 bytes of IPv4 payload fits) is dropped, never truncated and passed on.
//    So is one that fails check_datagram() (dht/datagram_guard.h): OpenDHT never sees it.
//    Each one passed on is stamped `received` when read (OpenDHT drops packets handled more
//    than 650 ms after that) and its kernel receive time is noted on the loop thread
//    (dht/opendht_arrival_fix.h note_arrival), the time OpenDHT then handles it at.
//  * sendTo() is thread-safe, never blocks (a full send buffer returns EAGAIN, which OpenDHT
//    treats as a lost datagram) and returns 0 or an errno value, as OpenDHT expects.
//  * stop() unregisters the socket; when it returns, no callback of this socket is running or
//    will run (unless called from that very callback). Sends after stop() fail with EBADF.
//    The destructor stops and closes the descriptors.
//  * Every socket holds its loop (shared_ptr), so the loop lives until its last socket is gone;
//    ~EpollLoop then wakes and joins the thread.
//  * Drivers: the loop thread also runs the DHT nodes themselves, for runners without a thread
//    of their own (OpenDHT's DhtRunner with `threaded = false`, whose loop() must be called
//    after datagrams arrive, when its next job is due, and after an operation was queued).
//    drive(step) registers a step; the loop thread runs it
//      - at the end of a turn in which a socket opened for that driver received datagrams,
//      - when the time the step last returned has come (the loop sleeps kTimerSlack past the
//        earliest deadline, so that the deadlines of the next few ms share a wake-up;
//        Clock::time_point::max(): never; a time in the past runs it again after at least
//        kMinStepGap),
//      - in the turn after poke(), which any thread may call (unknown ids are ignored).
//    Between the steps of a long turn, sockets that became readable are drained (at least every
//    kDrainEvery), and their drivers, the drivers poked and those whose deadline came join the
//    end of the turn (first come, first run; one not run yet is not queued twice); a step
//    then may run twice in a turn, and a turn under steady traffic never starves a poke.
//    A step never runs concurrently with another step or socket
//    drain of the same loop: a step that blocks holds up every node of the loop. A step that
//    throws is logged and run again after kStepRetry. undrive() unregisters; when it returns,
//    the step is not running and will not run again (unless called from the loop thread).
//    Lateness: when a step runs for its deadline, how long after that deadline it ran is
//    measured; last_behind() is the latest moment a step ran kLoopBehind or more late (the
//    loop is behind: its thread starved of CPU, or too many steps for one thread), and
//    take_max_lateness() the largest lateness since its previous call.
//    Why: a thread per node woke for every datagram and every timer; at 1,000 nodes in one
//    process the wake-ups (futex wakes, context switches) took ~1.2 cores with no work to do
//    (docs/BENCHMARKS.md, "One thread runs every DHT node of a loop").
#pragma once

#include <opendht/network_utils.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"
#include "common/thread_annotations.h"

struct epoll_event;  // <sys/epoll.h>

namespace beemesh::dht {

inline constexpr size_t kMaxDatagramSize = 65536;
inline constexpr size_t kMaxBatch = 64;
// A socket's receive buffer: ~2,000 small datagrams (the default, 208 KiB, holds ~250). One
// thread receives for every node of a process; with hundreds of threads runnable it is away
// long enough for a node's buffer to fill (1 % of datagrams dropped at 1,000 nodes in one
// process, docs/BENCHMARKS.md). A limit, not an allocation: memory is used only while
// datagrams wait.
inline constexpr size_t kReceiveBufferBytes = size_t{1} << 20;
// A driver's step that asked to run again at once waits at least this long (a runner without
// its DHT returns "now" forever); one that threw runs again after kStepRetry.
inline constexpr std::chrono::milliseconds kMinStepGap{1};
inline constexpr std::chrono::milliseconds kStepRetry{100};
// How late a driver's deadline may run: at 1,000 nodes a loop has a deadline every ~0.4 ms;
// OpenDHT's own timeouts are 1 s and more.
inline constexpr std::chrono::milliseconds kTimerSlack{10};
// In a turn of many steps, readable sockets are drained at least this often between them.
inline constexpr std::chrono::milliseconds kDrainEvery{1};
// A step that runs this late for its deadline means the loop is behind: replies that came in
// time wait unread while OpenDHT's request timeouts (1 s per attempt) run out. (At 500 ms a
// loaded test machine starved a test's one-node loop that long now and then.)
inline constexpr std::chrono::milliseconds kLoopBehind{1000};

class EpollSocket;

class EpollLoop {
 public:
  // `nice`: the receive thread's nice value (Linux: per thread), set before start() returns;
  // setting it fails start() with `dht_start_failed` (a negative value needs CAP_SYS_NICE). A
  // process that runs many DHT nodes on one loop gives it a negative one: under CFS every
  // runnable thread gets an equal share, so with hundreds runnable the one thread that receives
  // for all nodes falls behind, the kernel drops datagrams at full receive buffers, requests
  // time out and are sent again (bench/scale: docs/BENCHMARKS.md, session 13).
  static Result<std::shared_ptr<EpollLoop>> start(int nice = 0);
  ~EpollLoop();
  EpollLoop(const EpollLoop&) = delete;
  EpollLoop& operator=(const EpollLoop&) = delete;

  using Clock = std::chrono::steady_clock;
  // Runs a node's pending work; returns when it next has work due (Clock::time_point::max():
  // only when woken).
  using Step = std::function<Clock::time_point()>;
  // Registers `step` (see the promise); returns its driver id, never 0. Not run until poked
  // or a socket opened for it receives.
  uint64_t drive(Step step) EXCLUDES(mutex_);
  // Runs the driver's step in the loop's next turn. Any thread; unknown ids are ignored.
  void poke(uint64_t driver) EXCLUDES(mutex_);
  // Unregisters the driver; waits until its step is not running (unless on the loop thread).
  void undrive(uint64_t driver) EXCLUDES(mutex_);

  // Sockets currently registered (for tests and stats).
  size_t registered() const EXCLUDES(mutex_);
  // Drivers currently registered.
  size_t drivers() const EXCLUDES(mutex_);
  // Datagrams dropped because they exceeded kMaxDatagramSize.
  uint64_t dropped_oversize() const { return dropped_oversize_.load(); }
  // Datagrams dropped because check_datagram() refused them.
  uint64_t dropped_malformed() const { return dropped_malformed_.load(); }
  // The latest moment a step ran kLoopBehind or more after its deadline (Clock::time_point{}:
  // never). Any thread.
  Clock::time_point last_behind() const {
    return Clock::time_point(Clock::duration(last_behind_.load(std::memory_order_relaxed)));
  }
  // The largest lateness of a step since the previous call (zero at first). Any thread.
  std::chrono::microseconds take_max_lateness() {
    return std::chrono::microseconds(max_lateness_us_.exchange(0, std::memory_order_relaxed));
  }

 private:
  friend class EpollSocket;
  EpollLoop() = default;
  // Registers `fd` for reading on behalf of `socket`; returns its registration id.
  Result<uint64_t> add(int fd, EpollSocket* socket) EXCLUDES(mutex_);
  // Removes every registration of `socket`; waits until none of its callbacks runs (unless
  // called on the loop thread).
  void remove(EpollSocket* socket) EXCLUDES(mutex_);
  void run() EXCLUDES(mutex_);
  // Drains the sockets of `events` (and the eventfd); their drivers go to `due_`.
  void dispatch(const ::epoll_event* events, int n) EXCLUDES(mutex_);
  // The epoll_wait timeout: 0 with drivers poked, else until the earliest deadline, else -1.
  int next_timeout() EXCLUDES(mutex_);
  // Queues the poked drivers and those whose deadline has come.
  void collect_due() EXCLUDES(mutex_);
  // Appends `driver` to `due_` unless it waits there already (loop thread only).
  void queue(uint64_t driver);
  void run_step(uint64_t driver) EXCLUDES(mutex_);
  // Records that a step due at `deadline` runs at `now` (loop thread only).
  void note_lateness(Clock::time_point now, Clock::time_point deadline);
  void wake();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop request
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> dropped_oversize_{0};
  std::atomic<uint64_t> dropped_malformed_{0};
  std::atomic<Clock::rep> last_behind_{0};
  std::atomic<int64_t> max_lateness_us_{0};
  std::thread thread_;
  std::thread::id thread_id_;

  mutable Mutex mutex_;
  CondVar idle_;  // signalled when `dispatching_` changes
  struct Registration {
    int fd;
    EpollSocket* socket;
  };
  std::map<uint64_t, Registration> registrations_ GUARDED_BY(mutex_);
  uint64_t next_id_ GUARDED_BY(mutex_) = 1;
  EpollSocket* dispatching_ GUARDED_BY(mutex_) = nullptr;  // whose datagrams are being delivered

  struct Driver {
    std::shared_ptr<const Step> step;  // shared: a running step outlives an undrive's erase
    Clock::time_point deadline = Clock::time_point::max();  // its entry in `deadlines_`
    // The deadline it was queued for and has not run for yet (max: none): its lateness.
    Clock::time_point overdue_since = Clock::time_point::max();
  };
  std::map<uint64_t, Driver> drivers_ GUARDED_BY(mutex_);
  std::set<std::pair<Clock::time_point, uint64_t>> deadlines_ GUARDED_BY(mutex_);
  std::vector<uint64_t> poked_ GUARDED_BY(mutex_);
  bool wake_pending_ GUARDED_BY(mutex_) = false;  // the eventfd was written since the last turn
  uint64_t stepping_ GUARDED_BY(mutex_) = 0;      // whose step is running

  // Only the loop thread touches these.
  std::array<uint8_t, kMaxDatagramSize> buffer_{};
  std::vector<uint64_t> due_;            // drivers to step, in the order they came
  std::unordered_set<uint64_t> queued_;  // those of them not stepped yet
};

class EpollSocket final : public ::dht::net::DatagramSocket {
 public:
  // Empty bind address: that family is off. Port 0: ephemeral. `driver` (EpollLoop::drive, 0:
  // none): the driver whose step runs after this socket received.
  static Result<std::unique_ptr<EpollSocket>> open(std::shared_ptr<EpollLoop> loop,
                                                   const ::dht::SockAddr& bind4,
                                                   const ::dht::SockAddr& bind6,
                                                   uint64_t driver = 0);
  ~EpollSocket() override;

  int sendTo(const ::dht::SockAddr& dest, const uint8_t* data, size_t size, bool replied) override;
  bool hasIPv4() const override { return fd4_ >= 0; }
  bool hasIPv6() const override { return fd6_ >= 0; }
  const ::dht::SockAddr& getBoundRef(sa_family_t family = AF_UNSPEC) const override {
    return family == AF_INET6 ? bound6_ : bound4_;
  }
  void stop() override;

  int fd4() const { return fd4_; }
  int fd6() const { return fd6_; }

 private:
  friend class EpollLoop;
  explicit EpollSocket(std::shared_ptr<EpollLoop> loop) : loop_(std::move(loop)) {}
  // Loop thread only: reads up to kMaxBatch datagrams from `fd` and hands them to OpenDHT.
  // True if it handed any.
  bool drain(int fd, std::array<uint8_t, kMaxDatagramSize>& buffer);

  std::shared_ptr<EpollLoop> loop_;
  // Set in open(), closed in the destructor: immutable while the socket is shared.
  int fd4_ = -1;
  int fd6_ = -1;
  uint64_t driver_ = 0;
  ::dht::SockAddr bound4_;
  ::dht::SockAddr bound6_;
  std::atomic<bool> stopped_{false};
};

}  // namespace beemesh::dht
