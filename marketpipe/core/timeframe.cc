#include "marketpipe/core/timeframe.h"

#include <iterator>
#include <ostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/core/quote.h"

namespace marketpipe {
namespace {

struct Names {
  std::string_view ours;
  std::string_view alpaca;
};

// Indexed by Timeframe::Value.
constexpr Names kNames[] = {
    {"1m", "1Min"},  {"5m", "5Min"},  {"15m", "15Min"}, {"30m", "30Min"},
    {"1h", "1Hour"}, {"4h", "4Hour"}, {"1d", "1Day"},
};
static_assert(std::size(kNames) == Timeframe::kAll.size());

}  // namespace

absl::StatusOr<Timeframe> Timeframe::Parse(std::string_view text) {
  for (Value value : kAll) {
    if (text == kNames[value].ours || text == kNames[value].alpaca) return Timeframe(value);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid timeframe ", core_internal::Quote(text),
                   ": expected one of 1m 5m 15m 30m 1h 4h 1d (or Alpaca's 1Min 5Min 15Min "
                   "30Min 1Hour 4Hour 1Day)"));
}

std::string Timeframe::ToString() const { return std::string(kNames[value_].ours); }

std::string Timeframe::AlpacaName() const { return std::string(kNames[value_].alpaca); }

std::ostream& operator<<(std::ostream& os, Timeframe tf) { return os << tf.ToString(); }

}  // namespace marketpipe
