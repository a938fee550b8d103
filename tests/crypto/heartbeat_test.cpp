// Heartbeat records (crypto/heartbeat.h): what opens and what does not.
#include "crypto/heartbeat.h"

#include <gtest/gtest.h>

#include "crypto/records.h"
#include "protocol/records.h"

namespace beemesh::crypto {
namespace {

Identity identity_n(uint8_t n) {
  Seed seed{};
  seed.fill(n);
  return Identity::from_seed(seed);
}

protocol::Heartbeat heartbeat_of(const Identity& id) {
  protocol::Heartbeat hb;
  hb.node_id = id.node_id();
  hb.signer_public_key = id.public_key();
  hb.timestamp_ms = 1'700'000'000'000;
  hb.validity_ms = 10'000;
  hb.sequence = 1'700'000'000'000;
  hb.credential = Bytes(300, 0x42);
  return hb;
}

TEST(Heartbeat, SignedHeartbeatOpensToTheSameFields) {
  auto alice = identity_n(1);
  auto hb = heartbeat_of(alice);
  auto opened = open_heartbeat(sign_heartbeat(alice, hb));
  ASSERT_TRUE(opened) << opened.error().to_string();
  EXPECT_EQ(*opened, hb);
}

TEST(Heartbeat, HeartbeatNamingAnotherNodeIsRefusedAsSignerMismatch) {
  auto alice = identity_n(1);
  auto bob = identity_n(2);
  auto hb = heartbeat_of(alice);
  hb.signer_public_key = bob.public_key();
  auto opened = open_heartbeat(sign_heartbeat(bob, hb));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "signer_mismatch");
}

TEST(Heartbeat, TamperedHeartbeatIsRefusedAsBadSignature) {
  auto alice = identity_n(1);
  auto value = sign_heartbeat(alice, heartbeat_of(alice));
  auto record = protocol::decode_signed_record(value);
  ASSERT_TRUE(record);
  record->body[record->body.size() / 2] ^= 0x01;
  auto opened = open_heartbeat(protocol::encode_signed_record(*record));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "bad_signature");
}

TEST(Heartbeat, ProviderRecordDoesNotOpenAsAHeartbeat) {
  auto alice = identity_n(1);
  protocol::ProviderRecord r;
  r.node_id = alice.node_id();
  r.signer_public_key = alice.public_key();
  auto opened = open_heartbeat(sign_provider_record(alice, r));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "unexpected_record_type");
}

TEST(Heartbeat, HeartbeatOverEightKibibytesIsRefusedBeforeParsing) {
  auto alice = identity_n(1);
  auto hb = heartbeat_of(alice);
  hb.credential = Bytes(4096, 0x42);
  auto value = sign_heartbeat(alice, hb);
  value.resize(protocol::kMaxHeartbeatSize + 1, 0);
  auto opened = open_heartbeat(value);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "oversized");
}

}  // namespace
}  // namespace beemesh::crypto
