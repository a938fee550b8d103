// fuzz_manifest: the Kubernetes YAML manifest validator on arbitrary text.
// Property: parse() never crashes or throws; every rejection is "invalid_manifest".
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "manifest/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto parsed = beemesh::manifest::parse(yaml, "fuzz.yaml");
  if (!parsed.ok() && parsed.error().code != "invalid_manifest") {
    beemesh::fuzz::fail("manifest rejection with a code other than invalid_manifest");
  }
  return 0;
}
