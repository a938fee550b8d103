// parse() refuses hostile YAML before building a tree: anchors and aliases, oversized
// input, deep nesting, too many nodes, huge scalars, too many documents (manifest.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "manifest/manifest.h"
#include "manifest/samples.h"

namespace beemesh::manifest {
namespace {

// A valid Pod "web" (lines 1..8) followed by `extra` at the top level (from line 9).
std::string pod_with(const std::string& extra) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
         "    - name: app\n      image: img\n" +
         extra;
}

// `levels` nested flow lists around one scalar: "[[[x]]]" for 3.
std::string nested_lists(int levels) {
  return std::string(static_cast<size_t>(levels), '[') + "x" +
         std::string(static_cast<size_t>(levels), ']');
}

// A ConfigMap named "cm<i>", as one document.
std::string config_map(int i) {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm" + std::to_string(i) +
         "\ndata:\n  k: v\n";
}

void expect_refused(const std::string& yaml, const std::string& message) {
  auto m = parse(yaml, "web.yaml");
  ASSERT_FALSE(m.ok()) << "accepted";
  EXPECT_EQ(m.error().code, "invalid_manifest");
  EXPECT_EQ(m.error().message, message);
}

void expect_accepted(const std::string& yaml) {
  auto m = parse(yaml, "web.yaml");
  EXPECT_TRUE(m.ok()) << m.error().to_string();
}

TEST(YamlLimits, BillionLaughsIsRefusedQuicklyAtItsFirstAnchor) {
  std::string bomb = "  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  std::string previous = "a";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string name(1, c);
    std::string list;
    for (int i = 0; i < 10; ++i) list += (i == 0 ? "*" : ",*") + previous;
    bomb += "  " + name + ": &" + name + " [" + list + "]\n";
    previous = name;
  }
  auto start = std::chrono::steady_clock::now();
  expect_refused(pod_with("bomb:\n" + bomb),
                 "web.yaml doc 1 line 10: YAML anchors and aliases are not accepted");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST(YamlLimits, AnchorAloneIsRefused) {
  expect_refused("apiVersion: v1\nkind: Pod\nmetadata:\n  name: &n web\n",
                 "web.yaml doc 1 line 4: YAML anchors and aliases are not accepted");
}

TEST(YamlLimits, AnchorOnACollectionIsRefused) {
  expect_refused(pod_with("extra: &e\n  k: v\n"),
                 "web.yaml doc 1 line 9: YAML anchors and aliases are not accepted");
}

TEST(YamlLimits, MergeKeyIsRefused) {
  expect_refused(pod_with("base: &b {k: v}\nmore:\n  <<: *b\n"),
                 "web.yaml doc 1 line 9: YAML anchors and aliases are not accepted");
}

TEST(YamlLimits, AliasOfAnUndefinedAnchorIsRefused) {
  auto m = parse(pod_with("extra: *nowhere\n"), "web.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "invalid_manifest");
}

TEST(YamlLimits, AnchorInALaterDocumentNamesThatDocumentAndSourceLine) {
  expect_refused(
      samples::kPod + "---\n" +
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
          "  name: &x cfg\n",
      "web.yaml doc 2 line " +
          std::to_string(std::count(samples::kPod.begin(), samples::kPod.end(), '\n') + 5) +
          ": YAML anchors and aliases are not accepted");
}

TEST(YamlLimits, AmpersandsAndStarsInsideScalarsAreAccepted) {
  expect_accepted(
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n"
      "    plain: a && b * c\n    single: '&x *y'\n    double: \"*\"\n"
      "    block: |\n      &anchor\n      *alias\n    folded: >\n      &a *b\n"
      "spec:\n  containers:\n    - name: app\n      image: img\n"
      "      command: [\"sh\", \"-c\", \"a && b || *\"]\n      args: [\"*\", '&']\n"
      "      env:\n        - name: GLOB\n          value: \"*.txt\"\n");
}

TEST(YamlLimits, AmpersandInACommentIsAccepted) {
  expect_accepted(pod_with("# &anchor and *alias in a comment\n"));
}

TEST(YamlLimits, NestingOf64LevelsIsAccepted) {
  // The document's root map is level 1.
  expect_accepted(pod_with("extra: " + nested_lists(63) + "\n"));
}

TEST(YamlLimits, NestingOf65LevelsIsRefused) {
  expect_refused(pod_with("extra: " + nested_lists(64) + "\n"),
                 "web.yaml doc 1 line 9: nested deeper than 64 levels");
}

TEST(YamlLimits, DeepBlockNestingIsRefused) {
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += std::string(static_cast<size_t>(i), ' ') + "k:\n";
  auto m = parse(pod_with(deep), "web.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("nested deeper than 64 levels"), std::string::npos)
      << m.error().message;
}

TEST(YamlLimits, InputLargerThanTheLimitIsRefused) {
  std::string yaml = samples::kPod;
  yaml += "# " + std::string(kMaxManifestBytes - yaml.size() - 2, 'x');  // exactly the limit
  yaml += "y";
  expect_refused(yaml, "web.yaml: larger than 1048576 bytes");
}

TEST(YamlLimits, InputOfExactlyTheLimitIsAccepted) {
  std::string yaml = samples::kPod;
  yaml += "# " + std::string(kMaxManifestBytes - yaml.size() - 2, 'x');
  ASSERT_EQ(yaml.size(), kMaxManifestBytes);
  expect_accepted(yaml);
}

TEST(YamlLimits, MoreThan100000NodesAreRefused) {
  std::string list = "extra: [x";
  for (size_t i = 1; i < kMaxYamlNodes; ++i) list += ",x";
  list += "]\n";
  expect_refused(pod_with(list), "web.yaml doc 1 line 9: more than 100000 YAML nodes");
}

TEST(YamlLimits, NodeCountSpansDocuments) {
  std::string list = "extra: [x";
  for (size_t i = 1; i < kMaxYamlNodes / 2; ++i) list += ",x";
  list += "]\n";
  std::string second = pod_with(list);
  second.replace(second.find("name: web"), 9, "name: web2");
  auto m = parse(pod_with(list) + "---\n" + second, "web.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message.rfind("web.yaml doc 2 line ", 0), 0u) << m.error().message;
  EXPECT_NE(m.error().message.find("more than 100000 YAML nodes"), std::string::npos);
}

TEST(YamlLimits, ScalarLongerThanTheLimitIsRefused) {
  expect_refused(pod_with("extra: " + std::string(kMaxYamlScalarBytes + 1, 'x') + "\n"),
                 "web.yaml doc 1 line 9: scalar longer than 262144 bytes");
}

TEST(YamlLimits, ScalarOfExactlyTheLimitIsAccepted) {
  expect_accepted(pod_with("extra: " + std::string(kMaxYamlScalarBytes, 'x') + "\n"));
}

TEST(YamlLimits, MoreThan64DocumentsAreRefused) {
  std::string yaml = samples::kPod;
  for (int i = 1; i <= kMaxManifestDocuments; ++i) yaml += "---\n" + config_map(i);
  expect_refused(yaml, "web.yaml: more than 64 documents");
}

TEST(YamlLimits, EmptyDocumentsCountTowardTheDocumentLimit) {
  std::string yaml = samples::kPod;
  for (int i = 1; i <= 100000; ++i) yaml += "---\n";
  expect_refused(yaml, "web.yaml: more than 64 documents");
}

TEST(YamlLimits, Exactly64DocumentsAreAccepted) {
  std::string yaml = "---\n" + samples::kPod;  // a leading marker opens no extra document
  for (int i = 1; i < kMaxManifestDocuments; ++i) yaml += "---\n" + config_map(i);
  expect_accepted(yaml);
}

}  // namespace
}  // namespace beemesh::manifest
