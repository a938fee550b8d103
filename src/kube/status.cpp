#include "kube/status.h"

namespace beemesh::kube {

namespace {

// "request doc 1: spec.template.spec.containers[0].image: missing" -> field, reason.
bool split_field(const std::string& message, std::string& field, std::string& reason) {
  auto doc = message.find(" doc ");
  if (doc == std::string::npos) return false;
  auto colon = message.find(": ", doc);
  if (colon == std::string::npos) return false;
  auto rest = message.substr(colon + 2);
  auto sep = rest.find(": ");
  if (sep == std::string::npos || sep == 0) return false;
  field = rest.substr(0, sep);
  if (field.find(' ') != std::string::npos) return false;  // "line 3, column 1: ..."
  reason = rest.substr(sep + 2);
  return true;
}

std::string qualified_kind(const Subject& s) {
  if (s.kind.empty()) return s.resource;
  return s.group.empty() ? s.kind : s.kind + "." + s.group;
}

std::string qualified_resource(const Subject& s) {
  return s.group.empty() ? s.resource : s.resource + "." + s.group;
}

}  // namespace

StatusMapping status_for(std::string_view code) {
  for (const auto& m : kStatusTable) {
    if (m.code == code) return m;
  }
  return StatusMapping{code, 500, "InternalError"};
}

Json status_object(const Error& error, const Subject& subject) {
  auto mapping = status_for(error.code);
  std::string message = error.message.empty() ? error.code : error.message;
  Json details = Json::object();
  if (!subject.name.empty()) details["name"] = subject.name;
  if (!subject.group.empty()) details["group"] = subject.group;
  if (!subject.resource.empty()) details["kind"] = subject.resource;
  std::string field;
  std::string reason;
  if (mapping.reason == "Invalid" && split_field(message, field, reason)) {
    details["kind"] = subject.kind.empty() ? subject.resource : subject.kind;
    const bool missing = reason == "missing";
    std::string text = missing ? "Required value" : "Invalid value: " + reason;
    details["causes"] =
        Json::array({{{"reason", missing ? "FieldValueRequired" : "FieldValueInvalid"},
                      {"message", text},
                      {"field", field}}});
    message =
        qualified_kind(subject) + " \"" + subject.name + "\" is invalid: " + field + ": " + text;
  } else if (mapping.reason == "NotFound" && !subject.name.empty()) {
    message = qualified_resource(subject) + " \"" + subject.name + "\" not found";
  } else if (mapping.reason == "AlreadyExists" && !subject.name.empty()) {
    message = qualified_resource(subject) + " \"" + subject.name + "\" already exists";
  } else if (mapping.reason == "Forbidden" && !subject.resource.empty()) {
    message = qualified_resource(subject) +
              (subject.name.empty() ? "" : " \"" + subject.name + "\"") +
              " is forbidden: " + message;
  }
  return Json{{"kind", "Status"},           {"apiVersion", "v1"},
              {"metadata", Json::object()}, {"status", "Failure"},
              {"message", message},         {"reason", std::string(mapping.reason)},
              {"details", details},         {"code", mapping.http_status}};
}

int http_status(const Json& status) {
  auto it = status.find("code");
  return it != status.end() && it->is_number_integer() ? it->get<int>() : 500;
}

Json success_status(const Subject& subject) {
  Json details{{"name", subject.name}, {"kind", subject.resource}};
  if (!subject.group.empty()) details["group"] = subject.group;
  return Json{{"kind", "Status"},
              {"apiVersion", "v1"},
              {"metadata", Json::object()},
              {"status", "Success"},
              {"details", details}};
}

}  // namespace beemesh::kube
