#include "testing/virtual_time.h"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

namespace mptest {

using marketpipe::TimeSource;

struct VirtualTimeSource::Waiter {
  virtual ~Waiter() = default;
  // Clears the cancellation slot and posts the completion to the waiter's executor.
  virtual void Complete(boost::system::error_code ec) = 0;
  Duration created_at{0};
};

namespace {

template <class Handler>
struct WaiterImpl final : VirtualTimeSource::Waiter {
  explicit WaiterImpl(Handler h) : handler(std::move(h)) {}
  void Complete(boost::system::error_code ec) override {
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) slot.clear();
    auto ex = boost::asio::get_associated_executor(handler);
    boost::asio::post(ex, [h = std::move(handler), ec]() mutable { std::move(h)(ec); });
  }
  Handler handler;
};

// now + d without overflow: a wait of Duration::max() is "forever", not "already due".
TimeSource::Duration SaturatingAdd(TimeSource::Duration now, TimeSource::Duration d) {
  return d > TimeSource::Duration::max() - now ? TimeSource::Duration::max() : now + d;
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9gs", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace

VirtualTimeSource::VirtualTimeSource(int64_t start_unix_nanos) : unix_start_(start_unix_nanos) {}

VirtualTimeSource::~VirtualTimeSource() = default;

TimeSource::TimePoint VirtualTimeSource::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  // A fixed, large offset so Now() never looks like "the epoch".
  return TimePoint(std::chrono::hours(24) + now_);
}

int64_t VirtualTimeSource::UnixNanos() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unix_start_ + now_.count();
}

boost::asio::awaitable<void> VirtualTimeSource::SleepFor(Duration d) {
  if (d < Duration::zero()) d = Duration::zero();
  co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                       void(boost::system::error_code)>(
      [this, d](auto handler) {
        using H = decltype(handler);
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        auto waiter = std::make_shared<WaiterImpl<H>>(std::move(handler));
        if (d == Duration::zero()) {  // already due: complete now, still posted
          waiter->Complete({});
          return;
        }
        std::pair<Duration, uint64_t> key;
        {
          std::lock_guard<std::mutex> lock(mu_);
          waiter->created_at = now_;
          key = {SaturatingAdd(now_, d), next_seq_++};
          timers_.emplace(key, waiter);
        }
        if (slot.is_connected()) {
          slot.assign([this, key](boost::asio::cancellation_type) {
            std::shared_ptr<Waiter> w;
            {
              std::lock_guard<std::mutex> lock(mu_);
              auto it = timers_.find(key);
              if (it == timers_.end()) return;
              w = std::move(it->second);
              timers_.erase(it);
            }
            w->Complete(boost::asio::error::operation_aborted);
          });
        }
      },
      boost::asio::use_awaitable);
}

void VirtualTimeSource::FireDue() {
  for (;;) {
    std::shared_ptr<Waiter> w;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = timers_.begin();
      if (it == timers_.end() || it->first.first > now_) return;
      w = std::move(it->second);
      timers_.erase(it);
    }
    w->Complete({});
  }
}

void VirtualTimeSource::RunReady() {
  if (!io_ || io_->get_executor().running_in_this_thread()) return;
  if (io_->stopped()) io_->restart();
  io_->poll();
}

void VirtualTimeSource::Advance(Duration d) {
  if (d < Duration::zero()) d = Duration::zero();
  Duration target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    target = SaturatingAdd(now_, d);
  }
  // Work that is ready now runs at the current time, before the clock moves.
  RunReady();
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = timers_.begin();
      if (it == timers_.end() || it->first.first > target) {
        now_ = target;
        break;
      }
      now_ = it->first.first;
    }
    FireDue();
    // The handlers run now, reading this deadline; what they arm is seen by the next turn.
    RunReady();
  }
}

bool VirtualTimeSource::AdvanceToNextTimer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (timers_.empty()) return false;
    if (timers_.begin()->first.first > now_) now_ = timers_.begin()->first.first;
  }
  FireDue();
  RunReady();
  return true;
}

void VirtualTimeSource::CancelAll() {
  std::map<std::pair<Duration, uint64_t>, std::shared_ptr<Waiter>> timers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    timers.swap(timers_);
  }
  for (auto& [key, w] : timers) w->Complete(boost::asio::error::operation_aborted);
}

size_t VirtualTimeSource::pending_timers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return timers_.size();
}

size_t VirtualTimeSource::external_waits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return external_.size();
}

TimeSource::Duration VirtualTimeSource::elapsed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

std::vector<std::string> VirtualTimeSource::DescribePending() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, w] : timers_) {
    out.push_back("virtual timer #" + std::to_string(key.second) + " created at t=" +
                  FormatDuration(w->created_at) + ", due at t=" + FormatDuration(key.first) +
                  " (now t=" + FormatDuration(now_) + ")");
  }
  for (const auto& [token, what] : external_) out.push_back("external wait: " + what);
  return out;
}

void VirtualTimeSource::BeginExternalWait(std::string what, const void* token) {
  std::lock_guard<std::mutex> lock(mu_);
  external_.emplace(token, std::move(what));
}

void VirtualTimeSource::EndExternalWait(const void* token) {
  std::lock_guard<std::mutex> lock(mu_);
  external_.erase(token);
}

}  // namespace mptest
