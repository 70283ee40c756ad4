#include "marketpipe/cli/inputs.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/environment.h"

namespace marketpipe::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Names(const std::vector<Symbol>& symbols) {
  std::vector<std::string> out;
  for (const Symbol& s : symbols) out.push_back(s.value());
  return out;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(ParseSymbolsTest, CommaListKeepsOrder) {
  auto symbols = ParseSymbols("MSFT,AAPL,BRK.B", "/");
  ASSERT_TRUE(symbols.ok());
  EXPECT_THAT(Names(*symbols), ElementsAre("MSFT", "AAPL", "BRK.B"));
}

TEST(ParseSymbolsTest, InvalidSymbolIsNamedWithWhatIsAllowed) {
  auto symbols = ParseSymbols("AAPL,aapl", "/");
  ASSERT_EQ(symbols.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(symbols.status()), HasSubstr("invalid symbol \"aapl\""));
  EXPECT_THAT(Message(symbols.status()), HasSubstr("allowed"));
}

TEST(ParseSymbolsTest, DuplicateSymbolIsRefused) {
  auto symbols = ParseSymbols("AAPL,MSFT,AAPL", "/");
  EXPECT_THAT(Message(symbols.status()), HasSubstr("duplicate symbol \"AAPL\""));
}

TEST(ParseSymbolsTest, EmptyListIsRefused) {
  EXPECT_THAT(Message(ParseSymbols(",,", "/").status()), HasSubstr("no symbols"));
}

TEST(ParseSymbolsTest, AtFileReadsSymbolsRelativeToTheWorkingDirectory) {
  const std::string dir = ::mptest::CaseTempDir();
  std::ofstream(dir + "/list.txt") << "# my list\nAAPL, MSFT\n\nNVDA  # chips\n";
  auto symbols = ParseSymbols("@list.txt", dir);
  ASSERT_TRUE(symbols.ok()) << symbols.status();
  EXPECT_THAT(Names(*symbols), ElementsAre("AAPL", "MSFT", "NVDA"));
}

TEST(ParseSymbolsTest, MissingFileIsNamed) {
  auto symbols = ParseSymbols("@nope.txt", "/nonexistent");
  EXPECT_THAT(Message(symbols.status()), HasSubstr("cannot read file /nonexistent/nope.txt"));
}

TEST(ParseInstantTest, DateIsMidnightUtcAndRfc3339IsAccepted) {
  EXPECT_EQ(*ParseInstant("--start", "2024-01-02"), 1704153600'000'000'000);
  EXPECT_EQ(*ParseInstant("--start", "2024-01-02T14:30:00Z"),
            1704153600'000'000'000 + 52200'000'000'000);
}

TEST(ParseInstantTest, BadDateNamesFlagValueAndFormat) {
  for (const char* bad : {"2024-13-01", "2024-02-30", "01/02/2024", "", "2024-01-02 10:00"}) {
    auto ns = ParseInstant("--end", bad);
    ASSERT_FALSE(ns.ok()) << bad;
    EXPECT_THAT(Message(ns.status()), HasSubstr(std::string("--end: invalid date \"") + bad));
    EXPECT_THAT(Message(ns.status()), HasSubstr("YYYY-MM-DD"));
  }
}

TEST(ParseTimeframesTest, ListInOrderAndUnknownOrDuplicateRefused) {
  auto tfs = ParseTimeframes("5m,1h,1d");
  ASSERT_TRUE(tfs.ok());
  EXPECT_THAT(*tfs, ElementsAre(Timeframe::kFiveMinutes, Timeframe::kOneHour, Timeframe::kOneDay));
  EXPECT_THAT(Message(ParseTimeframes("5m,2m").status()), HasSubstr("unknown timeframe \"2m\""));
  EXPECT_THAT(Message(ParseTimeframes("5m,5m").status()), HasSubstr("duplicate"));
}

TEST(ResolveStoreSpecTest, SqlitePathsResolveAgainstTheWorkingDirectory) {
  EXPECT_EQ(*ResolveStoreSpec("sqlite:data/m.db", "/home/u/repo"), "sqlite:/home/u/repo/data/m.db");
  EXPECT_EQ(*ResolveStoreSpec("sqlite:/abs/m.db", "/home/u"), "sqlite:/abs/m.db");
  EXPECT_EQ(SqlitePath("sqlite:/abs/m.db"), "/abs/m.db");
  EXPECT_EQ(SqlitePath("postgres:host=/tmp"), std::nullopt);
}

TEST(ResolveStoreSpecTest, MalformedSpecsAreRefused) {
  constexpr const char* kAllowed = " (allowed: sqlite:PATH or postgres:CONNINFO[;schema=NAME])";
  EXPECT_EQ(Message(ResolveStoreSpec("sqlite:", "/").status()),
            std::string("--store \"sqlite:\": missing file path") + kAllowed);
  EXPECT_EQ(Message(ResolveStoreSpec("foo:bar", "/").status()),
            std::string("--store \"foo:bar\": unknown store kind \"foo\"") + kAllowed);
  EXPECT_EQ(Message(ResolveStoreSpec("SQLite:m.db", "/").status()),
            std::string("--store \"SQLite:m.db\": unknown store kind \"SQLite\"") + kAllowed);
  EXPECT_EQ(Message(ResolveStoreSpec("m.db", "/").status()),
            std::string("--store \"m.db\": no store kind before a ':'") + kAllowed);
  EXPECT_EQ(Message(ResolveStoreSpec("", "/").status()),
            std::string("--store \"\": no store kind before a ':'") + kAllowed);
  EXPECT_THAT(Message(ResolveStoreSpec("postgres:", "/").status()),
              HasSubstr("'postgres:': postgres needs a conninfo"));
  EXPECT_THAT(Message(ResolveStoreSpec("postgres:;schema=mp", "/").status()),
              HasSubstr("postgres needs a conninfo"));
  EXPECT_THAT(Message(ResolveStoreSpec("postgres:dbname=x;schema=Bad-Name", "/").status()),
              HasSubstr("schema 'Bad-Name' must match [a-z_][a-z0-9_]{0,62}"));
  EXPECT_TRUE(ResolveStoreSpec("postgres:host=/tmp dbname=x;schema=mp", "/").ok());
}

TEST(ResolvePathTest, RelativeJoinsAbsoluteStays) {
  EXPECT_EQ(ResolvePath("a/../b.txt", "/w"), "/w/b.txt");
  EXPECT_EQ(ResolvePath("/x/y", "/w"), "/x/y");
}

TEST(ParseIntInRangeTest, BoundsAreInclusiveAndTextMustBeAnInteger) {
  EXPECT_EQ(*ParseIntInRange("--workers", "1", 1, 64), 1);
  EXPECT_EQ(*ParseIntInRange("--workers", "64", 1, 64), 64);
  for (const char* bad : {"0", "65", "4x", "", "-1", "1.5"}) {
    auto v = ParseIntInRange("--workers", bad, 1, 64);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_THAT(Message(v.status()), HasSubstr("allowed: integers 1..64"));
  }
}

}  // namespace
}  // namespace marketpipe::cli
