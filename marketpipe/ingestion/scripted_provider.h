#ifndef MARKETPIPE_INGESTION_SCRIPTED_PROVIDER_H_
#define MARKETPIPE_INGESTION_SCRIPTED_PROVIDER_H_

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/providers/provider.h"
#include "marketpipe/time/time_source.h"

namespace marketpipe::ingestion::fakes {

// A Provider for the coordinator's unit tests: one valid bar per timeframe step of the range
// for every symbol (24/7), streamed in pages of `page_size` bars counted across symbols, each
// page after `latency` of (virtual) time; with faults and a record of what was asked.
struct ScriptedProviderOptions {
  int max_symbols_per_request = 1000;
  int page_size = 1000;
  TimeSource::Duration latency{0};
  std::string feed = "fake";
  // A fetch that reaches bar number `after_bars` (0-based, counted within that fetch) of the
  // symbol fails with `error` instead; the page being filled is lost.
  struct Failure {
    int64_t after_bars = 0;
    absl::Status error = absl::OkStatus();
  };
  std::map<std::string, Failure> fail = {};
  // A request naming any of these symbols fails at once, after `latency`, as Alpaca answers a
  // whole multi-symbol request 422 for one invalid symbol.
  std::set<std::string> reject = {};
  // Applied to every bar before it is paged (to make bad bars).
  std::function<void(Bar&)> mutate = nullptr;
};

class ScriptedProvider final : public Provider {
 public:
  using Options = ScriptedProviderOptions;

  ScriptedProvider(TimeSource& time, Options options) : time_(time), options_(std::move(options)) {}

  std::string name() const override { return "scripted"; }
  int max_symbols_per_request() const override { return options_.max_symbols_per_request; }
  boost::asio::awaitable<absl::Status> Fetch(FetchRequest request, PageSink sink) override;

  // The bar Fetch sends for (symbol, ts): valid under every validation rule.
  static Bar MakeBar(const Symbol& symbol, int64_t ts_ns);
  // Every bar Fetch sends for `symbols` over `range`, sorted by symbol then time.
  static std::vector<Bar> Expected(const std::vector<Symbol>& symbols, TimeRange range,
                                   Timeframe timeframe);

  Options& options() { return options_; }
  const std::vector<FetchRequest>& requests() const { return requests_; }
  int max_in_flight() const { return max_in_flight_; }
  int64_t pages_sent() const { return pages_sent_; }
  int64_t bars_sent() const { return bars_sent_; }

 private:
  TimeSource& time_;
  Options options_;
  std::vector<FetchRequest> requests_;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
  int64_t pages_sent_ = 0;
  int64_t bars_sent_ = 0;
};

}  // namespace marketpipe::ingestion::fakes

#endif  // MARKETPIPE_INGESTION_SCRIPTED_PROVIDER_H_
