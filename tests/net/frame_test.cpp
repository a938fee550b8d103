// The wire format: header layout, limits checked before allocation, error payloads,
// protocol ids.
#include "net/frame.h"

#include <gtest/gtest.h>

#include "net/protocols.h"

namespace beemesh::net {
namespace {

TEST(Frame, HeaderIsLengthIdKindProtocolBigEndian) {
  Bytes frame = encode_frame(0x0102030405060708, FrameKind::response, "apply", to_bytes("xyz"));
  Bytes expected{0,   0,   0,   18,                   // body: 10 + 5 + 3
                 1,   2,   3,   4,   5,   6,   7, 8,  // request id
                 1,                                   // kind: response
                 5,   'a', 'p', 'p', 'l', 'y',        // protocol id
                 'x', 'y', 'z'};                      // payload
  EXPECT_EQ(frame, expected);
}

TEST(Frame, LengthPrefixDecodesBigEndian) {
  Bytes prefix{0x00, 0x40, 0x00, 0x01};
  EXPECT_EQ(decode_length_prefix(prefix), 0x00400001u);
}

TEST(Frame, BodyAboveTheLimitIsRejectedAsFrameTooLarge) {
  auto r = check_body_size(kDefaultMaxFrameSize + 1, kDefaultMaxFrameSize);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "frame_too_large");
}

TEST(Frame, BodyAtTheLimitIsAccepted) {
  EXPECT_TRUE(check_body_size(kDefaultMaxFrameSize, kDefaultMaxFrameSize).ok());
}

TEST(Frame, BodyShorterThanItsHeaderIsAProtocolError) {
  auto r = check_body_size(kFixedHeaderSize - 1, kDefaultMaxFrameSize);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "protocol_error");
}

TEST(Frame, FixedHeaderParsesIdKindAndProtocolLength) {
  Bytes frame = encode_frame(42, FrameKind::error, "keyshare", {});
  auto h = parse_fixed_header(ByteView(frame).subspan(4, kFixedHeaderSize), 18);
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_EQ(h->request_id, 42u);
  EXPECT_EQ(h->kind, FrameKind::error);
  EXPECT_EQ(h->protocol_size, 8u);
}

TEST(Frame, UnknownKindIsAProtocolError) {
  Bytes fixed{0, 0, 0, 0, 0, 0, 0, 1, 7, 4};
  auto h = parse_fixed_header(fixed, 20);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, "protocol_error");
}

TEST(Frame, ProtocolIdOverrunningTheBodyIsAProtocolError) {
  Bytes fixed{0, 0, 0, 0, 0, 0, 0, 1, 0, 20};
  auto h = parse_fixed_header(fixed, 15);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, "protocol_error");
}

TEST(Frame, EmptyProtocolIdIsAProtocolError) {
  Bytes fixed{0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
  EXPECT_FALSE(parse_fixed_header(fixed, 10).ok());
}

TEST(Frame, ErrorPayloadRoundTripsCodeAndMessage) {
  auto decoded = decode_error_payload(encode_error_payload(make_error("replay", "nonce seen")));
  EXPECT_EQ(decoded.code, "replay");
  EXPECT_EQ(decoded.message, "nonce seen");
}

TEST(Frame, ErrorPayloadShorterThanItsCodeIsAProtocolError) {
  Bytes payload{10, 'a', 'b'};
  EXPECT_EQ(decode_error_payload(payload).code, "protocol_error");
}

TEST(Frame, ErrorMessageIsCutToItsLimit) {
  auto decoded = decode_error_payload(
      encode_error_payload(make_error("x", std::string(kMaxErrorMessageSize + 100, 'm'))));
  EXPECT_EQ(decoded.message.size(), kMaxErrorMessageSize);
}

TEST(ProtocolId, AcceptsLowercaseDigitsDotsDashesUnderscores) {
  EXPECT_TRUE(validate_protocol_id("keyshare.v2-beta_1").ok());
}

TEST(ProtocolId, RejectsEmptyUppercaseSpacesAndOverlong) {
  EXPECT_EQ(validate_protocol_id("").error().code, "invalid_protocol");
  EXPECT_EQ(validate_protocol_id("Apply").error().code, "invalid_protocol");
  EXPECT_EQ(validate_protocol_id("a b").error().code, "invalid_protocol");
  EXPECT_EQ(validate_protocol_id(std::string(kMaxProtocolIdSize + 1, 'a')).error().code,
            "invalid_protocol");
}

TEST(ProtocolId, EveryRegisteredProtocolIsValid) {
  for (auto id : {protocols::kApply, protocols::kDelete, protocols::kKeyShare, protocols::kCapacity,
                  protocols::kPeer}) {
    EXPECT_TRUE(validate_protocol_id(id).ok()) << id;
  }
}

}  // namespace
}  // namespace beemesh::net
