#include "testing/fakes/mock_transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "testing/async_test.h"

namespace mptest {
namespace {

using boost::asio::awaitable;
using marketpipe::net::HttpRequest;
using marketpipe::net::HttpResponse;
using std::chrono::milliseconds;

constexpr char kSecret[] = "s3cr3t-never-printed";

HttpRequest BarsRequest(std::string query = "symbols=AAPL&timeframe=1Min") {
  HttpRequest r;
  r.method = "GET";
  r.scheme = "https";
  r.host = "data.alpaca.markets";
  r.port = 443;
  r.target = "/v2/stocks/bars?" + query;
  r.headers.Add("APCA-API-KEY-ID", "key-id");
  r.headers.Add("APCA-API-SECRET-KEY", kSecret);
  return r;
}

RequestMatcher Bars() { return std::move(RequestMatcher().Method("GET").Path("/v2/stocks/bars")); }

class MockTransportTest : public AsyncTest {
 protected:
  absl::StatusOr<HttpResponse> Send(MockTransport& mock, HttpRequest request) {
    return RunAsync(mock.Send(std::move(request)));
  }
};

TEST_F(MockTransportTest, CompletionIsPostedNeverInline) {
  MockTransport mock(time());
  mock.Expect(Bars()).RespondStatus(200, "{}");
  mock.Expect(Bars()).Fail(absl::UnavailableError("connection reset"));
  mock.Expect(Bars()).RespondStatus(200, "{}").After(milliseconds(0));

  for (int i = 0; i < 3; ++i) {
    RunAsync([&]() -> awaitable<void> {
      bool queued_earlier_ran = false;
      boost::asio::post(io(), [&] { queued_earlier_ran = true; });
      co_await mock.Send(BarsRequest());
      // A handler queued before the send ran first: the completion went through the queue.
      EXPECT_TRUE(queued_earlier_ran) << "send #" << i << " completed inline";
    }());
  }
}

TEST_F(MockTransportTest, UnexpectedRequestCompletionIsPosted) {
  MockTransport mock(time());
  EXPECT_NONFATAL_FAILURE(RunAsync([&]() -> awaitable<void> {
                            bool queued_earlier_ran = false;
                            boost::asio::post(io(), [&] { queued_earlier_ran = true; });
                            co_await mock.Send(BarsRequest());
                            EXPECT_TRUE(queued_earlier_ran);
                          }()),
                          "unexpected request");
}

TEST_F(MockTransportTest, RespondsWithScriptedResponse) {
  MockTransport mock(time());
  mock.Expect(Bars()).RespondStatus(429, R"({"message":"too many requests."})",
                                    {{"Retry-After", "3"}});

  const absl::StatusOr<HttpResponse> response = Send(mock, BarsRequest());

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 429);
  EXPECT_EQ(response->reason, "Too Many Requests");
  EXPECT_EQ(response->headers.Get("retry-after"), "3");
  EXPECT_EQ(response->body, R"({"message":"too many requests."})");
}

TEST_F(MockTransportTest, FailReturnsTheStatus) {
  MockTransport mock(time());
  mock.Expect(Bars()).Fail(absl::DataLossError("truncated body"));

  const absl::StatusOr<HttpResponse> response = Send(mock, BarsRequest());

  EXPECT_EQ(response.status(), absl::DataLossError("truncated body"));
}

TEST_F(MockTransportTest, FirstMatchingExpectationWinsInOrder) {
  MockTransport mock(time());
  mock.Expect(RequestMatcher().Query("page_token", "p2")).RespondStatus(202);
  mock.Expect(Bars()).RespondStatus(201);
  mock.Expect(Bars()).RespondStatus(200);

  // The page_token expectation comes first but does not match; the first /v2/stocks/bars one
  // does.
  EXPECT_EQ(Send(mock, BarsRequest())->status, 201);
  // Now exhausted: the next matching one takes over.
  EXPECT_EQ(Send(mock, BarsRequest())->status, 200);
  // Query values match decoded.
  EXPECT_EQ(Send(mock, BarsRequest("symbols=AAPL&page_token=p%32"))->status, 202);
}

TEST_F(MockTransportTest, TimesUsesAnExpectationNTimesThenFallsThrough) {
  MockTransport mock(time());
  auto& throttled = mock.Expect(Bars()).RespondStatus(429).Times(2);
  auto& ok = mock.Expect(Bars()).RespondStatus(200);

  EXPECT_EQ(Send(mock, BarsRequest())->status, 429);
  EXPECT_EQ(Send(mock, BarsRequest())->status, 429);
  EXPECT_EQ(Send(mock, BarsRequest())->status, 200);

  EXPECT_EQ(throttled.call_count(), 2);
  EXPECT_TRUE(throttled.satisfied());
  EXPECT_EQ(ok.call_count(), 1);
  EXPECT_EQ(mock.call_count(), 3u);
}

TEST_F(MockTransportTest, RepeatedlyServesAnyNumberAndIsNeverUnsatisfied) {
  MockTransport mock(time());
  mock.Expect(Bars()).RespondStatus(503).Repeatedly();
  mock.Expect(RequestMatcher().Path("/never")).Repeatedly();

  for (int i = 0; i < 5; ++i) EXPECT_EQ(Send(mock, BarsRequest())->status, 503);
  EXPECT_TRUE(mock.VerifyAndClear());
}

TEST_F(MockTransportTest, LatencyAdvancesVirtualClockByExactlyThatMuch) {
  MockTransport mock(time());
  mock.Expect(Bars()).RespondStatus(200).After(milliseconds(250));
  const auto start = time().Now();

  const absl::StatusOr<HttpResponse> response = Send(mock, BarsRequest());

  ASSERT_TRUE(response.ok());
  EXPECT_EQ(time().Now() - start, milliseconds(250));
}

TEST_F(MockTransportTest, ConcurrentSendsOverlapTheirLatencies) {
  using namespace boost::asio::experimental::awaitable_operators;
  MockTransport mock(time());
  mock.Expect(RequestMatcher().Query("symbols", "SLOW"))
      .RespondStatus(200)
      .After(milliseconds(300));
  mock.Expect(RequestMatcher().Query("symbols", "FAST"))
      .RespondStatus(201)
      .After(milliseconds(100));
  const auto start = time().Now();

  auto [slow, fast] = RunAsync(
      [&]() -> awaitable<std::tuple<absl::StatusOr<HttpResponse>, absl::StatusOr<HttpResponse>>> {
        co_return co_await (mock.Send(BarsRequest("symbols=SLOW")) &&
                            mock.Send(BarsRequest("symbols=FAST")));
      }());

  EXPECT_EQ(slow->status, 200);
  EXPECT_EQ(fast->status, 201);
  EXPECT_EQ(time().Now() - start, milliseconds(300));
}

TEST_F(MockTransportTest, UnexpectedRequestFailsTheCaseAndReturnsAnError) {
  MockTransport mock(time());
  mock.Expect(RequestMatcher().Path("/v2/stocks/trades")).Repeatedly();
  absl::StatusOr<HttpResponse> response;

  EXPECT_NONFATAL_FAILURE(response = Send(mock, BarsRequest()),
                          "unexpected request GET "
                          "https://data.alpaca.markets/v2/stocks/bars?symbols=AAPL&timeframe=1Min");

  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MockTransportTest, UnexpectedRequestMessageNeverShowsHeaderValues) {
  MockTransport mock(time());
  mock.Expect(RequestMatcher().Header("APCA-API-SECRET-KEY", "other-secret")).Times(0);
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    Send(mock, BarsRequest()).IgnoreError();
  }

  ASSERT_EQ(failures.size(), 1);
  const std::string message = failures.GetTestPartResult(0).message();
  EXPECT_THAT(message, ::testing::HasSubstr("GET https://data.alpaca.markets/v2/stocks/bars"));
  EXPECT_THAT(message, ::testing::HasSubstr("header[APCA-API-SECRET-KEY]"));
  EXPECT_THAT(message, ::testing::Not(::testing::HasSubstr(kSecret)));
  EXPECT_THAT(message, ::testing::Not(::testing::HasSubstr("other-secret")));
}

TEST_F(MockTransportTest, ExhaustedExpectationMakesTheNextRequestUnexpected) {
  MockTransport mock(time());
  mock.Expect(Bars()).Times(1);

  EXPECT_TRUE(Send(mock, BarsRequest()).ok());
  EXPECT_NONFATAL_FAILURE(Send(mock, BarsRequest()).IgnoreError(), "used 1 of 1 time(s)");
}

TEST_F(MockTransportTest, VerifyAndClearReportsUnsatisfiedTimes) {
  MockTransport mock(time());
  mock.Expect(Bars()).RespondStatus(429).Times(2);
  Send(mock, BarsRequest()).IgnoreError();

  bool verified = true;
  EXPECT_NONFATAL_FAILURE(verified = mock.VerifyAndClear(),
                          "unsatisfied expectation #0 [method=GET path=/v2/stocks/bars]: "
                          "expected 2 call(s), got 1");
  EXPECT_FALSE(verified);
  // Cleared: verifying again finds nothing.
  EXPECT_TRUE(mock.VerifyAndClear());
}

TEST_F(MockTransportTest, DestructorReportsUnsatisfiedExpectation) {
  EXPECT_NONFATAL_FAILURE(
      {
        MockTransport mock(time());
        mock.Expect(RequestMatcher().Path("/v2/stocks/bars").Query("page_token", "abc"));
      },
      "expected 1 call(s), got 0");
}

TEST_F(MockTransportTest, RecordsEveryRequestIncludingUnexpectedOnes) {
  MockTransport mock(time());
  mock.Expect(Bars());
  Send(mock, BarsRequest("symbols=AAPL")).IgnoreError();
  EXPECT_NONFATAL_FAILURE(
      {
        HttpRequest post = BarsRequest("symbols=MSFT");
        post.method = "POST";
        Send(mock, post).IgnoreError();
      },
      "unexpected request POST");

  const std::vector<HttpRequest> requests = mock.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(mock.call_count(), 2u);
  EXPECT_EQ(requests[0].target, "/v2/stocks/bars?symbols=AAPL");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].headers.Get("APCA-API-KEY-ID"), "key-id");
}

TEST_F(MockTransportTest, MatcherChecksHeadersAndQueryPresence) {
  MockTransport mock(time());
  mock.Expect(RequestMatcher().Header("apca-api-key-id", "key-id").NoQuery("page_token"))
      .RespondStatus(200);
  mock.Expect(RequestMatcher().HasHeader("APCA-API-SECRET-KEY").HasQuery("page_token"))
      .RespondStatus(206);
  mock.Expect([](const HttpRequest& r) { return r.method == "DELETE"; }, "a DELETE")
      .RespondStatus(204);

  EXPECT_EQ(Send(mock, BarsRequest("symbols=AAPL&page_token=x"))->status, 206);
  EXPECT_EQ(Send(mock, BarsRequest("symbols=AAPL"))->status, 200);
  HttpRequest del = BarsRequest();
  del.method = "DELETE";
  EXPECT_EQ(Send(mock, del)->status, 204);
}

TEST_F(MockTransportTest, RespondWithComputesTheResponseFromTheRequest) {
  MockTransport mock(time());
  mock.Expect(Bars())
      .RespondWith([](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
        HttpResponse response;
        response.status = 200;
        response.body = r.target;
        return response;
      })
      .Times(2);

  EXPECT_EQ(Send(mock, BarsRequest("symbols=A"))->body, "/v2/stocks/bars?symbols=A");
  EXPECT_EQ(Send(mock, BarsRequest("symbols=B"))->body, "/v2/stocks/bars?symbols=B");
}

TEST_F(MockTransportTest, AfterWithoutTimeSourceFails) {
  MockTransport mock;
  EXPECT_NONFATAL_FAILURE(mock.Expect(Bars()).After(milliseconds(1)).Repeatedly(),
                          "After() needs a TimeSource");
}

}  // namespace
}  // namespace mptest
