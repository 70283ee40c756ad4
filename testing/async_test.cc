#include "testing/async_test.h"

#include <sstream>

#include "testing/environment.h"
#include "testing/kit_internal.h"

namespace mptest {

std::chrono::milliseconds CaseBudget() { return kit_internal::GetCaseBudget(); }

namespace {

std::string JoinLines(const std::vector<std::string>& lines) {
  if (lines.empty()) return "  (nothing registered: a wait outside virtual time, or a hang)\n";
  std::ostringstream out;
  for (const auto& l : lines) out << "  - " << l << "\n";
  return out.str();
}

}  // namespace

AsyncEnv::AsyncEnv() {
  time_.RunHandlersOn(io_);
  kit_internal::SetPendingDescriber([this] { return time_.DescribePending(); });
}

AsyncEnv::~AsyncEnv() {
  kit_internal::SetPendingDescriber(nullptr);
  // Fallback for fixtures whose TearDown did not run (SetUp failed): unwind what is left.
  Drain();
}

void AsyncEnv::TearDown() {
  CheckNothingPending("when the case ended");
  // Unwind every coroutine still parked on a virtual timer now, while the derived fixture's
  // members (which those coroutines may use) are still alive.
  Drain();
}

void AsyncEnv::Drain() {
  // A coroutine may catch the cancellation and wait again: repeat, boundedly.
  for (int round = 0; round < 100; ++round) {
    time_.CancelAll();
    if (io_.stopped()) io_.restart();
    if (io_.poll() == 0 && time_.pending_timers() == 0) return;
  }
}

size_t AsyncEnv::Poll() {
  if (io_.stopped()) io_.restart();
  return io_.poll();
}

void AsyncEnv::Drive(const bool& done) {
  const auto budget = run_budget_.value_or(CaseBudget());
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (!done) {
    // Checked on every turn: a task that keeps handlers or timers coming (a ticker, a retry
    // loop) while the awaited result never arrives must still hit the budget.
    if (std::chrono::steady_clock::now() >= deadline) {
      std::ostringstream msg;
      msg << "RunAsync did not finish within " << budget.count() << " ms of real time in case "
          << CurrentCaseName() << " (virtual time advanced "
          << std::chrono::duration<double>(time_.elapsed()).count() << " s). Pending async work:\n"
          << JoinLines(time_.DescribePending());
      io_.stop();
      throw AsyncTimeout(msg.str());
    }
    if (io_.stopped()) io_.restart();
    if (io_.poll() > 0) continue;
    if (done) break;
    // Nothing runnable: jump the clock unless something outside virtual time is awaited.
    if (time_.external_waits() == 0 && time_.AdvanceToNextTimer()) continue;
    // Real I/O (sockets, other threads) is in flight: wait for it in real time, briefly.
    io_.run_one_for(std::chrono::milliseconds(2));
  }
}

void AsyncEnv::CheckNothingPending(const char* when) {
  if (io_.stopped()) io_.restart();
  const size_t ran = io_.poll();
  // poll() stops the io_context once it has no outstanding work; still running means an
  // operation was started and never completed (a socket read, a real-time timer, ...).
  // (Coroutines parked on virtual timers also keep it running: only claim real operations
  // when no virtual wait explains it.)
  const bool outstanding = !io_.stopped() && time_.pending_timers() == 0;
  const auto pending = time_.DescribePending();
  if (ran > 0 || outstanding || !pending.empty()) {
    ADD_FAILURE() << "async work left pending " << when << " in " << CurrentCaseName() << ": "
                  << ran << " handler(s) were still queued, " << pending.size()
                  << " wait(s) still pending"
                  << (outstanding ? ", and operations outside virtual time (sockets, real "
                                    "timers) are still outstanding on the io_context"
                                  : "")
                  << ":\n"
                  << JoinLines(pending);
  }
}

}  // namespace mptest
