// tests/app/machine_run.h — a fixture for tests that run the daemon binary
// (BEEMESH_BINARY; the test fails when it is unset) as `beemesh machine --config <file>` in a fresh
// temporary directory, and read its exit status and merged output.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/process.h"

namespace beemesh {

class MachineRunTest : public ::testing::Test {
 protected:
  // `dir_prefix` names the temporary directory: <tmp>/<dir_prefix>-<pid>-<test name>.
  explicit MachineRunTest(std::string dir_prefix) : dir_prefix_(std::move(dir_prefix)) {}

  void SetUp() override {
    const char* binary = std::getenv("BEEMESH_BINARY");
    if (binary == nullptr) GTEST_FAIL() << "BEEMESH_BINARY not set (ctest sets it)";
    binary_ = binary;
    dir_ = std::filesystem::temp_directory_path() /
           (dir_prefix_ + "-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Runs `beemesh machine --config <dir_>/beemesh.yaml <flags>` (20 s at most); the config
  // is data_dir: <dir_>/data followed by `yaml`.
  ProcessResult run_with(const std::string& yaml, std::vector<std::string> flags = {}) {
    auto config = dir_ / "beemesh.yaml";
    std::ofstream(config) << "data_dir: " << (dir_ / "data").string() << "\n" << yaml;
    std::vector<std::string> argv = {binary_, "machine", "--config", config.string()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto r = run_process(argv, {.timeout = std::chrono::seconds(20), .merge_stderr = true});
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return r.ok() ? *r : ProcessResult{};
  }

  std::string binary_;
  std::filesystem::path dir_;

 private:
  std::string dir_prefix_;
};

}  // namespace beemesh
