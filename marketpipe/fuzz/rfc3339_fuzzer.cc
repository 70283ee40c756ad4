// ParseRfc3339 / ParseIsoDate on arbitrary text: every accepted instant formats back to text that
// parses to the same instant, and every rejection is InvalidArgument or OutOfRange. The first
// eight bytes, read as an int64, also check FormatRfc3339 -> ParseRfc3339 for any instant.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/fuzz/fuzz_check.h"

namespace {

void CheckRoundTrip(int64_t ns) {
  const std::string text = marketpipe::FormatRfc3339(ns);
  const auto back = marketpipe::ParseRfc3339(text);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(*back == ns);
}

void CheckRejection(const absl::Status& s) {
  FUZZ_CHECK(absl::IsInvalidArgument(s) || absl::IsOutOfRange(s));
  FUZZ_CHECK(!s.message().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto ns = marketpipe::ParseRfc3339(text); ns.ok()) {
    CheckRoundTrip(*ns);
  } else {
    CheckRejection(ns.status());
  }
  if (const auto day = marketpipe::ParseIsoDate(text); day.ok()) {
    FUZZ_CHECK(*day % (int64_t{86'400} * 1'000'000'000) == 0);
    CheckRoundTrip(*day);
  } else {
    CheckRejection(day.status());
  }
  if (size >= sizeof(int64_t)) {
    int64_t ns;
    std::memcpy(&ns, data, sizeof ns);
    CheckRoundTrip(ns);
  }
  return 0;
}
