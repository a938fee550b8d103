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
//  * note_arrival(data, arrived, read_at): dht/epoll_socket.cpp calls it for every datagram it
//    hands to OpenDHT, with the packet buffer's address, the kernel's receive time and the time
//    it read the datagram, on the loop thread that also runs the runner (EpollLoop). The note is
//    taken (erased) when the packet is handled. A packet OpenDHT dropped unhandled (its runner
//    drops what it holds more than 650 ms after the read, `RX_QUEUE_MAX_DELAY`) leaves a note
//    that is stale kNoteLifetime after its read: any later note may take its slot. The notes of
//    a thread are an ArrivalNotes table (below): no allocation per datagram; only when every
//    slot a buffer may use holds a live note of another packet does its note replace one, and
//    that packet is handled at the runner's time (opendht_arrival_notes_lost() counts them).
//  * opendht_packets_handled_unnoted() counts, in this process, packets (not the runner's
//    scheduler-only calls) handled without a note: at the runner's time, as OpenDHT does. With
//    every datagram read by EpollSocket, these are the notes lost. A diagnostic.
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
inline constexpr size_t kArrivalSlots = size_t{1} << 14;  // 384 KiB per loop thread
// The slots a buffer's note may use: its home slot and the next kArrivalProbes - 1.
inline constexpr size_t kArrivalProbes = 8;
// A note this long after its datagram was read is stale: OpenDHT handles a packet within
// 650 ms of the read or drops it (RX_QUEUE_MAX_DELAY), and a batch's own handling takes less.
inline constexpr std::chrono::seconds kNoteLifetime{2};
// A loop's turn holds a packet a few ms as a rule (at 1,000 nodes in one process, up to ~100 ms).
inline constexpr std::chrono::milliseconds kEarlyCounted{100};

void note_arrival(const uint8_t* data, std::chrono::steady_clock::time_point arrived,
                  std::chrono::steady_clock::time_point read_at);
bool opendht_arrival_order_fixed();
uint64_t opendht_packets_handled_early();
uint64_t opendht_arrival_notes_lost();
uint64_t opendht_packets_handled_unnoted();

// Arrival times by packet buffer: an open-addressed table of kArrivalSlots slots, allocated at
// the first note. A buffer's note lives in one of kArrivalProbes consecutive slots from its
// hash: note() takes the slot that holds this buffer's note, else the first empty or stale one
// (noted kNoteLifetime or more before `read_at`), else replaces the live note of another
// buffer in its home slot (then it returns true). take() returns the buffer's note and clears
// it, or nothing when no slot holds a note of this buffer. Keys are addresses, never
// dereferenced.
class ArrivalNotes {
 public:
  using Time = std::chrono::steady_clock::time_point;
  // Whether the note replaced another buffer's live note.
  bool note(const uint8_t* data, Time arrived, Time read_at);
  std::optional<Time> take(const uint8_t* data);

 private:
  struct Slot {
    const uint8_t* data = nullptr;
    Time arrived{};
    Time read_at{};
  };
  size_t home(const uint8_t* data);
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
