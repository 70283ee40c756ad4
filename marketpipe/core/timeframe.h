#ifndef MARKETPIPE_CORE_TIMEFRAME_H_
#define MARKETPIPE_CORE_TIMEFRAME_H_

#include <array>
#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace marketpipe {

// The width of a bar: one of 1m 5m 15m 30m 1h 4h 1d. Ordered by length (1m < 1h < 1d).
//
//   Timeframe tf = Timeframe::kFiveMinutes;
//   tf.ToString()    // "5m"
//   tf.AlpacaName()  // "5Min"
//   tf.seconds()     // 300
class Timeframe {
 public:
  enum Value : uint8_t {
    kOneMinute,
    kFiveMinutes,
    kFifteenMinutes,
    kThirtyMinutes,
    kOneHour,
    kFourHours,
    kOneDay,
  };

  // Every timeframe, shortest first.
  static constexpr std::array<Value, 7> kAll = {
      kOneMinute, kFiveMinutes, kFifteenMinutes, kThirtyMinutes, kOneHour, kFourHours, kOneDay};

  // One minute (so Timeframe is default-constructible like the other core value types).
  constexpr Timeframe() = default;
  // Implicit on purpose: `Timeframe tf = Timeframe::kOneHour;`.
  constexpr Timeframe(Value value) : value_(value) {}  // NOLINT(google-explicit-constructor)

  // Accepts our names "1m" "5m" "15m" "30m" "1h" "4h" "1d" and Alpaca's "1Min" "5Min"
  // "15Min" "30Min" "1Hour" "4Hour" "1Day", case-sensitively ("1M" could mean a month).
  // Anything else is InvalidArgument naming the quoted text and the accepted names.
  static absl::StatusOr<Timeframe> Parse(std::string_view text);

  constexpr Value value() const { return value_; }

  // "1m" "5m" "15m" "30m" "1h" "4h" "1d"; Parse(tf.ToString()) == tf.
  std::string ToString() const;
  // The `timeframe` query value of Alpaca's bars API: "1Min" ... "1Day".
  std::string AlpacaName() const;

  constexpr int64_t seconds() const {
    constexpr int64_t kSeconds[] = {60, 5 * 60, 15 * 60, 30 * 60, 3600, 4 * 3600, 86400};
    return kSeconds[value_];
  }
  constexpr int64_t nanos() const { return seconds() * 1'000'000'000; }
  absl::Duration duration() const { return absl::Seconds(seconds()); }

  friend constexpr bool operator==(Timeframe, Timeframe) = default;
  friend constexpr std::strong_ordering operator<=>(Timeframe, Timeframe) = default;

  template <typename H>
  friend H AbslHashValue(H h, Timeframe tf) {
    return H::combine(std::move(h), tf.value_);
  }

 private:
  Value value_ = kOneMinute;
};

std::ostream& operator<<(std::ostream& os, Timeframe tf);

}  // namespace marketpipe

template <>
struct std::hash<marketpipe::Timeframe> {
  size_t operator()(marketpipe::Timeframe tf) const {
    return std::hash<int>()(static_cast<int>(tf.value()));
  }
};

#endif  // MARKETPIPE_CORE_TIMEFRAME_H_
