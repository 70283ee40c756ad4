#ifndef MARKETPIPE_PROVIDERS_RATE_LIMIT_RATE_LIMITER_H_
#define MARKETPIPE_PROVIDERS_RATE_LIMIT_RATE_LIMITER_H_

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "marketpipe/time/time_source.h"

namespace marketpipe {

// How a RateLimiter refills. Give the rate either as `refill_per_second` or as the exact ratio
// `refill_tokens` per `refill_period` (e.g. 200 per 60 s), not both.
//
// Declared outside RateLimiter so that `Options{}` works as a default argument.
struct RateLimiterOptions {
  // Bucket size: the largest burst, and the largest n Acquire accepts. At least 1.
  int64_t capacity = 1;
  // Tokens per second, taken exactly to nine decimals (nano-tokens per second): 0.5, 3.25.
  // Rates such as 200 per minute are not a finite decimal: use refill_tokens/refill_period.
  double refill_per_second = 0;
  // The exact form: `refill_tokens` tokens every `refill_period`, accrued continuously.
  int64_t refill_tokens = 0;
  TimeSource::Duration refill_period{0};
};

// One Acquire that could not be granted at once, as a RateLimiter reports it to its observer
// (e.g. for metrics).
struct RateLimiterWait {
  // From the Acquire call to its grant or cancellation, on the limiter's TimeSource.
  TimeSource::Duration waited{0};
  // A Retry-After deadline (NotifyRetryAfter) held it back, rather than refill or the queue.
  bool retry_after = false;
  // False when the wait was cancelled.
  bool granted = true;
};

// A token bucket shared by every request of one provider (DESIGN.md, "providers").
//
//   absl::StatusOr<std::unique_ptr<RateLimiter>> limiter = RateLimiter::PerMinute(time, 200, 10);
//   absl::Status s = co_await (*limiter)->Acquire();  // one token; waits if the bucket is empty
//   ... on HTTP 429 with Retry-After: 3 ...
//   (*limiter)->NotifyRetryAfter(std::chrono::seconds(3));
//
// Arithmetic is exact. The bucket is kept in its GCRA form (the instant at which it would be
// full again) in integer units of 1/refill_tokens nanosecond, in which one token is exactly
// refill_period units, so no rounding error accumulates however long it runs. Grants happen at
// whole nanoseconds: a waiter wakes at the first nanosecond at which the exact bucket holds its
// tokens, and the bucket is debited as of that exact (possibly fractional) instant, so the k-th
// token after an empty bucket is granted exactly ceil(k * refill_period / refill_tokens) later.
//
// Fairness: strictly FIFO. Acquire grants immediately only when nobody is waiting; otherwise it
// queues, and only the head of the queue may take tokens, so a later small request never
// overtakes an earlier large one (it waits behind it even when enough tokens for itself exist).
//
// Thread safety: none inside. Use one limiter from one executor: every call, the coroutines
// awaiting Acquire and the destructor run on a single-threaded io_context or one strand.
class RateLimiter {
 public:
  using Options = RateLimiterOptions;
  using Duration = TimeSource::Duration;

  // InvalidArgument unless capacity >= 1 and exactly one refill form is given and positive
  // (refill_per_second finite, in [1e-9, 1e9]; or refill_tokens > 0 and refill_period > 0).
  //
  //   auto limiter = RateLimiter::Create(time, {.capacity = 2, .refill_per_second = 1});
  static absl::StatusOr<std::unique_ptr<RateLimiter>> Create(TimeSource& time, Options options);

  // `requests_per_minute` tokens every 60 s exactly, bursts of up to `burst` (both >= 1).
  //
  //   auto limiter = RateLimiter::PerMinute(time, 200, 10);  // Alpaca's free plan
  static absl::StatusOr<std::unique_ptr<RateLimiter>> PerMinute(TimeSource& time,
                                                                int64_t requests_per_minute,
                                                                int64_t burst);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Waiters still queued are released: those parked behind the head complete with
  // CancelledError at once, the head when its pending TimeSource wait ends. Destroy the limiter
  // while its io_context is still alive.
  ~RateLimiter();

  // Takes `n` tokens, waiting (through TimeSource::SleepFor) until the bucket holds them and
  // every earlier waiter has been served. Returns OK once granted; InvalidArgument at once,
  // without waiting or queueing, when n <= 0 or n > capacity.
  //
  // Cancellation through the awaiting coroutine's cancellation slot (the losing side of
  // `a || b`, a bound cancellation_signal) removes the waiter from the queue and completes with
  // CancelledError; destroying the suspended coroutine removes it too. No tokens are taken by a
  // cancelled waiter, and the next waiter moves up.
  //
  //   if (absl::Status s = co_await limiter.Acquire(); !s.ok()) co_return s;
  boost::asio::awaitable<absl::Status> Acquire(int64_t n = 1);

  // Takes `n` tokens if that is possible right now without waiting and without overtaking a
  // queued waiter; false otherwise (also for n <= 0 or n > capacity).
  //
  //   if (!limiter.TryAcquire()) { /* shed load */ }
  bool TryAcquire(int64_t n = 1);

  // The server said "Retry-After: d": empties the bucket and grants nothing before now + d
  // (queued waiters wake then). The bucket refills from now as usual, so a wait longer than a
  // full refill ends with a full bucket. Several notices keep the latest deadline; d <= 0
  // still empties the bucket.
  //
  //   limiter.NotifyRetryAfter(std::chrono::seconds(retry_after));
  void NotifyRetryAfter(Duration d);

  // Changes the refill rate to `refill_tokens` per `refill_period` from now on (e.g. the plan's
  // real limit from X-RateLimit-Limit), keeping what the bucket holds now (rounded down to the
  // new unit). Waiters already sleeping re-check when they wake. InvalidArgument unless both
  // are positive.
  absl::Status SetRate(int64_t refill_tokens, Duration refill_period);

  // Called once for every Acquire that had to wait, when it is granted or cancelled (not for
  // immediate grants, nor for waiters abandoned by the limiter's destruction), on the limiter's
  // executor. Replaces any earlier observer; empty: none.
  //
  //   limiter.SetWaitObserver([&](const RateLimiterWait& w) { waits.Increment(); });
  void SetWaitObserver(std::function<void(const RateLimiterWait&)> observer) {
    observer_ = std::move(observer);
  }

  // Whole tokens that could be taken now (0 before a Retry-After deadline).
  int64_t available();
  // Acquire calls currently queued.
  size_t waiting() const { return queue_.size(); }
  int64_t capacity() const { return capacity_; }

 private:
  struct Waiter;
  class QueueGuard;

  // `refill_units` units per nanosecond; one token is `units_per_token` units.
  RateLimiter(TimeSource& time, int64_t capacity, int64_t refill_units, int64_t units_per_token);

  // `t` in units since origin_.
  __int128 UnitsAt(TimeSource::TimePoint t) const;
  // Earliest instant >= now at which n tokens may be taken (ignoring the queue).
  TimeSource::TimePoint ReadyAt(int64_t n, TimeSource::TimePoint now) const;
  // Takes n tokens as of the instant max(since, not_before_), which must be eligible.
  void Take(int64_t n, TimeSource::TimePoint since);
  // Unlinks `waiter`; when it was the head, wakes the new head.
  void Remove(Waiter& waiter);

  TimeSource& time_;
  const int64_t capacity_;
  int64_t refill_units_;     // units per nanosecond
  int64_t units_per_token_;  // units in one token
  TimeSource::TimePoint origin_;
  // Theoretical arrival time: the instant (units since origin_) at which the bucket is full
  // again; tokens at t = capacity - max(0, tat_ - t) / units_per_token_.
  __int128 tat_ = 0;
  TimeSource::TimePoint not_before_;
  std::list<std::shared_ptr<Waiter>> queue_;
  std::function<void(const RateLimiterWait&)> observer_;
};

}  // namespace marketpipe

#endif  // MARKETPIPE_PROVIDERS_RATE_LIMIT_RATE_LIMITER_H_
