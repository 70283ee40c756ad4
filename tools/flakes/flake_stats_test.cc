#include "tools/flakes/flake_stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace marketpipe::flakes {
namespace {

using ::testing::HasSubstr;

test_timing::CaseResult Pass(const std::string& name) { return {name, 1, false, false}; }
test_timing::CaseResult Fail(const std::string& name) { return {name, 1, true, false}; }

TEST(TallyTest, CountsRunsAndFailuresPerCaseAcrossShardsAndRuns) {
  std::vector<ShardRun> runs = {
      {"//a:t", 1, "11", {Pass("A.Stable"), Fail("A.Flaky")}},
      {"//a:t", 2, "22", {Pass("A.Stable"), Pass("A.Flaky")}},
      {"//b:t", 1, "44", {Fail("B.Broken")}},
      {"//a:t", 3, "", {Pass("A.Stable"), Fail("A.Flaky"), {"A.Off", 0, false, true}}},
      {"//b:t", 2, "55", {Fail("B.Broken")}},
  };
  std::vector<CaseStats> stats = Tally(runs);
  ASSERT_EQ(stats.size(), 3u);          // the skipped case is not counted
  EXPECT_EQ(stats[0].name, "A.Flaky");  // highest failure rate first within a target
  EXPECT_EQ(stats[0].runs, 3);
  EXPECT_EQ(stats[0].failures, 2);
  EXPECT_TRUE(stats[0].flaky());
  EXPECT_THAT(stats[0].failing_seeds, ::testing::ElementsAre("run 1 (seed 11)", "run 3"));
  EXPECT_EQ(stats[1].name, "A.Stable");
  EXPECT_FALSE(stats[1].flaky());
  EXPECT_EQ(stats[2].name, "B.Broken");
  EXPECT_TRUE(stats[2].always_fails());
  EXPECT_FALSE(stats[2].flaky());
}

TEST(FormatReportTest, ListsFailingCasesWithRatesAndSeedsThenTheVerdict) {
  std::vector<CaseStats> stats = Tally({{"//a:t", 1, "7", {Fail("A.Flaky"), Pass("A.Ok")}},
                                        {"//a:t", 2, "8", {Pass("A.Flaky"), Pass("A.Ok")}}});
  const std::string report = FormatReport(stats, 2);
  EXPECT_THAT(report, HasSubstr("FLAKY   50.0% (1/2)  A.Flaky  //a:t"));
  EXPECT_THAT(report, HasSubstr("failed in: run 1 (seed 7)"));
  EXPECT_THAT(report, ::testing::Not(HasSubstr("A.Ok  ")));
  EXPECT_THAT(report,
              HasSubstr("2 case(s) over 2 run(s) each: 1 flaky, 0 failing every time, 1 stable"));
}

TEST(SeedFromLogTest, FindsGtestsShuffleSeed) {
  EXPECT_EQ(SeedFromLog("Note: Google Test filter = *\nNote: Randomizing tests' orders with a seed "
                        "of 31337 .\n[==========] Running"),
            "31337");
  EXPECT_EQ(SeedFromLog("no shuffle here"), "");
}

}  // namespace
}  // namespace marketpipe::flakes
