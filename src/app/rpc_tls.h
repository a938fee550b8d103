// app/rpc_tls.h — TLS on a node's RPC links: the node's certificate and who may be a peer.
//
// Usage (daemon):
//   auto tls = app::make_rpc_tls(identity, membership);   // identity.credential() is set
//   net::Server server(loop, {.host = ..., .tls = *tls});
//   net::Client client(loop, {.tls = *tls});
//
// Promise:
//  * make_rpc_tls() makes the node's certificate (crypto/tls_identity.h: its Ed25519 key and
//    its membership credential, in memory only) and net::TlsOptions for both sides (TLS 1.3
//    only, mutual) whose verify hook is member_node_verifier(membership). Errors "tls_setup",
//    "no_credential" (the identity holds no credential yet).
//  * member_node_verifier() accepts a peer certificate only when, in this order:
//      - for a pinned endpoint, the certificate's key hashes to the expected node id
//        (crypto::node_id_of), else "peer_mismatch";
//      - the credential in the certificate verifies for that key under `membership` (same
//        codes as Membership::verify: "no_credential", "not_a_member", "wrong_mesh",
//        "credential_revoked", ...);
//      - it is a node certificate, else "not_a_node" (users speak REST, not RPC).
//    `membership` must outlive every Server and Client using the hook.
#pragma once

#include "common/result.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "net/tls.h"

namespace beemesh::app {

Result<net::TlsOptions> make_rpc_tls(const crypto::Identity& identity,
                                     const crypto::Membership& membership);

net::PeerVerifier member_node_verifier(const crypto::Membership& membership);

}  // namespace beemesh::app
