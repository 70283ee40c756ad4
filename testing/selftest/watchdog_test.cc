// The per-case budget: a stuck async case fails by name with its pending work, and the
// remaining cases still run; a case that leaves work pending fails and says so.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "testing/environment.h"
#include "testing/selftest/subprocess.h"

namespace testing::selftest {
namespace {

ChildResult RunMisbehaving(const std::string& filter) {
  return RunChild({RunfilesPath("testing/selftest/kit_fixture_cases"), "--gtest_filter=" + filter,
                   "--mp_case_timeout=0.3"},
                  {});
}

TEST(WatchdogTest, StuckAsyncCaseFailsByNameAndTheNextCaseRuns) {
  ChildResult r = RunMisbehaving("Misbehaving.AwaitsForever:Misbehaving.RunsAfterTheStuckOne");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("in case Misbehaving.AwaitsForever"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("external wait: reply from a peer that never answers"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("virtual timer #0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("RAN Misbehaving.RunsAfterTheStuckOne"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[  FAILED  ] Misbehaving.AwaitsForever"), std::string::npos);
  EXPECT_EQ(r.output.find("[  FAILED  ] Misbehaving.RunsAfterTheStuckOne"), std::string::npos);
}

TEST(WatchdogTest, CaseThatLeavesATimerPendingFails) {
  ChildResult r = RunMisbehaving("Misbehaving.LeavesTimerPending");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("async work left pending when the case ended in "
                          "Misbehaving.LeavesTimerPending"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("due at t=5s"), std::string::npos) << r.output;
}

TEST(WatchdogTest, CaseThatLeavesAnOperationOutsideVirtualTimePendingFails) {
  ChildResult r = RunMisbehaving("LeavesRealOperation.Pending");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("operations outside virtual time (sockets, real timers) are still "
                          "outstanding"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("[  FAILED  ] LeavesRealOperation.Pending"), std::string::npos);
}

TEST(WatchdogTest, ParkedCoroutinesAreUnwoundWhileTheFixtureIsAlive) {
  ChildResult r = RunMisbehaving("ParkedCoroutine.*");
  EXPECT_NE(r.output.find("UNWOUND member=alive"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("AddressSanitizer"), std::string::npos) << r.output;
  // It left a timer pending, which fails the case.
  EXPECT_NE(r.output.find("due at t=3600s"), std::string::npos) << r.output;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(WatchdogTest, CaseStuckOutsideTheLoopFailsByNameAndTheNextCaseRunsInAFreshProcess) {
  const std::string xml = CaseTempDir() + "/test.xml";
  ChildResult r = RunChild({RunfilesPath("testing/selftest/kit_fixture_cases"),
                            "--gtest_filter=Misbehaving.HangsOutsideTheLoop:Misbehaving.RunsAfter*",
                            "--mp_case_timeout=0.2"},
                           {{"XML_OUTPUT_FILE", xml}});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[ watchdog ] case Misbehaving.HangsOutsideTheLoop is stuck"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("case Misbehaving.HangsOutsideTheLoop stuck"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("RAN Misbehaving.RunsAfterTheStuckOne"), std::string::npos) << r.output;
  const std::string report = ReadFile(xml);
  EXPECT_NE(report.find("name=\"HangsOutsideTheLoop\" classname=\"Misbehaving\""),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("<failure message=\"Misbehaving.HangsOutsideTheLoop stuck"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("name=\"RunsAfterTheStuckOne\""), std::string::npos) << report;
}

TEST(WatchdogTest, CrashingCaseFailsByNameAndTheNextCaseStillRuns) {
  const std::string xml = CaseTempDir() + "/test.xml";
  ChildResult r = RunChild({RunfilesPath("testing/selftest/kit_fixture_cases"),
                            "--gtest_filter=Cases.C00:Misbehaving.Crashes:Misbehaving.RunsAfter*"},
                           {{"XML_OUTPUT_FILE", xml}});
  EXPECT_NE(r.exit_code, 0) << r.output;
  // A signal, or under a sanitizer its report and exit code.
  EXPECT_NE(r.output.find("case Misbehaving.Crashes crashed: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("RAN Misbehaving.RunsAfterTheStuckOne"), std::string::npos) << r.output;
  const std::string report = ReadFile(xml);
  // The case that passed before the crash is still reported (recovered from the progress file).
  EXPECT_NE(report.find("name=\"C00\" classname=\"Cases\""), std::string::npos) << report;
  EXPECT_NE(report.find("<failure message=\"Misbehaving.Crashes crashed"), std::string::npos)
      << report;
}

TEST(WatchdogTest, DeathBetweenCasesFailsTheRunAndTheRemainingCasesStillRun) {
  const std::string xml = CaseTempDir() + "/test.xml";
  ChildResult r = RunChild({RunfilesPath("testing/selftest/kit_fixture_cases"),
                            "--gtest_filter=DiesInSuiteTeardown.*:Misbehaving.RunsAfter*"},
                           {{"XML_OUTPUT_FILE", xml}});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("died after case DiesInSuiteTeardown.Passes, outside any case"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("RAN Misbehaving.RunsAfterTheStuckOne"), std::string::npos) << r.output;
  const std::string report = ReadFile(xml);
  EXPECT_NE(report.find("name=\"Passes\" classname=\"DiesInSuiteTeardown\""), std::string::npos)
      << report;
  EXPECT_NE(report.find("name=\"RunsAfterTheStuckOne\""), std::string::npos) << report;
}

TEST(WatchdogTest, GtestOutputFlagReceivesTheMergedReport) {
  const std::string xml = CaseTempDir() + "/user.xml";
  ChildResult r = RunChild({RunfilesPath("testing/selftest/kit_fixture_cases"),
                            "--gtest_filter=Cases.C00:Cases.C01", "--gtest_output=xml:" + xml},
                           {});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string report = ReadFile(xml);
  EXPECT_NE(report.find("name=\"C00\""), std::string::npos) << report;
  EXPECT_NE(report.find("name=\"C01\""), std::string::npos) << report;
}

TEST(WatchdogTest, BadCaseTimeoutIsAClearError) {
  ChildResult r =
      RunChild({RunfilesPath("testing/selftest/kit_fixture_cases"), "--mp_case_timeout=soon"}, {});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("\"soon\""), std::string::npos) << r.output;
}

}  // namespace
}  // namespace testing::selftest
