#include "marketpipe/validation/report_csv.h"

#include <ostream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace marketpipe::validation {
namespace {

void AppendRow(std::string& out, const Issue& issue, const CsvOptions& options) {
  const std::string_view reason = ReasonName(issue.reason);
  absl::StrAppend(&out, CsvField(issue.symbol.value()), ",", issue.ts_ns, ",",
                  absl::string_view(reason.data(), reason.size()));
  if (options.detail_column) absl::StrAppend(&out, ",", CsvField(issue.detail));
  out += '\n';
}

std::string Header(const CsvOptions& options) {
  return options.detail_column ? "symbol,ts_ns,reason,detail\n" : "symbol,ts_ns,reason\n";
}

}  // namespace

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

ReportCsvWriter::ReportCsvWriter(std::ostream& out, CsvOptions options)
    : out_(&out), options_(options) {
  *out_ << Header(options_);
}

absl::Status ReportCsvWriter::Write(std::span<const Issue> issues) {
  if (absl::Status s = status(); !s.ok()) return s;
  std::string rows;
  for (const Issue& issue : issues) AppendRow(rows, issue, options_);
  out_->write(rows.data(), static_cast<std::streamsize>(rows.size()));
  return status();
}

absl::Status ReportCsvWriter::status() const {
  if (*out_) return absl::OkStatus();
  return absl::DataLossError("validation report: writing the CSV failed");
}

std::string FormatReportCsv(std::span<const Issue> issues, CsvOptions options) {
  std::string out = Header(options);
  for (const Issue& issue : issues) AppendRow(out, issue, options);
  return out;
}

}  // namespace marketpipe::validation
