// manifest/validate_document.h — internal: validation of one non-empty YAML document
// (any supported kind) into a Document. Errors are "<field.path>: <reason>".
#pragma once

#include <yaml-cpp/yaml.h>

#include "common/result.h"
#include "manifest/manifest.h"

namespace beemesh::manifest {

inline constexpr int kMaxReplicas = 10000;

// Validates `node` (string fields are marked so that Document::yaml keeps them strings).
Result<Document> validate_document(const YAML::Node& node, int index);

// A private, modifiable copy of `doc`'s tree: YAML::Clone of Document::tree, else
// YAML::Load of Document::yaml (may throw YAML::Exception). Empty `yaml` and no tree: Null.
YAML::Node document_tree(const Document& doc);

}  // namespace beemesh::manifest
