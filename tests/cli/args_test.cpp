// Argument parsing of the beemesh CLI: commands, global options, usage errors, extras.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>

#include "api/json.h"
#include "cli/cli_test_support.h"

namespace beemesh::cli {
namespace {

using testing::CliTest;

TEST_F(CliTest, NoCommandIsAUsageError) {
  auto r = run_raw({"beemesh"});
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(r.err.empty());
}

TEST_F(CliTest, UnknownCommandIsAUsageError) {
  auto r = run({"frobnicate"});
  EXPECT_EQ(r.code, 2);
}

TEST_F(CliTest, HelpExitsZero) {
  auto r = run_raw({"beemesh", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("apply"), std::string::npos);
  EXPECT_NE(r.out.find("--server"), std::string::npos);
}

TEST_F(CliTest, ApplyWithoutFileIsAUsageError) {
  auto r = run({"apply"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--filename"), std::string::npos);
}

TEST_F(CliTest, UnknownOutputFormatIsAUsageError) {
  auto r = run({"-o", "xml", "get", "nodes"});
  EXPECT_EQ(r.code, 2);
}

TEST_F(CliTest, GetNeedsAResource) {
  EXPECT_EQ(run({"get"}).code, 2);
  EXPECT_EQ(run({"get", "providers"}).code, 2);  // manifest id missing
}

TEST_F(CliTest, DeleteTakesAFileOrAManifestIdButNotBoth) {
  EXPECT_EQ(run({"delete"}).code, 2);
  EXPECT_EQ(run({"delete", "-f", "x.yaml", "abc"}).code, 2);
}

TEST_F(CliTest, ZeroReplicasIsAUsageError) {
  EXPECT_EQ(run({"apply", "-f", "x.yaml", "--replicas", "0"}).code, 2);
}

TEST_F(CliTest, GlobalOptionsMayFollowTheCommand) {
  auto r = run_raw({"beemesh", "get", "nodes", "--server", url, "-o", "json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(api::Json::parse(r.out).contains("nodes"));
}

TEST_F(CliTest, ServerDefaultsToTheBeemeshServerVariable) {
  setenv("BEEMESH_SERVER", url.c_str(), 1);
  auto r = run_raw({"beemesh", "get", "nodes"});
  unsetenv("BEEMESH_SERVER");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(CliTest, ServerDefaultsToLocalPort7480) {
  unsetenv("BEEMESH_SERVER");
  auto r = run_raw({"beemesh", "version", "-o", "json"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(api::Json::parse(r.out)["server"]["url"], "http://127.0.0.1:7480");
}

TEST_F(CliTest, ExtraCommandRunsWithItsOwnOptions) {
  std::string config;
  bool ran = false;
  std::vector<ExtraCommand> extra{{"machine", "Run the daemon",
                                   [&](CLI::App& cmd) { cmd.add_option("--config", config); },
                                   [&] {
                                     ran = true;
                                     return 7;
                                   }}};
  auto r = run_raw({"beemesh", "machine", "--config", "/etc/beemesh.yaml"}, extra);
  EXPECT_EQ(r.code, 7);
  EXPECT_TRUE(ran);
  EXPECT_EQ(config, "/etc/beemesh.yaml");
}

TEST_F(CliTest, ExtraCommandIsNotRunForOtherCommands) {
  bool ran = false;
  std::vector<ExtraCommand> extra{{"machine", "Run the daemon", {}, [&] {
                                     ran = true;
                                     return 0;
                                   }}};
  auto r = run_raw({"beemesh", "--server", url, "version", "--client"}, extra);
  EXPECT_EQ(r.code, 0);
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace beemesh::cli
