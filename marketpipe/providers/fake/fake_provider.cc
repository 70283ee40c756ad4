#include "marketpipe/providers/fake/fake_provider.h"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/core/price.h"
#include "marketpipe/providers/fake/us_session.h"

namespace marketpipe {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kNanosPerMinute = 60 * kNanosPerSecond;
constexpr int64_t kSecondsPerDay = 86'400;
// 1700-01-01T00:00:00Z and 2250-01-01T00:00:00Z: far enough inside int64 nanoseconds that
// bucket ends and calendar arithmetic never overflow.
constexpr int64_t kMinNs = -8'520'336'000'000'000'000;
constexpr int64_t kMaxNs = 8'835'955'200'000'000'000;

constexpr int64_t kPpm = 1'000'000;
// Octaves of the price walk: octave k changes every 4^k minutes (up to 4^8 min, ~45 days) with
// amplitude 2^k times the per-minute one, like a random walk's sqrt(t) growth; their sum stays
// within +-511 x the per-minute amplitude (< 41 %), so prices stay positive.
constexpr int kOctaves = 9;

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t Fnv1a64(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Independent noise streams of one symbol.
enum Stream : uint64_t {
  kBasePrice = 1,
  kAmplitude,
  kBaseVolume,
  kTradeSize,
  kWickUp,
  kWickDown,
  kVolumeNoise,
  kOctave0 = 100,
};

struct Aggregate {
  bool any = false;
  int64_t open = 0, high = 0, low = 0, close = 0;  // 1e-4 units
  int64_t volume = 0, trades = 0;
  __int128 price_volume = 0;  // sum of vwap * volume

  void Add(int64_t o, int64_t h, int64_t l, int64_t c, int64_t v, int64_t n, int64_t vwap) {
    if (!any) {
      open = o;
      high = h;
      low = l;
      any = true;
    }
    high = std::max(high, h);
    low = std::min(low, l);
    close = c;
    volume += v;
    trades += n;
    price_volume += static_cast<__int128>(vwap) * v;
  }
};

// The deterministic market of one symbol. Every value is a function of (symbol, minute).
class SymbolModel {
 public:
  explicit SymbolModel(const Symbol& symbol) : seed_(Fnv1a64(symbol.value())) {
    base_units_ = 20 * Price::kUnitsPerWhole +
                  static_cast<int64_t>(Noise(kBasePrice, 0) % (500 * Price::kUnitsPerWhole));
    amplitude_ppm_ = 300 + static_cast<int64_t>(Noise(kAmplitude, 0) % 501);
    base_volume_ = 2'000 + static_cast<int64_t>(Noise(kBaseVolume, 0) % 48'001);
    trade_size_ = 40 + static_cast<int64_t>(Noise(kTradeSize, 0) % 161);
  }

  // The bar of the minute-aligned bucket at `ts_ns` over the minutes [first, last) (minute
  // indexes since the epoch), which must not be empty.
  Bar Build(const Symbol& symbol, int64_t ts_ns, int64_t first, int64_t last) const {
    Aggregate agg;
    int64_t open = PriceAt(first);
    for (int64_t m = first; m < last; ++m) {
      const int64_t close = PriceAt(m + 1);
      const int64_t high = std::max(open, close) + std::max(open, close) * Wick(kWickUp, m) / kPpm;
      const int64_t low = std::max<int64_t>(
          1, std::min(open, close) - std::min(open, close) * Wick(kWickDown, m) / kPpm);
      const int64_t volume = std::max<int64_t>(
          1, base_volume_ * VolumeShapePerMille(m) *
                 (50 + static_cast<int64_t>(Noise(kVolumeNoise, m) % 101)) / 100'000);
      const int64_t trades = (volume + trade_size_ - 1) / trade_size_;
      const int64_t vwap = (high + low + close) / 3;
      agg.Add(open, high, low, close, volume, trades, vwap);
      open = close;
    }
    Bar bar;
    bar.symbol = symbol;
    bar.ts_ns = ts_ns;
    bar.open = Price::FromUnits(agg.open);
    bar.high = Price::FromUnits(agg.high);
    bar.low = Price::FromUnits(agg.low);
    bar.close = Price::FromUnits(agg.close);
    bar.volume = agg.volume;
    bar.trade_count = agg.trades;
    // Volume-weighted mean of values in [low, high], rounded half up: stays in [low, high].
    bar.vwap = Price::FromUnits(
        static_cast<int64_t>((2 * agg.price_volume + agg.volume) / (2 * agg.volume)));
    return bar;
  }

 private:
  uint64_t Noise(uint64_t stream, int64_t index) const {
    return SplitMix64(SplitMix64(seed_ ^ SplitMix64(stream)) ^ static_cast<uint64_t>(index));
  }

  // Uniform in [-a, a].
  int64_t Symmetric(uint64_t stream, int64_t index, int64_t a) const {
    return static_cast<int64_t>(Noise(stream, index) % static_cast<uint64_t>(2 * a + 1)) - a;
  }

  // A shadow beyond the body, in ppm of the price: up to the per-minute amplitude.
  int64_t Wick(uint64_t stream, int64_t minute) const {
    return static_cast<int64_t>(Noise(stream, minute) % static_cast<uint64_t>(amplitude_ppm_ + 1));
  }

  // The price (1e-4 units) at the start of `minute`: the sum of the octaves, each interpolated
  // linearly between its lattice points, scaling the symbol's base price.
  int64_t PriceAt(int64_t minute) const {
    int64_t deviation_ppm = 0;
    for (int k = 0; k < kOctaves; ++k) {
      const int64_t period = int64_t{1} << (2 * k);
      const int64_t amplitude = amplitude_ppm_ << k;
      const int64_t i = FloorDiv(minute, period);
      const int64_t f = minute - i * period;
      const int64_t a = Symmetric(kOctave0 + k, i, amplitude);
      const int64_t b = Symmetric(kOctave0 + k, i + 1, amplitude);
      deviation_ppm += (a * (period - f) + b * f) / period;
    }
    return base_units_ * (kPpm + deviation_ppm) / kPpm;
  }

  // Relative volume: a U over the regular session (heavy at the open and close), thin outside
  // it and thinner at weekends.
  static int64_t VolumeShapePerMille(int64_t minute) {
    const int64_t utc = minute * 60;
    const int64_t local = utc + UsEasternUtcOffsetSeconds(utc);
    const int64_t day = FloorDiv(local, kSecondsPerDay);
    const int64_t minute_of_day = (local - day * kSecondsPerDay) / 60;
    const int weekday = WeekdayFromDays(day);
    if (weekday == 0 || weekday == 6) return 60;
    if (minute_of_day < 9 * 60 + 30 || minute_of_day >= 16 * 60) return 150;
    const int64_t x = minute_of_day - (9 * 60 + 30) - 195;  // -195 .. 194
    return 1'000 + 2'000 * x * x / (195 * 195);
  }

  uint64_t seed_;
  int64_t base_units_ = 0;
  int64_t amplitude_ppm_ = 0;
  int64_t base_volume_ = 0;
  int64_t trade_size_ = 0;
};

// Appends to `bars` the bars of `symbol` in [lo, hi) (already clipped to [kMinNs, kMaxNs)), in
// time order, stopping after `limit` bars. Returns how many it appended.
int64_t AppendBars(const Symbol& symbol, const SymbolModel& model, int64_t lo, int64_t hi,
                   Timeframe timeframe, bool all_hours, int64_t limit, std::vector<Bar>& bars) {
  if (lo >= hi || limit <= 0) return 0;
  if (timeframe == Timeframe::kOneDay) {
    // Alpaca stamps a daily bar at New York midnight of its trading date, and the bar holds
    // that date's session (or, all hours, the whole New York date: 23 or 25 h on DST days).
    const int64_t first_day = UsEasternDays(FloorDiv(lo, kNanosPerSecond)) - 1;
    const int64_t last_day = UsEasternDays(FloorDiv(hi, kNanosPerSecond)) + 1;
    int64_t added = 0;
    for (int64_t day = first_day; day <= last_day && added < limit; ++day) {
      const int64_t stamp = UsEasternMidnightSeconds(day) * kNanosPerSecond;
      if (stamp < lo || stamp >= hi) continue;
      int64_t begin = stamp;
      int64_t end = UsEasternMidnightSeconds(day + 1) * kNanosPerSecond;
      if (!all_hours) {
        const auto session = UsRegularSession(day);
        if (!session) continue;
        begin = session->open_ns;
        end = session->close_ns;
      }
      bars.push_back(model.Build(symbol, stamp, begin / kNanosPerMinute, end / kNanosPerMinute));
      ++added;
    }
    return added;
  }
  const int64_t width = timeframe.nanos();
  int64_t first_bucket = FloorDiv(lo, width) * width;
  if (first_bucket < lo) first_bucket += width;
  int64_t added = 0;
  if (all_hours) {
    for (int64_t b = first_bucket; b < hi && added < limit; b += width, ++added) {
      bars.push_back(model.Build(symbol, b, b / kNanosPerMinute, (b + width) / kNanosPerMinute));
    }
    return added;
  }
  // Every New York date whose session could reach into [lo, hi), one day of slack each side.
  const int64_t first_day = UsEasternDays(FloorDiv(lo, kNanosPerSecond)) - 1;
  const int64_t last_day = UsEasternDays(FloorDiv(hi, kNanosPerSecond)) + 1;
  for (int64_t day = first_day; day <= last_day; ++day) {
    const auto session = UsRegularSession(day);
    if (!session) continue;
    // Buckets of width `width` that hold at least one session minute.
    const int64_t from = std::max(FloorDiv(session->open_ns, width) * width, first_bucket);
    for (int64_t b = from; b < session->close_ns && b < hi; b += width) {
      if (added == limit) return added;
      const int64_t begin = std::max(b, session->open_ns);
      const int64_t end = std::min(b + width, session->close_ns);
      bars.push_back(model.Build(symbol, b, begin / kNanosPerMinute, end / kNanosPerMinute));
      ++added;
    }
  }
  return added;
}

// Completes on the awaiting coroutine's executor after `latency` (through a post when zero);
// false when cancelled.
boost::asio::awaitable<bool> Wait(TimeSource& time, TimeSource::Duration latency) {
  try {
    if (latency > TimeSource::Duration::zero()) {
      co_await time.SleepFor(latency);
    } else {
      auto executor = co_await boost::asio::this_coro::executor;
      co_await boost::asio::post(executor, boost::asio::use_awaitable);
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() != boost::asio::error::operation_aborted) throw;
    co_return false;
  }
  co_return true;
}

}  // namespace

FakeProvider::FakeProvider(Options options) : FakeProvider(SystemTimeSource(), options) {}

FakeProvider::FakeProvider(TimeSource& time, Options options) : time_(&time), options_(options) {}

boost::asio::awaitable<absl::Status> FakeProvider::Fetch(FetchRequest request, PageSink sink) {
  // Not a coroutine itself: the frame holds copies, not `this`.
  return Stream(time_, options_, std::move(request), std::move(sink));
}

boost::asio::awaitable<absl::Status> FakeProvider::Stream(TimeSource* time, Options options,
                                                          FetchRequest request, PageSink sink) {
  if (absl::Status s = ValidateFetchRequest(request, options.max_symbols_per_request, "fake");
      !s.ok()) {
    co_return s;
  }
  if (request.adjustment != "raw" || (!request.feed.empty() && request.feed != "fake")) {
    co_return absl::InvalidArgumentError(
        "fake provider: only adjustment \"raw\" and feed \"fake\" exist");
  }
  if (options.page_size < 1) {
    co_return absl::InvalidArgumentError("fake provider: page_size must be at least 1");
  }
  std::vector<Symbol> symbols = std::move(request.symbols);
  std::sort(symbols.begin(), symbols.end());
  const int64_t hi = std::min(request.range.end_ns(), kMaxNs);
  const auto cancelled = [&](int index) {
    return absl::CancelledError(absl::StrCat("fake provider: fetch cancelled before page ", index));
  };

  FetchPage page;
  size_t next = 0;                                              // the first symbol not yet complete
  int64_t cursor = std::max(request.range.start_ns(), kMinNs);  // where symbols[next] resumes
  for (int index = 0;; ++index) {
    page = FetchPage{};
    page.feed = "fake";
    page.adjustment = "raw";
    page.index = index;
    // Fill the page like Alpaca: `page_size` bars across symbols, sorted by symbol then time.
    while (next < symbols.size()) {
      const int64_t room = options.page_size - static_cast<int64_t>(page.bars.size());
      // One bar more than fits tells whether the symbol's bars stop on this page.
      const SymbolModel model(symbols[next]);
      const int64_t added = AppendBars(symbols[next], model, cursor, hi, request.timeframe,
                                       options.all_hours, room + 1, page.bars);
      if (added <= room) {
        page.completed.push_back(symbols[next]);
        ++next;
        cursor = std::max(request.range.start_ns(), kMinNs);
        if (added == room) break;
        continue;
      }
      page.bars.pop_back();
      cursor = page.bars.back().ts_ns + 1;
      break;
    }
    // The simulated round trip of this page.
    if (!co_await Wait(*time, options.latency)) co_return cancelled(index);
    const bool last = next == symbols.size();
    absl::Status s;
    try {
      s = co_await sink(std::move(page));
    } catch (const boost::system::system_error& e) {
      if (e.code() != boost::asio::error::operation_aborted) throw;
      co_return cancelled(index + 1);
    }
    if (!s.ok() || last) co_return s;
    auto state = co_await boost::asio::this_coro::cancellation_state;
    if (state.cancelled() != boost::asio::cancellation_type::none) co_return cancelled(index + 1);
  }
}

absl::StatusOr<std::vector<Bar>> FakeProvider::Generate(const Symbol& symbol, TimeRange range,
                                                        Timeframe timeframe,
                                                        const Options& options) {
  if (symbol.empty()) return absl::InvalidArgumentError("fake provider: empty symbol");
  const int64_t lo = std::max(range.start_ns(), kMinNs);
  const int64_t hi = std::min(range.end_ns(), kMaxNs);
  std::vector<Bar> bars;
  const SymbolModel model(symbol);
  const int64_t added =
      AppendBars(symbol, model, lo, hi, timeframe, options.all_hours, options.max_bars + 1, bars);
  if (added > options.max_bars) {
    return absl::OutOfRangeError(absl::StrCat(
        "fake provider: more than max_bars=", options.max_bars, " bars for ", symbol.value(),
        " in ", range.ToString(), " at ", timeframe.ToString(), "; fetch a shorter range"));
  }
  return bars;
}

}  // namespace marketpipe
