#include "marketpipe/storage/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <cstdlib>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "marketpipe/storage/store.h"
#include "marketpipe/storage/store_conformance.h"
#include "testing/environment.h"

extern char** environ;

namespace marketpipe::storage {
namespace {

using conformance::kMinute;
using conformance::kT0;
using conformance::MakeBar;
using conformance::Message;
using conformance::Page;
using conformance::Range;
using conformance::Sym;

// The conformance suite's environment: a fresh SQLite file per case.
class SqliteEnv : public ::testing::Test {
 protected:
  std::string StorePath() const { return ::mptest::CaseTempDir() + "/store.db"; }
  std::string StoreSpec() const { return "sqlite:" + StorePath(); }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreConformanceTest, ::testing::Types<SqliteEnv>);
}  // namespace conformance

namespace {

// Runs one SQL statement on the file directly (not through the store) and returns the first
// column of the first row as text ("" when there is none).
std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string first;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    first = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return first;
}

class SqliteStoreTest : public SqliteEnv {};

TEST_F(SqliteStoreTest, PricesAreStoredAsIntegerUnitsInWalMode) {
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
    ASSERT_TRUE(store.ok()) << store.status();
    const std::vector<Bar> bars = {MakeBar("AAPL", kT0, 1872350)};
    ASSERT_TRUE((*store)->WritePage(Page(bars)).ok());
  }
  EXPECT_EQ(RawQuery(StorePath(), "SELECT typeof(open_units) || ':' || open_units FROM bar_units"),
            "integer:1872350");
  EXPECT_EQ(RawQuery(StorePath(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawQuery(StorePath(), "PRAGMA user_version"), std::to_string(kSqliteSchemaVersion));
}

TEST_F(SqliteStoreTest, ManyConnectionsOpeningOneFreshFileAtOnceAllSucceed) {
  // Each round is a fresh file opened by every thread at the same moment: the journal-mode
  // switch to WAL must wait for the others rather than fail with "database is locked".
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    const std::string path = ::mptest::CaseTempDir() + "/fresh" + std::to_string(round) + ".db";
    std::latch start(kThreads);
    std::vector<absl::Status> results(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
        results[i] = store.status();
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_TRUE(results[i].ok()) << "round " << round << ", thread " << i << ": " << results[i];
    }
    EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "wal");
  }
}

TEST_F(SqliteStoreTest, ASchemaNewerThanTheBinaryIsRefusedAndLeftAlone) {
  ASSERT_TRUE(OpenStore(StoreSpec()).ok());
  RawQuery(StorePath(), "PRAGMA user_version = 99");
  const absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(Message(store.status()), ::testing::HasSubstr("schema version 99"));
  EXPECT_THAT(Message(store.status()), ::testing::HasSubstr(StorePath()));
  EXPECT_EQ(RawQuery(StorePath(), "PRAGMA user_version"), "99");
}

TEST_F(SqliteStoreTest, AFileInAMissingDirectoryIsAnErrorNamingIt) {
  const std::string path = ::mptest::CaseTempDir() + "/missing/store.db";
  const absl::StatusOr<std::unique_ptr<Store>> store = OpenStore("sqlite:" + path);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_THAT(Message(store.status()), ::testing::HasSubstr(path));
}

TEST_F(SqliteStoreTest, QueryRefusesSqliteSpecificWrites) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
  ASSERT_TRUE(store.ok()) << store.status();
  for (const char* sql : {
           "SELECT * FROM pragma_journal_mode('delete')",
           "VALUES (1) ; ATTACH DATABASE ':memory:' AS evil",
           "SELECT load_extension('/nonexistent')",
       }) {
    EXPECT_EQ((*store)->Query(sql, 10).status().code(), absl::StatusCode::kInvalidArgument) << sql;
  }
  EXPECT_EQ(RawQuery(StorePath(), "PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStoreTest, PriceExpressionsComeBackAsDoubles) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
  ASSERT_TRUE(store.ok()) << store.status();
  const std::vector<Bar> bars = {MakeBar("AAPL", kT0, 1872350)};
  ASSERT_TRUE((*store)->WritePage(Page(bars)).ok());
  absl::StatusOr<QueryResult> result = (*store)->Query("SELECT open * 2 FROM bars", 1);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows[0][0], SqlValue(374.47));
}

// Several processes writing one file: each write waits for the file lock instead of failing.
TEST_F(SqliteStoreTest, TwoProcessesWritingOneFileEndWithTheUnion) {
  ASSERT_TRUE(OpenStore(StoreSpec()).ok());  // both writers find the schema in place
  const std::string writer = std::string(std::getenv("TEST_SRCDIR")) + "/" +
                             std::getenv("TEST_WORKSPACE") + "/marketpipe/storage/sqlite_writer";
  constexpr int kPages = 20;
  constexpr int kPerPage = 100;
  const std::vector<std::vector<std::string>> runs = {
      {writer, StoreSpec(), "AAPL,MSFT", std::to_string(kPages), std::to_string(kPerPage)},
      {writer, StoreSpec(), "MSFT,TSLA", std::to_string(kPages), std::to_string(kPerPage)},
  };
  std::vector<pid_t> pids;
  for (const std::vector<std::string>& args : runs) {
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, writer.c_str(), nullptr, nullptr, argv.data(), environ), 0);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
  }
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
  ASSERT_TRUE(store.ok()) << store.status();
  const TimeRange all = Range(kT0, kT0 + kPages * kPerPage * kMinute);
  for (const char* symbol : {"AAPL", "MSFT", "TSLA"}) {
    EXPECT_EQ(*(*store)->CountBars(Sym(symbol), Timeframe::kOneMinute, all), kPages * kPerPage)
        << symbol;
  }
  EXPECT_EQ(*(*store)->CountBars(std::nullopt, Timeframe::kOneMinute, all), 3 * kPages * kPerPage);
  EXPECT_EQ(RawQuery(StorePath(), "PRAGMA integrity_check"), "ok");
}

// Threads with their own store objects (connections) contend like processes do.
TEST_F(SqliteStoreTest, ConcurrentStartJobLetsExactlyOneOfTwoDuplicatesRun) {
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(StoreSpec());
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->CreateJob(conformance::MakeJob("a", {"AAPL", "MSFT"})).ok());
    ASSERT_TRUE((*store)->CreateJob(conformance::MakeJob("b", {"AAPL", "MSFT"})).ok());
  }
  absl::StatusOr<std::unique_ptr<Store>> first = OpenStore(StoreSpec());
  absl::StatusOr<std::unique_ptr<Store>> second = OpenStore(StoreSpec());
  ASSERT_TRUE(first.ok() && second.ok());
  absl::Status a, b;
  std::thread ta([&] { a = (*first)->StartJob("a"); });
  std::thread tb([&] { b = (*second)->StartJob("b"); });
  ta.join();
  tb.join();
  EXPECT_NE(a.ok(), b.ok()) << a << " / " << b;
  const absl::Status& refused = a.ok() ? b : a;
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
}

}  // namespace
}  // namespace marketpipe::storage
