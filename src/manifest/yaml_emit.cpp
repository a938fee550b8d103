// manifest/yaml_emit.cpp — block YAML output that keeps strings strings.
#include "manifest/yaml_emit.h"

#include "manifest/text.h"

namespace beemesh::manifest {
namespace {

bool is_string_tag(const std::string& tag) {
  return tag == "!" || tag == "tag:yaml.org,2002:str";
}

void emit(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      if (is_string_tag(node.Tag()) && !plain_reads_as_string(node.Scalar())) {
        out << YAML::DoubleQuoted << node.Scalar();
      } else {
        out << node.Scalar();
      }
      break;
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (const auto& item : node) emit(out, item);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (const auto& entry : node) {
        out << YAML::Key;
        emit(out, entry.first);
        out << YAML::Value;
        emit(out, entry.second);
      }
      out << YAML::EndMap;
      break;
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out << YAML::Null;
      break;
  }
}

}  // namespace

std::string emit_yaml(const YAML::Node& node) {
  YAML::Emitter out;
  emit(out, node);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text.push_back('\n');
  return text;
}

YAML::Node string_node(const std::string& value) {
  YAML::Node node(value);
  node.SetTag("!");
  return node;
}

void mark_string(YAML::Node node) {
  if (node.IsScalar() && !is_string_tag(node.Tag())) node.SetTag("!");
}

}  // namespace beemesh::manifest
