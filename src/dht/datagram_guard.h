// dht/datagram_guard.h — the shape every DHT datagram must have before OpenDHT parses it.
//
// Why: OpenDHT 2.4.12 parses each datagram it receives (ParsedMessage::msgpack_unpack, before
// the network id or any other check) and trusts parts of its shape. Exceptions it throws are
// caught; these faults are not, and each kills the process with one datagram from anyone who
// can reach the UDP port (docs/SECURITY.md, "An outsider with network access to the DHT port"):
//  * a "fileds" (sic) answer whose field list "f" is empty: a division by zero (SIGFPE);
//  * an "e" (error) that is an empty array: element 0 of it is read (SIGSEGV);
//  * a message body ("a", else "r", else "u", else "e") that is not a map: it is walked as
//    one (out-of-bounds reads through whatever the bytes hold).
//
// Promise: check_datagram(data, size) reads at most `size` bytes, allocates O(size) (no
// container may claim more elements than `size`; each element is one 24-byte msgpack object),
// never throws, and returns DatagramVerdict::ok exactly when the bytes are one
// msgpack object (nothing after it, nesting at most kMaxDatagramDepth) shaped so that none of
// the faults above can happen. Every message OpenDHT 2.4 sends passes (the fields it reads
// here are the ones it writes). Anything else is refused with the first reason found.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace beemesh::dht {

// OpenDHT's messages nest 5 deep (a query's filters in a request); room for newer versions.
inline constexpr size_t kMaxDatagramDepth = 16;

enum class DatagramVerdict {
  ok,
  not_msgpack,            // not one complete msgpack object, or bytes after it
  too_deep,               // nested deeper than kMaxDatagramDepth
  not_a_map,              // the message itself is not a map
  no_body,                // none of "a", "r", "u", "e" and no "p" (partial value data)
  body_not_a_map,         // the body OpenDHT walks as a map is something else
  error_without_code,     // "e" is not an array with at least the error code
  empty_field_selection,  // "fileds" that is not a map, or whose "f" is not a non-empty array
};

DatagramVerdict check_datagram(const uint8_t* data, size_t size);

// A stable name for logs and stats: "ok", "not_msgpack", ...
std::string_view verdict_name(DatagramVerdict v);

}  // namespace beemesh::dht
