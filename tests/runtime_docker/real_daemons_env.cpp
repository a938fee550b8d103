#include "real_daemons_env.h"

#include <gtest/gtest.h>

#include <memory>

namespace beemesh::test {
namespace {

class RealDaemonsEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    daemons_ = std::make_unique<RealDaemons>();
    auto started = daemons_->start();
    if (!started) {
      error_ = started.error().to_string();
      FAIL() << "real Docker APIs unavailable: " << error_;
    }
  }
  void TearDown() override { daemons_.reset(); }

  RealDaemons* get() { return error_.empty() ? daemons_.get() : nullptr; }
  const std::string& error() const { return error_; }

 private:
  std::unique_ptr<RealDaemons> daemons_;
  std::string error_;
};

// gtest owns registered environments; this is the one handle tests use to reach it.
RealDaemonsEnvironment* const environment = static_cast<RealDaemonsEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new RealDaemonsEnvironment));  // NOLINT(owning-memory)

}  // namespace

RealDaemons* daemons() {
  return environment->get();
}

const std::string& daemons_error() {
  static const std::string not_started = "the real-daemons environment did not start";
  return environment->error().empty() && environment->get() == nullptr ? not_started
                                                                       : environment->error();
}

}  // namespace beemesh::test
