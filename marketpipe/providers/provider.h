#ifndef MARKETPIPE_PROVIDERS_PROVIDER_H_
#define MARKETPIPE_PROVIDERS_PROVIDER_H_

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"

namespace marketpipe {

// A source of OHLCV bars. FetchBars returns every bar of `symbol` with ts in `range`
// ([start, end)) at `timeframe`, sorted by timestamp as the provider sent them (validation
// checks order later). An empty vector means the provider has no bars there; failures
// (auth, bad request, retries exhausted, malformed data) are errors, never "0 rows".
class Provider {
 public:
  virtual ~Provider() = default;

  // "alpaca", "fake".
  virtual std::string name() const = 0;

  virtual boost::asio::awaitable<absl::StatusOr<std::vector<Bar>>> FetchBars(
      Symbol symbol, TimeRange range, Timeframe timeframe) = 0;
};

}  // namespace marketpipe

#endif  // MARKETPIPE_PROVIDERS_PROVIDER_H_
