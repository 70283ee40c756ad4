#include "marketpipe/core/bar.h"

#include <ostream>

#include "absl/strings/str_cat.h"
#include "marketpipe/core/time_format.h"

namespace marketpipe {

std::string Bar::ToString() const {
  return absl::StrCat(symbol.value(), " ", FormatRfc3339(ts_ns), " o=", open.ToString(),
                      " h=", high.ToString(), " l=", low.ToString(), " c=", close.ToString(),
                      " v=", volume, " n=", trade_count, " vwap=", vwap.ToString());
}

std::ostream& operator<<(std::ostream& os, const Bar& bar) { return os << bar.ToString(); }

}  // namespace marketpipe
