// Retry-After parsing on arbitrary header values and clocks. Input: 8 bytes of `now` (int64 ns),
// then the header value. Invariants: a wait is never negative nor beyond the 100-year cap;
// surrounding spaces change nothing; a later `now` never asks for a longer wait; plain
// delta-seconds mean exactly that many seconds.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "marketpipe/fuzz/fuzz_check.h"
#include "marketpipe/providers/alpaca/retry_after.h"

namespace {

using marketpipe::alpaca::ParseRetryAfter;
using std::chrono::nanoseconds;

constexpr nanoseconds kCap = std::chrono::hours(24 * 366 * 100);

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < sizeof(int64_t)) return 0;
  int64_t now;
  std::memcpy(&now, data, sizeof now);
  const std::string_view value(reinterpret_cast<const char*>(data) + sizeof now, size - sizeof now);

  const auto wait = ParseRetryAfter(value, now);
  const auto padded = ParseRetryAfter(" " + std::string(value) + " ", now);
  FUZZ_CHECK(wait == padded);
  if (!wait) return 0;
  FUZZ_CHECK(*wait >= nanoseconds::zero());
  FUZZ_CHECK(*wait <= kCap);
  if (now <= INT64_MAX - 1'000'000'000) {
    const auto later = ParseRetryAfter(value, now + 1'000'000'000);
    FUZZ_CHECK(later.has_value());
    FUZZ_CHECK(*later <= *wait);
  }
  if (AllDigits(value) && value.size() <= 9) {
    FUZZ_CHECK(*wait == std::chrono::seconds(std::stoll(std::string(value))));
  }
  return 0;
}
