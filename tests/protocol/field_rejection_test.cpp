// Decoders reject well-formed FlatBuffers whose fields break the schema's rules
// (fixed-length keys, nonce length, required parts, duplicate keys) with "malformed".
#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include "protocol/envelope.h"
#include "protocol/envelope_generated.h"
#include "protocol/messages.h"
#include "protocol/messages_generated.h"
#include "protocol/records.h"
#include "protocol/records_generated.h"
#include "protocol/samples.h"

namespace beemesh::protocol {
namespace {

namespace fbp = beemesh::protocol::fb;

Bytes finish(flatbuffers::FlatBufferBuilder& fbb) {
  return Bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

template <typename R>
void expect_malformed(const R& result, std::string_view mentions) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "malformed");
  EXPECT_NE(result.error().message.find(mentions), std::string::npos) << result.error().message;
}

TEST(FieldRejection, EnvelopeNonceShorterThan16BytesIsMalformed) {
  auto e = samples::envelope();
  e.nonce = Bytes(15, 1);
  expect_malformed(decode_envelope(encode_envelope(e)), "nonce");
}

TEST(FieldRejection, EnvelopeNonceLongerThan24BytesIsMalformed) {
  auto e = samples::envelope();
  e.nonce = Bytes(25, 1);
  expect_malformed(decode_envelope(encode_envelope(e)), "nonce");
}

TEST(FieldRejection, EnvelopeNonceOf16And24BytesIsAccepted) {
  for (size_t n : {16u, 20u, 24u}) {
    auto e = samples::envelope();
    e.nonce = Bytes(n, 1);
    EXPECT_TRUE(decode_envelope(encode_envelope(e)).ok()) << n;
  }
}

TEST(FieldRejection, EnvelopeWithShortSignatureIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes nonce(16, 1), signer(32, 2), payload(3, 3), sig(63, 4);
  fbb.Finish(fbp::CreateEnvelope(fbb, kSchemaVersion, 1, fbb.CreateVector(nonce), 5,
                                 fbb.CreateVector(signer), fbb.CreateVector(payload),
                                 fbb.CreateVector(sig)));
  expect_malformed(decode_envelope(finish(fbb)), "signature");
}

TEST(FieldRejection, EnvelopeWithoutPayloadIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes nonce(16, 1), signer(32, 2), sig(64, 4);
  fbb.Finish(fbp::CreateEnvelope(fbb, kSchemaVersion, 1, fbb.CreateVector(nonce), 5,
                                 fbb.CreateVector(signer), 0, fbb.CreateVector(sig)));
  expect_malformed(decode_envelope(finish(fbb)), "payload");
}

TEST(FieldRejection, EnvelopeCredentialRoundTrips) {
  auto e = samples::envelope();
  e.credential = Bytes(kMaxCredentialSize, 0x5c);
  auto got = decode_envelope(encode_envelope(e));
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(*got, e);
}

TEST(FieldRejection, EnvelopeCredentialOverTheLimitIsMalformed) {
  auto e = samples::envelope();
  e.credential = Bytes(kMaxCredentialSize + 1, 0x5c);
  expect_malformed(decode_envelope(encode_envelope(e)), "credential");
}

TEST(FieldRejection, ProviderRecordCredentialRoundTrips) {
  auto r = samples::provider_record();
  r.credential = Bytes(kMaxCredentialSize, 0x3a);
  auto got = decode_provider_record(encode_provider_record(r), kMaxMessageSize);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(*got, r);
}

TEST(FieldRejection, ProviderRecordCredentialOverTheLimitIsMalformed) {
  auto r = samples::provider_record();
  r.credential = Bytes(kMaxCredentialSize + 1, 0x3a);
  expect_malformed(decode_provider_record(encode_provider_record(r)), "credential");
}

TEST(FieldRejection, SignedRecordWithShortSignerKeyIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes body(5, 1), signer(31, 2), sig(64, 3);
  fbb.Finish(fbp::CreateSignedRecord(fbb, kSchemaVersion, 1, fbb.CreateVector(body),
                                     fbb.CreateVector(signer), fbb.CreateVector(sig)));
  expect_malformed(decode_signed_record(finish(fbb)), "signer_public_key");
}

TEST(FieldRejection, ProviderRecordWithDuplicateCapabilityIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes signer(32, 2);
  std::vector<flatbuffers::Offset<fbp::KeyValue>> caps{
      fbp::CreateKeyValue(fbb, fbb.CreateString("arch"), fbb.CreateString("amd64")),
      fbp::CreateKeyValue(fbb, fbb.CreateString("arch"), fbb.CreateString("arm64"))};
  auto caps_vec = fbb.CreateVector(caps);
  fbb.Finish(fbp::CreateProviderRecord(fbb, kSchemaVersion, fbb.CreateString("m"),
                                       fbb.CreateString("n"), fbb.CreateVector(signer), 0, 0,
                                       caps_vec));
  expect_malformed(decode_provider_record(finish(fbb)), "duplicate key 'arch'");
}

TEST(FieldRejection, PeerRecordWithoutSignerKeyIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fbp::CreatePeerRecord(fbb, kSchemaVersion, fbb.CreateString("n")));
  expect_malformed(decode_peer_record(finish(fbb)), "signer_public_key");
}

TEST(FieldRejection, AppliedManifestWithShortNonceIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes owner(32, 1), ct(20, 2), nonce(23, 3), commit(32, 4);
  fbb.Finish(fbp::CreateAppliedManifest(fbb, kSchemaVersion, fbb.CreateString("m"),
                                        fbb.CreateVector(owner), fbb.CreateVector(ct),
                                        fbb.CreateVector(nonce), fbb.CreateVector(commit), 1));
  expect_malformed(decode_applied_manifest(finish(fbb)), "nonce");
}

TEST(FieldRejection, ApplyRequestWithoutAppliedManifestIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes owner(32, 1);
  fbb.Finish(fbp::CreateApplyRequest(fbb, kSchemaVersion, fbb.CreateString("r"),
                                     fbb.CreateString("m"), fbb.CreateVector(owner), 0));
  expect_malformed(decode<ApplyRequest>(finish(fbb)), "applied manifest");
}

TEST(FieldRejection, ApplyRequestWithUnversionedAppliedManifestIsMalformed) {
  auto req = samples::apply_request();
  req.applied_manifest.schema_version = 0;
  expect_malformed(decode<ApplyRequest>(encode(req)), "schema_version");
}

TEST(FieldRejection, DeleteRequestWithoutOwnerKeyIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(
      fbp::CreateDeleteRequest(fbb, kSchemaVersion, fbb.CreateString("r"), fbb.CreateString("m")));
  expect_malformed(decode<DeleteRequest>(finish(fbb)), "owner_public_key");
}

TEST(FieldRejection, GrantWithoutOwnerKeyIsMalformed) {
  flatbuffers::FlatBufferBuilder fbb;
  Bytes node(32, 1);
  fbb.Finish(fbp::CreateGrant(fbb, kSchemaVersion, 1, fbb.CreateString("m"), fbb.CreateString("n"),
                              fbb.CreateVector(node)));
  expect_malformed(decode_grant(finish(fbb)), "owner_public_key");
}

TEST(FieldRejection, KeyShareBatchWithoutItemsIsMalformed) {
  auto req = samples::key_share_batch_request();
  req.items.clear();
  expect_malformed(decode<KeyShareBatchRequest>(encode(req)), "items");
}

TEST(FieldRejection, KeyShareBatchOfMoreThanTheLimitIsMalformed) {
  auto req = samples::key_share_batch_request();
  req.items.assign(kMaxKeyShareBatch + 1, req.items.front());
  expect_malformed(decode<KeyShareBatchRequest>(encode(req)), "items");
  req.items.resize(kMaxKeyShareBatch);
  EXPECT_TRUE(decode<KeyShareBatchRequest>(encode(req)).ok());
}

TEST(FieldRejection, KeyShareBatchAnswerOfMoreThanTheLimitIsMalformed) {
  auto res = samples::key_share_batch_response();
  res.items.assign(kMaxKeyShareBatch + 1, res.items.front());
  expect_malformed(decode<KeyShareBatchResponse>(encode(res)), "items");
}

TEST(FieldRejection, DeeplyNestedOrHugeVectorClaimsAreMalformedNotCrashes) {
  // A buffer whose root offset points past its end.
  Bytes bytes{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0};
  expect_malformed(decode<ApplyRequest>(bytes), "FlatBuffers");
}

}  // namespace
}  // namespace beemesh::protocol
