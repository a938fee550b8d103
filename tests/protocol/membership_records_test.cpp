// Membership records (Certificate, Credential, RevocationList) and the Grant content hash:
// decoders refuse fields that break the schema's rules with "malformed", naming the field.
#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include "protocol/membership_generated.h"
#include "protocol/membership_records.h"
#include "protocol/records.h"
#include "protocol/records_generated.h"
#include "protocol/samples.h"

namespace beemesh::protocol {
namespace {

namespace fbp = beemesh::protocol::fb;

template <typename R>
void expect_malformed(const R& result, std::string_view mentions) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "malformed");
  EXPECT_NE(result.error().message.find(mentions), std::string::npos) << result.error().message;
}

Bytes finish(flatbuffers::FlatBufferBuilder& fbb) {
  return Bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

Result<Certificate> decode_changed(void (*change)(Certificate&)) {
  Certificate c = samples::certificate();
  change(c);
  return decode_certificate(encode_certificate(c));
}

TEST(CertificateRecord, UnknownKindIsMalformed) {
  expect_malformed(decode_changed([](Certificate& c) { c.kind = static_cast<CertKind>(4); }),
                   "kind");
}

TEST(CertificateRecord, UnknownRoleIsMalformed) {
  expect_malformed(decode_changed([](Certificate& c) { c.role = static_cast<Role>(4); }), "role");
}

TEST(CertificateRecord, SerialOfTheWrongLengthIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes serial(15, 1);
  Bytes subject(32, 2);
  fbb.Finish(fbp::CreateCertificate(fbb, kSchemaVersion, 1, fbb.CreateVector(serial),
                                    fbb.CreateVector(subject), fbb.CreateString("n"), 0, 0,
                                    fbb.CreateString("prod")));
  expect_malformed(decode_certificate(finish(fbb)), "serial");
}

TEST(CertificateRecord, MissingSubjectKeyIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes serial(16, 1);
  fbb.Finish(fbp::CreateCertificate(fbb, kSchemaVersion, 1, fbb.CreateVector(serial), 0,
                                    fbb.CreateString("n"), 0, 0, fbb.CreateString("prod")));
  expect_malformed(decode_certificate(finish(fbb)), "subject_public_key");
}

TEST(CertificateRecord, EmptyNameIsMalformed) {
  expect_malformed(decode_changed([](Certificate& c) { c.name.clear(); }), "name");
}

TEST(CertificateRecord, NameLongerThan64CharactersIsMalformed) {
  EXPECT_TRUE(decode_changed([](Certificate& c) { c.name = std::string(64, 'a'); }).ok());
  expect_malformed(decode_changed([](Certificate& c) { c.name = std::string(65, 'a'); }), "name");
}

TEST(CertificateRecord, NonPrintableNameIsMalformed) {
  expect_malformed(decode_changed([](Certificate& c) { c.name = "al\nice"; }), "name");
}

TEST(CertificateRecord, MissingMeshIdIsMalformed) {
  expect_malformed(decode_changed([](Certificate& c) { c.mesh_id.clear(); }), "mesh_id");
}

TEST(CertificateRecord, MoreThan64NamespacesAreMalformed) {
  expect_malformed(decode_changed([](Certificate& c) {
                     c.namespaces.assign(kMaxCertificateNamespaces + 1, "ns");
                   }),
                   "namespaces");
}

TEST(CertificateRecord, NamespaceLongerThanADnsLabelIsMalformed) {
  expect_malformed(decode_changed([](Certificate& c) { c.namespaces = {std::string(64, 'n')}; }),
                   "namespaces");
}

TEST(CertificateRecord, EmptyNamespaceIsMalformed) {
  expect_malformed(decode_changed([](Certificate& c) { c.namespaces = {""}; }), "namespaces");
}

TEST(CredentialRecord, MissingCertificateIsMalformed) {
  Credential c = samples::credential();
  c.certificate.clear();
  expect_malformed(decode_credential(encode_credential(c)), "certificate");
}

TEST(CredentialRecord, CredentialWithoutTicketRoundTrips) {
  Credential c = samples::credential();
  c.ticket.clear();
  auto decoded = decode_credential(encode_credential(c));
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(*decoded, c);
}

TEST(RevocationListRecord, SerialsNotAMultipleOf16BytesAreMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes serials(17, 1);
  fbb.Finish(fbp::CreateRevocationList(fbb, kSchemaVersion, fbb.CreateString("prod"), 1, 0,
                                       fbb.CreateVector(serials)));
  expect_malformed(decode_revocation_list(finish(fbb)), "serials");
}

TEST(RevocationListRecord, KeysNotAMultipleOf32BytesAreMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes keys(33, 1);
  fbb.Finish(fbp::CreateRevocationList(fbb, kSchemaVersion, fbb.CreateString("prod"), 1, 0, 0,
                                       fbb.CreateVector(keys)));
  expect_malformed(decode_revocation_list(finish(fbb)), "subject_keys");
}

TEST(RevocationListRecord, MoreThanTheMaximumEntriesAreMalformed) {
  RevocationList r = samples::revocation_list();
  r.serials.assign(kMaxRevocationEntries / 2, SerialBytes{});
  r.subject_keys.assign(kMaxRevocationEntries - r.serials.size(), PublicKeyBytes{});
  EXPECT_TRUE(decode_revocation_list(encode_revocation_list(r)).ok());
  r.subject_keys.push_back(PublicKeyBytes{});
  expect_malformed(decode_revocation_list(encode_revocation_list(r)), "entries");
}

TEST(RevocationListRecord, MissingMeshIdIsMalformed) {
  RevocationList r = samples::revocation_list();
  r.mesh_id.clear();
  expect_malformed(decode_revocation_list(encode_revocation_list(r)), "mesh_id");
}

TEST(GrantContentHash, GrantWithoutContentHashRoundTripsEmpty) {
  Grant g = samples::grant();
  g.content_hash.clear();
  auto decoded = decode_grant(encode_grant(g));
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_TRUE(decoded->content_hash.empty());
}

TEST(GrantContentHash, ContentHashOfTheWrongLengthIsMalformed) {
  Grant g = samples::grant();
  g.content_hash = Bytes(31, 1);
  expect_malformed(decode_grant(encode_grant(g)), "content_hash");
}

TEST(GrantContentHash, GrantWithoutTheFieldDecodesAsBefore) {
  // A grant built by an encoder that predates the field (the table ends at expires_ms).
  flatbuffers::FlatBufferBuilder fbb;
  Bytes key(32, 1);
  fbb.Finish(fbp::CreateGrant(fbb, kSchemaVersion, 1, fbb.CreateString("m"), fbb.CreateString("n"),
                              fbb.CreateVector(key), fbb.CreateVector(key), 1, 2));
  auto decoded = decode_grant(finish(fbb));
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_TRUE(decoded->content_hash.empty());
}

}  // namespace
}  // namespace beemesh::protocol
