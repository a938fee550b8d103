// dht/opendht_arrival_fix.h — OpenDHT 2.4.12 made to handle a late batch of datagrams at the
// times they arrived, so that a reply that came before its request's timeout is read before
// that timeout runs.
//
// The fault: `DhtRunner::loop_()` hands each received packet of a batch to
// `Dht::periodic(packet, clock::now())`, which sets the scheduler's time, handles the packet and
// then runs every job due by then. When the loop thread was away (a process with hundreds of
// nodes on 2 cores), the first packet of the batch runs the timeouts of requests whose replies
// wait later in the same batch: each is sent again (a second request and a second reply for
// nothing), and a node that stays behind marks nodes expired that answered in time
// (docs/notes/dht.md "A late loop turns replies into timeouts").
//
// Promise:
//  * opendht_arrival_fix.cpp defines the symbol of `dht::Dht::periodic(const uint8_t*, size_t,
//    SockAddr, const time_point&)`. libopendht.so.2 reaches it through its vtable's relocation
//    and its PLT, so in a process whose executable links this file the library runs this
//    definition, which runs the library's own with another time: for a packet whose arrival
//    was noted on this thread (note_arrival), `handling_time()` below; for anything else (the
//    runner's scheduler-only call, a packet of a runner that has its own thread) the time
//    the runner gave, as OpenDHT does.
//  * handling_time(): the arrival time, but never more than kArrivalWindow before the runner's
//    time, never after it, and never before the time this node's scheduler was last given
//    (its clock never runs back). So jobs due after a packet arrived run after that packet;
//    jobs due earlier than the window run before the whole batch, as in OpenDHT. The window is
//    shorter than OpenDHT's shortest request timeout (1 s: half of `Node::MAX_RESPONSE_TIME`,
//    doubled at the first send): a request sent while a batch is handled is stamped with a time in
//    the window, so its timeout falls after every packet of the batch (it was sent now; no
//    packet of the batch can be its reply).
//  * note_arrival(data, arrived): dht/epoll_socket.cpp calls it for every datagram it hands to
//    OpenDHT, with the packet buffer's address and the kernel's receive time, on the loop thread
//    that also runs the runner (EpollLoop). The note is taken (erased) when the packet is
//    handled; notes of packets OpenDHT dropped unhandled are replaced when the buffer is reused.
//    The notes of a thread are an ArrivalNotes table (below): no allocation per datagram; a
//    note that lands on a slot another packet's note holds replaces it, and that packet is
//    handled at the runner's time (opendht_arrival_notes_lost() counts them).
//  * opendht_arrival_order_fixed() tells whether the definition the dynamic linker binds is not
//    libopendht's and the library's own was found. OpenDht::start() calls it (which keeps this
//    file in every link that uses OpenDht) and logs an error when it does not hold.
//  * opendht_packets_handled_early() counts, in this process, packets handled at a time at
//    least kEarlyCounted before the runner's: how often a batch was late. A diagnostic.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <vector>

namespace beemesh::dht {

inline constexpr std::chrono::milliseconds kArrivalWindow{900};
inline constexpr size_t kArrivalSlots = size_t{1} << 14;  // 256 KiB per loop thread
// A loop's turn holds a packet a few ms as a rule (at 1,000 nodes in one process, up to ~100 ms).
inline constexpr std::chrono::milliseconds kEarlyCounted{100};

void note_arrival(const uint8_t* data, std::chrono::steady_clock::time_point arrived);
bool opendht_arrival_order_fixed();
uint64_t opendht_packets_handled_early();
uint64_t opendht_arrival_notes_lost();

// Arrival times by packet buffer: a direct-mapped table of kArrivalSlots slots, allocated at
// the first note. note() replaces the slot's note (of this buffer or another: then
// replaced_other() is true for that call); take() returns the buffer's note and clears it, or
// nothing when its slot holds no note of this buffer. Keys are addresses, never dereferenced.
class ArrivalNotes {
 public:
  using Time = std::chrono::steady_clock::time_point;
  // Whether the note replaced another buffer's note.
  bool note(const uint8_t* data, Time arrived);
  std::optional<Time> take(const uint8_t* data);

 private:
  struct Slot {
    const uint8_t* data = nullptr;
    Time arrived{};
  };
  Slot& slot(const uint8_t* data);
  std::vector<Slot> slots_;
};

// The time a packet is handled at (see the promise). Pure, for tests.
std::chrono::steady_clock::time_point handling_time(
    std::chrono::steady_clock::time_point arrived, std::chrono::steady_clock::time_point now,
    std::chrono::steady_clock::time_point last_given);

// The kernel's receive time of a datagram (SO_TIMESTAMPNS, CLOCK_REALTIME) on the steady clock,
// given both clocks read together: never after `steady_now`, and `steady_now` itself when the
// stamp lies in the future or more than a minute back (the wall clock was set meanwhile).
std::chrono::steady_clock::time_point kernel_arrival(
    const timespec& stamp, std::chrono::system_clock::time_point real_now,
    std::chrono::steady_clock::time_point steady_now);

}  // namespace beemesh::dht
