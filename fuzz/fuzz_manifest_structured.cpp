// fuzz_manifest_structured: parse() on manifests built from the input by a small YAML
// grammar (manifest_grammar.h): Pod/Deployment documents with real and random fields,
// anchors, aliases, merge keys, deep nesting, huge scalars, many documents.
// Properties: parse() terminates (scripts/fuzz.sh runs it with -timeout and
// -rss_limit_mb, so a slow or memory-hungry input is a failure) and never crashes or
// throws; every rejection is "invalid_manifest"; a manifest holding a real anchor or
// alias, or larger than kMaxManifestBytes, is never accepted.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "manifest/manifest.h"
#include "manifest_grammar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  auto yaml = beemesh::fuzz::ManifestGrammar(in).build();
  auto parsed = beemesh::manifest::parse(yaml.text, "fuzz.yaml");
  if (parsed.ok()) {
    if (yaml.has_anchor_or_alias) beemesh::fuzz::fail("manifest with an anchor accepted");
    if (yaml.text.size() > beemesh::manifest::kMaxManifestBytes) {
      beemesh::fuzz::fail("manifest larger than the limit accepted");
    }
  } else if (parsed.error().code != "invalid_manifest") {
    beemesh::fuzz::fail("manifest rejection with a code other than invalid_manifest");
  }
  return 0;
}
