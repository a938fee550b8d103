// Signed DHT records: sign_record/open_record and the typed helpers.
#include "crypto/records.h"

#include <gtest/gtest.h>

#include "protocol/samples.h"

namespace beemesh::crypto {
namespace {

namespace samples = protocol::samples;

protocol::ProviderRecord provider_of(const Identity& id) {
  return samples::provider_record(id.public_key(), id.node_id());
}

TEST(Records, ProviderRecordSignedByItsNodeOpens) {
  auto id = Identity::generate();
  auto rec = provider_of(id);
  auto opened = open_provider_record(sign_provider_record(id, rec));
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(*opened, rec);
}

TEST(Records, PeerRecordSignedByItsNodeOpens) {
  auto id = Identity::generate();
  auto rec = samples::peer_record(id.public_key(), id.node_id());
  auto opened = open_peer_record(sign_peer_record(id, rec));
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(*opened, rec);
}

TEST(Records, AppliedManifestSignedByItsOwnerOpens) {
  auto owner = Identity::generate();
  auto applied = samples::applied_manifest(owner.public_key());
  auto opened = open_applied_manifest(sign_applied_manifest(owner, applied));
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(*opened, applied);
}

TEST(Records, OpenRecordReturnsTheExactSignedBody) {
  auto id = Identity::generate();
  Bytes body = to_bytes("any body bytes at all");
  auto opened =
      open_record(sign_record(id, RecordType::kPeerRecord, body), RecordType::kPeerRecord);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->body, body);
  EXPECT_EQ(opened->signer, id.public_key());
}

TEST(Records, RecordOfAnotherTypeIsRefused) {
  auto id = Identity::generate();
  Bytes signed_bytes = sign_provider_record(id, provider_of(id));
  auto opened = open_record(signed_bytes, RecordType::kPeerRecord);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "unexpected_record_type");
}

TEST(Records, RelabelledRecordTypeBreaksTheSignature) {
  auto id = Identity::generate();
  auto sr = protocol::decode_signed_record(sign_provider_record(id, provider_of(id))).value();
  sr.record_type = RecordType::kPeerRecord;
  auto opened = open_record(protocol::encode_signed_record(sr), RecordType::kPeerRecord);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "bad_signature");
}

TEST(Records, AnyTamperedBodyByteIsRefused) {
  auto id = Identity::generate();
  auto sr = protocol::decode_signed_record(sign_provider_record(id, provider_of(id))).value();
  for (size_t i = 0; i < sr.body.size(); ++i) {
    auto t = sr;
    t.body[i] ^= 0x01;
    auto opened = open_record(protocol::encode_signed_record(t), RecordType::kProviderRecord);
    ASSERT_FALSE(opened.ok()) << "body byte " << i;
    EXPECT_EQ(opened.error().code, "bad_signature");
  }
}

TEST(Records, ProviderRecordNamingAnotherNodeIsRefused) {
  auto id = Identity::generate();
  auto rec = provider_of(id);
  rec.node_id = Identity::generate().node_id();
  auto opened = open_provider_record(sign_provider_record(id, rec));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "signer_mismatch");
}

TEST(Records, ProviderRecordCarryingAnotherKeyIsRefused) {
  auto id = Identity::generate();
  auto other = Identity::generate();
  auto rec = provider_of(other);  // names `other` and its key, signed by `id`
  auto opened = open_provider_record(sign_provider_record(id, rec));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "signer_mismatch");
}

TEST(Records, PeerRecordNamingAnotherNodeIsRefused) {
  auto id = Identity::generate();
  auto rec = samples::peer_record(id.public_key(), "bmsomeoneelse");
  EXPECT_EQ(open_peer_record(sign_peer_record(id, rec)).error().code, "signer_mismatch");
}

TEST(Records, AppliedManifestSignedByANonOwnerIsRefused) {
  auto owner = Identity::generate();
  auto mallory = Identity::generate();
  auto applied = samples::applied_manifest(owner.public_key());
  EXPECT_EQ(open_applied_manifest(sign_applied_manifest(mallory, applied)).error().code,
            "signer_mismatch");
}

TEST(Records, OversizedRecordIsRefusedBeforeParsing) {
  auto id = Identity::generate();
  Bytes signed_bytes = sign_provider_record(id, provider_of(id));
  EXPECT_EQ(open_provider_record(signed_bytes, signed_bytes.size() - 1).error().code, "oversized");
  EXPECT_EQ(
      open_record(Bytes(protocol::kMaxRecordSize + 1, 0), RecordType::kPeerRecord).error().code,
      "oversized");
}

TEST(Records, GarbageIsMalformed) {
  EXPECT_EQ(open_provider_record(Bytes(50, 0x17)).error().code, "malformed");
}

TEST(Records, ValidSignatureOverAGarbageBodyIsMalformed) {
  auto id = Identity::generate();
  Bytes signed_bytes = sign_record(id, RecordType::kProviderRecord, Bytes(40, 0x99));
  EXPECT_EQ(open_provider_record(signed_bytes).error().code, "malformed");
}

}  // namespace
}  // namespace beemesh::crypto
