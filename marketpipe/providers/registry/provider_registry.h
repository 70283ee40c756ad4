#ifndef MARKETPIPE_PROVIDERS_REGISTRY_PROVIDER_REGISTRY_H_
#define MARKETPIPE_PROVIDERS_REGISTRY_PROVIDER_REGISTRY_H_

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "marketpipe/providers/provider.h"
#include "marketpipe/providers/rate_limit/rate_limiter.h"
#include "marketpipe/time/time_source.h"

namespace marketpipe {

// What the CLI flags say about the provider. Empty strings mean "not given".
struct ProviderConfig {
  std::string name = "fake";  // "alpaca" or "fake"
  // alpaca: --feed, --alpaca-base-url (else $ALPACA_BASE_URL, else the real API),
  // --requests-per-minute and --burst for the shared rate limiter.
  std::string feed = "iex";
  std::string base_url;
  int64_t requests_per_minute = 200;  // Alpaca's free plan
  int64_t burst = 10;
  // Symbols per Fetch request; 0: the provider's default (alpaca: what keeps URLs short).
  int max_symbols_per_request = 0;
  // fake: all 24 h instead of the regular US session.
  bool all_hours = false;
};

// Environment lookups go through this so tests need not touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup ProcessEnvironment();

// What a provider reports for metrics; called on the provider's executor. Empty: not observed.
// Only providers that talk to a server report (the fake provider has no requests and no limiter).
struct ProviderObservers {
  // Each Acquire on the provider's shared rate limiter that had to wait.
  std::function<void(const RateLimiterWait&)> rate_limiter_wait;
  // Each HTTP request to the provider's API: status (0 = no response) and latency.
  std::function<void(int status, std::chrono::nanoseconds latency)> request;
};

struct ProviderContext {
  boost::asio::any_io_executor executor;      // where HTTP I/O runs
  TimeSource* time = nullptr;                 // clock for rate limits, backoff, timeouts
  EnvLookup env = ProcessEnvironment();       // ALPACA_KEY, ALPACA_SECRET, ALPACA_BASE_URL
  std::function<void(std::string_view)> log;  // retry lines; default stderr
  ProviderObservers observers;
};

// The provider names MakeProvider accepts, sorted.
std::vector<std::string> ProviderNames();

// Builds the named provider. The result owns everything it needs (HTTP client, rate limiter).
// Errors are INVALID_ARGUMENT with a one-line reason: unknown name (listing the known ones),
// missing ALPACA_KEY/ALPACA_SECRET, bad feed/base URL/rate settings. Secrets never appear.
absl::StatusOr<std::unique_ptr<Provider>> MakeProvider(const ProviderConfig& config,
                                                       const ProviderContext& context);

}  // namespace marketpipe

#endif  // MARKETPIPE_PROVIDERS_REGISTRY_PROVIDER_REGISTRY_H_
