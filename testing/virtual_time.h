#ifndef TESTING_VIRTUAL_TIME_H_
#define TESTING_VIRTUAL_TIME_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "marketpipe/time/time_source.h"

namespace testing {

// A TimeSource whose clock moves only when told to. Waits cost no real time: a 60 s rate-limit
// window is a map insertion and a jump. Timers due at the same instant fire in the order they
// were created. Fired and cancelled waits complete by posting to the waiter's executor.
//
// AsyncTest::RunAsync auto-advances it: whenever the io_context has nothing runnable and no
// ExternalWait is alive, the clock jumps to the earliest pending timer (like a paused Tokio
// clock). Outside RunAsync, call Advance()/AdvanceToNextTimer() and then poll the io_context.
//
// Not thread-safe beyond its own bookkeeping: use it from the thread running the io_context.
class VirtualTimeSource final : public marketpipe::TimeSource {
 public:
  // The clock starts at `start_unix_nanos` wall time (default 2024-01-02T14:30:00Z) and at an
  // arbitrary fixed monotonic point.
  explicit VirtualTimeSource(int64_t start_unix_nanos = 1704205800'000000000);
  ~VirtualTimeSource() override;

  TimePoint Now() const override;
  int64_t UnixNanos() const override;
  boost::asio::awaitable<void> SleepFor(Duration d) override;

  // Moves the clock forward by `d`, firing (posting) every timer due on the way, in order.
  void Advance(Duration d);
  // Jumps to the earliest pending timer and fires all timers due then. False if none pending.
  bool AdvanceToNextTimer();
  // Completes every pending wait with operation_aborted (posted). Used at case teardown so no
  // coroutine frame outlives its io_context.
  void CancelAll();

  size_t pending_timers() const;
  size_t external_waits() const;
  // Total virtual time advanced since construction.
  Duration elapsed() const;
  // Human-readable list of pending timers and external waits (for watchdog messages).
  std::vector<std::string> DescribePending() const;

 public:
  struct Waiter;  // type-erased pending wait (implementation detail)

 private:
  void BeginExternalWait(std::string what, const void* token) override;
  void EndExternalWait(const void* token) override;
  void FireDue();

  mutable std::mutex mu_;
  Duration now_{0};
  int64_t unix_start_;
  uint64_t next_seq_ = 0;
  // (deadline, creation sequence) -> waiter: same-deadline timers fire in creation order.
  std::map<std::pair<Duration, uint64_t>, std::shared_ptr<Waiter>> timers_;
  std::map<const void*, std::string> external_;
};

}  // namespace testing

#endif  // TESTING_VIRTUAL_TIME_H_
