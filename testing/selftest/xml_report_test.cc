// The report is one well-formed document a real XML parser reads back exactly.

#include "testing/xml_report.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "testing/environment.h"
#include "testing/selftest/subprocess.h"

namespace mptest::kit_internal {
namespace {

using Status = CaseReport::Status;

selftest::ParsedReport RoundTrip(const std::vector<CaseReport>& cases) {
  const std::string path = CaseTempDir() + "/report.xml";
  std::ofstream(path) << RenderXmlReport(cases, 1.5);
  return selftest::ParseReport(path);
}

TEST(XmlReportTest, HostileStringsSurviveARealParser) {
  const std::string hostile = "<a href=\"x\">&amp; 'q' ]]> \t tab\nline2";
  CaseReport c;
  c.suite = "P/Suite<1>";
  c.name = "Case/\"0\"";
  c.status = Status::kFailed;
  c.failures = {hostile};
  c.output = "out & <err>";
  const selftest::ParsedReport r = RoundTrip({c});
  ASSERT_EQ(r.cases.count("P/Suite<1>.Case/\"0\""), 1u);
  const auto& parsed = r.cases.at("P/Suite<1>.Case/\"0\"");
  EXPECT_EQ(parsed.failures, std::vector<std::string>{hostile});
  EXPECT_EQ(parsed.system_out, "out & <err>");
}

TEST(XmlReportTest, CharactersXmlCannotCarryAreReplacedNotDropped) {
  EXPECT_EQ(XmlEscape(std::string("a\x01z")), "a\xEF\xBF\xBDz");
  EXPECT_EQ(XmlEscape("\xff"), "\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("\xC3\xA9"), "\xC3\xA9");  // é stays
  CaseReport c;
  c.suite = "S";
  c.name = std::string("C\x1b[0m\xfe");
  EXPECT_NO_THROW(RoundTrip({c}));
}

TEST(XmlReportTest, OneSuiteElementPerSuiteWithTotals) {
  std::vector<CaseReport> cases(5);
  const char* suites[] = {"A", "B", "A", "C", "A"};
  const Status statuses[] = {Status::kPassed, Status::kFailed, Status::kSkipped, Status::kPassed,
                             Status::kFailed};
  for (int i = 0; i < 5; ++i) {
    cases[i].suite = suites[i];
    cases[i].name = "c" + std::to_string(i);
    cases[i].status = statuses[i];
  }
  const selftest::ParsedReport r = RoundTrip(cases);
  EXPECT_EQ(r.suites, (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(r.suite_tests.at("A"), 3);
  EXPECT_EQ(r.tests, 5);
  EXPECT_EQ(r.failures, 2);
  EXPECT_EQ(r.skipped, 1);
  EXPECT_EQ(r.cases.at("A.c2").result, "skipped");
  EXPECT_EQ(r.cases.at("B.c1").failures, std::vector<std::string>{"failed"});
}

}  // namespace
}  // namespace mptest::kit_internal
