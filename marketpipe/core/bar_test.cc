#include "marketpipe/core/bar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "absl/hash/hash.h"

namespace marketpipe {
namespace {

// 2024-01-02T14:30:00Z.
constexpr int64_t kTs = 1'704'205'800'000'000'000;

Bar MakeBar(const char* symbol, int64_t ts_ns) {
  Bar bar;
  bar.symbol = *Symbol::Parse(symbol);
  bar.ts_ns = ts_ns;
  bar.open = *Price::Parse("187.2350");
  bar.high = *Price::Parse("187.5");
  bar.low = *Price::Parse("187.1");
  bar.close = *Price::Parse("187.4");
  bar.volume = 12'345;
  bar.trade_count = 67;
  bar.vwap = *Price::Parse("187.3012");
  return bar;
}

TEST(BarTest, DefaultHasZeroFieldsAndEmptySymbol) {
  const Bar bar;
  EXPECT_TRUE(bar.symbol.empty());
  EXPECT_EQ(bar.ts_ns, 0);
  EXPECT_EQ(bar.open, Price());
  EXPECT_EQ(bar.high, Price());
  EXPECT_EQ(bar.low, Price());
  EXPECT_EQ(bar.close, Price());
  EXPECT_EQ(bar.volume, 0);
  EXPECT_EQ(bar.trade_count, 0);
  EXPECT_EQ(bar.vwap, Price());
}

TEST(BarTest, CopiesCompareEqual) {
  const Bar a = MakeBar("AAPL", kTs);
  const Bar b = a;
  EXPECT_EQ(a, b);
}

TEST(BarTest, EveryFieldTakesPartInEquality) {
  const Bar base = MakeBar("AAPL", kTs);
  std::vector<Bar> variants(9, base);
  variants[0].symbol = *Symbol::Parse("MSFT");
  variants[1].ts_ns += 1;
  variants[2].open += Price::FromUnits(1);
  variants[3].high += Price::FromUnits(1);
  variants[4].low += Price::FromUnits(1);
  variants[5].close += Price::FromUnits(1);
  variants[6].volume += 1;
  variants[7].trade_count += 1;
  variants[8].vwap += Price::FromUnits(1);
  for (size_t i = 0; i < variants.size(); ++i) {
    EXPECT_NE(variants[i], base) << "field " << i;
    EXPECT_NE(absl::HashOf(variants[i]), absl::HashOf(base)) << "field " << i;
  }
  EXPECT_EQ(absl::HashOf(MakeBar("AAPL", kTs)), absl::HashOf(base));
}

TEST(BarTest, SortsBySymbolThenTime) {
  std::vector<Bar> bars = {MakeBar("MSFT", kTs), MakeBar("AAPL", kTs + 60), MakeBar("AAPL", kTs)};
  std::sort(bars.begin(), bars.end());
  EXPECT_EQ(bars[0], MakeBar("AAPL", kTs));
  EXPECT_EQ(bars[1], MakeBar("AAPL", kTs + 60));
  EXPECT_EQ(bars[2], MakeBar("MSFT", kTs));
}

TEST(BarTest, ToStringShowsEveryField) {
  EXPECT_EQ(MakeBar("AAPL", kTs).ToString(),
            "AAPL 2024-01-02T14:30:00Z o=187.2350 h=187.5000 l=187.1000 c=187.4000 v=12345 n=67 "
            "vwap=187.3012");
  std::ostringstream os;
  os << MakeBar("AAPL", kTs);
  EXPECT_EQ(os.str(), MakeBar("AAPL", kTs).ToString());
}

}  // namespace
}  // namespace marketpipe
