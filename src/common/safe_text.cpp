#include "common/safe_text.h"

#include <cstdint>

namespace beemesh {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void escape_byte(std::string& out, uint8_t b) {
  out += "\\x";
  out += kHexDigits[b >> 4];
  out += kHexDigits[b & 0xf];
}

// Length of the valid UTF-8 sequence at text[i] and its code point; 0 when invalid.
size_t utf8_sequence(std::string_view text, size_t i, uint32_t& code_point) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[i + k]); };
  const uint8_t lead = byte(0);
  size_t len = 0;
  uint8_t low = 0x80;
  uint8_t high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    len = 2;
    code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3;
    code_point = lead & 0x0f;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4;
    code_point = lead & 0x07;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const uint8_t b = byte(k);
    const uint8_t lo = k == 1 ? low : 0x80;
    const uint8_t hi = k == 1 ? high : 0xbf;
    if (b < lo || b > hi) return 0;
    code_point = (code_point << 6) | (b & 0x3f);
  }
  return len;
}

// Characters that are valid UTF-8 but change how a terminal lays text out.
bool is_layout_control(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f || cp == 0x2028 ||
         cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

std::string escape(std::string_view text, size_t max, bool keep_lines) {
  std::string out;
  const size_t shown = text.size() > max ? max : text.size();
  out.reserve(shown + 16);
  size_t i = 0;
  while (i < shown) {
    const auto b = static_cast<uint8_t>(text[i]);
    if (b < 0x80) {
      if (b == '\n') {
        out += keep_lines ? "\n" : "\\n";
      } else if (b == '\t') {
        out += keep_lines ? "\t" : "\\t";
      } else if (b == '\r') {
        out += "\\r";
      } else if (b == '\\') {
        out += "\\\\";
      } else if (b < 0x20 || b == 0x7f) {
        escape_byte(out, b);
      } else {
        out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = utf8_sequence(text, i, cp);
    if (len == 0) {
      escape_byte(out, b);
      ++i;
      continue;
    }
    if (i + len > shown) break;  // the character would cross the limit
    if (is_layout_control(cp)) {
      for (size_t k = 0; k < len; ++k) escape_byte(out, static_cast<uint8_t>(text[i + k]));
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  if (text.size() > max) {
    out += "\u2026(" + std::to_string(text.size()) + " bytes)";
  }
  return out;
}

}  // namespace

std::string printable(std::string_view text, size_t max) {
  return escape(text, max, false);
}

std::string printable_lines(std::string_view text, size_t max) {
  return escape(text, max, true);
}

}  // namespace beemesh
