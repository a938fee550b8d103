// crypto/tls_identity.h — the X.509 certificate a node presents on its TLS links.
//
// Usage:
//   auto tls = crypto::make_tls_certificate(identity, identity.credential());
//   auto ctx = net::make_tls_context(tls->certificate.get(), tls->private_key.get());
//   // on the other side, from the peer's certificate (net::PeerCertificate):
//   membership.verify(peer.extension /* the credential */, peer.public_key);
//
// Promise:
//  * make_tls_certificate() builds, in memory only, a self-signed X.509 v3 certificate for
//    the identity's Ed25519 key (signed with it), subject CN = the node id, valid from a day
//    before now for ten years (validity is not what peers check: they check membership),
//    carrying `credential` (the membership credential, crypto/membership.h) in the
//    non-critical extension kTlsCredentialOid as an OCTET STRING. The private key is an
//    OpenSSL key made from the identity's seed; it lives in the returned object (and in
//    the TLS contexts that take a reference to it) and is never written anywhere.
//  * Error "tls_setup" when OpenSSL fails, "malformed_credential" when the credential is
//    larger than kMaxCredentialSize.
#pragma once

#include <memory>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"
#include "crypto/identity.h"

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace beemesh::crypto {

// A private OID (ITU-T X.667: 2.25 + a random UUID as an integer): no registration needed.
inline constexpr std::string_view kTlsCredentialOid =
    "2.25.160802711520991193391362177326961243747";

struct X509Deleter {
  void operator()(X509* x) const;
};
struct EvpKeyDeleter {
  void operator()(EVP_PKEY* k) const;
};

// Defined in identity.cpp, next to the secrets: the one place the Ed25519 seed leaves an
// Identity (as a new OpenSSL key; null when OpenSSL fails).
struct TlsKeyAccess {
  static EVP_PKEY* new_private_key(const Identity& identity);
};

struct TlsCertificate {
  std::unique_ptr<X509, X509Deleter> certificate;
  std::unique_ptr<EVP_PKEY, EvpKeyDeleter> private_key;
};

Result<TlsCertificate> make_tls_certificate(const Identity& identity, ByteView credential);

}  // namespace beemesh::crypto
