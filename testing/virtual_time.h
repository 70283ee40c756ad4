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

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace mptest {

// A TimeSource whose clock moves only when told to. Waits cost no real time: a 60 s rate-limit
// window is a map insertion and a jump. Timers due at the same instant fire in the order they
// were created. Fired and cancelled waits complete by posting to the waiter's executor.
//
// Time passes as it would in real life (like Tokio's time::advance or Envoy's
// advanceTimeWait): with an io_context attached (RunHandlersOn; AsyncTest does it), Advance(d)
// stops at every deadline on the way, sets the clock to it and runs the io_context's ready
// handlers before going on. So a 1 s ticker advanced by 10 s fires 10 times, Now() inside a
// handler reads that handler's own deadline, and timers armed by handlers on the way fire too
// when they fall due before the end. Without an attached io_context completions are only posted.
//
// AsyncTest::RunAsync auto-advances it: whenever the io_context has nothing runnable and no
// ExternalWait is alive, the clock jumps to the earliest pending timer (like a paused Tokio
// clock).
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

  // Advance and AdvanceToNextTimer run the ready handlers of `io` at each deadline (see above).
  // `io` must outlive this source's use. Called from a handler running on `io`, they only post.
  void RunHandlersOn(boost::asio::io_context& io) { io_ = &io; }

  // Moves the clock forward by `d`, stopping at each deadline on the way (including deadlines
  // of timers armed by the handlers that run), firing its timers and running ready handlers.
  void Advance(Duration d);
  // Jumps to the earliest pending timer, fires all timers due then and runs ready handlers.
  // False if none is pending.
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
  // Runs io_'s ready handlers unless called from one of them (io_context forbids nesting).
  void RunReady();

  mutable std::mutex mu_;
  Duration now_{0};
  int64_t unix_start_;
  uint64_t next_seq_ = 0;
  // (deadline, creation sequence) -> waiter: same-deadline timers fire in creation order.
  std::map<std::pair<Duration, uint64_t>, std::shared_ptr<Waiter>> timers_;
  std::map<const void*, std::string> external_;
  boost::asio::io_context* io_ = nullptr;
};

}  // namespace mptest

#endif  // TESTING_VIRTUAL_TIME_H_
