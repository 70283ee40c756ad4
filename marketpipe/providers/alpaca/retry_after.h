#ifndef MARKETPIPE_PROVIDERS_ALPACA_RETRY_AFTER_H_
#define MARKETPIPE_PROVIDERS_ALPACA_RETRY_AFTER_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace marketpipe::alpaca {

// How long an HTTP Retry-After header (RFC 9110 10.2.3) asks to wait, seen at `now_unix_ns`:
//   "120"                            delta-seconds (huge values saturate at 100 years)
//   "Wed, 21 Oct 2015 07:28:00 GMT"  IMF-fixdate; also the obsolete RFC 850
//                                    ("Wednesday, 21-Oct-15 07:28:00 GMT") and asctime
//                                    ("Wed Oct 21 07:28:00 2015") forms; a date in the past is 0
// Surrounding spaces are ignored. nullopt for anything else (the caller falls back to backoff).
std::optional<std::chrono::nanoseconds> ParseRetryAfter(std::string_view value,
                                                        int64_t now_unix_ns);

}  // namespace marketpipe::alpaca

#endif  // MARKETPIPE_PROVIDERS_ALPACA_RETRY_AFTER_H_
