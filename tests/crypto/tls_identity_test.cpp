// The node's TLS certificate (crypto/tls_identity.h): what a peer reads out of it.
#include "crypto/tls_identity.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "crypto/identity.h"
#include "crypto/membership.h"

namespace beemesh::crypto {
namespace {

struct ObjectFree {
  void operator()(ASN1_OBJECT* o) const { ASN1_OBJECT_free(o); }
};
struct OctetFree {
  void operator()(ASN1_OCTET_STRING* s) const { ASN1_OCTET_STRING_free(s); }
};

// The bytes of the credential extension, or nullopt when it is missing.
std::optional<Bytes> credential_extension(X509* cert) {
  std::unique_ptr<ASN1_OBJECT, ObjectFree> oid(
      OBJ_txt2obj(std::string(kTlsCredentialOid).c_str(), 1));
  int index = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  if (index < 0) return std::nullopt;
  X509_EXTENSION* ext = X509_get_ext(cert, index);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 0);
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  const unsigned char* p = ASN1_STRING_get0_data(data);
  std::unique_ptr<ASN1_OCTET_STRING, OctetFree> inner(
      d2i_ASN1_OCTET_STRING(nullptr, &p, ASN1_STRING_length(data)));
  if (!inner) return std::nullopt;
  const unsigned char* bytes = ASN1_STRING_get0_data(inner.get());
  return Bytes(bytes, bytes + ASN1_STRING_length(inner.get()));
}

TEST(TlsCertificate, CarriesTheNodesEd25519Key) {
  auto id = Identity::generate();
  auto tls = make_tls_certificate(id, Bytes{1, 2, 3});
  ASSERT_TRUE(tls.ok()) << tls.error().to_string();
  EVP_PKEY* key = X509_get0_pubkey(tls->certificate.get());
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_id(key), EVP_PKEY_ED25519);
  PublicKey raw{};
  size_t size = raw.size();
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(key, raw.data(), &size), 1);
  EXPECT_EQ(raw, id.public_key());
}

TEST(TlsCertificate, IsSignedByTheNodeKeyItself) {
  auto id = Identity::generate();
  auto tls = make_tls_certificate(id, Bytes{1});
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(X509_verify(tls->certificate.get(), X509_get0_pubkey(tls->certificate.get())), 1);
}

TEST(TlsCertificate, CarriesTheCredentialInANonCriticalExtension) {
  auto id = Identity::generate();
  Bytes credential(700, 0x42);
  auto tls = make_tls_certificate(id, credential);
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(credential_extension(tls->certificate.get()), credential);
}

TEST(TlsCertificate, NamesTheNodeIdAsSubject) {
  auto id = Identity::generate();
  auto tls = make_tls_certificate(id, Bytes{1});
  ASSERT_TRUE(tls.ok());
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(tls->certificate.get()), NID_commonName, cn,
                            sizeof(cn));
  EXPECT_EQ(std::string(cn), id.node_id());
}

TEST(TlsCertificate, PrivateKeyIsTheNodesSigningKey) {
  auto id = Identity::generate();
  auto tls = make_tls_certificate(id, Bytes{1});
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(X509_check_private_key(tls->certificate.get(), tls->private_key.get()), 1);
}

TEST(TlsCertificate, HoldsNoPartOfTheSeed) {
  Seed seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(0xa0 + i);
  auto id = Identity::from_seed(seed);
  auto tls = make_tls_certificate(id, Bytes{1});
  ASSERT_TRUE(tls.ok());
  int size = i2d_X509(tls->certificate.get(), nullptr);
  ASSERT_GT(size, 0);
  Bytes der(static_cast<size_t>(size));
  unsigned char* p = der.data();
  i2d_X509(tls->certificate.get(), &p);
  for (size_t at = 0; at + 8 <= seed.size(); ++at) {
    EXPECT_EQ(std::search(der.begin(), der.end(), seed.begin() + static_cast<std::ptrdiff_t>(at),
                          seed.begin() + static_cast<std::ptrdiff_t>(at + 8)),
              der.end())
        << "8 bytes of the seed at offset " << at << " are in the certificate";
  }
}

TEST(TlsCertificate, OversizedCredentialIsRefused) {
  auto id = Identity::generate();
  auto tls = make_tls_certificate(id, Bytes(kMaxCredentialSize + 1, 1));
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().code, "malformed_credential");
}

}  // namespace
}  // namespace beemesh::crypto
