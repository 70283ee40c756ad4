#ifndef TESTING_ASYNC_TEST_H_
#define TESTING_ASYNC_TEST_H_

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "testing/fixture.h"
#include "testing/virtual_time.h"

namespace mptest {

// A kit component (see fixture.h): one fresh io_context and one VirtualTimeSource per case.
// mptest::AsyncTest is the fixture made of it alone; combine it with others through
// mptest::Fixture<..., AsyncEnv>, or hold it as a member.
//
//   class RateLimiterTest : public mptest::AsyncTest {};
//   TEST_F(RateLimiterTest, ThirdAcquireWaitsForRefill) {
//     auto limiter = *RateLimiter::Create(time(), {.capacity = 2, .refill_per_second = 1});
//     RunAsync([&]() -> boost::asio::awaitable<void> {
//       for (int i = 0; i < 3; ++i) co_await limiter->Acquire();
//     }());
//     EXPECT_EQ(time().elapsed(), std::chrono::seconds(1));  // exact, and instant in real time
//   }
//
// RunAsync drives io() until the awaitable completes, auto-advancing virtual time whenever
// nothing is runnable, and returns its value or rethrows its exception. It never hangs: past
// the case's real-time budget (see CaseBudget()) it throws AsyncTimeout naming the case and
// every pending timer and external wait. A case that ends with timers, external waits or
// handlers still pending fails (in TearDown) and says what was left.
class AsyncEnv {
 public:
  struct AsyncTimeout : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  AsyncEnv();
  ~AsyncEnv();
  AsyncEnv(const AsyncEnv&) = delete;
  AsyncEnv& operator=(const AsyncEnv&) = delete;

  void SetUp() {}
  // Fails the case if async work is left pending, then unwinds every parked coroutine while
  // the fixture's members (which they may use) are still alive. Idempotent.
  void TearDown();

  boost::asio::io_context& io() { return io_; }
  VirtualTimeSource& time() { return time_; }

  template <class T>
  T RunAsync(boost::asio::awaitable<T> task);

  // Runs every handler that is ready now without advancing the clock; returns how many ran.
  size_t Poll();

  // Overrides the real-time budget of each RunAsync in this case.
  void set_run_budget(std::chrono::milliseconds budget) { run_budget_ = budget; }

 private:
  void Drive(const bool& done);
  void Drain();
  void CheckNothingPending(const char* when);

  VirtualTimeSource time_;
  // Declared after time_ so it is destroyed first; TearDown drains it before that.
  boost::asio::io_context io_;
  std::optional<std::chrono::milliseconds> run_budget_;
};

// The fixture for async tests: Fixture<AsyncEnv>. Fixtures overriding TearDown call
// AsyncTest::TearDown() last.
class AsyncTest : public Fixture<AsyncEnv> {};

// Real-time budget of one case: --mp_case_timeout=<seconds> or MP_TEST_CASE_TIMEOUT, else
// derived by the test main from TEST_TIMEOUT and the number of cases in this shard.
std::chrono::milliseconds CaseBudget();

template <class T>
T AsyncEnv::RunAsync(boost::asio::awaitable<T> task) {
  // Shared with the completion handler: after a timeout RunAsync returns (throws) first, and
  // the abandoned coroutine may still complete later, while the fixture unwinds it.
  struct State {
    bool done = false;
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
  };
  auto state = std::make_shared<State>();
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(io_, std::move(task), [state](std::exception_ptr e) {
      state->error = e;
      state->done = true;
    });
  } else {
    boost::asio::co_spawn(io_, std::move(task), [state](std::exception_ptr e, T value) {
      state->error = e;
      if (!e) state->result.emplace(std::move(value));
      state->done = true;
    });
  }
  Drive(state->done);
  if (state->error) std::rethrow_exception(state->error);
  if constexpr (!std::is_void_v<T>) return std::move(*state->result);
}

}  // namespace mptest

#endif  // TESTING_ASYNC_TEST_H_
