// manifest/quantity.cpp — Kubernetes quantity syntax ("64Mi", "500m", "1e3", "0.5").
//
// Grammar (as in k8s.io/apimachinery resource.Quantity):
//   quantity ::= [+-] number suffix
//   number   ::= digits | digits "." digits | digits "." | "." digits
//   suffix   ::= "" | Ki Mi Gi Ti Pi Ei | n u m k M G T P E | (e|E) [+-] digits
// The value is computed exactly (no floating point) and rounded up to a whole unit
// (bytes or millicores), as Kubernetes does ("0.1m" cpu is 1 millicore).
#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "manifest/manifest.h"
#include "manifest/text.h"

namespace beemesh::manifest {
namespace {

__extension__ using u128 = unsigned __int128;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr size_t kMaxSignificantDigits = 19;  // < 2^64, so digits x 2^60 fits in 128 bits
constexpr int kExponentCap = 10000;           // beyond this, the result is 0, 1 or overflow

struct Suffix {
  int exp10 = 0;
  int binary_shift = 0;  // multiply by 2^binary_shift
};

Error quantity_error(std::string_view reason, std::string_view quantity) {
  return make_error("invalid_quantity", std::string(reason) + ": " + quote(quantity));
}

std::optional<Suffix> parse_suffix(std::string_view s) {
  if (s.empty()) return Suffix{};
  static constexpr std::array<std::string_view, 6> kBinary{"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  for (size_t i = 0; i < kBinary.size(); ++i) {
    if (s == kBinary[i]) return Suffix{0, 10 * static_cast<int>(i + 1)};
  }
  if (s.size() == 1) {
    switch (s[0]) {
      case 'n':
        return Suffix{-9, 0};
      case 'u':
        return Suffix{-6, 0};
      case 'm':
        return Suffix{-3, 0};
      case 'k':
        return Suffix{3, 0};
      case 'M':
        return Suffix{6, 0};
      case 'G':
        return Suffix{9, 0};
      case 'T':
        return Suffix{12, 0};
      case 'P':
        return Suffix{15, 0};
      case 'E':
        return Suffix{18, 0};
      default:
        return std::nullopt;
    }
  }
  if (s[0] != 'e' && s[0] != 'E') return std::nullopt;
  std::string_view exp = s.substr(1);
  bool negative = false;
  if (!exp.empty() && (exp[0] == '+' || exp[0] == '-')) {
    negative = exp[0] == '-';
    exp.remove_prefix(1);
  }
  if (exp.empty()) return std::nullopt;
  for (char c : exp) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int value = 0;
  auto [ptr, ec] = std::from_chars(exp.data(), exp.data() + exp.size(), value);
  if (ec == std::errc::result_out_of_range || value > kExponentCap) value = kExponentCap;
  (void)ptr;
  return Suffix{negative ? -value : value, 0};
}

// ceil(digits x 10^exp10 x 2^shift), or nullopt when it does not fit in int64.
std::optional<int64_t> scale(uint64_t digits, int exp10, int shift) {
  if (digits == 0) return 0;
  if (exp10 >= 0) {
    u128 v = digits;
    for (int i = 0; i < exp10; ++i) {
      v *= 10;
      if (v > static_cast<u128>(kMax)) return std::nullopt;
    }
    v <<= shift;  // v <= 2^63 and shift <= 60: fits in 128 bits
    if (v > static_cast<u128>(kMax)) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  u128 numerator = static_cast<u128>(digits) << shift;  // < 2^64 x 2^60
  if (-exp10 > 38) return 1;  // 10^39 > 2^124 > numerator: a positive value below one unit
  u128 denominator = 1;
  for (int i = 0; i < -exp10; ++i) denominator *= 10;
  u128 q = numerator / denominator;
  if (numerator % denominator != 0) ++q;
  if (q > static_cast<u128>(kMax)) return std::nullopt;
  return static_cast<int64_t>(q);
}

// The quantity in units of 10^-unit_exp10 (0: bytes/cores, 3: millis), rounded up.
Result<int64_t> parse_quantity(std::string_view quantity, int unit_exp10) {
  std::string_view s = quantity;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  size_t pos = 0;
  std::string digits;
  int fraction_digits = 0;
  bool seen_dot = false;
  bool seen_digit = false;
  for (; pos < s.size(); ++pos) {
    char c = s[pos];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      seen_digit = true;
      if (seen_dot) ++fraction_digits;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
  }
  if (!seen_digit) return quantity_error("not a Kubernetes quantity", quantity);
  auto suffix = parse_suffix(s.substr(pos));
  if (!suffix) return quantity_error("not a Kubernetes quantity", quantity);

  // Significant digits only: leading zeros dropped, trailing zeros moved into the exponent.
  int exp10 = suffix->exp10 + unit_exp10 - fraction_digits;
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return 0;  // zero, whatever its sign
  if (negative) return quantity_error("must not be negative", quantity);
  digits.erase(0, first);
  while (digits.size() > 1 && digits.back() == '0') {
    digits.pop_back();
    ++exp10;
  }
  if (digits.size() > kMaxSignificantDigits) {
    return quantity_error("more than 19 significant digits", quantity);
  }
  uint64_t mantissa = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), mantissa);
  auto value = scale(mantissa, exp10, suffix->binary_shift);
  if (!value) return quantity_error("quantity out of range", quantity);
  return *value;
}

}  // namespace

Result<int64_t> parse_memory_bytes(std::string_view quantity) {
  return parse_quantity(quantity, 0);
}

Result<int64_t> parse_cpu_millis(std::string_view quantity) {
  return parse_quantity(quantity, 3);
}

}  // namespace beemesh::manifest
