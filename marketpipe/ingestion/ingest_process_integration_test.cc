// Ingest processes killed and run side by side: the helper binary (ingest_test_helper, a data
// dependency) runs a fake-provider ingest; these tests SIGKILL it before, during and after a
// page's transaction or at arbitrary moments after it reported progress, resume it, and compare
// the store row for row with an uninterrupted run. Two helpers ingest overlapping symbols into
// one SQLite file at once; three shards ingest into one PostgreSQL.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <postgresql/libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "marketpipe/storage/store.h"
#include "testing/environment.h"
#include "testing/postgres/postgres_server.h"

namespace marketpipe::ingestion {
namespace {

constexpr char kStart[] = "2024-01-02T00:00:00Z";
constexpr char kEnd[] = "2024-01-05T00:00:00Z";
// Three trading days of the regular session: 3 x 390 one-minute bars per symbol.
constexpr int64_t kBarsPerSymbol = 3 * 390;
constexpr int kPageSize = 400;
constexpr int kWorkers = 2;

std::string HelperPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  const std::string relative = "marketpipe/ingestion/ingest_test_helper";
  if (srcdir == nullptr || workspace == nullptr) return relative;
  return absl::StrCat(srcdir, "/", workspace, "/", relative);
}

// A running helper with its stdout on a pipe.
class Helper {
 public:
  explicit Helper(std::vector<std::string> args) {
    args.insert(args.begin(), HelperPath());
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      std::perror("execv");
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Helper() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_ != nullptr) fclose(out_);
  }

  // The next stdout line without its newline; nullopt at end of output.
  std::optional<std::string> ReadLine() {
    char* line = nullptr;
    size_t size = 0;
    const ssize_t n = getline(&line, &size, out_);
    std::optional<std::string> out;
    if (n >= 0) out = std::string(line, n > 0 && line[n - 1] == '\n' ? n - 1 : n);
    free(line);
    if (out) lines_.push_back(*out);
    return out;
  }
  void Kill() { kill(pid_, SIGKILL); }
  // Reads the rest of stdout, then reaps the child; returns its wait status.
  int Wait() {
    while (ReadLine()) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    return status;
  }
  const std::vector<std::string>& lines() const { return lines_; }
  // key=value of the "result" line ("state", "fetched", ...).
  std::string Result(const std::string& key) const {
    for (const std::string& line : lines_) {
      if (!absl::StartsWith(line, "result ")) continue;
      for (const std::string& field : std::vector<std::string>(absl::StrSplit(line, ' '))) {
        std::pair<std::string, std::string> kv = absl::StrSplit(field, absl::MaxSplits('=', 1));
        if (kv.first == key) return kv.second;
      }
    }
    return "";
  }
  int64_t ResultInt(const std::string& key) const {
    int64_t n = -1;
    return absl::SimpleAtoi(Result(key), &n) ? n : -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  bool waited_ = false;
  std::vector<std::string> lines_;
};

// The helper's flags; `extra` may set --page-size itself.
std::vector<std::string> Args(const std::string& store, const std::string& symbols,
                              std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--store=" + store, "--symbols=" + symbols,
                                   std::string("--start=") + kStart, std::string("--end=") + kEnd,
                                   absl::StrCat("--workers=", kWorkers)};
  if (std::none_of(extra.begin(), extra.end(),
                   [](const std::string& a) { return absl::StartsWith(a, "--page-size="); })) {
    args.push_back(absl::StrCat("--page-size=", kPageSize));
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

bool ExitedOk(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
bool Killed(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }

using Rows = std::vector<std::vector<storage::SqlValue>>;

std::string RowText(const std::vector<storage::SqlValue>& row) {
  std::string out;
  for (const storage::SqlValue& v : row) {
    if (!out.empty()) out += ",";
    if (const int64_t* i = std::get_if<int64_t>(&v)) out += std::to_string(*i);
    if (const std::string* t = std::get_if<std::string>(&v)) out += *t;
    if (const storage::Decimal* d = std::get_if<storage::Decimal>(&v)) out += d->text;
    if (const double* d = std::get_if<double>(&v)) out += std::to_string(*d);
  }
  return out;
}

// Row for row, naming the first difference (the row lists are too long to print whole).
::testing::AssertionResult SameRows(const Rows& actual, const Rows& expected) {
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    if (actual[i] != expected[i]) {
      return ::testing::AssertionFailure() << "row " << i << " is " << RowText(actual[i])
                                           << ", expected " << RowText(expected[i]);
    }
  }
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure() << actual.size() << " rows, expected " << expected.size();
  }
  return ::testing::AssertionSuccess();
}

// Every row of `bars`, in key order: what a user's query sees.
Rows AllRows(const std::string& spec) {
  auto store = storage::OpenStore(spec);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return {};
  auto result = (*store)->Query(
      "SELECT symbol, timeframe, ts_ns, open, high, low, close, volume, trade_count, vwap "
      "FROM bars ORDER BY symbol, timeframe, ts_ns",
      10'000'000);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? result->rows : Rows{};
}

std::string SqliteIntegrity(const std::string& path) {
  sqlite3* db = nullptr;
  std::string out = "cannot open";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

int64_t StoredBars(const std::string& spec) {
  auto store = storage::OpenStore(spec);
  if (!store.ok()) return -1;
  auto n = (*store)->CountBars(std::nullopt, Timeframe::kOneMinute,
                               *TimeRange::Create(0, int64_t{1} << 62));
  return n.ok() ? *n : -1;
}

const char kSymbols[] = "AAPL,MSFT,GOOG,TSLA";

class IngestProcessTest : public ::testing::Test {
 protected:
  std::string Sqlite(const std::string& name) {
    return "sqlite:" + ::mptest::CaseTempDir() + "/" + name + ".db";
  }

  // The store of an uninterrupted run of `symbols`.
  Rows Reference(const std::string& symbols) {
    const std::string spec = Sqlite("reference");
    Helper helper(Args(spec, symbols));
    const int status = helper.Wait();
    EXPECT_TRUE(ExitedOk(status)) << status;
    auto rows = AllRows(spec);
    EXPECT_EQ(rows.size(),
              static_cast<size_t>(kBarsPerSymbol *
                                  (1 + std::count(symbols.begin(), symbols.end(), ','))));
    return rows;
  }

  // Resumes the job in `spec` and checks it ends with `reference`, having fetched again at most
  // one page per worker.
  void ResumeAndCompare(const std::string& spec, const Rows& reference) {
    const int64_t stored_before = StoredBars(spec);
    ASSERT_GE(stored_before, 0);
    // The job id is derived from the job, so the same command resumes it.
    Helper resumed(Args(spec, kSymbols));
    const int status = resumed.Wait();
    ASSERT_TRUE(ExitedOk(status)) << status << " " << ::testing::PrintToString(resumed.lines());
    EXPECT_EQ(resumed.Result("state"), "COMPLETED");
    const int64_t total = static_cast<int64_t>(reference.size());
    EXPECT_LE(resumed.ResultInt("fetched"), total - stored_before + kWorkers * kPageSize)
        << "stored before the resume: " << stored_before;
    EXPECT_TRUE(SameRows(AllRows(spec), reference));
  }
};

class KillAtPageTest : public IngestProcessTest,
                       public ::testing::WithParamInterface<std::tuple<std::string, int>> {};

TEST_P(KillAtPageTest, KilledRunResumesToExactlyTheUninterruptedRows) {
  const auto& [point, page] = GetParam();
  const auto reference = Reference(kSymbols);
  const std::string spec = Sqlite("killed");
  Helper killed(
      Args(spec, kSymbols, {absl::StrCat("--kill-at-page=", page), "--kill-point=" + point}));
  const int status = killed.Wait();
  ASSERT_TRUE(Killed(status)) << "the helper was to SIGKILL itself; status " << status;
  // Committed pages survive the kill: all those before the target page, and under "after" the
  // target page too ("during" may land either side of the commit).
  const int64_t stored = StoredBars(spec);
  if (point == "before") {
    EXPECT_EQ(stored, (page - 1) * kPageSize);
  } else if (point == "after") {
    EXPECT_EQ(stored, page * kPageSize);
  }
  if (point == "during") {
    EXPECT_GE(stored, (page - 1) * kPageSize);
    EXPECT_LE(stored, page * kPageSize);
  }
  EXPECT_EQ(SqliteIntegrity(spec.substr(7)), "ok");
  ResumeAndCompare(spec, reference);
}

INSTANTIATE_TEST_SUITE_P(Points, KillAtPageTest,
                         ::testing::Combine(::testing::Values("before", "during", "after"),
                                            ::testing::Values(1, 4)),
                         [](const auto& info) {
                           return absl::StrCat(std::get<0>(info.param), "Page",
                                               std::get<1>(info.param));
                         });

TEST_F(IngestProcessTest, KilledFromOutsideAfterReportedProgressResumesToTheSameRows) {
  const auto reference = Reference(kSymbols);
  for (int after_reports : {1, 3, 6}) {
    const std::string spec = Sqlite(absl::StrCat("outside", after_reports));
    Helper helper(Args(spec, kSymbols));
    int reports = 0;
    while (std::optional<std::string> line = helper.ReadLine()) {
      if (absl::StartsWith(*line, "progress ") && ++reports == after_reports) {
        helper.Kill();
        break;
      }
    }
    const int status = helper.Wait();
    ASSERT_TRUE(Killed(status)) << "after " << after_reports << " reports: " << status;
    ResumeAndCompare(spec, reference);
  }
}

TEST_F(IngestProcessTest, KilledTwiceThenResumedStillEndsExact) {
  const auto reference = Reference(kSymbols);
  const std::string spec = Sqlite("twice");
  for (int page : {2, 5}) {
    Helper killed(
        Args(spec, kSymbols, {absl::StrCat("--kill-at-page=", page), "--kill-point=after"}));
    ASSERT_TRUE(Killed(killed.Wait()));
  }
  ResumeAndCompare(spec, reference);
}

TEST_F(IngestProcessTest, TwoProcessesWithOverlappingSymbolsEndWithTheExactUnion) {
  const auto reference = Reference("AAPL,MSFT,GOOG,TSLA,AMZN");
  const std::string spec = Sqlite("shared");
  // Created (and migrated) first: two processes creating one fresh file at once can race on
  // PRAGMA journal_mode (reported to storage); this test is about concurrent ingests.
  ASSERT_TRUE(storage::OpenStore(spec).ok());
  // Different symbol sets (so neither job duplicates the other) sharing MSFT and GOOG.
  Helper a(Args(spec, "AAPL,MSFT,GOOG", {"--page-size=97"}));
  Helper b(Args(spec, "MSFT,GOOG,TSLA,AMZN", {"--page-size=89"}));
  const int status_a = a.Wait();
  const int status_b = b.Wait();
  EXPECT_TRUE(ExitedOk(status_a)) << ::testing::PrintToString(a.lines());
  EXPECT_TRUE(ExitedOk(status_b)) << ::testing::PrintToString(b.lines());
  EXPECT_TRUE(SameRows(AllRows(spec), reference));
  EXPECT_EQ(SqliteIntegrity(spec.substr(7)), "ok");
}

TEST_F(IngestProcessTest, AJobLeftRunningByAKillBlocksADuplicateJobUntilItIsResumed) {
  const auto reference = Reference(kSymbols);
  const std::string spec = Sqlite("blocked");
  Helper first(Args(spec, kSymbols, {"--job-id=first", "--kill-at-page=2", "--kill-point=after"}));
  ASSERT_TRUE(Killed(first.Wait()));
  const int64_t stored = StoredBars(spec);
  // The same symbols, timeframe and range under another id would duplicate `first`: refused
  // (exit 1, the reason on stderr), nothing written.
  Helper second(Args(spec, kSymbols, {"--job-id=second"}));
  const int status = second.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  EXPECT_EQ(StoredBars(spec), stored);
  // Resuming `first` by its id finishes it.
  Helper resumed(Args(spec, kSymbols, {"--job-id=first"}));
  EXPECT_TRUE(ExitedOk(resumed.Wait())) << ::testing::PrintToString(resumed.lines());
  EXPECT_TRUE(SameRows(AllRows(spec), reference));
}

class ShardTest : public IngestProcessTest {
 protected:
  void SetUp() override {
    absl::StatusOr<::mptest::PostgresServerInfo> server = ::mptest::SharedPostgresServer();
    ASSERT_TRUE(server.ok()) << server.status();
    conninfo_ = server->conninfo;
  }
  void TearDown() override {
    if (schemas_.empty()) return;
    PGconn* conn = PQconnectdb(conninfo_.c_str());
    for (const std::string& schema : schemas_) {
      PQclear(PQexec(conn, ("DROP SCHEMA IF EXISTS " + schema + " CASCADE").c_str()));
    }
    PQfinish(conn);
  }
  std::string Postgres(const std::string& prefix) {
    schemas_.push_back(::mptest::UniqueName(prefix));
    return "postgres:" + conninfo_ + ";schema=" + schemas_.back();
  }
  std::string conninfo_;
  std::vector<std::string> schemas_;
};

TEST_F(ShardTest, ThreeShardsAtOnceIntoOnePostgresEqualOneUnshardedRun) {
  const std::string symbols = "AAPL,MSFT,GOOG,TSLA,AMZN,NVDA,META,IBM,ORCL";
  const std::string whole = Postgres("whole");
  const std::string sharded = Postgres("sharded");
  Helper unsharded(Args(whole, symbols));
  ASSERT_TRUE(ExitedOk(unsharded.Wait())) << ::testing::PrintToString(unsharded.lines());
  std::vector<std::unique_ptr<Helper>> shards;
  for (int i = 0; i < 3; ++i) {
    shards.push_back(
        std::make_unique<Helper>(Args(sharded, symbols, {absl::StrCat("--shard=", i, "/3")})));
  }
  std::vector<std::string> jobs;
  for (auto& shard : shards) {
    EXPECT_TRUE(ExitedOk(shard->Wait())) << ::testing::PrintToString(shard->lines());
    jobs.push_back(shard->Result("job"));
  }
  EXPECT_NE(jobs[0], jobs[1]);
  EXPECT_NE(jobs[1], jobs[2]);
  const auto rows = AllRows(whole);
  EXPECT_EQ(rows.size(), static_cast<size_t>(9 * kBarsPerSymbol));
  EXPECT_TRUE(SameRows(AllRows(sharded), rows));
}

}  // namespace
}  // namespace marketpipe::ingestion
