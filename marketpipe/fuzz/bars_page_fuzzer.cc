// The Alpaca bars page parser on arbitrary bytes. Beyond "no crash, no sanitizer report": the
// in-place parse (the hot path on a response body), the copying parse and the parse with the
// fast path for Alpaca's exact bar shape off all agree exactly, the in-place parse leaves the
// body's contents alone, and an error is a clean Status.
#include <cstdint>
#include <string>
#include <string_view>

#include "marketpipe/fuzz/fuzz_check.h"
#include "marketpipe/providers/alpaca/bars_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto copied = marketpipe::alpaca::ParseBarsPage(text, "page 1");
  std::string body(text);
  const auto in_place = marketpipe::alpaca::ParseBarsPage(&body, "page 1");
  FUZZ_CHECK(body == text);
  const auto general = marketpipe::alpaca::internal::ParseBarsPage(&body, "page 1", false);
  FUZZ_CHECK(body == text);
  FUZZ_CHECK(copied.ok() == in_place.ok());
  FUZZ_CHECK(copied.ok() == general.ok());
  if (copied.ok()) {
    FUZZ_CHECK(copied->bars == in_place->bars);
    FUZZ_CHECK(copied->bars == general->bars);
    FUZZ_CHECK(copied->next_page_token == in_place->next_page_token);
    FUZZ_CHECK(copied->next_page_token == general->next_page_token);
    FUZZ_CHECK(!copied->next_page_token || !copied->next_page_token->empty());
  } else {
    FUZZ_CHECK(copied.status() == in_place.status());
    FUZZ_CHECK(copied.status() == general.status());
    FUZZ_CHECK(!copied.status().message().empty());
  }
  return 0;
}
