// Owner-signed grants and the key holder's release of a share to an authorised node.
#include "crypto/grants.h"

#include <gtest/gtest.h>

#include "crypto/holders.h"
#include "crypto/manifest_crypto.h"
#include "crypto/records.h"

namespace beemesh::crypto {
namespace {

const std::string kManifestId = "0123456789abcdef0123456789abcdef";

class GrantTest : public ::testing::Test {
 protected:
  ManualClock clock;
  Identity owner = Identity::generate();
  Identity deployer = Identity::generate();
  Identity stranger = Identity::generate();

  Bytes grant_for(const Identity& node, GrantAction action = GrantAction::kKeyShare,
                  const std::string& manifest = kManifestId, int64_t ttl_ms = 600'000) {
    return issue_grant(owner, action, manifest, node.public_key(), clock.now_ms(),
                       clock.now_ms() + ttl_ms);
  }
  GrantExpectation expect_for(const Identity& requester) {
    return GrantExpectation{GrantAction::kKeyShare, kManifestId, owner.public_key(),
                            requester.public_key()};
  }
  std::string check(ByteView grant, const GrantExpectation& e) {
    auto r = check_grant(grant, e, clock);
    return r.ok() ? "ok" : r.error().code;
  }
};

TEST_F(GrantTest, GrantForTheRequesterAndManifestIsAccepted) {
  auto g = check_grant(grant_for(deployer), expect_for(deployer), clock);
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(g->node_id, deployer.node_id());
  EXPECT_EQ(g->manifest_id, kManifestId);
  EXPECT_EQ(g->owner_public_key, owner.public_key());
}

TEST_F(GrantTest, GrantForAnotherNodeIsRefused) {
  EXPECT_EQ(check(grant_for(deployer), expect_for(stranger)), "grant_wrong_node");
}

TEST_F(GrantTest, GrantForAnotherManifestIsRefused) {
  EXPECT_EQ(
      check(grant_for(deployer, GrantAction::kKeyShare, "another-manifest"), expect_for(deployer)),
      "grant_wrong_manifest");
}

TEST_F(GrantTest, ExpiredGrantIsRefused) {
  Bytes g = grant_for(deployer, GrantAction::kKeyShare, kManifestId, 1'000);
  clock.advance_ms(1'000);
  EXPECT_EQ(check(g, expect_for(deployer)), "ok");
  clock.advance_ms(1);
  EXPECT_EQ(check(g, expect_for(deployer)), "grant_expired");
}

TEST_F(GrantTest, GrantIssuedInTheFutureIsRefused) {
  Bytes g = issue_grant(owner, GrantAction::kKeyShare, kManifestId, deployer.public_key(),
                        clock.now_ms() + 60'000, clock.now_ms() + 120'000);
  EXPECT_EQ(check(g, expect_for(deployer)), "grant_not_yet_valid");
}

TEST_F(GrantTest, GrantFromSomeoneOtherThanTheOwnerIsRefused) {
  Bytes g = issue_grant(stranger, GrantAction::kKeyShare, kManifestId, deployer.public_key(),
                        clock.now_ms(), clock.now_ms() + 60'000);
  EXPECT_EQ(check(g, expect_for(deployer)), "grant_wrong_owner");
}

TEST_F(GrantTest, GrantForAnotherActionIsRefused) {
  EXPECT_EQ(check(grant_for(deployer, GrantAction::kDelete), expect_for(deployer)),
            "grant_wrong_action");
}

TEST_F(GrantTest, TamperedGrantIsRefused) {
  auto sr = protocol::decode_signed_record(grant_for(deployer)).value();
  sr.body[sr.body.size() / 2] ^= 1;
  EXPECT_EQ(check(protocol::encode_signed_record(sr), expect_for(deployer)), "bad_signature");
}

TEST_F(GrantTest, GrantClaimingAnotherOwnerThanItsSignerIsRefused) {
  protocol::Grant g;
  g.manifest_id = kManifestId;
  g.node_id = deployer.node_id();
  g.node_public_key = deployer.public_key();
  g.owner_public_key = owner.public_key();  // claims the owner...
  g.expires_ms = clock.now_ms() + 1000;
  Bytes forged = sign_record(stranger, RecordType::kGrant, protocol::encode_grant(g));  // ...
  EXPECT_EQ(check(forged, expect_for(deployer)), "signer_mismatch");
}

TEST_F(GrantTest, GrantWhoseNodeIdDoesNotMatchItsKeyIsRefused) {
  protocol::Grant g;
  g.manifest_id = kManifestId;
  g.node_id = stranger.node_id();
  g.node_public_key = deployer.public_key();
  g.owner_public_key = owner.public_key();
  g.expires_ms = clock.now_ms() + 1000;
  Bytes bad = sign_record(owner, RecordType::kGrant, protocol::encode_grant(g));
  EXPECT_EQ(check(bad, expect_for(deployer)), "signer_mismatch");
}

TEST_F(GrantTest, ProviderRecordIsNotAGrant) {
  protocol::ProviderRecord rec;
  rec.node_id = owner.node_id();
  rec.signer_public_key = owner.public_key();
  EXPECT_EQ(check(sign_provider_record(owner, rec), expect_for(deployer)),
            "unexpected_record_type");
}

// ---- apply grants bind the content applied ----

Bytes sample_content_hash(std::string_view yaml = "kind: Pod",
                          std::map<std::string, std::string> env = {{"A", "1"}},
                          int64_t memory = 64 << 20, int64_t cpu = 500, int replicas = 2) {
  return apply_content_hash(yaml, env, memory, cpu, replicas);
}

class ApplyGrantContentTest : public GrantTest {
 protected:
  Bytes apply_grant(ByteView content_hash) {
    return issue_grant(owner, GrantAction::kApply, kManifestId, deployer.public_key(),
                       clock.now_ms(), clock.now_ms() + 600'000, content_hash);
  }
  GrantExpectation expect_content(Bytes content_hash) {
    return GrantExpectation{GrantAction::kApply, kManifestId, owner.public_key(),
                            deployer.public_key(), std::move(content_hash)};
  }
};

TEST_F(ApplyGrantContentTest, GrantBindingTheExpectedContentIsAccepted) {
  auto g =
      check_grant(apply_grant(sample_content_hash()), expect_content(sample_content_hash()), clock);
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(g->content_hash, sample_content_hash());
}

TEST_F(ApplyGrantContentTest, GrantBindingOtherContentIsRefused) {
  EXPECT_EQ(
      check(apply_grant(sample_content_hash("kind: Pod\n")), expect_content(sample_content_hash())),
      "grant_wrong_content");
}

TEST_F(ApplyGrantContentTest, GrantWithoutContentHashIsRefusedWhenOneIsExpected) {
  EXPECT_EQ(check(apply_grant({}), expect_content(sample_content_hash())), "grant_wrong_content");
}

TEST_F(ApplyGrantContentTest, ContentIsNotCheckedWhenTheExpectationSetsNone) {
  EXPECT_EQ(check(apply_grant(sample_content_hash()), expect_content({})), "ok");
}

TEST(ApplyContentHash, IsA32ByteDeterministicDigest) {
  EXPECT_EQ(sample_content_hash().size(), 32u);
  EXPECT_EQ(sample_content_hash(), sample_content_hash());
}

TEST(ApplyContentHash, ChangesWithEveryField) {
  const Bytes base = sample_content_hash();
  EXPECT_NE(sample_content_hash("kind: Pod2"), base);
  EXPECT_NE(sample_content_hash("kind: Pod", {{"A", "2"}}), base);
  EXPECT_NE(sample_content_hash("kind: Pod", {{"B", "1"}}), base);
  EXPECT_NE(sample_content_hash("kind: Pod", {}), base);
  EXPECT_NE(sample_content_hash("kind: Pod", {{"A", "1"}}, 32 << 20), base);
  EXPECT_NE(sample_content_hash("kind: Pod", {{"A", "1"}}, 64 << 20, 250), base);
  EXPECT_NE(sample_content_hash("kind: Pod", {{"A", "1"}}, 64 << 20, 500, 3), base);
}

TEST(ApplyContentHash, FieldBoundariesCannotBeShifted) {
  EXPECT_NE(sample_content_hash("y", {{"ab", "c"}}), sample_content_hash("y", {{"a", "bc"}}));
  EXPECT_NE(sample_content_hash("y", {{"a", ""}, {"b", ""}}),
            sample_content_hash("y", {{"a", std::string("\0\0\0\1b", 5)}}));
}

// The whole key-share flow: entry node seals shares to holders; the deployer presents its
// grant; each holder re-seals its share to the deployer; the deployer decrypts.
class ReleaseShareTest : public GrantTest {
 protected:
  testing::Holders holders{5};
  EncryptedManifest enc = encrypt_manifest(kManifestId, owner.public_key(), as_bytes("kind: Pod"),
                                           holders.records, {}, 1)
                              .value();
  StoredShare stored(size_t i) {
    return StoredShare{kManifestId, owner.public_key(), enc.shares[i].holder.share_index,
                       enc.shares[i].sealed};
  }
};

TEST_F(ReleaseShareTest, AuthorisedDeployerGetsSharesItCanCombine) {
  Bytes grant = grant_for(deployer);
  std::vector<KeyShare> shares;
  for (size_t i : {1u, 3u, 4u}) {
    auto resealed = release_share(holders.ids[i], stored(i), deployer.public_key(), grant, clock);
    ASSERT_TRUE(resealed.ok()) << resealed.error().to_string();
    auto share = open_share(deployer, *resealed, stored(i).share_index);
    ASSERT_TRUE(share.ok()) << share.error().to_string();
    shares.push_back(*share);
  }
  EXPECT_EQ(as_string(decrypt_manifest(enc.applied, shares).value()), "kind: Pod");
}

TEST_F(ReleaseShareTest, ReleasedShareOpensOnlyForTheRequester) {
  auto resealed =
      release_share(holders.ids[0], stored(0), deployer.public_key(), grant_for(deployer), clock);
  ASSERT_TRUE(resealed.ok());
  EXPECT_EQ(open_share(stranger, *resealed, 1).error().code, "bad_share");
  EXPECT_EQ(open_share(holders.ids[0], *resealed, 1).error().code, "bad_share");
}

TEST_F(ReleaseShareTest, RequesterWithAnotherNodesGrantIsRefused) {
  auto r =
      release_share(holders.ids[0], stored(0), stranger.public_key(), grant_for(deployer), clock);
  EXPECT_EQ(r.error().code, "grant_wrong_node");
}

TEST_F(ReleaseShareTest, GrantForAnotherManifestIsRefused) {
  auto r = release_share(holders.ids[0], stored(0), deployer.public_key(),
                         grant_for(deployer, GrantAction::kKeyShare, "other"), clock);
  EXPECT_EQ(r.error().code, "grant_wrong_manifest");
}

TEST_F(ReleaseShareTest, ExpiredGrantIsRefused) {
  Bytes grant = grant_for(deployer, GrantAction::kKeyShare, kManifestId, 10);
  clock.advance_ms(11);
  EXPECT_EQ(
      release_share(holders.ids[0], stored(0), deployer.public_key(), grant, clock).error().code,
      "grant_expired");
}

TEST_F(ReleaseShareTest, HolderWithoutTheMatchingShareReportsBadShare) {
  auto r =
      release_share(holders.ids[1], stored(0), deployer.public_key(), grant_for(deployer), clock);
  EXPECT_EQ(r.error().code, "bad_share");
}

}  // namespace
}  // namespace beemesh::crypto
