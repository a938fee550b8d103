#include "net/tls.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include <asio/redirect_error.hpp>
#include <asio/ssl/context.hpp>
#include <asio/use_awaitable.hpp>

#include "net/tls_handshake.h"

namespace beemesh::net {

namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct ObjectFree {
  void operator()(ASN1_OBJECT* o) const { ASN1_OBJECT_free(o); }
};
struct OctetStringFree {
  void operator()(ASN1_OCTET_STRING* s) const { ASN1_OCTET_STRING_free(s); }
};

std::string openssl_reason() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

// Chain trust is replaced by the verify hook after the handshake, so OpenSSL's certificate
// verification (X509_verify_cert: a store context, chain building and issuer look-ups that
// can only end in "self-signed", which was then accepted) is not run at all. The handshake
// still proves possession of the certificate key (TLS 1.3 CertificateVerify).
int skip_chain_verification(X509_STORE_CTX*, void*) {
  return 1;
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> make_tls_context(X509* certificate,
                                                             EVP_PKEY* private_key) {
  if (certificate == nullptr || private_key == nullptr) {
    return make_error("tls_setup", "a TLS context needs a certificate and its private key");
  }
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls);
  SSL_CTX* ctx = context->native_handle();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return make_error("tls_setup", "cannot restrict TLS to version 1.3: " + openssl_reason());
  }
  if (SSL_CTX_use_certificate(ctx, certificate) != 1) {
    return make_error("tls_setup", "certificate refused: " + openssl_reason());
  }
  if (SSL_CTX_use_PrivateKey(ctx, private_key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return make_error("tls_setup",
                      "private key refused or not the certificate's: " + openssl_reason());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, skip_chain_verification, nullptr);
  // Connections are long-lived and pooled: no session resumption, no tickets to send.
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return context;
}

Result<PeerCertificate> read_peer_certificate(SSL* ssl, const std::string& extension_oid) {
  std::unique_ptr<X509, X509Free> cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return make_error("peer_certificate", "the peer presented no certificate");
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return make_error("peer_certificate", "the peer's certificate does not carry an Ed25519 key");
  }
  PeerCertificate peer;
  size_t size = peer.public_key.size();
  if (EVP_PKEY_get_raw_public_key(key, peer.public_key.data(), &size) != 1 ||
      size != peer.public_key.size()) {
    return make_error("peer_certificate", "cannot read the peer's Ed25519 key");
  }
  if (extension_oid.empty()) return peer;
  std::unique_ptr<ASN1_OBJECT, ObjectFree> oid(OBJ_txt2obj(extension_oid.c_str(), 1));
  if (!oid) return make_error("tls_setup", "bad extension OID " + extension_oid);
  int index = X509_get_ext_by_OBJ(cert.get(), oid.get(), -1);
  if (index < 0) return peer;
  X509_EXTENSION* ext = X509_get_ext(cert.get(), index);
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  // The extension value is DER: an OCTET STRING holding the bytes.
  const unsigned char* p = ASN1_STRING_get0_data(data);
  std::unique_ptr<ASN1_OCTET_STRING, OctetStringFree> inner(
      d2i_ASN1_OCTET_STRING(nullptr, &p, ASN1_STRING_length(data)));
  if (!inner) {
    return make_error("peer_certificate", "extension " + extension_oid + " is not an OCTET STRING");
  }
  const unsigned char* bytes = ASN1_STRING_get0_data(inner.get());
  peer.extension.assign(bytes, bytes + ASN1_STRING_length(inner.get()));
  return peer;
}

asio::awaitable<Result<void>> tls_handshake(TlsSocket& socket,
                                            asio::ssl::stream_base::handshake_type type,
                                            const TlsOptions& tls, std::string expected_peer,
                                            std::string remote) {
  std::error_code ec;
  co_await socket.async_handshake(type, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return make_error("handshake_failed", "TLS handshake with " + remote + ": " + ec.message());
  }
  auto peer = read_peer_certificate(socket.native_handle(), tls.extension_oid);
  if (!peer.ok()) {
    co_return make_error(peer.error().code, peer.error().message + " (" + remote + ")");
  }
  if (!tls.verify) co_return make_error("tls_setup", "no verify hook for TLS peers");
  co_return tls.verify(*peer, expected_peer);
}

}  // namespace beemesh::net
