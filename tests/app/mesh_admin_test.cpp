// The admin's commands and a node's join, on real files in a temporary directory.
#include "app/mesh_admin.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/clock.h"

namespace beemesh::app {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class MeshAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("beemesh-mesh-admin-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(mesh_admin::init(dir_ / "admin", "prod", clock_).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The membership every member would check with.
  crypto::Membership membership() {
    auto mesh = mesh_admin::load_mesh(dir_ / "admin");
    EXPECT_TRUE(mesh.ok());
    return crypto::Membership(mesh->admin, mesh->mesh_id, clock_);
  }

  fs::path dir_;
  ManualClock clock_{1'800'000'000'000};
};

TEST_F(MeshAdminTest, InitWritesTheAdminKeyPrivatelyAndTheMeshFile) {
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "admin" / "admin.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  auto mesh = mesh_admin::load_mesh(dir_ / "admin");
  ASSERT_TRUE(mesh.ok()) << mesh.error().to_string();
  EXPECT_EQ(mesh->mesh_id, "prod");
}

TEST_F(MeshAdminTest, InitRefusesADirectoryThatHoldsAMesh) {
  auto again = mesh_admin::init(dir_ / "admin", "other", clock_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "exists");
}

TEST_F(MeshAdminTest, AJoinTokenMakesAnyNumberOfNodesMembers) {
  auto token = mesh_admin::create_join_token(dir_ / "admin", 1h, clock_);
  ASSERT_TRUE(token.ok()) << token.error().to_string();
  auto m = membership();
  for (int i = 0; i < 3; ++i) {
    auto node = crypto::Identity::generate();
    auto joined = mesh_admin::join(*token, node, "n" + std::to_string(i), clock_);
    ASSERT_TRUE(joined.ok()) << joined.error().to_string();
    auto member = m.verify(joined->credential, node.public_key());
    ASSERT_TRUE(member.ok()) << member.error().to_string();
    EXPECT_EQ(member->kind, crypto::CertKind::kNode);
  }
}

TEST_F(MeshAdminTest, AnExpiredJoinTokenIsRefused) {
  auto token = mesh_admin::create_join_token(dir_ / "admin", 60s, clock_);
  ASSERT_TRUE(token.ok());
  clock_.advance_ms(120'000);
  auto joined = mesh_admin::join(*token, crypto::Identity::generate(), "late", clock_);
  ASSERT_FALSE(joined.ok());
  EXPECT_EQ(joined.error().code, "credential_expired");
}

TEST_F(MeshAdminTest, MalformedJoinTokensAreRefusedAsBadToken) {
  auto node = crypto::Identity::generate();
  for (std::string token : {std::string("nonsense"), std::string("bmjoin1.!!!"),
                            std::string("bmjoin1.") + "e30",  // "{}"
                            std::string("bmjoin1.") + std::string(20'000, 'A')}) {
    auto joined = mesh_admin::join(token, node, "n", clock_);
    ASSERT_FALSE(joined.ok()) << token.substr(0, 20);
    EXPECT_TRUE(joined.error().code == "bad_token" || joined.error().code == "bad_mesh_file")
        << joined.error().to_string();
  }
}

TEST_F(MeshAdminTest, AdmitNodeGivesThatKeyACredentialAndNoOtherKey) {
  auto node = crypto::Identity::generate();
  auto token = mesh_admin::admit_node(dir_ / "admin", node.public_key(), "n9", 24h, clock_);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(mesh_admin::join(*token, node, "n9", clock_).ok());
  auto other = mesh_admin::join(*token, crypto::Identity::generate(), "n9", clock_);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "credential_mismatch");
}

TEST_F(MeshAdminTest, UserCredentialsCarryTheirRole) {
  auto user = crypto::Identity::generate();
  auto hex = mesh_admin::issue_user(dir_ / "admin", "vera", crypto::Role::kViewer,
                                    user.public_key(), {"team-a"}, 24h, clock_);
  ASSERT_TRUE(hex.ok()) << hex.error().to_string();
  auto bytes = from_hex(*hex);
  ASSERT_TRUE(bytes.ok());
  auto member = membership().verify(*bytes, user.public_key());
  ASSERT_TRUE(member.ok());
  EXPECT_EQ(member->role, crypto::Role::kViewer);
  EXPECT_TRUE(member->may_use_namespace("team-a"));
  EXPECT_FALSE(member->may_use_namespace("team-b"));
}

TEST_F(MeshAdminTest, AUserWithoutARoleIsRefused) {
  auto user = crypto::Identity::generate();
  auto hex = mesh_admin::issue_user(dir_ / "admin", "x", crypto::Role::kNone, user.public_key(), {},
                                    24h, clock_);
  ASSERT_FALSE(hex.ok());
  EXPECT_EQ(hex.error().code, "bad_role");
}

TEST_F(MeshAdminTest, RevokingAKeyEndsItsMembershipAndRaisesTheSequence) {
  auto token = mesh_admin::create_join_token(dir_ / "admin", 1h, clock_);
  auto node = crypto::Identity::generate();
  auto joined = mesh_admin::join(*token, node, "n1", clock_);
  ASSERT_TRUE(joined.ok());
  auto first = mesh_admin::revoke(dir_ / "admin", {}, {node.public_key()}, clock_);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  auto second =
      mesh_admin::revoke(dir_ / "admin", {}, {crypto::Identity::generate().public_key()}, clock_);
  ASSERT_TRUE(second.ok());
  auto m = membership();
  ASSERT_TRUE(m.update_revocations(*first).ok());
  ASSERT_TRUE(m.update_revocations(*second).ok());
  EXPECT_EQ(m.revocation_sequence(), 2u);
  auto member = m.verify(joined->credential, node.public_key());
  ASSERT_FALSE(member.ok());
  EXPECT_EQ(member.error().code, "credential_revoked");  // the second list keeps the first's
}

TEST_F(MeshAdminTest, ANodeWithoutMembershipFilesIsNotAdmitted) {
  auto loaded = mesh_admin::load_node_membership(dir_ / "node");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, "not_admitted");
}

TEST_F(MeshAdminTest, SavedNodeMembershipLoadsBackAndIsPrivate) {
  auto token = mesh_admin::create_join_token(dir_ / "admin", 1h, clock_);
  auto node = crypto::Identity::generate();
  auto joined = mesh_admin::join(*token, node, "n1", clock_);
  ASSERT_TRUE(joined.ok());
  ASSERT_TRUE(mesh_admin::save_node_membership(dir_ / "node", *joined).ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "node" / "credential").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  auto loaded = mesh_admin::load_node_membership(dir_ / "node");
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  EXPECT_EQ(loaded->credential, joined->credential);
  EXPECT_EQ(loaded->mesh.mesh_id, "prod");
}

}  // namespace
}  // namespace beemesh::app
