#ifndef MARKETPIPE_PROVIDERS_PROVIDER_H_
#define MARKETPIPE_PROVIDERS_PROVIDER_H_

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"

namespace marketpipe {

// One streamed fetch: up to Provider::max_symbols_per_request() distinct symbols, one range
// ([start, end)) and one timeframe.
//
// Resuming a symbol from a checkpoint is a request whose range starts just after the last
// stored bar (range.start_ns = last_ts_ns + 1): every bar delivered lies in `range`, so nothing
// stored is delivered twice. Symbols that resume from different points go in different requests.
struct FetchRequest {
  std::vector<Symbol> symbols;
  TimeRange range;
  Timeframe timeframe;
  // The price adjustment asked for: "raw" (default), "split", "dividend" or "all". A provider
  // that cannot adjust (fake) accepts only "raw".
  std::string adjustment = "raw";
  // The provider's feed ("iex", "sip" for alpaca); empty: the provider's configured default.
  std::string feed;
};

// What one page of a streamed fetch hands to the caller.
struct FetchPage {
  // Sorted by symbol, then time, as the provider sent them (validation checks order later).
  // Every bar lies in the request's [start, end) and belongs to one of the request's symbols.
  std::vector<Bar> bars;
  // Symbols all of whose bars have now been delivered (their bars stopped, or the fetch ended).
  // Every requested symbol appears in exactly one page's `completed`, the last page's at the
  // latest, including symbols that had no bars at all. Sorted.
  std::vector<Symbol> completed;
  // Provenance recorded with the stored bars: the feed ("iex", "sip"; "fake" for the fake
  // provider) and the price adjustment ("raw", "split", "dividend", "all").
  std::string feed;
  std::string adjustment = "raw";
  // 0, 1, 2, ... within the fetch (names the page in errors and logs).
  int index = 0;
};

// Receives each page as it arrives. The fetch waits for the sink before asking for the next
// page, so memory is bounded by one page. A non-OK status stops the fetch and is its result.
using PageSink = std::function<boost::asio::awaitable<absl::Status>(FetchPage page)>;

// A source of OHLCV bars (alpaca, fake).
//
// Failures (auth, bad request, retries exhausted, malformed data, pages that do not move
// forward) are errors, never "0 rows". Cancellation (through the awaiting coroutine's
// cancellation slot) ends a fetch with a CANCELLED status; nothing throws out of Fetch.
class Provider {
 public:
  virtual ~Provider() = default;

  // "alpaca", "fake".
  virtual std::string name() const = 0;

  // How many symbols one FetchRequest may name (>= 1).
  virtual int max_symbols_per_request() const = 0;

  // Streams the bars of `request` page by page into `sink`. INVALID_ARGUMENT for an empty,
  // oversized or duplicated symbol list, an empty range or an unknown adjustment or feed.
  virtual boost::asio::awaitable<absl::Status> Fetch(FetchRequest request, PageSink sink) = 0;

  // Convenience on top of Fetch: every bar of one symbol in `range` (raw prices, default feed),
  // in one vector.
  boost::asio::awaitable<absl::StatusOr<std::vector<Bar>>> FetchBars(Symbol symbol, TimeRange range,
                                                                     Timeframe timeframe);
};

// The checks every Provider::Fetch makes first: 1..max_symbols non-empty distinct symbols, a
// non-empty range, an adjustment in {raw, split, dividend, all}. INVALID_ARGUMENT naming
// `provider` and the problem.
absl::Status ValidateFetchRequest(const FetchRequest& request, int max_symbols,
                                  std::string_view provider);

}  // namespace marketpipe

#endif  // MARKETPIPE_PROVIDERS_PROVIDER_H_
