#include "marketpipe/core/price.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/core/quote.h"

namespace marketpipe {
namespace {

using core_internal::Quote;

constexpr uint64_t kMaxUnits = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// The largest integer part a price can have: Max() is 922337203685477.5807.
constexpr int kMaxIntegerDigits = 15;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::Status Invalid(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid price ", Quote(text), ": ", std::string(why)));
}

absl::Status TooLarge(std::string_view text) {
  return absl::OutOfRangeError(
      absl::StrCat("price ", Quote(text), " exceeds the maximum price ", Price::Max().ToString()));
}

// The shortest text that reads back as `value` ("187.235", "1e+300"), for messages.
std::string ShortestText(double value) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc()) return "<unprintable double>";
  return std::string(buf, end);
}

}  // namespace

absl::StatusOr<Price> Price::Parse(std::string_view text, ParseMode mode) {
  if (text.empty()) return Invalid(text, "empty");

  std::string_view body = text;
  const bool minus = body.front() == '-';
  if (minus || body.front() == '+') body.remove_prefix(1);
  // Debian's Abseil has its own string_view type: convert explicitly.
  const absl::string_view word(body.data(), body.size());
  if (absl::EqualsIgnoreCase(word, "nan") || absl::EqualsIgnoreCase(word, "inf") ||
      absl::EqualsIgnoreCase(word, "infinity")) {
    return Invalid(text, "not a finite number");
  }
  if (minus) return Invalid(text, "negative prices are not allowed");

  // Syntax first, so malformed text is InvalidArgument even when it is also huge.
  size_t pos = 0;
  while (pos < body.size() && IsDigit(body[pos])) ++pos;
  const std::string_view integer_digits = body.substr(0, pos);
  std::string_view fraction_digits;
  if (pos < body.size() && body[pos] == '.') {
    const size_t start = ++pos;
    while (pos < body.size() && IsDigit(body[pos])) ++pos;
    fraction_digits = body.substr(start, pos - start);
    if (integer_digits.empty()) return Invalid(text, "missing digits before the decimal point");
    if (fraction_digits.empty()) return Invalid(text, "missing digits after the decimal point");
  }
  if (pos < body.size()) {
    const char c = body[pos];
    if ((c == 'e' || c == 'E') && !integer_digits.empty()) {
      return Invalid(text, "exponent notation is not supported; write plain decimal digits");
    }
    const size_t position = pos + (text.size() - body.size());
    return Invalid(text, absl::StrCat("unexpected character ", Quote(std::string_view(&c, 1)),
                                      " at position ", position));
  }
  if (integer_digits.empty()) return Invalid(text, "no digits");
  if (mode == ParseMode::kStrict && fraction_digits.size() > kDecimals) {
    return Invalid(text, absl::StrCat("more than ", kDecimals, " decimal places (",
                                      fraction_digits.size(), "); use lenient mode to round"));
  }

  std::string_view significant = integer_digits;
  while (significant.size() > 1 && significant.front() == '0') significant.remove_prefix(1);
  if (significant.size() > kMaxIntegerDigits) return TooLarge(text);

  // At most 15 + 4 digits: below 1e19, so no uint64 overflow before the range check.
  uint64_t units = 0;
  for (char c : significant) units = units * 10 + static_cast<uint64_t>(c - '0');
  for (size_t i = 0; i < static_cast<size_t>(kDecimals); ++i) {
    const uint64_t digit =
        i < fraction_digits.size() ? static_cast<uint64_t>(fraction_digits[i] - '0') : 0;
    units = units * 10 + digit;
  }
  // Half up: only the first dropped digit decides (>= 5 means the rest is >= half a unit).
  if (fraction_digits.size() > kDecimals && fraction_digits[kDecimals] >= '5') ++units;
  if (units > kMaxUnits) return TooLarge(text);
  return Price(static_cast<int64_t>(units));
}

absl::StatusOr<Price> Price::FromDouble(double value) {
  if (std::isnan(value) || std::isinf(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid price ", Quote(ShortestText(value)), ": not a finite number"));
  }
  if (value < 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid price ", Quote(ShortestText(value)),
                                                   ": negative prices are not allowed"));
  }
  // Bounds the fixed-notation text below; anything this large overflows anyway.
  if (value >= 1e16) return TooLarge(ShortestText(value));
  if (value == 0) return Price();  // Also -0.0, whose text would carry a '-'.

  // Shortest round-trip digits in plain notation: at most 16 integer digits, and for the
  // smallest subnormal about 330 fraction digits.
  char buf[512];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
  if (ec != std::errc()) {
    return absl::InternalError(absl::StrCat("cannot format price ", ShortestText(value)));
  }
  absl::StatusOr<Price> price = Parse(std::string_view(buf, end - buf), ParseMode::kLenient);
  if (!price.ok() && absl::IsOutOfRange(price.status())) return TooLarge(ShortestText(value));
  return price;
}

absl::StatusOr<Price> Price::CheckedAdd(Price a, Price b) {
  int64_t sum;
  if (__builtin_add_overflow(a.units_, b.units_, &sum)) {
    return absl::OutOfRangeError(
        absl::StrCat("price overflow: ", a.ToString(), " + ", b.ToString()));
  }
  return Price(sum);
}

absl::StatusOr<Price> Price::CheckedSub(Price a, Price b) {
  int64_t difference;
  if (__builtin_sub_overflow(a.units_, b.units_, &difference)) {
    return absl::OutOfRangeError(
        absl::StrCat("price overflow: ", a.ToString(), " - ", b.ToString()));
  }
  return Price(difference);
}

std::string Price::ToString() const {
  // Unsigned magnitude so that INT64_MIN units print too.
  const uint64_t magnitude =
      units_ < 0 ? ~static_cast<uint64_t>(units_) + 1 : static_cast<uint64_t>(units_);
  const uint64_t whole = magnitude / kUnitsPerWhole;
  const uint64_t fraction = magnitude % kUnitsPerWhole;
  std::string fraction_text = absl::StrCat(fraction);
  fraction_text.insert(0, kDecimals - fraction_text.size(), '0');
  return absl::StrCat(units_ < 0 ? "-" : "", whole, ".", fraction_text);
}

std::ostream& operator<<(std::ostream& os, Price price) { return os << price.ToString(); }

}  // namespace marketpipe
