// apply / delete from the CLI: owner auth, progress, summaries, --wait, failures, identity.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "api/json.h"
#include "cli/cli_test_support.h"
#include "cli/owner_auth.h"
#include "crypto/envelope.h"
#include "crypto/grants.h"
#include "crypto/intent.h"
#include "manifest/manifest.h"

namespace beemesh::cli {
namespace {

using api::testing::make_outcome;
using api::testing::make_placement;
using api::testing::make_workload;
using runtime::WorkloadState;
using testing::CliTest;
using testing::kWebYaml;

crypto::PublicKey key_of(const std::string& hex) {
  crypto::PublicKey key{};
  auto bytes = from_hex(hex);
  if (bytes && bytes->size() == key.size()) std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

class ApplyTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    web = write_file("web.yaml", kWebYaml);
    service.apply_outcome = make_outcome("m-web", 2, 2);
    service.apply_outcome.placements = {make_placement("bmA", true, "ok", "", "w1"),
                                        make_placement("bmB", true, "ok", "", "w2")};
  }
  std::string web;
};

TEST_F(ApplyTest, SendsTheManifestWithAnOwnerGrantNamingTheEntryNode) {
  auto r = run({"apply", "-f", web, "--replicas", "2", "--node", "node-b"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto calls = service.apply_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].yaml, kWebYaml);
  EXPECT_EQ(calls[0].options.replicas, 2);
  EXPECT_EQ(calls[0].options.node, "node-b");
  EXPECT_EQ(calls[0].options.source, "web.yaml");

  const std::string owner = owner_hex();
  EXPECT_EQ(calls[0].auth.owner_public_key_hex, owner);
  auto token = from_hex(calls[0].auth.token_hex);
  ASSERT_TRUE(token.ok());
  crypto::GrantExpectation expect;
  expect.action = crypto::GrantAction::kApply;
  expect.manifest_id = manifest::manifest_id(owner, "default", "Deployment", "web");
  expect.owner = key_of(owner);
  expect.requester = node_identity->public_key();
  auto grant = crypto::check_grant(*token, expect, clock);
  ASSERT_TRUE(grant.ok()) << grant.error().to_string();
  EXPECT_EQ(grant->node_id, node_identity->node_id());
  EXPECT_EQ(grant->expires_ms - grant->issued_ms, 10 * 60'000);
}

TEST_F(ApplyTest, SendsTheOwnersSignedIntentForExactlyWhatIsApplied) {
  auto r = run({"apply", "-f", web, "--replicas", "2", "--node", "node-b"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto calls = service.apply_calls();
  ASSERT_EQ(calls.size(), 1u);
  auto bytes = from_hex(calls[0].auth.intent_hex);
  ASSERT_TRUE(bytes.ok());
  auto intent = crypto::open_intent(*bytes);
  ASSERT_TRUE(intent.ok()) << intent.error().to_string();
  const std::string owner = owner_hex();
  EXPECT_EQ(intent->owner_public_key, key_of(owner));
  EXPECT_EQ(intent->manifest_id, manifest::manifest_id(owner, "default", "Deployment", "web"));
  EXPECT_FALSE(intent->tombstone);
  EXPECT_EQ(intent->content_version, crypto::content_version(kWebYaml));
  EXPECT_EQ(intent->replicas, 2u);
  EXPECT_EQ(intent->pinned_node, "node-b");
  EXPECT_EQ(intent->namespaces, std::vector<std::string>{"default"});
  EXPECT_EQ(intent->name, "Deployment/web");
}

TEST_F(ApplyTest, ScaleIsAnApplyOfTheSameFileWithTheNewReplicaCount) {
  auto r = run({"scale", web, "--replicas", "5"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto calls = service.apply_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].yaml, kWebYaml);
  EXPECT_EQ(calls[0].options.replicas, 5);
  auto intent = crypto::open_intent(*from_hex(calls[0].auth.intent_hex));
  ASSERT_TRUE(intent.ok());
  EXPECT_EQ(intent->replicas, 5u);
  EXPECT_EQ(intent->content_version, crypto::content_version(kWebYaml));
}

TEST_F(ApplyTest, UnchangedApplyPrintsUnchangedAndSucceeds) {
  service.apply_outcome = make_outcome("m-web", 0, 0);
  service.apply_outcome.result = "unchanged";
  service.apply_outcome.message = "the mesh already holds this content version with 2 replica(s)";
  auto r = run({"apply", "-f", web});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Deployment/web unchanged: manifest m-web (the mesh already holds"),
            std::string::npos)
      << r.out;
}

TEST_F(ApplyTest, ConfiguredApplyPrintsConfiguredWithWhatWasDone) {
  service.apply_outcome = make_outcome("m-web", 0, 0);
  service.apply_outcome.result = "configured";
  service.apply_outcome.message = "recorded the new content version";
  auto r = run({"apply", "-f", web});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Deployment/web configured: manifest m-web (recorded the new"),
            std::string::npos)
      << r.out;
}

TEST_F(ApplyTest, PrintsProgressLinesThenASummary) {
  auto r = run({"apply", "-f", web});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(
      r.out.starts_with("placing\nencrypting\ndistributing shares\n"
                        "deploying on 1 nodes\nannounced\n"))
      << r.out;
  EXPECT_NE(r.out.find("Deployment/web created: manifest m-web, 2/2 replicas placed\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("NODE   ENDPOINT         WORKLOAD   RESULT\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bmA    127.0.0.1:7401   w1         ok\n"), std::string::npos) << r.out;
}

TEST_F(ApplyTest, JsonOutputHoldsOnlyTheResultDocument) {
  auto r = run({"apply", "-f", web, "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  api::Json j = api::Json::parse(r.out);
  EXPECT_EQ(j["manifest_id"], "m-web");
  EXPECT_NE(r.err.find("placing\n"), std::string::npos);
}

TEST_F(ApplyTest, InvalidManifestFailsBeforeAnyNetworkCall) {
  std::string bad = write_file("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n");
  auto fresh_key = dir.path() / "fresh" / "user.key";
  auto r = run_raw({"beemesh", "--server", testing::closed_server_url(), "--identity",
                    fresh_key.string(), "apply", "-f", bad});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.err.starts_with("error: " + bad + " doc 1: ")) << r.err;
  EXPECT_NE(r.err.find("(invalid_manifest)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("cannot reach"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(fresh_key));  // nothing done at all
}

TEST_F(ApplyTest, MissingFileIsAClearError) {
  auto r = run({"apply", "-f", (dir.path() / "nope.yaml").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: cannot read " + (dir.path() / "nope.yaml").string() +
                       ": No such file or directory\n");
}

TEST_F(ApplyTest, ServerErrorExitsOneWithItsMessageAndCode) {
  service.apply_error = make_error("no_capacity", "no node has 64Mi of memory free");
  auto r = run({"apply", "-f", web});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.err.ends_with("error: no node has 64Mi of memory free (no_capacity)\n")) << r.err;
}

TEST_F(ApplyTest, PartialPlacementIsReportedAndExitsOne) {
  service.apply_outcome = make_outcome("m-web", 2, 1);
  service.apply_outcome.placements = {make_placement("bmA", true, "ok", "", "w1"),
                                      make_placement("bmB", false, "deploy_failed", "boom")};
  auto r = run({"apply", "-f", web});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("1/2 replicas placed"), std::string::npos);
  EXPECT_NE(r.out.find("deploy_failed: boom"), std::string::npos);
  EXPECT_NE(r.err.find("error: only 1 of 2 replicas of Deployment/web were placed"),
            std::string::npos)
      << r.err;
}

TEST_F(ApplyTest, WaitReturnsOnceEveryWorkloadRuns) {
  service.workload_list = {make_workload("w1", "m-web", WorkloadState::Running, "bmA"),
                           make_workload("w2", "m-web", WorkloadState::Running, "bmB")};
  auto r = run({"apply", "-f", web, "--wait"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("workload w1 is Running on bmA\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("workload w2 is Running on bmB\n"), std::string::npos) << r.out;
}

TEST_F(ApplyTest, WaitFailsWhenAWorkloadFailed) {
  auto failed = make_workload("w2", "m-web", WorkloadState::Failed, "bmB");
  failed.info.message = "container web exited (1)";
  service.workload_list = {make_workload("w1", "m-web", WorkloadState::Running, "bmA"), failed};
  auto r = run({"apply", "-f", web, "--wait"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("workload w2 on bmB failed: container web exited (1)"), std::string::npos)
      << r.err;
}

TEST_F(ApplyTest, WaitGivesUpAfterTheTimeout) {
  service.workload_list = {make_workload("w1", "m-web", WorkloadState::Running, "bmA"),
                           make_workload("w2", "m-web", WorkloadState::Pending, "bmB")};
  auto r = run({"apply", "-f", web, "--wait", "--timeout", "1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("timed out after 1 s waiting for workloads to be Running: w2 (Pending)"),
            std::string::npos)
      << r.err;
}

TEST_F(CliTest, UnreachableServerExitsOneWithAClearMessage) {
  std::string closed = testing::closed_server_url();
  auto r = run_raw({"beemesh", "--server", closed, "get", "workloads"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: cannot reach beemesh node at " + closed + ": connection refused\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, NotFoundFromTheServerExitsOne) {
  auto r = run({"describe", "workload", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: no workload nope (not_found)\n");
}

TEST_F(CliTest, DeleteByIdSendsAnOwnerSignedDeleteRequest) {
  service.delete_outcome.removed = 2;
  service.delete_outcome.nodes = {make_placement("bmA", true, "ok"),
                                  make_placement("bmB", true, "ok")};
  auto r = run({"delete", "m-web"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("manifest m-web deleted: 2 workload(s) removed on 2 node(s)"),
            std::string::npos)
      << r.out;

  auto calls = service.delete_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].manifest_id, "m-web");
  const std::string owner = owner_hex();
  EXPECT_EQ(calls[0].auth.owner_public_key_hex, owner);
  auto token = from_hex(calls[0].auth.token_hex);
  ASSERT_TRUE(token.ok());
  crypto::EnvelopeVerifier verifier(clock);
  auto request = crypto::open_message<protocol::DeleteRequest>(verifier, *token);
  ASSERT_TRUE(request.ok()) << request.error().to_string();
  EXPECT_EQ(request->envelope.signer, key_of(owner));
  EXPECT_EQ(request->message.manifest_id, "m-web");
  EXPECT_EQ(request->message.owner_public_key, key_of(owner));
  EXPECT_TRUE(request->message.workload_id.empty());
}

TEST_F(CliTest, DeleteSendsTheOwnersTombstoneForTheManifest) {
  auto r = run({"delete", "m-web"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto calls = service.delete_calls();
  ASSERT_EQ(calls.size(), 1u);
  auto tombstone = crypto::open_intent(*from_hex(calls[0].auth.intent_hex));
  ASSERT_TRUE(tombstone.ok()) << tombstone.error().to_string();
  EXPECT_TRUE(tombstone->tombstone);
  EXPECT_EQ(tombstone->manifest_id, "m-web");
  EXPECT_EQ(tombstone->owner_public_key, key_of(owner_hex()));
  EXPECT_EQ(tombstone->expires_ms - tombstone->issued_ms, int64_t{7} * 24 * 3600 * 1000);
}

TEST_F(CliTest, DeleteByFileUsesTheManifestIdOfTheOwnersManifest) {
  std::string web = write_file("web.yaml", kWebYaml);
  auto r = run({"delete", "-f", web});
  ASSERT_EQ(r.code, 0) << r.err;
  auto calls = service.delete_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].manifest_id,
            manifest::manifest_id(owner_hex(), "default", "Deployment", "web"));
}

TEST_F(CliTest, DeleteRefusedByANodeExitsOne) {
  service.delete_outcome.nodes = {make_placement("bmA", true, "ok"),
                                  make_placement("bmB", false, "bad_signature", "refused")};
  auto r = run({"delete", "m-web"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("1 of 2 node(s) did not delete manifest m-web"), std::string::npos);
}

TEST_F(CliTest, IdentityIsCreatedOnFirstUseWithMode0600) {
  auto fresh_key = dir.path() / "fresh" / "user.key";
  auto r = run_raw({"beemesh", "--identity", fresh_key.string(), "whoami"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(fresh_key));
  struct stat st {};
  ASSERT_EQ(stat(fresh_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(r.err.find("created user identity " + fresh_key.string()), std::string::npos);
}

TEST_F(CliTest, IdentityIsReusedAfterwards) {
  ASSERT_EQ(run({"delete", "m-web"}).code, 0);
  auto second = run({"delete", "m-web"});
  ASSERT_EQ(second.code, 0);
  EXPECT_EQ(second.err.find("created user identity"), std::string::npos);
  auto calls = service.delete_calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].auth.owner_public_key_hex, calls[1].auth.owner_public_key_hex);
}

TEST_F(CliTest, DefaultIdentityLivesInBeemeshHome) {
  std::string other = (dir.path() / "bmhome").string();
  setenv("BEEMESH_HOME", other.c_str(), 1);
  auto r = run_raw({"beemesh", "whoami"});
  setenv("BEEMESH_HOME", home.c_str(), 1);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(other) / "user.key"));
}

TEST_F(CliTest, DefaultIdentityAndCredentialAreUsedWithoutOptions) {
  auto r = run_raw({"beemesh", "--server", url, "delete", "m-web"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(service.delete_calls().size(), 1u);
  EXPECT_EQ(service.delete_calls()[0].auth.owner_public_key_hex, user_key_hex);
}

TEST_F(CliTest, InsecureIdentityFileIsRefused) {
  ASSERT_EQ(run({"delete", "m-web"}).code, 0);
  std::filesystem::permissions(key_file, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto r = run({"delete", "m-web"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("insecure_key_file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace beemesh::cli
