// manifest/pod_security_keys.cpp — key matching, boolean reading and refusal wording for
// the pod security checks.
#include "manifest/fields.h"
#include "manifest/pod_security_internal.h"

namespace beemesh::manifest::pod_security {
namespace {

bool is_quoted(const YAML::Node& node) {
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

}  // namespace

std::string fold_key(std::string_view key) {
  constexpr std::string_view kLongS = "\xC5\xBF";       // U+017F, folds to 's'
  constexpr std::string_view kKelvin = "\xE2\x84\xAA";  // U+212A, folds to 'k'
  std::string out;
  out.reserve(key.size());
  for (size_t i = 0; i < key.size(); ++i) {
    std::string_view rest = key.substr(i);
    if (rest.substr(0, kLongS.size()) == kLongS) {
      out.push_back('s');
      i += kLongS.size() - 1;
    } else if (rest.substr(0, kKelvin.size()) == kKelvin) {
      out.push_back('k');
      i += kKelvin.size() - 1;
    } else {
      char c = key[i];
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, YAML::Node>> fields_named(const YAML::Node& map,
                                                             std::string_view key) {
  std::vector<std::pair<std::string, YAML::Node>> out;
  if (!map.IsMap()) return out;
  const std::string wanted = fold_key(key);
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) continue;
    if (fold_key(entry.first.Scalar()) == wanted)
      out.emplace_back(entry.first.Scalar(), entry.second);
  }
  return out;
}

bool is_plain_bool(const YAML::Node& node, bool value) {
  if (!node.IsScalar() || is_quoted(node)) return false;
  bool decoded = false;
  return YAML::convert<bool>::decode(node, decoded) && decoded == value;
}

bool unset_or_false(const YAML::Node& node) {
  return !present(node) || is_plain_bool(node, false);
}

std::string text_of(const YAML::Node& node) {
  return node.IsScalar() ? node.Scalar() : std::string();
}

Error PodCheck::forbid(std::string_view path, std::string_view reason) const {
  std::string message = "doc " + std::to_string(doc) + ": ";
  message += path;
  message += ": ";
  message += reason;
  message += " (pod security \"";
  message += pod_security_level_name(level);
  message += "\")";
  return make_error(std::string(kForbiddenPodSecurity), std::move(message));
}

Result<void> PodCheck::need_map(const YAML::Node& node, std::string_view path) const {
  if (present(node) && !node.IsMap()) return forbid(path, "must be a map");
  return ok_result();
}

Result<void> PodCheck::need_list(const YAML::Node& node, std::string_view path) const {
  if (present(node) && !node.IsSequence()) return forbid(path, "must be a list");
  return ok_result();
}

namespace {

Result<void> collect(const PodCheck& check, const YAML::Node& node, const std::string& path,
                     const std::string_view* key, const std::string_view* end,
                     std::vector<Found>& out) {
  for (const auto& [written, value] : fields_named(node, *key)) {
    if (!present(value)) continue;
    std::string at = child_path(path, written);
    if (key + 1 == end) {
      out.push_back(Found{std::move(at), value});
      continue;
    }
    MANIFEST_TRY(check.need_map(value, at));
    MANIFEST_TRY(collect(check, value, at, key + 1, end, out));
  }
  return ok_result();
}

}  // namespace

Result<std::vector<Found>> find_all(const PodCheck& check, const YAML::Node& node,
                                    std::string_view path,
                                    std::initializer_list<std::string_view> keys) {
  std::vector<Found> out;
  if (keys.size() == 0) return out;
  MANIFEST_TRY(collect(check, node, std::string(path), keys.begin(), keys.end(), out));
  return out;
}

}  // namespace beemesh::manifest::pod_security
