#include "crypto/tls_identity.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include <string>

#include "crypto/membership.h"

namespace beemesh::crypto {

void X509Deleter::operator()(X509* x) const {
  X509_free(x);
}
void EvpKeyDeleter::operator()(EVP_PKEY* k) const {
  EVP_PKEY_free(k);
}

namespace {

struct ObjectFree {
  void operator()(ASN1_OBJECT* o) const { ASN1_OBJECT_free(o); }
};
struct OctetFree {
  void operator()(ASN1_OCTET_STRING* s) const { ASN1_OCTET_STRING_free(s); }
};
struct ExtensionFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
struct BignumFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};

Error openssl_error(const std::string& step) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "unknown OpenSSL error";
  if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  return make_error("tls_setup", step + ": " + buf);
}

std::unique_ptr<ASN1_OCTET_STRING, OctetFree> octet_string(const unsigned char* data, size_t size) {
  std::unique_ptr<ASN1_OCTET_STRING, OctetFree> s(ASN1_OCTET_STRING_new());
  if (s && ASN1_OCTET_STRING_set(s.get(), data, static_cast<int>(size)) != 1) s.reset();
  return s;
}

// The extension value: DER of an OCTET STRING holding the credential.
Result<void> add_credential(X509* cert, ByteView credential) {
  auto inner = octet_string(credential.data(), credential.size());
  if (!inner) return openssl_error("credential extension");
  int der_size = i2d_ASN1_OCTET_STRING(inner.get(), nullptr);
  if (der_size <= 0) return openssl_error("credential extension");
  Bytes der(static_cast<size_t>(der_size));
  unsigned char* p = der.data();
  i2d_ASN1_OCTET_STRING(inner.get(), &p);
  auto value = octet_string(der.data(), der.size());
  std::unique_ptr<ASN1_OBJECT, ObjectFree> oid(
      OBJ_txt2obj(std::string(kTlsCredentialOid).c_str(), 1));
  if (!value || !oid) return openssl_error("credential extension");
  std::unique_ptr<X509_EXTENSION, ExtensionFree> ext(
      X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), /*crit=*/0, value.get()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return openssl_error("credential extension");
  return ok_result();
}

}  // namespace

Result<TlsCertificate> make_tls_certificate(const Identity& identity, ByteView credential) {
  if (credential.size() > kMaxCredentialSize) {
    return make_error("malformed_credential", "credential of " + std::to_string(credential.size()) +
                                                  " bytes is over " +
                                                  std::to_string(kMaxCredentialSize));
  }
  TlsCertificate out;
  out.private_key.reset(TlsKeyAccess::new_private_key(identity));
  if (!out.private_key) return openssl_error("Ed25519 key");
  out.certificate.reset(X509_new());
  X509* cert = out.certificate.get();
  if (!cert || X509_set_version(cert, 2) != 1) return openssl_error("certificate");

  unsigned char serial_bytes[16];
  randombytes_buf(serial_bytes, sizeof(serial_bytes));
  serial_bytes[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, BignumFree> serial(
      BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert))) {
    return openssl_error("serial");
  }
  constexpr long kDay = 24L * 3600;
  if (!X509_gmtime_adj(X509_getm_notBefore(cert), -kDay) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert), 3650 * kDay)) {
    return openssl_error("validity");
  }
  std::string cn = identity.node_id();
  X509_NAME* name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert, name) != 1) {
    return openssl_error("subject");
  }
  if (X509_set_pubkey(cert, out.private_key.get()) != 1) return openssl_error("public key");
  if (auto r = add_credential(cert, credential); !r.ok()) return r.error();
  // Ed25519 signs the message itself: no digest.
  if (X509_sign(cert, out.private_key.get(), nullptr) <= 0) return openssl_error("signing");
  return out;
}

}  // namespace beemesh::crypto
