#include "common/bytes.h"

#include <gtest/gtest.h>

namespace beemesh {
namespace {

TEST(Hex, RoundTripsArbitraryBytes) {
  Bytes data{0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(to_hex(data), "0001abff");
  auto back = from_hex("0001abff");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
}

TEST(Hex, RejectsOddLength) {
  auto r = from_hex("abc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_hex");
}

TEST(Hex, RejectsNonHexCharacterNamingItsOffset) {
  auto r = from_hex("00zz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "non-hex character at offset 2");
}

TEST(Result, CarriesValueOrError) {
  Result<int> good = 3;
  Result<int> bad = make_error("x", "y");
  EXPECT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().to_string(), "x: y");
}

}  // namespace
}  // namespace beemesh
