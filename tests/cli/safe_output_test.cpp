// Strings from a remote node (names, messages, progress, logs) never reach the terminal
// with their control characters: an ESC sequence or a newline is printed escaped.
#include <gtest/gtest.h>

#include <algorithm>

#include "api/json.h"
#include "cli/cli_test_support.h"
#include "cli/output.h"

namespace beemesh::cli {
namespace {

using api::testing::make_node;
using api::testing::make_placement;
using api::testing::make_workload;
using runtime::WorkloadState;
using testing::CliTest;
using testing::kWebYaml;

const std::string kEvil = "evil\x1b]0;owned\x07\x1b[2J\nerror: forged line";

bool has_raw_escape(const std::string& s) {
  return s.find('\x1b') != std::string::npos || s.find('\x07') != std::string::npos;
}

size_t lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(SafeTable, EscapesControlCharactersInCells) {
  std::string table = render_table({"NAME"}, {{kEvil}});
  EXPECT_FALSE(has_raw_escape(table));
  EXPECT_EQ(lines(table), 2u);
  EXPECT_NE(table.find("evil\\x1b]0;owned\\x07\\x1b[2J\\nerror: forged line"), std::string::npos)
      << table;
}

TEST(SafeTable, TruncatesAHugeRemoteCell) {
  std::string table = render_table({"MESSAGE"}, {{std::string(100'000, 'x')}});
  EXPECT_LT(table.size(), 2 * kMaxCellBytes);
  EXPECT_NE(table.find("(100000 bytes)"), std::string::npos);
}

TEST(SafeDocument, JsonOutputHasNoRawControlOrNonAsciiCharacters) {
  std::string text =
      render_document(api::Json{{"name", kEvil + "\xc2\x9b" + "\xff"}}, OutputFormat::kJson);
  EXPECT_FALSE(has_raw_escape(text));
  EXPECT_TRUE(std::all_of(text.begin(), text.end(),
                          [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
  EXPECT_NE(text.find("\\u001b"), std::string::npos) << text;
}

TEST(SafeDocument, YamlOutputHasNoRawControlCharacters) {
  std::string text = render_document(api::Json{{"name", kEvil}}, OutputFormat::kYaml);
  EXPECT_FALSE(has_raw_escape(text)) << text;
  EXPECT_EQ(lines(text), 1u) << text;
}

TEST_F(CliTest, RemoteNodeNameIsPrintedEscaped) {
  service.node_list = {make_node("bmevil", kEvil, "mock")};
  auto r = run({"get", "nodes"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(has_raw_escape(r.out)) << r.out;
  EXPECT_EQ(lines(r.out), 2u) << r.out;  // header + one row: no forged line
  EXPECT_NE(r.out.find("evil\\x1b]0;owned"), std::string::npos) << r.out;
}

TEST_F(CliTest, RemoteErrorMessageIsOneEscapedLine) {
  std::string web = write_file("web.yaml", kWebYaml);
  service.apply_error = make_error("no_capacity", kEvil);
  auto r = run({"apply", "-f", web});
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(has_raw_escape(r.err)) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_TRUE(r.err.starts_with("error: evil\\x1b]0;owned")) << r.err;
}

TEST_F(CliTest, RemoteProgressStepsArePrintedEscaped) {
  std::string web = write_file("web.yaml", kWebYaml);
  service.apply_steps = {kEvil};
  service.apply_outcome = api::testing::make_outcome("m-web", 2, 2);
  auto r = run({"apply", "-f", web});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(has_raw_escape(r.out)) << r.out;
  EXPECT_TRUE(r.out.starts_with("evil\\x1b]0;owned\\x07\\x1b[2J\\nerror: forged line\n")) << r.out;
}

TEST_F(CliTest, RemotePlacementMessagesArePrintedEscaped) {
  std::string web = write_file("web.yaml", kWebYaml);
  service.apply_outcome = api::testing::make_outcome("m-web", 1, 0);
  service.apply_outcome.placements = {make_placement("bmA", false, "deploy_failed", kEvil)};
  auto r = run({"apply", "-f", web});
  EXPECT_FALSE(has_raw_escape(r.out)) << r.out;
  EXPECT_FALSE(has_raw_escape(r.err)) << r.err;
}

TEST_F(CliTest, DescribeEscapesRemoteFields) {
  auto w = make_workload("w1", "m1", WorkloadState::Failed, kEvil);
  w.info.message = kEvil;
  w.info.pods = {kEvil};
  service.workload_list = {w};
  auto r = run({"describe", "workload", "w1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(has_raw_escape(r.out)) << r.out;
  EXPECT_EQ(r.out.find("\nerror: forged line"), std::string::npos) << r.out;
}

TEST_F(CliTest, LogsKeepLineBreaksButEscapeTerminalControls) {
  service.workload_logs["w1"] = "line 1\n\x1b[31mred\x1b[0m\rline 2\n";
  auto r = run({"logs", "w1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "line 1\n\\x1b[31mred\\x1b[0m\\rline 2\n");
}

TEST_F(CliTest, VersionEscapesTheServersName) {
  service.self_info.name = kEvil;
  auto r = run({"version"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(has_raw_escape(r.out)) << r.out;
  EXPECT_EQ(lines(r.out), 2u) << r.out;
}

}  // namespace
}  // namespace beemesh::cli
