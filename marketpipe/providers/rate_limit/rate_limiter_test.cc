#include "marketpipe/providers/rate_limit/rate_limiter.h"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "testing/async_test.h"

namespace marketpipe {
namespace {

using boost::asio::awaitable;
using boost::asio::use_awaitable;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;

using Duration = TimeSource::Duration;

// One grant: who got it and when (virtual time since the case started).
struct Grant {
  std::string who;
  Duration at;
  friend bool operator==(const Grant&, const Grant&) = default;
};

std::ostream& operator<<(std::ostream& os, const Grant& g) {
  return os << g.who << "@" << g.at.count() << "ns";
}

class RateLimiterTest : public mptest::AsyncTest {
 protected:
  std::unique_ptr<RateLimiter> Make(RateLimiter::Options options) {
    auto limiter = RateLimiter::Create(time(), options);
    EXPECT_TRUE(limiter.ok()) << limiter.status();
    return limiter.ok() ? std::move(*limiter) : nullptr;
  }

  // Acquires `n` tokens and records the grant as `who`.
  awaitable<void> AcquireAs(RateLimiter& limiter, std::string who, int64_t n) {
    absl::Status status = co_await limiter.Acquire(n);
    EXPECT_TRUE(status.ok()) << who << ": " << status;
    grants_.push_back({std::move(who), time().elapsed()});
  }

  std::vector<Grant> grants_;
};

TEST_F(RateLimiterTest, CreateRejectsInvalidOptions) {
  const std::vector<RateLimiter::Options> bad = {
      {.capacity = 0, .refill_per_second = 1},
      {.capacity = -3, .refill_per_second = 1},
      {.capacity = 1},  // no refill at all
      {.capacity = 1, .refill_per_second = -1},
      {.capacity = 1, .refill_per_second = std::nan("")},
      {.capacity = 1, .refill_per_second = std::numeric_limits<double>::infinity()},
      {.capacity = 1, .refill_per_second = 1e-12},
      {.capacity = 1, .refill_tokens = 1},   // no period
      {.capacity = 1, .refill_period = 1s},  // no tokens
      {.capacity = 1, .refill_tokens = -1, .refill_period = 1s},
      {.capacity = 1, .refill_tokens = 1, .refill_period = -1s},
      {.capacity = 1, .refill_per_second = 1, .refill_tokens = 1, .refill_period = 1s},  // both
  };
  for (const auto& options : bad) {
    auto limiter = RateLimiter::Create(time(), options);
    EXPECT_EQ(limiter.status().code(), absl::StatusCode::kInvalidArgument)
        << "capacity=" << options.capacity << " refill_per_second=" << options.refill_per_second
        << " refill_tokens=" << options.refill_tokens
        << " refill_period=" << options.refill_period.count();
  }
  EXPECT_EQ(RateLimiter::PerMinute(time(), 0, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RateLimiter::PerMinute(time(), 200, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(RateLimiter::PerMinute(time(), 200, 1).ok());
  EXPECT_TRUE(RateLimiter::Create(time(), {.capacity = 1, .refill_per_second = 0.25}).ok());
}

TEST_F(RateLimiterTest, BurstUpToCapacityIsImmediate) {
  auto limiter = Make({.capacity = 2, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  EXPECT_EQ(limiter->available(), 2);
  RunAsync([&]() -> awaitable<void> {
    co_await AcquireAs(*limiter, "a", 1);
    co_await AcquireAs(*limiter, "b", 1);
  }());
  EXPECT_EQ(grants_, (std::vector<Grant>{{"a", 0s}, {"b", 0s}}));
  EXPECT_EQ(time().elapsed(), 0s);
  EXPECT_EQ(limiter->available(), 0);
}

TEST_F(RateLimiterTest, ThirdAcquireWaitsForRefill) {
  auto limiter = Make({.capacity = 2, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  RunAsync([&]() -> awaitable<void> {
    for (const char* who : {"a", "b", "c"}) co_await AcquireAs(*limiter, who, 1);
  }());
  EXPECT_EQ(grants_, (std::vector<Grant>{{"a", 0s}, {"b", 0s}, {"c", 1s}}));
  EXPECT_EQ(time().elapsed(), 1s);
}

TEST_F(RateLimiterTest, SetRateKeepsTheDeficitAndRefillsAtTheNewRate) {
  auto limiter = Make({.capacity = 2, .refill_tokens = 60, .refill_period = 1min});
  ASSERT_NE(limiter, nullptr);
  RunAsync([&]() -> awaitable<void> {
    co_await AcquireAs(*limiter, "a", 2);         // empty at 0 s
    co_await time().SleepFor(500ms);              // half a token back at 60/min
    EXPECT_TRUE(limiter->SetRate(6, 1min).ok());  // now one token per 10 s
    co_await AcquireAs(*limiter, "b", 1);         // the missing half token takes 5 s
    co_await AcquireAs(*limiter, "c", 1);
  }());
  EXPECT_EQ(grants_, (std::vector<Grant>{{"a", 0s}, {"b", 5500ms}, {"c", 15500ms}}));
  EXPECT_FALSE(limiter->SetRate(0, 1min).ok());
  EXPECT_FALSE(limiter->SetRate(1, 0s).ok());
}

TEST_F(RateLimiterTest, RefillIsExactOverLongWindows) {
  // 200 per minute is 0.3 s per token, which no binary double holds exactly.
  auto limiter = RateLimiter::PerMinute(time(), 200, /*burst=*/5);
  ASSERT_TRUE(limiter.ok()) << limiter.status();
  int failures = 0;
  RunAsync([&]() -> awaitable<void> {
    for (int i = 0; i < 10'000; ++i) {
      if (!(co_await (*limiter)->Acquire()).ok()) ++failures;
    }
  }());
  EXPECT_EQ(failures, 0);
  // The burst of 5 is free; each of the other 9,995 tokens takes exactly 300 ms.
  EXPECT_EQ(time().elapsed(), 9'995 * 300ms);
  EXPECT_EQ(time().elapsed(), Duration(2'998'500'000'000));
}

TEST_F(RateLimiterTest, NonDecimalRatesRoundEachGrantUpToTheNanosecondWithoutDrift) {
  // 7 tokens per second: one every 142857142.857... ns. Grant k (after the first, free one)
  // lands on the first whole nanosecond at or after k/7 s, never drifting.
  auto limiter = Make({.capacity = 1, .refill_tokens = 7, .refill_period = 1s});
  ASSERT_NE(limiter, nullptr);
  std::vector<Duration> at;
  RunAsync([&]() -> awaitable<void> {
    for (int i = 0; i < 7'001; ++i) {
      EXPECT_TRUE((co_await limiter->Acquire()).ok());
      at.push_back(time().elapsed());
    }
  }());
  ASSERT_EQ(at.size(), 7'001u);
  for (int64_t k = 0; k < 7'001; ++k) {
    const int64_t expected = (k * 1'000'000'000 + 6) / 7;  // ceil(k * 1e9 / 7)
    ASSERT_EQ(at[k].count(), expected) << "grant " << k;
  }
  EXPECT_EQ(time().elapsed(), 1000s);
}

TEST_F(RateLimiterTest, FractionalPerSecondRateIsExact) {
  auto limiter = Make({.capacity = 1, .refill_per_second = 0.4});  // one token per 2.5 s
  ASSERT_NE(limiter, nullptr);
  RunAsync([&]() -> awaitable<void> {
    for (const char* who : {"a", "b", "c"}) co_await AcquireAs(*limiter, who, 1);
  }());
  EXPECT_EQ(grants_, (std::vector<Grant>{{"a", 0s}, {"b", 2500ms}, {"c", 5s}}));
}

TEST_F(RateLimiterTest, WaitersAreServedFifoEvenWhenASmallerLaterRequestCouldFit) {
  auto limiter = Make({.capacity = 5, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  RunAsync([&]() -> awaitable<void> {
    co_await AcquireAs(*limiter, "drain", 5);
    // At t=1 s one token exists: enough for "small", but "large" came first and needs 5.
    co_await (AcquireAs(*limiter, "large", 5) && AcquireAs(*limiter, "small", 1) &&
              AcquireAs(*limiter, "medium", 2));
  }());
  EXPECT_EQ(grants_,
            (std::vector<Grant>{{"drain", 0s}, {"large", 5s}, {"small", 6s}, {"medium", 8s}}));
}

TEST_F(RateLimiterTest, TryAcquireNeverOvertakesAWaiter) {
  auto limiter = Make({.capacity = 5, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  std::vector<bool> tries;
  RunAsync([&]() -> awaitable<void> {
    EXPECT_TRUE(limiter->TryAcquire(5));
    auto prober = [&]() -> awaitable<void> {
      co_await time().SleepFor(2s);  // two tokens are back, but "large" waits for five
      tries.push_back(limiter->TryAcquire(1));
    };
    co_await (AcquireAs(*limiter, "large", 5) && prober());
    tries.push_back(limiter->TryAcquire(1));  // nobody waits now, but the bucket is empty
    co_await time().SleepFor(1s);
    tries.push_back(limiter->TryAcquire(1));
  }());
  EXPECT_EQ(grants_, (std::vector<Grant>{{"large", 5s}}));
  EXPECT_EQ(tries, (std::vector<bool>{false, false, true}));
  EXPECT_FALSE(limiter->TryAcquire(0));
  EXPECT_FALSE(limiter->TryAcquire(6));
}

TEST_F(RateLimiterTest, AcquireMoreThanCapacityOrNonPositiveIsInvalidArgumentAtOnce) {
  auto limiter = Make({.capacity = 2, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  std::vector<absl::StatusCode> codes;
  RunAsync([&]() -> awaitable<void> {
    for (int64_t n : {3, 0, -1, 1'000'000}) codes.push_back((co_await limiter->Acquire(n)).code());
  }());
  EXPECT_EQ(codes, std::vector<absl::StatusCode>(4, absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(time().elapsed(), 0s);
  EXPECT_EQ(limiter->available(), 2);  // nothing taken
  EXPECT_EQ(limiter->waiting(), 0u);   // nothing queued
}

TEST_F(RateLimiterTest, NotifyRetryAfterDelaysTheNextGrantByExactlyD) {
  auto limiter = Make({.capacity = 2, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  ASSERT_EQ(limiter->available(), 2);
  limiter->NotifyRetryAfter(5s);
  EXPECT_EQ(limiter->available(), 0);
  EXPECT_FALSE(limiter->TryAcquire());
  RunAsync([&]() -> awaitable<void> {
    co_await AcquireAs(*limiter, "a", 1);
    co_await AcquireAs(*limiter, "b", 1);  // the bucket refilled during the 5 s
    co_await AcquireAs(*limiter, "c", 1);
  }());
  EXPECT_EQ(grants_, (std::vector<Grant>{{"a", 5s}, {"b", 5s}, {"c", 6s}}));
}

TEST_F(RateLimiterTest, NotifyRetryAfterDrainsTheBucket) {
  // Shorter than one refill: what delays the next grant is the emptied bucket.
  auto limiter = Make({.capacity = 3, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  limiter->NotifyRetryAfter(100ms);
  RunAsync([&]() -> awaitable<void> {
    co_await AcquireAs(*limiter, "a", 1);
    co_await AcquireAs(*limiter, "b", 1);
  }());
  EXPECT_EQ(grants_, (std::vector<Grant>{{"a", 1s}, {"b", 2s}}));
}

TEST_F(RateLimiterTest, NotifyRetryAfterHoldsBackWaitersAlreadyQueued) {
  auto limiter = Make({.capacity = 1, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  RunAsync([&]() -> awaitable<void> {
    co_await AcquireAs(*limiter, "a", 1);
    auto server = [&]() -> awaitable<void> {
      co_await time().SleepFor(500ms);
      limiter->NotifyRetryAfter(10s);
      limiter->NotifyRetryAfter(2s);  // an earlier deadline never shortens the wait
    };
    co_await (AcquireAs(*limiter, "b", 1) && AcquireAs(*limiter, "c", 1) && server());
  }());
  // b would have been granted at 1 s; the notice at 0.5 s moves everything past 10.5 s, by
  // which time the bucket is full again (one token): b at 10.5 s, c one second later.
  EXPECT_EQ(grants_, (std::vector<Grant>{{"a", 0s}, {"b", 10500ms}, {"c", 11500ms}}));
}

// What the wait observer reported, in order.
struct Observed {
  Duration waited;
  bool retry_after;
  bool granted;
  friend bool operator==(const Observed&, const Observed&) = default;
};

std::ostream& operator<<(std::ostream& os, const Observed& o) {
  return os << o.waited.count() << "ns" << (o.retry_after ? " retry_after" : "")
            << (o.granted ? "" : " cancelled");
}

TEST_F(RateLimiterTest, WaitObserverSeesEachWaitWithItsDurationAndCause) {
  auto limiter = Make({.capacity = 2, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  std::vector<Observed> observed;
  limiter->SetWaitObserver([&](const RateLimiterWait& w) {
    observed.push_back({w.waited, w.retry_after, w.granted});
  });
  RunAsync([&]() -> awaitable<void> {
    co_await AcquireAs(*limiter, "a", 1);  // immediate: not reported
    co_await AcquireAs(*limiter, "b", 1);
    co_await AcquireAs(*limiter, "c", 1);  // refill: 1 s
    limiter->NotifyRetryAfter(3s);
    co_await AcquireAs(*limiter, "d", 1);  // held by the Retry-After deadline: 3 s
    co_await AcquireAs(*limiter, "e", 1);  // the bucket refilled meanwhile: immediate
    co_await AcquireAs(*limiter, "f", 1);  // refill again: 1 s
  }());
  EXPECT_EQ(grants_,
            (std::vector<Grant>{{"a", 0s}, {"b", 0s}, {"c", 1s}, {"d", 4s}, {"e", 4s}, {"f", 5s}}));
  EXPECT_EQ(observed,
            (std::vector<Observed>{{1s, false, true}, {3s, true, true}, {1s, false, true}}));
}

TEST_F(RateLimiterTest, WaitObserverSeesQueuedAndCancelledWaits) {
  auto limiter = Make({.capacity = 1, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  std::vector<Observed> observed;
  limiter->SetWaitObserver([&](const RateLimiterWait& w) {
    observed.push_back({w.waited, w.retry_after, w.granted});
  });
  boost::asio::cancellation_signal cancel;
  RunAsync([&]() -> awaitable<void> {
    co_await AcquireAs(*limiter, "a", 1);
    auto cancelled = [&]() -> awaitable<void> {
      auto ex = co_await boost::asio::this_coro::executor;
      absl::Status status = co_await boost::asio::co_spawn(
          ex, limiter->Acquire(1),
          boost::asio::bind_cancellation_slot(cancel.slot(), use_awaitable));
      EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
    };
    auto canceller = [&]() -> awaitable<void> {
      co_await time().SleepFor(250ms);
      cancel.emit(boost::asio::cancellation_type::terminal);
    };
    // b waits behind the cancelled head, then for the refill.
    co_await (cancelled() && AcquireAs(*limiter, "b", 1) && canceller());
  }());
  EXPECT_EQ(grants_, (std::vector<Grant>{{"a", 0s}, {"b", 1s}}));
  EXPECT_EQ(observed, (std::vector<Observed>{{250ms, false, false}, {1s, false, true}}));
}

TEST_F(RateLimiterTest, CancelledHeadWaiterReleasesItsPlace) {
  auto limiter = Make({.capacity = 1, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  boost::asio::cancellation_signal cancel;
  absl::Status cancelled_status;
  RunAsync([&]() -> awaitable<void> {
    co_await AcquireAs(*limiter, "a", 1);
    auto cancelled = [&]() -> awaitable<void> {
      auto ex = co_await boost::asio::this_coro::executor;
      cancelled_status = co_await boost::asio::co_spawn(
          ex, limiter->Acquire(1),
          boost::asio::bind_cancellation_slot(cancel.slot(), use_awaitable));
      grants_.push_back({"cancelled", time().elapsed()});
    };
    auto canceller = [&]() -> awaitable<void> {
      co_await time().SleepFor(100ms);
      EXPECT_EQ(limiter->waiting(), 3u);
      cancel.emit(boost::asio::cancellation_type::terminal);
    };
    co_await (cancelled() && AcquireAs(*limiter, "b", 1) && AcquireAs(*limiter, "c", 1) &&
              canceller());
  }());
  EXPECT_EQ(cancelled_status.code(), absl::StatusCode::kCancelled) << cancelled_status;
  // The cancelled waiter took nothing: b gets the first refilled token, c the second.
  EXPECT_EQ(grants_, (std::vector<Grant>{{"a", 0s}, {"cancelled", 100ms}, {"b", 1s}, {"c", 2s}}));
  EXPECT_EQ(limiter->waiting(), 0u);
  EXPECT_EQ(limiter->available(), 0);
}

TEST_F(RateLimiterTest, CancelledQueuedWaiterReleasesItsPlace) {
  auto limiter = Make({.capacity = 4, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  bool timed_out = false;
  RunAsync([&]() -> awaitable<void> {
    co_await AcquireAs(*limiter, "drain", 4);
    // "loser" queues behind "head" and gives up at 1.5 s, losing the race to a timer.
    auto loser = [&]() -> awaitable<void> {
      auto result = co_await (limiter->Acquire(3) || time().SleepFor(1500ms));
      timed_out = result.index() == 1;
    };
    co_await (AcquireAs(*limiter, "head", 2) && loser() && AcquireAs(*limiter, "next", 2));
  }());
  EXPECT_TRUE(timed_out);
  // Without the loser, next is served right after head: 2 tokens at 2 s, 2 more at 4 s.
  EXPECT_EQ(grants_, (std::vector<Grant>{{"drain", 0s}, {"head", 2s}, {"next", 4s}}));
  EXPECT_EQ(limiter->waiting(), 0u);
}

// Forwards to a VirtualTimeSource, except that the sleep after HoldNextSleep() parks its handler
// until Drop() destroys it: the sleeping coroutine is then destroyed without ever resuming.
class HoldingTimeSource final : public TimeSource {
 public:
  explicit HoldingTimeSource(TimeSource& inner) : inner_(inner) {}
  TimePoint Now() const override { return inner_.Now(); }
  int64_t UnixNanos() const override { return inner_.UnixNanos(); }
  awaitable<void> SleepFor(Duration d) override {
    if (!hold_next_) {
      co_await inner_.SleepFor(d);
      co_return;
    }
    hold_next_ = false;
    co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                         void(boost::system::error_code)>(
        [this](auto handler) { held_ = std::make_shared<decltype(handler)>(std::move(handler)); },
        use_awaitable);
  }
  void HoldNextSleep() { hold_next_ = true; }
  bool holding() const { return held_ != nullptr; }
  void Drop() { held_.reset(); }

 private:
  TimeSource& inner_;
  bool hold_next_ = false;
  std::shared_ptr<void> held_;
};

TEST_F(RateLimiterTest, DestroyedWaiterCoroutineReleasesItsPlace) {
  HoldingTimeSource holding(time());
  auto made = RateLimiter::Create(holding, {.capacity = 1, .refill_per_second = 1});
  ASSERT_TRUE(made.ok()) << made.status();
  RateLimiter& limiter = **made;
  ASSERT_TRUE(limiter.TryAcquire());
  bool doomed_finished = false;
  holding.HoldNextSleep();
  boost::asio::co_spawn(
      io(),
      [&]() -> awaitable<void> {
        (void)co_await limiter.Acquire(1);
        doomed_finished = true;
      },
      boost::asio::detached);
  Poll();
  ASSERT_TRUE(holding.holding());  // the head's refill wait is parked in `holding`
  ASSERT_EQ(limiter.waiting(), 1u);
  RunAsync([&]() -> awaitable<void> {
    auto destroyer = [&]() -> awaitable<void> {
      co_await time().SleepFor(200ms);
      holding.Drop();  // destroys the head's coroutine (its frames unwind via the executor)
    };
    co_await (AcquireAs(limiter, "next", 1) && destroyer());
  }());
  EXPECT_FALSE(doomed_finished);
  EXPECT_EQ(grants_, (std::vector<Grant>{{"next", 1s}}));
  EXPECT_EQ(limiter.waiting(), 0u);
}

TEST_F(RateLimiterTest, HundredConcurrentCoroutinesNeverExceedTheRate) {
  constexpr int64_t kPerMinute = 120;
  constexpr int64_t kBurst = 10;
  auto limiter = RateLimiter::PerMinute(time(), kPerMinute, kBurst);
  ASSERT_TRUE(limiter.ok()) << limiter.status();
  std::vector<int64_t> grant_ns;
  int done = 0;
  auto client = [&](int id) -> awaitable<void> {
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE((co_await (*limiter)->Acquire()).ok());
      grant_ns.push_back(time().UnixNanos());
      co_await time().SleepFor(std::chrono::milliseconds(37 * ((id + i) % 11)));  // "work"
    }
    ++done;
  };
  for (int id = 0; id < 100; ++id) boost::asio::co_spawn(io(), client(id), boost::asio::detached);
  RunAsync([&]() -> awaitable<void> {
    while (done < 100) co_await time().SleepFor(1s);
  }());
  ASSERT_EQ(grant_ns.size(), 500u);
  // In every window [t_i, t_j]: grants <= burst + rate * (t_j - t_i), exactly in integers.
  for (size_t i = 0; i < grant_ns.size(); ++i) {
    for (size_t j = i; j < grant_ns.size(); ++j) {
      const int64_t count = static_cast<int64_t>(j - i + 1);
      const int64_t allowed = kBurst + (grant_ns[j] - grant_ns[i]) * kPerMinute / 60'000'000'000;
      ASSERT_LE(count, allowed) << "grants " << i << ".." << j;
    }
  }
  // In particular any 60 s window holds at most burst + 120 grants, and the limiter was the
  // bottleneck: 490 tokens after the burst at 0.5 s each.
  EXPECT_EQ(grant_ns.back() - grant_ns.front(), 245'000'000'000);
}

TEST_F(RateLimiterTest, DestroyingTheLimiterReleasesItsWaiters) {
  auto limiter = Make({.capacity = 1, .refill_per_second = 1});
  ASSERT_NE(limiter, nullptr);
  ASSERT_TRUE(limiter->TryAcquire());
  std::vector<std::pair<std::string, absl::StatusCode>> results;
  auto waiter = [&](std::string who) -> awaitable<void> {
    absl::Status s = co_await limiter->Acquire(1);
    results.emplace_back(who + "@" + std::to_string(time().elapsed().count()), s.code());
  };
  RunAsync([&]() -> awaitable<void> {
    auto destroyer = [&]() -> awaitable<void> {
      co_await time().SleepFor(100ms);
      limiter.reset();
    };
    co_await (waiter("head") && waiter("parked") && destroyer());
  }());
  // The parked waiter is released at once; the head when its refill wait ends.
  EXPECT_EQ(results, (std::vector<std::pair<std::string, absl::StatusCode>>{
                         {"parked@100000000", absl::StatusCode::kCancelled},
                         {"head@1000000000", absl::StatusCode::kCancelled}}));
}

}  // namespace
}  // namespace marketpipe
