#ifndef TESTING_FAKES_MOCK_TRANSPORT_H_
#define TESTING_FAKES_MOCK_TRANSPORT_H_

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "marketpipe/net/http_transport.h"
#include "marketpipe/net/http_types.h"
#include "marketpipe/time/time_source.h"

namespace mptest {

// Which requests an expectation accepts. Every condition added must hold; the default matcher
// accepts any request. Conditions chain:
//
//   RequestMatcher().Method("GET").Path("/v2/stocks/bars").Query("page_token", "abc")
class RequestMatcher {
 public:
  using Predicate = std::function<bool(const marketpipe::net::HttpRequest&)>;

  RequestMatcher() = default;

  // Exact method ("GET").
  RequestMatcher& Method(std::string method);
  // Exact path of the target, without the query ("/v2/stocks/bars").
  RequestMatcher& Path(std::string path);
  // A query parameter `name` whose percent-decoded value is exactly `value`.
  RequestMatcher& Query(std::string name, std::string value);
  // A query parameter `name` with any value.
  RequestMatcher& HasQuery(std::string name);
  // No query parameter `name` (e.g. the first page has no page_token).
  RequestMatcher& NoQuery(std::string name);
  // A header `name` (case-insensitive) whose value is exactly `value`. Descriptions never show
  // the value: headers carry secrets.
  RequestMatcher& Header(std::string name, std::string value);
  // A header `name` with any value.
  RequestMatcher& HasHeader(std::string name);
  // Any other condition; `description` names it in failure messages.
  RequestMatcher& Where(Predicate predicate, std::string description);

  bool Matches(const marketpipe::net::HttpRequest& request) const;
  // E.g. `method=GET path=/v2/stocks/bars query[page_token]="abc" header[APCA-API-KEY-ID]=<set>`.
  std::string Describe() const;

 private:
  struct Condition {
    std::string description;
    Predicate predicate;
  };
  std::vector<Condition> conditions_;
};

// An in-process net::HttpTransport for unit tests: scripted responses, recorded requests.
//
//   class BarsClientTest : public mptest::AsyncTest {};
//   TEST_F(BarsClientTest, FollowsNextPageToken) {
//     mptest::MockTransport mock(time());
//     mock.Expect(RequestMatcher().Path("/v2/stocks/bars").NoQuery("page_token"))
//         .RespondStatus(200, R"({"bars":{},"next_page_token":"abc"})");
//     mock.Expect(RequestMatcher().Path("/v2/stocks/bars").Query("page_token", "abc"))
//         .RespondStatus(200, R"({"bars":{},"next_page_token":null})")
//         .After(std::chrono::milliseconds(250));  // virtual latency
//     ... RunAsync(client.Fetch(...)) ...
//   }  // fails here if an expectation was not met
//
// Each request goes to the first expectation, in the order they were added, that matches it and
// still has calls left (Times). A request that no expectation takes fails the current test case
// (ADD_FAILURE naming its method and URL, never header values) and returns FAILED_PRECONDITION.
// Completions are always posted to the awaiting coroutine's executor, never delivered inline;
// latency (After) is a wait on the injected TimeSource, so under AsyncTest it costs no real time.
// Cancelling the awaiting coroutine during that wait throws as TimeSource::SleepFor does.
//
// Thread-safe; expectations are usually scripted before the code under test runs.
class MockTransport final : public marketpipe::net::HttpTransport {
 public:
  using Duration = marketpipe::TimeSource::Duration;
  using Responder = std::function<absl::StatusOr<marketpipe::net::HttpResponse>(
      const marketpipe::net::HttpRequest&)>;

  // One scripted expectation. Setters return *this to chain; they replace the previous action.
  // By default an expectation must be used exactly once and responds 200 with an empty body.
  class Expectation {
   public:
    Expectation(const Expectation&) = delete;
    Expectation& operator=(const Expectation&) = delete;

    // Responds with `response` (a 4xx/5xx response is still a response, not a Status error).
    Expectation& Respond(marketpipe::net::HttpResponse response);
    // Responds with `status` (standard reason phrase), `body` and `headers`, e.g.
    // RespondStatus(429, R"({"message":"too many requests."})", {{"Retry-After", "3"}}).
    Expectation& RespondStatus(int status, std::string body = "",
                               std::vector<std::pair<std::string, std::string>> headers = {});
    // Computes the response from the request.
    Expectation& RespondWith(Responder responder);
    // Fails the send with `status` (what a transport reports when no usable response arrived:
    // UNAVAILABLE for a reset, DATA_LOSS for a truncated body, ...).
    Expectation& Fail(absl::Status status);
    // Must be used exactly `n` times; further matching requests fall through to later
    // expectations.
    Expectation& Times(int n);
    // May be used any number of times (including never).
    Expectation& Repeatedly();
    // Completes `latency` after the request on the mock's TimeSource (virtual time in tests).
    Expectation& After(Duration latency);

    int call_count() const;
    bool satisfied() const;
    std::string Describe() const;

   private:
    friend class MockTransport;
    Expectation(MockTransport* owner, size_t id, RequestMatcher matcher);

    MockTransport* owner_;
    size_t id_;
    RequestMatcher matcher_;
    Responder responder_;
    int min_calls_ = 1;
    int max_calls_ = 1;
    int calls_ = 0;
    Duration latency_{0};
  };

  // A mock without a clock: After() is not allowed.
  MockTransport();
  // Latency (After) waits on `time`, which must outlive the mock.
  explicit MockTransport(marketpipe::TimeSource& time);
  // Fails the current test case for every unsatisfied expectation (see VerifyAndClear).
  ~MockTransport() override;

  MockTransport(const MockTransport&) = delete;
  MockTransport& operator=(const MockTransport&) = delete;

  // Adds an expectation; the reference stays valid until VerifyAndClear or destruction.
  Expectation& Expect(RequestMatcher matcher);
  Expectation& Expect(RequestMatcher::Predicate predicate,
                      std::string description = "custom predicate");

  boost::asio::awaitable<absl::StatusOr<marketpipe::net::HttpResponse>> Send(
      marketpipe::net::HttpRequest request) override;

  // Every request sent so far (matched or not), in order.
  std::vector<marketpipe::net::HttpRequest> requests() const;
  size_t call_count() const;

  // Fails the current test case (ADD_FAILURE) for each expectation used fewer times than
  // required, then forgets all expectations (recorded requests are kept). True if all were met.
  bool VerifyAndClear();

 private:
  marketpipe::TimeSource* time_ = nullptr;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Expectation>> expectations_;
  std::vector<marketpipe::net::HttpRequest> requests_;
  size_t next_expectation_id_ = 0;
};

// The standard reason phrase of an HTTP status code ("Too Many Requests"), "" if unknown.
std::string ReasonPhrase(int status);

}  // namespace mptest

#endif  // TESTING_FAKES_MOCK_TRANSPORT_H_
