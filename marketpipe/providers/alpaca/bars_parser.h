#ifndef MARKETPIPE_PROVIDERS_ALPACA_BARS_PARSER_H_
#define MARKETPIPE_PROVIDERS_ALPACA_BARS_PARSER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "marketpipe/core/bar.h"

namespace marketpipe::alpaca {

// One page of GET /v2/stocks/bars.
struct BarsPage {
  std::vector<Bar> bars;  // document order
  // The token for the next page; nullopt when the field is null, empty or absent.
  std::optional<std::string> next_page_token;
};

// Parses a bars page in either shape Alpaca has used:
//   {"bars": {"AAPL": [{"t": "...", "o": 1.0, ...}, ...], ...}, "next_page_token": "..."}
//   {"bars": [{"S": "AAPL", "t": "...", "o": 1.0, ...}, ...], "next_page_token": null}
// ("bars": null or {} is an empty page). Every bar needs t (RFC 3339), o h l c vw (numbers,
// kept exact to 4 decimals, more decimals rounded half up), v and n (integers). Unknown fields
// are ignored. A missing or mistyped field, an invalid symbol, an out-of-range number or
// malformed JSON is an INVALID_ARGUMENT/DATA_LOSS error naming `page` and the field's path,
// e.g. `page 2: bars["AAPL"][17].o: expected a number, got string`.
// Duplicate or out-of-order timestamps are returned as sent (validation reports them).
absl::StatusOr<BarsPage> ParseBarsPage(std::string_view body, std::string_view page);

// The same, without copying `body`: grows its capacity by the parser's padding (the contents
// and size are unchanged). The hot path for HTTP response bodies the caller owns.
absl::StatusOr<BarsPage> ParseBarsPage(std::string* body, std::string_view page);

namespace internal {
// The in-place parse with the fast path for Alpaca's exact bar shape on or off (off: every bar
// goes through the general field loop). For the tests, the fuzzer and the benchmark, which hold
// the two to the same result.
absl::StatusOr<BarsPage> ParseBarsPage(std::string* body, std::string_view page,
                                       bool fast_bar_path);
// Whether the fast path takes `bar_json` (one bar object, nothing after it) whole, so a test can
// show it is taken at all: the two paths agreeing proves nothing if the fast one never runs.
bool FastPathTakesBar(std::string_view bar_json);
}  // namespace internal

}  // namespace marketpipe::alpaca

#endif  // MARKETPIPE_PROVIDERS_ALPACA_BARS_PARSER_H_
