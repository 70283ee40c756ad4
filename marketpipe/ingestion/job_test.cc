#include "marketpipe/ingestion/job.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "marketpipe/core/time_format.h"

namespace marketpipe::ingestion {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kDay = int64_t{86400} * 1'000'000'000;

Symbol Sym(std::string_view text) { return *Symbol::Parse(text); }

int64_t At(std::string_view rfc3339) { return *ParseRfc3339(rfc3339); }

JobSpec Spec(std::vector<std::string> symbols, int64_t start, int64_t end) {
  JobSpec spec;
  for (const std::string& s : symbols) spec.symbols.push_back(Sym(s));
  spec.range = *TimeRange::Create(start, end);
  spec.timeframe = Timeframe::kOneMinute;
  return spec;
}

const int64_t kNow = At("2024-03-01T00:00:00Z");
const int64_t kStart = At("2024-01-02T00:00:00Z");

TEST(JobRulesTest, AcceptsOneSymbolAndThirtyDaysExactly) {
  EXPECT_TRUE(CheckJobRules(Spec({"AAPL"}, kStart, kStart + 30 * kDay), kNow).ok());
}

TEST(JobRulesTest, RejectsRangeOneNanosecondLongerThanThirtyDays) {
  absl::Status s = CheckJobRules(Spec({"AAPL"}, kStart, kStart + 30 * kDay + 1), kNow);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("30 days"));
}

TEST(JobRulesTest, RejectsNoSymbols) {
  JobSpec spec = Spec({}, kStart, kStart + kDay);
  EXPECT_EQ(CheckJobRules(spec, kNow).code(), absl::StatusCode::kInvalidArgument);
}

TEST(JobRulesTest, AcceptsThousandSymbolsRejectsThousandAndOne) {
  JobSpec spec = Spec({}, kStart, kStart + kDay);
  for (int i = 0; i < 1001; ++i) spec.symbols.push_back(Sym("S" + std::to_string(i)));
  absl::Status s = CheckJobRules(spec, kNow);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("1001"));
  spec.symbols.pop_back();
  EXPECT_TRUE(CheckJobRules(spec, kNow).ok());
}

TEST(JobRulesTest, RejectsDuplicateSymbolNamingIt) {
  absl::Status s = CheckJobRules(Spec({"AAPL", "MSFT", "AAPL"}, kStart, kStart + kDay), kNow);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("AAPL is listed twice"));
}

TEST(JobRulesTest, RejectsEmptySymbol) {
  JobSpec spec = Spec({"AAPL"}, kStart, kStart + kDay);
  spec.symbols.push_back(Symbol());
  EXPECT_EQ(CheckJobRules(spec, kNow).code(), absl::StatusCode::kInvalidArgument);
}

TEST(JobRulesTest, StartAtNowIsAllowedOneNanosecondLaterIsNot) {
  EXPECT_TRUE(CheckJobRules(Spec({"AAPL"}, kNow, kNow + kDay), kNow).ok());
  absl::Status s = CheckJobRules(Spec({"AAPL"}, kNow + 1, kNow + kDay), kNow);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("future"));
}

TEST(JobRulesTest, RejectsEmptyRange) {
  JobSpec spec = Spec({"AAPL"}, kStart, kStart + kDay);
  spec.range = TimeRange();
  EXPECT_EQ(CheckJobRules(spec, kNow).code(), absl::StatusCode::kInvalidArgument);
}

TEST(JobRulesTest, RejectsShardOutOfRange) {
  JobSpec spec = Spec({"AAPL"}, kStart, kStart + kDay);
  spec.shard = {.index = 3, .count = 3};
  EXPECT_EQ(CheckJobRules(spec, kNow).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ShardTest, ParsesIndexOverCount) {
  EXPECT_EQ(*ParseShard("0/1"), (Shard{0, 1}));
  EXPECT_EQ(*ParseShard("2/3"), (Shard{2, 3}));
  EXPECT_EQ(ShardName({2, 3}), "2/3");
}

TEST(ShardTest, RejectsMalformedShards) {
  for (const char* bad : {"", "1", "/", "1/", "/3", "3/3", "-1/3", "0/0", "a/3", "1/3x", " 1/3",
                          "0/1001", "1//3", "99999999999/3"}) {
    absl::StatusOr<Shard> shard = ParseShard(bad);
    EXPECT_EQ(shard.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ShardTest, ShardsPartitionSymbolsAndAreStable) {
  std::vector<Symbol> symbols;
  for (int i = 0; i < 300; ++i) symbols.push_back(Sym("S" + std::to_string(i)));
  size_t total = 0;
  for (int i = 0; i < 3; ++i) {
    std::vector<Symbol> part = SymbolsOfShard(symbols, {i, 3});
    // A stable hash spreads 300 symbols roughly evenly; none of the three is empty.
    EXPECT_GT(part.size(), 50u);
    for (const Symbol& s : part) EXPECT_EQ(ShardOfSymbol(s, 3), i);
    total += part.size();
  }
  EXPECT_EQ(total, symbols.size());
  // Pinned values: a change of hash would move every symbol to another shard and orphan the
  // checkpoints of running jobs.
  EXPECT_EQ(ShardOfSymbol(Sym("AAPL"), 1), 0);
  EXPECT_EQ(ShardOfSymbol(Sym("AAPL"), 1000), ShardOfSymbol(Sym("AAPL"), 1000));
}

TEST(JobIdTest, DerivedIdIgnoresSymbolOrder) {
  JobSpec a = Spec({"AAPL", "MSFT"}, kStart, kStart + kDay);
  JobSpec b = Spec({"MSFT", "AAPL"}, kStart, kStart + kDay);
  EXPECT_EQ(DeriveJobId("fake", "fake", a), DeriveJobId("fake", "fake", b));
  EXPECT_TRUE(CheckJobId(DeriveJobId("fake", "fake", a)).ok());
  EXPECT_EQ(DeriveJobId("fake", "fake", a).size(), 4u + 16u);
}

TEST(JobIdTest, DerivedIdChangesWithEveryField) {
  const JobSpec base = Spec({"AAPL", "MSFT"}, kStart, kStart + kDay);
  const std::string id = DeriveJobId("alpaca", "iex", base);
  EXPECT_NE(id, DeriveJobId("fake", "iex", base));
  EXPECT_NE(id, DeriveJobId("alpaca", "sip", base));
  JobSpec other = base;
  other.symbols.pop_back();
  EXPECT_NE(id, DeriveJobId("alpaca", "iex", other));
  other = base;
  other.range = *TimeRange::Create(kStart, kStart + 2 * kDay);
  EXPECT_NE(id, DeriveJobId("alpaca", "iex", other));
  other = base;
  other.range = *TimeRange::Create(kStart + 1, kStart + kDay);
  EXPECT_NE(id, DeriveJobId("alpaca", "iex", other));
  other = base;
  other.timeframe = Timeframe::kOneHour;
  EXPECT_NE(id, DeriveJobId("alpaca", "iex", other));
  other = base;
  other.shard = {1, 2};
  EXPECT_NE(id, DeriveJobId("alpaca", "iex", other));
}

TEST(JobIdTest, ChecksGivenIds) {
  EXPECT_TRUE(CheckJobId("nightly-2024.01_02").ok());
  EXPECT_EQ(CheckJobId("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckJobId("a b").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckJobId("x;drop").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckJobId(std::string(129, 'a')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckJobId(std::string(128, 'a')).ok());
}

}  // namespace
}  // namespace marketpipe::ingestion
