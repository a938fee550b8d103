// fuzz_manifest_structured: parse() on manifests built from the input by a small YAML
// grammar (manifest_grammar.h): Pod/Deployment documents with real and random fields,
// anchors, aliases, merge keys, deep nesting, huge scalars, many documents.
// Properties: parse() terminates (scripts/fuzz.sh runs it with -timeout and
// -rss_limit_mb, so a slow or memory-hungry input is a failure) and never crashes or
// throws; every rejection is "invalid_manifest"; a manifest holding a real anchor or
// alias, or larger than kMaxManifestBytes, is never accepted; every accepted document's
// re-emitted YAML (Document::yaml, manifest/yaml_emit.h) loads back as the tree it was
// emitted from (same types, keys, scalar bytes; strings stay strings).
#include <fuzzer/FuzzedDataProvider.h>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "manifest/manifest.h"
#include "manifest/text.h"
#include "manifest_grammar.h"

namespace {

bool string_tagged(const YAML::Node& n) {
  return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str";
}

bool same_tree(const YAML::Node& a, const YAML::Node& b) {
  const bool a_null = a.IsNull() || !a.IsDefined();
  const bool b_null = b.IsNull() || !b.IsDefined();
  if (a_null || b_null) return a_null == b_null;
  if (a.Type() != b.Type()) return false;
  if (a.IsScalar()) {
    if (a.Scalar() != b.Scalar()) return false;
    return !string_tagged(a) || string_tagged(b) ||
           beemesh::manifest::plain_reads_as_string(b.Scalar());
  }
  if (a.size() != b.size()) return false;
  auto i = a.begin();
  auto j = b.begin();
  for (; i != a.end(); ++i, ++j) {
    if (a.IsMap()) {
      if (!same_tree(i->first, j->first) || !same_tree(i->second, j->second)) return false;
    } else if (!same_tree(*i, *j)) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  auto yaml = beemesh::fuzz::ManifestGrammar(in).build();
  auto parsed = beemesh::manifest::parse(yaml.text, "fuzz.yaml");
  if (parsed.ok()) {
    if (yaml.has_anchor_or_alias) beemesh::fuzz::fail("manifest with an anchor accepted");
    if (yaml.text.size() > beemesh::manifest::kMaxManifestBytes) {
      beemesh::fuzz::fail("manifest larger than the limit accepted");
    }
    for (const auto& doc : parsed->documents) {
      if (!doc.tree) continue;
      YAML::Node back;
      try {
        back = YAML::Load(doc.yaml);
      } catch (const YAML::Exception&) {
        beemesh::fuzz::fail("a document's emitted YAML does not load");
      }
      if (!same_tree(*doc.tree, back)) {
        beemesh::fuzz::fail("a document's emitted YAML loads as another tree");
      }
    }
  } else if (parsed.error().code != "invalid_manifest") {
    beemesh::fuzz::fail("manifest rejection with a code other than invalid_manifest");
  }
  return 0;
}
