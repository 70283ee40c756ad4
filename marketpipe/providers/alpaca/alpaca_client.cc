#include "marketpipe/providers/alpaca/alpaca_client.h"

#include <simdjson.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/providers/alpaca/bars_parser.h"
#include "marketpipe/providers/alpaca/retry_after.h"

namespace marketpipe::alpaca {
namespace {

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool IsRetryableStatus(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool IsRetryableTransportError(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsDataLoss(s);
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

// Server-controlled text for a log line or an error: C-escaped (no control characters, no
// quotes that end ours) and cut to `max` characters of the original.
std::string Escaped(std::string_view text, size_t max) {
  std::string out = absl::CHexEscape(std::string(text.substr(0, max)));
  if (text.size() > max) absl::StrAppend(&out, "...(", text.size(), " bytes)");
  return out;
}

std::string Seconds(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", std::chrono::duration<double>(d).count());
  return buf;
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
  if (o.feed != "iex" && o.feed != "sip") {
    return absl::InvalidArgumentError(
        absl::StrCat("alpaca: feed must be \"iex\" or \"sip\", got \"", o.feed, "\""));
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
  if (o.retry.max_retries < 0 || o.retry.initial_backoff.count() < 0 ||
      o.retry.max_backoff < o.retry.initial_backoff || o.retry.multiplier < 1 ||
      o.retry.jitter < 0 || o.retry.jitter >= 1) {
    return absl::InvalidArgumentError("alpaca: invalid retry policy");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AlpacaClient>> AlpacaClient::Create(net::HttpTransport& transport,
                                                                   TimeSource& time,
                                                                   RateLimiter& limiter,
                                                                   AlpacaOptions options) {
  if (auto s = ValidateOptions(options); !s.ok()) {
    return absl::Status(s.code(), MaskSecrets(std::string(s.message()), options.secret, ""));
  }
  std::unique_ptr<AlpacaClient> client(
      new AlpacaClient(transport, time, limiter, std::move(options)));
  // Base URL: scheme://host[:port][/prefix]
  const std::string url = client->options_.base_url;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("alpaca: base URL \"", url, "\" has no scheme (http:// or https://)"));
  }
  client->scheme_ = std::string(url.substr(0, sep));
  if (client->scheme_ != "http" && client->scheme_ != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("alpaca: base URL \"", url, "\": scheme must be http or https"));
  }
  std::string_view rest = std::string_view(url).substr(sep + 3);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  client->path_prefix_ = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!client->path_prefix_.empty() && client->path_prefix_.back() == '/') {
    client->path_prefix_.pop_back();
  }
  const size_t colon = authority.rfind(':');
  client->port_ = client->scheme_ == "https" ? 443 : 80;
  if (colon != std::string_view::npos) {
    std::string_view port_text = authority.substr(colon + 1);
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("alpaca: base URL \"", url, "\": bad port \"",
                                                     std::string(port_text), "\""));
    }
    client->port_ = static_cast<uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("alpaca: base URL \"", url, "\" has no host"));
  }
  client->host_ = std::string(authority);
  client->max_symbols_ = client->options_.max_symbols_per_request;
  if (client->max_symbols_ == 0) {
    // The longest target without symbols: timestamps with nanoseconds, the longest adjustment.
    const TimeRange widest = *TimeRange::Create(-1, 1'000'000'000LL * 86'400 * 365 * 100 + 1);
    const size_t fixed =
        client->PageTarget({}, widest, Timeframe::kFourHours, "iex", "dividend", "").size() +
        kPageTokenReserve + sizeof "&page_token=";
    // Each symbol costs its letters and a percent-encoded comma.
    const size_t per_symbol = Symbol::kMaxLength + 3;
    const size_t fit = fixed < kMaxTargetLength ? (kMaxTargetLength - fixed) / per_symbol : 0;
    client->max_symbols_ = static_cast<int>(
        std::clamp<size_t>(fit, 1, static_cast<size_t>(client->options_.page_limit)));
  }
  return client;
}

AlpacaClient::AlpacaClient(net::HttpTransport& transport, TimeSource& time, RateLimiter& limiter,
                           AlpacaOptions options)
    : transport_(transport),
      time_(time),
      limiter_(limiter),
      options_(std::move(options)),
      rng_(std::random_device{}()) {}

std::string AlpacaClient::PageTarget(const std::vector<Symbol>& symbols, const TimeRange& range,
                                     Timeframe timeframe, std::string_view feed,
                                     std::string_view adjustment,
                                     std::string_view page_token) const {
  std::string joined;
  for (const Symbol& symbol : symbols) {
    if (!joined.empty()) joined.push_back(',');
    joined += symbol.value();
  }
  std::string target = absl::StrCat(
      path_prefix_, "/v2/stocks/bars?symbols=", PercentEncode(joined),
      "&timeframe=", timeframe.AlpacaName(),
      "&start=", PercentEncode(FormatRfc3339(range.start_ns())),
      "&end=", PercentEncode(FormatRfc3339(range.end_ns())), "&limit=", options_.page_limit,
      "&adjustment=", PercentEncode(adjustment), "&feed=", PercentEncode(feed));
  if (!page_token.empty()) absl::StrAppend(&target, "&page_token=", PercentEncode(page_token));
  return target;
}

void AlpacaClient::Log(std::string_view line) const {
  const std::string masked = MaskSecrets(line, options_.secret, options_.key_id);
  if (options_.log) {
    options_.log(masked);
  } else {
    std::fprintf(stderr, "%s\n", masked.c_str());
  }
}

// The server's explanation: its JSON "message", else the start of the body. Masked before the
// cut (a cut through a secret would leave its prefix unmasked) and again after unescaping.
std::string AlpacaClient::ServerMessage(const net::HttpResponse& response) const {
  std::string text = MaskSecrets(response.body, options_.secret, options_.key_id);
  if (auto message = JsonMessage(text)) {
    return MaskSecrets(*message, options_.secret, options_.key_id);
  }
  text = text.substr(0, 200);
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text.empty() ? "(empty body)" : text;
}

absl::Status AlpacaClient::Masked(absl::Status status) const {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      MaskSecrets(std::string(status.message()), options_.secret, options_.key_id));
}

std::chrono::nanoseconds AlpacaClient::Backoff(int retry) {
  const RetryPolicy& p = options_.retry;
  double base = static_cast<double>(p.initial_backoff.count()) * std::pow(p.multiplier, retry - 1);
  base = std::min(base, static_cast<double>(p.max_backoff.count()));
  const double u =
      options_.random ? options_.random() : std::uniform_real_distribution<double>(0, 1)(rng_);
  const double factor = 1.0 - p.jitter + 2.0 * p.jitter * std::clamp(u, 0.0, 1.0);
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(base * factor)));
}

boost::asio::awaitable<absl::StatusOr<net::HttpResponse>> AlpacaClient::GetWithRetries(
    net::HttpRequest request, std::string_view page) {
  const RetryPolicy& policy = options_.retry;
  int retries = 0;
  int retry_after_waits = 0;
  const std::string what = absl::StrCat("GET ", request.Url(), " (", std::string(page), ")");
  for (;;) {
    if (absl::Status s = co_await limiter_.Acquire(1); !s.ok()) co_return Masked(s);
    absl::StatusOr<net::HttpResponse> response = co_await transport_.Send(request);
    std::string failure;
    std::optional<std::chrono::nanoseconds> retry_after;
    if (!response.ok()) {
      if (!IsRetryableTransportError(response.status())) co_return Masked(response.status());
      failure = std::string(response.status().message());
    } else if (response->status >= 200 && response->status < 300) {
      co_return response;
    } else if (IsRetryableStatus(response->status)) {
      failure = absl::StrCat("HTTP ", response->status, ": ", ServerMessage(*response));
      if (auto header = response->headers.Get("Retry-After")) {
        retry_after = ParseRetryAfter(*header, time_.UnixNanos());
        if (!retry_after) {
          Log(absl::StrCat("alpaca: ", what, ": ignoring malformed Retry-After \"",
                           MaskSecrets(*header, options_.secret, options_.key_id).substr(0, 40),
                           "\""));
        }
      }
    } else {
      const std::string message = absl::StrCat("alpaca: ", what, " -> HTTP ", response->status,
                                               ": ", ServerMessage(*response));
      switch (response->status) {
        case 401:
          co_return Masked(absl::UnauthenticatedError(message));
        case 403:
          co_return Masked(absl::PermissionDeniedError(message));
        case 404:
          co_return Masked(absl::NotFoundError(message));
        case 422:
        case 400:
          co_return Masked(absl::InvalidArgumentError(message));
        default:
          co_return Masked(absl::UnknownError(message));
      }
    }

    if (retry_after) {
      if (*retry_after > policy.max_retry_after) {
        co_return Masked(absl::ResourceExhaustedError(
            absl::StrCat("alpaca: ", what, ": server asked to retry after ", Seconds(*retry_after),
                         ", more than the limit ", Seconds(policy.max_retry_after))));
      }
      if (++retry_after_waits > policy.max_retry_after_waits) {
        co_return Masked(absl::ResourceExhaustedError(
            absl::StrCat("alpaca: ", what, ": still throttled after ", policy.max_retry_after_waits,
                         " Retry-After waits; last: ", failure)));
      }
      // Honoured through the shared limiter: every request of this provider waits, not only
      // this one. Not counted as a retry.
      limiter_.NotifyRetryAfter(*retry_after);
      Log(absl::StrCat("alpaca: ", what, ": ", failure, "; Retry-After ", Seconds(*retry_after)));
      continue;
    }
    if (retries >= policy.max_retries) {
      co_return Masked(absl::UnavailableError(absl::StrCat(
          "alpaca: ", what, ": giving up after ", retries, " retries; last error: ", failure)));
    }
    ++retries;
    const auto wait = Backoff(retries);
    Log(absl::StrCat("alpaca: ", what, ": ", failure, "; retry ", retries, "/", policy.max_retries,
                     " in ", Seconds(wait)));
    bool cancelled = false;
    try {
      co_await time_.SleepFor(wait);
    } catch (const boost::system::system_error& e) {
      if (e.code() != boost::asio::error::operation_aborted) throw;
      cancelled = true;
    }
    if (cancelled) {
      co_return absl::CancelledError(absl::StrCat("alpaca: ", what, ": cancelled during backoff"));
    }
  }
}

boost::asio::awaitable<absl::Status> AlpacaClient::Fetch(FetchRequest request, PageSink sink) {
  if (absl::Status s = ValidateFetchRequest(request, max_symbols_, "alpaca"); !s.ok()) co_return s;
  const std::string feed = request.feed.empty() ? options_.feed : request.feed;
  if (feed != "iex" && feed != "sip") {
    co_return absl::InvalidArgumentError(
        absl::StrCat("alpaca: feed must be \"iex\" or \"sip\", got \"", Escaped(feed, 20), "\""));
  }
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
    http.scheme = scheme_;
    http.host = host_;
    http.port = port_;
    http.target =
        PageTarget(symbols, request.range, request.timeframe, feed, request.adjustment, token);
    http.headers.Add("APCA-API-KEY-ID", options_.key_id);
    http.headers.Add("APCA-API-SECRET-KEY", options_.secret);
    http.headers.Add("Accept", "application/json");
    auto response = co_await GetWithRetries(std::move(http), page);
    if (!response.ok()) co_return response.status();
    auto parsed = ParseBarsPage(&response->body, page);
    if (!parsed.ok()) co_return Masked(parsed.status());

    // Sorted by symbol as Alpaca promises; a stable sort keeps each symbol's bars as sent.
    std::stable_sort(parsed->bars.begin(), parsed->bars.end(),
                     [](const Bar& a, const Bar& b) { return a.symbol < b.symbol; });
    FetchPage out;
    out.feed = feed;
    out.adjustment = request.adjustment;
    out.index = index;
    out.bars.reserve(parsed->bars.size());
    size_t highest = done;  // one past the last symbol this page holds bars of
    std::vector<std::pair<size_t, int64_t>> moved;  // (symbol, latest ts) of this page
    for (Bar& bar : parsed->bars) {
      const auto it = std::lower_bound(symbols.begin(), symbols.end(), bar.symbol);
      // A bar for a symbol not asked for means the response does not answer this request (a
      // mixed-up cache or proxy); dropping it would hide that, so the fetch fails.
      if (it == symbols.end() || *it != bar.symbol) {
        co_return Masked(absl::DataLossError(absl::StrCat("alpaca: ", page, ": bar for ",
                                                          Escaped(bar.symbol.value(), 16),
                                                          ", a symbol not requested")));
      }
      const size_t i = static_cast<size_t>(it - symbols.begin());
      if (i < done) {
        co_return Masked(absl::DataLossError(absl::StrCat(
            "alpaca: ", page, ": bars for ", bar.symbol.value(),
            " after a page that held later symbols (pages must be sorted by symbol)")));
      }
      if (bar.ts_ns <= last_ts[i]) {
        co_return Masked(absl::DataLossError(
            absl::StrCat("alpaca: ", page, ": ", bar.symbol.value(), " bar at ",
                         FormatRfc3339(bar.ts_ns), " is not after the previous page's last bar at ",
                         FormatRfc3339(last_ts[i]), " (pages must move forward)")));
      }
      if (moved.empty() || moved.back().first != i) moved.emplace_back(i, bar.ts_ns);
      moved.back().second = std::max(moved.back().second, bar.ts_ns);
      highest = i;
      // Alpaca's `end` is inclusive: a bar stamped exactly `end` (or anything outside the range
      // a server sends) is not ours to deliver.
      if (request.range.Contains(bar.ts_ns)) out.bars.push_back(std::move(bar));
    }
    for (const auto& [i, ts] : moved) last_ts[i] = ts;
    const bool last_page = !parsed->next_page_token.has_value();
    if (!last_page && parsed->bars.empty()) {
      co_return Masked(absl::DataLossError(absl::StrCat(
          "alpaca: ", page, ": empty page with a next_page_token (pages must move forward)")));
    }
    // The bars of every symbol before the page's last one have stopped.
    const size_t complete_to = last_page ? symbols.size() : highest;
    for (; done < complete_to; ++done) out.completed.push_back(symbols[done]);

    absl::Status delivered;
    try {
      delivered = co_await sink(std::move(out));
    } catch (const boost::system::system_error& e) {
      if (e.code() != boost::asio::error::operation_aborted) throw;
      co_return absl::CancelledError(absl::StrCat("alpaca: fetch cancelled after ", page));
    }
    if (!delivered.ok() || last_page) co_return delivered;
    auto state = co_await boost::asio::this_coro::cancellation_state;
    if (state.cancelled() != boost::asio::cancellation_type::none) {
      co_return absl::CancelledError(absl::StrCat("alpaca: fetch cancelled after ", page));
    }
    if (!seen_tokens.insert(*parsed->next_page_token).second) {
      co_return Masked(absl::DataLossError(
          absl::StrCat("alpaca: ", page, ": server repeated next_page_token \"",
                       Escaped(*parsed->next_page_token, 64), "\" (pagination loop)")));
    }
    token = *std::move(parsed->next_page_token);
  }
}

}  // namespace marketpipe::alpaca
