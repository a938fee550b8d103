// Key reconstruction on the deploying node: k of n share holders are enough; fewer fail
// cleanly. Shares are spread over A, B and C (n = 3, k = 2) and the manifest goes to B.
#include <gtest/gtest.h>

#include "crypto/grants.h"
#include "crypto/manifest_crypto.h"
#include "mesh_fixture.h"
#include "runtime/runtime.h"

namespace beemesh::apply_test {
namespace {

class KeySharesTest : public MeshTest {
 protected:
  PreparedApply prepare_on_every_node(std::string_view name) {
    auto prepared = entry.prepare(pod_yaml(name), b(), {&a(), &b(), &c()}, 2);
    EXPECT_TRUE(prepared) << prepared.error().to_string();
    return prepared ? std::move(*prepared) : PreparedApply{};
  }

  // A store-share request for `prepared`'s manifest id and `share_index`, as `publisher`
  // would send it for `owner` (owner's grant naming the publisher, owner's credential, a
  // share of the exact sealed size, expiry in 1 h); its bytes are not a real share.
  protocol::StoreShareRequest share_request(const PreparedApply& prepared, uint8_t share_index,
                                            const crypto::Identity& publisher,
                                            const crypto::Identity& owner) const {
    const int64_t now = system_clock().now_ms();
    protocol::StoreShareRequest store;
    store.request_id = runtime::new_workload_id();
    store.manifest_id = prepared.manifest_id;
    store.owner_public_key = publisher.public_key();
    store.share_index = share_index;
    store.sealed_share = Bytes(crypto::kSealedShareSize, 0x42);
    store.threshold = 2;
    store.expires_ms = now + 3'600'000;
    store.manifest_owner_public_key = owner.public_key();
    store.owner_grant = entry.apply_grant(owner, prepared.manifest_id, publisher.public_key());
    store.owner_credential = owner.credential();
    return store;
  }

  // A key-share grant from E for `manifest_id` naming `grantee`, valid 10 min.
  Bytes key_share_grant(const std::string& manifest_id, const crypto::PublicKey& grantee) const {
    const int64_t now = system_clock().now_ms();
    return crypto::issue_grant(entry.node(), protocol::GrantAction::kKeyShare, manifest_id, grantee,
                               now, now + 10 * 60'000);
  }

  // The share index `prepared` gave holder A.
  static uint8_t index_on_a(const PreparedApply& prepared, const std::string& a_id) {
    for (const auto& h : prepared.request.applied_manifest.share_holders) {
      if (h.node_id == a_id) return h.share_index;
    }
    return 0;
  }
};

// A batch carries several key-share requests under one envelope; the holder still checks
// each item on its own grant and share: one good item is released (to the envelope's
// signer), a grant naming another node and an unknown manifest are refused per item.
TEST_F(KeySharesTest, KeyShareBatchAnswersEachItemOnItsOwnGrantInRequestOrder) {
  auto first = prepare_on_every_node("batch-one");
  auto second = prepare_on_every_node("batch-two");
  protocol::KeyShareBatchRequest batch;
  batch.request_id = runtime::new_workload_id();
  batch.items.push_back({first.manifest_id,
                         key_share_grant(first.manifest_id, entry.node().public_key()),
                         index_on_a(first, a().id())});
  batch.items.push_back({second.manifest_id, key_share_grant(second.manifest_id, c().key()),
                         index_on_a(second, a().id())});
  batch.items.push_back(
      {"no-such-manifest", key_share_grant("no-such-manifest", entry.node().public_key()), 0});

  auto answer = entry.key_share_batch(entry.node(), a(), batch);

  ASSERT_TRUE(answer) << answer.error().to_string();
  ASSERT_TRUE(answer->ok) << answer->code << ": " << answer->message;
  ASSERT_EQ(answer->items.size(), 3u);
  EXPECT_TRUE(answer->items[0].ok) << answer->items[0].code << ": " << answer->items[0].message;
  EXPECT_EQ(answer->items[0].manifest_id, first.manifest_id);
  auto opener = crypto::ShareBatchOpener::from(entry.node(), answer->ephemeral_public_key);
  ASSERT_TRUE(opener) << opener.error().to_string();
  EXPECT_TRUE(opener->open(answer->items[0].sealed_share, answer->items[0].share_index))
      << "boxed for the envelope's signer";
  EXPECT_FALSE(answer->items[1].ok);
  EXPECT_EQ(answer->items[1].code, "grant_wrong_node") << answer->items[1].message;
  EXPECT_TRUE(answer->items[1].sealed_share.empty());
  EXPECT_FALSE(answer->items[2].ok);
  EXPECT_EQ(answer->items[2].code, "not_found") << answer->items[2].message;
}

// Membership is checked once for the batch, before any item's grant or share is looked at.
TEST_F(KeySharesTest, KeyShareBatchFromANonMemberIsRefusedWholeWithItsMembershipCode) {
  auto prepared = prepare_on_every_node("batch-stranger");
  auto stranger = crypto::Identity::generate();
  protocol::KeyShareBatchRequest batch;
  batch.request_id = runtime::new_workload_id();
  batch.items.push_back({prepared.manifest_id,
                         key_share_grant(prepared.manifest_id, stranger.public_key()),
                         index_on_a(prepared, a().id())});

  auto answer = entry.key_share_batch(stranger, a(), batch);

  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_FALSE(answer->ok);
  EXPECT_EQ(answer->code, "no_credential") << answer->message;
  EXPECT_TRUE(answer->items.empty());
}

// More items than kMaxKeyShareBatch are refused whole as malformed, none looked at.
TEST_F(KeySharesTest, KeyShareBatchOverTheItemLimitIsRefusedAsMalformed) {
  auto prepared = prepare_on_every_node("batch-too-many");
  protocol::KeyShareBatchRequest batch;
  batch.request_id = runtime::new_workload_id();
  batch.items.assign(
      protocol::kMaxKeyShareBatch + 1,
      {prepared.manifest_id, key_share_grant(prepared.manifest_id, entry.node().public_key()),
       index_on_a(prepared, a().id())});

  auto answer = entry.key_share_batch(entry.node(), a(), batch);

  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_FALSE(answer->ok);
  EXPECT_EQ(answer->code, "malformed") << answer->message;
  EXPECT_TRUE(answer->items.empty());
}

// Applies that reach a node together fetch their shares in shared batches, and each still
// deploys its own manifest.
TEST_F(KeySharesTest, ConcurrentAppliesToOneNodeAllDeployWithBatchedShareRequests) {
  std::vector<PreparedApply> prepared;
  for (int i = 0; i < 20; ++i)
    prepared.push_back(prepare_on_every_node("batched-" + std::to_string(i)));
  std::vector<std::future<Result<Bytes>>> replies;
  for (const auto& p : prepared)
    replies.push_back(entry.send_apply_async(b(), entry.sign(p.request)));

  for (auto& reply : replies) {
    auto bytes = reply.get();
    ASSERT_TRUE(bytes) << bytes.error().to_string();
    auto response = entry.open_apply_response(b(), *bytes);
    ASSERT_TRUE(response) << response.error().to_string();
    EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
  }
  EXPECT_EQ(b().engine->workload_count(), prepared.size());
  for (const auto& p : prepared) {
    EXPECT_EQ(b().engine->get_workload_manifest(p.request.workload_id), p.yaml);
  }
}

TEST_F(KeySharesTest, OneHolderDownButKSharesReachableStillDeploys) {
  auto prepared = prepare_on_every_node("one-down");
  stop(c());

  auto response = entry.send_apply(b(), entry.sign(prepared.request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
  EXPECT_EQ(b().engine->workload_count(), 1u);
  EXPECT_EQ(b().engine->get_workload_manifest(prepared.request.workload_id), prepared.yaml);
}

TEST_F(KeySharesTest, FewerThanKSharesReachableFailsAsTooFewSharesAndDeploysNothing) {
  auto prepared = prepare_on_every_node("two-down");
  stop(a());
  stop(c());

  auto response = entry.send_apply(b(), entry.sign(prepared.request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, "too_few_shares") << response->message;
  EXPECT_NE(response->message.find("got 1 of 2"), std::string::npos) << response->message;
  EXPECT_EQ(b().engine->workload_count(), 0u);
  EXPECT_EQ(b().engine->deploy_calls(), 0);
  EXPECT_TRUE(b()->workloads().list().empty());
}

TEST_F(KeySharesTest, KeyShareGrantNamingAnotherNodeGetsNoSharesAndDeploysNothing) {
  // E's key-share grant names C; the holders refuse to release shares to B.
  auto prepared = prepare_on_every_node("wrong-grantee");
  auto request = prepared.request;
  const int64_t now = system_clock().now_ms();
  request.grant = crypto::issue_grant(entry.node(), protocol::GrantAction::kKeyShare,
                                      prepared.manifest_id, c().key(), now, now + 60'000);

  auto response = entry.send_apply(b(), entry.sign(request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, "too_few_shares") << response->message;
  EXPECT_NE(response->message.find("grant_wrong_node"), std::string::npos) << response->message;
  EXPECT_EQ(b().engine->workload_count(), 0u);
  EXPECT_EQ(b().engine->deploy_calls(), 0);
}

// Shares held for the same manifest id by another publisher must not stand in for the
// publisher's own, nor displace them: the holder keeps shares per (manifest id, owner,
// share index). Manifest ids are public (the DHT key of the providers), so another member
// node acting for another deployer may store shares under the same id and index.
TEST_F(KeySharesTest,
       ShareStoredByAnotherMemberForTheSameManifestDoesNotDisplaceThePublishersShare) {
  auto prepared = prepare_on_every_node("contested");
  auto other_node = member_node("entry-e2");
  auto other_owner = member_user("owner-u2");
  for (const auto& holder : prepared.request.applied_manifest.share_holders) {
    if (holder.node_id == b().id()) continue;
    Node& node = holder.node_id == a().id() ? a() : c();
    auto store = share_request(prepared, holder.share_index, other_node, other_owner);
    auto stored = entry.store_share(other_node, node, store);
    ASSERT_TRUE(stored) << stored.error().to_string();
    EXPECT_TRUE(stored->ok) << "held per owner, so accepted: " << stored->code << ": "
                            << stored->message;
  }

  auto response = entry.send_apply(b(), entry.sign(prepared.request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
  EXPECT_EQ(b().engine->workload_count(), 1u);
  EXPECT_EQ(b().engine->get_workload_manifest(prepared.request.workload_id), prepared.yaml);
}

// A non-member cannot store shares at all (before: a stranger could, under its own key).
TEST_F(KeySharesTest, ShareStoredByANonMemberIsRefusedWithItsMembershipCode) {
  auto prepared = prepare_on_every_node("stranger-share");
  auto stranger = crypto::Identity::generate();
  const auto& holder = prepared.request.applied_manifest.share_holders.front();
  Node& node = holder.node_id == a().id() ? a() : holder.node_id == b().id() ? b() : c();
  // Even with the owner's grant and credential: the signer is no member.
  auto store = share_request(prepared, holder.share_index, stranger, entry.owner());
  store.owner_grant = entry.apply_grant(entry.owner(), prepared.manifest_id, stranger.public_key());

  auto stored = entry.store_share(stranger, node, store);

  ASSERT_TRUE(stored) << stored.error().to_string();
  EXPECT_FALSE(stored->ok);
  EXPECT_EQ(stored->code, "no_credential") << stored->message;
  auto response = entry.send_apply(b(), entry.sign(prepared.request));
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
}

// Only the manifest's owner may have a node drop what it keeps for the manifest; a node
// that runs no workload of it must not take another deployer's word (it names itself
// owner, so only its own shares, none, go), and a non-member is not heard at all.
TEST_F(KeySharesTest, DeleteByAnotherDeployerOrANonMemberDoesNotDropTheSharesAHolderKeeps) {
  auto prepared = prepare_on_every_node("kept-shares");
  auto other_owner = member_user("owner-u2");
  auto stranger = crypto::Identity::generate();
  for (const crypto::Identity* deleter : {&other_owner, &stranger}) {
    protocol::DeleteRequest del;
    del.request_id = runtime::new_workload_id();
    del.manifest_id = prepared.manifest_id;
    del.owner_public_key = deleter->public_key();  // names itself owner
    for (Node* holder : {&a(), &c()}) {
      auto deleted = entry.send_delete(*holder, entry.sign_delete(*deleter, del));
      ASSERT_TRUE(deleted) << deleted.error().to_string();
      EXPECT_EQ(deleted->removed, 0u);
      if (deleter == &stranger) {
        EXPECT_FALSE(deleted->ok);
        EXPECT_EQ(deleted->code, "no_credential") << deleted->message;
      }
    }
  }

  auto response = entry.send_apply(b(), entry.sign(prepared.request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
  EXPECT_EQ(b().engine->workload_count(), 1u);
}

}  // namespace
}  // namespace beemesh::apply_test
