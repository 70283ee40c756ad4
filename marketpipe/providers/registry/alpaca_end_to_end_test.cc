// The Alpaca provider end to end: registry -> AlpacaClient -> real HttpClient -> loopback
// FakeAlpacaServer, with every fault the server can inject. Backoff and Retry-After waits run
// on the test's virtual clock; socket I/O holds ExternalWaits so the clock never skips it.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "marketpipe/core/time_format.h"
#include "marketpipe/net/client/http_client.h"
#include "marketpipe/net/client/loopback_server.h"
#include "marketpipe/providers/alpaca/alpaca_client.h"
#include "marketpipe/providers/rate_limit/rate_limiter.h"
#include "marketpipe/providers/registry/provider_registry.h"
#include "testing/async_test.h"
#include "testing/environment.h"
#include "testing/fakes/fake_alpaca_server.h"

namespace marketpipe {
namespace {

using boost::asio::awaitable;
using mptest::FakeAlpacaServer;
using Fault = FakeAlpacaServer::Fault;
using namespace std::chrono_literals;

constexpr char kKey[] = "PKE2ETEST0001";
constexpr char kSecret[] = "e2e-secret-value-4242";

FakeAlpacaServer::BarsBySymbol Minutes(const std::string& symbol, int first, int count) {
  FakeAlpacaServer::BarsBySymbol page;
  for (int i = first; i < first + count; ++i) {
    char t[32];
    std::snprintf(t, sizeof t, "2024-01-02T%02d:%02d:00Z", 14 + (30 + i) / 60, (30 + i) % 60);
    page[symbol].push_back({.t = t,
                            .o = 100.0 + i,
                            .h = 101.0 + i,
                            .l = 99.0 + i,
                            .c = 100.5 + i,
                            .v = 1000 + i,
                            .n = 10,
                            .vw = 100.25 + i});
  }
  return page;
}

class AlpacaEndToEndTest : public mptest::AsyncTest {
 protected:
  AlpacaEndToEndTest()
      : server_(FakeAlpacaServer::Options{.key_id = kKey, .secret_key = kSecret}) {}

  std::unique_ptr<marketpipe::Provider> MakeAlpaca(std::string secret = kSecret) {
    ProviderConfig config;
    config.name = "alpaca";
    config.base_url = server_.base_url();
    config.requests_per_minute = 6000;
    config.burst = 100;
    ProviderContext context;
    context.executor = io().get_executor();
    context.time = &time();
    context.env = [secret](std::string_view name) -> std::optional<std::string> {
      if (name == "ALPACA_KEY") return std::string(kKey);
      if (name == "ALPACA_SECRET") return secret;
      return std::nullopt;
    };
    context.log = [this](std::string_view line) { log_.emplace_back(line); };
    auto provider = MakeProvider(config, context);
    EXPECT_TRUE(provider.ok()) << provider.status();
    return *std::move(provider);
  }

  absl::StatusOr<std::vector<Bar>> Fetch(marketpipe::Provider& p, const char* symbol = "AAPL") {
    auto range = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00Z"),
                                    *ParseRfc3339("2024-01-02T21:00:00Z"));
    return RunAsync(p.FetchBars(*Symbol::Parse(symbol), range, Timeframe::kOneMinute));
  }

  FakeAlpacaServer server_;
  std::vector<std::string> log_;
};

TEST_F(AlpacaEndToEndTest, FetchesEveryPageOverOneKeptAliveConnection) {
  server_.AddPage(Minutes("AAPL", 0, 3));
  server_.AddPage(Minutes("AAPL", 3, 3));
  server_.AddPage(Minutes("AAPL", 6, 2));
  auto provider = MakeAlpaca();
  auto bars = Fetch(*provider);
  ASSERT_TRUE(bars.ok()) << bars.status();
  ASSERT_EQ(bars->size(), 8u);
  EXPECT_EQ((*bars)[7].ts_ns, *ParseRfc3339("2024-01-02T14:37:00Z"));
  EXPECT_EQ((*bars)[7].close.units(), 1075000);
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].Query("page_token"), FakeAlpacaServer::PageToken(1));
  EXPECT_EQ(requests[0].Query("start"), "2024-01-02T14:30:00Z");
  EXPECT_EQ(requests[0].headers.Get("APCA-API-KEY-ID"), kKey);
  EXPECT_EQ(server_.connections_accepted(), 1u);
}

TEST_F(AlpacaEndToEndTest, RangeEndingExactlyOnABarLeavesItForTheNextRange) {
  // The server, like Alpaca, treats `end` as inclusive and sends the bar stamped 14:35.
  server_.AddPage(Minutes("AAPL", 0, 6));
  auto provider = MakeAlpaca();
  auto range = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00Z"),
                                  *ParseRfc3339("2024-01-02T14:35:00Z"));
  auto bars = RunAsync(provider->FetchBars(*Symbol::Parse("AAPL"), range, Timeframe::kOneMinute));
  ASSERT_TRUE(bars.ok()) << bars.status();
  ASSERT_EQ(bars->size(), 5u);
  EXPECT_EQ(FormatRfc3339(bars->back().ts_ns), "2024-01-02T14:34:00Z");
  EXPECT_EQ(server_.requests()[0].Query("end"), "2024-01-02T14:35:00Z");
}

TEST_F(AlpacaEndToEndTest, OneRequestServesSeveralSymbolsPageByPage) {
  auto first = Minutes("AAPL", 0, 3);
  first.merge(Minutes("MSFT", 0, 1));
  server_.AddPage(first);
  server_.AddPage(Minutes("MSFT", 1, 2));
  auto provider = MakeAlpaca();
  FetchRequest request;
  request.symbols = {*Symbol::Parse("MSFT"), *Symbol::Parse("IBM"), *Symbol::Parse("AAPL")};
  request.range = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00Z"),
                                     *ParseRfc3339("2024-01-02T21:00:00Z"));
  std::vector<FetchPage> pages;
  const absl::Status status =
      RunAsync(provider->Fetch(request, [&](FetchPage page) -> awaitable<absl::Status> {
        pages.push_back(std::move(page));
        co_return absl::OkStatus();
      }));
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0].bars.size(), 4u);
  EXPECT_EQ(pages[0].completed,
            (std::vector<Symbol>{*Symbol::Parse("AAPL"), *Symbol::Parse("IBM")}));
  EXPECT_EQ(pages[1].completed, std::vector<Symbol>{*Symbol::Parse("MSFT")});
  EXPECT_EQ(pages[1].feed, "iex");
  EXPECT_EQ(server_.request_count(), 2u);
  EXPECT_EQ(server_.requests()[0].Query("symbols"), "AAPL,IBM,MSFT");
}

TEST_F(AlpacaEndToEndTest, EndlessFreshTokensWithEmptyPagesFailAtTheFirstOne) {
  for (int i = 0; i < 50; ++i) server_.AddPageJson("{}");
  auto provider = MakeAlpaca();
  auto bars = Fetch(*provider);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsDataLoss(bars.status())) << bars.status();
  EXPECT_NE(bars.status().message().find("(page 0): empty page with a next_page_token"),
            std::string::npos)
      << bars.status();
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(AlpacaEndToEndTest, BackwardPageIsDataLossNamingThePage) {
  server_.AddPage(Minutes("AAPL", 0, 3));
  server_.AddPage(Minutes("AAPL", 2, 3));  // starts at the previous page's last bar
  server_.AddPage(Minutes("AAPL", 5, 3));
  auto provider = MakeAlpaca();
  auto bars = Fetch(*provider);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsDataLoss(bars.status())) << bars.status();
  EXPECT_NE(bars.status().message().find("(page 1 (page_token=" + FakeAlpacaServer::PageToken(1) +
                                         ")): AAPL bar at 2024-01-02T14:32:00Z is not after"),
            std::string::npos)
      << bars.status();
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(AlpacaEndToEndTest, DestroyingTheProviderMidFetchIsSafe) {
  server_.AddPage(Minutes("AAPL", 0, 3));
  server_.AddPage(Minutes("AAPL", 3, 3));
  server_.InjectOnRequest(0, Fault::Latency(50ms));
  auto provider = MakeAlpaca();
  auto range = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00Z"),
                                  *ParseRfc3339("2024-01-02T21:00:00Z"));
  std::optional<absl::StatusOr<std::vector<Bar>>> result;
  boost::asio::co_spawn(io(),
                        provider->FetchBars(*Symbol::Parse("AAPL"), range, Timeframe::kOneMinute),
                        [&](std::exception_ptr e, absl::StatusOr<std::vector<Bar>> bars) {
                          EXPECT_FALSE(e);
                          result = std::move(bars);
                        });
  Poll();
  provider.reset();  // the HTTP client, limiter and options go with it unless the fetch holds them
  RunAsync([&]() -> awaitable<void> {
    while (!result) co_await time().SleepFor(10ms);
  }());
  ASSERT_TRUE(result->ok()) << result->status();
  EXPECT_EQ((*result)->size(), 6u);
}

TEST_F(AlpacaEndToEndTest, RetryAfterIsWaitedInVirtualTimeThenSucceeds) {
  server_.AddPage(Minutes("AAPL", 0, 2));
  server_.InjectOnRequest(0, Fault::TooManyRequests(30));
  auto provider = MakeAlpaca();
  auto bars = Fetch(*provider);
  ASSERT_TRUE(bars.ok()) << bars.status();
  EXPECT_EQ(bars->size(), 2u);
  EXPECT_GE(time().elapsed(), 30s);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(AlpacaEndToEndTest, ServerErrorsResetsAndTruncatedBodiesAreRetried) {
  server_.AddPage(Minutes("AAPL", 0, 4));
  server_.InjectOnRequest(0, Fault::ServerError(503));
  server_.InjectOnRequest(1, Fault::ConnectionReset());
  server_.InjectOnRequest(2, Fault::TruncatedBody());
  server_.InjectOnRequest(3, Fault::ServerError(502).WithLatency(20ms));
  auto provider = MakeAlpaca();
  auto bars = Fetch(*provider);
  ASSERT_TRUE(bars.ok()) << bars.status();
  EXPECT_EQ(bars->size(), 4u);
  EXPECT_EQ(server_.request_count(), 5u);
  // The reset may be absorbed by the HTTP client's one retry of a kept-alive connection the
  // server closed before answering; every other fault is a logged retry.
  EXPECT_GE(log_.size(), 3u);
  EXPECT_LE(log_.size(), 4u);
  for (const auto& line : log_) EXPECT_EQ(line.find(kSecret), std::string::npos) << line;
}

TEST_F(AlpacaEndToEndTest, MalformedJsonIsAnErrorNamingThePage) {
  server_.AddPage(Minutes("AAPL", 0, 1));
  server_.InjectOnRequest(0, Fault::MalformedJson());
  auto provider = MakeAlpaca();
  auto bars = Fetch(*provider);
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.status().message().find("page 0"), std::string::npos) << bars.status();
}

TEST_F(AlpacaEndToEndTest, WrongSecretIsForbiddenAndNeverPrinted) {
  server_.AddPage(Minutes("AAPL", 0, 1));
  auto provider = MakeAlpaca("wrong-secret-9999");
  auto bars = Fetch(*provider);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(bars.status())) << bars.status();
  EXPECT_EQ(bars.status().message().find("wrong-secret-9999"), std::string::npos);
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(AlpacaEndToEndTest, UnprocessableRequestIsAnErrorWithTheServerMessage) {
  server_.AddPage(Minutes("AAPL", 0, 1));
  server_.InjectOnRequest(0, Fault::Error(422, "invalid timeframe"));
  auto provider = MakeAlpaca();
  auto bars = Fetch(*provider);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(bars.status())) << bars.status();
  EXPECT_NE(bars.status().message().find("invalid timeframe"), std::string::npos);
}

// Records the virtual time at which each request leaves, for rate checks.
class RecordingTransport final : public net::HttpTransport {
 public:
  RecordingTransport(net::HttpTransport& inner, TimeSource& time) : inner_(inner), time_(time) {}
  awaitable<absl::StatusOr<net::HttpResponse>> Send(net::HttpRequest request) override {
    sent_at.push_back(time_.Now());
    co_return co_await inner_.Send(std::move(request));
  }
  std::vector<TimeSource::TimePoint> sent_at;

 private:
  net::HttpTransport& inner_;
  TimeSource& time_;
};

TEST_F(AlpacaEndToEndTest, ManySymbolsConcurrentlyNeverExceedTheSharedRateLimit) {
  server_.AddPageJson("{}");  // every symbol: one empty page
  net::HttpClient http(io(), time());
  RecordingTransport recording(http, time());
  auto limiter = *RateLimiter::PerMinute(time(), /*requests_per_minute=*/60, /*burst=*/5);
  alpaca::AlpacaOptions options;
  options.base_url = server_.base_url();
  options.key_id = kKey;
  options.secret = kSecret;
  auto client = *alpaca::AlpacaClient::Create(recording, time(), *limiter, options);
  const std::vector<std::string> symbols = {"AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA",
                                            "AMD",  "INTC", "IBM",  "ORCL", "CRM",  "NFLX", "ADBE",
                                            "QCOM", "TXN",  "AVGO", "MU",   "SHOP", "UBER"};
  auto range = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00Z"),
                                  *ParseRfc3339("2024-01-02T15:30:00Z"));
  int ok = 0;
  RunAsync([&]() -> awaitable<void> {
    std::vector<awaitable<void>> tasks;
    auto one = [&](std::string s) -> awaitable<void> {
      auto bars = co_await client->FetchBars(*Symbol::Parse(s), range, Timeframe::kOneMinute);
      EXPECT_TRUE(bars.ok()) << s << ": " << bars.status();
      ok += bars.ok();
    };
    using namespace boost::asio::experimental::awaitable_operators;
    // Four groups of five in parallel: 20 concurrent fetches on one limiter.
    for (size_t g = 0; g < symbols.size(); g += 5) {
      co_await (one(symbols[g]) && one(symbols[g + 1]) && one(symbols[g + 2]) &&
                one(symbols[g + 3]) && one(symbols[g + 4]));
    }
  }());
  EXPECT_EQ(ok, 20);
  ASSERT_EQ(recording.sent_at.size(), 20u);
  EXPECT_EQ(server_.request_count(), 20u);
  // Token bucket 60/min, burst 5: in any window of length w, at most 5 + w requests.
  for (size_t i = 0; i < recording.sent_at.size(); ++i) {
    for (size_t j = i; j < recording.sent_at.size(); ++j) {
      const double w =
          std::chrono::duration<double>(recording.sent_at[j] - recording.sent_at[i]).count();
      EXPECT_LE(static_cast<double>(j - i + 1), 5 + w + 1e-9) << "requests " << i << ".." << j;
    }
  }
  // 20 requests at 1/s after a burst of 5 take 15 s of virtual time, and no more.
  EXPECT_EQ(recording.sent_at.back() - recording.sent_at.front(), 15s);
}

// The Alpaca provider over HTTPS to a self-signed loopback server: untrusted, then trusted
// through SSL_CERT_FILE (OpenSSL's default trust store; each case runs in its own process).
class AlpacaTlsEndToEndTest : public mptest::AsyncTest {
 protected:
  std::unique_ptr<marketpipe::Provider> MakeAlpaca() {
    ProviderConfig config;
    config.name = "alpaca";
    config.base_url = server_.base_url();
    ProviderContext context;
    context.executor = io().get_executor();
    context.time = &time();
    context.env = [](std::string_view name) -> std::optional<std::string> {
      if (name == "ALPACA_KEY") return std::string(kKey);
      if (name == "ALPACA_SECRET") return std::string(kSecret);
      return std::nullopt;
    };
    context.log = [this](std::string_view line) { log_.emplace_back(line); };
    auto provider = MakeProvider(config, context);
    EXPECT_TRUE(provider.ok()) << provider.status();
    return *std::move(provider);
  }

  absl::StatusOr<std::vector<Bar>> Fetch(marketpipe::Provider& p) {
    auto range = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00Z"),
                                    *ParseRfc3339("2024-01-02T21:00:00Z"));
    return RunAsync(p.FetchBars(*Symbol::Parse("AAPL"), range, Timeframe::kOneMinute));
  }

  net::client_test::TestCertificate cert_ =
      net::client_test::TestCertificate::Generate("localhost", {"IP:127.0.0.1"});
  FakeAlpacaServer server_{FakeAlpacaServer::Options{
      .key_id = kKey,
      .secret_key = kSecret,
      .tls = FakeAlpacaServer::Options::Tls{cert_.Pem(), cert_.KeyPem()}}};
  std::vector<std::string> log_;
};

TEST_F(AlpacaTlsEndToEndTest, UntrustedCertificateFailsAtOnceNamingTheUrl) {
  server_.AddPage(Minutes("AAPL", 0, 2));
  auto provider = MakeAlpaca();
  auto bars = Fetch(*provider);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(bars.status())) << bars.status();
  EXPECT_NE(bars.status().message().find("GET " + server_.base_url() + "/v2/stocks/bars?"),
            std::string::npos)
      << bars.status();
  EXPECT_NE(bars.status().message().find("certificate verification failed"), std::string::npos)
      << bars.status();
  EXPECT_TRUE(log_.empty()) << "no retry of a certificate failure: " << log_[0];
  EXPECT_EQ(time().elapsed(), 0s);
}

TEST_F(AlpacaTlsEndToEndTest, CertificateTrustedThroughSslCertFileServesBars) {
  server_.AddPage(Minutes("AAPL", 0, 2));
  const std::string ca = mptest::CaseTempDir() + "/ca.pem";
  cert_.WritePem(ca);
  ASSERT_EQ(setenv("SSL_CERT_FILE", ca.c_str(), 1), 0);
  auto provider = MakeAlpaca();
  auto bars = Fetch(*provider);
  unsetenv("SSL_CERT_FILE");
  ASSERT_TRUE(bars.ok()) << bars.status();
  EXPECT_EQ(bars->size(), 2u);
}

}  // namespace
}  // namespace marketpipe
