// The per-case budget: a stuck async case fails by name with its pending work, and the
// remaining cases still run; a case that leaves work pending fails and says so.

#include <gtest/gtest.h>

#include <string>

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
  EXPECT_NE(r.output.find("external wait: reply from a peer that never answers"),
            std::string::npos)
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

TEST(WatchdogTest, BadCaseTimeoutIsAClearError) {
  ChildResult r = RunChild({RunfilesPath("testing/selftest/kit_fixture_cases"),
                            "--mp_case_timeout=soon"},
                           {});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("\"soon\""), std::string::npos) << r.output;
}

}  // namespace
}  // namespace testing::selftest
