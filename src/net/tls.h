// net/tls.h — TLS 1.3 for the transport: what a Server or Client needs to encrypt and
// authenticate its connections. The transport stays crypto-agnostic: it does the handshake
// and hands the peer's certificate to a verify hook of the layer above, which decides.
//
// Usage:
//   auto ctx = net::make_tls_context(certificate, private_key);   // OpenSSL handles, shared
//   net::TlsOptions tls{.context = *ctx, .extension_oid = "2.25....",
//                       .verify = [&](const net::PeerCertificate& peer,
//                                     std::string_view expected) -> Result<void> { ... }};
//   net::Server server(loop, {.tls = tls});
//   net::Client client(loop, {.tls = tls});
//   co_await client.request("bmabc...@10.0.0.2:7000", "apply", payload);   // pinned
//
// Promise:
//  * make_tls_context() builds a context for both sides that speaks TLS 1.3 only (a peer
//    offering at most TLS 1.2 fails the handshake), presents `certificate` with
//    `private_key`, and requires a certificate of the peer (mutual TLS). Chain trust is
//    not used: OpenSSL's certificate verification is not run (chain building for a
//    self-issued certificate ends in "self-signed" and proves nothing); the
//    TLS handshake still proves that the peer holds the private key of the certificate it
//    presents, and the verify hook below decides who that key is. The
//    context takes its own references; the caller keeps or frees its handles. Error
//    "tls_setup" when OpenSSL refuses the key or certificate.
//  * After every handshake — client and server side, before a frame is read or written —
//    the transport reads the peer's certificate: it must carry an Ed25519 key (else
//    "peer_certificate"); the bytes of the extension `extension_oid` (its OCTET STRING
//    contents; empty when absent) travel in PeerCertificate::extension. verify() decides:
//    an Error closes the connection with that Error (the client's waiting requests fail
//    with it). `expected_peer` is the id of a pinned endpoint ("<id>@host:port"), empty on
//    the server and for unpinned endpoints.
//  * Each handshake is bounded: on the client by connect_timeout (connect and handshake
//    together), on the server by handshake_timeout, counted from accept; a server
//    connection is pending (net/admission.h) during its handshake.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace asio::ssl {
class context;
}

namespace beemesh::net {

struct PeerCertificate {
  std::array<uint8_t, 32> public_key{};  // the peer's raw Ed25519 public key
  Bytes extension{};                     // contents of TlsOptions::extension_oid, or empty
};

using PeerVerifier =
    std::function<Result<void>(const PeerCertificate& peer, std::string_view expected_peer)>;

struct TlsOptions {
  std::shared_ptr<asio::ssl::context> context{};
  std::string extension_oid{};  // dotted OID of the certificate extension handed to verify
  PeerVerifier verify{};        // required
  std::chrono::milliseconds handshake_timeout{
      10'000};  // server side; the client uses connect_timeout
};

Result<std::shared_ptr<asio::ssl::context>> make_tls_context(X509* certificate,
                                                             EVP_PKEY* private_key);

}  // namespace beemesh::net
