// net/net.h — node-to-node request-response over TCP (the transport under apply, delete,
// key-share fetch and capacity requests).
//
// Promise: opaque byte payloads, tagged with a protocol id (net/protocols.h), travel in
// length-prefixed frames (net/frame.h) between a Client and a Server running on an EventLoop.
// The transport knows nothing about envelopes or crypto; it bounds frame sizes (lower until a
// handler has verified the peer), receive memory (grown as bytes arrive, never at a claimed
// size), the time a frame may take and a connection may idle, inbound connections (in all,
// per address, not yet established), outbound connections (a bounded pool with idle and LRU
// eviction), request times, in-flight requests per peer and handlers per connection; it
// reuses one connection per peer and turns every failure into a Result Error with a stable
// code (net/client.h). Every limit: docs/notes/net.md and docs/LIMITS.md.
// Layout, limits and decisions: docs/notes/net.md.
#pragma once

#include "net/client.h"      // IWYU pragma: export
#include "net/event_loop.h"  // IWYU pragma: export
#include "net/frame.h"       // IWYU pragma: export
#include "net/protocols.h"   // IWYU pragma: export
#include "net/server.h"      // IWYU pragma: export
