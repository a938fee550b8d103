// manifest/fields.h — internal: typed access to the fields of a parsed YAML document.
// Every failure is an Error{"invalid_manifest", "<field.path>: <reason>"}; parse() puts
// "<source> doc <n>: " in front. A field that is missing or null is "missing".
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

// Internal early-return helpers for Result values.
#define MANIFEST_CONCAT_INNER(a, b) a##b
#define MANIFEST_CONCAT(a, b) MANIFEST_CONCAT_INNER(a, b)
#define MANIFEST_TRY(expr)                                  \
  do {                                                      \
    if (auto manifest_try_ = (expr); !manifest_try_.ok()) { \
      return manifest_try_.error();                         \
    }                                                       \
  } while (0)
#define MANIFEST_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                         \
  if (!tmp.ok()) return tmp.error();         \
  lhs = std::move(*tmp)
#define MANIFEST_ASSIGN(lhs, expr) \
  MANIFEST_ASSIGN_IMPL(MANIFEST_CONCAT(manifest_assign_, __LINE__), lhs, expr)

namespace beemesh::manifest {

Error field_error(std::string_view path, std::string_view reason);
std::string child_path(std::string_view path, std::string_view key);
std::string item_path(std::string_view path, size_t index);

// False when the node is undefined (key absent) or null.
bool present(const YAML::Node& node);
// map[key]; an undefined node when the key is absent. `map` must be a map.
YAML::Node member(const YAML::Node& map, std::string_view key);

Result<void> expect_map(const YAML::Node& node, std::string_view path);
Result<void> expect_list(const YAML::Node& node, std::string_view path);
// A scalar; marked so that it is written back as a string.
Result<std::string> string_field(const YAML::Node& node, std::string_view path);
// A scalar as written, left untouched (quantities may be numbers or strings).
Result<std::string> scalar_field(const YAML::Node& node, std::string_view path);
// A plain decimal integer; values beyond int64 are clamped (so range checks still fail).
Result<int64_t> int_field(const YAML::Node& node, std::string_view path);
Result<std::vector<std::string>> string_list(const YAML::Node& node, std::string_view path);
Result<std::map<std::string, std::string>> string_map(const YAML::Node& node,
                                                      std::string_view path);

// Rejects duplicate or non-scalar keys anywhere below `node`.
Result<void> check_keys(const YAML::Node& node, std::string_view path);

}  // namespace beemesh::manifest
