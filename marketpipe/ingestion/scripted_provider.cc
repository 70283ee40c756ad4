#include "marketpipe/ingestion/scripted_provider.h"

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <utility>

#include "absl/strings/str_cat.h"

namespace marketpipe::ingestion::fakes {
namespace {

namespace asio = boost::asio;

int64_t FirstStep(int64_t start_ns, int64_t step) {
  const int64_t floor = start_ns / step * step - (start_ns % step < 0 ? step : 0);
  return floor < start_ns ? floor + step : floor;
}

uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

}  // namespace

Bar ScriptedProvider::MakeBar(const Symbol& symbol, int64_t ts_ns) {
  const int64_t minute = ts_ns / 60'000'000'000;
  const int64_t base = 1'000'000 + static_cast<int64_t>(Fnv1a(symbol.value()) % 1000) * 1000;
  const int64_t p = base + (minute * 7919 % 1000) * 10;
  Bar bar;
  bar.symbol = symbol;
  bar.ts_ns = ts_ns;
  bar.open = Price::FromUnits(p);
  bar.high = Price::FromUnits(p + 500);
  bar.low = Price::FromUnits(p - 500);
  bar.close = Price::FromUnits(p + 100);
  bar.volume = 100 + minute % 50;
  bar.trade_count = 10;
  bar.vwap = Price::FromUnits(p);
  return bar;
}

std::vector<Bar> ScriptedProvider::Expected(const std::vector<Symbol>& symbols, TimeRange range,
                                            Timeframe timeframe) {
  std::vector<Symbol> sorted = symbols;
  std::sort(sorted.begin(), sorted.end());
  std::vector<Bar> out;
  for (const Symbol& symbol : sorted) {
    for (int64_t ts = FirstStep(range.start_ns(), timeframe.nanos()); ts < range.end_ns();
         ts += timeframe.nanos()) {
      out.push_back(MakeBar(symbol, ts));
    }
  }
  return out;
}

asio::awaitable<absl::Status> ScriptedProvider::Fetch(FetchRequest request, PageSink sink) {
  if (request.symbols.empty() ||
      static_cast<int>(request.symbols.size()) > options_.max_symbols_per_request ||
      request.range.empty()) {
    co_return absl::InvalidArgumentError("scripted: bad request");
  }
  requests_.push_back(request);
  ++in_flight_;
  max_in_flight_ = std::max(max_in_flight_, in_flight_);
  struct Leave {
    int& n;
    ~Leave() { --n; }
  } leave{in_flight_};

  std::vector<Symbol> symbols = request.symbols;
  std::sort(symbols.begin(), symbols.end());
  for (const Symbol& symbol : symbols) {
    if (!options_.reject.contains(symbol.value())) continue;
    try {
      co_await time_.SleepFor(options_.latency);
    } catch (const boost::system::system_error&) {
      co_return absl::CancelledError("scripted: fetch cancelled");
    }
    co_return absl::InvalidArgumentError(
        absl::StrCat("scripted: HTTP 422: invalid symbol: ", symbol.value()));
  }
  const int64_t step = request.timeframe.nanos();
  FetchPage page;
  page.feed = options_.feed;
  page.adjustment = request.adjustment;
  int index = 0;
  auto deliver = [&]() -> asio::awaitable<absl::Status> {
    try {
      co_await time_.SleepFor(options_.latency);
    } catch (const boost::system::system_error&) {
      co_return absl::CancelledError("scripted: fetch cancelled");
    }
    if ((co_await asio::this_coro::cancellation_state).cancelled() !=
        asio::cancellation_type::none) {
      co_return absl::CancelledError("scripted: fetch cancelled");
    }
    FetchPage out = std::move(page);
    page = FetchPage();
    page.feed = options_.feed;
    page.adjustment = request.adjustment;
    out.index = index++;
    ++pages_sent_;
    bars_sent_ += static_cast<int64_t>(out.bars.size());
    co_return co_await sink(std::move(out));
  };
  for (const Symbol& symbol : symbols) {
    auto failure = options_.fail.find(symbol.value());
    int64_t n = 0;
    for (int64_t ts = FirstStep(request.range.start_ns(), step); ts < request.range.end_ns();
         ts += step, ++n) {
      if (failure != options_.fail.end() && n == failure->second.after_bars) {
        co_return failure->second.error;
      }
      if (static_cast<int>(page.bars.size()) == options_.page_size) {
        if (absl::Status s = co_await deliver(); !s.ok()) co_return s;
      }
      Bar bar = MakeBar(symbol, ts);
      if (options_.mutate) options_.mutate(bar);
      page.bars.push_back(std::move(bar));
    }
    if (failure != options_.fail.end() && n == failure->second.after_bars) {
      co_return failure->second.error;
    }
    page.completed.push_back(symbol);
  }
  co_return co_await deliver();
}

}  // namespace marketpipe::ingestion::fakes
