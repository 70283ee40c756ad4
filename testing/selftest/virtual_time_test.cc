#include "testing/virtual_time.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <string>
#include <vector>

#include "testing/async_test.h"

namespace testing {
namespace {

using boost::asio::awaitable;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;

class VirtualTimeTest : public AsyncTest {};

TEST_F(VirtualTimeTest, AnHourWaitCostsNoRealTimeAndReadsExactly) {
  const auto start = time().Now();
  const int64_t unix_start = time().UnixNanos();
  RunAsync([&]() -> awaitable<void> { co_await time().SleepFor(1h); }());
  EXPECT_EQ(time().Now() - start, 1h);
  EXPECT_EQ(time().UnixNanos() - unix_start, 3'600'000'000'000);
}

TEST_F(VirtualTimeTest, TimersFireInDeadlineOrderThenCreationOrder) {
  std::vector<std::string> order;
  auto sleeper = [&](std::string name, std::chrono::milliseconds d) -> awaitable<void> {
    co_await time().SleepFor(d);
    order.push_back(name + "@" +
                    std::to_string((time().Now() - marketpipe::TimeSource::TimePoint{}).count()));
  };
  const int64_t base = (time().Now() - marketpipe::TimeSource::TimePoint{}).count();
  auto at = [&](int ms) { return std::to_string(base + ms * 1'000'000LL); };
  RunAsync([&]() -> awaitable<void> {
    co_await (sleeper("c", 30ms) && sleeper("a1", 10ms) && sleeper("b", 20ms) &&
              sleeper("a2", 10ms) && sleeper("a3", 10ms));
  }());
  EXPECT_EQ(order, (std::vector<std::string>{"a1@" + at(10), "a2@" + at(10), "a3@" + at(10),
                                             "b@" + at(20), "c@" + at(30)}));
}

TEST_F(VirtualTimeTest, ZeroAndNegativeWaitsCompleteAsynchronouslyWithoutMovingTheClock) {
  const auto start = time().Now();
  bool done = false;
  boost::asio::co_spawn(
      io(),
      [&]() -> awaitable<void> {
        co_await time().SleepFor(-5s);
        co_await time().SleepFor(0s);
        done = true;
      },
      boost::asio::detached);
  EXPECT_FALSE(done) << "completion ran inline";
  Poll();
  EXPECT_TRUE(done);
  EXPECT_EQ(time().Now(), start);
}

TEST_F(VirtualTimeTest, ExplicitAdvanceFiresOnlyWhatIsDue) {
  int fired = 0;
  for (auto d : {1s, 2s, 3s}) {
    boost::asio::co_spawn(
        io(),
        [&, d]() -> awaitable<void> {
          co_await time().SleepFor(d);
          ++fired;
        },
        boost::asio::detached);
  }
  Poll();
  time().Advance(2500ms);
  Poll();
  EXPECT_EQ(fired, 2);
  EXPECT_EQ(time().pending_timers(), 1u);
  time().Advance(500ms);
  Poll();
  EXPECT_EQ(fired, 3);
  EXPECT_EQ(time().elapsed(), 3s);
}

TEST_F(VirtualTimeTest, LosingTimerOfARaceIsCancelledAndLeavesNothingPending) {
  auto result = RunAsync([&]() -> awaitable<int> {
    auto r = co_await (time().SleepFor(10s) || time().SleepFor(60s));
    co_return static_cast<int>(r.index());
  }());
  EXPECT_EQ(result, 0);
  EXPECT_EQ(time().elapsed(), 10s);
  EXPECT_EQ(time().pending_timers(), 0u);
}

TEST_F(VirtualTimeTest, RateLimitWindowOfAMinuteIsExact) {
  // A 1 request/second limiter over 600 requests: exactly 599 s of virtual time.
  RunAsync([&]() -> awaitable<void> {
    for (int i = 1; i < 600; ++i) co_await time().SleepFor(1s);
  }());
  EXPECT_EQ(time().elapsed(), 599s);
}

TEST_F(VirtualTimeTest, ExternalWaitStopsAutoAdvance) {
  marketpipe::TimeSource::ExternalWait wait(time(), "test");
  EXPECT_EQ(time().external_waits(), 1u);
  EXPECT_EQ(time().DescribePending(), std::vector<std::string>{"external wait: test"});
}

TEST(VirtualTimeSourceTest, StartsAtTheConfiguredWallClock) {
  VirtualTimeSource t(1'700'000'000'000'000'000);
  EXPECT_EQ(t.UnixNanos(), 1'700'000'000'000'000'000);
  EXPECT_FALSE(t.AdvanceToNextTimer());
}

}  // namespace
}  // namespace testing
