#include "runtime/engines/docker/log_stream.h"

#include <gtest/gtest.h>

#include <string>

namespace beemesh::runtime::docker {
namespace {

std::string frame(char stream, const std::string& payload) {
  std::string out{stream, 0, 0, 0};
  auto size = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>((size >> 24) & 0xFF));
  out.push_back(static_cast<char>((size >> 16) & 0xFF));
  out.push_back(static_cast<char>((size >> 8) & 0xFF));
  out.push_back(static_cast<char>(size & 0xFF));
  return out + payload;
}

TEST(DemultiplexLogs, SplitsFramesIntoStdoutAndStderrKeepingTheirOrderInCombined) {
  auto logs = demultiplex_logs(frame(1, "out-1\n") + frame(2, "err-1\n") + frame(1, "out-2\n"));
  ASSERT_TRUE(logs.ok()) << logs.error().to_string();
  EXPECT_EQ(logs->stdout_text, "out-1\nout-2\n");
  EXPECT_EQ(logs->stderr_text, "err-1\n");
  EXPECT_EQ(logs->combined, "out-1\nerr-1\nout-2\n");
}

TEST(DemultiplexLogs, AnEmptyBodyIsNoOutput) {
  auto logs = demultiplex_logs("");
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->combined, "");
}

TEST(DemultiplexLogs, ReadsBigEndianSizesAbove255Bytes) {
  std::string big(70000, 'x');
  auto logs = demultiplex_logs(frame(1, big) + frame(2, "e"));
  ASSERT_TRUE(logs.ok()) << logs.error().to_string();
  EXPECT_EQ(logs->stdout_text, big);
  EXPECT_EQ(logs->stderr_text, "e");
}

TEST(DemultiplexLogs, AcceptsZeroLengthFrames) {
  auto logs = demultiplex_logs(frame(1, "") + frame(2, "e\n"));
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->combined, "e\n");
}

TEST(DemultiplexLogs, KeepsStdinFramesWithStdout) {
  auto logs = demultiplex_logs(frame(0, "in\n"));
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->stdout_text, "in\n");
}

TEST(DemultiplexLogs, PassesATtyStreamThroughAsStdout) {
  auto logs = demultiplex_logs("plain text from a tty\n");
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->stdout_text, "plain text from a tty\n");
  EXPECT_EQ(logs->combined, "plain text from a tty\n");
  EXPECT_EQ(logs->stderr_text, "");
}

TEST(DemultiplexLogs, AFrameCutShortIsAnInvalidResponse) {
  std::string body = frame(1, "complete\n") + frame(2, "cut short\n");
  body.resize(body.size() - 3);
  auto logs = demultiplex_logs(body);
  ASSERT_FALSE(logs.ok());
  EXPECT_EQ(logs.error().code, "invalid_response");
  EXPECT_NE(logs.error().message.find("announces 10 bytes but only 7 follow"), std::string::npos)
      << logs.error().message;
}

TEST(DemultiplexLogs, AHeaderCutShortIsAnInvalidResponse) {
  std::string body = frame(1, "ok\n") + std::string{2, 0, 0};
  auto logs = demultiplex_logs(body);
  ASSERT_FALSE(logs.ok());
  EXPECT_EQ(logs.error().code, "invalid_response");
}

TEST(DemultiplexLogs, GarbageAfterAValidFrameIsAnInvalidResponse) {
  auto logs = demultiplex_logs(frame(1, "ok\n") + "garbage!");
  ASSERT_FALSE(logs.ok());
  EXPECT_EQ(logs.error().code, "invalid_response");
}

}  // namespace
}  // namespace beemesh::runtime::docker
