// Every message and record type: round trip, and every structural rejection of a decoder.
#include <gtest/gtest.h>

#include "protocol/codec_traits.h"

namespace beemesh::protocol::testing {
namespace {

template <typename T>
class CodecTest : public ::testing::Test {};

using AllTypes =
    ::testing::Types<ApplyRequest, ApplyResponse, DeleteRequest, DeleteResponse, StoreShareRequest,
                     StoreShareResponse, KeyShareRequest, KeyShareResponse, KeyShareBatchRequest,
                     KeyShareBatchResponse, CapacityRequest, CapacityReply, QueryRequest,
                     QueryReply, ErrorReply, ApiAuth, Envelope, SignedRecord, ProviderRecord,
                     PeerRecord, Grant, AppliedManifest, Certificate, Credential, RevocationList>;
TYPED_TEST_SUITE(CodecTest, AllTypes);

TYPED_TEST(CodecTest, RoundTripKeepsEveryField) {
  const TypeParam original = Codec<TypeParam>::sample();
  Bytes bytes = Codec<TypeParam>::encode(original);
  auto decoded = Codec<TypeParam>::decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(*decoded, original);
}

TYPED_TEST(CodecTest, EncodingIsDeterministic) {
  TypeParam value = Codec<TypeParam>::sample();
  EXPECT_EQ(Codec<TypeParam>::encode(value), Codec<TypeParam>::encode(value));
}

TYPED_TEST(CodecTest, EmptyInputIsMalformed) {
  auto decoded = Codec<TypeParam>::decode(ByteView{});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, "malformed");
}

TYPED_TEST(CodecTest, GarbageIsMalformed) {
  Bytes garbage(64, 0xff);
  auto decoded = Codec<TypeParam>::decode(garbage);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, "malformed");
}

TYPED_TEST(CodecTest, TruncatedInputIsMalformed) {
  Bytes bytes = Codec<TypeParam>::encode(Codec<TypeParam>::sample());
  bytes.resize(bytes.size() / 2);
  auto decoded = Codec<TypeParam>::decode(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, "malformed");
}

TYPED_TEST(CodecTest, InputOverTheSizeLimitIsOversizedBeforeParsing) {
  Bytes bytes = Codec<TypeParam>::encode(Codec<TypeParam>::sample());
  auto decoded = Codec<TypeParam>::decode(bytes, bytes.size() - 1);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, "oversized");
  EXPECT_TRUE(Codec<TypeParam>::decode(bytes, bytes.size()).ok());
}

TYPED_TEST(CodecTest, MissingSchemaVersionIsMalformed) {
  TypeParam value = Codec<TypeParam>::sample();
  value.schema_version = 0;
  auto decoded = Codec<TypeParam>::decode(Codec<TypeParam>::encode(value));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, "malformed");
}

TYPED_TEST(CodecTest, NewerSchemaVersionIsUnsupported) {
  TypeParam value = Codec<TypeParam>::sample();
  value.schema_version = kSchemaVersion + 1;
  auto decoded = Codec<TypeParam>::decode(Codec<TypeParam>::encode(value));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, "unsupported_version");
}

TYPED_TEST(CodecTest, UnalignedInputDecodesTheSame) {
  const TypeParam original = Codec<TypeParam>::sample();
  Bytes bytes = Codec<TypeParam>::encode(original);
  Bytes shifted(bytes.size() + 1);
  std::copy(bytes.begin(), bytes.end(), shifted.begin() + 1);
  auto decoded = Codec<TypeParam>::decode(ByteView(shifted).subspan(1));
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(*decoded, original);
}

TYPED_TEST(CodecTest, EveryByteFlipEitherFailsCleanlyOrDecodes) {
  // Robustness (the fuzz targets go further): no flip may crash or read out of bounds.
  Bytes bytes = Codec<TypeParam>::encode(Codec<TypeParam>::sample());
  for (size_t i = 0; i < bytes.size(); ++i) {
    Bytes copy = bytes;
    copy[i] ^= 0xa5;
    auto decoded = Codec<TypeParam>::decode(copy);
    if (!decoded.ok()) {
      const auto& code = decoded.error().code;
      EXPECT_TRUE(code == "malformed" || code == "unsupported_version") << code;
    }
  }
}

TEST(Codec, PayloadAndRecordTypesHaveNames) {
  EXPECT_EQ(payload_type_name(PayloadType::kApplyRequest), "apply_request");
  EXPECT_EQ(payload_type_name(static_cast<PayloadType>(999)), "unknown");
  EXPECT_EQ(record_type_name(RecordType::kProviderRecord), "provider_record");
  EXPECT_EQ(record_type_name(static_cast<RecordType>(999)), "unknown");
}

TEST(Codec, MessageStructsNameTheirPayloadType) {
  EXPECT_EQ(ApplyRequest::kType, PayloadType::kApplyRequest);
  EXPECT_EQ(KeyShareResponse::kType, PayloadType::kKeyShareResponse);
  EXPECT_EQ(KeyShareBatchRequest::kType, PayloadType::kKeyShareBatchRequest);
  EXPECT_EQ(KeyShareBatchResponse::kType, PayloadType::kKeyShareBatchResponse);
  EXPECT_EQ(payload_type_name(PayloadType::kKeyShareBatchRequest), "key_share_batch_request");
  EXPECT_EQ(CapacityReply::kType, PayloadType::kCapacityReply);
}

}  // namespace
}  // namespace beemesh::protocol::testing
