// Test helper: one process writing deterministic pages into a store, so tests can run several
// writers against one SQLite file at once.
//
//   sqlite_writer STORE_SPEC SYMBOLS(comma-separated) PAGES BARS_PER_PAGE
//
// Page p holds, for every symbol, the 1m bars p*BARS_PER_PAGE .. (p+1)*BARS_PER_PAGE-1 minutes
// after 2024-01-02T14:30Z, with prices derived from the minute: every writer writes the same
// bar for the same key. Exits 0 when every page is stored, 1 with the error otherwise.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/storage/store.h"

namespace {

using marketpipe::Bar;
using marketpipe::Price;
using marketpipe::Symbol;

constexpr int64_t kT0 = 1'704'205'800LL * 1'000'000'000;
constexpr int64_t kMinute = 60LL * 1'000'000'000;

int Fail(const std::string& message) {
  std::fprintf(stderr, "sqlite_writer: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return Fail("usage: sqlite_writer STORE_SPEC SYMBOLS PAGES BARS_PER_PAGE");
  std::vector<Symbol> symbols;
  for (absl::string_view text : absl::StrSplit(argv[2], ',')) {
    absl::StatusOr<Symbol> symbol = Symbol::Parse(std::string(text));
    if (!symbol.ok()) return Fail(std::string(symbol.status().message()));
    symbols.push_back(*symbol);
  }
  int pages = 0;
  int per_page = 0;
  if (!absl::SimpleAtoi(argv[3], &pages) || !absl::SimpleAtoi(argv[4], &per_page)) {
    return Fail("PAGES and BARS_PER_PAGE must be integers");
  }
  absl::StatusOr<std::unique_ptr<marketpipe::storage::Store>> store =
      marketpipe::storage::OpenStore(argv[1]);
  if (!store.ok()) return Fail(store.status().ToString());
  for (int page = 0; page < pages; ++page) {
    std::vector<Bar> bars;
    for (const Symbol& symbol : symbols) {
      for (int i = 0; i < per_page; ++i) {
        const int64_t minute = static_cast<int64_t>(page) * per_page + i;
        Bar& bar = bars.emplace_back();
        bar.symbol = symbol;
        bar.ts_ns = kT0 + minute * kMinute;
        bar.open = bar.high = bar.low = bar.close = bar.vwap = Price::FromUnits(1'000'000 + minute);
        bar.volume = 100 + minute;
        bar.trade_count = 1 + minute % 7;
      }
    }
    marketpipe::storage::PageWrite write;
    write.provenance = {"fake", "fake", "raw"};
    write.bars = bars;
    if (absl::Status status = (*store)->WritePage(write); !status.ok()) {
      return Fail(status.ToString());
    }
  }
  return 0;
}
