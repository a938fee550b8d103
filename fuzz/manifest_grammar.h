// fuzz/manifest_grammar.h — builds Kubernetes-shaped YAML from fuzz input bytes, for
// fuzz_manifest_structured. Every choice is read from the input, so libFuzzer's mutations
// move through the grammar: documents of Pod/Deployment/StatefulSet/ConfigMap/Secret with
// real and random fields, block and flow styles, quoted and block scalars holding '&' and
// '*', anchors, aliases and merge keys, deep nesting, huge scalars, many documents.
// The result also says whether it holds a real anchor or alias (not one inside a scalar).
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace beemesh::fuzz {

struct GeneratedYaml {
  std::string text;
  bool has_anchor_or_alias = false;
};

class ManifestGrammar {
 public:
  explicit ManifestGrammar(FuzzedDataProvider& in) : in_(in) {}

  GeneratedYaml build() {
    // Huge scalars are slow to scan (yaml-cpp reads them character by character): only one
    // manifest in 32 may hold them, so that the other 31 run fast.
    huge_allowed_ = rare();
    // Mostly a few documents; now and then around the parser's limit of 64 (63..80: the
    // refused ones cost nothing, the accepted ones are slow to run).
    int documents = rare() ? in_.ConsumeIntegralInRange(63, 80) : in_.ConsumeIntegralInRange(0, 3);
    for (int i = 0; i < documents && out_.size() < kMaxOutput; ++i) {
      if (i > 0 || in_.ConsumeBool()) out_ += "---\n";
      document(i);
    }
    return {std::move(out_), anchored_};
  }

 private:
  static constexpr size_t kMaxOutput = size_t{3} << 20;
  static constexpr int kMaxDepth = 100;  // beyond the parser's limit of 64

  static constexpr std::array<std::string_view, 5> kKinds{"Pod", "Deployment", "StatefulSet",
                                                          "ConfigMap", "Secret"};
  // clang-format off
  static constexpr std::array<std::string_view, 36> kKeys{
      "apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations", "spec",
      "template", "selector", "matchLabels", "replicas", "containers", "initContainers",
      "image", "command", "args", "env", "value", "valueFrom", "ports", "containerPort",
      "hostPort", "protocol", "resources", "limits", "requests", "memory", "cpu",
      "restartPolicy", "data", "stringData", "binaryData", "type", "<<", "x-extra"};
  static constexpr std::array<std::string_view, 28> kScalars{
      "v1", "apps/v1", "Pod", "web", "img", "64Mi", "500m", "8080", "0", "-1",
      "99999999999999999999", "TCP", "Always", "true", "null", "~", "\"a && b\"", "'*'",
      "\"*\"", "a&&b", "'&x *y'", "1e3", "0x1F", "\"\"", "web-", ".inf", "dGVzdA==",
      "\"\\u0000\\x7f\\n\""};
  // clang-format on

  std::string_view pick_key() {
    return kKeys[in_.ConsumeIntegralInRange<size_t>(0, kKeys.size() - 1)];
  }
  std::string_view pick_scalar() {
    return kScalars[in_.ConsumeIntegralInRange<size_t>(0, kScalars.size() - 1)];
  }
  // One time in 32; never once the input is used up (the provider then returns zeros).
  bool rare() { return in_.ConsumeIntegralInRange(0, 31) == 31; }
  static std::string spaces(int n) { return std::string(static_cast<size_t>(n), ' '); }

  // A valid-looking header, then random top-level fields.
  void document(int index) {
    auto kind = kKinds[in_.ConsumeIntegralInRange<size_t>(0, kKinds.size() - 1)];
    bool apps = kind == "Deployment" || kind == "StatefulSet";
    out_ += std::string("apiVersion: ") + (apps != in_.ConsumeBool() ? "apps/v1" : "v1") + "\n";
    out_ += "kind: " + std::string(kind) + "\n";
    out_ += "metadata:\n  name: web" + std::to_string(index) + "\n";
    if (apps) {
      out_ += "spec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n";
      container(8);
    } else if (kind == "Pod") {
      out_ += "spec:\n  containers:\n";
      container(4);
    }
    int fields = in_.ConsumeIntegralInRange(0, 4);
    for (int i = 0; i < fields; ++i) entry(0, 1);
  }

  // One list item of a container list at `indent`: a real container plus random fields.
  void container(int indent) {
    out_ += spaces(indent) + "- name: app\n" + spaces(indent + 2) + "image: img\n";
    int fields = in_.ConsumeIntegralInRange(0, 3);
    for (int i = 0; i < fields; ++i) entry(indent + 2, 3);
  }

  // "key: value" at `indent` in a block map.
  void entry(int indent, int depth) {
    std::string_view key = pick_key();
    out_ += spaces(indent) + std::string(key) + ":";
    if (key == "<<" && in_.ConsumeBool()) {
      alias();
      out_ += "\n";
      return;
    }
    node(indent + 2, depth + 1);
  }

  void anchor() {
    out_ += " &a" + std::to_string(anchors_++);
    anchored_ = true;
  }
  void alias() {
    out_ += " *a" + std::to_string(anchors_ > 0 ? in_.ConsumeIntegralInRange(0, anchors_ - 1) : 0);
    anchored_ = true;
  }

  // A value after "key:" or "-", ending with a newline; block content at `indent`.
  void node(int indent, int depth) {
    if (out_.size() >= kMaxOutput || depth >= kMaxDepth || in_.remaining_bytes() == 0) {
      out_ += " x\n";
      return;
    }
    if (rare()) anchor();
    if (huge_allowed_ && rare()) {  // big and slow to parse: kept rare so that runs stay fast
      out_ += " " + huge_scalar() + "\n";
      return;
    }
    switch (in_.ConsumeIntegralInRange(0, 9)) {
      case 0:
        alias();
        out_ += "\n";
        return;
      case 1:
        out_ += " ";
        flow(depth);
        out_ += "\n";
        return;
      case 2:
      case 3: {
        out_ += "\n";
        int entries = in_.ConsumeIntegralInRange(1, 4);
        for (int i = 0; i < entries; ++i) entry(indent, depth + 1);
        return;
      }
      case 4: {
        out_ += "\n";
        int items = in_.ConsumeIntegralInRange(1, 4);
        for (int i = 0; i < items; ++i) {
          out_ += spaces(indent) + "-";
          node(indent + 2, depth + 1);
        }
        return;
      }
      case 5:
        block_scalar(indent);
        return;
      case 6:
        out_ += " " + std::string(in_.ConsumeIntegralInRange(40, 120), '[') + "x" + "\n";
        return;  // unbalanced deep flow: a syntax error far down
      default:
        out_ += " " + std::string(pick_scalar()) + "\n";
        return;
    }
  }

  // A flow collection, "[...]" or "{k: v, ...}", possibly nested.
  void flow(int depth) {
    bool map = in_.ConsumeBool();
    out_ += map ? "{" : "[";
    int items =
        (depth >= kMaxDepth || out_.size() >= kMaxOutput) ? 0 : in_.ConsumeIntegralInRange(0, 4);
    for (int i = 0; i < items; ++i) {
      if (i > 0) out_ += ", ";
      if (map) out_ += std::string(pick_key()) + ": ";
      if (rare()) {
        anchor();
        out_ += " ";
      }
      switch (in_.ConsumeIntegralInRange(0, 4)) {
        case 0:
          flow(depth + 1);
          break;
        case 1:
          alias();
          break;
        default:
          out_ += pick_scalar();
      }
    }
    out_ += map ? "}" : "]";
  }

  // "|" or ">" with lines that look like anchors and aliases but are text.
  void block_scalar(int indent) {
    out_ += in_.ConsumeBool() ? " |\n" : " >-\n";
    int lines = in_.ConsumeIntegralInRange(1, 3);
    for (int i = 0; i < lines; ++i) out_ += spaces(indent) + "&a0 *a0 a && b * c\n";
  }

  // A scalar near the 256 KiB limit (either side) or far beyond it, plain or quoted.
  std::string huge_scalar() {
    size_t size = in_.ConsumeBool() ? (size_t{256} << 10) + in_.ConsumeIntegralInRange(-2, 2)
                                    : in_.ConsumeIntegralInRange<size_t>(1, size_t{600} << 10);
    std::string body(size, 'x');
    return in_.ConsumeBool() ? body : "\"" + body + "\"";
  }

  FuzzedDataProvider& in_;
  std::string out_;
  int anchors_ = 0;
  bool anchored_ = false;
  bool huge_allowed_ = false;
};

}  // namespace beemesh::fuzz
