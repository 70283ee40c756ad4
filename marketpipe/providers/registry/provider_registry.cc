#include "marketpipe/providers/registry/provider_registry.h"

#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "marketpipe/net/client/http_client.h"
#include "marketpipe/providers/alpaca/alpaca_client.h"
#include "marketpipe/providers/fake/fake_provider.h"
#include "marketpipe/providers/rate_limit/rate_limiter.h"

namespace marketpipe {
EnvLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

std::vector<std::string> ProviderNames() { return {"alpaca", "fake"}; }

absl::StatusOr<std::unique_ptr<Provider>> MakeProvider(const ProviderConfig& config,
                                                       const ProviderContext& context) {
  if (context.time == nullptr) return absl::InvalidArgumentError("provider: no time source");
  if (config.max_symbols_per_request < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "provider: symbols per request must be >= 1, got ", config.max_symbols_per_request));
  }
  if (config.name == "fake") {
    FakeProviderOptions options;
    options.all_hours = config.all_hours;
    if (config.max_symbols_per_request > 0) {
      options.max_symbols_per_request = config.max_symbols_per_request;
    }
    return std::unique_ptr<Provider>(std::make_unique<FakeProvider>(*context.time, options));
  }
  if (config.name != "alpaca") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown provider \"", config.name,
                     "\"; known providers: ", absl::StrJoin(ProviderNames(), ", ")));
  }
  const EnvLookup env = context.env ? context.env : ProcessEnvironment();
  auto key = env("ALPACA_KEY");
  auto secret = env("ALPACA_SECRET");
  if (!key || !secret) {
    return absl::InvalidArgumentError(absl::StrCat(
        "provider alpaca needs credentials: set ", !key ? "ALPACA_KEY" : "",
        !key && !secret ? " and " : "", !secret ? "ALPACA_SECRET" : "", " in the environment"));
  }
  alpaca::AlpacaOptions options;
  options.key_id = *key;
  options.secret = *secret;
  options.feed = config.feed;
  options.max_symbols_per_request = config.max_symbols_per_request;
  if (!config.base_url.empty()) {
    options.base_url = config.base_url;
  } else if (auto url = env("ALPACA_BASE_URL")) {
    options.base_url = *url;
  }
  options.log = context.log;
  if (context.observers.request) {
    options.on_request = [observe =
                              context.observers.request](const alpaca::AlpacaRequestOutcome& r) {
      observe(r.status, r.latency);
    };
  }
  if (auto s = alpaca::ValidateOptions(options); !s.ok()) return s;
  auto limiter = RateLimiter::PerMinute(*context.time, config.requests_per_minute, config.burst);
  if (!limiter.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("provider alpaca: bad rate limit: ", limiter.status().message()));
  }
  if (context.observers.rate_limiter_wait) {
    (*limiter)->SetWaitObserver(context.observers.rate_limiter_wait);
  }
  // The client shares the HTTP client and limiter with its fetches, which keep them alive.
  auto http = std::make_shared<net::HttpClient>(context.executor, *context.time);
  auto client = alpaca::AlpacaClient::Create(std::move(http), *context.time,
                                             std::shared_ptr<RateLimiter>(*std::move(limiter)),
                                             std::move(options));
  if (!client.ok()) return client.status();
  return std::unique_ptr<Provider>(*std::move(client));
}

}  // namespace marketpipe
