#include "marketpipe/time/time_source.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace marketpipe {

TimeSource::TimePoint RealTimeSource::Now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

int64_t RealTimeSource::UnixNanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

boost::asio::awaitable<void> RealTimeSource::SleepFor(Duration d) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  timer.expires_after(d < Duration::zero() ? Duration::zero() : d);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

TimeSource& SystemTimeSource() {
  static RealTimeSource* source = new RealTimeSource();
  return *source;
}

}  // namespace marketpipe
