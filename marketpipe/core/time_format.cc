#include "marketpipe/core/time_format.h"

#include <cstdint>
#include <limits>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "marketpipe/core/civil_date.h"
#include "marketpipe/core/quote.h"

namespace marketpipe {
namespace {

using core_internal::Quote;

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

using CivilDay = CivilDate;

int64_t DaysFromCivil(CivilDay date) {
  return marketpipe::DaysFromCivil(date.year, date.month, date.day);
}

// Splits `a` so that a == quotient * b + remainder with 0 <= remainder < b (b > 0), without
// multiplying back (quotient * b can overflow near the int64 minimum).
void FloorDivMod(int64_t a, int64_t b, int64_t* quotient, int64_t* remainder) {
  *quotient = a / b;
  *remainder = a % b;
  if (*remainder < 0) {
    *remainder += b;
    --*quotient;
  }
}

// A cursor over the text being parsed. Each Expect* returns an error description (without the
// quoted input, which the caller adds) or std::nullopt on success.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  size_t pos() const { return pos_; }
  bool AtEnd() const { return pos_ == text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void Skip() { ++pos_; }

  // Exactly `count` ASCII digits.
  std::optional<std::string> ExpectDigits(int count, std::string_view what, int64_t* out) {
    const size_t start = pos_;
    int64_t value = 0;
    for (int i = 0; i < count; ++i) {
      const char c = Peek();
      if (c < '0' || c > '9') {
        return absl::StrCat("expected ", count, "-digit ", std::string(what), " at position ",
                            start);
      }
      value = value * 10 + (c - '0');
      Skip();
    }
    *out = value;
    return std::nullopt;
  }

  std::optional<std::string> ExpectChar(char c, std::string_view what) {
    if (Peek() != c) {
      return absl::StrCat("expected ", std::string(what), " at position ", pos_);
    }
    Skip();
    return std::nullopt;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Reads and validates "YYYY-MM-DD".
std::optional<std::string> ReadDate(Reader& reader, CivilDay* date) {
  int64_t year, month, day;
  if (auto error = reader.ExpectDigits(4, "year", &year)) return error;
  if (auto error = reader.ExpectChar('-', "'-' after the year")) return error;
  if (auto error = reader.ExpectDigits(2, "month", &month)) return error;
  if (auto error = reader.ExpectChar('-', "'-' after the month")) return error;
  if (auto error = reader.ExpectDigits(2, "day", &day)) return error;
  if (month < 1 || month > 12) {
    return absl::StrFormat("month %02d is out of range 01-12", month);
  }
  const int days_in_month = DaysInMonth(year, static_cast<int>(month));
  if (day < 1 || day > days_in_month) {
    return absl::StrFormat("day %02d is out of range for %04d-%02d (01-%02d)", day, year, month,
                           days_in_month);
  }
  *date = CivilDay{year, static_cast<int>(month), static_cast<int>(day)};
  return std::nullopt;
}

absl::Status OutsideRange(std::string_view kind, std::string_view text) {
  return absl::OutOfRangeError(
      absl::StrCat(std::string(kind), " ", Quote(text),
                   " is outside the representable range 1677-09-21T00:12:43.145224192Z to "
                   "2262-04-11T23:47:16.854775807Z"));
}

// seconds * 1e9 + nanos (0 <= nanos < 1e9) without overflowing on the way to a result that
// fits, as happens just above the int64 minimum.
std::optional<int64_t> ToNanos(int64_t seconds, int64_t nanos) {
  int64_t result;
  if (seconds < 0 && nanos > 0) {
    if (__builtin_mul_overflow(seconds + 1, kNanosPerSecond, &result)) return std::nullopt;
    if (__builtin_sub_overflow(result, kNanosPerSecond - nanos, &result)) return std::nullopt;
    return result;
  }
  if (__builtin_mul_overflow(seconds, kNanosPerSecond, &result)) return std::nullopt;
  if (__builtin_add_overflow(result, nanos, &result)) return std::nullopt;
  return result;
}

}  // namespace

absl::StatusOr<int64_t> ParseRfc3339(std::string_view text) {
  constexpr std::string_view kKind = "RFC 3339 timestamp";
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ", std::string(kKind), " ", Quote(text), ": ", std::string(why)));
  };
  if (text.empty()) return invalid("empty");

  Reader reader(text);
  CivilDay date;
  if (auto error = ReadDate(reader, &date)) return invalid(*error);
  if (reader.Peek() != 'T' && reader.Peek() != 't') {
    return invalid(absl::StrCat("expected 'T' between date and time at position ", reader.pos()));
  }
  reader.Skip();

  int64_t hour, minute, second;
  if (auto error = reader.ExpectDigits(2, "hour", &hour)) return invalid(*error);
  if (auto error = reader.ExpectChar(':', "':' after the hour")) return invalid(*error);
  if (auto error = reader.ExpectDigits(2, "minute", &minute)) return invalid(*error);
  if (auto error = reader.ExpectChar(':', "':' after the minute")) return invalid(*error);
  if (auto error = reader.ExpectDigits(2, "second", &second)) return invalid(*error);
  if (hour > 23) return invalid(absl::StrFormat("hour %02d is out of range 00-23", hour));
  if (minute > 59) return invalid(absl::StrFormat("minute %02d is out of range 00-59", minute));
  if (second == 60) {
    return invalid("second 60 (a leap second) is not representable in Unix time");
  }
  if (second > 59) return invalid(absl::StrFormat("second %02d is out of range 00-59", second));

  int64_t nanos = 0;
  if (reader.Peek() == '.') {
    reader.Skip();
    int digits = 0;
    for (; reader.Peek() >= '0' && reader.Peek() <= '9'; reader.Skip(), ++digits) {
      if (digits == 9) return invalid("more than 9 fractional second digits");
      nanos = nanos * 10 + (reader.Peek() - '0');
    }
    if (digits == 0) {
      return invalid(absl::StrCat("expected digits after '.' at position ", reader.pos()));
    }
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }

  int64_t offset_seconds = 0;
  const char zone = reader.Peek();
  if (reader.AtEnd()) {
    return invalid("missing time zone offset ('Z' or +HH:MM/-HH:MM)");
  } else if (zone == 'Z' || zone == 'z') {
    reader.Skip();
  } else if (zone == '+' || zone == '-') {
    reader.Skip();
    int64_t offset_hour, offset_minute;
    if (auto error = reader.ExpectDigits(2, "offset hour", &offset_hour)) return invalid(*error);
    if (auto error = reader.ExpectChar(':', "':' in the offset")) return invalid(*error);
    if (auto error = reader.ExpectDigits(2, "offset minute", &offset_minute)) {
      return invalid(*error);
    }
    if (offset_hour > 23) {
      return invalid(absl::StrFormat("offset hour %02d is out of range 00-23", offset_hour));
    }
    if (offset_minute > 59) {
      return invalid(absl::StrFormat("offset minute %02d is out of range 00-59", offset_minute));
    }
    offset_seconds = (zone == '+' ? 1 : -1) * (offset_hour * 3600 + offset_minute * 60);
  } else {
    return invalid(
        absl::StrCat("expected time zone 'Z' or +HH:MM/-HH:MM at position ", reader.pos()));
  }
  if (!reader.AtEnd()) {
    return invalid(absl::StrCat("unexpected trailing text ", Quote(text.substr(reader.pos())),
                                " at position ", reader.pos()));
  }

  // Local time minus its offset is UTC. A 4-digit year keeps these sums far from overflow.
  const int64_t seconds =
      DaysFromCivil(date) * kSecondsPerDay + hour * 3600 + minute * 60 + second - offset_seconds;
  const std::optional<int64_t> ns = ToNanos(seconds, nanos);
  if (!ns) return OutsideRange(kKind, text);
  return *ns;
}

absl::StatusOr<int64_t> ParseIsoDate(std::string_view text) {
  constexpr std::string_view kKind = "ISO date";
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid ", std::string(kKind), " ", Quote(text),
                                                   ": ", std::string(why),
                                                   " (expected YYYY-MM-DD)"));
  };
  if (text.empty()) return invalid("empty");
  Reader reader(text);
  CivilDay date;
  if (auto error = ReadDate(reader, &date)) return invalid(*error);
  if (!reader.AtEnd()) {
    return invalid(absl::StrCat("unexpected trailing text ", Quote(text.substr(reader.pos())),
                                " at position ", reader.pos()));
  }
  const std::optional<int64_t> ns = ToNanos(DaysFromCivil(date) * kSecondsPerDay, 0);
  if (!ns) return OutsideRange(kKind, text);
  return *ns;
}

std::string FormatRfc3339(int64_t ns) {
  // Floored, so that instants before 1970 get a non-negative time of day.
  int64_t seconds, nanos, days, second_of_day;
  FloorDivMod(ns, kNanosPerSecond, &seconds, &nanos);
  FloorDivMod(seconds, kSecondsPerDay, &days, &second_of_day);
  const CivilDay date = CivilFromDays(days);

  std::string out =
      absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", date.year, date.month, date.day,
                      second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
  if (nanos != 0) {
    std::string fraction = absl::StrFormat("%09d", nanos);
    fraction.erase(fraction.find_last_not_of('0') + 1);
    absl::StrAppend(&out, ".", fraction);
  }
  out.push_back('Z');
  return out;
}

}  // namespace marketpipe
