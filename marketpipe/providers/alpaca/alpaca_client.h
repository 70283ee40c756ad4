#ifndef MARKETPIPE_PROVIDERS_ALPACA_ALPACA_CLIENT_H_
#define MARKETPIPE_PROVIDERS_ALPACA_ALPACA_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "marketpipe/net/http_transport.h"
#include "marketpipe/providers/provider.h"
#include "marketpipe/providers/rate_limit/rate_limiter.h"
#include "marketpipe/time/time_source.h"

namespace marketpipe::alpaca {

// Which retries happen and how long they wait.
struct RetryPolicy {
  // Retries of 429/500/502/503/504 and of transient transport failures (UNAVAILABLE,
  // DEADLINE_EXCEEDED, DATA_LOSS) after the first attempt. Waits honouring Retry-After do not
  // count. Everything else (other 4xx, certificate failures, unexpected content) fails at once.
  int max_retries = 5;
  std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds(500);
  std::chrono::nanoseconds max_backoff = std::chrono::seconds(30);
  double multiplier = 2.0;
  // Each backoff is scaled by a factor drawn uniformly from [1 - jitter, 1 + jitter].
  double jitter = 0.2;
  // A Retry-After (or rate-limit reset) longer than this is an error: the server asks us to
  // come back much later.
  std::chrono::nanoseconds max_retry_after = std::chrono::minutes(5);
  // At most this many Retry-After waits per request page before giving up.
  int max_retry_after_waits = 20;
};

// Request targets (path + query) stay under this many bytes, far below the 8 KiB at which
// common servers and proxies answer 414 URI Too Long.
inline constexpr size_t kMaxTargetLength = 2048;
// Room reserved in a target for the page_token (Alpaca's are ~ 60 characters).
inline constexpr size_t kPageTokenReserve = 256;

// One HTTP exchange with the API, as AlpacaOptions::on_request reports it (e.g. for metrics).
struct AlpacaRequestOutcome {
  int status = 0;  // the HTTP status; 0 when no response came (a transport error)
  std::chrono::nanoseconds latency{0};  // from sending the request to the whole response
};

struct AlpacaOptions {
  // Where the API lives: "https://data.alpaca.markets" (default) or, for tests, the fake
  // server's "http://127.0.0.1:PORT". A path prefix is kept. Plain http only to loopback
  // (127.0.0.0/8, [::1], localhost): the key headers go with every request.
  std::string base_url = "https://data.alpaca.markets";
  std::string key_id;
  std::string secret;
  std::string feed = "iex";  // the default feed: "iex" or "sip"
  int page_limit = 10000;    // 1..10000, bars per page across the symbols of a request
  // Symbols per request; 0: as many as keep the request target under kMaxTargetLength (and at
  // most page_limit).
  int max_symbols_per_request = 0;
  // One Fetch, every page, retry and wait included (the sink's time is not counted), ends with
  // DEADLINE_EXCEEDED after this.
  std::chrono::nanoseconds fetch_timeout = std::chrono::minutes(30);
  // Follow X-RateLimit-Limit (the plan's requests per minute) and pause until X-RateLimit-Reset
  // when X-RateLimit-Remaining says the window is drained.
  bool use_rate_limit_headers = true;
  RetryPolicy retry;
  // Uniform [0, 1) source for backoff jitter; default: a seeded mt19937_64.
  std::function<double()> random;
  // Where retries and give-ups are reported (one line each, secrets masked, server text
  // escaped and cut); default: stderr.
  std::function<void(std::string_view)> log;
  // Called after every request that got a response or failed in transport (retries included;
  // not when the fetch was cancelled or ran out of time meanwhile), on the client's executor.
  std::function<void(const AlpacaRequestOutcome&)> on_request;
};

// Checks options: base URL (scheme, host, no credentials/query/fragment, TLS unless loopback),
// feed, page limit, batch size, retry policy, non-empty credentials. INVALID_ARGUMENT naming
// the problem (and the URL), before any connection is made.
absl::Status ValidateOptions(const AlpacaOptions& options);

// Replaces every occurrence of `secret` (and of the key id) in `text` by "****" + its last 4
// characters ("****" alone for values of 8 characters or fewer). Applied to every log line and
// error this client produces.
std::string MaskSecrets(std::string_view text, std::string_view secret, std::string_view key_id);

// Alpaca market-data v2 bars: GET {base}/v2/stocks/bars?symbols=A,B,C, following
// next_page_token. Thread safety: like the transport and limiter it uses; one io_context.
//
// Lifetime: a fetch keeps alive what it uses (options, limiter, transport when given as
// shared_ptr), so destroying the client while a fetch is suspended is safe; that fetch runs on
// to its end (cancel it through its cancellation slot to stop it). The TimeSource must outlive
// every fetch.
class AlpacaClient final : public Provider {
 public:
  // `limiter` is shared by every request of this provider (pages, retries, concurrent fetches).
  static absl::StatusOr<std::unique_ptr<AlpacaClient>> Create(
      std::shared_ptr<net::HttpTransport> transport, TimeSource& time,
      std::shared_ptr<RateLimiter> limiter, AlpacaOptions options);
  // Borrows `transport` and `limiter`: they must outlive the client and every fetch.
  static absl::StatusOr<std::unique_ptr<AlpacaClient>> Create(net::HttpTransport& transport,
                                                              TimeSource& time,
                                                              RateLimiter& limiter,
                                                              AlpacaOptions options);

  std::string name() const override { return "alpaca"; }
  int max_symbols_per_request() const override;

  // One request names all the request's symbols, sorted. `limit` counts bars across them;
  // pages come sorted by symbol, then time, so a symbol is complete once a page holds a later
  // symbol, or when the token runs out. What is delivered lies in [start, end): Alpaca's `end`
  // is inclusive, so a bar stamped `end` is dropped. A bar of a symbol not asked for is
  // DATA_LOSS (the response does not answer this request; dropping it would hide that), as is
  // a page that does not move forward: a symbol's bars at or before its last bar on an earlier
  // page, bars of a symbol after later symbols, an empty page with a next token, or a repeated
  // token. A 200 whose body does not parse is DATA_LOSS naming the URL, the content type and an
  // escaped excerpt; a 200 that is not application/json is FAILED_PRECONDITION. Errors name the
  // page ("page 2 (page_token=...)") and the URL. Cancellation is CANCELLED, wherever it hits.
  boost::asio::awaitable<absl::Status> Fetch(FetchRequest request, PageSink sink) override;

  // The request target (path + query, Boost.URL-encoded) for one page, e.g.
  // "/v2/stocks/bars?symbols=AAPL%2CMSFT&timeframe=1Min&start=...&end=...&limit=10000
  // &adjustment=raw&feed=iex".
  std::string PageTarget(const std::vector<Symbol>& symbols, const TimeRange& range,
                         Timeframe timeframe, std::string_view feed, std::string_view adjustment,
                         std::string_view page_token) const;

  struct Impl;

 private:
  explicit AlpacaClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  std::shared_ptr<Impl> impl_;
};

}  // namespace marketpipe::alpaca

#endif  // MARKETPIPE_PROVIDERS_ALPACA_ALPACA_CLIENT_H_
