// manifest/yaml_emit.cpp — block YAML output that keeps strings strings (promise in
// yaml_emit.h).
#include "manifest/yaml_emit.h"

#include "manifest/text.h"

namespace beemesh::manifest {
namespace {

bool is_string_tag(const std::string& tag) {
  return tag == "!" || tag == "tag:yaml.org,2002:str";
}

bool safe_plain(const std::string& s);

// --- yaml-cpp's Emitter (any tree) ---------------------------------------------------------

void emit(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      // A string is left plain only when it is plainly a string: yaml-cpp writes some
      // strings plain that do not load back as written (a trailing space, say).
      if (is_string_tag(node.Tag()) &&
          (!plain_reads_as_string(node.Scalar()) || !safe_plain(node.Scalar()))) {
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

// --- the direct block writer ---------------------------------------------------------------

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Whether `s` can be written as a plain scalar in block context and reads back as exactly
// these bytes: [A-Za-z0-9/_] or '-'/'.' followed by [A-Za-z0-9] first (so never an
// indicator, "---" or "..."), then [A-Za-z0-9._/@+=,-], ':' not followed by a space or
// at the end, single inner spaces not followed by '#'. No '#', quotes, brackets, braces,
// '&', '*', '!', '|', '>', '%', '`', '?', control or non-ASCII bytes anywhere.
bool safe_plain(const std::string& s) {
  const size_t n = s.size();
  if (n == 0) return false;
  const char first = s[0];
  if (!is_alnum(first) && first != '/' && first != '_') {
    if ((first != '-' && first != '.') || n < 2 || !is_alnum(s[1])) return false;
  }
  for (size_t i = 1; i < n; ++i) {
    const char c = s[i];
    if (is_alnum(c)) continue;
    switch (c) {
      case '.':
      case '_':
      case '/':
      case '@':
      case '+':
      case '=':
      case ',':
      case '-':
        continue;
      case ':':
        if (i + 1 == n || s[i + 1] == ' ') return false;
        continue;
      case ' ':
        if (i + 1 == n || s[i + 1] == ' ' || s[i + 1] == '#') return false;
        continue;
      default:
        return false;
    }
  }
  return true;
}

bool ascii(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

void double_quoted(std::string& out, const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\x";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// A scalar on the current line; false when it is left to yaml-cpp.
bool scalar(std::string& out, const YAML::Node& node) {
  const std::string& value = node.Scalar();
  if (!ascii(value)) return false;
  if (is_string_tag(node.Tag())) {
    if (safe_plain(value) && plain_reads_as_string(value)) {
      out += value;
    } else {
      double_quoted(out, value);
    }
    return true;
  }
  // Written plain as given, so it resolves (number, bool, string ...) as it did.
  if (!safe_plain(value)) return false;
  out += value;
  return true;
}

bool empty_collection(const YAML::Node& node) {
  return (node.IsMap() || node.IsSequence()) && node.size() == 0;
}

// A value that fits on the current line: a scalar, null or an empty collection.
bool inline_value(std::string& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return scalar(out, node);
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out.push_back('~');
      return true;
    case YAML::NodeType::Sequence:
      out += "[]";
      return true;
    case YAML::NodeType::Map:
      out += "{}";
      return true;
  }
  return false;
}

void indent(std::string& out, int n) {
  out.append(static_cast<size_t>(n), ' ');
}

// A non-empty map or sequence at `level` spaces; the first line's indentation is already
// written when `continues_line` (after "- ").
bool block(std::string& out, const YAML::Node& node, int level, bool continues_line);

bool block_value(std::string& out, const YAML::Node& value, int level) {
  if (value.IsScalar() || value.IsNull() || !value.IsDefined() || empty_collection(value)) {
    out.push_back(' ');
    if (!inline_value(out, value)) return false;
    out.push_back('\n');
    return true;
  }
  out.push_back('\n');
  return block(out, value, level + 2, false);
}

bool block(std::string& out, const YAML::Node& node, int level, bool continues_line) {
  bool first = true;
  if (node.IsMap()) {
    for (const auto& entry : node) {
      if (!first || !continues_line) indent(out, level);
      first = false;
      if (!entry.first.IsScalar() || !scalar(out, entry.first)) return false;
      out.push_back(':');
      if (!block_value(out, entry.second, level)) return false;
    }
    return true;
  }
  for (const auto& item : node) {
    if (!first || !continues_line) indent(out, level);
    first = false;
    out += "- ";
    if (item.IsScalar() || item.IsNull() || !item.IsDefined() || empty_collection(item)) {
      if (!inline_value(out, item)) return false;
      out.push_back('\n');
    } else if (!block(out, item, level + 2, true)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> emit_yaml_direct(const YAML::Node& node) {
  std::string out;
  out.reserve(256);
  if ((node.IsMap() || node.IsSequence()) && node.size() > 0) {
    if (!block(out, node, 0, false)) return std::nullopt;
  } else {
    if (!inline_value(out, node)) return std::nullopt;
    out.push_back('\n');
  }
  return out;
}

std::string emit_yaml_generic(const YAML::Node& node) {
  YAML::Emitter out;
  emit(out, node);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text.push_back('\n');
  return text;
}

std::string emit_yaml(const YAML::Node& node) {
  if (auto direct = emit_yaml_direct(node)) return std::move(*direct);
  return emit_yaml_generic(node);
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
