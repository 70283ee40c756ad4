// Price::Parse (both modes) and Price::FromDouble on arbitrary input: strict acceptance implies
// the same lenient result, every parsed price is non-negative and survives
// Parse(ToString()), and every rejection is InvalidArgument or OutOfRange.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "absl/status/status.h"
#include "marketpipe/core/price.h"
#include "marketpipe/fuzz/fuzz_check.h"

namespace {

using marketpipe::Price;

void CheckPrice(Price p) {
  FUZZ_CHECK(p.units() >= 0);
  const auto back = Price::Parse(p.ToString());
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(*back == p);
}

void CheckRejection(const absl::Status& s) {
  FUZZ_CHECK(absl::IsInvalidArgument(s) || absl::IsOutOfRange(s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto strict = Price::Parse(text, Price::ParseMode::kStrict);
  const auto lenient = Price::Parse(text, Price::ParseMode::kLenient);
  if (strict.ok()) {
    FUZZ_CHECK(lenient.ok());
    FUZZ_CHECK(*lenient == *strict);
  } else {
    CheckRejection(strict.status());
  }
  if (lenient.ok()) {
    CheckPrice(*lenient);
  } else {
    CheckRejection(lenient.status());
  }
  if (size == sizeof(double)) {
    double d;
    std::memcpy(&d, data, sizeof d);
    if (const auto p = Price::FromDouble(d); p.ok()) {
      CheckPrice(*p);
    } else {
      CheckRejection(p.status());
    }
  }
  return 0;
}
