#include "testing/fakes/mock_transport.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "testing/fakes/url_query.h"

namespace mptest {

using marketpipe::net::HttpRequest;
using marketpipe::net::HttpResponse;

// --- RequestMatcher ----------------------------------------------------------------------------

RequestMatcher& RequestMatcher::Method(std::string method) {
  std::string description = absl::StrCat("method=", method);
  return Where([m = std::move(method)](const HttpRequest& r) { return r.method == m; },
               std::move(description));
}

RequestMatcher& RequestMatcher::Path(std::string path) {
  std::string description = absl::StrCat("path=", path);
  return Where([p = std::move(path)](const HttpRequest& r) { return TargetPath(r.target) == p; },
               std::move(description));
}

RequestMatcher& RequestMatcher::Query(std::string name, std::string value) {
  std::string description = absl::StrCat("query[", name, "]=\"", value, "\"");
  return Where(
      [n = std::move(name), v = std::move(value)](const HttpRequest& r) {
        for (const auto& [name, value] : ParseQuery(r.target)) {
          if (name == n && value == v) return true;
        }
        return false;
      },
      std::move(description));
}

RequestMatcher& RequestMatcher::HasQuery(std::string name) {
  std::string description = absl::StrCat("query[", name, "]=<any>");
  return Where(
      [n = std::move(name)](const HttpRequest& r) {
        return FindQueryParam(ParseQuery(r.target), n).has_value();
      },
      std::move(description));
}

RequestMatcher& RequestMatcher::NoQuery(std::string name) {
  std::string description = absl::StrCat("query[", name, "]=<absent>");
  return Where(
      [n = std::move(name)](const HttpRequest& r) {
        return !FindQueryParam(ParseQuery(r.target), n).has_value();
      },
      std::move(description));
}

RequestMatcher& RequestMatcher::Header(std::string name, std::string value) {
  // The expected value is left out of the description on purpose: it may be a secret.
  std::string description = absl::StrCat("header[", name, "]=<expected value>");
  return Where([n = std::move(name),
                v = std::move(value)](const HttpRequest& r) { return r.headers.Get(n) == v; },
               std::move(description));
}

RequestMatcher& RequestMatcher::HasHeader(std::string name) {
  std::string description = absl::StrCat("header[", name, "]=<set>");
  return Where([n = std::move(name)](const HttpRequest& r) { return r.headers.Get(n).has_value(); },
               std::move(description));
}

RequestMatcher& RequestMatcher::Where(Predicate predicate, std::string description) {
  conditions_.push_back({std::move(description), std::move(predicate)});
  return *this;
}

bool RequestMatcher::Matches(const HttpRequest& request) const {
  for (const Condition& c : conditions_) {
    if (!c.predicate(request)) return false;
  }
  return true;
}

std::string RequestMatcher::Describe() const {
  if (conditions_.empty()) return "any request";
  return absl::StrJoin(conditions_, " ", [](std::string* out, const Condition& c) {
    absl::StrAppend(out, c.description);
  });
}

// --- MockTransport::Expectation ---------------------------------------------------------------

MockTransport::Expectation::Expectation(MockTransport* owner, size_t id, RequestMatcher matcher)
    : owner_(owner), id_(id), matcher_(std::move(matcher)) {
  responder_ = [](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    HttpResponse response;
    response.status = 200;
    response.reason = ReasonPhrase(200);
    return response;
  };
}

MockTransport::Expectation& MockTransport::Expectation::Respond(HttpResponse response) {
  return RespondWith([response = std::move(response)](
                         const HttpRequest&) -> absl::StatusOr<HttpResponse> { return response; });
}

MockTransport::Expectation& MockTransport::Expectation::RespondStatus(
    int status, std::string body, std::vector<std::pair<std::string, std::string>> headers) {
  HttpResponse response;
  response.status = status;
  response.reason = ReasonPhrase(status);
  response.body = std::move(body);
  for (auto& [name, value] : headers) response.headers.Add(std::move(name), std::move(value));
  return Respond(std::move(response));
}

MockTransport::Expectation& MockTransport::Expectation::RespondWith(Responder responder) {
  std::lock_guard<std::mutex> lock(owner_->mu_);
  responder_ = std::move(responder);
  return *this;
}

MockTransport::Expectation& MockTransport::Expectation::Fail(absl::Status status) {
  if (status.ok()) {
    ADD_FAILURE() << "MockTransport: Fail() needs an error status; use Respond() for success";
  }
  return RespondWith([status = std::move(status)](
                         const HttpRequest&) -> absl::StatusOr<HttpResponse> { return status; });
}

MockTransport::Expectation& MockTransport::Expectation::Times(int n) {
  std::lock_guard<std::mutex> lock(owner_->mu_);
  min_calls_ = n;
  max_calls_ = n;
  return *this;
}

MockTransport::Expectation& MockTransport::Expectation::Repeatedly() {
  std::lock_guard<std::mutex> lock(owner_->mu_);
  min_calls_ = 0;
  max_calls_ = std::numeric_limits<int>::max();
  return *this;
}

MockTransport::Expectation& MockTransport::Expectation::After(Duration latency) {
  if (owner_->time_ == nullptr) {
    ADD_FAILURE() << "MockTransport: After() needs a TimeSource; construct the mock with one "
                     "(e.g. MockTransport mock(time()) in an AsyncTest)";
  }
  std::lock_guard<std::mutex> lock(owner_->mu_);
  latency_ = latency;
  return *this;
}

int MockTransport::Expectation::call_count() const {
  std::lock_guard<std::mutex> lock(owner_->mu_);
  return calls_;
}

bool MockTransport::Expectation::satisfied() const {
  std::lock_guard<std::mutex> lock(owner_->mu_);
  return calls_ >= min_calls_;
}

std::string MockTransport::Expectation::Describe() const {
  std::lock_guard<std::mutex> lock(owner_->mu_);
  return absl::StrCat("#", id_, " [", matcher_.Describe(), "]");
}

// --- MockTransport -----------------------------------------------------------------------------

MockTransport::MockTransport() = default;

MockTransport::MockTransport(marketpipe::TimeSource& time) : time_(&time) {}

MockTransport::~MockTransport() { VerifyAndClear(); }

MockTransport::Expectation& MockTransport::Expect(RequestMatcher matcher) {
  std::lock_guard<std::mutex> lock(mu_);
  expectations_.push_back(std::unique_ptr<Expectation>(
      new Expectation(this, next_expectation_id_++, std::move(matcher))));
  return *expectations_.back();
}

MockTransport::Expectation& MockTransport::Expect(RequestMatcher::Predicate predicate,
                                                  std::string description) {
  RequestMatcher matcher;
  matcher.Where(std::move(predicate), std::move(description));
  return Expect(std::move(matcher));
}

boost::asio::awaitable<absl::StatusOr<HttpResponse>> MockTransport::Send(HttpRequest request) {
  auto executor = co_await boost::asio::this_coro::executor;

  Responder responder;
  Duration latency{0};
  std::string unexpected;  // failure message when no expectation takes the request
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    Expectation* chosen = nullptr;
    for (const auto& e : expectations_) {
      if (e->calls_ < e->max_calls_ && e->matcher_.Matches(request)) {
        chosen = e.get();
        break;
      }
    }
    if (chosen != nullptr) {
      ++chosen->calls_;
      responder = chosen->responder_;
      latency = chosen->latency_;
    } else {
      // Method and URL only: header values may be secrets.
      unexpected = absl::StrCat("MockTransport: unexpected request ", request.method, " ",
                                request.Url(), " (no expectation with calls left matches it)");
      if (expectations_.empty()) absl::StrAppend(&unexpected, "; no expectations are set");
      for (const auto& e : expectations_) {
        absl::StrAppend(&unexpected, "\n  expectation #", e->id_, " [", e->matcher_.Describe(),
                        "] used ", e->calls_, " of ",
                        e->max_calls_ == std::numeric_limits<int>::max()
                            ? std::string("unlimited")
                            : std::to_string(e->max_calls_),
                        " time(s)");
      }
    }
  }

  if (!unexpected.empty()) {
    ADD_FAILURE() << unexpected;
    co_await boost::asio::post(executor, boost::asio::use_awaitable);
    co_return absl::FailedPreconditionError(
        absl::StrCat("MockTransport: unexpected request ", request.method, " ", request.Url()));
  }

  if (latency > Duration::zero() && time_ != nullptr) {
    // The time source posts its completion to our executor.
    co_await time_->SleepFor(latency);
  } else {
    co_await boost::asio::post(executor, boost::asio::use_awaitable);
  }
  co_return responder(request);
}

std::vector<HttpRequest> MockTransport::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t MockTransport::call_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

bool MockTransport::VerifyAndClear() {
  std::vector<std::string> failures;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : expectations_) {
      if (e->calls_ < e->min_calls_) {
        failures.push_back(absl::StrCat("MockTransport: unsatisfied expectation #", e->id_, " [",
                                        e->matcher_.Describe(), "]: expected ", e->min_calls_,
                                        " call(s), got ", e->calls_));
      }
    }
    expectations_.clear();
  }
  for (const std::string& f : failures) ADD_FAILURE() << f;
  return failures.empty();
}

std::string ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

}  // namespace mptest
