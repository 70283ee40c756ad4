#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "testing/sharding.h"
#include "tools/test_timing/analysis.h"
#include "tools/test_timing/build_events.h"
#include "tools/test_timing/html_report.h"
#include "tools/test_timing/outputs.h"
#include "tools/test_timing/test_xml.h"

namespace marketpipe::test_timing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Tests run from the workspace root of their runfiles tree.
std::string ReadTestdata(const std::string& name) {
  std::ifstream in("tools/test_timing/testdata/" + name, std::ios::binary);
  EXPECT_TRUE(in) << "missing testdata " << name;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Event(const std::string& label, int shard, int64_t start, int64_t duration,
                  bool cached_remotely = false, const std::string& status = "PASSED") {
  return "{\"id\": {\"testResult\": {\"label\": \"" + label +
         "\", \"run\": 1, \"shard\": " + std::to_string(shard) +
         ", \"attempt\": 1}}, \"testResult\": {\"status\": \"" + status +
         "\", \"testAttemptStartMillisEpoch\": \"" + std::to_string(start) +
         "\", \"testAttemptDurationMillis\": \"" + std::to_string(duration) +
         "\", \"executionInfo\": {\"strategy\": \"" +
         (cached_remotely ? "remote cache hit\", \"cachedRemotely\": true" : "linux-sandbox\"") +
         "}}}\n";
}

TEST(ParseBuildEventsTest, ReadsTestResultsSummariesJobsAndProcessesFromARealFile) {
  auto events = ParseBuildEvents(ReadTestdata("run.bep.json"));
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->start_ms, 1796134346476);
  EXPECT_EQ(events->finish_ms, 1796134370098);
  EXPECT_EQ(events->jobs, 2);  // --local_test_jobs wins over --jobs
  ASSERT_EQ(events->tests.size(), 4u);
  const TestAction* slow = nullptr;
  for (const TestAction& t : events->tests) {
    if (t.label == "//marketpipe/core:time_format_test" && t.shard == 2) slow = &t;
  }
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->duration_ms, 1514);
  EXPECT_EQ(slow->strategy, "linux-sandbox");
  EXPECT_FALSE(slow->cached_remotely);
  EXPECT_EQ(slow->xml_path, "/testlogs/marketpipe/core/time_format_test/shard_2_of_2/test.xml");
  EXPECT_EQ(events->shard_count_by_label.at("//testing/selftest:sharding_test"), 2);
  ASSERT_TRUE(events->processes.known);
  EXPECT_EQ(events->processes.total, 389);
  EXPECT_EQ(events->processes.by_kind.at("remote cache hit"), 172);
  EXPECT_EQ(events->processes.by_kind.at("internal"), 187);
  EXPECT_EQ(events->processes.by_kind.at("linux-sandbox"), 30);
}

TEST(ParseBuildEventsTest, ALineThatIsNotJsonIsAnErrorNamingTheLine) {
  auto events = ParseBuildEvents(ReadTestdata("not_json_line.bep.json"));
  ASSERT_FALSE(events.ok());
  EXPECT_THAT(events.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(events.status().message(), HasSubstr("this is not json"));
}

TEST(ParseBuildEventsTest, AnIncompleteLastLineIsSkippedWithAWarning) {
  auto events = ParseBuildEvents(ReadTestdata("truncated_last_line.bep.json"));
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->start_ms, 1000);
  EXPECT_TRUE(events->tests.empty());
  ASSERT_EQ(events->warnings.size(), 1u);
  EXPECT_THAT(events->warnings[0], HasSubstr("line 2 is incomplete"));
}

TEST(ParseBuildEventsTest, AFieldOfTheWrongTypeIsAnErrorNamingIt) {
  auto events = ParseBuildEvents(ReadTestdata("wrong_type.bep.json"));
  ASSERT_FALSE(events.ok());
  EXPECT_THAT(events.status().message(), HasSubstr("line 1"));
  EXPECT_THAT(events.status().message(), HasSubstr("testAttemptDurationMillis"));
}

TEST(ParseBuildEventsTest, AnEventWithoutIdOrAJsonArrayIsAnError) {
  EXPECT_FALSE(ParseBuildEvents("{\"started\": {}}\n").ok());
  EXPECT_FALSE(ParseBuildEvents("[1, 2]\n").ok());
  EXPECT_FALSE(ParseBuildEvents("{\"id\": {\"testResult\": {}}, \"testResult\": {}}\n").ok());
}

TEST(FileUriToPathTest, DecodesPercentEscapesAndRejectsOtherSchemes) {
  EXPECT_EQ(FileUriToPath("file:///a%20b/test.xml"), "/a b/test.xml");
  EXPECT_EQ(FileUriToPath("bytestream://cache/blobs/abc/12"), "");
  EXPECT_EQ(FileUriToPath("file:///odd%2"), "/odd%2");
}

TEST(ParseTestXmlTest, ReadsGtestCasesWithSuiteDotNameAndMillis) {
  auto cases = ParseTestXml(ReadTestdata("gtest_shard.xml"));
  ASSERT_TRUE(cases.ok()) << cases.status();
  EXPECT_EQ(cases->size(), 57u);
  const CaseResult* slow = nullptr;
  for (const CaseResult& c : *cases) {
    if (c.name == "TimeFormatTest.EveryDayFrom1678To2261ParsesToConsecutiveMidnights") slow = &c;
  }
  ASSERT_NE(slow, nullptr);
  EXPECT_DOUBLE_EQ(slow->millis, 1208);
  EXPECT_FALSE(slow->failed);
  // Parameterized names keep their prefix and index, as --gtest_filter spells them.
  EXPECT_EQ((*cases)[3].name, "ValidTimestamps/ParseRfc3339AcceptsTest.GivesUtcNanos/1");
}

TEST(ParseTestXmlTest, ReadsFailuresAndSkips) {
  auto cases = ParseTestXml(ReadTestdata("failures_and_skips.xml"));
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_EQ(cases->size(), 3u);
  EXPECT_FALSE((*cases)[0].failed);
  EXPECT_TRUE((*cases)[1].failed);
  EXPECT_DOUBLE_EQ((*cases)[1].millis, 500);
  EXPECT_TRUE((*cases)[2].skipped);
}

TEST(ParseTestXmlTest, ReadsTheXmlBazelWritesForACrashedTestAsOneFailedCase) {
  auto cases = ParseTestXml(ReadTestdata("bazel_generated_error.xml"));
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_TRUE((*cases)[0].failed);
  EXPECT_DOUBLE_EQ((*cases)[0].millis, 2000);
}

TEST(ParseTestXmlTest, TruncatedXmlIsAnError) {
  auto cases = ParseTestXml(ReadTestdata("truncated.xml"));
  ASSERT_FALSE(cases.ok());
  EXPECT_THAT(cases.status().message(), HasSubstr("not XML"));
}

TEST(ParseTestXmlTest, ANegativeTimeIsAnErrorNamingTheCase) {
  auto cases = ParseTestXml(ReadTestdata("bad_time.xml"));
  ASSERT_FALSE(cases.ok());
  EXPECT_THAT(cases.status().message(), HasSubstr("PriceTest.RejectsJunk"));
  EXPECT_THAT(cases.status().message(), HasSubstr("-1"));
}

TEST(ParseTestXmlTest, AnotherRootElementOrANamelessCaseIsAnError) {
  EXPECT_FALSE(ParseTestXml("<html><body/></html>").ok());
  EXPECT_FALSE(ParseTestXml("<testsuites><testsuite name=\"S\"><testcase time=\"1\"/>"
                            "</testsuite></testsuites>")
                   .ok());
}

class AnalyzeTest : public ::testing::Test {
 protected:
  // Two jobs: a:t shards 1+2 (600 + 200 ms), b:t (1000 ms) and c:t served from the cache.
  void SetUp() override {
    auto events =
        ParseBuildEvents(Event("//a:t", 1, 1000, 600) + Event("//a:t", 2, 1000, 200) +
                         Event("//b:t", 1, 1200, 1000) + Event("//c:t", 1, 1100, 5, true));
    ASSERT_TRUE(events.ok()) << events.status();
    events_ = *events;
    events_.jobs = 2;
    cases_[{"//a:t", 1, 1, 1}] = {{"A.Slow", 500}, {"A.Quick", 50}};
    cases_[{"//a:t", 1, 2, 1}] = {{"A.Other", 100}};
    cases_[{"//b:t", 1, 1, 1}] = {{"B.Only", 900}};
    cases_[{"//c:t", 1, 1, 1}] = {{"C.Cached", 3000}};
  }
  BuildEvents events_;
  std::map<ActionKey, std::vector<CaseResult>> cases_;
};

TEST_F(AnalyzeTest, RanksTargetsAndCasesSlowestFirst) {
  Report r = Analyze(events_, cases_, 0);
  ASSERT_EQ(r.targets.size(), 3u);
  // c:t was cached: ranked by its case time.
  EXPECT_EQ(r.targets[0].label, "//c:t");
  EXPECT_FALSE(r.targets[0].executed);
  EXPECT_EQ(r.targets[1].label, "//b:t");
  EXPECT_EQ(r.targets[2].label, "//a:t");
  EXPECT_DOUBLE_EQ(r.targets[2].time_ms, 800);
  ASSERT_GE(r.cases.size(), 2u);
  EXPECT_EQ(r.cases[0].name, "C.Cached");
  EXPECT_EQ(r.cases[1].name, "B.Only");
}

TEST_F(AnalyzeTest, ImbalanceIsMaxOverMeanShardTime) {
  Report r = Analyze(events_, cases_, 0);
  const TargetTiming& a = r.targets[2];
  EXPECT_THAT(a.shard_ms, ElementsAre(600, 200));
  EXPECT_DOUBLE_EQ(a.imbalance, 1.5);
  EXPECT_DOUBLE_EQ(r.targets[1].imbalance, 1.0);
}

TEST_F(AnalyzeTest, EfficiencyIsBusyTimeOverWallTimesJobs) {
  Report r = Analyze(events_, cases_, 0);
  // Executed: 600 + 200 + 1000 ms between 1000 and 2200: 1800 / (1200 x 2).
  EXPECT_DOUBLE_EQ(r.test_busy_ms, 1800);
  EXPECT_DOUBLE_EQ(r.test_wall_ms, 1200);
  EXPECT_DOUBLE_EQ(r.efficiency, 0.75);
  EXPECT_DOUBLE_EQ(Analyze(events_, cases_, 3).efficiency, 0.5);
}

TEST(AnalyzeWallTest, TimeWithoutAnyTestRunningIsNotTestWallTime) {
  // Two tests 10 s apart (compiles in between): wall = 1000 + 500 ms, not 10.5 s.
  auto events = ParseBuildEvents(Event("//a:t", 1, 0, 1000) + Event("//b:t", 1, 10000, 500));
  ASSERT_TRUE(events.ok());
  Report r = Analyze(*events, {}, 2);
  EXPECT_DOUBLE_EQ(r.test_wall_ms, 1500);
  EXPECT_DOUBLE_EQ(r.efficiency, 0.5);
}

TEST_F(AnalyzeTest, ShardOverheadIsTheMedianOfActionMinusCaseTime) {
  Report r = Analyze(events_, cases_, 0);
  // 600-550 = 50, 200-100 = 100, 1000-900 = 100.
  ASSERT_TRUE(r.shard_overhead_ms.has_value());
  EXPECT_DOUBLE_EQ(*r.shard_overhead_ms, 100);
}

TEST_F(AnalyzeTest, CountsRemoteCacheHitsForTestsAndActions) {
  events_.processes = {true, 10, {{"remote cache hit", 6}, {"internal", 2}, {"linux-sandbox", 2}}};
  Report r = Analyze(events_, cases_, 0);
  EXPECT_EQ(r.tests_cached_remotely, 1);
  EXPECT_EQ(FormatCacheLine(r), "actions 6/8 (75.0%), test results 1/4 (25.0%)");
  EXPECT_THAT(FormatText(r, 5), HasSubstr("Parallel efficiency: 75%"));
}

TEST_F(AnalyzeTest, ManifestRoundTripsThroughTheTestMainsParser) {
  const std::string text = ManifestText(events_, cases_, "from a test");
  ::mptest::sharding::Timings timings;
  std::string error;
  ASSERT_TRUE(::mptest::sharding::ParseManifest(text, "//a:t", &timings, &error)) << error;
  EXPECT_EQ(timings.millis_by_case.size(), 3u);
  EXPECT_DOUBLE_EQ(timings.millis_by_case.at("A.Slow"), 500);
  EXPECT_DOUBLE_EQ(timings.millis_by_case.at("A.Other"), 100);
  EXPECT_EQ(timings.millis_by_case.count("B.Only"), 0u);
}

TEST_F(AnalyzeTest, ManifestUsesTheLastAttemptAndLeavesOutSkippedCases) {
  auto retry = ParseBuildEvents(
      "{\"id\": {\"testResult\": {\"label\": \"//b:t\", \"run\": 1, \"shard\": 1, \"attempt\": 2}},"
      " \"testResult\": {\"status\": \"PASSED\"}}\n");
  ASSERT_TRUE(retry.ok());
  events_.tests.push_back(retry->tests[0]);
  cases_[{"//b:t", 1, 1, 2}] = {{"B.Only", 40}, {"B.Disabled", 0, false, true}};
  const std::string text = ManifestText(events_, cases_, "x");
  EXPECT_THAT(text, HasSubstr("//b:t\tB.Only\t40\n"));
  EXPECT_THAT(text, Not(HasSubstr("B.Disabled")));
}

TEST_F(AnalyzeTest, ImbalanceChangeListsTargetsShardedInEitherRun) {
  Report before = Analyze(events_, cases_, 0);
  auto after_events = ParseBuildEvents(Event("//a:t", 1, 1000, 400) + Event("//a:t", 2, 1000, 380) +
                                       Event("//b:t", 1, 1200, 1000));
  ASSERT_TRUE(after_events.ok());
  const std::string text = FormatImbalanceChange(before, Analyze(*after_events, {}, 2));
  EXPECT_THAT(text, HasSubstr("//a:t"));
  EXPECT_THAT(text, HasSubstr("before 1.50 (600 / 200 ms)"));
  EXPECT_THAT(text, HasSubstr("after 1.03 (400 / 380 ms)"));
  EXPECT_THAT(text, Not(HasSubstr("//b:t")));
  EXPECT_EQ(FormatImbalanceChange(Report{}, Report{}), "");
}

TEST(ShardCountForTest, ShardsOnlyWhenEachShardCarriesEnoughWork) {
  // Fixed cost 100 ms, each shard must carry 4x that; cases of at most 10 ms.
  EXPECT_EQ(ShardCountFor(0, 0, 100, 4, 2), 1);
  EXPECT_EQ(ShardCountFor(799, 10, 100, 4, 2), 1);
  EXPECT_EQ(ShardCountFor(800, 10, 100, 4, 2), 2);
  EXPECT_EQ(ShardCountFor(5000, 10, 100, 4, 2), 2);  // capped
  EXPECT_EQ(ShardCountFor(5000, 10, 100, 4, 8), 8);
  EXPECT_EQ(ShardCountFor(5000, 10, 0, 4, 8), 8);  // a zero cost counts as 1 ms
}

TEST(ShardCountForTest, NeverMoreShardsThanTheLongestCaseLeavesWorkFor) {
  // One case is most of the target: a second shard would carry only the fixed cost.
  EXPECT_EQ(ShardCountFor(633, 623, 10, 4, 4), 1);
  EXPECT_EQ(ShardCountFor(1710, 628, 10, 4, 4), 2);  // 628 + 628 + 454: 2 shards of >= 628
  EXPECT_EQ(ShardCountFor(1256, 628, 10, 4, 4), 2);
  EXPECT_EQ(ShardCountFor(1255, 628, 10, 4, 4), 1);
}

TEST_F(AnalyzeTest, ShardCountsBzlListsEveryTargetSorted) {
  cases_[{"//c:t", 1, 1, 1}] = {{"C.One", 1000}, {"C.Two", 1000}, {"C.Three", 1000}};
  const std::string bzl = ShardCountsBzl(Analyze(events_, cases_, 0), 100, 4, 2, "from a test");
  EXPECT_THAT(bzl, HasSubstr("SHARD_COUNTS = {\n"
                             "    \"//a:t\": 1,  # 650 ms of cases\n"
                             "    \"//b:t\": 1,  # 900 ms of cases\n"  // one case: not split
                             "    \"//c:t\": 2,  # 3000 ms of cases\n"
                             "}\n"));
}

TEST_F(AnalyzeTest, TimelinePutsOverlappingActionsOnSeparateLanes) {
  std::vector<int> lanes = AssignLanes(events_);
  // a:t#1 [1000,1600) lane 0, a:t#2 [1000,1200) lane 1, c:t [1100,1105) lane 2, b:t [1200,..)
  // lane 1.
  EXPECT_THAT(lanes, ElementsAre(0, 1, 1, 2));
}

TEST_F(AnalyzeTest, HtmlIsSelfContainedWithEscapedNames) {
  cases_[{"//a:t", 1, 1, 1}].push_back({"A.Compares<int>", 700});
  const std::string html = RenderHtml(events_, Analyze(events_, cases_, 0), 10);
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("A.Compares&lt;int&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("A.Compares<int>")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http")));  // nothing fetched
}

}  // namespace
}  // namespace marketpipe::test_timing
