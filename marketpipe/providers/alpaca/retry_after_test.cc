#include "marketpipe/providers/alpaca/retry_after.h"

#include <gtest/gtest.h>

#include "marketpipe/core/time_format.h"

namespace marketpipe::alpaca {
namespace {

using namespace std::chrono_literals;

const int64_t kNow = *ParseRfc3339("2015-10-21T07:27:30Z");

TEST(RetryAfterTest, DeltaSecondsAreTheWait) {
  EXPECT_EQ(ParseRetryAfter("120", kNow), 120s);
  EXPECT_EQ(ParseRetryAfter("  0 ", kNow), 0s);
}

TEST(RetryAfterTest, HugeDeltaSaturatesInsteadOfFailing) {
  const auto wait = ParseRetryAfter("99999999999999999999999", kNow);
  ASSERT_TRUE(wait.has_value());
  EXPECT_GT(*wait, std::chrono::hours(24 * 365 * 99));
}

TEST(RetryAfterTest, HttpDatesInEveryFormRfc9110AcceptsAreTheTimeUntilThen) {
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kNow), 30s);
  EXPECT_EQ(ParseRetryAfter("Wednesday, 21-Oct-15 07:28:00 GMT", kNow), 30s);
  EXPECT_EQ(ParseRetryAfter("Wed Oct 21 07:28:00 2015", kNow), 30s);
}

TEST(RetryAfterTest, DateInThePastIsNoWait) {
  EXPECT_EQ(ParseRetryAfter("Tue, 20 Oct 2015 07:28:00 GMT", kNow), 0s);
}

TEST(RetryAfterTest, MalformedValuesAreNullopt) {
  for (const char* bad : {"", "   ", "-5", "1.5", "soon", "Wed, 21 Oct 2015 07:28:00 PST",
                          "Wed, 32 Oct 2015 07:28:00 GMT", "Wed, 21 Foo 2015 07:28:00 GMT",
                          "Wed, 21 Oct 2015 07:28:00 GMT trailing", "12 34"}) {
    EXPECT_FALSE(ParseRetryAfter(bad, kNow).has_value()) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace marketpipe::alpaca
