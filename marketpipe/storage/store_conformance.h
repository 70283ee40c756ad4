#ifndef MARKETPIPE_STORAGE_STORE_CONFORMANCE_H_
#define MARKETPIPE_STORAGE_STORE_CONFORMANCE_H_

// The Store conformance suite: every implementation runs these cases through
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreConformanceTest, ::testing::Types<SqliteEnv>);
//
// where the environment is a gtest fixture (the case's database) with `std::string StoreSpec()`
// returning an OpenStore spec private to the case. Both stores must pass it unchanged, which is
// what makes their results identical.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/price.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"
#include "marketpipe/storage/store.h"

namespace marketpipe::storage::conformance {

// 2024-01-02T14:30:00Z, a market open.
inline constexpr int64_t kT0 = 1'704'205'800LL * 1'000'000'000;
inline constexpr int64_t kMinute = 60LL * 1'000'000'000;

inline Symbol Sym(std::string_view text) { return *Symbol::Parse(text); }

inline TimeRange Range(int64_t start_ns, int64_t end_ns) {
  return *TimeRange::Create(start_ns, end_ns);
}

// A bar whose prices derive from `base_units` (1e-4 units), distinct per (base, ts).
inline Bar MakeBar(std::string_view symbol, int64_t ts_ns, int64_t base_units) {
  Bar bar;
  bar.symbol = Sym(symbol);
  bar.ts_ns = ts_ns;
  bar.open = Price::FromUnits(base_units);
  bar.high = Price::FromUnits(base_units + 150);
  bar.low = Price::FromUnits(base_units - 75);
  bar.close = Price::FromUnits(base_units + 25);
  bar.volume = 1000 + base_units % 997;
  bar.trade_count = 10 + base_units % 31;
  bar.vwap = Price::FromUnits(base_units + 11);
  return bar;
}

inline Provenance Iex() { return Provenance{"alpaca", "iex", "raw"}; }
inline Provenance Sip() { return Provenance{"alpaca", "sip", "raw"}; }

// The PageWrite views `bars`: keep the vector alive while the page is used.
inline PageWrite Page(const std::vector<Bar>& bars, Provenance provenance = Iex(),
                      Timeframe timeframe = Timeframe::kOneMinute) {
  PageWrite write;
  write.timeframe = timeframe;
  write.provenance = std::move(provenance);
  write.bars = bars;
  return write;
}

inline JobRecord MakeJob(std::string id, std::vector<std::string_view> symbols) {
  JobRecord job;
  job.id = std::move(id);
  for (std::string_view symbol : symbols) job.symbols.push_back(Sym(symbol));
  job.range = Range(kT0, kT0 + 390 * kMinute);
  job.timeframe = Timeframe::kOneMinute;
  job.provenance = Iex();
  return job;
}

inline std::string Message(const absl::Status& status) { return std::string(status.message()); }

template <typename Env>
class StoreConformanceTest : public Env {
 protected:
  void TearDown() override {
    store_.reset();
    Env::TearDown();
  }

  // The case's store, opened on first use.
  Store& store() {
    if (store_ == nullptr) {
      absl::StatusOr<std::unique_ptr<Store>> opened = OpenStore(this->StoreSpec());
      if (!opened.ok()) {
        ADD_FAILURE() << "OpenStore: " << opened.status();
        throw std::runtime_error("store did not open");
      }
      store_ = *std::move(opened);
    }
    return *store_;
  }

  // A second, independent store object (its own connections) on the same database.
  std::unique_ptr<Store> OpenAnother() {
    absl::StatusOr<std::unique_ptr<Store>> opened = OpenStore(this->StoreSpec());
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? *std::move(opened) : nullptr;
  }

  void CloseStore() { store_.reset(); }

  int64_t Count(std::optional<std::string_view> symbol = std::nullopt,
                Timeframe timeframe = Timeframe::kOneMinute) {
    std::optional<Symbol> sym;
    if (symbol.has_value()) sym = Sym(*symbol);
    absl::StatusOr<int64_t> count =
        store().CountBars(sym, timeframe, Range(kT0 - 1000 * kMinute, kT0 + 1000 * kMinute));
    EXPECT_TRUE(count.ok()) << count.status();
    return count.value_or(-1);
  }

  std::vector<Bar> Read(std::string_view symbol, Timeframe timeframe = Timeframe::kOneMinute) {
    absl::StatusOr<std::vector<Bar>> bars =
        store().ReadBars(Sym(symbol), timeframe, Range(kT0 - 1000 * kMinute, kT0 + 1000 * kMinute));
    EXPECT_TRUE(bars.ok()) << bars.status();
    return bars.value_or(std::vector<Bar>{});
  }

 private:
  std::unique_ptr<Store> store_;
};

TYPED_TEST_SUITE_P(StoreConformanceTest);

TYPED_TEST_P(StoreConformanceTest, WrittenBarsReadBackExactlyInTimeOrder) {
  const std::vector<Bar> bars = {MakeBar("AAPL", kT0 + 2 * kMinute, 1872350),
                                 MakeBar("AAPL", kT0, 1870001), MakeBar("MSFT", kT0, 3759999),
                                 MakeBar("AAPL", kT0 + kMinute, 1)};
  ASSERT_TRUE(this->store().WritePage(Page(bars)).ok());
  EXPECT_THAT(this->Read("AAPL"), ::testing::ElementsAre(bars[1], bars[3], bars[0]));
  EXPECT_THAT(this->Read("MSFT"), ::testing::ElementsAre(bars[2]));
  EXPECT_THAT(this->Read("AAPL", Timeframe::kFiveMinutes), ::testing::IsEmpty());
}

TYPED_TEST_P(StoreConformanceTest, ReUpsertIsIdempotentAndLatestValuesWin) {
  const std::vector<Bar> bars = {MakeBar("AAPL", kT0, 100), MakeBar("AAPL", kT0 + kMinute, 200)};
  ASSERT_TRUE(this->store().WritePage(Page(bars)).ok());
  ASSERT_TRUE(this->store().WritePage(Page(bars)).ok());
  EXPECT_EQ(this->Count("AAPL"), 2);
  const std::vector<Bar> revised = {MakeBar("AAPL", kT0 + kMinute, 999)};
  ASSERT_TRUE(this->store().WritePage(Page(revised)).ok());
  EXPECT_THAT(this->Read("AAPL"), ::testing::ElementsAre(bars[0], revised[0]));
}

TYPED_TEST_P(StoreConformanceTest, KeyRepeatedWithinOnePageKeepsTheLastBar) {
  const std::vector<Bar> bars = {MakeBar("AAPL", kT0, 100), MakeBar("AAPL", kT0, 300),
                                 MakeBar("AAPL", kT0, 200)};
  ASSERT_TRUE(this->store().WritePage(Page(bars)).ok());
  EXPECT_THAT(this->Read("AAPL"), ::testing::ElementsAre(bars[2]));
}

// Large pages are written in chunks by some stores: repeats inside and across chunks.
TYPED_TEST_P(StoreConformanceTest, LargePagesKeepTheLastBarOfEveryKey) {
  std::vector<Bar> bars;
  for (int i = 0; i < 300; ++i)
    bars.push_back(MakeBar("AAPL", kT0 + (i % 200) * kMinute, 1000 + i));
  ASSERT_TRUE(this->store().WritePage(Page(bars)).ok());
  const std::vector<Bar> stored = this->Read("AAPL");
  ASSERT_EQ(stored.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(stored[i], bars[i < 100 ? 200 + i : i]) << i;
  }
}

TYPED_TEST_P(StoreConformanceTest, RangesAreHalfOpen) {
  std::vector<Bar> bars;
  for (int i = 0; i < 5; ++i) bars.push_back(MakeBar("AAPL", kT0 + i * kMinute, 100 + i));
  ASSERT_TRUE(this->store().WritePage(Page(bars)).ok());
  Store& store = this->store();
  const Symbol aapl = Sym("AAPL");
  // [t1, t3) holds t1 and t2, not t3.
  absl::StatusOr<std::vector<Bar>> middle =
      store.ReadBars(aapl, Timeframe::kOneMinute, Range(kT0 + kMinute, kT0 + 3 * kMinute));
  ASSERT_TRUE(middle.ok()) << middle.status();
  EXPECT_THAT(*middle, ::testing::ElementsAre(bars[1], bars[2]));
  EXPECT_EQ(*store.CountBars(aapl, Timeframe::kOneMinute, Range(kT0 + kMinute, kT0 + 3 * kMinute)),
            2);
  // One nanosecond either side of a bar decides whether it is in.
  EXPECT_EQ(*store.CountBars(aapl, Timeframe::kOneMinute, Range(kT0, kT0 + 1)), 1);
  EXPECT_EQ(*store.CountBars(aapl, Timeframe::kOneMinute, Range(kT0 - 1, kT0)), 0);
  EXPECT_EQ(*store.CountBars(aapl, Timeframe::kOneMinute, Range(kT0 + 1, kT0 + kMinute)), 0);
  EXPECT_EQ(*store.CountBars(std::nullopt, Timeframe::kOneMinute,
                             Range(kT0 + 4 * kMinute, kT0 + 4 * kMinute + 1)),
            1);
}

TYPED_TEST_P(StoreConformanceTest, CountsBySymbolAndTimeframe) {
  ASSERT_TRUE(this->store()
                  .WritePage(Page({MakeBar("AAPL", kT0, 1), MakeBar("AAPL", kT0 + kMinute, 2),
                                   MakeBar("MSFT", kT0, 3)}))
                  .ok());
  ASSERT_TRUE(this->store()
                  .WritePage(Page({MakeBar("AAPL", kT0, 4)}, Iex(), Timeframe::kFiveMinutes))
                  .ok());
  EXPECT_EQ(this->Count(), 3);
  EXPECT_EQ(this->Count("AAPL"), 2);
  EXPECT_EQ(this->Count("MSFT"), 1);
  EXPECT_EQ(this->Count("TSLA"), 0);
  EXPECT_EQ(this->Count(std::nullopt, Timeframe::kFiveMinutes), 1);
  EXPECT_EQ(this->Count("AAPL", Timeframe::kFiveMinutes), 1);
}

TYPED_TEST_P(StoreConformanceTest, ProvenanceIsRecordedPerSeries) {
  ASSERT_TRUE(this->store().WritePage(Page({MakeBar("AAPL", kT0, 1)}, Iex())).ok());
  absl::StatusOr<std::optional<Provenance>> recorded =
      this->store().GetProvenance(Sym("AAPL"), Timeframe::kOneMinute);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(*recorded, Iex());
  EXPECT_EQ(*this->store().GetProvenance(Sym("AAPL"), Timeframe::kFiveMinutes), std::nullopt);
  EXPECT_EQ(*this->store().GetProvenance(Sym("MSFT"), Timeframe::kOneMinute), std::nullopt);
}

TYPED_TEST_P(StoreConformanceTest, BarsOfAnotherFeedOrAdjustmentAreRefusedNamingBoth) {
  ASSERT_TRUE(this->store().WritePage(Page({MakeBar("AAPL", kT0, 1)}, Iex())).ok());
  // The refused page also holds a new series: nothing of it may be stored.
  const absl::Status feed = this->store().WritePage(
      Page({MakeBar("MSFT", kT0, 5), MakeBar("AAPL", kT0 + kMinute, 2)}, Sip()));
  EXPECT_EQ(feed.code(), absl::StatusCode::kFailedPrecondition) << feed;
  EXPECT_THAT(Message(feed), ::testing::HasSubstr("AAPL 1m"));
  EXPECT_THAT(Message(feed), ::testing::HasSubstr("feed=iex"));
  EXPECT_THAT(Message(feed), ::testing::HasSubstr("feed=sip"));
  const absl::Status adjustment = this->store().WritePage(
      Page({MakeBar("AAPL", kT0 + kMinute, 2)}, Provenance{"alpaca", "iex", "split"}));
  EXPECT_EQ(adjustment.code(), absl::StatusCode::kFailedPrecondition) << adjustment;
  EXPECT_THAT(Message(adjustment), ::testing::HasSubstr("adjustment=split"));
  EXPECT_EQ(this->Count(), 1);
  EXPECT_EQ(*this->store().GetProvenance(Sym("MSFT"), Timeframe::kOneMinute), std::nullopt);
  // Another timeframe is another series.
  EXPECT_TRUE(
      this->store().WritePage(Page({MakeBar("AAPL", kT0, 1)}, Sip(), Timeframe::kOneHour)).ok());
}

TYPED_TEST_P(StoreConformanceTest, BadPagesAreInvalidArgument) {
  const std::vector<Bar> bars = {MakeBar("AAPL", kT0, 1)};
  PageWrite no_feed = Page(bars, Provenance{"alpaca", "", "raw"});
  EXPECT_EQ(this->store().WritePage(no_feed).code(), absl::StatusCode::kInvalidArgument);
  std::vector<Bar> nameless = {MakeBar("AAPL", kT0, 1)};
  nameless[0].symbol = Symbol();
  EXPECT_EQ(this->store().WritePage(Page(nameless)).code(), absl::StatusCode::kInvalidArgument);
  PageWrite orphan = Page({});
  orphan.checkpoints.push_back(Checkpoint{Sym("AAPL"), std::nullopt, 0, false, ""});
  EXPECT_EQ(this->store().WritePage(orphan).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->Count(), 0);
}

TYPED_TEST_P(StoreConformanceTest, QueryReturnsTypedColumnsWithExactPrices) {
  Bar bar = MakeBar("AAPL", kT0, 1872350);
  bar.close = Price::FromUnits(1870000);  // a whole number still prints four decimals
  ASSERT_TRUE(this->store().WritePage(Page({bar})).ok());
  absl::StatusOr<QueryResult> result = this->store().Query(
      "SELECT symbol, timeframe, ts_ns, open, high, low, close, volume, trade_count, vwap "
      "FROM bars",
      10);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->columns,
              ::testing::ElementsAre("symbol", "timeframe", "ts_ns", "open", "high", "low", "close",
                                     "volume", "trade_count", "vwap"));
  ASSERT_EQ(result->rows.size(), 1u);
  EXPECT_FALSE(result->truncated);
  const std::vector<SqlValue> expected = {
      std::string("AAPL"), std::string("1m"),   kT0,
      Decimal{"187.2350"}, Decimal{"187.2500"}, Decimal{"187.2275"},
      Decimal{"187.0000"}, int64_t{bar.volume}, int64_t{bar.trade_count},
      Decimal{"187.2361"}};
  EXPECT_EQ(result->rows[0], expected);
  absl::StatusOr<QueryResult> star = this->store().Query("SELECT * FROM bars", 10);
  ASSERT_TRUE(star.ok()) << star.status();
  EXPECT_EQ(star->columns, result->columns);
  EXPECT_EQ(star->rows, result->rows);
}

TYPED_TEST_P(StoreConformanceTest, QueryReturnsNullsTextAndIntegers) {
  absl::StatusOr<QueryResult> result =
      this->store().Query("SELECT NULL AS nil, 'x' AS text, 42 AS answer", 1);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rows.size(), 1u);
  EXPECT_EQ(result->rows[0],
            (std::vector<SqlValue>{std::monostate(), std::string("x"), int64_t{42}}));
}

TYPED_TEST_P(StoreConformanceTest, QueryStopsAtTheLimitAndSaysSo) {
  ASSERT_TRUE(this->store()
                  .WritePage(Page({MakeBar("AAPL", kT0, 1), MakeBar("AAPL", kT0 + kMinute, 2),
                                   MakeBar("AAPL", kT0 + 2 * kMinute, 3)}))
                  .ok());
  const char* sql = "SELECT ts_ns FROM bars ORDER BY ts_ns";
  absl::StatusOr<QueryResult> two = this->store().Query(sql, 2);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->rows.size(), 2u);
  EXPECT_TRUE(two->truncated);
  absl::StatusOr<QueryResult> three = this->store().Query(sql, 3);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(three->rows.size(), 3u);
  EXPECT_FALSE(three->truncated);
  EXPECT_EQ(this->store().Query(sql, -1).status().code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST_P(StoreConformanceTest, QueryRefusesAnythingThatWrites) {
  ASSERT_TRUE(this->store().WritePage(Page({MakeBar("AAPL", kT0, 1)})).ok());
  for (const char* sql : {
           "INSERT INTO bar_units (symbol, timeframe, ts_ns, open_units, high_units, low_units, "
           "close_units, volume, trade_count, vwap_units) VALUES ('X', '1m', 0, 1, 1, 1, 1, 1, 1, "
           "1)",
           "UPDATE bar_units SET volume = 0",
           "DELETE FROM bar_units",
           "DROP TABLE bar_units",
           "DROP VIEW bars",
           "CREATE TABLE evil (x INTEGER)",
           "ATTACH DATABASE 'evil.db' AS evil",
           "PRAGMA user_version = 99",
           "SELECT 1; DELETE FROM bar_units",
           "SELECT 1; SELECT 2",
           "WITH doomed AS (SELECT 1) DELETE FROM bar_units",
           "/* hidden */ delete from bar_units",
           "",
           "   -- only a comment",
       }) {
    const absl::StatusOr<QueryResult> result = this->store().Query(sql, 10);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << sql << "' gave " << result.status();
  }
  EXPECT_EQ(this->Count(), 1);
  absl::StatusOr<QueryResult> still = this->store().Query("SELECT count(*) FROM bars", 1);
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_EQ(still->rows[0][0], SqlValue(int64_t{1}));
}

TYPED_TEST_P(StoreConformanceTest, QueryWithABadStatementIsInvalidArgument) {
  const absl::StatusOr<QueryResult> result = this->store().Query("SELECT nope FROM bars", 10);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  const absl::StatusOr<QueryResult> trailing =
      this->store().Query("SELECT 1 AS one; -- a comment after is fine", 10);
  EXPECT_TRUE(trailing.ok()) << trailing.status();
}

TYPED_TEST_P(StoreConformanceTest, JobsRoundTripAndListInCreationOrder) {
  JobRecord first = MakeJob("job-1", {"AAPL", "MSFT"});
  first.created_unix_ns = 1000;
  first.updated_unix_ns = 2000;
  first.message = "queued";
  JobRecord second = MakeJob("job-2", {"TSLA"});
  second.created_unix_ns = 3000;
  second.updated_unix_ns = 3000;
  second.timeframe = Timeframe::kOneDay;
  second.provenance = Provenance{"fake", "fake", "raw"};
  ASSERT_TRUE(this->store().CreateJob(second).ok());
  ASSERT_TRUE(this->store().CreateJob(first).ok());
  absl::StatusOr<std::optional<JobRecord>> got = this->store().GetJob("job-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, first);
  EXPECT_EQ(*this->store().GetJob("nope"), std::nullopt);
  absl::StatusOr<std::vector<JobRecord>> all = this->store().ListJobs();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(*all, ::testing::ElementsAre(first, second));
}

TYPED_TEST_P(StoreConformanceTest, CreateJobRefusesATakenIdAndBadRecords) {
  ASSERT_TRUE(this->store().CreateJob(MakeJob("job-1", {"AAPL"})).ok());
  EXPECT_EQ(this->store().CreateJob(MakeJob("job-1", {"MSFT"})).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(this->store().CreateJob(MakeJob("", {"MSFT"})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store().CreateJob(MakeJob("job-2", {})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store().CreateJob(MakeJob("job-2", {"MSFT", "AAPL"})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store().CreateJob(MakeJob("job-2", {"AAPL", "AAPL"})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*this->store().GetJob("job-2"), std::nullopt);
  // A zero creation time means now.
  const JobRecord stored = **this->store().GetJob("job-1");
  EXPECT_GT(stored.created_unix_ns, 0);
  EXPECT_EQ(stored.updated_unix_ns, stored.created_unix_ns);
}

TYPED_TEST_P(StoreConformanceTest, StartJobRefusesARunningDuplicateOnly) {
  Store& store = this->store();
  ASSERT_TRUE(store.CreateJob(MakeJob("first", {"AAPL", "MSFT"})).ok());
  JobRecord duplicate = MakeJob("duplicate", {"AAPL", "MSFT"});
  duplicate.range = Range(kT0 - 10 * kMinute, kT0 + kMinute);  // overlaps by one minute
  ASSERT_TRUE(store.CreateJob(duplicate).ok());
  // Sharing some symbols, another timeframe, or a range that only touches is not duplicate work.
  ASSERT_TRUE(store.CreateJob(MakeJob("sharing", {"MSFT", "TSLA"})).ok());
  ASSERT_TRUE(store.CreateJob(MakeJob("subset", {"AAPL"})).ok());
  JobRecord hourly = MakeJob("hourly", {"AAPL", "MSFT"});
  hourly.timeframe = Timeframe::kOneHour;
  ASSERT_TRUE(store.CreateJob(hourly).ok());
  JobRecord next_day = MakeJob("next-day", {"AAPL", "MSFT"});
  next_day.range = Range(kT0 + 390 * kMinute, kT0 + 780 * kMinute);
  ASSERT_TRUE(store.CreateJob(next_day).ok());

  ASSERT_TRUE(store.StartJob("first").ok());
  const absl::Status refused = store.StartJob("duplicate");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_THAT(Message(refused), ::testing::HasSubstr("'duplicate'"));
  EXPECT_THAT(Message(refused), ::testing::HasSubstr("'first'"));
  EXPECT_EQ((*store.GetJob("duplicate"))->state, JobState::kPending);
  for (const char* id : {"sharing", "subset", "hourly", "next-day"}) {
    EXPECT_TRUE(store.StartJob(id).ok()) << id;
  }
  // A RUNNING job restarts (resume after a crash).
  EXPECT_TRUE(store.StartJob("first").ok());
  ASSERT_TRUE(store.SetJobState("first", JobState::kFailed, "AAPL: 404").ok());
  EXPECT_TRUE(store.StartJob("duplicate").ok());
  EXPECT_EQ(store.StartJob("nope").code(), absl::StatusCode::kNotFound);
}

TYPED_TEST_P(StoreConformanceTest, SetJobStateRecordsStateMessageAndTime) {
  JobRecord job = MakeJob("job-1", {"AAPL"});
  job.created_unix_ns = 1;
  job.updated_unix_ns = 1;
  ASSERT_TRUE(this->store().CreateJob(job).ok());
  ASSERT_TRUE(this->store().SetJobState("job-1", JobState::kCompletedWithErrors, "AAPL: 422").ok());
  const JobRecord stored = **this->store().GetJob("job-1");
  EXPECT_EQ(stored.state, JobState::kCompletedWithErrors);
  EXPECT_EQ(stored.message, "AAPL: 422");
  EXPECT_EQ(stored.created_unix_ns, 1);
  EXPECT_GT(stored.updated_unix_ns, 1);
  EXPECT_EQ(this->store().SetJobState("nope", JobState::kFailed, "").code(),
            absl::StatusCode::kNotFound);
}

TYPED_TEST_P(StoreConformanceTest, CheckpointsAreWrittenWithTheirPage) {
  ASSERT_TRUE(this->store().CreateJob(MakeJob("job-1", {"AAPL", "MSFT"})).ok());
  EXPECT_THAT(*this->store().GetCheckpoints("job-1"), ::testing::IsEmpty());
  const std::vector<Bar> bars = {MakeBar("AAPL", kT0, 1), MakeBar("AAPL", kT0 + kMinute, 2)};
  PageWrite write = Page(bars);
  write.job_id = "job-1";
  write.checkpoints = {Checkpoint{Sym("MSFT"), std::nullopt, 0, true, ""},
                       Checkpoint{Sym("AAPL"), kT0 + kMinute, 2, false, ""}};
  ASSERT_TRUE(this->store().WritePage(write).ok());
  EXPECT_THAT(*this->store().GetCheckpoints("job-1"),
              ::testing::ElementsAre(write.checkpoints[1], write.checkpoints[0]));
  // A later page moves the checkpoint on.
  PageWrite next = Page({});
  next.job_id = "job-1";
  next.checkpoints = {Checkpoint{Sym("AAPL"), kT0 + kMinute, 2, false, "AAPL: 500 after retries"}};
  ASSERT_TRUE(this->store().WritePage(next).ok());
  EXPECT_THAT(*this->store().GetCheckpoints("job-1"),
              ::testing::ElementsAre(next.checkpoints[0], write.checkpoints[0]));
  EXPECT_EQ(this->store().GetCheckpoints("nope").status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST_P(StoreConformanceTest, ABadCheckpointLeavesThePageUnwritten) {
  ASSERT_TRUE(this->store().CreateJob(MakeJob("job-1", {"AAPL"})).ok());
  const std::vector<Bar> bars = {MakeBar("AAPL", kT0, 1)};
  PageWrite stranger = Page(bars);
  stranger.job_id = "job-1";
  stranger.checkpoints = {Checkpoint{Sym("AAPL"), kT0, 1, false, ""},
                          Checkpoint{Sym("MSFT"), kT0, 1, false, ""}};
  const absl::Status not_member = this->store().WritePage(stranger);
  EXPECT_EQ(not_member.code(), absl::StatusCode::kInvalidArgument) << not_member;
  EXPECT_THAT(Message(not_member), ::testing::HasSubstr("MSFT"));
  PageWrite unknown = Page(bars);
  unknown.job_id = "nope";
  unknown.checkpoints = {Checkpoint{Sym("AAPL"), kT0, 1, false, ""}};
  EXPECT_EQ(this->store().WritePage(unknown).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->Count(), 0);
  EXPECT_THAT(*this->store().GetCheckpoints("job-1"), ::testing::IsEmpty());
  EXPECT_EQ(*this->store().GetProvenance(Sym("AAPL"), Timeframe::kOneMinute), std::nullopt);
}

TYPED_TEST_P(StoreConformanceTest, AnotherConnectionSeesCommittedWrites) {
  std::unique_ptr<Store> other = this->OpenAnother();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(this->store().WritePage(Page({MakeBar("AAPL", kT0, 1)})).ok());
  EXPECT_EQ(*other->CountBars(Sym("AAPL"), Timeframe::kOneMinute, Range(kT0, kT0 + 1)), 1);
  ASSERT_TRUE(other->CreateJob(MakeJob("job-1", {"AAPL"})).ok());
  ASSERT_TRUE(other->StartJob("job-1").ok());
  ASSERT_TRUE(this->store().CreateJob(MakeJob("job-2", {"AAPL"})).ok());
  EXPECT_EQ(this->store().StartJob("job-2").code(), absl::StatusCode::kFailedPrecondition);
}

// Store is thread-safe: writers and readers share one object (run under TSan too).
TYPED_TEST_P(StoreConformanceTest, OneStoreServesSeveralThreads) {
  Store& store = this->store();
  constexpr int kThreads = 4;
  constexpr int kPages = 5;
  constexpr int kPerPage = 50;
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string symbol = "T" + std::to_string(t);
      for (int page = 0; page < kPages && results[t].ok(); ++page) {
        std::vector<Bar> bars;
        for (int i = 0; i < kPerPage; ++i) {
          bars.push_back(MakeBar(symbol, kT0 + (page * kPerPage + i) * kMinute, 100 + i));
        }
        results[t] = store.WritePage(Page(bars));
        if (results[t].ok()) {
          results[t] =
              store.ReadBars(Sym(symbol), Timeframe::kOneMinute, Range(kT0, kT0 + 1)).status();
        }
        if (results[t].ok()) results[t] = store.Query("SELECT count(*) FROM bars", 1).status();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : results) EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(this->Count(), kThreads * kPages * kPerPage);
}

TYPED_TEST_P(StoreConformanceTest, ReopeningKeepsEverything) {
  ASSERT_TRUE(this->store().WritePage(Page({MakeBar("AAPL", kT0, 1)})).ok());
  ASSERT_TRUE(this->store().CreateJob(MakeJob("job-1", {"AAPL"})).ok());
  this->CloseStore();
  EXPECT_EQ(this->Count(), 1);
  EXPECT_NE(*this->store().GetJob("job-1"), std::nullopt);
  EXPECT_EQ(*this->store().GetProvenance(Sym("AAPL"), Timeframe::kOneMinute), Iex());
}

REGISTER_TYPED_TEST_SUITE_P(
    StoreConformanceTest, WrittenBarsReadBackExactlyInTimeOrder,
    ReUpsertIsIdempotentAndLatestValuesWin, KeyRepeatedWithinOnePageKeepsTheLastBar,
    LargePagesKeepTheLastBarOfEveryKey, RangesAreHalfOpen, CountsBySymbolAndTimeframe,
    ProvenanceIsRecordedPerSeries, BarsOfAnotherFeedOrAdjustmentAreRefusedNamingBoth,
    BadPagesAreInvalidArgument, QueryReturnsTypedColumnsWithExactPrices,
    QueryReturnsNullsTextAndIntegers, QueryStopsAtTheLimitAndSaysSo, QueryRefusesAnythingThatWrites,
    QueryWithABadStatementIsInvalidArgument, JobsRoundTripAndListInCreationOrder,
    CreateJobRefusesATakenIdAndBadRecords, StartJobRefusesARunningDuplicateOnly,
    SetJobStateRecordsStateMessageAndTime, CheckpointsAreWrittenWithTheirPage,
    ABadCheckpointLeavesThePageUnwritten, AnotherConnectionSeesCommittedWrites,
    OneStoreServesSeveralThreads, ReopeningKeepsEverything);

}  // namespace marketpipe::storage::conformance

#endif  // MARKETPIPE_STORAGE_STORE_CONFORMANCE_H_
