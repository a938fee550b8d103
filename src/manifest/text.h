// manifest/text.h — internal: the string rules of Kubernetes objects (DNS labels, label
// keys and values, base64, data keys) and quoting of values inside error messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace beemesh::manifest {

// 'value' for an error message: control characters escaped, cut after 64 characters.
std::string quote(std::string_view value);

// RFC 1123 label: 1..63 of [a-z0-9-], starting and ending with [a-z0-9].
bool is_dns_label(std::string_view s);
// The reason a DNS label is rejected ("not a valid DNS label: 'Foo_Bar'"), or nullopt.
std::optional<std::string> dns_label_problem(std::string_view s);

// Kubernetes label key: [prefix/]name, prefix a DNS subdomain (<= 253), name <= 63 of
// [A-Za-z0-9-_.] starting and ending alphanumeric. Label value: the same as name, or empty.
bool is_label_key(std::string_view s);
bool is_label_value(std::string_view s);

// ConfigMap/Secret data key: 1..253 of [-._a-zA-Z0-9].
bool is_data_key(std::string_view s);

// Standard base64 with padding (Secret data), no whitespace.
bool is_base64(std::string_view s);

// Whether `s` written as a plain YAML scalar reads back as a string under YAML 1.1 and 1.2
// (so not a number, bool or null). Conservative: false means "quote it".
bool plain_reads_as_string(std::string_view s);

}  // namespace beemesh::manifest
