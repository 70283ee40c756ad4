#ifndef MARKETPIPE_PROVIDERS_ALPACA_ALPACA_CLIENT_H_
#define MARKETPIPE_PROVIDERS_ALPACA_ALPACA_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
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
  // Retries of 429/500/502/503/504 and of transport failures (UNAVAILABLE, DEADLINE_EXCEEDED,
  // DATA_LOSS) after the first attempt. Waits honouring Retry-After do not count.
  int max_retries = 5;
  std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds(500);
  std::chrono::nanoseconds max_backoff = std::chrono::seconds(30);
  double multiplier = 2.0;
  // Each backoff is scaled by a factor drawn uniformly from [1 - jitter, 1 + jitter].
  double jitter = 0.2;
  // A Retry-After longer than this is an error (the server asks us to come back much later).
  std::chrono::nanoseconds max_retry_after = std::chrono::minutes(5);
  // At most this many Retry-After waits per request page before giving up.
  int max_retry_after_waits = 20;
};

// Request targets (path + query) stay under this many bytes, far below the 8 KiB at which
// common servers and proxies answer 414 URI Too Long.
inline constexpr size_t kMaxTargetLength = 2048;
// Room reserved in a target for the page_token (Alpaca's are ~ 60 characters).
inline constexpr size_t kPageTokenReserve = 256;

struct AlpacaOptions {
  // Where the API lives: "https://data.alpaca.markets" (default) or, for tests, the fake
  // server's "http://127.0.0.1:PORT". A path prefix is kept.
  std::string base_url = "https://data.alpaca.markets";
  std::string key_id;
  std::string secret;
  std::string feed = "iex";  // "iex" or "sip"
  int page_limit = 10000;    // 1..10000
  // Symbols per request; 0: as many as keep the request target under kMaxTargetLength (and at
  // most page_limit).
  int max_symbols_per_request = 0;
  RetryPolicy retry;
  // Uniform [0, 1) source for backoff jitter; default: a seeded mt19937_64.
  std::function<double()> random;
  // Where retries and give-ups are reported (one line each, secrets masked); default: stderr.
  std::function<void(std::string_view)> log;
};

// Checks options: base URL scheme/host, feed, page limit, non-empty credentials.
absl::Status ValidateOptions(const AlpacaOptions& options);

// Replaces every occurrence of `secret` (and of the key id) in `text` by "****" + its last 4
// characters ("****" alone for values of 8 characters or fewer). Applied to every log line and
// error this client produces.
std::string MaskSecrets(std::string_view text, std::string_view secret, std::string_view key_id);

// Alpaca market-data v2 bars: GET {base}/v2/stocks/bars, following next_page_token.
// Thread safety: like the transport and limiter it uses; one io_context.
class AlpacaClient final : public Provider {
 public:
  // `transport`, `time` and `limiter` must outlive the client; `limiter` is shared by every
  // request of this provider (pages, retries, concurrent symbols).
  static absl::StatusOr<std::unique_ptr<AlpacaClient>> Create(net::HttpTransport& transport,
                                                              TimeSource& time,
                                                              RateLimiter& limiter,
                                                              AlpacaOptions options);

  std::string name() const override { return "alpaca"; }

  int max_symbols_per_request() const override { return max_symbols_; }

  // GET /v2/stocks/bars?symbols=A,B,C for the request's (sorted) symbols, following
  // next_page_token. `limit` counts bars across the symbols; pages come sorted by symbol, then
  // time, so a symbol is complete once a page holds a later symbol, or when the token runs out.
  // What is delivered lies in [start, end): Alpaca's `end` is inclusive, so a bar stamped `end`
  // is dropped. A bar of a symbol not asked for is DATA_LOSS (the response does not answer this
  // request), as is a page that does not move forward: a symbol's bars at or before its last bar
  // on an earlier page, bars of a symbol after later symbols, an empty page with a next token,
  // or a repeated token. Errors name the page ("page 2 (page_token=...)").
  boost::asio::awaitable<absl::Status> Fetch(FetchRequest request, PageSink sink) override;

  // The request target (path + query) for one page, e.g. "/v2/stocks/bars?symbols=AAPL%2CMSFT
  // &timeframe=1Min&start=...&end=...&limit=10000&adjustment=raw&feed=iex".
  std::string PageTarget(const std::vector<Symbol>& symbols, const TimeRange& range,
                         Timeframe timeframe, std::string_view feed, std::string_view adjustment,
                         std::string_view page_token) const;

 private:
  AlpacaClient(net::HttpTransport& transport, TimeSource& time, RateLimiter& limiter,
               AlpacaOptions options);

  // One page with the retry policy applied.
  boost::asio::awaitable<absl::StatusOr<net::HttpResponse>> GetWithRetries(net::HttpRequest request,
                                                                           std::string_view page);
  std::chrono::nanoseconds Backoff(int retry);
  void Log(std::string_view line) const;
  absl::Status Masked(absl::Status status) const;
  std::string ServerMessage(const net::HttpResponse& response) const;

  net::HttpTransport& transport_;
  TimeSource& time_;
  RateLimiter& limiter_;
  AlpacaOptions options_;
  std::string scheme_, host_, path_prefix_;
  uint16_t port_ = 0;
  int max_symbols_ = 1;
  std::mt19937_64 rng_;
};

}  // namespace marketpipe::alpaca

#endif  // MARKETPIPE_PROVIDERS_ALPACA_ALPACA_CLIENT_H_
