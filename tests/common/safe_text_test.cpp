#include "common/safe_text.h"

#include <gtest/gtest.h>

#include <string>

namespace beemesh {
namespace {

bool has_control_byte(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

TEST(Printable, KeepsPlainTextAsItIs) {
  EXPECT_EQ(printable("node-a 127.0.0.1:7401 (ok)"), "node-a 127.0.0.1:7401 (ok)");
}

TEST(Printable, KeepsValidMultibyteCharacters) {
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x9d"),
            "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x9d");
}

TEST(Printable, EscapesAnEscapeSequence) {
  std::string out = printable("\x1b]0;pwned\x07\x1b[2Jname");
  EXPECT_EQ(out, "\\x1b]0;pwned\\x07\\x1b[2Jname");
  EXPECT_FALSE(has_control_byte(out));
}

TEST(Printable, EscapesNewlineCarriageReturnAndTab) {
  EXPECT_EQ(printable("a\nb\rc\td"), "a\\nb\\rc\\td");
}

TEST(Printable, EscapesNulAndDelete) {
  EXPECT_EQ(printable(std::string("a\0b\x7f", 4)), "a\\x00b\\x7f");
}

TEST(Printable, DoublesABackslashSoEscapesCannotBeForged) {
  EXPECT_EQ(printable("\\x1b"), "\\\\x1b");
}

TEST(Printable, EscapesC1ControlsEncodedAsUtf8) {
  EXPECT_EQ(printable("a\xc2\x9b"
                      "31mb"),
            "a\\xc2\\x9b31mb");  // U+009B CSI
}

TEST(Printable, EscapesBidiOverridesAndLineSeparators) {
  EXPECT_EQ(printable("x\xe2\x80\xaey"), "x\\xe2\\x80\\xaey");  // U+202E
  EXPECT_EQ(printable("x\xe2\x81\xa6y"), "x\\xe2\\x81\\xa6y");  // U+2066
  EXPECT_EQ(printable("x\xe2\x80\xa8y"), "x\\xe2\\x80\\xa8y");  // U+2028
}

TEST(Printable, EscapesEveryByteOfInvalidUtf8) {
  EXPECT_EQ(printable("a\x9b"
                      "b"),
            "a\\x9bb");                                     // stray continuation byte
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(printable("ok\xe2\x9c"), "ok\\xe2\\x9c");       // truncated sequence
  EXPECT_EQ(printable("\xf5\x80\x80\x80"), "\\xf5\\x80\\x80\\x80");
}

TEST(Printable, TruncatesLongTextAndSaysHowLongItWas) {
  std::string long_text(5000, 'a');
  EXPECT_EQ(printable(long_text, 8), "aaaaaaaa\u2026(5000 bytes)");
}

TEST(Printable, TextOfExactlyTheLimitIsNotTruncated) {
  EXPECT_EQ(printable("abcd", 4), "abcd");
}

TEST(Printable, TruncationNeverSplitsACharacter) {
  EXPECT_EQ(printable("ab\xc3\xa9", 3), "ab\u2026(4 bytes)");
}

TEST(Printable, DefaultLimitBoundsTheOutputOfHugeHostileInput) {
  std::string hostile(4 * 1024 * 1024, '\x1b');
  std::string out = printable(hostile);
  EXPECT_LE(out.size(), 4 * kPrintableDefaultMax + 32);
  EXPECT_FALSE(has_control_byte(out));
  EXPECT_NE(out.find("(4194304 bytes)"), std::string::npos);
}

TEST(PrintableLines, KeepsNewlinesAndTabsButEscapesEscapes) {
  EXPECT_EQ(printable_lines("line 1\n\tline 2\x1b[31m\n"), "line 1\n\tline 2\\x1b[31m\n");
}

TEST(PrintableLines, EscapesCarriageReturnSoALineCannotBeOverwritten) {
  EXPECT_EQ(printable_lines("real\rfake\n"), "real\\rfake\n");
}

TEST(PrintableLines, HasNoLimitByDefault) {
  std::string text(100'000, 'x');
  EXPECT_EQ(printable_lines(text), text);
}

}  // namespace
}  // namespace beemesh
