#include "marketpipe/providers/alpaca/retry_after.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "absl/time/time.h"

namespace marketpipe::alpaca {
namespace {

// Longer waits than this are all "far too long" to the caller; saturating keeps them in range.
constexpr int64_t kMaxSeconds = 86'400LL * 365 * 100;

}  // namespace

std::optional<std::chrono::nanoseconds> ParseRetryAfter(std::string_view v, int64_t now_unix_ns) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t seconds = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (ec == std::errc::result_out_of_range) seconds = kMaxSeconds;
    return std::chrono::seconds(std::min(seconds, kMaxSeconds));
  }
  // IMF-fixdate first (what servers send), then the two obsolete forms RFC 9110 says to accept.
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",
      "%A, %d-%b-%y %H:%M:%S GMT",
      "%a %b %e %H:%M:%S %Y",
  };
  const std::string text(v);
  for (const char* format : kFormats) {
    absl::Time at;
    std::string error;
    if (!absl::ParseTime(format, text, absl::UTCTimeZone(), &at, &error)) continue;
    const absl::Duration wait = at - absl::FromUnixNanos(now_unix_ns);
    if (wait <= absl::ZeroDuration()) return std::chrono::nanoseconds(0);
    if (wait >= absl::Seconds(kMaxSeconds)) return std::chrono::seconds(kMaxSeconds);
    return absl::ToChronoNanoseconds(wait);
  }
  return std::nullopt;
}

}  // namespace marketpipe::alpaca
