// The CLI's side of user credentials: login, whoami, and the credential plus a fresh
// signature on every request (checked for real by the test server's authenticator).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "api/json.h"
#include "cli/cli_test_support.h"
#include "cli/credential.h"

namespace beemesh::cli {
namespace {

using api::testing::make_outcome;
using api::testing::make_placement;
using api::testing::make_workload;
using runtime::WorkloadState;
using testing::CliTest;
using testing::kWebYaml;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_F(CliTest, EveryRequestCarriesTheCredentialAndASignatureForItsPath) {
  const std::string credential =
      read_text(credential_file).substr(0, read_text(credential_file).size() - 1);
  service.workload_logs["w1"] = "hello\n";
  ASSERT_EQ(run({"get", "workloads"}).code, 0);
  ASSERT_EQ(run({"logs", "w1", "--tail", "5"}).code, 0);
  auto requests = authenticator.requests();
  ASSERT_EQ(requests.size(), 2u);  // GET /health needs none
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, "/workloads");
  EXPECT_EQ(requests[1].path, "/workloads/w1/logs");
  for (const auto& r : requests) EXPECT_EQ(r.credential_hex, credential);
}

TEST_F(CliTest, ApplyWithWaitSignsEveryPollAfresh) {
  std::string web = write_file("web.yaml", kWebYaml);
  service.apply_outcome = make_outcome("m-web", 1, 1);
  service.apply_outcome.placements = {make_placement("bmA", true, "ok", "", "w1")};
  service.workload_list = {make_workload("w1", "m-web", WorkloadState::Running, "bmA")};
  auto r = run({"apply", "-f", web, "--wait"});
  ASSERT_EQ(r.code, 0) << r.err;  // a reused token would be refused as a replay
  auto requests = authenticator.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method + " " + requests[0].path, "POST /apply");
  EXPECT_EQ(requests[1].method + " " + requests[1].path, "GET /workloads/w1");
  ASSERT_EQ(service.apply_calls().size(), 1u);
  EXPECT_EQ(service.apply_calls()[0].caller.name, "dave");
}

TEST_F(CliTest, ApplyWithWaitAsksForEachWorkloadOnTheNodeItWasPlacedOn) {
  std::string web = write_file("web.yaml", kWebYaml);
  service.apply_outcome = make_outcome("m-web", 1, 1);
  service.apply_outcome.placements = {make_placement("bmA", true, "ok", "", "w1")};
  service.workload_list = {make_workload("w1", "m-web", WorkloadState::Running, "bmA")};

  auto r = run({"apply", "-f", web, "--wait"});

  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(service.last_workload_node(), "bmA");  // not a search of the whole mesh
}

TEST_F(CliTest, WithoutACredentialCommandsFailBeforeAnyRequest) {
  std::filesystem::remove(credential_file);
  auto r = run({"get", "workloads"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no credential at " + credential_file.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("beemesh login --credential FILE"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(no_credential)"), std::string::npos) << r.err;
  EXPECT_TRUE(authenticator.requests().empty());
}

TEST_F(CliTest, ViewerCanRead) {
  login_as(crypto::Role::kViewer, "vera");
  service.workload_list = {make_workload("w1", "m-web", WorkloadState::Running, "bmA")};
  auto r = run({"get", "workloads"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("w1"), std::string::npos);
}

TEST_F(CliTest, ViewerCannotApply) {
  login_as(crypto::Role::kViewer, "vera");
  std::string web = write_file("web.yaml", kWebYaml);
  auto r = run({"apply", "-f", web});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("needs role deployer; user 'vera' holds role viewer (forbidden_role)"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(service.apply_calls().empty());
}

TEST_F(CliTest, ACredentialForAnotherKeyIsRefusedLocally) {
  auto other = crypto::Identity::generate();
  write_file_at(credential_file,
                testing::issue_user_credential(admin, other.public_key(), crypto::Role::kDeployer,
                                               "mallory", clock.now_ms()));
  auto r = run({"get", "workloads"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("(credential_mismatch)"), std::string::npos) << r.err;
  EXPECT_TRUE(authenticator.requests().empty());
}

TEST_F(CliTest, LoginStoresTheCredentialWithMode0600) {
  std::string handed_out = credential_for(crypto::Role::kViewer, "vera");
  std::string file = write_file("from-admin.txt", "  " + handed_out + "\n\n");
  std::filesystem::remove(credential_file);
  auto r = run({"login", "--credential", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("logged in as vera, role viewer, namespaces all, mesh test-mesh"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(read_text(credential_file), handed_out + "\n");
  struct stat st {};
  ASSERT_EQ(stat(credential_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(run({"get", "workloads"}).code, 0);  // and it is used from now on
}

TEST_F(CliTest, LoginRefusesACredentialForAnotherKey) {
  auto other = crypto::Identity::generate();
  std::string file = write_file(
      "other.txt", testing::issue_user_credential(admin, other.public_key(), crypto::Role::kAdmin,
                                                  "mallory", clock.now_ms()));
  const std::string before = read_text(credential_file);
  auto r = run({"login", "--credential", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not for your key " + user_key_hex), std::string::npos) << r.err;
  EXPECT_EQ(read_text(credential_file), before);
}

TEST_F(CliTest, LoginRefusesAFileThatIsNotACredential) {
  std::string file = write_file("junk.txt", "hello, I am not hex\n");
  auto r = run({"login", "--credential", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("(bad_credential)"), std::string::npos) << r.err;
  std::string hex_junk = write_file("hexjunk.txt", "00ff00ff\n");
  auto r2 = run({"login", "--credential", hex_junk});
  EXPECT_EQ(r2.code, 1);
  EXPECT_NE(r2.err.find("(bad_credential)"), std::string::npos) << r2.err;
}

TEST_F(CliTest, WhoamiPrintsTheKeyAndTheCredentialsRoleAndName) {
  auto r = run({"whoami"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("public key: " + user_key_hex + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("credential: dave, role deployer"), std::string::npos) << r.out;
}

TEST_F(CliTest, WhoamiAsJsonNamesRoleAndKey) {
  auto r = run({"whoami", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  api::Json j = api::Json::parse(r.out);
  EXPECT_EQ(j["public_key"], user_key_hex);
  EXPECT_EQ(j["credential"]["role"], "deployer");
  EXPECT_EQ(j["credential"]["name"], "dave");
  EXPECT_EQ(j["credential"]["matches_key"], true);
}

TEST_F(CliTest, WhoamiWithoutACredentialSaysHowToGetOne) {
  std::filesystem::remove(credential_file);
  auto r = run({"whoami"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("public key: " + user_key_hex), std::string::npos);
  EXPECT_NE(r.out.find("credential: none"), std::string::npos) << r.out;
}

TEST_F(CliTest, CredentialFileOptionOverridesTheDefault) {
  std::string elsewhere = write_file("elsewhere.cred", credential_for(crypto::Role::kViewer, "v2"));
  std::filesystem::remove(credential_file);
  auto r = run({"--credential-file", elsewhere, "get", "nodes"});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(ApiAuthToken, IsAnApiAuthEnvelopeForMethodPathAndNode) {
  auto user = crypto::Identity::generate();
  auto node = crypto::Identity::generate();
  ManualClock clock{1'700'000'000'000};
  auto token = api_auth_token(user, "DELETE", "/manifests/m1", to_hex(node.public_key()), clock);
  ASSERT_TRUE(token.ok());
  auto bytes = from_hex(*token);
  ASSERT_TRUE(bytes.ok());
  crypto::EnvelopeVerifier verifier(clock);
  auto opened = crypto::open_message<protocol::ApiAuth>(verifier, *bytes);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->envelope.signer, user.public_key());
  EXPECT_EQ(opened->message.method, "DELETE");
  EXPECT_EQ(opened->message.path, "/manifests/m1");
  EXPECT_EQ(opened->message.audience_public_key, node.public_key());
}

}  // namespace
}  // namespace beemesh::cli
