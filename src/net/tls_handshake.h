// net/tls_handshake.h — internal: one TLS handshake and the check of the peer's certificate.
//
// Promise: tls_handshake() completes the handshake on `socket` as `type`, reads the peer's
// certificate (an Ed25519 key is required: "peer_certificate") and calls tls.verify with it
// and `expected_peer`; it returns verify's Error, or "handshake_failed" naming `remote` and
// OpenSSL's reason. It does not bound itself in time: the caller closes the TCP socket when
// its deadline passes, which fails the handshake.
#pragma once

#include <string>

#include <asio/awaitable.hpp>
#include <asio/ssl/stream_base.hpp>

#include "common/result.h"
#include "net/stream.h"
#include "net/tls.h"

namespace beemesh::net {

asio::awaitable<Result<void>> tls_handshake(TlsSocket& socket,
                                            asio::ssl::stream_base::handshake_type type,
                                            const TlsOptions& tls, std::string expected_peer,
                                            std::string remote);

// The peer certificate of a completed handshake (see above).
Result<PeerCertificate> read_peer_certificate(SSL* ssl, const std::string& extension_oid);

}  // namespace beemesh::net
