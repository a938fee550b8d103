#include "dht/opendht_arrival_fix.h"

#include <dlfcn.h>
#include <opendht/sockaddr.h>
#include <opendht/utils.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>
#include <utility>

#include "dht/opendht_interposer.h"

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// dht::Dht::periodic(unsigned char const*, unsigned long, dht::SockAddr,
// std::chrono::steady_clock::time_point const&), as libopendht.so.2 (2.4.12) exports it. A
// member function takes `this` first in the Itanium ABI, and a SockAddr (not trivially
// copyable) by a pointer to the caller's copy, as a free function taking it by value does.
// A macro because an asm label takes a string literal (used twice: dlsym and the definition).
#define BEEMESH_OPENDHT_PERIODIC                                                               \
  "_ZN3dht3Dht8periodicEPKhmNS_8SockAddrERKNSt6chrono10time_pointINS4_3_V212steady_clockENS4_" \
  "8durationIlSt5ratioILl1ELl1000000000EEEEEE"
constexpr const char* kPeriodic = BEEMESH_OPENDHT_PERIODIC;

using PeriodicFn = dht::time_point (*)(void* self, const uint8_t* buf, size_t buflen,
                                       dht::SockAddr from, const dht::time_point& now);

// The library's own definition: the next one after this executable's in the lookup order.
PeriodicFn library_periodic() {
  static const auto fn = reinterpret_cast<PeriodicFn>(::dlsym(RTLD_NEXT, kPeriodic));
  return fn;
}

// Per thread: EpollSocket notes a datagram's arrival on its loop's thread, and the runner
// that loop runs handles the datagram on that same thread (dht/epoll_socket.h: drains and
// steps of a loop run on its one thread). Keys are addresses only, never dereferenced.
// Nodes whose last scheduler time a thread keeps; past it all are forgotten (a node then can be
// handled once at an arrival earlier than its last time: its clock may run back once).
constexpr size_t kMaxNodeTimes = size_t{1} << 14;

struct ThreadNotes {
  beemesh::dht::ArrivalNotes arrivals;                     // by packet buffer
  std::unordered_map<const void*, SteadyTime> last_given;  // by Dht
};
ThreadNotes& thread_notes() {
  thread_local ThreadNotes notes;
  return notes;
}

// Process-wide, as the symbol they count for: diagnostics.
struct Counters {
  std::atomic<uint64_t> handled_early{0};
  std::atomic<uint64_t> notes_lost{0};
  std::atomic<uint64_t> handled_unnoted{0};
};
Counters& counters() {
  static Counters c;
  return c;
}

}  // namespace

// Named by its asm label as OpenDHT's member function: the executable's definition takes
// precedence over libopendht.so's for the library's own calls.
dht::time_point beemesh_opendht_periodic(
    void* self, const uint8_t* buf, size_t buflen, dht::SockAddr from,
    const dht::time_point& now) __asm__(BEEMESH_OPENDHT_PERIODIC);

dht::time_point beemesh_opendht_periodic(void* self, const uint8_t* buf, size_t buflen,
                                         dht::SockAddr from, const dht::time_point& now) {
  const PeriodicFn library = library_periodic();
  if (library == nullptr) {
    // Unreachable with libopendht.so.2 loaded (it calls this only as its own symbol's
    // interposer); without its definition no node could run at all.
    std::fputs("beemesh: libopendht's Dht::periodic not found\n", stderr);
    std::abort();
  }
  ThreadNotes& notes = thread_notes();
  SteadyTime at = now;
  auto last = notes.last_given.find(self);
  if (buf != nullptr && buflen > 0) {
    if (auto arrived = notes.arrivals.take(buf)) {
      const SteadyTime given = last == notes.last_given.end() ? SteadyTime::min() : last->second;
      at = beemesh::dht::handling_time(*arrived, now, given);
      if (at + beemesh::dht::kEarlyCounted <= now) {
        counters().handled_early.fetch_add(1, std::memory_order_relaxed);
      }
    } else {
      counters().handled_unnoted.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (last == notes.last_given.end()) {
    // A Dht destroyed leaves its entry; one made later at its address starts later than that.
    if (notes.last_given.size() >= kMaxNodeTimes) notes.last_given.clear();
    notes.last_given.emplace(self, at);
  } else {
    last->second = std::max(last->second, at);
  }
  return library(self, buf, buflen, std::move(from), at);
}

namespace beemesh::dht {

size_t ArrivalNotes::home(const uint8_t* data) {
  if (slots_.empty()) slots_.resize(kArrivalSlots);
  // Fibonacci hashing of the address (buffers are 16-byte aligned: the low bits carry nothing).
  const auto key = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data)) >> 4;
  constexpr int kBits = std::countr_zero(kArrivalSlots);
  return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> (64 - kBits));
}

bool ArrivalNotes::note(const uint8_t* data, Time arrived, Time read_at) {
  const size_t first = home(data);
  Slot* free = nullptr;
  for (size_t i = 0; i < kArrivalProbes; ++i) {
    Slot& s = slots_[(first + i) % kArrivalSlots];
    if (s.data == data) {
      s = {data, arrived, read_at};
      return false;
    }
    const bool stale = s.data == nullptr || s.read_at + kNoteLifetime <= read_at;
    if (free == nullptr && stale) free = &s;
  }
  if (free != nullptr) {
    *free = {data, arrived, read_at};
    return false;
  }
  slots_[first] = {data, arrived, read_at};
  return true;
}

std::optional<ArrivalNotes::Time> ArrivalNotes::take(const uint8_t* data) {
  if (slots_.empty()) return std::nullopt;
  const size_t first = home(data);
  for (size_t i = 0; i < kArrivalProbes; ++i) {
    Slot& s = slots_[(first + i) % kArrivalSlots];
    if (s.data != data) continue;
    s.data = nullptr;
    return s.arrived;
  }
  return std::nullopt;
}

void note_arrival(const uint8_t* data, std::chrono::steady_clock::time_point arrived,
                  std::chrono::steady_clock::time_point read_at) {
  if (thread_notes().arrivals.note(data, arrived, read_at)) {
    counters().notes_lost.fetch_add(1, std::memory_order_relaxed);
  }
}

std::chrono::steady_clock::time_point handling_time(
    std::chrono::steady_clock::time_point arrived, std::chrono::steady_clock::time_point now,
    std::chrono::steady_clock::time_point last_given) {
  const auto earliest = now - kArrivalWindow;
  auto at = std::clamp(arrived, earliest, now);
  return std::max(at, std::min(last_given, now));
}

std::chrono::steady_clock::time_point kernel_arrival(
    const timespec& stamp, std::chrono::system_clock::time_point real_now,
    std::chrono::steady_clock::time_point steady_now) {
  const auto since_epoch =
      std::chrono::seconds(stamp.tv_sec) + std::chrono::nanoseconds(stamp.tv_nsec);
  const auto received = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
  const auto age = real_now - received;
  if (age < std::chrono::system_clock::duration::zero() || age > std::chrono::minutes(1)) {
    return steady_now;
  }
  return steady_now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
}

bool opendht_arrival_order_fixed() {
  return library_periodic() != nullptr && binds_outside_libopendht(kPeriodic);
}

uint64_t opendht_packets_handled_early() {
  return counters().handled_early.load(std::memory_order_relaxed);
}

uint64_t opendht_arrival_notes_lost() {
  return counters().notes_lost.load(std::memory_order_relaxed);
}

uint64_t opendht_packets_handled_unnoted() {
  return counters().handled_unnoted.load(std::memory_order_relaxed);
}

}  // namespace beemesh::dht
