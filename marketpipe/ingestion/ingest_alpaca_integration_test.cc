// Ingest end to end through the Alpaca provider: the coordinator -> registry's AlpacaClient ->
// real HttpClient -> loopback FakeAlpacaServer, into SQLite (under the case's temp dir) and
// PostgreSQL (the kit's shared server, a schema per case), with each fault the server injects.
// Backoff and Retry-After waits run on the test's virtual clock; socket I/O holds ExternalWaits.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <postgresql/libpq-fe.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/ingestion/ingest.h"
#include "marketpipe/providers/registry/provider_registry.h"
#include "marketpipe/storage/store.h"
#include "testing/async_test.h"
#include "testing/environment.h"
#include "testing/fakes/fake_alpaca_server.h"
#include "testing/postgres/postgres_server.h"

namespace marketpipe::ingestion {
namespace {

using ::mptest::FakeAlpacaServer;
using ::testing::HasSubstr;
using Fault = FakeAlpacaServer::Fault;
using storage::JobState;

constexpr char kKey[] = "PKINGEST0001";
constexpr char kSecret[] = "ingest-secret-7788";
constexpr int kMinutes = 390;  // 14:30Z to 21:00Z

// Minutes [first, first + count) of the session of 2024-01-02 for `symbol`.
void AddMinutes(FakeAlpacaServer::BarsBySymbol& page, const std::string& symbol, int first,
                int count) {
  for (int i = first; i < first + count; ++i) {
    char t[32];
    std::snprintf(t, sizeof t, "2024-01-02T%02d:%02d:00Z", 14 + (30 + i) / 60, (30 + i) % 60);
    const double base = symbol == "AAPL" ? 185.0 : 370.0;
    page[symbol].push_back({.t = t,
                            .o = base + i * 0.01,
                            .h = base + i * 0.01 + 0.5,
                            .l = base + i * 0.01 - 0.5,
                            .c = base + i * 0.01 + 0.01,
                            .v = 1000 + i,
                            .n = 10,
                            .vw = base + i * 0.01});
  }
}

std::string FaultName(const Fault& f) {
  switch (f.kind) {
    case Fault::Kind::kStatus:
      return absl::StrCat("Status", f.status);
    case Fault::Kind::kReset:
      return "ConnectionReset";
    case Fault::Kind::kTruncatedBody:
      return "TruncatedBody";
    default:
      return "None";
  }
}

class IngestAlpacaTest : public ::mptest::AsyncTest,
                         public ::testing::WithParamInterface<std::string> {
 protected:
  IngestAlpacaTest() : server_(FakeAlpacaServer::Options{.key_id = kKey, .secret_key = kSecret}) {
    // One request names both symbols; pages run AAPL then MSFT, split across page boundaries.
    FakeAlpacaServer::BarsBySymbol p0, p1, p2;
    AddMinutes(p0, "AAPL", 0, 200);
    AddMinutes(p1, "AAPL", 200, kMinutes - 200);
    AddMinutes(p1, "MSFT", 0, 100);
    AddMinutes(p2, "MSFT", 100, kMinutes - 100);
    server_.AddPage(p0);
    server_.AddPage(p1);
    server_.AddPage(p2);
  }

  void SetUp() override {
    if (GetParam() == "sqlite") {
      spec_ = "sqlite:" + ::mptest::CaseTempDir() + "/bars.db";
    } else {
      absl::StatusOr<::mptest::PostgresServerInfo> pg = ::mptest::SharedPostgresServer();
      ASSERT_TRUE(pg.ok()) << pg.status();
      conninfo_ = pg->conninfo;
      schema_ = ::mptest::UniqueName("ingest");
      spec_ = "postgres:" + conninfo_ + ";schema=" + schema_;
    }
    absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::OpenStore(spec_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ProviderConfig config;
    config.name = "alpaca";
    config.base_url = server_.base_url();
    config.requests_per_minute = 6000;
    config.burst = 100;
    ProviderContext context;
    context.executor = io().get_executor();
    context.time = &time();
    context.env = [](std::string_view name) -> std::optional<std::string> {
      if (name == "ALPACA_KEY") return std::string(kKey);
      if (name == "ALPACA_SECRET") return std::string(kSecret);
      return std::nullopt;
    };
    context.log = [](std::string_view) {};
    absl::StatusOr<std::unique_ptr<Provider>> provider = MakeProvider(config, context);
    ASSERT_TRUE(provider.ok()) << provider.status();
    provider_ = *std::move(provider);
  }

  void TearDown() override {
    provider_.reset();
    store_.reset();
    if (!schema_.empty()) {
      PGconn* conn = PQconnectdb(conninfo_.c_str());
      PQclear(PQexec(conn, ("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE").c_str()));
      PQfinish(conn);
    }
    AsyncTest::TearDown();
  }

  IngestOptions Options() {
    IngestOptions options;
    options.symbols = {*Symbol::Parse("MSFT"), *Symbol::Parse("AAPL")};
    options.range = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00Z"),
                                       *ParseRfc3339("2024-01-02T21:00:00Z"));
    options.feed = "iex";
    options.workers = 1;
    return options;
  }

  absl::StatusOr<IngestResult> Ingest() {
    return RunAsync(RunIngest(*provider_, *store_, time(), Options()));
  }

  int64_t Count(const char* symbol) {
    absl::StatusOr<int64_t> n =
        store_->CountBars(*Symbol::Parse(symbol), Timeframe::kOneMinute, Options().range);
    return n.ok() ? *n : -1;
  }

  FakeAlpacaServer server_;
  std::string spec_, conninfo_, schema_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Provider> provider_;
};

TEST_P(IngestAlpacaTest, StoresEveryBarWithItsProvenance) {
  absl::StatusOr<IngestResult> result = Ingest();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompleted);
  EXPECT_EQ(result->totals.bars_stored, 2 * kMinutes);
  EXPECT_EQ(Count("AAPL"), kMinutes);
  EXPECT_EQ(Count("MSFT"), kMinutes);
  ASSERT_EQ(server_.request_count(), 3u);
  EXPECT_EQ(server_.requests()[0].Query("symbols"), "AAPL,MSFT");
  auto provenance = store_->GetProvenance(*Symbol::Parse("AAPL"), Timeframe::kOneMinute);
  ASSERT_TRUE(provenance.ok() && provenance->has_value());
  EXPECT_EQ(**provenance, (storage::Provenance{"alpaca", "iex", "raw"}));
  // Prices arrive as decimal text and are stored exactly.
  auto bars = store_->ReadBars(*Symbol::Parse("MSFT"), Timeframe::kOneMinute, Options().range);
  ASSERT_TRUE(bars.ok());
  ASSERT_EQ(bars->size(), static_cast<size_t>(kMinutes));
  EXPECT_EQ(bars->back().ts_ns, *ParseRfc3339("2024-01-02T20:59:00Z"));
  EXPECT_EQ(bars->back().open, *Price::Parse("373.89"));
  EXPECT_EQ(bars->back().volume, 1000 + kMinutes - 1);
}

TEST_P(IngestAlpacaTest, PermanentErrorFailsTheJobNamingItAndKeepsWhatWasStored) {
  server_.InjectOnRequest(1, Fault::Error(403, "forbidden."));
  absl::StatusOr<IngestResult> result = Ingest();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kFailed);
  ASSERT_EQ(result->failures.size(), 2u);
  for (const SymbolFailure& f : result->failures) {
    EXPECT_THAT(std::string(f.error.message()), HasSubstr("403")) << f.symbol;
    EXPECT_THAT(std::string(f.error.message()), ::testing::Not(HasSubstr(kSecret)));
  }
  // Page 0 (AAPL's first 200 minutes) was stored and checkpointed before the failure.
  EXPECT_EQ(Count("AAPL"), 200);
  EXPECT_EQ(Count("MSFT"), 0);
  auto job = store_->GetJob(result->job_id);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->state, JobState::kFailed);
  EXPECT_THAT((*job)->message, HasSubstr("403"));
}

// A server that refuses one symbol of a batch (422): the batch is retried symbol by symbol, the
// refused symbol fails alone with the server's words, and the others are stored exactly.
TEST_P(IngestAlpacaTest, ASymbolTheServerRefusesFailsAloneAndTheOthersAreStoredExactly) {
  server_.SetServeOnlyRequestedSymbols(true);
  server_.InjectForSymbol("BADX", Fault::Error(422, "invalid symbol: BADX"));
  IngestOptions options = Options();
  options.symbols.push_back(*Symbol::Parse("BADX"));
  absl::StatusOr<IngestResult> result = RunAsync(RunIngest(*provider_, *store_, time(), options));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompletedWithErrors);
  std::string failures;
  for (const SymbolFailure& f : result->failures) {
    absl::StrAppend(&failures, f.symbol.value(), ": ", f.error.ToString(), "\n");
  }
  ASSERT_EQ(result->failures.size(), 1u) << failures;
  EXPECT_EQ(result->failures[0].symbol.value(), "BADX");
  EXPECT_THAT(std::string(result->failures[0].error.message()), HasSubstr("422"));
  EXPECT_THAT(std::string(result->failures[0].error.message()), HasSubstr("invalid symbol: BADX"));
  EXPECT_EQ(Count("AAPL"), kMinutes);
  EXPECT_EQ(Count("MSFT"), kMinutes);
  EXPECT_EQ(Count("BADX"), 0);
  // One refused request for the batch, then each symbol alone.
  const std::vector<FakeAlpacaServer::RecordedRequest> requests = server_.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].Query("symbols"), "AAPL,BADX,MSFT");
  std::vector<std::string> alone;
  for (size_t i = 1; i < requests.size(); ++i) {
    const std::string symbols = requests[i].Query("symbols").value_or("");
    EXPECT_EQ(symbols.find(','), std::string::npos) << symbols;
    if (requests[i].Query("page_token") == std::nullopt) alone.push_back(symbols);
  }
  EXPECT_THAT(alone, ::testing::UnorderedElementsAre("AAPL", "BADX", "MSFT"));
  auto job = store_->GetJob(result->job_id);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->state, JobState::kCompletedWithErrors);
  EXPECT_THAT((*job)->message, HasSubstr("1 of 3 symbols failed: BADX: "));
}

INSTANTIATE_TEST_SUITE_P(Stores, IngestAlpacaTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// Every transient fault, on each store: retried by the client, and the job ends with exactly
// the bars of a clean run.
TEST_P(IngestAlpacaTest, EveryTransientFaultIsRetriedAndTheBarsAreExact) {
  const std::vector<Fault> faults = {Fault::TooManyRequests(1), Fault::ServerError(503),
                                     Fault::ServerError(500), Fault::ConnectionReset(),
                                     Fault::TruncatedBody()};
  // One job per fault, the fault on the second page's first attempt.
  for (const Fault& fault : faults) {
    SCOPED_TRACE(FaultName(fault));
    server_.ClearFaults();
    const size_t before = server_.request_count();
    server_.InjectOnRequest(before + 1, fault);
    IngestOptions options = Options();
    options.job_id = ::mptest::UniqueName("job");
    absl::StatusOr<IngestResult> result = RunAsync(RunIngest(*provider_, *store_, time(), options));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->state, JobState::kCompleted)
        << (result->failures.empty() ? "" : std::string(result->failures[0].error.message()));
    EXPECT_EQ(result->totals.bars_fetched, 2 * kMinutes);
    // Three pages, one retried.
    EXPECT_EQ(server_.request_count() - before, 4u);
    EXPECT_EQ(Count("AAPL"), kMinutes);
    EXPECT_EQ(Count("MSFT"), kMinutes);
  }
}

}  // namespace
}  // namespace marketpipe::ingestion
