#include "dht/opendht_search_fix.h"

#include <dlfcn.h>
#include <opendht/node.h>
#include <opendht/utils.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "dht/opendht_interposer.h"

namespace {

// dht::Dht::Search::insertNode(std::shared_ptr<dht::Node> const&, dht::time_point,
// dht::Blob const&) and dht::Dht::Search::getNode(std::shared_ptr<dht::Node> const&), as
// libopendht.so.2 (2.4.12) exports them. `Search` is private to the library: its address is
// passed as the `this` pointer, the first argument of a member function in the Itanium ABI.
// A macro because an asm label takes a string literal (used twice: dlsym and the definition).
#define BEEMESH_OPENDHT_INSERT_NODE                                                         \
  "_ZN3dht3Dht6Search10insertNodeERKSt10shared_ptrINS_4NodeEENSt6chrono10time_pointINS7_3_" \
  "V212steady_clockENS7_8durationIlSt5ratioILl1ELl1000000000EEEEEERKSt6vectorIhSaIhEE"
constexpr const char* kInsertNode = BEEMESH_OPENDHT_INSERT_NODE;
constexpr const char* kGetNode = "_ZN3dht3Dht6Search7getNodeERKSt10shared_ptrINS_4NodeEE";

using InsertNodeFn = bool (*)(void* search, const std::shared_ptr<dht::Node>& node,
                              dht::time_point now, const dht::Blob& token);
using GetNodeFn = void* (*)(void* search, const std::shared_ptr<dht::Node>& node);

// OpenDHT 2.4.12's `struct Dht::Search` (src/search.h) begins with InfoHash id (20 bytes),
// sa_family_t af (at 20), uint16_t tid, time_point refill_time (24) and step_time (32),
// Sp<Scheduler::Job> nextSearchStep (40), bool expired (56), bool done (57). Debian's
// libopendht.so.2 (2.4.12-7, x86-64) reads them there: its trySearchInsert tests
// `cmpb $0x0,0x38(%r12)` (expired) and `0x39(%r12)` (done) of each search.
constexpr const char* kLayoutVersion = "2.4.12";
constexpr std::size_t kSearchAf = 20;
constexpr std::size_t kSearchDone = 57;

// The library's own definitions: the next ones after this executable's in the lookup order.
struct Library {
  InsertNodeFn insert_node = reinterpret_cast<InsertNodeFn>(::dlsym(RTLD_NEXT, kInsertNode));
  GetNodeFn get_node = reinterpret_cast<GetNodeFn>(::dlsym(RTLD_NEXT, kGetNode));
  // Whether `done` may be read at kSearchDone: the library is the version read above, and no
  // call has yet found a search whose `af` (kSearchAf) differs from its node's family (every
  // caller offers a search only nodes of its own family; a difference means another layout).
  bool layout_version = std::strcmp(::dht::version(), kLayoutVersion) == 0;
  std::atomic<bool> layout_refuted{false};

  bool layout_holds() const {
    return layout_version && !layout_refuted.load(std::memory_order_relaxed);
  }
};

Library& library() {
  static Library lib;
  return lib;
}

// Counted per thread and added to the process's count every kRefusalBatch refusals: they come
// by the thousands per second from every DHT loop, and one shared counter would bounce its
// cache line between the loops' cores at each.
constexpr uint64_t kRefusalBatch = 64;
std::atomic<uint64_t>& done_refusals() {
  static std::atomic<uint64_t> count{0};
  return count;
}
void count_done_refusal() {
  thread_local uint64_t pending = 0;
  if (++pending == kRefusalBatch) {
    done_refusals().fetch_add(pending, std::memory_order_relaxed);
    pending = 0;
  }
}

// Whether the search is done, read only while the layout holds and `node` confirms it (see
// Library); false when it cannot be read.
bool search_done(Library& lib, const void* search, const ::dht::Node& node) {
  if (!lib.layout_holds()) return false;
  const auto* bytes = static_cast<const unsigned char*>(search);
  sa_family_t af = 0;
  std::memcpy(&af, bytes + kSearchAf, sizeof af);
  if (af != node.getFamily()) {
    if (!lib.layout_refuted.exchange(true)) {
      std::fputs(
          "beemesh: OpenDHT's Search layout is not 2.4.12's; done searches are offered "
          "every node again\n",
          stderr);
    }
    return false;
  }
  return bytes[kSearchDone] != 0;
}

// Process-wide, as the symbol it counts for: a diagnostic, read by opendht_removed_at_once().
std::atomic<uint64_t>& removed_at_once() {
  static std::atomic<uint64_t> count{0};
  return count;
}

}  // namespace

// Named by its asm label as OpenDHT's member function: the executable's definition takes
// precedence over libopendht.so's for the library's own calls.
bool beemesh_opendht_search_insert_node(
    void* search, const std::shared_ptr<dht::Node>& node, dht::time_point now,
    const dht::Blob& token) __asm__(BEEMESH_OPENDHT_INSERT_NODE);

bool beemesh_opendht_search_insert_node(void* search, const std::shared_ptr<dht::Node>& node,
                                        dht::time_point now, const dht::Blob& token) {
  Library& lib = library();
  if (lib.insert_node == nullptr) {
    // Unreachable with libopendht.so.2 loaded (it calls this only as its own symbol's
    // interposer); without its definition no search could take a node at all.
    std::fputs("beemesh: libopendht's Dht::Search::insertNode not found\n", stderr);
    std::abort();
  }
  if (token.empty() && node && search_done(lib, search, *node)) {
    count_done_refusal();
    return false;
  }
  // Without the library's getNode no presence can be known: its insertNode as it is.
  if (lib.get_node == nullptr) return lib.insert_node(search, node, now, token);
  static const dht::Blob kNoToken;
  const auto outcome = beemesh::dht::insert_node_keeping_tokens(
      [&](bool with_token) {
        return lib.insert_node(search, node, now, with_token ? token : kNoToken);
      },
      [&] { return lib.get_node(search, node) != nullptr; }, !token.empty());
  if (outcome.removed_at_once) removed_at_once().fetch_add(1, std::memory_order_relaxed);
  return outcome.inserted;
}

namespace beemesh::dht {

bool opendht_search_insert_fixed() {
  Library& lib = library();
  if (lib.insert_node == nullptr || lib.get_node == nullptr) return false;
  return binds_outside_libopendht(kInsertNode);
}

uint64_t opendht_removed_at_once() {
  return removed_at_once().load(std::memory_order_relaxed);
}

bool opendht_done_searches_refused_at_once() {
  Library& lib = library();
  return lib.insert_node != nullptr && lib.layout_holds();
}

uint64_t opendht_done_refusals() {
  return done_refusals().load(std::memory_order_relaxed);
}

}  // namespace beemesh::dht
