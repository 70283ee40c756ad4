#include "marketpipe/core/symbol.h"

#include <ostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/core/quote.h"

namespace marketpipe {
namespace {

using core_internal::Quote;

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::Status Invalid(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid symbol ", Quote(text), ": ",
                                                 std::string(why),
                                                 " (must match ^[A-Z][A-Z0-9.]{0,9}$)"));
}

}  // namespace

absl::StatusOr<Symbol> Symbol::Parse(std::string_view text) {
  if (text.empty()) return Invalid(text, "empty");
  if (text.size() > kMaxLength) {
    return Invalid(
        text, absl::StrCat("too long (", text.size(), " characters, at most ", kMaxLength, ")"));
  }
  if (!IsUpper(text.front())) {
    return Invalid(text, "must start with an uppercase letter A-Z");
  }
  for (size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (!IsUpper(c) && !IsDigit(c) && c != '.') {
      return Invalid(text, absl::StrCat("character ", Quote(text.substr(i, 1)), " at position ", i,
                                        " is not A-Z, 0-9 or '.'"));
    }
  }
  return Symbol(std::string(text));
}

std::ostream& operator<<(std::ostream& os, const Symbol& symbol) { return os << symbol.value(); }

}  // namespace marketpipe
