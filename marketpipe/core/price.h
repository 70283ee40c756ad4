#ifndef MARKETPIPE_CORE_PRICE_H_
#define MARKETPIPE_CORE_PRICE_H_

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace marketpipe {

// A price in fixed point with exactly four decimals, stored as a count of 1e-4 units
// (Price::FromUnits(1872350) is 187.2350). Arithmetic and comparison are exact integer
// operations, so prices never pick up binary floating-point error.
//
// Parse and FromDouble only produce non-negative prices (a market price is never negative);
// FromUnits and subtraction may produce negative values, e.g. a price change.
class Price {
 public:
  static constexpr int64_t kUnitsPerWhole = 10'000;
  static constexpr int kDecimals = 4;

  enum class ParseMode {
    // More than four decimals is an error: the text would not be stored exactly.
    kStrict,
    // More than four decimals is rounded to four, half up (ties away from zero):
    // "1.23455" -> 1.2346, "1.23454999" -> 1.2345.
    kLenient,
  };

  // Zero.
  constexpr Price() = default;

  static constexpr Price FromUnits(int64_t units) { return Price(units); }
  static constexpr Price Max() { return Price(std::numeric_limits<int64_t>::max()); }

  // Parses plain decimal text: an optional '+', one or more digits, then optionally '.' and
  // one or more digits ("123.4567", "+0.5", "007"). Rejected with InvalidArgument: empty
  // text, a '-' sign (even "-0"), NaN/infinity, exponents ("1e2"), a missing digit on
  // either side of the point (".5", "5."), whitespace or any other character, and in
  // kStrict mode more than four decimals. A value above Max() (922337203685477.5807) is
  // OutOfRange. Every message quotes the offending text.
  static absl::StatusOr<Price> Parse(std::string_view text, ParseMode mode = ParseMode::kStrict);

  // Converts a double such as a JSON price. The double is read as the shortest decimal that
  // round-trips to it (the text a JSON encoder wrote: 187.235, not
  // 187.2349999999999994...), then rounded to four decimals half up as in kLenient, so
  // FromDouble(187.235) is exactly 187.2350. NaN and infinities are InvalidArgument, negative
  // values (other than -0.0, which is zero) InvalidArgument, values above Max() OutOfRange.
  static absl::StatusOr<Price> FromDouble(double value);

  // a + b and a - b, or OutOfRange when the result does not fit in int64 units.
  static absl::StatusOr<Price> CheckedAdd(Price a, Price b);
  static absl::StatusOr<Price> CheckedSub(Price a, Price b);

  constexpr int64_t units() const { return units_; }

  // Nearest double; for display and statistics only, never for storage.
  double ToDouble() const { return static_cast<double>(units_) / kUnitsPerWhole; }

  // Canonical text with exactly four decimals: "123.4500", "0.0001", "0.0000"; "-1.2500" for
  // negative values. For every non-negative price, Parse(p.ToString()) == p.
  std::string ToString() const;

  friend constexpr bool operator==(Price a, Price b) = default;
  friend constexpr std::strong_ordering operator<=>(Price a, Price b) = default;

  // Unchecked, like int64 arithmetic: the caller guarantees no overflow (use CheckedAdd /
  // CheckedSub when the operands are not known to be bounded, e.g. come from input).
  friend constexpr Price operator+(Price a, Price b) { return Price(a.units_ + b.units_); }
  friend constexpr Price operator-(Price a, Price b) { return Price(a.units_ - b.units_); }
  constexpr Price& operator+=(Price other) {
    units_ += other.units_;
    return *this;
  }
  constexpr Price& operator-=(Price other) {
    units_ -= other.units_;
    return *this;
  }

  template <typename H>
  friend H AbslHashValue(H h, Price p) {
    return H::combine(std::move(h), p.units_);
  }

 private:
  explicit constexpr Price(int64_t units) : units_(units) {}

  int64_t units_ = 0;
};

// Writes ToString() (so test failures print "187.2350", not bytes).
std::ostream& operator<<(std::ostream& os, Price price);

}  // namespace marketpipe

#endif  // MARKETPIPE_CORE_PRICE_H_
