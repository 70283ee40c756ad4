#ifndef MARKETPIPE_STORAGE_STORE_INTERNAL_H_
#define MARKETPIPE_STORAGE_STORE_INTERNAL_H_

// What SqliteStore and PostgresStore share: argument checks and messages, so both stores
// accept and refuse exactly the same things with the same words.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/timeframe.h"
#include "marketpipe/storage/store.h"

namespace marketpipe::storage::internal {

// Debian's Abseil has its own string_view: this passes a std::string_view to absl functions.
inline absl::string_view Sv(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}
template <typename T>
const T& CatArg(const T& value) {
  return value;
}
inline absl::string_view CatArg(std::string_view text) { return Sv(text); }
// absl::StrCat that also takes std::string_view.
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(CatArg(args)...);
}

// OK when `sql` starts (after blanks, comments and '(') with SELECT, WITH or VALUES; otherwise
// INVALID_ARGUMENT quoting the start of it. The stores also refuse writes by other means (a
// read-only connection or transaction); this gives the clear message for the common case.
absl::Status CheckReadOnlyStart(std::string_view sql);

// True when `tail` (what follows the first statement) holds only blanks, ';' and comments.
bool IsOnlyBlanksAndComments(std::string_view tail);

// "provider=alpaca feed=iex adjustment=raw".
std::string ProvenanceText(const Provenance& provenance);

// FAILED_PRECONDITION naming the series and both provenances.
absl::Status ProvenanceMismatch(const Symbol& symbol, Timeframe timeframe, const Provenance& stored,
                                const Provenance& incoming);

absl::Status ValidateProvenance(const Provenance& provenance);
absl::Status ValidatePageWrite(const PageWrite& write);
absl::Status ValidateJob(const JobRecord& job);
absl::Status ValidateQueryLimit(int64_t limit);

// Decimal text of a count of 1e-4 units: 1872350 -> "187.2350".
std::string UnitsText(int64_t units);

int64_t NowUnixNs();

// FAILED_PRECONDITION: job `id` would duplicate the RUNNING job `other`.
absl::Status DuplicateRunningJob(std::string_view id, std::string_view other);

// "job 'x' not found".
absl::Status JobNotFound(std::string_view id);

}  // namespace marketpipe::storage::internal

#endif  // MARKETPIPE_STORAGE_STORE_INTERNAL_H_
