// manifest/text.cpp — string rules of Kubernetes objects and message quoting.
#include "manifest/text.h"

#include <sodium.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <vector>

namespace beemesh::manifest {
namespace {

constexpr size_t kQuoteLimit = 64;

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? of at most 63 characters.
bool is_qualified_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// DNS-1123 subdomain: dot-separated labels, at most 253 characters.
bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!is_dns_label(s.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

std::string quote(std::string_view value) {
  std::string out = "'";
  size_t n = 0;
  for (char c : value) {
    if (n++ == kQuoteLimit) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      std::array<char, 5> hex{};
      std::snprintf(hex.data(), hex.size(), "\\x%02x", u);
      out += hex.data();
    } else {
      out += c;
    }
  }
  return out + "'";
}

bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  for (char c : s) {
    if (!is_lower_alnum(c) && c != '-') return false;
  }
  return true;
}

std::optional<std::string> dns_label_problem(std::string_view s) {
  if (is_dns_label(s)) return std::nullopt;
  if (s.size() > 63) return "not a valid DNS label (longer than 63 characters): " + quote(s);
  return "not a valid DNS label: " + quote(s);
}

bool is_label_key(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return is_qualified_name(s);
  return is_dns_subdomain(s.substr(0, slash)) && is_qualified_name(s.substr(slash + 1));
}

bool is_label_value(std::string_view s) {
  return s.empty() || is_qualified_name(s);
}

bool is_data_key(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return s != "." && s != "..";
}

bool is_base64(std::string_view s) {
  if (s.empty()) return true;
  if (s.size() % 4 != 0) return false;
  std::vector<unsigned char> out(s.size() / 4 * 3 + 3);
  size_t len = 0;
  return sodium_base642bin(out.data(), out.size(), s.data(), s.size(), nullptr, &len, nullptr,
                           sodium_base64_VARIANT_ORIGINAL) == 0;
}

bool plain_reads_as_string(std::string_view s) {
  if (s.empty()) return false;
  char first = s.front();
  if (!std::isalpha(static_cast<unsigned char>(first))) return false;  // numbers, .inf, ~
  std::string lower;
  for (char c : s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  static constexpr std::array<std::string_view, 9> kNonStrings{"y",   "n",    "yes",   "no",  "on",
                                                               "off", "true", "false", "null"};
  for (auto word : kNonStrings) {
    if (lower == word) return false;
  }
  return true;
}

}  // namespace beemesh::manifest
