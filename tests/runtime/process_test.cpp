// common/process: running programs without a shell, with stdin, output capture and timeouts.
#include "common/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace beemesh {
namespace {

using namespace std::chrono_literals;

int open_fd_count() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (::readdir(dir) != nullptr) ++count;
  ::closedir(dir);
  return count;
}

bool has_unreaped_child() {
  int status = 0;
  pid_t r = ::waitpid(-1, &status, WNOHANG);
  return r > 0;
}

TEST(RunProcess, CapturesStdoutStderrAndExitCode) {
  auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_FALSE(r->success());
}

TEST(RunProcess, PassesArgumentsVerbatimWithoutAShell) {
  auto r = run_process({"printf", "%s|", "a b", "$HOME", "*", ";rm -rf /"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "a b|$HOME|*|;rm -rf /|");
}

TEST(RunProcess, FeedsStdinData) {
  ProcessOptions options;
  options.stdin_data = "line one\nline two\n";
  auto r = run_process({"wc", "-l"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.find_first_not_of(' '), r->out.find('2'));
  EXPECT_EQ(r->exit_code, 0);
}

TEST(RunProcess, LargeStdinAndStdoutDoNotDeadlock) {
  ProcessOptions options;
  options.stdin_data = std::string(4 * 1024 * 1024, 'x');
  auto r = run_process({"cat"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.size(), 4u * 1024 * 1024);
}

TEST(RunProcess, StdinIsEmptyWithoutData) {
  auto r = run_process({"cat"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "");
  EXPECT_EQ(r->exit_code, 0);
}

TEST(RunProcess, ChildThatIgnoresStdinDoesNotKillTheCaller) {
  ProcessOptions options;
  options.stdin_data = std::string(1024 * 1024, 'y');
  auto r = run_process({"true"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
}

// True while `pid` names a live (not zombie) process.
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

TEST(RunProcess, TimeoutKillsTheWholeProcessGroup) {
  char path[] = "/tmp/beemesh-process-test-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ProcessOptions options;
  options.timeout = 300ms;
  // The shell starts a grandchild that would outlive a kill of the shell alone.
  auto r =
      run_process({"sh", "-c", std::string("sleep 30 & echo $! > ") + path + "; wait"}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "timeout");
  EXPECT_NE(r.error().message.find("sh -c"), std::string::npos);
  std::ifstream pid_file(path);
  pid_t grandchild = 0;
  pid_file >> grandchild;
  ::unlink(path);
  ASSERT_GT(grandchild, 0);
  for (int i = 0; i < 100 && alive(grandchild); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(alive(grandchild));
}

TEST(RunProcess, MissingProgramIsSpawnFailed) {
  auto r = run_process({"/nonexistent/beemesh-no-such-program"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "spawn_failed");
  EXPECT_NE(r.error().message.find("beemesh-no-such-program"), std::string::npos);
}

TEST(RunProcess, ProgramIsLookedUpInPath) {
  auto r = run_process({"beemesh-no-such-program-in-path"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "spawn_failed");
  auto ok = run_process({"true"});
  ASSERT_TRUE(ok.ok());
}

TEST(RunProcess, EmptyArgvIsInvalid) {
  auto r = run_process({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_argument");
}

TEST(RunProcess, ReportsTheSignalThatEndedTheChild) {
  auto r = run_process({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->term_signal, 9);
  EXPECT_EQ(r->exit_code, 128 + 9);
}

TEST(RunProcess, EnvironmentOverridesAreAddedToTheCallersEnvironment) {
  ProcessOptions options;
  options.env = {{"BEEMESH_TEST_VAR", "value 1"}};
  auto r = run_process({"sh", "-c", "echo \"$BEEMESH_TEST_VAR\"; test -n \"$PATH\" && echo path"},
                       options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "value 1\npath\n");
}

TEST(RunProcess, MergeStderrKeepsBothStreamsInOut) {
  ProcessOptions options;
  options.merge_stderr = true;
  auto r = run_process({"sh", "-c", "echo a; echo b >&2; echo c"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "a\nb\nc\n");
  EXPECT_EQ(r->err, "");
}

TEST(RunProcess, OutputBeyondTheCapIsDroppedAndFlagged) {
  ProcessOptions options;
  options.max_output_bytes = 10;
  auto r = run_process({"sh", "-c", "echo 0123456789abcdef"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "0123456789");
  EXPECT_TRUE(r->out_truncated);
}

TEST(RunProcess, ReturnsWhenTheChildExitsEvenIfAGrandchildKeepsTheOutputOpen) {
  ProcessOptions options;
  options.timeout = 10s;
  // The grandchild ends by itself two seconds later.
  auto r = run_process({"sh", "-c", "(sleep 2; echo late) & echo early"}, options);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->out, "early\n");  // "late" would be there had it waited for the grandchild
}

TEST(RunProcess, LeaksNoFileDescriptorsAndNoZombies) {
  const int before = open_fd_count();
  for (int i = 0; i < 20; ++i) {
    ProcessOptions options;
    options.stdin_data = "x";
    options.timeout = i % 2 == 0 ? 5s : 50ms;
    auto r = run_process({"sh", "-c", i % 2 == 0 ? "cat" : "sleep 5"}, options);
    (void)r;
  }
  auto missing = run_process({"/nonexistent/prog"});
  (void)missing;
  EXPECT_EQ(open_fd_count(), before);
  EXPECT_FALSE(has_unreaped_child());
}

TEST(RunProcess, ChildGetsOnlyStdioAndDescriptorsTheCallerLeftInheritable) {
  // Descriptors this process holds without close-on-exec (e.g. from whoever started the
  // test) are inherited by design; every other one must stay out of the child.
  std::set<int> allowed = {0, 1, 2};
  for (int fd = 3; fd < 1024; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC) == 0) allowed.insert(fd);
  }
  int opened = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(opened, 0);
  int marker = ::fcntl(opened, F_DUPFD_CLOEXEC, 200);  // far from what ls opens itself
  ::close(opened);
  ASSERT_GE(marker, 200);
  auto r = run_process({"ls", "/proc/self/fd"});
  ::close(marker);
  ASSERT_TRUE(r.ok());
  std::istringstream listing(r->out);
  int extra = 0;
  for (std::string fd; listing >> fd;) {
    EXPECT_NE(std::stoi(fd), marker);
    if (allowed.count(std::stoi(fd)) == 0) ++extra;
  }
  EXPECT_LE(extra, 1);  // the descriptor ls reads /proc/self/fd through
}

TEST(RunProcess, IsSafeToCallFromManyThreads) {
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        ProcessOptions options;
        options.stdin_data = std::to_string(t) + "-" + std::to_string(i);
        auto r = run_process({"cat"}, options);
        if (r.ok() && r->out == *options.stdin_data) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 80);
}

TEST(DescribeCommand, QuotesArgumentsWithSpaces) {
  EXPECT_EQ(describe_command({"podman", "kube", "play", "a b"}), "podman kube play 'a b'");
}

}  // namespace
}  // namespace beemesh
