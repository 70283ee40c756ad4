#include "marketpipe/validation/validator.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "marketpipe/aggregation/bucket.h"
#include "marketpipe/core/time_format.h"

namespace marketpipe::validation {
namespace {

constexpr std::array<const char*, kAllReasons.size()> kReasonNames = {
    "non_monotonic_timestamp", "non_positive_price",     "negative_volume", "ohlc_inconsistent",
    "not_on_boundary",         "price_move_zero_volume", "extreme_move",    "volume_too_large",
};

constexpr std::array<const char*, 2> kPolicyNames = {"drop-bad", "reject-symbol"};

// |close - previous| > 50 % of previous, exactly in 128 bits (prices span all of int64 units).
bool IsExtremeMove(int64_t previous_units, int64_t close_units) {
  __int128 move = static_cast<__int128>(close_units) - previous_units;
  if (move < 0) move = -move;
  return move * 100 > static_cast<__int128>(previous_units) * kMaxMovePercent;
}

}  // namespace

std::string_view ReasonName(Reason reason) { return kReasonNames[static_cast<size_t>(reason)]; }

absl::StatusOr<Reason> ParseReason(std::string_view name) {
  for (Reason reason : kAllReasons) {
    if (ReasonName(reason) == name) return reason;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown validation reason \"", absl::CHexEscape(absl::string_view(name.data(), name.size())),
      "\"; expected one of: ", absl::StrJoin(kReasonNames, ", ")));
}

std::string_view PolicyName(Policy policy) { return kPolicyNames[static_cast<size_t>(policy)]; }

absl::StatusOr<Policy> ParsePolicy(std::string_view name) {
  if (name == kPolicyNames[0]) return Policy::kDropBad;
  if (name == kPolicyNames[1]) return Policy::kRejectSymbol;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown validation policy \"", absl::CHexEscape(absl::string_view(name.data(), name.size())),
      "\"; expected one of: ", absl::StrJoin(kPolicyNames, ", ")));
}

int64_t ReasonCounts::total() const {
  int64_t sum = 0;
  for (int64_t n : counts_) sum += n;
  return sum;
}

ReasonCounts& ReasonCounts::operator+=(const ReasonCounts& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  return *this;
}

Validator::Validator(Timeframe timeframe, Policy policy) : timeframe_(timeframe), policy_(policy) {}

bool Validator::Check(const Bar& bar, SymbolState& state, std::vector<Issue>& issues) {
  const size_t before = issues.size();
  const auto report = [&](Reason reason, std::string detail) {
    issues.push_back(Issue{bar.symbol, bar.ts_ns, reason, std::move(detail)});
    counts_.Add(reason);
  };

  const bool in_order = !state.seen || bar.ts_ns > state.last_ts_ns;
  if (!in_order) {
    report(Reason::kNonMonotonicTimestamp,
           absl::StrCat("ts ", FormatRfc3339(bar.ts_ns), " is not after the previous bar's ",
                        FormatRfc3339(state.last_ts_ns)));
  }

  std::vector<std::string> non_positive;
  for (const auto& [name, price] : {std::pair<const char*, Price>{"open", bar.open},
                                    {"high", bar.high},
                                    {"low", bar.low},
                                    {"close", bar.close}}) {
    if (price.units() <= 0) non_positive.push_back(absl::StrCat(name, " ", price.ToString()));
  }
  if (bar.vwap.units() < 0) non_positive.push_back(absl::StrCat("vwap ", bar.vwap.ToString()));
  if (!non_positive.empty()) {
    report(Reason::kNonPositivePrice,
           absl::StrCat(absl::StrJoin(non_positive, ", "),
                        non_positive.size() == 1 ? " is" : " are", " not positive"));
  }

  if (bar.volume < 0 || bar.trade_count < 0) {
    report(Reason::kNegativeVolume,
           absl::StrCat("volume ", bar.volume, ", trade_count ", bar.trade_count));
  }

  if (bar.high < bar.low) {
    report(Reason::kOhlcInconsistent,
           absl::StrCat("high ", bar.high.ToString(), " < low ", bar.low.ToString()));
  } else if (bar.open < bar.low || bar.open > bar.high || bar.close < bar.low ||
             bar.close > bar.high) {
    report(Reason::kOhlcInconsistent,
           absl::StrCat("open ", bar.open.ToString(), " or close ", bar.close.ToString(),
                        " outside [low ", bar.low.ToString(), ", high ", bar.high.ToString(), "]"));
  }

  if (!aggregation::IsBucketStart(bar.ts_ns, timeframe_)) {
    report(
        Reason::kNotOnBoundary,
        absl::StrCat("ts ", FormatRfc3339(bar.ts_ns), " does not start a ", timeframe_.ToString(),
                     " bar", timeframe_ == Timeframe::kOneDay ? " (New York midnight)" : ""));
  }

  if (bar.volume == 0 && !(bar.open == bar.high && bar.high == bar.low && bar.low == bar.close)) {
    report(Reason::kPriceMoveWithZeroVolume,
           absl::StrCat("volume 0 but o=", bar.open.ToString(), " h=", bar.high.ToString(),
                        " l=", bar.low.ToString(), " c=", bar.close.ToString()));
  }

  if (in_order && state.seen && state.last_close_units > 0 &&
      IsExtremeMove(state.last_close_units, bar.close.units())) {
    const double percent = 100.0 *
                           (static_cast<double>(bar.close.units()) - state.last_close_units) /
                           state.last_close_units;
    report(Reason::kExtremeMove,
           absl::StrFormat("close %s moved %+.2f%% from the previous close %s (limit %d%%)",
                           bar.close.ToString(), percent,
                           Price::FromUnits(state.last_close_units).ToString(), kMaxMovePercent));
  }

  if (bar.volume > kMaxVolume) {
    report(Reason::kVolumeTooLarge, absl::StrCat("volume ", bar.volume, " > ", kMaxVolume));
  }

  if (in_order) {
    state.seen = true;
    state.last_ts_ns = bar.ts_ns;
    state.last_close_units = bar.close.units();
  }
  return issues.size() == before;
}

absl::StatusOr<PageVerdict> Validator::ValidatePage(std::vector<Bar> bars) {
  for (size_t i = 0; i < bars.size(); ++i) {
    if (bars[i].symbol.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "validation: bar ", i, " of the page has no symbol (", bars[i].ToString(), ")"));
    }
  }

  PageVerdict verdict;
  // One pass: check every bar, remembering each bar's verdict in `good`.
  std::vector<char> good(bars.size());
  const Symbol* current = nullptr;
  SymbolState* state = nullptr;
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& bar = bars[i];
    if (current == nullptr || *current != bar.symbol) {
      state = &states_[bar.symbol];
      current = &bar.symbol;
    }
    const size_t first_issue = verdict.issues.size();
    good[i] = Check(bar, *state, verdict.issues);
    if (!good[i] && policy_ == Policy::kRejectSymbol && state->rejected_why.empty()) {
      const Issue& issue = verdict.issues[first_issue];
      state->rejected_why = absl::StrCat(kReasonNames[static_cast<size_t>(issue.reason)], " at ",
                                         FormatRfc3339(issue.ts_ns), ": ", issue.detail);
      verdict.rejected.push_back(Rejection{bar.symbol, state->rejected_why});
    }
  }
  bars_checked_ += static_cast<int64_t>(bars.size());

  // Keep the good bars in place; under reject-symbol, nothing of a rejected symbol.
  size_t kept = 0;
  Symbol run_symbol;  // a copy: the bars it came from are moved as they are kept
  bool run_rejected = false;
  for (size_t i = 0; i < bars.size(); ++i) {
    if (policy_ == Policy::kRejectSymbol && bars[i].symbol != run_symbol) {
      run_symbol = bars[i].symbol;
      run_rejected = !states_[run_symbol].rejected_why.empty();
    }
    if (good[i] && !run_rejected) {
      if (kept != i) bars[kept] = std::move(bars[i]);
      ++kept;
    }
  }
  bars.resize(kept);
  verdict.dropped = static_cast<int64_t>(good.size() - kept);
  bars_accepted_ += static_cast<int64_t>(kept);
  verdict.accepted = std::move(bars);
  return verdict;
}

void Validator::Seed(const Bar& last_stored) {
  SymbolState& state = states_[last_stored.symbol];
  state.seen = true;
  state.last_ts_ns = last_stored.ts_ns;
  state.last_close_units = last_stored.close.units();
}

std::vector<Rejection> Validator::rejections() const {
  std::vector<Rejection> out;
  for (const auto& [symbol, state] : states_) {
    if (!state.rejected_why.empty()) out.push_back(Rejection{symbol, state.rejected_why});
  }
  std::sort(out.begin(), out.end(),
            [](const Rejection& a, const Rejection& b) { return a.symbol < b.symbol; });
  return out;
}

bool Validator::IsRejected(const Symbol& symbol) const {
  const auto it = states_.find(symbol);
  return it != states_.end() && !it->second.rejected_why.empty();
}

}  // namespace marketpipe::validation
