// Whom a delete is forwarded to (apply/delete_targets.h): the nodes that run or hold the
// manifest, each once, never a node the records cannot vouch for, and never more than the cap.
#include <gtest/gtest.h>

#include <set>

#include "apply/delete_targets.h"
#include "crypto/identity.h"

namespace beemesh::apply {
namespace {

const std::string kMid = "m-delete";

struct FakeNode {
  crypto::Identity identity = crypto::Identity::generate();
  std::string endpoint;

  provider::ProviderInfo provider(const std::string& manifest_id = kMid) const {
    provider::ProviderInfo info;
    info.manifest_id = manifest_id;
    info.metadata.node_id = identity.node_id();
    info.metadata.rpc_endpoint = endpoint;
    info.signer = identity.public_key();
    return info;
  }
  protocol::ShareHolder holder(uint8_t index) const {
    return {identity.node_id(), identity.public_key(), endpoint, index};
  }
};

std::vector<FakeNode> mesh(int n) {
  std::vector<FakeNode> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out[i].endpoint = "127.0.0.1:" + std::to_string(7400 + i);
  return out;
}

std::set<std::string> ids_of(const std::vector<DeleteTarget>& targets) {
  std::set<std::string> out;
  for (const auto& t : targets) out.insert(t.node_id);
  return out;
}

TEST(DeleteTargets, AreTheProvidersAndTheHoldersNotTheRestOfTheMesh) {
  auto nodes = mesh(5);  // 0 and 1 run it, 2 holds a share, 3 and 4 have nothing of it

  auto targets =
      delete_targets(kMid, {nodes[0].provider(), nodes[1].provider()}, {nodes[2].holder(1)});

  EXPECT_EQ(ids_of(targets),
            (std::set<std::string>{nodes[0].identity.node_id(), nodes[1].identity.node_id(),
                                   nodes[2].identity.node_id()}));
}

TEST(DeleteTargets, CarryTheKeyAndEndpointTheReplyAndTheConnectionAreCheckedAgainst) {
  auto nodes = mesh(1);

  auto targets = delete_targets(kMid, {nodes[0].provider()}, {});

  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].public_key, nodes[0].identity.public_key());
  EXPECT_EQ(targets[0].rpc_endpoint, nodes[0].endpoint);
}

TEST(DeleteTargets, ANodeThatRunsAndHoldsItIsContactedOnce) {
  auto nodes = mesh(2);

  auto targets = delete_targets(kMid, {nodes[0].provider(), nodes[0].provider()},
                                {nodes[0].holder(1), nodes[1].holder(2), nodes[1].holder(3)});

  EXPECT_EQ(targets.size(), 2u);
  EXPECT_EQ(ids_of(targets).size(), 2u);
}

TEST(DeleteTargets, AProviderRecordOfAnotherManifestIsIgnored) {
  auto nodes = mesh(1);

  EXPECT_TRUE(delete_targets(kMid, {nodes[0].provider("m-other")}, {}).empty());
}

TEST(DeleteTargets, AProviderWhoseSignerIsNotTheNodeItNamesIsIgnored) {
  auto nodes = mesh(2);
  auto forged = nodes[0].provider();
  forged.signer = nodes[1].identity.public_key();  // signed by 1, names 0

  EXPECT_TRUE(delete_targets(kMid, {forged}, {}).empty());
}

TEST(DeleteTargets, AHolderWhoseKeyIsNotItsNodeIdIsIgnored) {
  auto nodes = mesh(2);
  auto forged = nodes[0].holder(1);
  forged.node_public_key = nodes[1].identity.public_key();

  EXPECT_TRUE(delete_targets(kMid, {}, {forged}).empty());
}

TEST(DeleteTargets, AnEndpointThatDoesNotParseOrNamesAPeerIdIsIgnored) {
  auto nodes = mesh(3);
  nodes[0].endpoint = "not an endpoint";
  nodes[1].endpoint = nodes[2].identity.node_id() + "@127.0.0.1:7401";

  EXPECT_TRUE(delete_targets(kMid, {nodes[0].provider(), nodes[1].provider()}, {}).empty());
}

TEST(DeleteTargets, AreCappedWithProvidersFirst) {
  auto nodes = mesh(6);
  std::vector<provider::ProviderInfo> providers;
  for (int i = 0; i < 4; ++i) providers.push_back(nodes[i].provider());

  auto targets = delete_targets(kMid, providers, {nodes[4].holder(1), nodes[5].holder(2)}, 3);

  EXPECT_EQ(ids_of(targets),
            (std::set<std::string>{nodes[0].identity.node_id(), nodes[1].identity.node_id(),
                                   nodes[2].identity.node_id()}));
}

TEST(DeleteTargets, TheDefaultCapBoundsAHostileRecordNamingThousandsOfHolders) {
  std::vector<protocol::ShareHolder> holders;
  for (int i = 0; i < 300; ++i) {
    FakeNode n;
    n.endpoint = "127.0.0.1:9000";
    holders.push_back(n.holder(static_cast<uint8_t>(i % 255 + 1)));
  }

  EXPECT_EQ(delete_targets(kMid, {}, holders).size(), kMaxDeleteTargets);
}

MemberLookup directory_of(const std::vector<DeleteTarget>& members) {
  return [members](const std::string& id) -> std::optional<DeleteTarget> {
    for (const auto& m : members) {
      if (m.node_id == id) return m;
    }
    return std::nullopt;
  };
}

TEST(KnownHolders, AHolderTheDirectoryDoesNotListIsNotContacted) {
  auto nodes = mesh(2);  // 1 is gone (or dead, or outside this node's view)
  auto find = directory_of(
      {{nodes[0].identity.node_id(), nodes[0].identity.public_key(), nodes[0].endpoint}});

  auto known = known_holders({nodes[0].holder(1), nodes[1].holder(2)}, find);

  ASSERT_EQ(known.size(), 1u);
  EXPECT_EQ(known[0].node_id, nodes[0].identity.node_id());
}

TEST(KnownHolders, AreReachedWhereTheyAnnouncedThemselvesNowNotWhereTheSplitSaw) {
  auto nodes = mesh(1);
  auto find = directory_of(
      {{nodes[0].identity.node_id(), nodes[0].identity.public_key(), "127.0.0.1:9999"}});

  auto known = known_holders({nodes[0].holder(1)}, find);

  ASSERT_EQ(known.size(), 1u);
  EXPECT_EQ(known[0].rpc_endpoint, "127.0.0.1:9999");
}

TEST(KnownHolders, AHolderListedUnderAnotherKeyIsNotContacted) {
  auto nodes = mesh(2);
  auto find = directory_of(
      {{nodes[0].identity.node_id(), nodes[1].identity.public_key(), nodes[0].endpoint}});

  EXPECT_TRUE(known_holders({nodes[0].holder(1)}, find).empty());
}

TEST(KnownHolders, WithoutADirectoryAreTheHoldersAsNamed) {
  auto nodes = mesh(2);

  EXPECT_EQ(known_holders({nodes[0].holder(1), nodes[1].holder(2)}, {}).size(), 2u);
}

}  // namespace
}  // namespace beemesh::apply
