#ifndef MARKETPIPE_VALIDATION_REPORT_CSV_H_
#define MARKETPIPE_VALIDATION_REPORT_CSV_H_

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "marketpipe/validation/validator.h"

namespace marketpipe::validation {

struct CsvOptions {
  // Adds a fourth column, `detail`, after the contract's three.
  bool detail_column = false;
};

// The validation report as CSV (DESIGN: `symbol,ts_ns,reason`): a header row, then one row
// per issue with ts_ns as an integer and the reason's ReasonName. Fields are quoted as RFC
// 4180 says (only when they hold a comma, a double quote, CR or LF; quotes doubled); rows end
// with "\n".
//
//   ReportCsvWriter csv(file);             // writes "symbol,ts_ns,reason\n"
//   csv.Write(verdict.issues);             // page by page, as the job runs
//   if (auto s = csv.status(); !s.ok()) ...
class ReportCsvWriter {
 public:
  // Writes the header to `out`, which must outlive the writer.
  explicit ReportCsvWriter(std::ostream& out, CsvOptions options = {});

  // Appends rows. DataLoss once the stream has failed (nothing more is written then).
  absl::Status Write(std::span<const Issue> issues);
  absl::Status Write(const Issue& issue) { return Write({&issue, 1}); }

  // OK while every write reached the stream; DataLoss after a failed one.
  absl::Status status() const;

 private:
  std::ostream* out_;
  CsvOptions options_;
};

// The whole report as one string (header included).
std::string FormatReportCsv(std::span<const Issue> issues, CsvOptions options = {});

// One CSV field, quoted when RFC 4180 requires it: `a,b` -> `"a,b"`, `say "hi"` ->
// `"say ""hi"""`.
std::string CsvField(std::string_view text);

}  // namespace marketpipe::validation

#endif  // MARKETPIPE_VALIDATION_REPORT_CSV_H_
