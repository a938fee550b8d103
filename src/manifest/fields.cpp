// manifest/fields.cpp — typed access to YAML fields with path-naming errors.
#include "manifest/fields.h"

#include <charconv>
#include <limits>
#include <set>

#include "manifest/text.h"
#include "manifest/yaml_emit.h"

namespace beemesh::manifest {
namespace {

bool is_quoted(const YAML::Node& node) {
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

bool is_decimal_integer(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Error field_error(std::string_view path, std::string_view reason) {
  std::string message(path.empty() ? "(root)" : path);
  message += ": ";
  message += reason;
  return make_error("invalid_manifest", std::move(message));
}

std::string child_path(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

std::string item_path(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

bool present(const YAML::Node& node) {
  return node.IsDefined() && !node.IsNull();
}

YAML::Node member(const YAML::Node& map, std::string_view key) {
  const YAML::Node& const_map = map;
  return const_map[std::string(key)];
}

Result<void> expect_map(const YAML::Node& node, std::string_view path) {
  if (!present(node)) return field_error(path, "missing");
  if (!node.IsMap()) return field_error(path, "must be a map");
  return ok_result();
}

Result<void> expect_list(const YAML::Node& node, std::string_view path) {
  if (!present(node)) return field_error(path, "missing");
  if (!node.IsSequence()) return field_error(path, "must be a list");
  return ok_result();
}

Result<std::string> string_field(const YAML::Node& node, std::string_view path) {
  MANIFEST_ASSIGN(std::string value, scalar_field(node, path));
  mark_string(node);
  return value;
}

Result<std::string> scalar_field(const YAML::Node& node, std::string_view path) {
  if (!present(node)) return field_error(path, "missing");
  if (!node.IsScalar()) return field_error(path, "must be a string");
  return node.Scalar();
}

Result<int64_t> int_field(const YAML::Node& node, std::string_view path) {
  if (!present(node)) return field_error(path, "missing");
  if (!node.IsScalar()) return field_error(path, "must be an integer");
  const std::string& text = node.Scalar();
  if (!is_decimal_integer(text)) return field_error(path, "must be an integer: " + quote(text));
  if (is_quoted(node)) {
    return field_error(path, "must be an integer, not a quoted string: " + quote(text));
  }
  std::string_view digits = text;
  if (digits[0] == '+') digits.remove_prefix(1);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  (void)ptr;
  if (ec == std::errc::result_out_of_range) {
    value = digits[0] == '-' ? std::numeric_limits<int64_t>::min()
                             : std::numeric_limits<int64_t>::max();
  }
  return value;
}

Result<std::vector<std::string>> string_list(const YAML::Node& node, std::string_view path) {
  if (!node.IsSequence()) return field_error(path, "must be a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    MANIFEST_ASSIGN(std::string item, string_field(node[i], item_path(path, i)));
    out.push_back(std::move(item));
  }
  return out;
}

Result<std::map<std::string, std::string>> string_map(const YAML::Node& node,
                                                      std::string_view path) {
  if (!node.IsMap()) return field_error(path, "must be a map");
  std::map<std::string, std::string> out;
  for (const auto& entry : node) {
    const std::string& key = entry.first.Scalar();
    MANIFEST_ASSIGN(std::string value, string_field(entry.second, child_path(path, key)));
    out[key] = std::move(value);
  }
  return out;
}

Result<void> check_keys(const YAML::Node& node, std::string_view path) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) MANIFEST_TRY(check_keys(node[i], item_path(path, i)));
  } else if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) return field_error(path, "keys must be strings");
      const std::string& key = entry.first.Scalar();
      if (!seen.insert(key).second) return field_error(path, "duplicate key " + quote(key));
      MANIFEST_TRY(check_keys(entry.second, child_path(path, key)));
    }
  }
  return ok_result();
}

}  // namespace beemesh::manifest
