#ifndef MARKETPIPE_TIME_TIME_SOURCE_H_
#define MARKETPIPE_TIME_TIME_SOURCE_H_

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace marketpipe {

// TimeSource is the only way production code reads a clock or waits. Production uses
// RealTimeSource; tests use mptest::VirtualTimeSource, where waiting costs no real time.
//
// Thread safety: an implementation may be used from the thread(s) running the io_context
// its waits complete on; RealTimeSource is safe from any thread.
class TimeSource {
 public:
  using Duration = std::chrono::nanoseconds;
  // Monotonic time since an unspecified epoch (never goes back).
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~TimeSource() = default;

  // Monotonic now.
  virtual TimePoint Now() const = 0;

  // Wall-clock now as UTC nanoseconds since the Unix epoch.
  virtual int64_t UnixNanos() const = 0;

  // Completes after `d` (immediately, but still asynchronously, when d <= 0). Waits are
  // cancellable through the awaiting coroutine's cancellation slot (e.g. the losing side of
  // `a || b`); a cancelled wait throws boost::system::system_error(operation_aborted).
  // The completion always runs on the awaiting coroutine's executor, never inline.
  virtual boost::asio::awaitable<void> SleepFor(Duration d) = 0;

  // Marks a wait on the outside world (a socket, a child process) that virtual time must not
  // skip over: while one is alive a virtual clock does not auto-advance. Real time ignores it.
  class ExternalWait {
   public:
    ExternalWait(TimeSource& source, std::string what) : source_(&source) {
      source_->BeginExternalWait(std::move(what), this);
    }
    ~ExternalWait() { source_->EndExternalWait(this); }
    ExternalWait(const ExternalWait&) = delete;
    ExternalWait& operator=(const ExternalWait&) = delete;

   private:
    TimeSource* source_;
  };

  // Sleeps until `deadline` (monotonic).
  boost::asio::awaitable<void> SleepUntil(TimePoint deadline) { return SleepFor(deadline - Now()); }

 protected:
  virtual void BeginExternalWait(std::string what, const void* token) {}
  virtual void EndExternalWait(const void* token) {}
};

// Steady clock + system clock + boost::asio::steady_timer.
class RealTimeSource final : public TimeSource {
 public:
  TimePoint Now() const override;
  int64_t UnixNanos() const override;
  boost::asio::awaitable<void> SleepFor(Duration d) override;
};

// A process-wide RealTimeSource.
TimeSource& SystemTimeSource();

}  // namespace marketpipe

#endif  // MARKETPIPE_TIME_TIME_SOURCE_H_
