// net/protocols.h — the protocol ids beemesh nodes speak over the transport.
//
// Promise: each id passes validate_protocol_id; new protocols are added here as new ids
// (the transport itself accepts any valid id, so this list is a registry, not a limit).
#pragma once

#include <string_view>

namespace beemesh::net::protocols {

inline constexpr std::string_view kApply = "apply";            // signed ApplyRequest envelopes
inline constexpr std::string_view kDelete = "delete";          // owner-signed DeleteRequest
inline constexpr std::string_view kKeyShare = "keyshare";      // key-share fetch from a holder
inline constexpr std::string_view kCapacity = "capacity";      // scheduler capacity requests/bids
inline constexpr std::string_view kPeer = "peer";              // peer info / liveness
inline constexpr std::string_view kStoreShare = "storeshare";  // entry node -> share holder
inline constexpr std::string_view kQuery = "query";            // workload reads via any node

// Several key-share fetches from one holder in one envelope (apply/share_batcher.h).
inline constexpr std::string_view kKeyShareBatch = "keyshares";

}  // namespace beemesh::net::protocols
