// The per-case budget: a stuck async case fails by name with its pending work, and the
// remaining cases still run; a case that leaves work pending fails and says so.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "testing/child_process.h"
#include "testing/environment.h"
#include "testing/selftest/subprocess.h"

namespace mptest::selftest {
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

std::string FirstFailure(const ParsedReport& report, const std::string& name) {
  auto it = report.cases.find(name);
  if (it == report.cases.end()) return "(no such case in the report)";
  return it->second.failures.empty() ? "" : it->second.failures.front();
}

// Output files in `dir` that contain `text`.
int SavedOutputsContaining(const std::string& dir, const std::string& text) {
  int found = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (ReadFile(f.path()).find(text) != std::string::npos) ++found;
  }
  return found;
}

TEST(WatchdogTest, CaseStuckOutsideTheLoopFailsByNameAndTheNextCaseRunsInAFreshProcess) {
  const std::string xml = CaseTempDir() + "/test.xml";
  const std::string outputs = CaseTempDir() + "/outputs";
  std::filesystem::create_directories(outputs);
  ChildResult r = RunChild({RunfilesPath("testing/selftest/kit_fixture_cases"),
                            "--gtest_filter=Misbehaving.HangsOutsideTheLoop:Misbehaving.RunsAfter*",
                            "--mp_case_timeout=0.2"},
                           {{"XML_OUTPUT_FILE", xml}, {"TEST_UNDECLARED_OUTPUTS_DIR", outputs}});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[ marketpipe ] case Misbehaving.HangsOutsideTheLoop is stuck"),
            std::string::npos)
      << r.output;
  // The child printed its pending work when asked.
  EXPECT_NE(r.output.find("stall report for case Misbehaving.HangsOutsideTheLoop"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("RAN Misbehaving.RunsAfterTheStuckOne"), std::string::npos) << r.output;
  const ParsedReport report = ParseReport(xml);
  EXPECT_EQ(FirstFailure(report, "Misbehaving.HangsOutsideTheLoop")
                .rfind("Misbehaving.HangsOutsideTheLoop is stuck", 0),
            0u)
      << ReadFile(xml);
  EXPECT_EQ(FirstFailure(report, "Misbehaving.RunsAfterTheStuckOne"), "") << ReadFile(xml);
  EXPECT_EQ(report.suites, std::vector<std::string>{"Misbehaving"}) << ReadFile(xml);
  // The stuck process's output is kept as a file too.
  EXPECT_EQ(SavedOutputsContaining(outputs, "START Misbehaving.HangsOutsideTheLoop"), 1);
}

TEST(WatchdogTest, StuckSuiteSetUpFailsItsCasesByNameAndTheRestStillRuns) {
  const std::string xml = CaseTempDir() + "/test.xml";
  ChildResult r = RunChild(
      {RunfilesPath("testing/selftest/kit_fixture_cases"),
       "--gtest_filter=HangsInSuiteSetUp.*:Misbehaving.RunsAfter*", "--mp_case_timeout=0.2"},
      {{"XML_OUTPUT_FILE", xml}});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SetUpTestSuite of HangsInSuiteSetUp is stuck"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("RAN Misbehaving.RunsAfterTheStuckOne"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("RAN HangsInSuiteSetUp"), std::string::npos) << r.output;
  const ParsedReport report = ParseReport(xml);
  for (const char* name : {"HangsInSuiteSetUp.First", "HangsInSuiteSetUp.Second"}) {
    EXPECT_NE(FirstFailure(report, name).find("never ran: SetUpTestSuite of HangsInSuiteSetUp"),
              std::string::npos)
        << name << "\n"
        << ReadFile(xml);
  }
  EXPECT_EQ(FirstFailure(report, "Misbehaving.RunsAfterTheStuckOne"), "");
}

TEST(WatchdogTest, CrashingCaseFailsByNameAndItsSuiteIsReportedOnce) {
  const std::string xml = CaseTempDir() + "/test.xml";
  ChildResult r = RunChild(
      {RunfilesPath("testing/selftest/kit_fixture_cases"), "--gtest_filter=Split.*:XmlHostile.*"},
      {{"XML_OUTPUT_FILE", xml}});
  EXPECT_NE(r.exit_code, 0) << r.output;
  // A signal, or under a sanitizer its report and exit code.
  EXPECT_NE(r.output.find("case Split.Crashes crashed: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("RAN Split.B"), std::string::npos) << r.output;
  const ParsedReport report = ParseReport(xml);  // throws on malformed XML
  EXPECT_EQ(report.suites, (std::vector<std::string>{"Split", "XmlHostile"})) << ReadFile(xml);
  EXPECT_EQ(report.suite_tests.at("Split"), 3);
  EXPECT_EQ(report.tests, 5);
  EXPECT_EQ(report.failures, 2);
  EXPECT_EQ(report.skipped, 1);
  EXPECT_EQ(FirstFailure(report, "Split.A"), "");
  EXPECT_EQ(FirstFailure(report, "Split.Crashes").rfind("Split.Crashes crashed", 0), 0u);
  EXPECT_NE(report.cases.at("Split.Crashes").system_out.find("unflushed output of Split.Crashes"),
            std::string::npos);
  EXPECT_EQ(FirstFailure(report, "Split.B"), "");
  EXPECT_EQ(report.cases.at("XmlHostile.Skipped").result, "skipped");
  const auto& hostile = report.cases.at("XmlHostile.FailsWithMarkup").failures;
  ASSERT_EQ(hostile.size(), 1u);
  EXPECT_NE(hostile[0].find("<b>&amp; \"quoted\" 'single' ]]>"), std::string::npos) << hostile[0];
}

TEST(WatchdogTest, DeathInSuiteTeardownFailsTheRunByPlaceAndTheRemainingCasesStillRun) {
  const std::string xml = CaseTempDir() + "/test.xml";
  ChildResult r = RunChild({RunfilesPath("testing/selftest/kit_fixture_cases"),
                            "--gtest_filter=DiesInSuiteTeardown.*:Misbehaving.RunsAfter*"},
                           {{"XML_OUTPUT_FILE", xml}});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("TearDownTestSuite of DiesInSuiteTeardown crashed"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("RAN Misbehaving.RunsAfterTheStuckOne"), std::string::npos) << r.output;
  const ParsedReport report = ParseReport(xml);
  EXPECT_EQ(FirstFailure(report, "DiesInSuiteTeardown.Passes"), "");
  EXPECT_EQ(FirstFailure(report, "Misbehaving.RunsAfterTheStuckOne"), "");
  EXPECT_NE(FirstFailure(report, "DiesInSuiteTeardown.[TearDownTestSuite of DiesInSuiteTeardown]")
                .find("crashed"),
            std::string::npos)
      << ReadFile(xml);
}

TEST(WatchdogTest, SigtermWritesTheReportMarksTheRunningCaseAndKeepsItsOutput) {
  const std::string dir = CaseTempDir();
  const std::string xml = dir + "/test.xml";
  const std::string outputs = dir + "/outputs";
  std::filesystem::create_directories(outputs);
  kit_internal::ChildProcess child;
  child.argv = {RunfilesPath("testing/selftest/kit_fixture_cases"),
                "--gtest_filter=Cases.C00:Misbehaving.HangsOutsideTheLoop:Misbehaving.RunsAfter*",
                "--mp_case_timeout=600"};
  child.set_env = {{"XML_OUTPUT_FILE", xml}, {"TEST_UNDECLARED_OUTPUTS_DIR", outputs}};
  child.unset_env = {"TEST_TOTAL_SHARDS",       "TEST_SHARD_INDEX",       "GTEST_TOTAL_SHARDS",
                     "GTEST_SHARD_INDEX",       "TEST_SHARD_STATUS_FILE", "MP_TEST_CASE_TIMEOUT",
                     "TEST_PREMATURE_EXIT_FILE"};
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  child.pass_fds = {{1, out[1]}, {2, out[1]}};
  const pid_t pid = kit_internal::SpawnChildProcess(child);
  close(out[1]);
  ASSERT_GT(pid, 0);
  // Wait (on its output, not on a clock) until the hanging case runs, then stop the test.
  std::string output;
  char buf[4096];
  ssize_t n;
  bool signalled = false;
  while ((n = read(out[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) output.append(buf, static_cast<size_t>(n));
    if (!signalled && output.find("START Misbehaving.HangsOutsideTheLoop") != std::string::npos) {
      kill(pid, SIGTERM);
      signalled = true;
    }
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(signalled) << output;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << output;
  const ParsedReport report = ParseReport(xml);
  EXPECT_EQ(FirstFailure(report, "Cases.C00"), "");
  EXPECT_NE(FirstFailure(report, "Misbehaving.HangsOutsideTheLoop").find("SIGTERM"),
            std::string::npos)
      << ReadFile(xml);
  EXPECT_NE(FirstFailure(report, "Misbehaving.RunsAfterTheStuckOne").find("never ran"),
            std::string::npos)
      << ReadFile(xml);
  EXPECT_EQ(SavedOutputsContaining(outputs, "START Misbehaving.HangsOutsideTheLoop"), 1) << output;
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
}  // namespace mptest::selftest
