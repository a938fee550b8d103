// manifest/parse.cpp — multi-document loading, error framing and cross-document checks.
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>
#include <string_view>
#include <vector>

#include "manifest/manifest.h"
#include "manifest/text.h"
#include "manifest/validate_document.h"
#include "manifest/yaml_limits.h"

namespace beemesh::manifest {
namespace {

Error document_error(std::string_view source, int index, std::string_view message) {
  std::string text(source);
  text += " doc " + std::to_string(index) + ": ";
  text += message;
  return make_error("invalid_manifest", std::move(text));
}

// One "---"-separated part of the source and the 0-based line it starts on.
struct Part {
  std::string text;
  int first_line = 0;
};

bool is_document_marker(std::string_view line) {
  return line.substr(0, 3) == "---" &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
}

bool blank_or_comment(std::string_view text) {
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    auto first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line[first] != '#' && line[first] != '%') return false;
  }
  return true;
}

// Splits at document markers ourselves and loads each part with YAML::Load: yaml-cpp
// 0.7's LoadAll never returns on some malformed input (e.g. ","), Load does. Stops once
// there are more parts than kMaxManifestDocuments allows.
std::vector<Part> split_documents(const std::string& text) {
  constexpr size_t kEnough = kMaxManifestDocuments + 2;  // + a blank leading part + 1
  std::vector<Part> parts(1);
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    if (is_document_marker(line)) {
      if (parts.size() == kEnough) break;
      parts.push_back({line.substr(3) + "\n", number});
    } else {
      parts.back().text += line + "\n";
    }
    ++number;
  }
  // Text before the first marker is a document only if it holds something.
  if (parts.size() > 1 && blank_or_comment(parts.front().text)) parts.erase(parts.begin());
  return parts;
}

std::string syntax_reason(const YAML::Exception& e, int first_line) {
  if (e.mark.is_null()) return "invalid YAML: " + e.msg;
  return "line " + std::to_string(first_line + e.mark.line + 1) + ", column " +
         std::to_string(e.mark.column + 1) + ": " + e.msg;
}

// Two workload documents of one manifest would give Pods of the same name; two
// ConfigMaps (or Secrets) of the same name would overwrite each other.
Result<void> check_unique_names(const Manifest& manifest) {
  std::map<std::string, int> seen;  // "<group>/<name>" -> document index
  for (const auto& doc : manifest.documents) {
    std::string group = doc.is_workload() ? "workload" : doc.kind;
    auto [it, inserted] = seen.emplace(group + "/" + doc.name, doc.index);
    if (!inserted) {
      std::string what = doc.is_workload() ? "workload" : doc.kind;
      return document_error(manifest.source, doc.index,
                            "metadata.name: duplicate " + what + " name " + quote(doc.name) +
                                " (doc " + std::to_string(it->second) + ")");
    }
  }
  return ok_result();
}

}  // namespace

Result<Manifest> parse(std::string_view yaml, std::string_view source) {
  if (yaml.size() > kMaxManifestBytes) {
    return make_error("invalid_manifest", std::string(source) + ": larger than " +
                                              std::to_string(kMaxManifestBytes) + " bytes");
  }
  Manifest manifest;
  manifest.source = std::string(source);
  manifest.text = std::string(yaml);
  auto parts = split_documents(std::string(yaml));
  if (parts.size() > static_cast<size_t>(kMaxManifestDocuments)) {
    return make_error("invalid_manifest", std::string(source) + ": more than " +
                                              std::to_string(kMaxManifestDocuments) + " documents");
  }
  size_t nodes = 0;  // over all documents, for kMaxYamlNodes
  for (size_t i = 0; i < parts.size(); ++i) {
    int index = static_cast<int>(i) + 1;
    YAML::Node node;
    try {
      // The limits first, on the event stream: YAML::Load expands aliases as it builds.
      if (auto problem = check_yaml_limits(parts[i].text, parts[i].first_line, nodes)) {
        return make_error("invalid_manifest",
                          std::string(source) + " doc " + std::to_string(index) + " line " +
                              std::to_string(problem->line) + ": " + problem->reason);
      }
      node = YAML::Load(parts[i].text);
    } catch (const YAML::Exception& e) {
      return document_error(source, index, syntax_reason(e, parts[i].first_line));
    } catch (const std::exception& e) {
      return document_error(source, index, std::string("invalid YAML: ") + e.what());
    }
    if (node.IsNull()) continue;  // empty document, e.g. after a trailing "---"
    try {
      auto doc = validate_document(node, index);
      if (!doc) return document_error(source, index, doc.error().message);
      manifest.documents.push_back(std::move(*doc));
    } catch (const std::exception& e) {
      return document_error(source, index, std::string("(root): ") + e.what());
    }
  }
  if (manifest.documents.empty()) {
    return make_error("invalid_manifest", std::string(source) + ": no documents");
  }
  if (auto unique = check_unique_names(manifest); !unique) return unique.error();
  return manifest;
}

Result<SharedManifest> parse_shared(std::string_view yaml, std::string_view source) {
  auto parsed = parse(yaml, source);
  if (!parsed) return parsed.error();
  return SharedManifest(std::make_shared<const Manifest>(std::move(*parsed)));
}

}  // namespace beemesh::manifest
