// A test binary the kit's own tests run as a child process (never directly by Bazel): its
// cases print what they did so the parent can check sharding, watchdog and naming behaviour.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "testing/async_test.h"
#include "testing/environment.h"

namespace {

void Report(const char* what) {
  const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
  std::printf("%s %s.%s worker=%s\n", what, info->test_suite_name(), info->name(),
              mptest::WorkerId().c_str());
}

#define FIXTURE_CASE(n) \
  TEST(Cases, C##n) { Report("RAN"); }
FIXTURE_CASE(00)
FIXTURE_CASE(01)
FIXTURE_CASE(02)
FIXTURE_CASE(03)
FIXTURE_CASE(04)
FIXTURE_CASE(05)
FIXTURE_CASE(06)
FIXTURE_CASE(07)
FIXTURE_CASE(08)
FIXTURE_CASE(09)
FIXTURE_CASE(10)
FIXTURE_CASE(11)
FIXTURE_CASE(12)

// GoogleTest's DISABLED_ rules, including a parameterized suite whose instantiation makes the
// suite name "P/DISABLED_Param".
TEST(DisabledRules, DISABLED_Case) { Report("RAN"); }
class DISABLED_Param : public ::testing::TestWithParam<int> {};
TEST_P(DISABLED_Param, Case) { Report("RAN"); }
INSTANTIATE_TEST_SUITE_P(P, DISABLED_Param, ::testing::Values(1, 2));

// Each case reports its CaseTempDir, whether it was empty, and leaves a file behind.
void ReportTempDir() {
  const std::string dir = mptest::CaseTempDir();
  std::printf("TEMPDIR %s empty=%d\n", dir.c_str(), std::filesystem::is_empty(dir) ? 1 : 0);
  std::ofstream(dir + "/left-behind") << "x";
}
TEST(TempDirs, First) { ReportTempDir(); }
TEST(TempDirs, Second) { ReportTempDir(); }

// For resource_lock_test: holds its process (and so its resource locks) until released.
TEST(Resources, HoldUntilReleased) {
  Report("HOLDING");
  std::fflush(stdout);
  const int fd = open(std::getenv("MP_FIXTURE_RELEASE_FIFO"), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char byte;
  EXPECT_EQ(read(fd, &byte, 1), 1);
  close(fd);
}
TEST(Resources, Quick) { Report("RAN"); }

TEST(Names, Print) {
  const int count =
      std::getenv("MP_FIXTURE_NAMES") ? std::atoi(std::getenv("MP_FIXTURE_NAMES")) : 0;
  for (int i = 0; i < count; ++i) std::printf("NAME %s\n", mptest::UniqueName("fx").c_str());
}

class Misbehaving : public mptest::AsyncTest {};

// Waits on something outside virtual time that never comes: the budget must stop it.
TEST_F(Misbehaving, AwaitsForever) {
  Report("START");
  RunAsync([this]() -> boost::asio::awaitable<void> {
    marketpipe::TimeSource::ExternalWait wait(time(), "reply from a peer that never answers");
    co_await time().SleepFor(std::chrono::hours(1));
  }());
}

// Leaves a timer pending when the case ends.
TEST_F(Misbehaving, LeavesTimerPending) {
  Report("START");
  boost::asio::co_spawn(
      io(),
      [this]() -> boost::asio::awaitable<void> {
        co_await time().SleepFor(std::chrono::seconds(5));
      },
      boost::asio::detached);
  Poll();
}

// Starts a real-time operation that outlives the case body (a member, like a socket would be).
class LeavesRealOperation : public mptest::AsyncTest {
 protected:
  boost::asio::steady_timer timer_{io()};
};

TEST_F(LeavesRealOperation, Pending) {
  Report("START");
  timer_.expires_after(std::chrono::hours(1));
  timer_.async_wait([](boost::system::error_code) {});
}

// A coroutine parked on a virtual timer that, when unwound, uses a member of the derived
// fixture: the kit must unwind it while that member is still alive (ASan checks this).
class ParkedCoroutine : public mptest::AsyncTest {
 protected:
  std::unique_ptr<std::string> member_ = std::make_unique<std::string>("alive");
};

TEST_F(ParkedCoroutine, UsesFixtureMemberWhenUnwound) {
  Report("START");
  boost::asio::co_spawn(
      io(),
      [this]() -> boost::asio::awaitable<void> {
        try {
          co_await time().SleepFor(std::chrono::hours(1));
        } catch (...) {
          std::printf("UNWOUND member=%s\n", member_->c_str());
        }
      },
      boost::asio::detached);
  Poll();
}

// Its suite's teardown kills the process after its case passed.
class DiesInSuiteTeardown : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    std::fflush(stdout);
    std::raise(SIGABRT);
  }
};

TEST_F(DiesInSuiteTeardown, Passes) { Report("RAN"); }

// Blocks outside the event loop (a read nobody will ever answer): only the watchdog ends it.
TEST_F(Misbehaving, HangsOutsideTheLoop) {
  Report("START");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  char byte;
  ASSERT_GE(read(fds[0], &byte, 1), 0);
}

TEST_F(Misbehaving, Crashes) {
  Report("START");
  std::fflush(stdout);
  std::raise(SIGSEGV);
}

TEST_F(Misbehaving, RunsAfterTheStuckOne) { Report("RAN"); }

// Blocks forever in SetUpTestSuite: the supervisor fails both cases by name.
class HangsInSuiteSetUp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::printf("IN SetUpTestSuite of HangsInSuiteSetUp\n");
    int fds[2];
    if (pipe(fds) != 0) return;
    char byte;
    (void)!read(fds[0], &byte, 1);
  }
};
TEST_F(HangsInSuiteSetUp, First) { Report("RAN"); }
TEST_F(HangsInSuiteSetUp, Second) { Report("RAN"); }

// A suite whose middle case crashes: its cases run in two processes, the report still has one
// <testsuite name="Split">.
TEST(Split, A) { Report("RAN"); }
TEST(Split, Crashes) {
  std::printf("unflushed output of Split.Crashes ");  // no newline: line buffering must flush it
  std::fflush(stdout);
  std::raise(SIGSEGV);
}
TEST(Split, B) { Report("RAN"); }

// Strings every XML writer must escape, and characters XML 1.0 cannot carry.
TEST(XmlHostile, FailsWithMarkup) {
  ADD_FAILURE() << "<b>&amp; \"quoted\" 'single' ]]> \x01\x1b[31m \xff\xfe end</b>";
}
TEST(XmlHostile, Skipped) { GTEST_SKIP() << "skipped <because>"; }

}  // namespace
