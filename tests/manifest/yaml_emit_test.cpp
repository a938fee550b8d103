// emit_yaml(): what it writes loads back as the same tree (manifest/yaml_emit.h).
#include "manifest/yaml_emit.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "manifest/manifest.h"
#include "manifest/text.h"
#include "samples.h"

namespace beemesh::manifest {
namespace {

bool string_tagged(const YAML::Node& n) {
  return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str";
}

// `back` (loaded from the emitted text) is `original`: same types, keys in order, scalar
// bytes; a string-tagged scalar still reads as a string; a scalar written plain by the
// direct writer is plain again (so it resolves as it did).
::testing::AssertionResult same_tree(const YAML::Node& original, const YAML::Node& back,
                                     const std::string& path = "") {
  const bool orig_null = original.IsNull() || !original.IsDefined();
  const bool back_null = back.IsNull() || !back.IsDefined();
  if (orig_null || back_null) {
    if (orig_null == back_null) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << path << ": null on one side only";
  }
  if (original.Type() != back.Type()) return ::testing::AssertionFailure() << path << ": type";
  if (original.IsScalar()) {
    if (original.Scalar() != back.Scalar()) {
      return ::testing::AssertionFailure()
             << path << ": '" << original.Scalar() << "' came back as '" << back.Scalar() << "'";
    }
    if (string_tagged(original) && !string_tagged(back) && !plain_reads_as_string(back.Scalar())) {
      return ::testing::AssertionFailure()
             << path << ": string '" << original.Scalar() << "' came back plain";
    }
    return ::testing::AssertionSuccess();
  }
  if (original.size() != back.size()) return ::testing::AssertionFailure() << path << ": size";
  auto a = original.begin();
  auto b = back.begin();
  for (size_t i = 0; a != original.end(); ++a, ++b, ++i) {
    const std::string at = path + "/" + std::to_string(i);
    if (original.IsMap()) {
      if (auto r = same_tree(a->first, b->first, at + "(key)"); !r) return r;
      if (auto r = same_tree(a->second, b->second, at); !r) return r;
    } else if (auto r = same_tree(*a, *b, at); !r) {
      return r;
    }
  }
  return ::testing::AssertionSuccess();
}

// Every plain scalar the direct writer wrote is plain when loaded back.
void expect_plain_stays_plain(const YAML::Node& original, const YAML::Node& back) {
  if (original.IsScalar()) {
    if (!string_tagged(original)) {
      EXPECT_EQ(back.Tag(), "?") << original.Scalar();
    }
    return;
  }
  if (!original.IsMap() && !original.IsSequence()) return;
  auto a = original.begin();
  auto b = back.begin();
  for (; a != original.end(); ++a, ++b) {
    if (original.IsMap()) {
      expect_plain_stays_plain(a->first, b->first);
      expect_plain_stays_plain(a->second, b->second);
    } else {
      expect_plain_stays_plain(*a, *b);
    }
  }
}

TEST(YamlEmit, EverySampleManifestIsWrittenByTheDirectWriterAndLoadsBackTheSame) {
  for (const auto* text : {&samples::kPod, &samples::kDeployment, &samples::kStatefulSet,
                           &samples::kConfigMap, &samples::kSecret}) {
    for (const auto& doc : YAML::LoadAll(*text)) {
      auto direct = emit_yaml_direct(doc);
      ASSERT_TRUE(direct.has_value()) << *text;
      auto back = YAML::Load(*direct);
      EXPECT_TRUE(same_tree(doc, back)) << *direct;
      expect_plain_stays_plain(doc, back);
      EXPECT_TRUE(same_tree(doc, YAML::Load(emit_yaml_generic(doc))));
    }
  }
}

// emit_yaml_direct(doc) loaded back, once it was written directly and loads as the same
// tree as `doc` (a null node when it was not written directly).
YAML::Node direct_round_trip(const YAML::Node& doc) {
  auto direct = emit_yaml_direct(doc);
  EXPECT_TRUE(direct.has_value());
  if (!direct) return YAML::Node();
  auto back = YAML::Load(*direct);
  EXPECT_TRUE(same_tree(doc, back)) << *direct;
  return back;
}

TEST(YamlEmit, QuotedNumbersBoolsAndNullsStayStrings) {
  auto doc = YAML::Load(
      "a: \"8080\"\nb: 'true'\nc: \"null\"\nd: \"~\"\ne: \"\"\nf: \"-c\"\ng: \"1e3\"\n"
      "h: \"yes\"\ni: \"web\"\nj: [\"sleep\", \"3600\"]\n");
  auto back = direct_round_trip(doc);
  ASSERT_FALSE(back.IsNull());
  EXPECT_EQ(back["a"].Tag(), "!");
  EXPECT_EQ(back["j"][1].Tag(), "!");
  EXPECT_EQ(back["a"].as<std::string>(), "8080");
}

TEST(YamlEmit, PlainScalarsAreWrittenAsGivenSoTheyResolveAsBefore) {
  auto doc = YAML::Load(
      "port: 8080\nratio: 0.5\nneg: -1\nflag: true\nimage: localhost/busybox:latest\n"
      "cmd: sleep 3600\nurl: http://example.com/a?b\ninf: .inf\n");
  auto text = emit_yaml(doc);
  auto back = YAML::Load(text);
  EXPECT_TRUE(same_tree(doc, back)) << text;
  EXPECT_EQ(back["port"].Tag(), "?");
  EXPECT_EQ(back["port"].as<int>(), 8080);
  EXPECT_TRUE(back["flag"].as<bool>());
}

TEST(YamlEmit, EscapesControlCharactersQuotesAndBackslashesInStrings) {
  YAML::Node doc;
  doc["s"] = string_node(std::string("a\"b\\c\nd\te\x01\x7f", 12));
  doc.force_insert(string_node("k: v"), string_node("x"));
  doc["hash"] = string_node("a #b");
  direct_round_trip(doc);
}

TEST(YamlEmit, NestedSequencesMapsAndEmptyCollectionsKeepTheirShape) {
  auto doc = YAML::Load(
      "a:\n  - - x\n    - y\n  - []\n  - {}\n  - k: v\n    l:\n      - m\n  - ~\nb: {}\nc: []\n"
      "d:\ne: [[1, 2], {x: [3]}]\n");
  auto back = direct_round_trip(doc);
  ASSERT_FALSE(back.IsNull());
  expect_plain_stays_plain(doc, back);
}

TEST(YamlEmit, WhatTheDirectWriterCannotKeepIsLeftToYamlCpp) {
  // Non-ASCII bytes, a plain scalar outside the conservative set, a key that is a map.
  for (const char* text : {"name: caf\xc3\xa9\n", "v: 50%\n", "v: a#b\n", "? {a: b}\n: c\n"}) {
    auto doc = YAML::Load(text);
    EXPECT_FALSE(emit_yaml_direct(doc).has_value()) << text;
    EXPECT_TRUE(same_tree(doc, YAML::Load(emit_yaml(doc)))) << text;
  }
}

// Random trees of random scalars (plain ones drawn from what a plain scalar may hold,
// string-tagged ones from any byte): whatever writer emit_yaml() picks, the tree loads back.
TEST(YamlEmit, RandomTreesLoadBackTheSame) {
  std::mt19937 random(20261130);
  const std::string plain_chars = "abcXYZ0189._/-:@+=, #%*!&[]{}|>'\"?~`";
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random); };
  auto random_string = [&](bool any_byte) {
    std::string s;
    const size_t n = pick(8);
    for (size_t i = 0; i < n; ++i) {
      s.push_back(any_byte ? static_cast<char>(1 + pick(127))
                           : plain_chars[pick(plain_chars.size())]);
    }
    return s;
  };
  std::function<YAML::Node(int)> tree = [&](int depth) -> YAML::Node {
    const size_t kind = depth > 3 ? pick(2) : pick(5);
    if (kind == 0) return string_node(random_string(true));
    if (kind == 1) {
      // A plain scalar as a parser gives it: load it, keep it only if it loads as a scalar.
      try {
        auto n = YAML::Load("v: " + random_string(false))["v"];
        if (n.IsScalar()) return n;
      } catch (const YAML::Exception&) {
      }
      return YAML::Node(YAML::NodeType::Null);
    }
    YAML::Node n(kind == 2 ? YAML::NodeType::Sequence : YAML::NodeType::Map);
    const size_t items = pick(4);
    for (size_t i = 0; i < items; ++i) {
      if (kind == 2) {
        n.push_back(tree(depth + 1));
      } else {
        n[random_string(true) + std::to_string(i)] = tree(depth + 1);
      }
    }
    return n;
  };
  int direct_count = 0;
  for (int i = 0; i < 3000; ++i) {
    YAML::Node doc(YAML::NodeType::Map);
    doc["root"] = tree(0);
    std::string text = emit_yaml(doc);
    YAML::Node back;
    ASSERT_NO_THROW(back = YAML::Load(text)) << text;
    ASSERT_TRUE(same_tree(doc, back)) << text;
    if (auto direct = emit_yaml_direct(doc)) {
      ++direct_count;
      expect_plain_stays_plain(doc, YAML::Load(*direct));
    }
  }
  EXPECT_GT(direct_count, 300);  // both writers were exercised
}

TEST(YamlEmit, ParsedDocumentsKeepTheirYamlAsTheTreeTheyWereParsedFrom) {
  auto parsed = parse(samples::kPod + "---\n" + samples::kConfigMap, "web.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  for (const auto& doc : parsed->documents) {
    ASSERT_TRUE(doc.tree);
    EXPECT_TRUE(same_tree(*doc.tree, YAML::Load(doc.yaml))) << doc.yaml;
  }
}

}  // namespace
}  // namespace beemesh::manifest
