#include "marketpipe/providers/provider.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace marketpipe {

boost::asio::awaitable<absl::StatusOr<std::vector<Bar>>> Provider::FetchBars(Symbol symbol,
                                                                             TimeRange range,
                                                                             Timeframe timeframe) {
  FetchRequest request;
  request.symbols.push_back(std::move(symbol));
  request.range = range;
  request.timeframe = timeframe;
  std::vector<Bar> bars;
  absl::Status status = co_await Fetch(
      std::move(request), [&bars](FetchPage page) -> boost::asio::awaitable<absl::Status> {
        bars.insert(bars.end(), std::make_move_iterator(page.bars.begin()),
                    std::make_move_iterator(page.bars.end()));
        co_return absl::OkStatus();
      });
  if (!status.ok()) co_return status;
  co_return bars;
}

absl::Status ValidateFetchRequest(const FetchRequest& request, int max_symbols,
                                  std::string_view provider_name) {
  const std::string provider(provider_name);
  if (request.symbols.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(provider, ": fetch names no symbols"));
  }
  if (static_cast<int>(request.symbols.size()) > max_symbols) {
    return absl::InvalidArgumentError(
        absl::StrCat(provider, ": fetch names ", request.symbols.size(), " symbols, more than the ",
                     max_symbols, " one request may name"));
  }
  std::vector<Symbol> sorted = request.symbols;
  std::sort(sorted.begin(), sorted.end());
  if (sorted.front().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(provider, ": fetch names the empty symbol"));
  }
  if (auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(provider, ": fetch names ", dup->value(), " more than once"));
  }
  if (request.range.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(provider, ": empty range ", request.range.ToString()));
  }
  const std::string& a = request.adjustment;
  if (a != "raw" && a != "split" && a != "dividend" && a != "all") {
    return absl::InvalidArgumentError(
        absl::StrCat(provider, ": adjustment must be raw, split, dividend or all, got \"",
                     absl::CHexEscape(a.substr(0, 20)), "\""));
  }
  return absl::OkStatus();
}

}  // namespace marketpipe
