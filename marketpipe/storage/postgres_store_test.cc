#include "marketpipe/storage/postgres_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "marketpipe/aggregation/recompute_conformance.h"
#include "marketpipe/storage/store.h"
#include "marketpipe/storage/store_conformance.h"
#include "testing/environment.h"
#include "testing/postgres/postgres_fixture.h"

namespace marketpipe::storage {
namespace {

using conformance::kMinute;
using conformance::kT0;
using conformance::MakeBar;
using conformance::Message;
using conformance::Page;
using conformance::Range;
using conformance::Sym;

// The conformance suite's environment: a fresh PostgreSQL schema per case.
class PostgresEnv : public ::mptest::PostgresFixture {
 protected:
  std::string StoreSpec() const { return "postgres:" + dsn() + ";schema=" + schema(); }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreConformanceTest, ::testing::Types<PostgresEnv>);
}  // namespace conformance

}  // namespace marketpipe::storage

// Aggregation's recompute suite (its SQLite half runs in //marketpipe/aggregation).
namespace marketpipe::aggregation::conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, RecomputeConformanceTest,
                               ::testing::Types<storage::PostgresEnv>);
}  // namespace marketpipe::aggregation::conformance

namespace marketpipe::storage {

namespace {

class PostgresStoreTest : public PostgresEnv {};

TEST_F(PostgresStoreTest, PricesAreStoredAsIntegerUnitsBehindANumericView) {
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
    ASSERT_TRUE(store.ok()) << store.status();
    const std::vector<Bar> bars = {MakeBar("AAPL", kT0, 1872350)};
    ASSERT_TRUE((*store)->WritePage(Page(bars)).ok());
  }
  EXPECT_EQ(QueryScalar("SELECT pg_typeof(open_units)::text || ':' || open_units FROM bar_units"),
            "bigint:1872350");
  EXPECT_EQ(QueryScalar("SELECT pg_typeof(open)::text || ':' || open FROM bars"),
            "numeric:187.2350");
  EXPECT_EQ(QueryScalar("SELECT version FROM schema_version"),
            std::to_string(kPostgresSchemaVersion));
}

TEST_F(PostgresStoreTest, ASchemaNewerThanTheBinaryIsRefusedAndLeftAlone) {
  ASSERT_TRUE(OpenStore(StoreSpec()).ok());
  Exec("UPDATE schema_version SET version = 99");
  const absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(Message(store.status()), ::testing::HasSubstr("schema version 99"));
  EXPECT_THAT(Message(store.status()), ::testing::HasSubstr(schema()));
  EXPECT_EQ(QueryScalar("SELECT version FROM schema_version"), "99");
}

TEST_F(PostgresStoreTest, AMissingSchemaIsCreatedAndIsolated) {
  const std::string other = ::mptest::UniqueName("s");
  {
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenStore("postgres:" + dsn() + ";schema=" + other);
    ASSERT_TRUE(store.ok()) << store.status();
    const std::vector<Bar> bars = {MakeBar("AAPL", kT0, 1)};
    ASSERT_TRUE((*store)->WritePage(Page(bars)).ok());
  }
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + other + ".bar_units"), "1");
  // The case's own schema holds no store until one is opened there.
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = '" +
                        schema() + "'"),
            "0");
  Exec("SET client_min_messages = warning; DROP SCHEMA " + other + " CASCADE");
}

TEST_F(PostgresStoreTest, WithoutASchemaTheConnectionsCurrentSchemaIsUsed) {
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore("postgres:" + dsn());
    ASSERT_TRUE(store.ok()) << store.status();
  }
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM information_schema.views WHERE table_schema = '" +
                        schema() + "' AND table_name = 'bars'"),
            "1");
}

// A SELECT can still call a function that writes; nextval() would even survive a rollback.
// The read-only transaction refuses it.
TEST_F(PostgresStoreTest, QueryRefusesASelectThatWrites) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
  ASSERT_TRUE(store.ok()) << store.status();
  Exec("CREATE SEQUENCE counter");
  const absl::StatusOr<QueryResult> result = (*store)->Query("SELECT nextval('counter')", 10);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  EXPECT_EQ(QueryScalar("SELECT is_called FROM counter"), "f");
  // The session is usable afterwards.
  EXPECT_TRUE((*store)->Query("SELECT count(*) FROM bars", 1).ok());
}

TEST_F(PostgresStoreTest, AnUnreachableServerIsUnavailable) {
  const absl::StatusOr<std::unique_ptr<Store>> store =
      OpenStore("postgres:host=/nonexistent-marketpipe-dir dbname=x;schema=s");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
}

// Writers on separate connections load overlapping pages at once (the sharded ingest case).
TEST_F(PostgresStoreTest, ConcurrentWritersEndWithTheUnion) {
  ASSERT_TRUE(OpenStore(StoreSpec()).ok());
  constexpr int kWriters = 3;
  constexpr int kPages = 10;
  constexpr int kPerPage = 200;
  std::vector<absl::Status> results(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
      if (!store.ok()) {
        results[w] = store.status();
        return;
      }
      // Writer w writes symbols w and w+1: every symbol but the ends has two writers.
      const std::vector<std::string> symbols = {"S" + std::to_string(w),
                                                "S" + std::to_string(w + 1)};
      for (int page = 0; page < kPages && results[w].ok(); ++page) {
        std::vector<Bar> bars;
        for (const std::string& symbol : symbols) {
          for (int i = 0; i < kPerPage; ++i) {
            const int64_t minute = page * kPerPage + i;
            bars.push_back(MakeBar(symbol, kT0 + minute * kMinute, 1000 + minute));
          }
        }
        results[w] = (*store)->WritePage(Page(bars));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : results) EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM bar_units"),
            std::to_string((kWriters + 1) * kPages * kPerPage));
}

// Binary COPY (the default) and text COPY store the same rows, on the fresh path and the staged
// upsert, for any int64 (the binary format's big-endian fields, signs and extremes included).
TEST_F(PostgresStoreTest, BinaryAndTextCopyStoreTheSameRows) {
  for (const bool binary : {false, true}) {
    SCOPED_TRACE(binary ? "binary" : "text");
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenPostgresStore({.conninfo = dsn(), .schema = schema()}, {.binary_copy = binary});
    ASSERT_TRUE(store.ok()) << store.status();
    const std::string symbol = binary ? "BRK.B" : "AAPL";
    std::vector<Bar> bars;
    for (int i = 0; i < 300; ++i) bars.push_back(MakeBar(symbol, kT0 + i * kMinute, 1 + i * 7919));
    bars[1].volume = std::numeric_limits<int64_t>::max();
    bars[2].trade_count = std::numeric_limits<int64_t>::min();
    bars[3].vwap = Price::FromUnits(-1);
    ASSERT_TRUE((*store)->WritePage(Page(bars)).ok());  // fresh keys: COPY into bar_units
    const TimeRange all = Range(kT0, kT0 + 300 * kMinute);
    EXPECT_EQ(*(*store)->ReadBars(Sym(symbol), Timeframe::kOneMinute, all), bars);
    for (Bar& bar : bars) bar.close = Price::FromUnits(bar.close.units() + 3);
    ASSERT_TRUE((*store)->WritePage(Page(bars)).ok());  // stored keys: stage + ON CONFLICT
    EXPECT_EQ(*(*store)->ReadBars(Sym(symbol), Timeframe::kOneMinute, all), bars);
  }
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM bar_units"), "600");
}

// A page of fresh keys is copied straight into bar_units; when another writer commits one of
// those keys first, the copy fails on the unique key and the page is upserted instead.
TEST_F(PostgresStoreTest, APageThatLosesARaceForAKeyIsUpserted) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
  ASSERT_TRUE(store.ok()) << store.status();
  const std::vector<Bar> seed = {MakeBar("MSFT", kT0, 1)};  // the series exists
  ASSERT_TRUE((*store)->WritePage(Page(seed)).ok());
  // The competitor's row is uncommitted, so the page looks fresh and its COPY waits on the key.
  Exec("BEGIN; INSERT INTO bar_units VALUES ('AAPL', '1m', " + std::to_string(kT0 + kMinute) +
       ", 5, 5, 5, 5, 5, 5, 5)");
  const std::vector<Bar> bars = {MakeBar("AAPL", kT0, 100), MakeBar("AAPL", kT0 + kMinute, 200)};
  absl::Status written;
  std::thread writer([&] { written = (*store)->WritePage(Page(bars)); });
  // Wait (on the server's own state, not a timer) until the COPY blocks on our transaction.
  // pg_locks is read live; pg_stat_activity would stay frozen inside this transaction.
  while (QueryScalar("SELECT count(*) FROM pg_locks WHERE NOT granted") == "0") {
    std::this_thread::yield();
  }
  Exec("COMMIT");
  writer.join();
  EXPECT_TRUE(written.ok()) << written;
  absl::StatusOr<std::vector<Bar>> stored =
      (*store)->ReadBars(Sym("AAPL"), Timeframe::kOneMinute, Range(kT0, kT0 + 2 * kMinute));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_THAT(*stored, ::testing::ElementsAreArray(bars));
}

// Both stores, fed the same pages, answer every read and query identically.
TEST_F(PostgresStoreTest, GivesTheSameResultsAsSqlite) {
  absl::StatusOr<std::unique_ptr<Store>> postgres = OpenStore(StoreSpec());
  absl::StatusOr<std::unique_ptr<Store>> sqlite =
      OpenStore("sqlite:" + ::mptest::CaseTempDir() + "/store.db");
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  std::vector<Bar> bars;
  for (int i = 0; i < 500; ++i) {
    bars.push_back(MakeBar(i % 3 == 0 ? "AAPL" : (i % 3 == 1 ? "BRK.B" : "MSFT"),
                           kT0 + (i / 3) * kMinute, 1 + i * 123457 % 9999999));
  }
  bars.push_back(MakeBar("AAPL", kT0, 42));  // a repeated key within the page
  std::vector<Bar> hourly = {MakeBar("AAPL", kT0, 7), MakeBar("AAPL", kT0 + 60 * kMinute, 8)};
  for (Store* store : {postgres->get(), sqlite->get()}) {
    ASSERT_TRUE(store->WritePage(Page(bars)).ok());
    ASSERT_TRUE(store->WritePage(Page(hourly, conformance::Iex(), Timeframe::kOneHour)).ok());
  }
  for (const char* symbol : {"AAPL", "BRK.B", "MSFT"}) {
    const TimeRange range = Range(kT0 + 10 * kMinute, kT0 + 100 * kMinute);
    EXPECT_EQ(*(*postgres)->ReadBars(Sym(symbol), Timeframe::kOneMinute, range),
              *(*sqlite)->ReadBars(Sym(symbol), Timeframe::kOneMinute, range));
  }
  for (const char* sql : {
           "SELECT * FROM bars ORDER BY symbol, timeframe, ts_ns",
           "SELECT symbol, count(*) AS n, sum(volume) AS v FROM bars GROUP BY symbol ORDER BY 1",
           "SELECT timeframe, min(ts_ns) AS first FROM bars GROUP BY timeframe ORDER BY 1",
       }) {
    absl::StatusOr<QueryResult> a = (*postgres)->Query(sql, 1000);
    absl::StatusOr<QueryResult> b = (*sqlite)->Query(sql, 1000);
    ASSERT_TRUE(a.ok() && b.ok()) << sql << ": " << a.status() << " / " << b.status();
    EXPECT_EQ(a->columns, b->columns) << sql;
    EXPECT_TRUE(a->rows == b->rows) << sql;
    EXPECT_FALSE(a->rows.empty()) << sql;
  }
  // Expressions over prices are the one difference left (README, Storage): PostgreSQL computes
  // them in numeric (an exact Decimal), SQLite in doubles (REAL). They agree to a price's 4
  // decimals, and nothing else about the row differs.
  for (const char* sql : {
           "SELECT symbol, max(close) AS v FROM bars GROUP BY symbol ORDER BY 1",
           "SELECT symbol, avg(close) AS v FROM bars GROUP BY symbol ORDER BY 1",
           "SELECT symbol, close * 3 - open AS v FROM bars ORDER BY symbol, timeframe, ts_ns",
       }) {
    absl::StatusOr<QueryResult> a = (*postgres)->Query(sql, 1000);
    absl::StatusOr<QueryResult> b = (*sqlite)->Query(sql, 1000);
    ASSERT_TRUE(a.ok() && b.ok()) << sql << ": " << a.status() << " / " << b.status();
    EXPECT_EQ(a->columns, b->columns) << sql;
    ASSERT_EQ(a->rows.size(), b->rows.size()) << sql;
    for (size_t r = 0; r < a->rows.size(); ++r) {
      EXPECT_EQ(a->rows[r][0], b->rows[r][0]) << sql;
      const auto* exact = std::get_if<Decimal>(&a->rows[r][1]);
      const auto* real = std::get_if<double>(&b->rows[r][1]);
      ASSERT_TRUE(exact != nullptr && real != nullptr) << sql << " row " << r;
      EXPECT_NEAR(std::stod(exact->text), *real, 0.00005) << sql << ": " << exact->text;
    }
  }
}

}  // namespace
}  // namespace marketpipe::storage
