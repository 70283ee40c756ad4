#include "testing/async_test.h"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <stdexcept>
#include <string>

namespace mptest {
namespace {

using boost::asio::awaitable;
using namespace std::chrono_literals;

class AsyncTestTest : public AsyncTest {};

TEST_F(AsyncTestTest, RunAsyncReturnsTheValue) {
  EXPECT_EQ(RunAsync([]() -> awaitable<std::string> { co_return "bars"; }()), "bars");
}

TEST_F(AsyncTestTest, RunAsyncRethrowsTheException) {
  EXPECT_THROW(RunAsync([&]() -> awaitable<void> {
                 co_await time().SleepFor(1s);
                 throw std::runtime_error("boom");
               }()),
               std::runtime_error);
}

// GoogleTest builds a fresh fixture per case; this checks the clock and io_context belong to
// the fixture object (not to something shared across fixtures, such as a static).
TEST_F(AsyncTestTest, EachCaseGetsAFreshClock) {
  struct AnotherCase : AsyncTest {
    void TestBody() override {}
    using AsyncTest::io;
    using AsyncTest::time;
  };
  time().Advance(1h);
  AnotherCase next;
  EXPECT_EQ(next.time().elapsed(), 0s);
  EXPECT_NE(&next.io(), &io());
  EXPECT_EQ(time().elapsed(), 1h);
}

TEST_F(AsyncTestTest, RunAsyncUsesTheFixtureIoContext) {
  RunAsync([&]() -> awaitable<void> {
    auto ex = co_await boost::asio::this_coro::executor;
    EXPECT_TRUE(ex == io().get_executor());
  }());
}

TEST_F(AsyncTestTest, BudgetStopsAStuckRunWithAClearMessage) {
  set_run_budget(50ms);
  try {
    RunAsync([&]() -> awaitable<void> {
      marketpipe::TimeSource::ExternalWait wait(time(), "socket read from 127.0.0.1:1");
      co_await time().SleepFor(30s);
    }());
    FAIL() << "RunAsync returned";
  } catch (const AsyncTimeout& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("AsyncTestTest.BudgetStopsAStuckRunWithAClearMessage"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("external wait: socket read from 127.0.0.1:1"), std::string::npos) << msg;
  }
  time().CancelAll();
  Poll();
}

TEST_F(AsyncTestTest, BudgetStopsARunThatKeepsTimersComingButNeverFinishes) {
  // A ticker keeps virtual time moving forever; the awaited result never comes.
  set_run_budget(100ms);
  auto ticker = [&]() -> awaitable<void> {
    for (;;) co_await time().SleepFor(1s);
  };
  auto never = [&]() -> awaitable<void> {
    co_await time().SleepFor(std::chrono::hours(1'000'000));
  };
  using namespace boost::asio::experimental::awaitable_operators;
  EXPECT_THROW(RunAsync([&]() -> awaitable<void> { co_await (ticker() && never()); }()),
               AsyncTimeout);
  time().CancelAll();
  Poll();
}

TEST_F(AsyncTestTest, SequentialRunsShareTheClock) {
  RunAsync([&]() -> awaitable<void> { co_await time().SleepFor(2s); }());
  RunAsync([&]() -> awaitable<void> { co_await time().SleepFor(3s); }());
  EXPECT_EQ(time().elapsed(), 5s);
}

}  // namespace
}  // namespace mptest
