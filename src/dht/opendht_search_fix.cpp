#include "dht/opendht_search_fix.h"

#include <dlfcn.h>
#include <opendht/node.h>
#include <opendht/utils.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

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

// The library's own definitions: the next ones after this executable's in the lookup order.
struct Library {
  InsertNodeFn insert_node = reinterpret_cast<InsertNodeFn>(::dlsym(RTLD_NEXT, kInsertNode));
  GetNodeFn get_node = reinterpret_cast<GetNodeFn>(::dlsym(RTLD_NEXT, kGetNode));
};

const Library& library() {
  static const Library lib;
  return lib;
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
  const Library& lib = library();
  if (lib.insert_node == nullptr) {
    // Unreachable with libopendht.so.2 loaded (it calls this only as its own symbol's
    // interposer); without its definition no search could take a node at all.
    std::fputs("beemesh: libopendht's Dht::Search::insertNode not found\n", stderr);
    std::abort();
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
  const Library& lib = library();
  if (lib.insert_node == nullptr || lib.get_node == nullptr) return false;
  void* bound = ::dlsym(RTLD_DEFAULT, kInsertNode);
  Dl_info where{};
  if (bound == nullptr || ::dladdr(bound, &where) == 0 || where.dli_fname == nullptr) return false;
  return std::strstr(where.dli_fname, "libopendht") == nullptr;
}

uint64_t opendht_removed_at_once() {
  return removed_at_once().load(std::memory_order_relaxed);
}

}  // namespace beemesh::dht
