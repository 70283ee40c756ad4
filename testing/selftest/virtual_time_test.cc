#include "testing/virtual_time.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "marketpipe/providers/rate_limit/rate_limiter.h"
#include "testing/async_test.h"

namespace mptest {
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

TEST_F(VirtualTimeTest, AdvanceFiresATickerOncePerPeriodEachReadingItsOwnDeadline) {
  const auto start = time().Now();
  std::vector<std::chrono::nanoseconds> ticks;
  boost::asio::co_spawn(
      io(),
      [&]() -> awaitable<void> {
        for (;;) {
          co_await time().SleepFor(1s);
          ticks.push_back(time().Now() - start);
        }
      },
      boost::asio::detached);
  Poll();
  time().Advance(10s);
  EXPECT_EQ(ticks,
            (std::vector<std::chrono::nanoseconds>{1s, 2s, 3s, 4s, 5s, 6s, 7s, 8s, 9s, 10s}));
  time().Advance(2500ms);
  EXPECT_EQ(ticks.size(), 12u);
  EXPECT_EQ(time().elapsed(), 12500ms);
  time().CancelAll();
  Poll();
}

TEST_F(VirtualTimeTest, AdvanceHonoursTimersReArmedByHandlersOnTheWay) {
  // Each stage arms the next: due at 1 s, 1+2 = 3 s, 3+3 = 6 s, 6+4 = 10 s.
  std::vector<std::string> fired;
  const auto start = time().Now();
  std::function<void(int)> arm = [&](int stage) {
    boost::asio::co_spawn(
        io(),
        [&, stage]() -> awaitable<void> {
          co_await time().SleepFor(std::chrono::seconds(stage));
          fired.push_back(std::to_string(stage) + "@" +
                          std::to_string((time().Now() - start) / 1s));
          if (stage < 4) arm(stage + 1);
        },
        boost::asio::detached);
  };
  arm(1);
  Poll();
  time().Advance(9s);
  EXPECT_EQ(fired, (std::vector<std::string>{"1@1", "2@3", "3@6"}));
  EXPECT_EQ(time().pending_timers(), 1u);  // stage 4, due at 10 s
  time().Advance(1s);
  EXPECT_EQ(fired, (std::vector<std::string>{"1@1", "2@3", "3@6", "4@10"}));
  EXPECT_EQ(time().pending_timers(), 0u);
  // Unwind whatever a broken Advance left parked while `fired` and `arm` are alive.
  time().CancelAll();
  Poll();
}

TEST_F(VirtualTimeTest, RateLimiterOverTwentyFourVirtualHoursGrantsExactlyOnSchedule) {
  // 60 per minute, burst 1: one grant at t=0, then exactly one per second. A consumer that
  // acquires in a loop sees 86 401 grants in 24 h, each at a whole second, none early.
  auto limiter = *marketpipe::RateLimiter::PerMinute(time(), 60, 1);
  const auto start = time().Now();
  int64_t grants = 0;
  int64_t off_schedule = 0;
  boost::asio::co_spawn(
      io(),
      [&]() -> awaitable<void> {
        for (;;) {
          absl::Status s = co_await limiter->Acquire();
          if (!s.ok()) co_return;
          if (time().Now() - start != std::chrono::seconds(grants)) ++off_schedule;
          ++grants;
        }
      },
      boost::asio::detached);
  Poll();
  time().Advance(24h);
  EXPECT_EQ(grants, 86'401);
  EXPECT_EQ(off_schedule, 0);
  time().CancelAll();
  Poll();
  limiter.reset();
  Poll();
}

TEST_F(VirtualTimeTest, ExternalWaitStopsAutoAdvance) {
  // A real 10 ms timer races a 10 s virtual one. While the ExternalWait is alive RunAsync must
  // wait for the real timer in real time; skipping ahead would let the virtual timer win.
  boost::asio::steady_timer real(io());
  const auto winner = RunAsync([&]() -> awaitable<size_t> {
    marketpipe::TimeSource::ExternalWait wait(time(), "a real 10 ms timer");
    real.expires_after(10ms);
    auto r = co_await (real.async_wait(boost::asio::use_awaitable) || time().SleepFor(10s));
    co_return r.index();
  }());
  EXPECT_EQ(winner, 0u);
  EXPECT_EQ(time().elapsed(), 0s);
}

TEST_F(VirtualTimeTest, ExternalWaitIsDescribed) {
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
}  // namespace mptest
