#include "marketpipe/validation/report_csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "marketpipe/core/symbol.h"

namespace marketpipe::validation {
namespace {

std::vector<Issue> TwoIssues() {
  return {
      Issue{*Symbol::Parse("AAPL"), 1704205800000000000, Reason::kExtremeMove,
            "close 160.0000 moved +60.00%"},
      Issue{*Symbol::Parse("BRK.B"), -60000000000, Reason::kNotOnBoundary, "say \"hi\", ok\r\n"},
  };
}

TEST(ReportCsvTest, HeaderAndRowsFollowTheContract) {
  EXPECT_EQ(FormatReportCsv(TwoIssues()),
            "symbol,ts_ns,reason\n"
            "AAPL,1704205800000000000,extreme_move\n"
            "BRK.B,-60000000000,not_on_boundary\n");
}

TEST(ReportCsvTest, EmptyReportIsJustTheHeader) {
  EXPECT_EQ(FormatReportCsv({}), "symbol,ts_ns,reason\n");
  EXPECT_EQ(FormatReportCsv({}, {.detail_column = true}), "symbol,ts_ns,reason,detail\n");
}

TEST(ReportCsvTest, DetailColumnIsQuotedPerRfc4180) {
  EXPECT_EQ(FormatReportCsv(TwoIssues(), {.detail_column = true}),
            "symbol,ts_ns,reason,detail\n"
            "AAPL,1704205800000000000,extreme_move,close 160.0000 moved +60.00%\n"
            "BRK.B,-60000000000,not_on_boundary,\"say \"\"hi\"\", ok\r\n\"\n");
}

TEST(ReportCsvTest, CsvFieldQuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("plain text"), "plain text");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("\""), "\"\"\"\"");
  EXPECT_EQ(CsvField("line\nbreak"), "\"line\nbreak\"");
  EXPECT_EQ(CsvField("carriage\rreturn"), "\"carriage\rreturn\"");
}

TEST(ReportCsvTest, WriterStreamsTheSameTextAsFormat) {
  std::ostringstream out;
  ReportCsvWriter writer(out, {.detail_column = true});
  const auto issues = TwoIssues();
  ASSERT_TRUE(writer.Write(issues[0]).ok());
  ASSERT_TRUE(writer.Write(std::span<const Issue>(issues).subspan(1)).ok());
  EXPECT_EQ(out.str(), FormatReportCsv(issues, {.detail_column = true}));
}

TEST(ReportCsvTest, FailedStreamIsDataLoss) {
  std::ostringstream out;
  ReportCsvWriter writer(out);
  out.setstate(std::ios::badbit);
  const absl::Status status = writer.Write(TwoIssues());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace marketpipe::validation
