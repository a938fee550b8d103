// manifest/yaml_limits.cpp — parse()'s limits, checked on yaml-cpp's event stream.
#include "manifest/yaml_limits.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <sstream>
#include <utility>

#include "manifest/manifest.h"

namespace beemesh::manifest {
namespace {

// Thrown out of the event handler to stop yaml-cpp's parser at the first problem.
struct LimitExceeded {
  YamlLimitProblem problem;
};

class LimitChecker final : public YAML::EventHandler {
 public:
  LimitChecker(int first_line, size_t& nodes) : first_line_(first_line), nodes_(nodes) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { node(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { refuse_anchor(mark); }
  void OnAnchor(const YAML::Mark& mark, const std::string&) override { refuse_anchor(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    node(mark, anchor);
    if (value.size() > kMaxYamlScalarBytes) {
      refuse(mark, "scalar longer than " + std::to_string(kMaxYamlScalarBytes) + " bytes");
    }
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { --depth_; }

 private:
  [[noreturn]] void refuse(const YAML::Mark& mark, std::string reason) const {
    int line = mark.is_null() ? first_line_ + 1 : first_line_ + mark.line + 1;
    throw LimitExceeded{{line, std::move(reason)}};
  }
  [[noreturn]] void refuse_anchor(const YAML::Mark& mark) const {
    refuse(mark, "YAML anchors and aliases are not accepted");
  }

  void node(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) refuse_anchor(mark);
    if (++nodes_ > kMaxYamlNodes) {
      refuse(mark, "more than " + std::to_string(kMaxYamlNodes) + " YAML nodes");
    }
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    node(mark, anchor);
    if (++depth_ > kMaxYamlDepth) {
      refuse(mark, "nested deeper than " + std::to_string(kMaxYamlDepth) + " levels");
    }
  }

  int first_line_;
  size_t& nodes_;
  int depth_ = 0;
};

}  // namespace

std::optional<YamlLimitProblem> check_yaml_limits(const std::string& text, int first_line,
                                                  size_t& nodes) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  LimitChecker checker(first_line, nodes);
  try {
    // One document only, as YAML::Load reads it: looping here is what makes yaml-cpp 0.7's
    // LoadAll hang on input such as ",".
    parser.HandleNextDocument(checker);
  } catch (LimitExceeded& e) {
    return std::move(e.problem);
  }
  return std::nullopt;
}

}  // namespace beemesh::manifest
