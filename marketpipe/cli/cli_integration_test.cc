// The real `marketpipe` binary, run as a child process in a fresh directory per case.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "marketpipe/cli/cli_process.h"
#include "marketpipe/net/server/test_client.h"
#include "testing/environment.h"
#include "testing/fakes/fake_alpaca_server.h"

namespace marketpipe::cli {
namespace {

using ::marketpipe::cli::clitest::Invocation;
using ::marketpipe::cli::clitest::ListTree;
using ::marketpipe::cli::clitest::Outcome;
using ::marketpipe::cli::clitest::Process;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ::mptest::CaseTempDir(); }

  Invocation In(std::vector<std::string> args) {
    Invocation inv;
    inv.args = std::move(args);
    inv.cwd = dir_;
    return inv;
  }
  Outcome Run(std::vector<std::string> args) { return clitest::Run(In(std::move(args))); }

  // Every bar in the store, as CSV.
  std::string Dump(const std::string& store) {
    Outcome o = Run({"query", "SELECT * FROM bars ORDER BY symbol, timeframe, ts_ns", "--format",
                     "csv", "--limit", "1000000", "--store", store});
    EXPECT_EQ(o.exit_code, 0) << o.err;
    return o.out;
  }

  std::string dir_;
};

int Lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST_F(CliTest, HelpAndVersionExit0AndWriteNothing) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"--version"},
                                             {"ingest", "--help"},
                                             {"validate", "--help"},
                                             {"aggregate", "--help"},
                                             {"query", "--help"},
                                             {"jobs", "--help"},
                                             {"metrics", "--help"}}) {
    const Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, 0) << args[0];
    EXPECT_THAT(o.out, Not(IsEmpty()));
  }
  EXPECT_THAT(ListTree(dir_), IsEmpty());
  EXPECT_EQ(Run({"--version"}).out, "marketpipe 0.1.0\n");
  const Outcome help = Run({"ingest", "--help"});
  EXPECT_THAT(help.out, HasSubstr("--store TEXT=sqlite:data/marketpipe.db"));
  EXPECT_THAT(help.out, HasSubstr("--workers TEXT=4"));
  EXPECT_THAT(help.out, HasSubstr("--on-invalid TEXT=drop-bad"));
  EXPECT_THAT(Run({"query", "--help"}).out, HasSubstr("--format TEXT=table"));
  EXPECT_THAT(Run({"query", "--help"}).out, HasSubstr("Stored prices print as exact decimals"));
  EXPECT_THAT(Run({"ingest", "--help"}).out, HasSubstr("3 cancelled by `marketpipe jobs cancel`"));
}

TEST_F(CliTest, ProvidersListsNamesAndNeeds) {
  const Outcome o = Run({"providers"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_THAT(o.out, HasSubstr("alpaca  "));
  EXPECT_THAT(o.out, HasSubstr("ALPACA_KEY and ALPACA_SECRET"));
  EXPECT_THAT(o.out, HasSubstr("fake    "));
}

TEST_F(CliTest, InputErrorsExit2WithOneLineNamingTheValueAndCreateNothing) {
  const std::vector<std::string> ok = {"ingest",  "--provider", "fake",  "--symbols", "AAPL",
                                       "--start", "2024-01-02", "--end", "2024-01-03"};
  auto with = [&](const std::string& flag, const std::string& value) {
    std::vector<std::string> args = ok;
    auto it = std::find(args.begin(), args.end(), flag);
    if (it == args.end()) {
      args.push_back(flag);
      args.push_back(value);
    } else {
      *(it + 1) = value;
    }
    return args;
  };
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {with("--start", "2024-02-30"), "--start: invalid date \"2024-02-30\" (expected YYYY-MM-DD"},
      {with("--end", "2024-01-02"), "--end 2024-01-02 must be after --start 2024-01-02"},
      {with("--end", "2024-03-01"), "30 days"},
      {with("--start", "2099-01-02"), "2099"},
      {with("--symbols", "AAPL,msft"), "invalid symbol \"msft\""},
      {with("--symbols", "AAPL,AAPL"), "duplicate symbol \"AAPL\""},
      {with("--symbols", "@missing.txt"), "cannot read file"},
      {with("--provider", "yahoo"), "unknown provider \"yahoo\" (allowed: alpaca, fake)"},
      {with("--timeframe", "2m"), "unknown timeframe \"2m\" (allowed: 1m 5m 15m 30m 1h 4h 1d)"},
      {with("--workers", "0"), "--workers: \"0\" is out of range (allowed: integers 1..64)"},
      {with("--workers", "65"), "allowed: integers 1..64"},
      {with("--provider", "alpaca"), "ALPACA_KEY"},
      {with("--store", "mysql:db"),
       "--store \"mysql:db\": unknown store kind \"mysql\" (allowed: sqlite:PATH or "
       "postgres:CONNINFO[;schema=NAME])"},
      {with("--store", "foo:bar"), "--store \"foo:bar\": unknown store kind \"foo\" (allowed: "},
      {with("--store", "marketpipe.db"), "--store \"marketpipe.db\": no store kind before a ':'"},
      {with("--store", "sqlite:"), "--store \"sqlite:\": missing file path (allowed: "},
      {with("--store", "postgres:"), "'postgres:': postgres needs a conninfo"},
      {with("--store", "postgres:dbname=mp;schema=Bad-Name"),
       "schema 'Bad-Name' must match [a-z_][a-z0-9_]{0,62}"},
      {{"query", "SELECT 1", "--store", "foo:bar"}, "unknown store kind \"foo\""},
      {{"jobs", "list", "--store", "postgres:;schema=s"}, "postgres needs a conninfo"},
      {with("--shard", "3/3"), "3/3"},
      {with("--on-invalid", "ignore"), "ignore"},
      {with("--feed", "otc"), "unknown feed \"otc\" (allowed: iex, sip)"},
      {with("--job-id", "bad id!"), "--job-id"},
      {with("--metrics-port", "70000"), "--metrics-port"},
      {with("--bogus", "1"), "--bogus"},
      {{"ingest", "--provider", "fake"}, "--symbols"},
      {{"frobnicate"}, "frobnicate"},
      {{"query", "SELECT 1"}, "no store at"},
      {{"query", "SELECT 1", "--format", "xml"}, "unknown format \"xml\""},
      {{"jobs", "restart", "x"}, "unknown action \"restart\""},
      {{"validate", "--symbols", "AAPL"},
       "give --job-id ID, or all of --symbols, --start and --end"},
      {{"aggregate", "--timeframe", "5m,7m", "--job-id", "j"}, "unknown timeframe \"7m\""},
      {{"metrics", "--port", "-1"}, "--port"},
  };
  for (const Case& c : cases) {
    const Outcome o = Run(c.args);
    const std::string what = absl::StrJoin(c.args, " ");
    EXPECT_EQ(o.exit_code, 2) << what << "\n" << o.err;
    EXPECT_EQ(Lines(o.err), 1) << what << "\n" << o.err;
    EXPECT_THAT(o.err, StartsWith("marketpipe: error: ")) << what;
    EXPECT_THAT(o.err, HasSubstr(c.expected)) << what;
    EXPECT_THAT(o.out, IsEmpty()) << what;
    EXPECT_THAT(ListTree(dir_), IsEmpty()) << what;
  }
}

TEST_F(CliTest, IngestOffATerminalPrintsPlainSummaryAndQueriesSeeExactPrices) {
  const Outcome o = Run({"ingest", "--provider", "fake", "--symbols", "AAPL,MSFT,NVDA", "--start",
                         "2024-01-02", "--end", "2024-01-06"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr(": COMPLETED\n"));
  EXPECT_THAT(o.out, HasSubstr("symbols   3/3 done\n"));
  EXPECT_THAT(o.out, HasSubstr("bars      4680 fetched, 4680 stored, 0 rejected\n"));
  EXPECT_THAT(o.out, HasSubstr("bars/s)\n"));
  EXPECT_THAT(o.err, Not(HasSubstr("\x1b")));  // no terminal control off a terminal
  EXPECT_THAT(ListTree(dir_), ::testing::Contains("data/marketpipe.db"));

  const std::string sql =
      "SELECT symbol, ts_ns, open, close, volume FROM bars WHERE symbol = 'AAPL' ORDER BY ts_ns "
      "LIMIT 2";
  const Outcome table = Run({"query", sql});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const std::vector<std::string> lines = absl::StrSplit(table.out, '\n');
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "symbol                ts_ns      open     close  volume");
  EXPECT_EQ(lines[1], "------  -------------------  --------  --------  ------");
  EXPECT_THAT(lines[2], StartsWith("AAPL    1704205800000000000  "));
  EXPECT_EQ(lines[4], "(2 rows)");

  const Outcome csv = Run({"query", sql, "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0);
  EXPECT_THAT(csv.out, StartsWith("symbol,ts_ns,open,close,volume\r\nAAPL,1704205800000000000,"));
  // Four decimals exactly, never binary-float noise.
  const std::vector<std::string> rows = absl::StrSplit(csv.out, "\r\n");
  ASSERT_GE(rows.size(), 2u);
  const std::vector<std::string> fields = absl::StrSplit(rows[1], ',');
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields[2].size() - fields[2].find('.'), 5u) << fields[2];

  const Outcome json = Run({"query", sql, "--format", "json"});
  ASSERT_EQ(json.exit_code, 0);
  EXPECT_THAT(json.out, StartsWith("[\n  {\"symbol\": \"AAPL\", \"ts_ns\": 1704205800000000000, "
                                   "\"open\": " +
                                   fields[2] + ", "));

  const Outcome write = Run({"query", "DELETE FROM bars"});
  EXPECT_EQ(write.exit_code, 2);
  EXPECT_THAT(write.err, HasSubstr("query refused"));
  EXPECT_EQ(Lines(write.err), 1);
  EXPECT_THAT(Dump("sqlite:data/marketpipe.db"), HasSubstr("NVDA"));  // nothing was deleted

  const Outcome limited = Run({"query", "SELECT * FROM bars", "--limit", "3", "--format", "csv"});
  EXPECT_EQ(Lines(limited.out), 4);
  EXPECT_THAT(limited.err, HasSubstr("limited to 3 rows"));
}

TEST_F(CliTest, JobsValidateAndAggregateWorkOnTheIngestedJob) {
  const Outcome ingest = Run({"ingest", "--provider", "fake", "--symbols", "AAPL,MSFT", "--start",
                              "2024-01-02", "--end", "2024-01-04", "--job-id", "two-days"});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;

  const Outcome list = Run({"jobs", "list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_THAT(list.out, HasSubstr("two-days  COMPLETED  2 symbols"));
  const Outcome status = Run({"jobs", "status", "two-days"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_THAT(status.out, HasSubstr("state     COMPLETED\n"));
  EXPECT_THAT(status.out, HasSubstr("symbols   2/2 done\n"));
  EXPECT_EQ(Run({"jobs", "status", "nope"}).exit_code, 2);
  EXPECT_EQ(Run({"jobs", "cancel", "two-days"}).exit_code, 2);  // already COMPLETED

  const Outcome validate = Run({"validate", "--job-id", "two-days", "--report", "issues.csv"});
  EXPECT_EQ(validate.exit_code, 0) << validate.err;
  EXPECT_THAT(validate.out, HasSubstr("validated 1560 bars of 2 symbols"));
  EXPECT_THAT(validate.out, HasSubstr(": 0 issues\n"));
  EXPECT_THAT(ListTree(dir_), ::testing::Contains("issues.csv"));

  const Outcome aggregate = Run({"aggregate", "--timeframe", "5m,1h", "--symbols", "AAPL,MSFT",
                                 "--start", "2024-01-02", "--end", "2024-01-04"});
  EXPECT_EQ(aggregate.exit_code, 0) << aggregate.err;
  EXPECT_THAT(aggregate.out, HasSubstr("aggregated 1560 1m bars of 2 symbols"));
  const Outcome counts = Run({"query",
                              "SELECT timeframe, count(*) AS n FROM bars GROUP BY timeframe "
                              "ORDER BY timeframe",
                              "--format", "csv"});
  // 390 1m bars a day: 78 5m bars and 7 hourly buckets (14:00Z .. 20:00Z) per symbol and day.
  EXPECT_EQ(counts.out, "timeframe,n\r\n1h,28\r\n1m,1560\r\n5m,312\r\n");
}

TEST_F(CliTest, BazelRunPathsResolveAgainstBuildWorkingDirectory) {
  const std::string wd = dir_ + "/wd";
  std::filesystem::create_directories(wd);
  std::filesystem::create_directories(dir_ + "/runfiles");
  { std::ofstream(wd + "/symbols.txt") << "AAPL\n# comment\nMSFT\n"; }
  Invocation inv = In({"ingest", "--provider", "fake", "--symbols", "@symbols.txt", "--start",
                       "2024-01-02", "--end", "2024-01-03"});
  inv.cwd = dir_ + "/runfiles";
  inv.unset_env = {"TERM"};
  inv.set_env["BUILD_WORKING_DIRECTORY"] = wd;
  const Outcome o = clitest::Run(inv);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(ListTree(dir_),
              ElementsAre("runfiles", "wd", "wd/data", "wd/data/marketpipe.db", "wd/symbols.txt"));
}

TEST_F(CliTest, ProgressBarOnAPseudoTerminal) {
  Invocation inv = In({"ingest", "--provider", "fake", "--symbols", "AAPL,MSFT,NVDA", "--start",
                       "2024-01-02", "--end", "2024-01-06"});
  inv.pty = true;
  inv.set_env["TERM"] = "xterm";
  const Outcome o = clitest::Run(inv);
  ASSERT_EQ(o.exit_code, 0) << o.out;
  // The bar is drawn in place (erase line + bar) and erased before the summary.
  EXPECT_THAT(o.out, HasSubstr("\r\x1b[2K["));
  EXPECT_THAT(o.out, HasSubstr("/3 symbols  "));
  EXPECT_THAT(o.out, HasSubstr(" bars/s  ETA "));
  EXPECT_THAT(o.out, HasSubstr("\r\x1b[2Kjob job-"));
  EXPECT_THAT(o.out, HasSubstr("symbols   3/3 done"));
}

mptest::FakeAlpacaServer::Bar Minute(const std::string& t, double close) {
  return {.t = t,
          .o = close,
          .h = close + 0.05,
          .l = close - 0.05,
          .c = close,
          .v = 100,
          .n = 3,
          .vw = close};
}

TEST_F(CliTest, AlpacaIngestThroughFaultsFromTheFakeServer) {
  mptest::FakeAlpacaServer server({.key_id = "key", .secret_key = "secret"});
  // The fake server serves its pages whatever the symbols asked: one symbol, two pages.
  server.AddPage(
      {{"AAPL", {Minute("2024-01-02T14:30:00Z", 187.15), Minute("2024-01-02T14:31:00Z", 187.2)}}});
  server.AddPage(
      {{"AAPL", {Minute("2024-01-02T14:32:00Z", 187.1), Minute("2024-01-02T14:33:00Z", 187.25)}}});
  server.InjectOnRequest(0, mptest::FakeAlpacaServer::Fault::ServerError(503));
  server.InjectOnRequest(1, mptest::FakeAlpacaServer::Fault::TooManyRequests(0));
  server.InjectOnRequest(2, mptest::FakeAlpacaServer::Fault::ConnectionReset());

  Invocation inv = In({"ingest", "--provider", "alpaca", "--symbols", "AAPL", "--start",
                       "2024-01-02", "--end", "2024-01-03"});
  inv.set_env = {
      {"ALPACA_KEY", "key"}, {"ALPACA_SECRET", "secret"}, {"ALPACA_BASE_URL", server.base_url()}};
  inv.unset_env = {"TERM", "BUILD_WORKING_DIRECTORY"};
  const Outcome o = clitest::Run(inv);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_THAT(o.out, HasSubstr("bars      4 fetched, 4 stored, 0 rejected\n"));
  EXPECT_THAT(o.err, Not(HasSubstr("secret")));
  EXPECT_EQ(
      Run({"query", "SELECT symbol, close FROM bars ORDER BY symbol, ts_ns", "--format", "csv"})
          .out,
      "symbol,close\r\nAAPL,187.1500\r\nAAPL,187.2000\r\nAAPL,187.1000\r\nAAPL,187.2500\r\n");
  EXPECT_THAT(o.err, HasSubstr("HTTP 503"));  // the retries were logged
}

TEST_F(CliTest, AlpacaRefusalIsARuntimeFailureWithTheSymbolsAndReasonInTheSummary) {
  mptest::FakeAlpacaServer server;
  server.InjectNext(100, mptest::FakeAlpacaServer::Fault::Error(403, "forbidden."));
  Invocation inv = In({"ingest", "--provider", "alpaca", "--symbols", "AAPL,MSFT", "--start",
                       "2024-01-02", "--end", "2024-01-03"});
  inv.set_env = {
      {"ALPACA_KEY", "key"}, {"ALPACA_SECRET", "secret"}, {"ALPACA_BASE_URL", server.base_url()}};
  const Outcome o = clitest::Run(inv);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_THAT(o.out, HasSubstr(": FAILED\n"));
  EXPECT_THAT(o.out, HasSubstr("failed    AAPL: "));
  EXPECT_THAT(o.out, HasSubstr("failed    MSFT: "));
  EXPECT_THAT(o.out, HasSubstr("403"));
}

// A two-page Alpaca job, AAPL and MSFT over one day in one request stream (--workers 1), that
// the fake server can hold in the middle: page 0 completes AAPL and starts MSFT, page 1 ends
// MSFT. A long latency holds every request after the first `served` ones (retries after the
// client's read timeout too), so a run cannot end on its own while a test acts on it: every
// event the tests wait for is an observed one, never a delay.
class HeldAlpacaJobTest : public CliTest {
 protected:
  using Server = mptest::FakeAlpacaServer;
  static constexpr std::chrono::hours kHold{1};

  // Serves requests 0 .. served-1 (unless a test injected a fault there), holds the rest.
  static void HoldFrom(Server& server, size_t served) {
    for (size_t i = 0; i < served; ++i) {
      server.InjectOnRequest(i, Server::Fault::Latency(std::chrono::milliseconds(0)));
    }
    server.InjectNext(100, Server::Fault::Latency(kHold));
  }

  static void AddPage0(Server& server) {
    server.AddPage(
        {{"AAPL",
          {Minute("2024-01-02T14:30:00Z", 187.15), Minute("2024-01-02T14:31:00Z", 187.2),
           Minute("2024-01-02T14:32:00Z", 187.1), Minute("2024-01-02T14:33:00Z", 187.25)}},
         {"MSFT", {Minute("2024-01-02T14:30:00Z", 370.5), Minute("2024-01-02T14:31:00Z", 370.6)}}});
  }
  static void AddPage1(Server& server) {
    server.AddPage(
        {{"MSFT", {Minute("2024-01-02T14:32:00Z", 370.7), Minute("2024-01-02T14:33:00Z", 370.8)}}});
  }

  // The ingest against `server`, on a pseudo-terminal so its progress bar can be watched.
  Invocation Ingest(const Server& server, const std::string& job_id, const std::string& store,
                    std::vector<std::string> extra = {}) {
    Invocation inv =
        In({"ingest", "--provider", "alpaca", "--symbols", "AAPL,MSFT", "--start", "2024-01-02",
            "--end", "2024-01-03", "--workers", "1", "--job-id", job_id, "--store", store});
    inv.args.insert(inv.args.end(), extra.begin(), extra.end());
    inv.set_env = {{"ALPACA_KEY", "key"},
                   {"ALPACA_SECRET", "secret"},
                   {"ALPACA_BASE_URL", server.base_url()},
                   {"TERM", "xterm"}};
    inv.unset_env = {"BUILD_WORKING_DIRECTORY"};
    inv.pty = true;
    return inv;
  }

  // True once the bar shows page 0 stored (AAPL done, 6 bars); the run then waits on page 1.
  static bool ShowsPage0Stored(const std::string& out, const std::string&) {
    return absl::StrContains(out, "1/2 symbols  6 bars  ");
  }

  // The store an uninterrupted run of the job ends with.
  std::string UninterruptedDump() {
    Server server;
    AddPage0(server);
    AddPage1(server);
    const Outcome o = clitest::Run(Ingest(server, "straight", "sqlite:straight.db"));
    EXPECT_EQ(o.exit_code, 0) << o.out;
    const std::string dump = Dump("sqlite:straight.db");
    EXPECT_EQ(Lines(dump), 1 + 8) << dump;
    return dump;
  }

  // Runs the stopped job `job_id` again against a server holding only page 1, and checks that
  // it asks for MSFT alone, after its last stored bar, and completes.
  void ResumeAndExpectCompleted(const std::string& job_id, const std::string& store) {
    Server server;
    AddPage1(server);
    const Outcome o = clitest::Run(Ingest(server, job_id, store));
    EXPECT_EQ(o.exit_code, 0) << o.out;
    EXPECT_THAT(o.out, HasSubstr("job " + job_id + ": COMPLETED"));
    EXPECT_THAT(o.out, HasSubstr("symbols   2/2 done (1 by an earlier run)"));
    const std::vector<Server::RecordedRequest> requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].Query("symbols"), "MSFT");
    EXPECT_EQ(requests[0].Query("start"), "2024-01-02T14:31:00.000000001Z");
  }
};

TEST_F(HeldAlpacaJobTest, SigintWhileAPageIsInFlightExits130AndTheJobIdResumesToTheSameStore) {
  Server server;
  AddPage0(server);
  AddPage1(server);
  HoldFrom(server, 1);
  Process run(Ingest(server, "held", "sqlite:interrupted.db"));
  ASSERT_TRUE(run.ReadUntil(ShowsPage0Stored)) << run.out();
  run.Signal(SIGINT);
  const Outcome stopped = run.Wait();
  ASSERT_EQ(stopped.exit_code, 130) << stopped.out;
  EXPECT_THAT(stopped.out, HasSubstr("SIGINT: stopping after the pages in flight"));
  EXPECT_THAT(stopped.out, HasSubstr("job held: CANCELLED"));
  EXPECT_THAT(stopped.out, HasSubstr("symbols   1/2 done"));
  EXPECT_THAT(stopped.out, HasSubstr("resume with --job-id held"));
  EXPECT_EQ(server.request_count(), 2u);  // page 1 was asked for once and never answered
  const Outcome status = Run({"jobs", "status", "held", "--store", "sqlite:interrupted.db"});
  EXPECT_THAT(status.out, HasSubstr("state     CANCELLED\n"));
  EXPECT_THAT(status.out, HasSubstr("message   cancelled (SIGINT) with 1 of 2 symbols done; "
                                    "rerun job held to resume\n"));
  EXPECT_THAT(status.out, HasSubstr("symbols   1/2 done\n"));
  // What page 0 carried is stored, nothing of page 1.
  EXPECT_THAT(
      Run({"query", "SELECT symbol, count(*) AS n FROM bars GROUP BY symbol ORDER BY symbol",
           "--format", "csv", "--store", "sqlite:interrupted.db"})
          .out,
      "symbol,n\r\nAAPL,4\r\nMSFT,2\r\n");

  ResumeAndExpectCompleted("held", "sqlite:interrupted.db");
  EXPECT_EQ(Dump("sqlite:interrupted.db"), UninterruptedDump());
}

// Reads "... PREFIX<value>\n" out of a Prometheus text scrape; -1 when absent.
double MetricValue(const std::string& scrape, const std::string& series) {
  const size_t at = scrape.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  const size_t begin = at + 1 + series.size() + 1;
  double value = -1;
  if (!absl::SimpleAtod(scrape.substr(begin, scrape.find('\n', begin) - begin), &value)) return -1;
  return value;
}

TEST_F(HeldAlpacaJobTest, MetricsPortServesLiveFiguresWhileTheIngestRuns) {
  Server server;
  AddPage0(server);
  AddPage1(server);
  // Request 0 is throttled for 1 s (waited out in the shared rate limiter), request 1 serves
  // page 0, request 2 (page 1) is held while the test scrapes.
  HoldFrom(server, 2);
  server.InjectOnRequest(0, Server::Fault::TooManyRequests(1));
  Process run(Ingest(server, "live", "sqlite:live.db", {"--metrics-port", "0"}));
  ASSERT_TRUE(run.ReadUntil(ShowsPage0Stored)) << run.out();
  // "metrics: http://127.0.0.1:PORT/metrics", printed before the run starts.
  const std::string& out = run.out();
  const size_t at = out.find("metrics: http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << out;
  const size_t port_at = at + std::string("metrics: http://127.0.0.1:").size();
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(out.substr(port_at, out.find('/', port_at) - port_at), &port))
      << out;

  const std::string scrape = net::testclient::Get(static_cast<uint16_t>(port), "/metrics");
  ASSERT_THAT(scrape, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(MetricValue(scrape, "marketpipe_bars_fetched_total"), 6) << scrape;
  EXPECT_EQ(MetricValue(scrape, "marketpipe_bars_stored_total"), 6) << scrape;
  EXPECT_EQ(MetricValue(scrape, "marketpipe_symbols_done"), 1) << scrape;
  EXPECT_EQ(MetricValue(scrape, "marketpipe_symbols_total"), 2) << scrape;
  EXPECT_EQ(MetricValue(scrape, "marketpipe_job_state{job=\"live\",state=\"RUNNING\"}"), 1)
      << scrape;
  EXPECT_EQ(MetricValue(scrape, "marketpipe_job_state{job=\"live\",state=\"COMPLETED\"}"), 0)
      << scrape;
  // The provider's requests: the 429 and page 0; the held one has no answer yet.
  EXPECT_EQ(MetricValue(scrape, "marketpipe_provider_requests_total{code=\"429\"}"), 1) << scrape;
  EXPECT_EQ(MetricValue(scrape, "marketpipe_provider_requests_total{code=\"200\"}"), 1) << scrape;
  EXPECT_EQ(MetricValue(scrape, "marketpipe_provider_request_duration_seconds_count{code=\"200\"}"),
            1)
      << scrape;
  // One wait, for the rest of the Retry-After's second (counted from the 429's arrival, so the
  // wait itself may be a little shorter); the bucket refilled meanwhile, so no refill wait.
  EXPECT_EQ(MetricValue(scrape, "marketpipe_rate_limiter_waits_total{cause=\"retry_after\"}"), 1)
      << scrape;
  EXPECT_GT(
      MetricValue(scrape, "marketpipe_rate_limiter_wait_seconds_total{cause=\"retry_after\"}"), 0)
      << scrape;
  EXPECT_EQ(MetricValue(scrape, "marketpipe_rate_limiter_waits_total{cause=\"refill\"}"), 0)
      << scrape;

  run.Signal(SIGTERM);
  const Outcome stopped = run.Wait();
  EXPECT_EQ(stopped.exit_code, 130) << stopped.out;
}

TEST_F(HeldAlpacaJobTest, JobsCancelFromAnotherProcessStopsTheRunningIngestWhichResumesLater) {
  Server server;
  AddPage0(server);
  AddPage1(server);
  HoldFrom(server, 1);
  Process run(Ingest(server, "c1", "sqlite:cancelled.db"));
  ASSERT_TRUE(run.ReadUntil(ShowsPage0Stored)) << run.out();

  const Outcome cancel = Run({"jobs", "cancel", "c1", "--store", "sqlite:cancelled.db"});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_THAT(cancel.out, HasSubstr("job c1: CANCELLED"));
  // The running ingest notices, stops after its pages in flight and says so.
  const Outcome stopped = run.Wait();
  ASSERT_EQ(stopped.exit_code, 3) << stopped.out;
  EXPECT_THAT(stopped.out, HasSubstr("job c1 was cancelled (jobs cancel): stopping"));
  EXPECT_THAT(stopped.out, HasSubstr("job c1: CANCELLED"));
  EXPECT_THAT(stopped.out, HasSubstr("cancelled by jobs cancel; resume with --job-id c1"));
  EXPECT_EQ(server.request_count(), 2u);
  // The stopped run's final message keeps who cancelled it.
  EXPECT_THAT(Run({"jobs", "status", "c1", "--store", "sqlite:cancelled.db"}).out,
              HasSubstr("message   cancelled (jobs cancel) with 1 of 2 symbols done; "));

  const Outcome again = Run({"jobs", "cancel", "c1", "--store", "sqlite:cancelled.db"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err,
              HasSubstr("job c1 is CANCELLED: only PENDING or RUNNING jobs can be cancelled"));

  // Running a cancelled job again by its id resumes it (README: "jobs").
  ResumeAndExpectCompleted("c1", "sqlite:cancelled.db");
  EXPECT_EQ(Dump("sqlite:cancelled.db"), UninterruptedDump());
  EXPECT_EQ(Run({"jobs", "cancel", "c1", "--store", "sqlite:cancelled.db"}).exit_code, 2);
}

TEST_F(HeldAlpacaJobTest, JobsCancelBeforeTheFirstPageStopsTheIngestToo) {
  Server server;
  HoldFrom(server, 0);  // the very first request is held: no progress is ever reported
  Process run(Ingest(server, "c0", "sqlite:early.db"));
  // The job shows RUNNING once the run has started it (each look is a finished process).
  bool running = false;
  for (int i = 0; i < 1000 && !running; ++i) {
    running = absl::StrContains(Run({"jobs", "status", "c0", "--store", "sqlite:early.db"}).out,
                                "state     RUNNING\n");
  }
  ASSERT_TRUE(running);
  EXPECT_EQ(Run({"jobs", "cancel", "c0", "--store", "sqlite:early.db"}).exit_code, 0);
  const Outcome stopped = run.Wait();
  EXPECT_EQ(stopped.exit_code, 3) << stopped.out;
  EXPECT_THAT(stopped.out, HasSubstr("job c0: CANCELLED"));
  EXPECT_THAT(stopped.out, HasSubstr("symbols   0/2 done"));
  EXPECT_THAT(Run({"jobs", "status", "c0", "--store", "sqlite:early.db"}).out,
              HasSubstr("message   cancelled (jobs cancel) with 0 of 2 symbols done; "));
}

TEST_F(CliTest, ValidateExits1NamingTheIssuesThatSeparateJobsLeftAndWritesTheReport) {
  // Two jobs over adjacent minutes, each valid alone; together the close jumps 100 -> 300.
  auto ingest = [&](const std::string& start, const std::string& end, double close) {
    mptest::FakeAlpacaServer server;
    server.AddPage({{"AAPL", {Minute(start, close)}}});
    Invocation inv =
        In({"ingest", "--provider", "alpaca", "--symbols", "AAPL", "--start", start, "--end", end});
    inv.set_env = {
        {"ALPACA_KEY", "key"}, {"ALPACA_SECRET", "secret"}, {"ALPACA_BASE_URL", server.base_url()}};
    const Outcome o = clitest::Run(inv);
    EXPECT_EQ(o.exit_code, 0) << o.out << o.err;
  };
  ingest("2024-01-02T14:30:00Z", "2024-01-02T14:31:00Z", 100);
  ingest("2024-01-02T14:31:00Z", "2024-01-02T14:32:00Z", 300);

  const Outcome o = Run({"validate", "--symbols", "AAPL", "--start", "2024-01-02", "--end",
                         "2024-01-03", "--report", "issues.csv"});
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_THAT(o.out, HasSubstr("validated 2 bars of 1 symbols"));
  EXPECT_THAT(o.out, HasSubstr(": 1 issues\n  extreme_move: 1\nsymbols with issues: AAPL (1)\n"));
  std::ifstream report(dir_ + "/issues.csv");
  const std::string text((std::istreambuf_iterator<char>(report)),
                         std::istreambuf_iterator<char>());
  // 14:31Z on 2024-01-02.
  EXPECT_THAT(text, HasSubstr("AAPL,1704205860000000000,extreme_move"));
}

TEST_F(CliTest, MetricsServesTheStoresFiguresUntilSigterm) {
  ASSERT_EQ(Run({"ingest", "--provider", "fake", "--symbols", "AAPL", "--start", "2024-01-02",
                 "--end", "2024-01-03"})
                .exit_code,
            0);
  Process metrics(In({"metrics", "--port", "0"}));
  ASSERT_TRUE(metrics.ReadUntil([](const std::string&, const std::string& err) {
    return absl::StrContains(err, "(Ctrl-C stops)");
  })) << metrics.err();
  // "marketpipe: serving http://127.0.0.1:PORT/metrics (Ctrl-C stops)"
  const std::string& err = metrics.err();
  const size_t colon = err.find("127.0.0.1:");
  ASSERT_NE(colon, std::string::npos) << err;
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(err.substr(colon + 10, err.find('/', colon) - colon - 10), &port));

  const std::string scrape = net::testclient::Get(static_cast<uint16_t>(port), "/metrics");
  EXPECT_THAT(scrape, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(scrape, HasSubstr("marketpipe_store_bars{symbol=\"AAPL\",timeframe=\"1m\"} 390\n"));
  EXPECT_THAT(scrape, HasSubstr("marketpipe_store_jobs{state=\"COMPLETED\"} 1\n"));
  EXPECT_THAT(net::testclient::Get(static_cast<uint16_t>(port), "/"), StartsWith("HTTP/1.1 404 "));
  EXPECT_THAT(net::testclient::Get(static_cast<uint16_t>(port), "/metrics", "POST"),
              StartsWith("HTTP/1.1 405 "));
  {
    net::testclient::Client bad(static_cast<uint16_t>(port));
    bad.Send("NOT HTTP AT ALL\r\n\r\n");
    EXPECT_THAT(bad.ReadToEnd(), StartsWith("HTTP/1.1 400 "));
  }
  EXPECT_THAT(net::testclient::Get(static_cast<uint16_t>(port), "/metrics"),
              HasSubstr("marketpipe_http_requests_total{code=\"404\"} 1\n"));
  metrics.Signal(SIGTERM);
  EXPECT_EQ(metrics.Wait().exit_code, 0);
}

}  // namespace
}  // namespace marketpipe::cli
