// The owner-signed desired state of a manifest: what opens, who may hold it, which wins.
#include "crypto/intent.h"

#include <gtest/gtest.h>

#include <iostream>

#include "crypto/manifest_crypto.h"
#include "crypto/records.h"
#include "holders.h"

namespace beemesh::crypto {
namespace {

constexpr int64_t kHour = 3'600'000;
constexpr std::string_view kYaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n";

class IntentTest : public ::testing::Test {
 protected:
  ManualClock clock;
  Identity admin = Identity::generate();
  Identity owner = Identity::generate();
  Identity publisher = Identity::generate();
  Membership membership{admin.public_key(), "prod", clock};

  Bytes credential(const Identity& subject, Role role, std::vector<std::string> ns = {},
                   CertKind kind = CertKind::kUser) {
    CertificateBody b{
        .kind = kind,
        .subject = subject.public_key(),
        .name = "alice",
        .role = kind == CertKind::kUser ? role : Role::kNone,
        .namespaces = kind == CertKind::kUser ? std::move(ns) : std::vector<std::string>{},
        .mesh_id = "prod",
        .issued_ms = clock.now_ms(),
        .expires_ms = clock.now_ms() + kHour};
    return make_credential(issue_certificate(admin, b));
  }
  protocol::DesiredIntent intent(uint64_t sequence = 10, uint32_t replicas = 2) {
    return protocol::DesiredIntent{.manifest_id = "m1",
                                   .owner_public_key = owner.public_key(),
                                   .namespaces = {"team-a"},
                                   .name = "Pod/web",
                                   .content_version = content_version(kYaml),
                                   .sequence = sequence,
                                   .replicas = replicas,
                                   .issued_ms = clock.now_ms()};
  }
  protocol::DesiredIntent tombstone(uint64_t sequence) {
    auto t = intent(sequence, 0);
    t.tombstone = true;
    t.content_version.clear();
    t.expires_ms = clock.now_ms() + kHour;
    return t;
  }
  Bytes applied_manifest(const std::string& manifest_id = "m1") {
    testing::Holders holders(3);
    auto enc = encrypt_manifest(manifest_id, publisher.public_key(), as_bytes(kYaml),
                                holders.records, {3, 2}, clock.now_ms());
    EXPECT_TRUE(enc) << enc.error().to_string();
    return sign_applied_manifest(publisher, enc->applied);
  }
  Bytes value(const protocol::DesiredIntent& i, Bytes cred, Bytes applied = {}) {
    return make_desired_state_value(sign_intent(owner, i), cred, applied);
  }
  std::string open(const Bytes& v) {
    auto r = open_desired_state(v, &membership);
    return r ? "ok" : r.error().code;
  }
};

TEST_F(IntentTest, ContentVersionDependsOnTheManifestBytesOnly) {
  EXPECT_EQ(content_version(kYaml), content_version(std::string(kYaml)));
  EXPECT_NE(content_version(kYaml), content_version(std::string(kYaml) + "  labels: {}\n"));
  EXPECT_EQ(content_version(kYaml).size(), protocol::kContentVersionSize);
}

TEST_F(IntentTest, OwnerSignedIntentOpensWithEveryField) {
  auto i = intent();
  i.pinned_node = "node-b";
  auto opened = open_intent(sign_intent(owner, i));
  ASSERT_TRUE(opened) << opened.error().to_string();
  EXPECT_EQ(*opened, i);
}

TEST_F(IntentTest, IntentSignedByAnotherKeyThanItsOwnerIsSignerMismatch) {
  auto other = Identity::generate();
  auto opened = open_intent(sign_intent(other, intent()));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "signer_mismatch");
}

TEST_F(IntentTest, AlteredIntentBytesDoNotVerify) {
  Bytes signed_intent = sign_intent(owner, intent());
  auto record = protocol::decode_signed_record(signed_intent);
  ASSERT_TRUE(record);
  auto body = protocol::decode_desired_intent(record->body);
  ASSERT_TRUE(body);
  body->replicas = 50;
  record->body = protocol::encode_desired_intent(*body);
  auto opened = open_intent(protocol::encode_signed_record(*record));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "bad_signature");
}

TEST_F(IntentTest, IntentOfADeployerInItsNamespaceWithItsManifestIsAccepted) {
  auto state = open_desired_state(
      value(intent(), credential(owner, Role::kDeployer, {"team-a"}), applied_manifest()),
      &membership);
  ASSERT_TRUE(state) << state.error().to_string();
  EXPECT_EQ(state->intent.replicas, 2u);
  ASSERT_TRUE(state->applied.has_value());
  EXPECT_EQ(state->applied->manifest_id, "m1");
}

TEST_F(IntentTest, IntentWithoutOwnerCredentialIsNoCredential) {
  EXPECT_EQ(open(value(intent(), {})), "no_credential");
}

TEST_F(IntentTest, IntentOfAViewerIsForbiddenRole) {
  EXPECT_EQ(open(value(intent(), credential(owner, Role::kViewer))), "forbidden_role");
}

TEST_F(IntentTest, IntentOwnedByANodeKeyIsForbiddenRole) {
  EXPECT_EQ(open(value(intent(), credential(owner, Role::kNone, {}, CertKind::kNode))),
            "forbidden_role");
}

TEST_F(IntentTest, IntentOutsideTheOwnersNamespacesIsForbiddenNamespace) {
  EXPECT_EQ(open(value(intent(), credential(owner, Role::kDeployer, {"team-b"}))),
            "forbidden_namespace");
}

TEST_F(IntentTest, IntentCarryingAnotherManifestsCiphertextIsIntentMismatch) {
  EXPECT_EQ(open(value(intent(), credential(owner, Role::kDeployer), applied_manifest("m2"))),
            "intent_mismatch");
}

TEST_F(IntentTest, TombstoneCarryingAManifestIsMalformed) {
  EXPECT_EQ(open(value(tombstone(11), credential(owner, Role::kDeployer), applied_manifest())),
            "malformed");
}

TEST_F(IntentTest, TombstoneWithAContentVersionIsMalformed) {
  auto t = tombstone(11);
  t.content_version = content_version(kYaml);
  EXPECT_EQ(open(value(t, credential(owner, Role::kDeployer))), "malformed");
}

TEST_F(IntentTest, ReplicasBeyondTheLimitAreMalformed) {
  EXPECT_EQ(
      open(value(intent(10, protocol::kMaxIntentReplicas + 1), credential(owner, Role::kDeployer))),
      "malformed");
}

TEST_F(IntentTest, ValueLargerThanOneDhtValueIsOversized) {
  Bytes huge(protocol::kMaxRecordSize, 0);
  EXPECT_EQ(open(value(intent(), credential(owner, Role::kDeployer), huge)), "oversized");
}

// Sizes (docs/LIMITS.md): what one record costs in the DHT and on every refresher.
TEST_F(IntentTest, SignedIntentIsUnderHalfAKilobyteAndATombstoneSmaller) {
  auto i = intent();
  i.manifest_id = std::string(32, 'a');  // manifest ids are 32 hex characters
  i.name = "Deployment/web-frontend";
  const size_t intent_size = sign_intent(owner, i).size();
  auto t = tombstone(11);
  t.manifest_id = i.manifest_id;
  const size_t tombstone_size = sign_intent(owner, t).size();
  RecordProperty("signed_intent_bytes", static_cast<int>(intent_size));
  RecordProperty("signed_tombstone_bytes", static_cast<int>(tombstone_size));
  std::cout << "signed intent: " << intent_size << " bytes, tombstone: " << tombstone_size
            << " bytes\n";
  EXPECT_LT(intent_size, 512u);
  EXPECT_LT(tombstone_size, intent_size);
}

TEST_F(IntentTest, RecordOfATwoKilobyteManifestWithFiveHoldersFitsEightKilobytes) {
  const std::string yaml(2048, 'x');
  testing::Holders holders(5);
  auto enc = encrypt_manifest("m1", publisher.public_key(), as_bytes(yaml), holders.records, {5, 3},
                              clock.now_ms());
  ASSERT_TRUE(enc) << enc.error().to_string();
  Bytes v = value(intent(), credential(owner, Role::kDeployer, {"team-a"}),
                  sign_applied_manifest(publisher, enc->applied));
  std::cout << "desired-state value (2 KiB manifest, 5 holders): " << v.size() << " bytes\n";
  RecordProperty("desired_state_value_bytes", static_cast<int>(v.size()));
  EXPECT_LT(v.size(), 8u * 1024);
  EXPECT_TRUE(open_desired_state(v, &membership));
}

TEST_F(IntentTest, HigherSequenceSupersedes) {
  EXPECT_TRUE(supersedes(intent(11), intent(10)));
  EXPECT_FALSE(supersedes(intent(10), intent(11)));
  EXPECT_FALSE(supersedes(intent(10), intent(10)));
}

TEST_F(IntentTest, TombstoneSupersedesAnIntentOfLowerOrEqualSequence) {
  EXPECT_TRUE(supersedes(tombstone(10), intent(10)));
  EXPECT_TRUE(supersedes(tombstone(10), intent(9)));
  EXPECT_FALSE(supersedes(intent(10), tombstone(10)));
}

TEST_F(IntentTest, IntentOfHigherSequenceSupersedesATombstone) {
  // A re-apply after a delete is a new intent the owner signed later.
  EXPECT_TRUE(supersedes(intent(11), tombstone(10)));
}

TEST_F(IntentTest, IntentOfAnotherOwnerNeverSupersedes) {
  auto other = intent(99);
  other.owner_public_key = Identity::generate().public_key();
  EXPECT_FALSE(supersedes(other, intent(10)));
}

}  // namespace
}  // namespace beemesh::crypto
