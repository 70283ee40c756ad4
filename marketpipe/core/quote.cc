#include "marketpipe/core/quote.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace marketpipe::core_internal {

std::string Quote(std::string_view text) {
  constexpr size_t kMaxBytes = 64;
  const bool cut = text.size() > kMaxBytes;
  if (cut) text = text.substr(0, kMaxBytes);
  return absl::StrCat("\"", absl::CHexEscape(absl::string_view(text.data(), text.size())), "\"",
                      cut ? "..." : "");
}

}  // namespace marketpipe::core_internal
