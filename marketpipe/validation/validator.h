#ifndef MARKETPIPE_VALIDATION_VALIDATOR_H_
#define MARKETPIPE_VALIDATION_VALIDATOR_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/timeframe.h"

namespace marketpipe::validation {

// Why a bar is bad (DESIGN, validation). One bar can have several reasons; each is reported.
enum class Reason : uint8_t {
  // ts_ns is not after the previous in-order bar of the symbol (duplicates included).
  kNonMonotonicTimestamp,
  // open, high, low or close <= 0, or vwap < 0 (a zero vwap is tolerated).
  kNonPositivePrice,
  // volume < 0 or trade_count < 0.
  kNegativeVolume,
  // high < low, or open or close outside [low, high] (vwap may lie outside: Alpaca's vwap
  // counts trades that do not set the high and low).
  kOhlcInconsistent,
  // ts_ns is not the start of a bucket of the timeframe (aggregation/bucket.h): a multiple of
  // the width in UTC for 1m..4h, New York midnight for 1d.
  kNotOnBoundary,
  // volume == 0 but open, high, low and close are not all equal.
  kPriceMoveWithZeroVolume,
  // |close - previous close| > 50 % of the previous close (exactly 50 % passes).
  kExtremeMove,
  // volume > 1'000'000'000 (exactly 1e9 passes).
  kVolumeTooLarge,
};

inline constexpr std::array<Reason, 8> kAllReasons = {
    Reason::kNonMonotonicTimestamp, Reason::kNonPositivePrice, Reason::kNegativeVolume,
    Reason::kOhlcInconsistent,      Reason::kNotOnBoundary,    Reason::kPriceMoveWithZeroVolume,
    Reason::kExtremeMove,           Reason::kVolumeTooLarge,
};

// "non_monotonic_timestamp", "non_positive_price", "negative_volume", "ohlc_inconsistent",
// "not_on_boundary", "price_move_zero_volume", "extreme_move", "volume_too_large": the `reason`
// column of the CSV report and the metric label.
std::string_view ReasonName(Reason reason);
// Inverse of ReasonName; InvalidArgument naming the text and the accepted names.
absl::StatusOr<Reason> ParseReason(std::string_view name);

// The limits the checks hold bars to.
inline constexpr int64_t kMaxVolume = 1'000'000'000;
inline constexpr int kMaxMovePercent = 50;

// How many issues of each reason.
class ReasonCounts {
 public:
  int64_t operator[](Reason reason) const { return counts_[static_cast<size_t>(reason)]; }
  void Add(Reason reason, int64_t n = 1) { counts_[static_cast<size_t>(reason)] += n; }
  int64_t total() const;
  ReasonCounts& operator+=(const ReasonCounts& other);
  friend bool operator==(const ReasonCounts&, const ReasonCounts&) = default;

 private:
  std::array<int64_t, kAllReasons.size()> counts_{};
};

// One reported problem: a row of the validation report.
struct Issue {
  Symbol symbol;
  int64_t ts_ns = 0;
  Reason reason = Reason::kNonMonotonicTimestamp;
  std::string detail;  // human-readable, e.g. "high 9.0000 < low 10.0000"
  friend bool operator==(const Issue&, const Issue&) = default;
};

// What happens to the bars of a symbol that has bad bars.
enum class Policy : uint8_t {
  // Store the good bars, report the bad ones (the default).
  kDropBad,
  // From its first bad bar on, store nothing more of the symbol: its bars in that page (good
  // ones included) and in every later page are dropped, and the symbol is reported as rejected
  // so that the job marks it failed. Pages stored before the first bad one stay stored (the
  // fetch streams; validation cannot see the future).
  kRejectSymbol,
};

// "drop-bad", "reject-symbol".
std::string_view PolicyName(Policy policy);
// Inverse of PolicyName; InvalidArgument naming the text and the accepted names.
absl::StatusOr<Policy> ParsePolicy(std::string_view name);

// A symbol that reject-symbol stopped storing, and why (its first issue's reason and detail).
struct Rejection {
  Symbol symbol;
  std::string why;
  friend bool operator==(const Rejection&, const Rejection&) = default;
};

// The outcome of one page.
struct PageVerdict {
  std::vector<Bar> accepted;        // the bars to store, in input order
  std::vector<Issue> issues;        // in input order; a bar's reasons in enum order
  std::vector<Rejection> rejected;  // symbols newly rejected by this page (reject-symbol)
  int64_t dropped = 0;              // input bars not accepted
};

// Checks the pages of one job, symbol by symbol, in one pass per page. It carries each
// symbol's last timestamp and close across pages, so order and extreme moves are checked
// across page boundaries too; feed it the pages of one job in fetch order.
//
//   Validator validator(Timeframe::kOneMinute, Policy::kDropBad);
//   auto verdict = validator.ValidatePage(std::move(page.bars));
//   store.WritePage({..., .bars = verdict->accepted});  // report verdict->issues
//
// The reference for "previous" is the symbol's latest bar that was in order, whatever its
// other verdicts: a bad spike is reported, and so is the move back from it, but a lasting
// level change (a split in raw prices) is reported once. Bars of different symbols may
// interleave. Not thread-safe: one validator per job (or per worker's symbols).
class Validator {
 public:
  explicit Validator(Timeframe timeframe, Policy policy = Policy::kDropBad);

  // Checks `bars`. InvalidArgument (and no state change) when a bar has the empty symbol.
  absl::StatusOr<PageVerdict> ValidatePage(std::vector<Bar> bars);

  // Makes `last_stored` the symbol's previous bar without checking it, as if an earlier page had
  // delivered it: a resumed job seeds each symbol with its last stored bar so that order and
  // extreme moves stay checked across the restart. Counts nothing.
  void Seed(const Bar& last_stored);

  Timeframe timeframe() const { return timeframe_; }
  Policy policy() const { return policy_; }

  // Totals over every page so far.
  const ReasonCounts& counts() const { return counts_; }
  int64_t bars_checked() const { return bars_checked_; }
  int64_t bars_accepted() const { return bars_accepted_; }
  int64_t bars_dropped() const { return bars_checked_ - bars_accepted_; }
  // Symbols rejected so far (reject-symbol), sorted.
  std::vector<Rejection> rejections() const;
  bool IsRejected(const Symbol& symbol) const;

 private:
  struct SymbolState {
    bool seen = false;
    int64_t last_ts_ns = 0;
    int64_t last_close_units = 0;
    std::string rejected_why;  // non-empty: rejected
  };

  // Appends the issues of `bar` to `issues`; updates `state`. True when the bar is good.
  bool Check(const Bar& bar, SymbolState& state, std::vector<Issue>& issues);

  Timeframe timeframe_;
  Policy policy_;
  // Node-based: the state of the current run of one symbol is held by pointer across inserts.
  absl::node_hash_map<Symbol, SymbolState> states_;
  ReasonCounts counts_;
  int64_t bars_checked_ = 0;
  int64_t bars_accepted_ = 0;
};

}  // namespace marketpipe::validation

#endif  // MARKETPIPE_VALIDATION_VALIDATOR_H_
