#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "manifest/manifest.h"

namespace beemesh::manifest {
namespace {

struct QuantityCase {
  std::string text;
  int64_t value;
};

class MemoryQuantity : public ::testing::TestWithParam<QuantityCase> {};

TEST_P(MemoryQuantity, ParsesToBytes) {
  auto bytes = parse_memory_bytes(GetParam().text);
  ASSERT_TRUE(bytes.ok()) << bytes.error().to_string();
  EXPECT_EQ(*bytes, GetParam().value);
}

INSTANTIATE_TEST_SUITE_P(
    Table, MemoryQuantity,
    ::testing::Values(QuantityCase{"0", 0}, QuantityCase{"128974848", 128974848},
                      QuantityCase{"129e6", 129000000}, QuantityCase{"129M", 129000000},
                      QuantityCase{"123Mi", 128974848}, QuantityCase{"64Mi", 67108864},
                      QuantityCase{"1Ki", 1024}, QuantityCase{"1k", 1000},
                      QuantityCase{"1G", 1000000000}, QuantityCase{"1Gi", 1073741824},
                      QuantityCase{"1.5Gi", 1610612736}, QuantityCase{"1Ti", 1099511627776},
                      QuantityCase{"1e3", 1000}, QuantityCase{"1E3", 1000},
                      QuantityCase{"1E", 1000000000000000000},
                      QuantityCase{"7Ei", 8070450532247928832}, QuantityCase{".5Ki", 512},
                      QuantityCase{"2.", 2}, QuantityCase{"+1k", 1000},
                      QuantityCase{"500m", 1},  // rounds up to a byte
                      QuantityCase{"-0", 0}));

class CpuQuantity : public ::testing::TestWithParam<QuantityCase> {};

TEST_P(CpuQuantity, ParsesToMillicores) {
  auto millis = parse_cpu_millis(GetParam().text);
  ASSERT_TRUE(millis.ok()) << millis.error().to_string();
  EXPECT_EQ(*millis, GetParam().value);
}

INSTANTIATE_TEST_SUITE_P(Table, CpuQuantity,
                         ::testing::Values(QuantityCase{"500m", 500}, QuantityCase{"0.5", 500},
                                           QuantityCase{"2", 2000}, QuantityCase{"1.25", 1250},
                                           QuantityCase{"1e3", 1000000}, QuantityCase{"1e-3", 1},
                                           QuantityCase{"0.1m", 1}, QuantityCase{"100u", 1},
                                           QuantityCase{"250000u", 250},
                                           QuantityCase{"1k", 1000000}, QuantityCase{"0", 0}));

struct BadQuantityCase {
  std::string text;
  std::string message;
};

class BadQuantity : public ::testing::TestWithParam<BadQuantityCase> {};

TEST_P(BadQuantity, IsRejectedWithReason) {
  auto bytes = parse_memory_bytes(GetParam().text);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code, "invalid_quantity");
  EXPECT_EQ(bytes.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadQuantity,
    ::testing::Values(BadQuantityCase{"12XB", "not a Kubernetes quantity: '12XB'"},
                      BadQuantityCase{"", "not a Kubernetes quantity: ''"},
                      BadQuantityCase{"Mi", "not a Kubernetes quantity: 'Mi'"},
                      BadQuantityCase{"1K", "not a Kubernetes quantity: '1K'"},
                      BadQuantityCase{"1mi", "not a Kubernetes quantity: '1mi'"},
                      BadQuantityCase{"1 Mi", "not a Kubernetes quantity: '1 Mi'"},
                      BadQuantityCase{"1e", "not a Kubernetes quantity: '1e'"},
                      BadQuantityCase{"1.2.3", "not a Kubernetes quantity: '1.2.3'"},
                      BadQuantityCase{".", "not a Kubernetes quantity: '.'"},
                      BadQuantityCase{"0x10", "not a Kubernetes quantity: '0x10'"},
                      BadQuantityCase{"-64Mi", "must not be negative: '-64Mi'"},
                      BadQuantityCase{"8Ei", "quantity out of range: '8Ei'"},
                      BadQuantityCase{"1e400", "quantity out of range: '1e400'"},
                      BadQuantityCase{"1.00000000000000000001",
                                      "more than 19 significant digits: "
                                      "'1.00000000000000000001'"}));

TEST(Quantity, LargestMemoryValueFitsInt64) {
  auto bytes = parse_memory_bytes("9223372036854775807");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, INT64_MAX);
}

TEST(Quantity, OneBeyondInt64IsOutOfRange) {
  auto bytes = parse_memory_bytes("9223372036854775808");
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().message, "quantity out of range: '9223372036854775808'");
}

TEST(Quantity, TinyExponentRoundsUpToOneUnit) {
  auto bytes = parse_memory_bytes("1e-100");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, 1);
}

}  // namespace
}  // namespace beemesh::manifest
