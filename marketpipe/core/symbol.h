#ifndef MARKETPIPE_CORE_SYMBOL_H_
#define MARKETPIPE_CORE_SYMBOL_H_

#include <compare>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace marketpipe {

// A ticker symbol matching ^[A-Z][A-Z0-9.]{0,9}$ ("AAPL", "BRK.B"). Symbols are exact:
// "aapl" is rejected rather than uppercased, so the same text is stored that was asked for.
//
// Regular value type: copyable, ordered by text, hashable with absl::Hash and std::hash.
class Symbol {
 public:
  static constexpr size_t kMaxLength = 10;

  // The empty symbol. It is not a valid ticker (Parse never returns it); it exists so that
  // Symbol, and structs holding one such as Bar, can be default-constructed.
  Symbol() = default;

  // InvalidArgument, naming the quoted text and what is wrong with it, unless `text`
  // matches ^[A-Z][A-Z0-9.]{0,9}$.
  static absl::StatusOr<Symbol> Parse(std::string_view text);

  const std::string& value() const { return value_; }
  const std::string& ToString() const { return value_; }
  bool empty() const { return value_.empty(); }

  friend bool operator==(const Symbol&, const Symbol&) = default;
  friend std::strong_ordering operator<=>(const Symbol&, const Symbol&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const Symbol& symbol) {
    return H::combine(std::move(h), symbol.value_);
  }

 private:
  explicit Symbol(std::string value) : value_(std::move(value)) {}

  std::string value_;
};

std::ostream& operator<<(std::ostream& os, const Symbol& symbol);

}  // namespace marketpipe

template <>
struct std::hash<marketpipe::Symbol> {
  size_t operator()(const marketpipe::Symbol& symbol) const {
    return std::hash<std::string>()(symbol.value());
  }
};

#endif  // MARKETPIPE_CORE_SYMBOL_H_
