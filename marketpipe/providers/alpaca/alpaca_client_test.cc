#include "marketpipe/providers/alpaca/alpaca_client.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <optional>
#include <string>
#include <vector>

#include "marketpipe/core/time_format.h"
#include "testing/async_test.h"
#include "testing/fakes/mock_transport.h"

namespace marketpipe::alpaca {
namespace {

using boost::asio::awaitable;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using mptest::MockTransport;
using mptest::RequestMatcher;

constexpr char kSecret[] = "sEcReT-very-long-value-9876";
constexpr char kKey[] = "PKTESTKEY1234";

std::string BarJson(const std::string& t, double close = 187.5) {
  return R"({"t":")" + t + R"(","o":187.1,"h":188,"l":186.5,"c":)" + std::to_string(close) +
         R"(,"v":1000,"n":10,"vw":187.3})";
}

std::string Page(const std::vector<std::string>& bars, const std::string& token) {
  std::string body = R"({"bars":{"AAPL":[)";
  for (size_t i = 0; i < bars.size(); ++i) body += (i ? "," : "") + bars[i];
  body +=
      R"(]},"next_page_token":)" + (token.empty() ? std::string("null") : '"' + token + '"') + "}";
  return body;
}

class AlpacaClientTest : public mptest::AsyncTest {
 protected:
  void SetUp() override {
    limiter_ = *RateLimiter::PerMinute(time(), 6000, 100);
    options_.base_url = "http://127.0.0.1:8080";
    options_.key_id = kKey;
    options_.secret = kSecret;
    options_.random = [] { return 0.5; };  // no jitter: exact waits
    options_.log = [this](std::string_view line) { log_.emplace_back(line); };
  }

  std::unique_ptr<AlpacaClient> Client() {
    auto client = AlpacaClient::Create(mock_, time(), *limiter_, options_);
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }

  absl::StatusOr<std::vector<Bar>> Fetch(AlpacaClient& client, const char* symbol = "AAPL") {
    auto range = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00Z"),
                                    *ParseRfc3339("2024-01-02T21:00:00Z"));
    return RunAsync(client.FetchBars(*Symbol::Parse(symbol), range, Timeframe::kOneMinute));
  }

  // Responds with `response` and records the virtual time of each call.
  MockTransport::Responder At(std::vector<TimeSource::Duration>* times, int status,
                              std::string body, std::string retry_after = "") {
    return [this, times, status, body, retry_after](const net::HttpRequest&) {
      times->push_back(time().elapsed());
      net::HttpResponse r;
      r.status = status;
      r.body = body;
      if (!retry_after.empty()) r.headers.Add("Retry-After", retry_after);
      return absl::StatusOr<net::HttpResponse>(r);
    };
  }

  MockTransport mock_{time()};
  std::unique_ptr<RateLimiter> limiter_;
  AlpacaOptions options_;
  std::vector<std::string> log_;
};

TEST_F(AlpacaClientTest, BuildsTheDocumentedRequestWithAuthHeaders) {
  mock_
      .Expect(RequestMatcher()
                  .Method("GET")
                  .Path("/v2/stocks/bars")
                  .Query("symbols", "AAPL")
                  .Query("timeframe", "1Min")
                  .Query("start", "2024-01-02T14:30:00Z")
                  .Query("end", "2024-01-02T21:00:00Z")
                  .Query("limit", "10000")
                  .Query("feed", "iex")
                  .NoQuery("page_token")
                  .Header("APCA-API-KEY-ID", kKey)
                  .Header("APCA-API-SECRET-KEY", kSecret))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:30:00Z")}, ""));
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_TRUE(bars.ok()) << bars.status();
  ASSERT_EQ(bars->size(), 1u);
  EXPECT_EQ((*bars)[0].close.units(), 1875000);
  const auto requests = mock_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].scheme, "http");
  EXPECT_EQ(requests[0].host, "127.0.0.1");
  EXPECT_EQ(requests[0].port, 8080);
}

TEST_F(AlpacaClientTest, FollowsNextPageTokenUntilNullOrEmpty) {
  mock_.Expect(RequestMatcher().NoQuery("page_token"))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:30:00Z")}, "p2/+="));
  mock_.Expect(RequestMatcher().Query("page_token", "p2/+="))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:31:00Z")}, "p3"));
  mock_.Expect(RequestMatcher().Query("page_token", "p3"))
      .RespondStatus(200, R"({"bars":{"AAPL":[)" + BarJson("2024-01-02T14:32:00Z") +
                              R"(]},"next_page_token":""})");
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_TRUE(bars.ok()) << bars.status();
  ASSERT_EQ(bars->size(), 3u);
  EXPECT_EQ((*bars)[2].ts_ns, *ParseRfc3339("2024-01-02T14:32:00Z"));
  EXPECT_NE(mock_.requests()[1].target.find("page_token=p2%2F%2B%3D"), std::string::npos);
}

TEST_F(AlpacaClientTest, AcceptsTheLegacyArrayShape) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(200, R"({"bars":[{"S":"AAPL","t":"2024-01-02T14:30:00Z","o":1,"h":2,)"
                          R"("l":0.5,"c":1.5,"v":10,"n":2,"vw":1.2}],"next_page_token":null})");
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_TRUE(bars.ok()) << bars.status();
  EXPECT_EQ(bars->size(), 1u);
}

TEST_F(AlpacaClientTest, TwoThrottlesThenSuccessMeansThreeCallsAndTwoExactBackoffs) {
  std::vector<TimeSource::Duration> times;
  mock_.Expect(RequestMatcher())
      .RespondWith(At(&times, 429, R"({"message":"slow down"})"))
      .Times(2);
  mock_.Expect(RequestMatcher()).RespondWith(At(&times, 200, Page({}, "")));
  auto client = Client();
  ASSERT_TRUE(Fetch(*client).ok());
  EXPECT_EQ(times, (std::vector<TimeSource::Duration>{0s, 500ms, 1500ms}));
  ASSERT_EQ(log_.size(), 2u);
  EXPECT_NE(log_[0].find("retry 1/5 in 0.500s"), std::string::npos) << log_[0];
  EXPECT_NE(log_[1].find("retry 2/5 in 1.000s"), std::string::npos) << log_[1];
}

TEST_F(AlpacaClientTest, BackoffIsJitteredWithinBoundsAndCapped) {
  options_.random = [] { return 0.0; };  // lowest factor: 1 - jitter
  options_.retry.max_backoff = 2s;
  std::vector<TimeSource::Duration> times;
  mock_.Expect(RequestMatcher()).RespondWith(At(&times, 503, "")).Times(4);
  mock_.Expect(RequestMatcher()).RespondWith(At(&times, 200, Page({}, "")));
  auto client = Client();
  ASSERT_TRUE(Fetch(*client).ok());
  // 0.5 s, 1 s, 2 s, then capped at 2 s; each times 0.8.
  EXPECT_EQ(times, (std::vector<TimeSource::Duration>{0s, 400ms, 1200ms, 2800ms, 4400ms}));
}

TEST_F(AlpacaClientTest, RetryAfterIsHonouredAndNotCountedAsARetry) {
  options_.retry.max_retries = 0;
  std::vector<TimeSource::Duration> times;
  mock_.Expect(RequestMatcher()).RespondWith(At(&times, 429, "", "3")).Times(2);
  mock_.Expect(RequestMatcher()).RespondWith(At(&times, 200, Page({}, "")));
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_TRUE(bars.ok()) << bars.status();
  EXPECT_EQ(times, (std::vector<TimeSource::Duration>{0s, 3s, 6s}));
}

TEST_F(AlpacaClientTest, RetryAfterAsHttpDateIsHonoured) {
  std::vector<TimeSource::Duration> times;
  // The virtual wall clock starts at 2024-01-02T14:30:00Z.
  mock_.Expect(RequestMatcher()).RespondWith(At(&times, 503, "", "Tue, 02 Jan 2024 14:30:07 GMT"));
  mock_.Expect(RequestMatcher()).RespondWith(At(&times, 200, Page({}, "")));
  auto client = Client();
  ASSERT_TRUE(Fetch(*client).ok());
  EXPECT_EQ(times, (std::vector<TimeSource::Duration>{0s, 7s}));
}

TEST_F(AlpacaClientTest, RetryAfterDrainsTheSharedLimiterForConcurrentFetches) {
  std::vector<TimeSource::Duration> times;
  mock_.Expect(RequestMatcher().Query("symbols", "AAPL")).RespondWith(At(&times, 429, "", "10"));
  mock_.Expect(RequestMatcher().Query("symbols", "AAPL"))
      .RespondWith(At(&times, 200, Page({}, "")));
  mock_.Expect(RequestMatcher().Query("symbols", "MSFT"))
      .After(1s)
      .RespondWith(At(&times, 200, R"({"bars":{},"next_page_token":null})"));
  auto client = Client();
  auto range = *TimeRange::Create(0, 60'000'000'000);
  RunAsync([&]() -> awaitable<void> {
    auto [a,
          b] = co_await (client->FetchBars(*Symbol::Parse("AAPL"), range, Timeframe::kOneMinute) &&
                             [&]() -> awaitable<absl::StatusOr<std::vector<Bar>>> {
      co_await time().SleepFor(1s);  // after the 429 arrived
      co_return co_await client->FetchBars(*Symbol::Parse("MSFT"), range, Timeframe::kOneMinute);
    }());
    EXPECT_TRUE(a.ok()) << a.status();
    EXPECT_TRUE(b.ok()) << b.status();
  }());
  ASSERT_EQ(times.size(), 3u);
  EXPECT_EQ(times[0], 0s);
  // Both the retried AAPL request and MSFT's first request wait until the window ends.
  EXPECT_GE(times[1], 10s);
  EXPECT_GE(times[2], 10s);
}

TEST_F(AlpacaClientTest, RetryAfterBeyondTheLimitIsAnError) {
  mock_.Expect(RequestMatcher()).RespondStatus(429, "", {{"Retry-After", "86400"}});
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(bars.status())) << bars.status();
  EXPECT_NE(bars.status().message().find("retry after 86400.000s"), std::string::npos);
}

TEST_F(AlpacaClientTest, MalformedRetryAfterFallsBackToBackoffAndIsLogged) {
  std::vector<TimeSource::Duration> times;
  mock_.Expect(RequestMatcher()).RespondWith(At(&times, 429, "", "soon"));
  mock_.Expect(RequestMatcher()).RespondWith(At(&times, 200, Page({}, "")));
  auto client = Client();
  ASSERT_TRUE(Fetch(*client).ok());
  EXPECT_EQ(times, (std::vector<TimeSource::Duration>{0s, 500ms}));
  EXPECT_NE(log_[0].find("malformed Retry-After \"soon\""), std::string::npos) << log_[0];
}

TEST_F(AlpacaClientTest, GivesUpAfterMaxRetriesWithTheLastError) {
  options_.retry.max_retries = 2;
  mock_.Expect(RequestMatcher()).RespondStatus(502, "bad gateway").Times(3);
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsUnavailable(bars.status())) << bars.status();
  EXPECT_NE(
      bars.status().message().find("giving up after 2 retries; last error: HTTP 502: bad gateway"),
      std::string::npos)
      << bars.status();
  EXPECT_EQ(mock_.call_count(), 3u);
}

TEST_F(AlpacaClientTest, TransportFailuresAreRetried) {
  mock_.Expect(RequestMatcher()).Fail(absl::UnavailableError("connection reset by peer"));
  mock_.Expect(RequestMatcher()).Fail(absl::DataLossError("truncated body"));
  mock_.Expect(RequestMatcher()).RespondStatus(200, Page({BarJson("2024-01-02T14:30:00Z")}, ""));
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_TRUE(bars.ok()) << bars.status();
  EXPECT_EQ(bars->size(), 1u);
  EXPECT_EQ(time().elapsed(), 1500ms);
}

TEST_F(AlpacaClientTest, RequestObserverSeesEveryAttemptWithItsStatusAndLatency) {
  std::vector<std::pair<int, TimeSource::Duration>> seen;
  options_.on_request = [&](const AlpacaRequestOutcome& r) {
    seen.emplace_back(r.status, r.latency);
  };
  mock_.Expect(RequestMatcher()).Fail(absl::UnavailableError("connection reset by peer"));
  mock_.Expect(RequestMatcher()).RespondStatus(429, "").After(40ms);
  mock_.Expect(RequestMatcher())
      .RespondStatus(200, Page({BarJson("2024-01-02T14:30:00Z")}, ""))
      .After(250ms);
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_TRUE(bars.ok()) << bars.status();
  EXPECT_EQ(seen, (std::vector<std::pair<int, TimeSource::Duration>>{
                      {0, 0ms}, {429, 40ms}, {200, 250ms}}));
}

struct ErrorCase {
  int status;
  absl::StatusCode code;
};

class AlpacaClientErrorTest : public AlpacaClientTest,
                              public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(AlpacaClientErrorTest, ClientErrorsAreReportedWithTheServerMessageNeverAsZeroRows) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(GetParam().status, R"({"code":40010001,"message":"denied for reasons"})");
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_EQ(bars.status().code(), GetParam().code) << bars.status();
  EXPECT_NE(bars.status().message().find("HTTP " + std::to_string(GetParam().status) +
                                         ": denied for reasons"),
            std::string::npos)
      << bars.status();
  EXPECT_EQ(mock_.call_count(), 1u) << "client errors must not be retried";
}

INSTANTIATE_TEST_SUITE_P(Statuses, AlpacaClientErrorTest,
                         ::testing::Values(ErrorCase{401, absl::StatusCode::kUnauthenticated},
                                           ErrorCase{403, absl::StatusCode::kPermissionDenied},
                                           ErrorCase{404, absl::StatusCode::kNotFound},
                                           ErrorCase{422, absl::StatusCode::kInvalidArgument},
                                           ErrorCase{409, absl::StatusCode::kFailedPrecondition},
                                           ErrorCase{410, absl::StatusCode::kFailedPrecondition}));

TEST_F(AlpacaClientTest, BaseUrlsAreParsedAsUrls) {
  struct Case {
    std::string url;
    std::string host;
    uint16_t port;
    std::string path;
  };
  for (const Case& c : std::vector<Case>{
           {"https://[::1]:8443/api/", "::1", 8443, "/api/v2/stocks/bars"},
           {"http://[::1]:8080", "::1", 8080, "/v2/stocks/bars"},
           {"http://localhost:9", "localhost", 9, "/v2/stocks/bars"},
           {"http://127.5.6.7", "127.5.6.7", 80, "/v2/stocks/bars"},
           {"https://data.example.com/prefix//", "data.example.com", 443, "/prefix/v2/stocks/bars"},
       }) {
    options_.base_url = c.url;
    mock_.Expect(RequestMatcher().Path(c.path)).RespondStatus(200, Page({}, ""));
    auto client = Client();
    ASSERT_NE(client, nullptr) << c.url;
    ASSERT_TRUE(Fetch(*client).ok()) << c.url;
    const auto sent = mock_.requests().back();
    EXPECT_EQ(sent.host, c.host) << c.url;
    EXPECT_EQ(sent.port, c.port) << c.url;
    EXPECT_EQ(sent.scheme, c.url.substr(0, c.url.find(':'))) << c.url;
  }
}

TEST_F(AlpacaClientTest, CredentialsNeverGoInCleartextBeyondLoopback) {
  for (const char* url : {"http://data.alpaca.markets", "http://10.0.0.1:8080", "http://128.0.0.1",
                          "http://[::2]", "http://localhost.example.com"}) {
    AlpacaOptions o = options_;
    o.base_url = url;
    auto client = AlpacaClient::Create(mock_, time(), *limiter_, o);
    ASSERT_FALSE(client.ok()) << url;
    EXPECT_TRUE(absl::IsInvalidArgument(client.status())) << client.status();
    EXPECT_NE(client.status().message().find(std::string("\"") + url + "\""), std::string::npos)
        << client.status();
    EXPECT_NE(client.status().message().find("cleartext"), std::string::npos) << client.status();
  }
  EXPECT_EQ(mock_.call_count(), 0u);
}

TEST_F(AlpacaClientTest, BaseUrlWithUserInfoQueryOrFragmentIsRefused) {
  for (const auto& [url, expected] : std::vector<std::pair<std::string, std::string>>{
           {"https://user@data.alpaca.markets", "user information"},
           {"https://user:pw@data.alpaca.markets", "user information"},
           {"https://data.alpaca.markets/?x=1", "must not have a query"},
           {"https://data.alpaca.markets/#top", "or fragment"},
           {"https://data.alpaca.markets:0", "bad port \"0\""},
           {"https://h\x01st", "not an absolute URL"},
       }) {
    AlpacaOptions o = options_;
    o.base_url = url;
    auto client = AlpacaClient::Create(mock_, time(), *limiter_, o);
    ASSERT_FALSE(client.ok()) << url;
    EXPECT_NE(client.status().message().find(expected), std::string::npos) << client.status();
    // Control characters in the URL are escaped in the message.
    EXPECT_EQ(client.status().message().find('\x01'), std::string::npos) << client.status();
  }
}

TEST_F(AlpacaClientTest, QueryValuesAreEncodedSoTheServerReadsThemBack) {
  mock_.Expect(RequestMatcher().Query("page_token", "a+b/c= d&e")).RespondStatus(200, Page({}, ""));
  mock_.Expect(RequestMatcher().NoQuery("page_token"))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:30:00Z")}, "a+b/c= d&e"));
  auto client = Client();
  ASSERT_TRUE(Fetch(*client).ok());
  // '+' would read as a space in a query: it must be percent-encoded.
  EXPECT_NE(mock_.requests()[1].target.find("page_token=a%2Bb%2Fc%3D%20d%26e"), std::string::npos)
      << mock_.requests()[1].target;
}

TEST_F(AlpacaClientTest, NonJsonSuccessFailsAtOnceNamingUrlAndContentType) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(200, "<html><body>Please log in to the hotel wifi</body></html>",
                     {{"Content-Type", "text/html; charset=utf-8"}});
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(bars.status())) << bars.status();
  const std::string message(bars.status().message());
  EXPECT_NE(message.find("GET http://127.0.0.1:8080/v2/stocks/bars?"), std::string::npos);
  EXPECT_NE(message.find("Content-Type \"text/html; charset=utf-8\""), std::string::npos);
  EXPECT_NE(message.find("body starts: <html>"), std::string::npos) << message;
  EXPECT_EQ(mock_.call_count(), 1u);
}

TEST_F(AlpacaClientTest, JsonContentTypeWithParametersIsAccepted) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(200, Page({}, ""), {{"Content-Type", "Application/JSON; charset=utf-8"}});
  auto client = Client();
  EXPECT_TRUE(Fetch(*client).ok());
}

TEST_F(AlpacaClientTest, NonJsonBodyLabelledJsonIsDataLossWithAnEscapedExcerpt) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(200, "oops\x1b[31m\r\nnot json", {{"Content-Type", "application/json"}});
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsDataLoss(bars.status())) << bars.status();
  const std::string message(bars.status().message());
  EXPECT_NE(message.find("(application/json, 19 bytes)"), std::string::npos) << message;
  EXPECT_NE(message.find(R"(body starts: oops\x1b[31m\x0d\x0anot json)"), std::string::npos)
      << message;
  EXPECT_EQ(mock_.call_count(), 1u);
}

TEST_F(AlpacaClientTest, CertificateFailureIsNotRetriedAndNamesTheUrl) {
  mock_.Expect(RequestMatcher())
      .Fail(absl::FailedPreconditionError("TLS certificate verification failed: self-signed"));
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(bars.status())) << bars.status();
  EXPECT_NE(bars.status().message().find("GET http://127.0.0.1:8080/v2/stocks/bars?"),
            std::string::npos);
  EXPECT_NE(bars.status().message().find("certificate verification failed"), std::string::npos);
  EXPECT_EQ(mock_.call_count(), 1u);
  EXPECT_EQ(time().elapsed(), 0s);
}

TEST_F(AlpacaClientTest, ServerTextIsEscapedAndCutInErrorsAndLogs) {
  const std::string evil = "line1\nline2\x1b[2J" + std::string(5000, 'x');
  mock_.Expect(RequestMatcher())
      .RespondStatus(503, R"({"message":")" + std::string("bad\\u001b[31m\\nnews ") +
                              std::string(5000, 'y') + R"("})");
  mock_.Expect(RequestMatcher()).RespondStatus(418, evil);
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  ASSERT_EQ(log_.size(), 1u);
  for (const std::string& text : {std::string(bars.status().message()), log_[0]}) {
    EXPECT_LT(text.size(), 1200u) << text.substr(0, 100);
    for (char c : text) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "raw byte " << int(c);
  }
  EXPECT_NE(log_[0].find(R"(bad\x1b[31m\x0anews yyy)"), std::string::npos) << log_[0];
  EXPECT_NE(bars.status().message().find(R"(line1\x0aline2\x1b[2Jxxx)"), std::string::npos);
}

TEST_F(AlpacaClientTest, FetchDeadlineCoversRetriesAndWaits) {
  options_.fetch_timeout = 2s;
  mock_.Expect(RequestMatcher()).RespondStatus(503, "").Repeatedly();
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(bars.status())) << bars.status();
  EXPECT_NE(bars.status().message().find("fetch_timeout 2.000s"), std::string::npos);
  // Backoffs 0.5 s and 1 s fit; the third (2 s) is cut at the deadline.
  EXPECT_EQ(mock_.call_count(), 3u);
  EXPECT_EQ(time().elapsed(), 2s);
}

TEST_F(AlpacaClientTest, FetchDeadlineCutsASlowResponse) {
  options_.fetch_timeout = 5s;
  mock_.Expect(RequestMatcher()).RespondStatus(200, Page({}, "")).After(1h);
  auto client = Client();
  auto bars = Fetch(*client);
  EXPECT_TRUE(absl::IsDeadlineExceeded(bars.status())) << bars.status();
  EXPECT_EQ(time().elapsed(), 5s);
}

TEST_F(AlpacaClientTest, DrainedRateLimitWindowWaitsForItsReset) {
  const int64_t reset = time().UnixNanos() / 1'000'000'000 + 10;
  mock_.Expect(RequestMatcher().NoQuery("page_token"))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:30:00Z")}, "p2"),
                     {{"X-RateLimit-Limit", "6000"},
                      {"X-RateLimit-Remaining", "0"},
                      {"X-RateLimit-Reset", std::to_string(reset)}});
  std::vector<TimeSource::Duration> times;
  mock_.Expect(RequestMatcher().Query("page_token", "p2"))
      .RespondWith(At(&times, 200, Page({BarJson("2024-01-02T14:31:00Z")}, "")));
  auto client = Client();
  ASSERT_TRUE(Fetch(*client).ok());
  ASSERT_EQ(times.size(), 1u);
  // The reset is a whole second: the wait ends at it, between 9 and 10 s from now.
  EXPECT_GT(times[0], 9s);
  EXPECT_LE(times[0], 10s);
  ASSERT_FALSE(log_.empty());
  EXPECT_NE(log_[0].find("rate-limit window drained"), std::string::npos) << log_[0];
}

TEST_F(AlpacaClientTest, WindowWithRoomLeftDoesNotWait) {
  const int64_t reset = time().UnixNanos() / 1'000'000'000 + 10;
  mock_.Expect(RequestMatcher().NoQuery("page_token"))
      .RespondStatus(
          200, Page({BarJson("2024-01-02T14:30:00Z")}, "p2"),
          {{"X-RateLimit-Remaining", "5"}, {"X-RateLimit-Reset", std::to_string(reset)}});
  mock_.Expect(RequestMatcher().Query("page_token", "p2")).RespondStatus(200, Page({}, ""));
  auto client = Client();
  ASSERT_TRUE(Fetch(*client).ok());
  EXPECT_EQ(time().elapsed(), 0s);
}

TEST_F(AlpacaClientTest, RateLimitHeaderSetsThePlansRealRate) {
  limiter_ = *RateLimiter::PerMinute(time(), 60, 1);  // one request per second...
  std::vector<TimeSource::Duration> times;
  // ...until the server says the plan allows 6 per minute: one per 10 s.
  mock_.Expect(RequestMatcher().NoQuery("page_token")).RespondWith([&](const net::HttpRequest&) {
    times.push_back(time().elapsed());
    net::HttpResponse r;
    r.status = 200;
    r.body = Page({BarJson("2024-01-02T14:30:00Z")}, "p2");
    r.headers.Add("X-RateLimit-Limit", "6");
    return absl::StatusOr<net::HttpResponse>(r);
  });
  mock_.Expect(RequestMatcher().Query("page_token", "p2"))
      .RespondWith(At(&times, 200, Page({BarJson("2024-01-02T14:31:00Z")}, "p3")));
  mock_.Expect(RequestMatcher().Query("page_token", "p3"))
      .RespondWith(At(&times, 200, Page({BarJson("2024-01-02T14:32:00Z")}, "")));
  auto client = Client();
  ASSERT_TRUE(Fetch(*client).ok());
  EXPECT_EQ(times, (std::vector<TimeSource::Duration>{0s, 10s, 20s}));
}

TEST_F(AlpacaClientTest, RateLimitHeadersCanBeIgnored) {
  options_.use_rate_limit_headers = false;
  const int64_t reset = time().UnixNanos() / 1'000'000'000 + 10;
  mock_.Expect(RequestMatcher().NoQuery("page_token"))
      .RespondStatus(
          200, Page({BarJson("2024-01-02T14:30:00Z")}, "p2"),
          {{"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", std::to_string(reset)}});
  mock_.Expect(RequestMatcher().Query("page_token", "p2")).RespondStatus(200, Page({}, ""));
  auto client = Client();
  ASSERT_TRUE(Fetch(*client).ok());
  EXPECT_EQ(time().elapsed(), 0s);
}

TEST_F(AlpacaClientTest, DestroyingTheClientMidFetchLetsTheFetchFinishSafely) {
  mock_.Expect(RequestMatcher().NoQuery("page_token"))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:30:00Z")}, "p2"))
      .After(1s);
  mock_.Expect(RequestMatcher().Query("page_token", "p2")).RespondStatus(500, "").After(1s);
  mock_.Expect(RequestMatcher().Query("page_token", "p2")).RespondStatus(200, Page({}, ""));
  auto client = Client();
  auto range = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00Z"),
                                  *ParseRfc3339("2024-01-02T21:00:00Z"));
  auto fetch = client->FetchBars(*Symbol::Parse("AAPL"), range, Timeframe::kOneMinute);
  std::optional<absl::StatusOr<std::vector<Bar>>> result;
  boost::asio::co_spawn(io(), std::move(fetch),
                        [&](std::exception_ptr e, absl::StatusOr<std::vector<Bar>> bars) {
                          EXPECT_FALSE(e);
                          result = std::move(bars);
                        });
  Poll();
  client.reset();  // mid-request: options, limiter handle and transport handle must stay valid
  RunAsync(time().SleepFor(10s));
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status();
  EXPECT_EQ((*result)->size(), 1u);
  EXPECT_EQ(log_.size(), 1u);  // the retry was logged through the destroyed client's options
}

TEST_F(AlpacaClientTest, SecretNeverAppearsInErrorsOrLogs) {
  const std::string echo = std::string(R"({"message":"bad secret )") + kSecret + R"("})";
  mock_.Expect(RequestMatcher()).RespondStatus(500, echo);
  mock_.Expect(RequestMatcher()).RespondStatus(403, echo);
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  const std::string message(bars.status().message());
  EXPECT_EQ(message.find(kSecret), std::string::npos) << message;
  EXPECT_NE(message.find("****9876"), std::string::npos) << message;
  for (const auto& line : log_) {
    EXPECT_EQ(line.find(kSecret), std::string::npos) << line;
    EXPECT_NE(line.find("****9876"), std::string::npos) << line;
  }
}

TEST_F(AlpacaClientTest, MalformedPageIsDataLossNamingUrlPageFieldAndBody) {
  mock_.Expect(RequestMatcher()).RespondStatus(200, Page({BarJson("2024-01-02T14:30:00Z")}, "t2"));
  mock_.Expect(RequestMatcher())
      .RespondStatus(200, R"({"bars":{"AAPL":[{"t":"2024-01-02T14:31:00Z"}]}})");
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsDataLoss(bars.status())) << bars.status();
  const std::string message(bars.status().message());
  for (const char* part :
       {"GET http://127.0.0.1:8080/v2/stocks/bars?symbols=AAPL&", "(page 1 (page_token=t2))",
        "malformed HTTP 200 body (no Content-Type, 48 bytes)", "bars[\"AAPL\"][0].o: missing",
        "body starts: {\"bars\""}) {
    EXPECT_NE(message.find(part), std::string::npos) << part << " in " << message;
  }
}

TEST_F(AlpacaClientTest, RepeatedPageTokenIsDetectedNotLoopedForever) {
  mock_.Expect(RequestMatcher().NoQuery("page_token"))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:30:00Z")}, "same"));
  mock_.Expect(RequestMatcher().Query("page_token", "same"))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:31:00Z")}, "same"));
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.status().message().find("pagination loop"), std::string::npos);
}

TEST_F(AlpacaClientTest, PageTokenCycleIsDetectedNotLoopedForever) {
  mock_.Expect(RequestMatcher().NoQuery("page_token"))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:30:00Z")}, "a"));
  mock_.Expect(RequestMatcher().Query("page_token", "a"))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:31:00Z")}, "b"));
  mock_.Expect(RequestMatcher().Query("page_token", "b"))
      .RespondStatus(200, Page({BarJson("2024-01-02T14:32:00Z")}, "a"));
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.status().message().find("repeated next_page_token \"a\""), std::string::npos)
      << bars.status();
}

TEST_F(AlpacaClientTest, AbsurdRetryAfterIsTheLimitErrorNotMalformed) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(429, "", {{"Retry-After", "99999999999999999999999"}});
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(bars.status())) << bars.status();
}

TEST_F(AlpacaClientTest, ServerMessageIsReadAsJsonIncludingEscapes) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(422, R"({"message":"invalid \"feed\": use iex or sip","code":42210000})");
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_NE(bars.status().message().find(R"(HTTP 422: invalid "feed": use iex or sip)"),
            std::string::npos)
      << bars.status();
}

TEST_F(AlpacaClientTest, SecretStraddlingTheMessageCutIsStillMasked) {
  // The server's message is cut for the error text; the cut must not expose a secret prefix.
  const std::string body = std::string(190, 'x') + kSecret + std::string(50, 'y');
  mock_.Expect(RequestMatcher()).RespondStatus(403, body);
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  const std::string message(bars.status().message());
  EXPECT_EQ(message.find(std::string(kSecret).substr(0, 8)), std::string::npos) << message;
}

TEST_F(AlpacaClientTest, SecretStraddlingTheBodyExcerptCutIsStillMasked) {
  // A 200 that is not JSON, and one that is malformed JSON: both errors quote the start of the
  // body, and the 120-byte cut must not expose a prefix of a secret the server echoed there.
  const std::string echo = std::string(110, 'x') + kSecret + std::string(50, 'y');
  mock_.Expect(RequestMatcher()).RespondStatus(200, echo, {{"Content-Type", "text/html"}});
  mock_.Expect(RequestMatcher()).RespondStatus(200, echo, {{"Content-Type", "application/json"}});
  auto client = Client();
  for (const char* expected : {"not application/json", "malformed HTTP 200 body"}) {
    auto bars = Fetch(*client);
    ASSERT_FALSE(bars.ok());
    const std::string message(bars.status().message());
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_NE(message.find("xxx****9876"), std::string::npos) << message;
    EXPECT_EQ(message.find(std::string(kSecret).substr(0, 8)), std::string::npos) << message;
  }
}

TEST_F(AlpacaClientTest, BarsOfAnotherSymbolAreRejected) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(200, R"({"bars":{"MSFT":[)" + BarJson("2024-01-02T14:30:00Z") + "]}}");
  auto client = Client();
  auto bars = Fetch(*client);
  ASSERT_FALSE(bars.ok());
  EXPECT_TRUE(absl::IsDataLoss(bars.status())) << bars.status();
  EXPECT_NE(bars.status().message().find("bar for MSFT, a symbol not requested"), std::string::npos)
      << bars.status();
}

TEST_F(AlpacaClientTest, BadOptionsAreClearErrors) {
  struct Case {
    std::function<void(AlpacaOptions&)> edit;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](AlpacaOptions& o) { o.feed = "otc"; }, "feed must be \"iex\" or \"sip\", got \"otc\""},
      {[](AlpacaOptions& o) { o.secret.clear(); }, "ALPACA_SECRET"},
      {[](AlpacaOptions& o) { o.base_url = "ftp://x"; }, "scheme must be http or https"},
      {[](AlpacaOptions& o) { o.base_url = "data.alpaca.markets"; }, "has no scheme"},
      {[](AlpacaOptions& o) { o.base_url = "http://host:99999"; }, "bad port \"99999\""},
      {[](AlpacaOptions& o) { o.base_url = "https://"; }, "has no host"},
      {[](AlpacaOptions& o) { o.page_limit = 0; }, "page limit must be in 1..10000, got 0"},
  };
  for (const auto& c : cases) {
    AlpacaOptions o = options_;
    c.edit(o);
    auto client = AlpacaClient::Create(mock_, time(), *limiter_, o);
    ASSERT_FALSE(client.ok()) << c.expected;
    EXPECT_NE(client.status().message().find(c.expected), std::string::npos) << client.status();
  }
}

// {"bars":{"A":[...],"B":[...]},"next_page_token":...} with keys in the given order.
std::string MultiPage(const std::vector<std::pair<std::string, std::vector<std::string>>>& bars,
                      const std::string& token) {
  std::string body = R"({"bars":{)";
  for (size_t i = 0; i < bars.size(); ++i) {
    body += (i ? ",\"" : "\"") + bars[i].first + "\":[";
    for (size_t j = 0; j < bars[i].second.size(); ++j) body += (j ? "," : "") + bars[i].second[j];
    body += "]";
  }
  return body + R"(},"next_page_token":)" +
         (token.empty() ? std::string("null") : '"' + token + '"') + "}";
}

struct Collected {
  absl::Status status;
  std::vector<FetchPage> pages;
  std::vector<std::string> Completed(size_t page) const {
    std::vector<std::string> out;
    for (const Symbol& s : pages[page].completed) out.push_back(s.value());
    return out;
  }
};

class AlpacaFetchTest : public AlpacaClientTest {
 protected:
  FetchRequest Request(std::vector<std::string> symbols, const char* start = "2024-01-02T14:30:00Z",
                       const char* end = "2024-01-02T21:00:00Z") {
    FetchRequest r;
    for (const auto& s : symbols) r.symbols.push_back(*Symbol::Parse(s));
    r.range = *TimeRange::Create(*ParseRfc3339(start), *ParseRfc3339(end));
    r.timeframe = Timeframe::kOneMinute;
    return r;
  }

  Collected Run(AlpacaClient& client, FetchRequest request) {
    Collected c;
    c.status =
        RunAsync(client.Fetch(std::move(request), [&c](FetchPage p) -> awaitable<absl::Status> {
          c.pages.push_back(std::move(p));
          co_return absl::OkStatus();
        }));
    return c;
  }
};

TEST_F(AlpacaFetchTest, OneRequestNamesEverySymbolSortedAndPagesReportWhatTheyComplete) {
  mock_.Expect(RequestMatcher().Query("symbols", "AAPL,IBM,MSFT,TSLA").NoQuery("page_token"))
      .RespondStatus(
          200,
          MultiPage({{"AAPL", {BarJson("2024-01-02T14:30:00Z"), BarJson("2024-01-02T14:31:00Z")}},
                     {"MSFT", {BarJson("2024-01-02T14:30:00Z")}}},
                    "next"));
  mock_.Expect(RequestMatcher().Query("symbols", "AAPL,IBM,MSFT,TSLA").Query("page_token", "next"))
      .RespondStatus(200, MultiPage({{"MSFT", {BarJson("2024-01-02T14:31:00Z")}}}, ""));
  auto client = Client();
  const Collected c = Run(*client, Request({"TSLA", "MSFT", "AAPL", "IBM"}));
  ASSERT_TRUE(c.status.ok()) << c.status;
  ASSERT_EQ(c.pages.size(), 2u);
  ASSERT_EQ(c.pages[0].bars.size(), 3u);
  EXPECT_EQ(c.pages[0].bars[2].symbol.value(), "MSFT");
  // AAPL stopped when MSFT began; IBM, with no bars, lies between them. MSFT and TSLA end with
  // the token.
  EXPECT_EQ(c.Completed(0), (std::vector<std::string>{"AAPL", "IBM"}));
  EXPECT_EQ(c.Completed(1), (std::vector<std::string>{"MSFT", "TSLA"}));
  EXPECT_EQ(c.pages[0].index, 0);
  EXPECT_EQ(c.pages[1].index, 1);
  EXPECT_EQ(c.pages[1].feed, "iex");
  EXPECT_EQ(c.pages[1].adjustment, "raw");
}

TEST_F(AlpacaFetchTest, PageKeysOutOfOrderAreSortedBySymbolKeepingTimeOrder) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(
          200,
          MultiPage({{"MSFT", {BarJson("2024-01-02T14:31:00Z"), BarJson("2024-01-02T14:30:00Z")}},
                     {"AAPL", {BarJson("2024-01-02T14:30:00Z")}}},
                    ""));
  auto client = Client();
  const Collected c = Run(*client, Request({"AAPL", "MSFT"}));
  ASSERT_TRUE(c.status.ok()) << c.status;
  ASSERT_EQ(c.pages[0].bars.size(), 3u);
  EXPECT_EQ(c.pages[0].bars[0].symbol.value(), "AAPL");
  // MSFT's bars stay as sent (validation reports their order).
  EXPECT_EQ(FormatRfc3339(c.pages[0].bars[1].ts_ns), "2024-01-02T14:31:00Z");
}

TEST_F(AlpacaFetchTest, RangeEndingExactlyOnABarDropsThatBar) {
  // Alpaca's end is inclusive: the server sends the 15:00 bar; [14:00, 15:00) must not hold it.
  mock_.Expect(RequestMatcher().Query("end", "2024-01-02T15:00:00Z"))
      .RespondStatus(200,
                     MultiPage({{"AAPL",
                                 {BarJson("2024-01-02T14:58:00Z"), BarJson("2024-01-02T14:59:00Z"),
                                  BarJson("2024-01-02T15:00:00Z")}}},
                               ""));
  auto client = Client();
  const Collected c =
      Run(*client, Request({"AAPL"}, "2024-01-02T14:00:00Z", "2024-01-02T15:00:00Z"));
  ASSERT_TRUE(c.status.ok()) << c.status;
  ASSERT_EQ(c.pages[0].bars.size(), 2u);
  EXPECT_EQ(FormatRfc3339(c.pages[0].bars.back().ts_ns), "2024-01-02T14:59:00Z");
}

TEST_F(AlpacaFetchTest, BarsBeforeTheStartAreDroppedToo) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(
          200,
          MultiPage({{"AAPL", {BarJson("2024-01-02T14:29:00Z"), BarJson("2024-01-02T14:30:00Z")}}},
                    ""));
  auto client = Client();
  const Collected c = Run(*client, Request({"AAPL"}));
  ASSERT_TRUE(c.status.ok()) << c.status;
  ASSERT_EQ(c.pages[0].bars.size(), 1u);
  EXPECT_EQ(FormatRfc3339(c.pages[0].bars[0].ts_ns), "2024-01-02T14:30:00Z");
}

TEST_F(AlpacaFetchTest, AdjustmentAndFeedTravelInTheQueryAndInEveryPage) {
  mock_.Expect(RequestMatcher().Query("adjustment", "split").Query("feed", "sip"))
      .RespondStatus(200, MultiPage({}, ""));
  auto client = Client();
  FetchRequest request = Request({"AAPL"});
  request.adjustment = "split";
  request.feed = "sip";
  const Collected c = Run(*client, request);
  ASSERT_TRUE(c.status.ok()) << c.status;
  ASSERT_EQ(c.pages.size(), 1u);
  EXPECT_EQ(c.pages[0].feed, "sip");
  EXPECT_EQ(c.pages[0].adjustment, "split");
  EXPECT_EQ(c.Completed(0), std::vector<std::string>{"AAPL"});
}

TEST_F(AlpacaFetchTest, DefaultsAreRawAndTheConfiguredFeed) {
  mock_.Expect(RequestMatcher().Query("adjustment", "raw").Query("feed", "iex"))
      .RespondStatus(200, MultiPage({}, ""));
  auto client = Client();
  EXPECT_TRUE(Run(*client, Request({"AAPL"})).status.ok());
}

TEST_F(AlpacaFetchTest, BadRequestsAreInvalidArgumentBeforeAnyRequest) {
  auto client = Client();
  FetchRequest otc = Request({"AAPL"});
  otc.feed = "otc";
  EXPECT_TRUE(absl::IsInvalidArgument(Run(*client, otc).status));
  FetchRequest adjusted = Request({"AAPL"});
  adjusted.adjustment = "bogus";
  EXPECT_TRUE(absl::IsInvalidArgument(Run(*client, adjusted).status));
  EXPECT_TRUE(absl::IsInvalidArgument(Run(*client, Request({"AAPL", "AAPL"})).status));
  EXPECT_TRUE(absl::IsInvalidArgument(Run(*client, Request({})).status));
  EXPECT_TRUE(mock_.requests().empty());
}

TEST_F(AlpacaFetchTest, BackwardPageIsDataLossNamingThePage) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(200, MultiPage({{"AAPL", {BarJson("2024-01-02T14:31:00Z")}}}, "t1"));
  mock_.Expect(RequestMatcher().Query("page_token", "t1"))
      .RespondStatus(200, MultiPage({{"AAPL", {BarJson("2024-01-02T14:31:00Z")}}}, "t2"));
  auto client = Client();
  const Collected c = Run(*client, Request({"AAPL"}));
  EXPECT_TRUE(absl::IsDataLoss(c.status)) << c.status;
  EXPECT_NE(c.status.message().find("(page 1 (page_token=t1)): AAPL bar at 2024-01-02T14:31:00Z is "
                                    "not after the previous page's last bar"),
            std::string::npos)
      << c.status;
  EXPECT_EQ(c.pages.size(), 1u);
}

TEST_F(AlpacaFetchTest, EmptyPageWithANextTokenIsDataLoss) {
  mock_.Expect(RequestMatcher()).RespondStatus(200, MultiPage({}, "fresh1"));
  auto client = Client();
  const Collected c = Run(*client, Request({"AAPL"}));
  EXPECT_TRUE(absl::IsDataLoss(c.status)) << c.status;
  EXPECT_NE(c.status.message().find("(page 0): empty page with a next_page_token"),
            std::string::npos)
      << c.status;
}

TEST_F(AlpacaFetchTest, SymbolComingBackAfterALaterOneIsDataLoss) {
  mock_.Expect(RequestMatcher())
      .RespondStatus(200, MultiPage({{"AAPL", {BarJson("2024-01-02T14:30:00Z")}},
                                     {"MSFT", {BarJson("2024-01-02T14:30:00Z")}}},
                                    "t1"));
  mock_.Expect(RequestMatcher())
      .RespondStatus(200, MultiPage({{"AAPL", {BarJson("2024-01-02T14:31:00Z")}}}, ""));
  auto client = Client();
  const Collected c = Run(*client, Request({"AAPL", "MSFT"}));
  EXPECT_TRUE(absl::IsDataLoss(c.status)) << c.status;
  EXPECT_NE(c.status.message().find("bars for AAPL after a page that held later symbols"),
            std::string::npos)
      << c.status;
}

TEST_F(AlpacaFetchTest, DefaultBatchKeepsTheLongestTargetFarBelow414) {
  auto client = Client();
  const int n = client->max_symbols_per_request();
  EXPECT_GE(n, 100);
  EXPECT_LE(n, 10000);
  std::vector<Symbol> symbols;
  for (int i = 0; i < n; ++i) {
    symbols.push_back(*Symbol::Parse("ABCDEFG" + std::to_string(100 + i).substr(0, 3)));
  }
  const auto widest = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00.123456789Z"),
                                         *ParseRfc3339("2024-01-02T21:00:00.987654321Z"));
  const std::string target = client->PageTarget(symbols, widest, Timeframe::kOneMinute, "iex",
                                                "dividend", std::string(200, 'T'));
  EXPECT_LE(target.size(), kMaxTargetLength);
  // One symbol more is refused before any request.
  FetchRequest request = Request({});
  request.symbols = symbols;
  request.symbols.push_back(*Symbol::Parse("ZZZZ"));
  EXPECT_TRUE(absl::IsInvalidArgument(Run(*client, request).status));
}

TEST_F(AlpacaFetchTest, BatchSizeIsConfigurable) {
  options_.max_symbols_per_request = 2;
  auto client = Client();
  EXPECT_EQ(client->max_symbols_per_request(), 2);
  EXPECT_TRUE(absl::IsInvalidArgument(Run(*client, Request({"A", "B", "C"})).status));
}

TEST_F(AlpacaFetchTest, CancelledDuringBackoffIsCancelledStatus) {
  mock_.Expect(RequestMatcher()).RespondStatus(503, R"({"message":"busy"})");
  auto client = Client();
  std::optional<absl::Status> result;
  const FetchRequest request = Request({"AAPL"});
  RunAsync([&]() -> awaitable<void> {
    auto fetch = [&]() -> awaitable<void> {
      result = co_await client->Fetch(
          request, [](FetchPage) -> awaitable<absl::Status> { co_return absl::OkStatus(); });
    };
    co_await (fetch() || time().SleepFor(100ms));  // the first backoff is 500 ms
  }());
  ASSERT_TRUE(result.has_value()) << "Fetch threw instead of returning CANCELLED";
  EXPECT_TRUE(absl::IsCancelled(*result)) << *result;
}

TEST(MaskSecretsTest, MasksEveryOccurrenceToTheLastFourCharacters) {
  EXPECT_EQ(MaskSecrets("a abcdefghij b abcdefghij", "abcdefghij", ""), "a ****ghij b ****ghij");
  EXPECT_EQ(MaskSecrets("key PK12345678 secret s", "", "PK12345678"), "key ****5678 secret s");
  // Short values would be mostly revealed by their last 4 characters: hidden entirely.
  EXPECT_EQ(MaskSecrets("key K1234567 secret s", "", "K1234567"), "key **** secret s");
  EXPECT_EQ(MaskSecrets("xyz", "xy", ""), "****z");
}

}  // namespace
}  // namespace marketpipe::alpaca
