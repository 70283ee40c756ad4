#include "marketpipe/providers/rate_limit/rate_limiter.h"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace marketpipe {
namespace {

using boost::asio::awaitable;

// The completion handler of a waiter parked until it reaches the head of the queue.
struct ParkedHandler {
  virtual ~ParkedHandler() = default;
  // Posts the completion to the handler's own executor (never inline). `from_slot` is true when
  // called by the cancellation slot's handler, which must not clear (destroy) itself.
  virtual void Complete(boost::system::error_code ec, bool from_slot) = 0;
};

template <class Handler>
struct ParkedHandlerImpl final : ParkedHandler {
  explicit ParkedHandlerImpl(Handler h) : handler(std::move(h)) {}
  void Complete(boost::system::error_code ec, bool from_slot) override {
    if (!from_slot) {
      auto slot = boost::asio::get_associated_cancellation_slot(handler);
      if (slot.is_connected()) slot.clear();
    }
    auto ex = boost::asio::get_associated_executor(handler);
    boost::asio::post(ex, [h = std::move(handler), ec]() mutable { std::move(h)(ec); });
  }
  Handler handler;
};

int64_t Gcd(int64_t a, int64_t b) {
  while (b != 0) {
    const int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Longest single wait ReadyAt reports (~73 years); only absurd options get near it.
constexpr int64_t kMaxWaitNs = std::numeric_limits<int64_t>::max() / 4;

}  // namespace

struct RateLimiter::Waiter {
  RateLimiter* owner = nullptr;  // null once unlinked from the queue (or the limiter is gone)
  int64_t n = 0;
  std::list<std::shared_ptr<Waiter>>::iterator pos;
  // When it reached the head of the queue: the earliest instant its tokens may be counted from.
  TimeSource::TimePoint head_since;
  std::unique_ptr<ParkedHandler> parked;  // set while suspended waiting for its turn
};

// Unlinks the waiter however its Acquire frame ends: grant, cancellation or destruction.
class RateLimiter::QueueGuard {
 public:
  explicit QueueGuard(std::shared_ptr<Waiter> waiter) : waiter_(std::move(waiter)) {}
  QueueGuard(const QueueGuard&) = delete;
  QueueGuard& operator=(const QueueGuard&) = delete;
  ~QueueGuard() {
    if (waiter_->owner != nullptr) waiter_->owner->Remove(*waiter_);
  }

 private:
  std::shared_ptr<Waiter> waiter_;
};

absl::StatusOr<std::unique_ptr<RateLimiter>> RateLimiter::Create(TimeSource& time,
                                                                 Options options) {
  if (options.capacity < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate limiter capacity must be at least 1, got ", options.capacity));
  }
  const bool per_second = options.refill_per_second != 0;
  const bool ratio = options.refill_tokens != 0 || options.refill_period != Duration::zero();
  if (per_second && ratio) {
    return absl::InvalidArgumentError(
        "rate limiter refill: set either refill_per_second or refill_tokens/refill_period, "
        "not both");
  }
  int64_t refill_units = 0;  // per nanosecond
  int64_t units_per_token = 0;
  if (per_second) {
    const double r = options.refill_per_second;
    if (!std::isfinite(r) || r < 1e-9 || r > 1e9) {
      return absl::InvalidArgumentError(
          absl::StrCat("rate limiter refill_per_second must be in [1e-9, 1e9], got ", r));
    }
    // r tokens/s == round(r * 1e9) tokens per 1e18 ns.
    refill_units = std::llround(r * 1e9);
    units_per_token = 1'000'000'000'000'000'000;
  } else {
    if (options.refill_tokens <= 0 || options.refill_period <= Duration::zero()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rate limiter refill must be positive: refill_tokens=", options.refill_tokens,
          " per refill_period=", options.refill_period.count(), "ns"));
    }
    refill_units = options.refill_tokens;
    units_per_token = options.refill_period.count();
  }
  const int64_t g = Gcd(refill_units, units_per_token);
  return std::unique_ptr<RateLimiter>(
      new RateLimiter(time, options.capacity, refill_units / g, units_per_token / g));
}

absl::StatusOr<std::unique_ptr<RateLimiter>> RateLimiter::PerMinute(TimeSource& time,
                                                                    int64_t requests_per_minute,
                                                                    int64_t burst) {
  if (requests_per_minute < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rate limiter requests_per_minute must be at least 1, got ", requests_per_minute));
  }
  if (burst < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate limiter burst must be at least 1, got ", burst));
  }
  return Create(time, {.capacity = burst,
                       .refill_tokens = requests_per_minute,
                       .refill_period = std::chrono::minutes(1)});
}

RateLimiter::RateLimiter(TimeSource& time, int64_t capacity, int64_t refill_units,
                         int64_t units_per_token)
    : time_(time),
      capacity_(capacity),
      refill_units_(refill_units),
      units_per_token_(units_per_token),
      origin_(time.Now()),
      not_before_(origin_) {}

RateLimiter::~RateLimiter() {
  std::list<std::shared_ptr<Waiter>> queue;
  queue.swap(queue_);
  for (auto& waiter : queue) {
    waiter->owner = nullptr;
    if (auto parked = std::move(waiter->parked)) parked->Complete({}, /*from_slot=*/false);
  }
}

__int128 RateLimiter::UnitsAt(TimeSource::TimePoint t) const {
  return static_cast<__int128>((t - origin_).count()) * refill_units_;
}

TimeSource::TimePoint RateLimiter::ReadyAt(int64_t n, TimeSource::TimePoint now) const {
  // n tokens are there once tat_ - t <= (capacity - n) tokens' worth of units.
  const __int128 eligible = tat_ - static_cast<__int128>(capacity_ - n) * units_per_token_;
  auto ready = now;
  const __int128 now_units = UnitsAt(now);
  if (eligible > now_units) {
    // The first whole nanosecond at or after the exact instant.
    const __int128 ns = (eligible + refill_units_ - 1) / refill_units_;
    const __int128 wait = ns - (now - origin_).count();
    ready += Duration(wait < kMaxWaitNs ? static_cast<int64_t>(wait) : kMaxWaitNs);
  }
  return ready < not_before_ ? not_before_ : ready;
}

void RateLimiter::Take(int64_t n, TimeSource::TimePoint since) {
  // Debit as of the exact instant the tokens were there (tat_ runs ahead of it while the bucket
  // is not full), not the rounded-up wake-up time: that is what keeps long runs drift-free.
  const __int128 at = UnitsAt(since < not_before_ ? not_before_ : since);
  tat_ = (tat_ > at ? tat_ : at) + static_cast<__int128>(n) * units_per_token_;
}

void RateLimiter::Remove(Waiter& waiter) {
  const bool was_head = queue_.front().get() == &waiter;
  queue_.erase(waiter.pos);
  waiter.owner = nullptr;
  if (!was_head || queue_.empty()) return;
  Waiter& head = *queue_.front();
  head.head_since = time_.Now();
  // The new head may be parked; if not, it is about to resume and sees itself at the front.
  if (auto parked = std::move(head.parked)) parked->Complete({}, /*from_slot=*/false);
}

awaitable<absl::Status> RateLimiter::Acquire(int64_t n) {
  if (n <= 0 || n > capacity_) {
    co_return absl::InvalidArgumentError(absl::StrCat(
        "rate limiter: cannot acquire ", n, " token(s); allowed 1..", capacity_, " (capacity)"));
  }
  if (TryAcquire(n)) co_return absl::OkStatus();

  const auto started = time_.Now();
  auto waiter = std::make_shared<Waiter>();
  waiter->owner = this;
  waiter->n = n;
  waiter->head_since = started;
  waiter->pos = queue_.insert(queue_.end(), waiter);
  QueueGuard guard(waiter);
  // The initiation lambda below captures only trivial values: GCC 12 destroys the captures of a
  // lambda temporary inside a co_await expression twice (a shared_ptr capture is a
  // use-after-free under ASan).
  Waiter* const self = waiter.get();
  const std::weak_ptr<Waiter> weak_self = waiter;
  bool granted = false;
  bool cancelled = false;
  bool held_by_retry_after = false;
  try {
    // `this` may be destroyed while we are suspended: check self->owner after every wait.
    while (!granted && self->owner != nullptr) {
      if (queue_.front().get() != self) {
        co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                             void(boost::system::error_code)>(
            [self, weak = &weak_self](auto handler) {
              auto parked =
                  std::make_unique<ParkedHandlerImpl<decltype(handler)>>(std::move(handler));
              if (self->owner == nullptr || self->owner->queue_.front().get() == self) {
                parked->Complete({}, /*from_slot=*/false);
                return;
              }
              auto slot = boost::asio::get_associated_cancellation_slot(parked->handler);
              self->parked = std::move(parked);
              if (slot.is_connected()) {
                // Parking has no side effects, so every cancellation type may abort it.
                slot.assign([weak = *weak](boost::asio::cancellation_type) {
                  auto w = weak.lock();
                  if (!w) return;
                  if (auto p = std::move(w->parked)) {
                    p->Complete(boost::asio::error::operation_aborted, /*from_slot=*/true);
                  }
                });
              }
            },
            boost::asio::use_awaitable);
        continue;
      }
      const auto now = time_.Now();
      const auto ready = ReadyAt(n, now);
      if (ready <= now) {
        Take(n, self->head_since);
        granted = true;  // the guard unlinks us and wakes the next waiter
      } else {
        if (ready == not_before_) held_by_retry_after = true;
        co_await time_.SleepFor(ready - now);
      }
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() != boost::asio::error::operation_aborted) throw;
    cancelled = true;
  }
  // owner is still set (the guard unlinks later) unless the limiter is gone.
  if (self->owner != nullptr && observer_) {
    observer_(RateLimiterWait{
        .waited = time_.Now() - started, .retry_after = held_by_retry_after, .granted = granted});
  }
  if (granted) co_return absl::OkStatus();
  co_return absl::CancelledError(
      cancelled
          ? absl::StrCat("rate limiter: Acquire(", n, ") cancelled")
          : absl::StrCat("rate limiter: Acquire(", n, ") abandoned: the limiter was destroyed"));
}

bool RateLimiter::TryAcquire(int64_t n) {
  if (n <= 0 || n > capacity_ || !queue_.empty()) return false;
  const auto now = time_.Now();
  if (ReadyAt(n, now) > now) return false;
  Take(n, now);
  return true;
}

void RateLimiter::NotifyRetryAfter(Duration d) {
  const auto now = time_.Now();
  // Empty now: full again only after a whole bucket's worth of refill.
  const __int128 empty = UnitsAt(now) + static_cast<__int128>(capacity_) * units_per_token_;
  if (empty > tat_) tat_ = empty;
  const auto deadline = now + (d > Duration::zero() ? d : Duration::zero());
  if (deadline > not_before_) not_before_ = deadline;
}

absl::Status RateLimiter::SetRate(int64_t refill_tokens, Duration refill_period) {
  if (refill_tokens <= 0 || refill_period <= Duration::zero()) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate limiter refill must be positive: ", refill_tokens, " per ",
                     refill_period.count(), "ns"));
  }
  const auto now = time_.Now();
  // The deficit (how far from full) in tokens, carried over into the new units from a new origin.
  const __int128 ahead = tat_ - UnitsAt(now);
  const int64_t g = Gcd(refill_tokens, refill_period.count());
  const int64_t new_units_per_token = refill_period.count() / g;
  const __int128 carried =
      ahead > 0 ? (ahead * new_units_per_token + units_per_token_ - 1) / units_per_token_ : 0;
  refill_units_ = refill_tokens / g;
  units_per_token_ = new_units_per_token;
  origin_ = now;
  tat_ = carried;
  return absl::OkStatus();
}

int64_t RateLimiter::available() {
  const auto now = time_.Now();
  if (now < not_before_) return 0;
  const __int128 ahead = tat_ - UnitsAt(now);
  const __int128 units =
      static_cast<__int128>(capacity_) * units_per_token_ - (ahead > 0 ? ahead : 0);
  return static_cast<int64_t>(units / units_per_token_);
}

}  // namespace marketpipe
