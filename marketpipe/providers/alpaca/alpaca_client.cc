#include "marketpipe/providers/alpaca/alpaca_client.h"

#include <simdjson.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <boost/url.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/providers/alpaca/bars_parser.h"
#include "marketpipe/providers/alpaca/retry_after.h"

namespace marketpipe::alpaca {
namespace {

using boost::asio::awaitable;
using Clock = TimeSource::TimePoint;

// Whole error messages and log lines are cut here (after escaping), whatever they hold.
constexpr size_t kMaxMessage = 2000;

// Abseil here is built with its own string_view, distinct from std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool IsRetryableStatus(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

// Server-controlled text for a log line or an error: bytes outside printable ASCII as \xNN (no
// control characters reach a terminal or a log parser), cut to `max` bytes of the original.
std::string Escaped(std::string_view text, size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(text.size(), max) + 16);
  for (unsigned char c : text.substr(0, max)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (text.size() > max) absl::StrAppend(&out, "...(", text.size(), " bytes)");
  return out;
}

// The "message" string of a JSON object body ({"code": ..., "message": "..."}), unescaped.
std::optional<std::string> JsonMessage(std::string_view body) {
  simdjson::padded_string padded(body);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  std::string_view message;
  if (parser.iterate(padded).get(doc) || doc["message"].get_string().get(message)) {
    return std::nullopt;
  }
  return std::string(message);
}

std::string Seconds(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", std::chrono::duration<double>(d).count());
  return buf;
}

std::optional<int64_t> HeaderInt(const net::HttpHeaders& headers, std::string_view name) {
  auto value = headers.Get(name);
  if (!value) return std::nullopt;
  const std::string_view v = Trim(*value);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || ptr != v.data() + v.size() || v.empty()) return std::nullopt;
  return n;
}

// The parts of the base URL every request needs.
struct BaseUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets: "::1", "127.0.0.1", "data.alpaca.markets"
  uint16_t port = 0;
  std::string path_prefix;  // percent-encoded, no trailing '/'
  std::string origin;       // "https://data.alpaca.markets" as written, for messages
};

bool IsLoopback(const boost::urls::url_view& url) {
  switch (url.host_type()) {
    case boost::urls::host_type::ipv4:
      return (url.host_ipv4_address().to_uint() >> 24) == 127;
    case boost::urls::host_type::ipv6:
      return url.host_ipv6_address().is_loopback();
    case boost::urls::host_type::name:
      return absl::EqualsIgnoreCase(std::string(url.host_address()), "localhost");
    default:
      return false;
  }
}

absl::StatusOr<BaseUrl> ParseBaseUrl(std::string_view text) {
  const std::string quoted = absl::StrCat("alpaca: base URL \"", Escaped(text, 200), "\"");
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, " is not an absolute URL such as https://data.alpaca.markets (",
                     parsed.error().message(), "); it has no scheme or is malformed"));
  }
  const boost::urls::url_view url = *parsed;
  BaseUrl base;
  if (url.scheme_id() == boost::urls::scheme::https) {
    base.scheme = "https";
    base.port = 443;
  } else if (url.scheme_id() == boost::urls::scheme::http) {
    base.scheme = "http";
    base.port = 80;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(quoted, ": scheme must be http or https"));
  }
  if (url.has_userinfo()) {
    return absl::InvalidArgumentError(absl::StrCat(
        quoted, " holds user information (user@host); credentials go in ALPACA_KEY/SECRET"));
  }
  if (url.has_query() || url.has_fragment()) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted, " must not have a query (?...) or fragment (#...)"));
  }
  if (url.host_type() == boost::urls::host_type::ipvfuture || url.encoded_host().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(quoted, " has no host"));
  }
  if (url.has_port() && !url.port().empty()) {
    const std::string_view port = url.port();
    unsigned n = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc() || ptr != port.data() + port.size() || n == 0 || n > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat(quoted, ": bad port \"", Escaped(port, 20), "\""));
    }
    base.port = static_cast<uint16_t>(n);
  }
  // The key headers go with every request: never in cleartext beyond this machine.
  if (base.scheme == "http" && !IsLoopback(url)) {
    return absl::InvalidArgumentError(
        absl::StrCat(quoted,
                     " would send the API key in cleartext; use https:// (plain http only to "
                     "loopback: 127.0.0.0/8, [::1], localhost)"));
  }
  base.host = url.host_address();
  base.path_prefix = url.encoded_path();
  while (!base.path_prefix.empty() && base.path_prefix.back() == '/') base.path_prefix.pop_back();
  base.origin = absl::StrCat(base.scheme, "://", std::string(url.encoded_host_and_port()));
  return base;
}

// How a wait raced against the fetch's deadline ended.
enum class Outcome { kDone, kExpired, kCancelled };

template <class T>
struct Timed {
  Outcome outcome = Outcome::kCancelled;
  std::optional<T> value;  // set when kDone
};

bool IsAborted(const boost::system::system_error& e) {
  return e.code() == boost::asio::error::operation_aborted;
}

// `op` with cancellation (a thrown operation_aborted) as nullopt: when both sides of a race are
// cancelled, two exceptions would reach the caller as one multiple_exceptions.
template <class T>
awaitable<std::optional<T>> Quietly(awaitable<T> op) {
  try {
    co_return co_await std::move(op);
  } catch (const boost::system::system_error& e) {
    if (!IsAborted(e)) throw;
  }
  co_return std::nullopt;
}

awaitable<bool> Quietly(awaitable<void> op) {
  try {
    co_await std::move(op);
    co_return true;
  } catch (const boost::system::system_error& e) {
    if (!IsAborted(e)) throw;
  }
  co_return false;
}

// Runs `op` until `deadline`.
template <class T>
awaitable<Timed<T>> BeforeDeadline(TimeSource& time, Clock deadline, awaitable<T> op) {
  using namespace boost::asio::experimental::awaitable_operators;
  auto result = co_await (Quietly(std::move(op)) || Quietly(time.SleepUntil(deadline)));
  Timed<T> timed;
  if (result.index() == 0) {
    auto& value = std::get<0>(result);
    if (value) {
      timed.outcome = Outcome::kDone;
      timed.value = std::move(value);
    }
  } else if (std::get<1>(result)) {
    timed.outcome = Outcome::kExpired;
  }
  co_return timed;
}

awaitable<Outcome> BeforeDeadline(TimeSource& time, Clock deadline, awaitable<void> op) {
  using namespace boost::asio::experimental::awaitable_operators;
  auto result = co_await (Quietly(std::move(op)) || Quietly(time.SleepUntil(deadline)));
  if (result.index() == 0) co_return std::get<0>(result) ? Outcome::kDone : Outcome::kCancelled;
  co_return std::get<1>(result) ? Outcome::kExpired : Outcome::kCancelled;
}

bool IsJsonMediaType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  media = Trim(media);
  return absl::EqualsIgnoreCase(AV(media), "application/json") ||
         absl::EndsWithIgnoreCase(AV(media), "+json");
}

}  // namespace

struct AlpacaClient::Impl {
  std::shared_ptr<net::HttpTransport> transport;
  TimeSource* time = nullptr;
  std::shared_ptr<RateLimiter> limiter;
  AlpacaOptions options;
  BaseUrl base;
  int max_symbols = 1;
  std::mt19937_64 rng{std::random_device{}()};
  // Requests of this client between send and response (they will each spend one request of
  // the server's window).
  int in_flight = 0;
  // The X-RateLimit-Limit the limiter follows (0: none seen yet).
  int64_t applied_limit = 0;

  std::string Target(const std::vector<Symbol>& symbols, const TimeRange& range,
                     Timeframe timeframe, std::string_view feed, std::string_view adjustment,
                     std::string_view page_token) const {
    std::string joined;
    for (const Symbol& symbol : symbols) {
      if (!joined.empty()) joined.push_back(',');
      joined += symbol.value();
    }
    boost::urls::url url;
    url.set_encoded_path(base.path_prefix + "/v2/stocks/bars");
    auto params = url.encoded_params();
    const auto add = [&params](std::string_view key, std::string_view value) {
      params.append({key, boost::urls::encode(value, boost::urls::unreserved_chars)});
    };
    add("symbols", joined);
    add("timeframe", timeframe.AlpacaName());
    add("start", FormatRfc3339(range.start_ns()));
    add("end", FormatRfc3339(range.end_ns()));
    add("limit", std::to_string(options.page_limit));
    add("adjustment", adjustment);
    add("feed", feed);
    if (!page_token.empty()) add("page_token", page_token);
    return std::string(url.encoded_target());
  }

  // Masked, then escaped and cut: safe to print whatever the server put in `text`.
  std::string Clean(std::string_view text) const {
    return Escaped(MaskSecrets(text, options.secret, options.key_id), kMaxMessage);
  }

  // The start of a response body for an error: masked before it is cut, so the cut cannot leave
  // a secret's prefix that the final masking no longer recognises.
  std::string Excerpt(std::string_view body) const {
    constexpr size_t kExcerpt = 120;
    const size_t room = kExcerpt + options.secret.size() + options.key_id.size();
    const std::string masked = MaskSecrets(body.substr(0, room), options.secret, options.key_id);
    std::string out = Escaped(std::string_view(masked).substr(0, kExcerpt), kExcerpt);
    if (body.size() > kExcerpt) absl::StrAppend(&out, "...(", body.size(), " bytes)");
    return out;
  }

  absl::Status Fail(absl::StatusCode code, std::string_view message) const {
    return absl::Status(code, Clean(message));
  }

  void Log(std::string_view line) const {
    const std::string clean = Clean(line);
    if (options.log) {
      options.log(clean);
    } else {
      std::fprintf(stderr, "%s\n", clean.c_str());
    }
  }

  // The server's explanation: its JSON "message", else the start of the body, escaped and cut.
  // Masked before the cut (a cut through a secret would leave its prefix unmasked) and again
  // after unescaping.
  std::string ServerMessage(const net::HttpResponse& response) const {
    const std::string text = MaskSecrets(response.body, options.secret, options.key_id);
    if (auto message = JsonMessage(text)) {
      return Escaped(MaskSecrets(*message, options.secret, options.key_id), 200);
    }
    return text.empty() ? "(empty body)" : Escaped(text, 200);
  }

  std::chrono::nanoseconds Backoff(int retry) {
    const RetryPolicy& p = options.retry;
    double b = static_cast<double>(p.initial_backoff.count()) * std::pow(p.multiplier, retry - 1);
    b = std::min(b, static_cast<double>(p.max_backoff.count()));
    const double u =
        options.random ? options.random() : std::uniform_real_distribution<double>(0, 1)(rng);
    const double factor = 1.0 - p.jitter + 2.0 * p.jitter * std::clamp(u, 0.0, 1.0);
    return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(b * factor)));
  }

  // Alpaca's X-RateLimit-* headers: the plan's real limit sets the limiter's rate, and a window
  // the requests in flight will drain makes every request wait for its reset, not earn a 429.
  void ObserveRateLimit(const net::HttpHeaders& headers, std::string_view what) {
    if (!options.use_rate_limit_headers) return;
    if (auto limit = HeaderInt(headers, "X-RateLimit-Limit");
        limit && *limit > 0 && *limit != applied_limit) {
      if (limiter->SetRate(*limit, std::chrono::minutes(1)).ok()) {
        if (applied_limit != 0) {
          Log(absl::StrCat("alpaca: server rate limit is now ", *limit, " requests/min"));
        }
        applied_limit = *limit;
      }
    }
    const auto remaining = HeaderInt(headers, "X-RateLimit-Remaining");
    const auto reset = HeaderInt(headers, "X-RateLimit-Reset");
    if (!remaining || !reset || *remaining > in_flight) return;
    const int64_t now_ns = time->UnixNanos();
    if (*reset > (std::numeric_limits<int64_t>::max() - 1) / 1'000'000'000) return;
    const std::chrono::nanoseconds wait(*reset * 1'000'000'000 - now_ns);
    if (wait <= std::chrono::nanoseconds::zero()) return;
    const auto capped = std::min<std::chrono::nanoseconds>(wait, options.retry.max_retry_after);
    limiter->NotifyRetryAfter(capped);
    Log(absl::StrCat("alpaca: ", AV(what), ": rate-limit window drained (", *remaining,
                     " left); waiting ", Seconds(capped), " for its reset"));
  }
};

namespace {

using Impl = AlpacaClient::Impl;

// Counts a request in flight for as long as it is.
class InFlight {
 public:
  explicit InFlight(int& n) : n_(n) { ++n_; }
  ~InFlight() { --n_; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  int& n_;
};

// One page with the retry policy applied, all before `deadline`.
awaitable<absl::StatusOr<net::HttpResponse>> GetPage(std::shared_ptr<Impl> impl,
                                                     net::HttpRequest request, std::string page,
                                                     Clock deadline) {
  const RetryPolicy& policy = impl->options.retry;
  TimeSource& time = *impl->time;
  const std::string what = absl::StrCat("GET ", impl->base.origin, request.target, " (", page, ")");
  // Why a wait did not complete: the deadline, or the caller cancelled the fetch.
  const auto interrupted = [&](Outcome outcome) {
    if (outcome == Outcome::kCancelled) {
      return absl::CancelledError(absl::StrCat("alpaca: ", what, ": cancelled"));
    }
    return impl->Fail(absl::StatusCode::kDeadlineExceeded,
                      absl::StrCat("alpaca: ", what, ": the fetch ran out of time (fetch_timeout ",
                                   Seconds(impl->options.fetch_timeout), ")"));
  };
  int retries = 0;
  int retry_after_waits = 0;
  for (;;) {
    auto acquired = co_await BeforeDeadline(time, deadline, impl->limiter->Acquire(1));
    if (acquired.outcome != Outcome::kDone) co_return interrupted(acquired.outcome);
    if (!acquired.value->ok()) {
      co_return impl->Fail(acquired.value->code(),
                           absl::StrCat("alpaca: ", what, ": ", acquired.value->message()));
    }
    Timed<absl::StatusOr<net::HttpResponse>> sent;
    const Clock sent_at = time.Now();
    {
      InFlight counting(impl->in_flight);
      sent = co_await BeforeDeadline(time, deadline, impl->transport->Send(request));
    }
    if (sent.outcome != Outcome::kDone) co_return interrupted(sent.outcome);
    absl::StatusOr<net::HttpResponse>& response = *sent.value;
    if (impl->options.on_request) {
      impl->options.on_request(
          {.status = response.ok() ? response->status : 0, .latency = time.Now() - sent_at});
    }
    std::string failure;
    std::optional<std::chrono::nanoseconds> retry_after;
    if (!response.ok()) {
      if (!net::IsTransientTransportError(response.status())) {
        co_return impl->Fail(response.status().code(),
                             absl::StrCat("alpaca: ", what, ": ", response.status().message()));
      }
      failure = std::string(response.status().message());
    } else {
      impl->ObserveRateLimit(response->headers, what);
      if (response->status >= 200 && response->status < 300) {
        const auto type = response->headers.Get("Content-Type");
        if (type && !IsJsonMediaType(*type)) {
          co_return impl->Fail(
              absl::StatusCode::kFailedPrecondition,
              absl::StrCat("alpaca: ", what, ": HTTP ", response->status, " with Content-Type \"",
                           Escaped(*type, 100), "\", not application/json; body starts: ",
                           impl->Excerpt(response->body)));
        }
        co_return std::move(response);
      }
      if (IsRetryableStatus(response->status)) {
        failure = absl::StrCat("HTTP ", response->status, ": ", impl->ServerMessage(*response));
        if (auto header = response->headers.Get("Retry-After")) {
          retry_after = ParseRetryAfter(*header, time.UnixNanos());
          if (!retry_after) {
            impl->Log(absl::StrCat("alpaca: ", what, ": ignoring malformed Retry-After \"",
                                   Escaped(*header, 40), "\""));
          }
        }
      } else {
        // Other statuses cannot succeed on a retry: fail at once.
        const std::string message = absl::StrCat("alpaca: ", what, " -> HTTP ", response->status,
                                                 ": ", impl->ServerMessage(*response));
        absl::StatusCode code = absl::StatusCode::kUnknown;
        switch (response->status) {
          case 401:
            code = absl::StatusCode::kUnauthenticated;
            break;
          case 403:
            code = absl::StatusCode::kPermissionDenied;
            break;
          case 404:
            code = absl::StatusCode::kNotFound;
            break;
          case 400:
          case 422:
            code = absl::StatusCode::kInvalidArgument;
            break;
          default:
            if (response->status >= 400 && response->status < 500) {
              code = absl::StatusCode::kFailedPrecondition;
            }
        }
        co_return impl->Fail(code, message);
      }
    }

    if (retry_after) {
      if (*retry_after > policy.max_retry_after) {
        co_return impl->Fail(
            absl::StatusCode::kResourceExhausted,
            absl::StrCat("alpaca: ", what, ": server asked to retry after ", Seconds(*retry_after),
                         ", more than the limit ", Seconds(policy.max_retry_after)));
      }
      if (++retry_after_waits > policy.max_retry_after_waits) {
        co_return impl->Fail(
            absl::StatusCode::kResourceExhausted,
            absl::StrCat("alpaca: ", what, ": still throttled after ", policy.max_retry_after_waits,
                         " Retry-After waits; last: ", failure));
      }
      // Honoured through the shared limiter: every request of this provider waits, not only
      // this one. Not counted as a retry.
      impl->limiter->NotifyRetryAfter(*retry_after);
      impl->Log(
          absl::StrCat("alpaca: ", what, ": ", failure, "; Retry-After ", Seconds(*retry_after)));
      continue;
    }
    if (retries >= policy.max_retries) {
      co_return impl->Fail(absl::StatusCode::kUnavailable,
                           absl::StrCat("alpaca: ", what, ": giving up after ", retries,
                                        " retries; last error: ", failure));
    }
    ++retries;
    const auto wait = impl->Backoff(retries);
    impl->Log(absl::StrCat("alpaca: ", what, ": ", failure, "; retry ", retries, "/",
                           policy.max_retries, " in ", Seconds(wait)));
    const Outcome slept = co_await BeforeDeadline(time, deadline, time.SleepFor(wait));
    if (slept != Outcome::kDone) co_return interrupted(slept);
  }
}

awaitable<absl::Status> FetchPages(std::shared_ptr<Impl> impl, FetchRequest request,
                                   PageSink sink) {
  if (absl::Status s = ValidateFetchRequest(request, impl->max_symbols, "alpaca"); !s.ok()) {
    co_return s;
  }
  const std::string feed = request.feed.empty() ? impl->options.feed : request.feed;
  if (feed != "iex" && feed != "sip") {
    co_return absl::InvalidArgumentError(
        absl::StrCat("alpaca: feed must be \"iex\" or \"sip\", got \"", Escaped(feed, 20), "\""));
  }
  TimeSource& time = *impl->time;
  Clock deadline = time.Now() + impl->options.fetch_timeout;
  // Alpaca sorts pages by symbol; so do we, and `done` splits the symbols whose bars stopped.
  std::vector<Symbol> symbols = std::move(request.symbols);
  std::sort(symbols.begin(), symbols.end());
  // Per symbol: the latest timestamp any earlier page held (pages must move forward).
  std::vector<int64_t> last_ts(symbols.size(), std::numeric_limits<int64_t>::min());
  size_t done = 0;  // symbols[0, done) are complete
  std::string token;
  std::set<std::string> seen_tokens;
  for (int index = 0;; ++index) {
    const std::string page =
        token.empty() ? absl::StrCat("page ", index)
                      : absl::StrCat("page ", index, " (page_token=", Escaped(token, 64), ")");
    net::HttpRequest http;
    http.method = "GET";
    http.scheme = impl->base.scheme;
    http.host = impl->base.host;
    http.port = impl->base.port;
    http.target =
        impl->Target(symbols, request.range, request.timeframe, feed, request.adjustment, token);
    http.headers.Add("APCA-API-KEY-ID", impl->options.key_id);
    http.headers.Add("APCA-API-SECRET-KEY", impl->options.secret);
    http.headers.Add("Accept", "application/json");
    const std::string what = absl::StrCat("GET ", impl->base.origin, http.target, " (", page, ")");
    auto response = co_await GetPage(impl, std::move(http), page, deadline);
    if (!response.ok()) co_return response.status();
    auto parsed = ParseBarsPage(&response->body, "body");
    if (!parsed.ok()) {
      const auto type = response->headers.Get("Content-Type");
      co_return impl->Fail(
          absl::StatusCode::kDataLoss,
          absl::StrCat("alpaca: ", what, ": malformed HTTP ", response->status, " body (",
                       type ? Escaped(*type, 100) : "no Content-Type", ", ", response->body.size(),
                       " bytes): ", parsed.status().message(),
                       "; body starts: ", impl->Excerpt(response->body)));
    }

    // Sorted by symbol as Alpaca promises; a stable sort keeps each symbol's bars as sent. Only
    // when needed: stable_sort allocates half a page of scratch memory even for sorted input.
    std::vector<Bar>& bars = parsed->bars;
    const auto by_symbol = [](const Bar& a, const Bar& b) { return a.symbol < b.symbol; };
    if (!std::is_sorted(bars.begin(), bars.end(), by_symbol)) {
      std::stable_sort(bars.begin(), bars.end(), by_symbol);
    }
    const size_t received = bars.size();
    size_t kept = 0;        // the page's bars are filtered in place, then handed on as they are
    size_t highest = done;  // the last symbol this page holds bars of
    std::vector<std::pair<size_t, int64_t>> moved;  // (symbol, latest ts) of this page
    for (Bar& bar : bars) {
      const auto it = std::lower_bound(symbols.begin(), symbols.end(), bar.symbol);
      // A bar for a symbol not asked for means the response does not answer this request (a
      // mixed-up cache or proxy); dropping it would hide that, so the fetch fails.
      if (it == symbols.end() || *it != bar.symbol) {
        co_return impl->Fail(absl::StatusCode::kDataLoss,
                             absl::StrCat("alpaca: ", what, ": bar for ", bar.symbol.value(),
                                          ", a symbol not requested"));
      }
      const size_t i = static_cast<size_t>(it - symbols.begin());
      if (i < done) {
        co_return impl->Fail(
            absl::StatusCode::kDataLoss,
            absl::StrCat("alpaca: ", what, ": bars for ", bar.symbol.value(),
                         " after a page that held later symbols (pages must be sorted by symbol)"));
      }
      if (bar.ts_ns <= last_ts[i]) {
        co_return impl->Fail(
            absl::StatusCode::kDataLoss,
            absl::StrCat("alpaca: ", what, ": ", bar.symbol.value(), " bar at ",
                         FormatRfc3339(bar.ts_ns), " is not after the previous page's last bar at ",
                         FormatRfc3339(last_ts[i]), " (pages must move forward)"));
      }
      if (moved.empty() || moved.back().first != i) moved.emplace_back(i, bar.ts_ns);
      moved.back().second = std::max(moved.back().second, bar.ts_ns);
      highest = i;
      // Alpaca's `end` is inclusive: a bar stamped exactly `end` (or anything outside the range
      // a server sends) is not ours to deliver.
      if (request.range.Contains(bar.ts_ns)) {
        if (&bars[kept] != &bar) bars[kept] = std::move(bar);
        ++kept;
      }
    }
    bars.resize(kept);
    for (const auto& [i, ts] : moved) last_ts[i] = ts;
    const bool last_page = !parsed->next_page_token.has_value();
    if (!last_page && received == 0) {
      co_return impl->Fail(absl::StatusCode::kDataLoss,
                           absl::StrCat("alpaca: ", what,
                                        ": empty page with a next_page_token (pages must move "
                                        "forward)"));
    }
    if (!last_page && !seen_tokens.insert(*parsed->next_page_token).second) {
      co_return impl->Fail(
          absl::StatusCode::kDataLoss,
          absl::StrCat("alpaca: ", what, ": server repeated next_page_token \"",
                       Escaped(*parsed->next_page_token, 64), "\" (pagination loop)"));
    }
    FetchPage out;
    out.feed = feed;
    out.adjustment = request.adjustment;
    out.index = index;
    out.bars = std::move(bars);
    // The bars of every symbol before the page's last one have stopped.
    const size_t complete_to = last_page ? symbols.size() : highest;
    for (; done < complete_to; ++done) out.completed.push_back(symbols[done]);

    // The sink's time is the caller's, not the fetch's: the deadline moves by it.
    const Clock sink_start = time.Now();
    absl::Status delivered = co_await sink(std::move(out));
    deadline += time.Now() - sink_start;
    if (!delivered.ok() || last_page) co_return delivered;
    auto state = co_await boost::asio::this_coro::cancellation_state;
    if (state.cancelled() != boost::asio::cancellation_type::none) {
      co_return absl::CancelledError(absl::StrCat("alpaca: fetch cancelled after ", page));
    }
    token = *std::move(parsed->next_page_token);
  }
}

awaitable<absl::Status> RunFetch(std::shared_ptr<Impl> impl, FetchRequest request, PageSink sink) {
  // Asio reports cancellation of a wait by throwing; the Provider contract is a status.
  bool cancelled = false;
  absl::Status status;
  try {
    status = co_await FetchPages(std::move(impl), std::move(request), std::move(sink));
  } catch (const boost::system::system_error& e) {
    if (!IsAborted(e)) throw;
    cancelled = true;
  }
  if (cancelled) co_return absl::CancelledError("alpaca: fetch cancelled");
  co_return status;
}

}  // namespace

std::string MaskSecrets(std::string_view text, std::string_view secret, std::string_view key_id) {
  std::string out(text);
  for (std::string_view s : {secret, key_id}) {
    if (s.empty()) continue;
    // The last 4 characters identify a long secret; a short one is hidden entirely.
    const std::string mask = s.size() > 8 ? "****" + std::string(s.substr(s.size() - 4)) : "****";
    for (size_t pos = out.find(s); pos != std::string::npos; pos = out.find(s, pos + mask.size())) {
      out.replace(pos, s.size(), mask);
    }
  }
  return out;
}

absl::Status ValidateOptions(const AlpacaOptions& o) {
  if (o.key_id.empty() || o.secret.empty()) {
    return absl::InvalidArgumentError(
        "alpaca: API key id and secret are required (ALPACA_KEY, ALPACA_SECRET)");
  }
  if (auto base = ParseBaseUrl(o.base_url); !base.ok()) return base.status();
  if (o.feed != "iex" && o.feed != "sip") {
    return absl::InvalidArgumentError(
        absl::StrCat("alpaca: feed must be \"iex\" or \"sip\", got \"", Escaped(o.feed, 20), "\""));
  }
  if (o.page_limit < 1 || o.page_limit > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("alpaca: page limit must be in 1..10000, got ", o.page_limit));
  }
  if (o.max_symbols_per_request < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("alpaca: max symbols per request must be >= 1 (0: derived), got ",
                     o.max_symbols_per_request));
  }
  if (o.fetch_timeout <= std::chrono::nanoseconds::zero()) {
    return absl::InvalidArgumentError("alpaca: fetch timeout must be positive");
  }
  if (o.retry.max_retries < 0 || o.retry.initial_backoff.count() < 0 ||
      o.retry.max_backoff < o.retry.initial_backoff || o.retry.multiplier < 1 ||
      o.retry.jitter < 0 || o.retry.jitter >= 1) {
    return absl::InvalidArgumentError("alpaca: invalid retry policy");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AlpacaClient>> AlpacaClient::Create(
    std::shared_ptr<net::HttpTransport> transport, TimeSource& time,
    std::shared_ptr<RateLimiter> limiter, AlpacaOptions options) {
  if (auto s = ValidateOptions(options); !s.ok()) {
    return absl::Status(s.code(),
                        MaskSecrets(std::string(s.message()), options.secret, options.key_id));
  }
  auto impl = std::make_shared<Impl>();
  impl->transport = std::move(transport);
  impl->time = &time;
  impl->limiter = std::move(limiter);
  impl->base = *ParseBaseUrl(options.base_url);
  impl->options = std::move(options);
  impl->max_symbols = impl->options.max_symbols_per_request;
  if (impl->max_symbols == 0) {
    // The longest target without symbols: timestamps with nanoseconds, the longest adjustment.
    const TimeRange widest = *TimeRange::Create(-1, 1'000'000'000LL * 86'400 * 365 * 100 + 1);
    const size_t fixed =
        impl->Target({}, widest, Timeframe::kFourHours, "iex", "dividend", "").size() +
        kPageTokenReserve + sizeof "&page_token=";
    // Each symbol costs its letters and a percent-encoded comma.
    const size_t per_symbol = Symbol::kMaxLength + 3;
    const size_t fit = fixed < kMaxTargetLength ? (kMaxTargetLength - fixed) / per_symbol : 0;
    impl->max_symbols =
        static_cast<int>(std::clamp<size_t>(fit, 1, static_cast<size_t>(impl->options.page_limit)));
  }
  return std::unique_ptr<AlpacaClient>(new AlpacaClient(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<AlpacaClient>> AlpacaClient::Create(net::HttpTransport& transport,
                                                                   TimeSource& time,
                                                                   RateLimiter& limiter,
                                                                   AlpacaOptions options) {
  // Non-owning handles: the caller keeps both alive.
  return Create(std::shared_ptr<net::HttpTransport>(&transport, [](net::HttpTransport*) {}), time,
                std::shared_ptr<RateLimiter>(&limiter, [](RateLimiter*) {}), std::move(options));
}

int AlpacaClient::max_symbols_per_request() const { return impl_->max_symbols; }

awaitable<absl::Status> AlpacaClient::Fetch(FetchRequest request, PageSink sink) {
  // Not a coroutine itself: the fetch's frame holds `impl_`, not `this`.
  return RunFetch(impl_, std::move(request), std::move(sink));
}

std::string AlpacaClient::PageTarget(const std::vector<Symbol>& symbols, const TimeRange& range,
                                     Timeframe timeframe, std::string_view feed,
                                     std::string_view adjustment,
                                     std::string_view page_token) const {
  return impl_->Target(symbols, range, timeframe, feed, adjustment, page_token);
}

}  // namespace marketpipe::alpaca
