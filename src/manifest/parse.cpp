// manifest/parse.cpp — multi-document loading, error framing and cross-document checks.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>

#include "manifest/manifest.h"
#include "manifest/text.h"
#include "manifest/validate_document.h"

namespace beemesh::manifest {
namespace {

Error document_error(std::string_view source, int index, std::string_view message) {
  std::string text(source);
  text += " doc " + std::to_string(index) + ": ";
  text += message;
  return make_error("invalid_manifest", std::move(text));
}

// Ignores every event; used only to count how many documents parse before an error.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The 1-based number of the document in which the YAML syntax error lies.
int failing_document(const std::string& text) {
  std::istringstream stream(text);
  DocumentCounter counter;
  int complete = 0;
  try {
    YAML::Parser parser(stream);
    while (parser.HandleNextDocument(counter)) ++complete;
  } catch (const std::exception&) {
  }
  return complete + 1;
}

std::string syntax_reason(const YAML::Exception& e) {
  if (e.mark.is_null()) return "invalid YAML: " + e.msg;
  return "line " + std::to_string(e.mark.line + 1) + ", column " +
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
  Manifest manifest;
  manifest.source = std::string(source);
  std::string text(yaml);
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return document_error(source, failing_document(text), syntax_reason(e));
  } catch (const std::exception& e) {
    return document_error(source, failing_document(text), std::string("invalid YAML: ") + e.what());
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    int index = static_cast<int>(i) + 1;
    if (nodes[i].IsNull()) continue;  // empty document, e.g. after a trailing "---"
    try {
      auto doc = validate_document(nodes[i], index);
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

}  // namespace beemesh::manifest
