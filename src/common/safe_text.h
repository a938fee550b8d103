// common/safe_text.h — text that came from elsewhere (a remote node, a container, a
// request), made safe to print on a terminal or write into a log line.
//
// Usage:
//   spdlog::warn("refused apply from {}: {}", printable(peer_name, 64), printable(message));
//   out << printable_lines(container_logs);   // keeps line breaks, escapes the rest
//
// Promise:
//  * printable() returns one line of valid UTF-8 without any control character: every byte
//    of a C0 control (0x00..0x1f) or DEL is written as \xNN, except newline, carriage
//    return and tab which become \n, \r and \t; a backslash becomes \\ (so the escaping is
//    unambiguous); every byte of invalid UTF-8 (overlong forms, surrogates, stray
//    continuation bytes, truncated sequences) and of characters that change how a terminal
//    shows text — C1 controls (U+0080..U+009F), U+2028/U+2029 line and paragraph
//    separators, bidirectional marks, embeddings, overrides and isolates (U+200E, U+200F,
//    U+202A..U+202E, U+2066..U+2069) — is written as \xNN. Every other character is kept.
//  * Input longer than `max` bytes: only its first `max` bytes (cut before a character
//    that would cross the limit) are shown, followed by "…(N bytes)" with N the full size.
//    So the result is at most 4 * max + 32 bytes long.
//  * printable_lines() is the same but keeps newline and tab as they are (for multi-line
//    text such as logs); a carriage return is still escaped, so no line can overwrite
//    another on a terminal.
//  * Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace beemesh {

inline constexpr size_t kPrintableDefaultMax = 512;

std::string printable(std::string_view text, size_t max = kPrintableDefaultMax);
std::string printable_lines(std::string_view text, size_t max = std::numeric_limits<size_t>::max());

}  // namespace beemesh
