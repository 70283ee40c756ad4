#include "marketpipe/cli/query_output.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketpipe::cli {
namespace {

storage::QueryResult Sample() {
  storage::QueryResult r;
  r.columns = {"symbol", "ts_ns", "close", "note"};
  r.rows.push_back({std::string("AAPL"), int64_t{1704205800000000000}, storage::Decimal{"187.2350"},
                    std::monostate{}});
  r.rows.push_back(
      {std::string("BRK.B"), int64_t{7}, storage::Decimal{"0.1000"}, std::string("a,\"b\"\nc")});
  return r;
}

TEST(QueryOutputTest, TableIsAlignedWithHeaderRuleAndRowCount) {
  EXPECT_EQ(RenderQueryResult(Sample(), QueryFormat::kTable),
            "symbol                ts_ns     close  note\n"
            "------  -------------------  --------  --------\n"
            "AAPL    1704205800000000000  187.2350  NULL\n"
            "BRK.B                     7    0.1000  a,\"b\"\\nc\n"
            "(2 rows)\n");
}

TEST(QueryOutputTest, CsvFollowsRfc4180) {
  EXPECT_EQ(RenderQueryResult(Sample(), QueryFormat::kCsv),
            "symbol,ts_ns,close,note\r\n"
            "AAPL,1704205800000000000,187.2350,\r\n"
            "BRK.B,7,0.1000,\"a,\"\"b\"\"\nc\"\r\n");
}

TEST(QueryOutputTest, JsonIsAnArrayOfObjectsWithExactDecimals) {
  EXPECT_EQ(RenderQueryResult(Sample(), QueryFormat::kJson),
            "[\n"
            "  {\"symbol\": \"AAPL\", \"ts_ns\": 1704205800000000000, \"close\": 187.2350, "
            "\"note\": null},\n"
            "  {\"symbol\": \"BRK.B\", \"ts_ns\": 7, \"close\": 0.1000, "
            "\"note\": \"a,\\\"b\\\"\\nc\"}\n"
            "]\n");
}

TEST(QueryOutputTest, EmptyResults) {
  storage::QueryResult r;
  r.columns = {"n"};
  EXPECT_EQ(RenderQueryResult(r, QueryFormat::kJson), "[]\n");
  EXPECT_EQ(RenderQueryResult(r, QueryFormat::kCsv), "n\r\n");
  EXPECT_EQ(RenderQueryResult(r, QueryFormat::kTable), "n\n-\n(0 rows)\n");
}

TEST(QueryOutputTest, RealsPrintShortestAndNonFiniteIsNullInJson) {
  storage::QueryResult r;
  r.columns = {"x"};
  r.rows = {{0.1}, {std::numeric_limits<double>::infinity()}};
  EXPECT_EQ(RenderQueryResult(r, QueryFormat::kCsv), "x\r\n0.1\r\ninf\r\n");
  EXPECT_EQ(RenderQueryResult(r, QueryFormat::kJson), "[\n  {\"x\": 0.1},\n  {\"x\": null}\n]\n");
}

TEST(QueryOutputTest, FormatNamesAreParsed) {
  EXPECT_EQ(*ParseQueryFormat("csv"), QueryFormat::kCsv);
  EXPECT_EQ(std::string(ParseQueryFormat("xml").status().message()),
            "--format: unknown format \"xml\" (allowed: table csv json)");
}

}  // namespace
}  // namespace marketpipe::cli
