#include "marketpipe/core/quote.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace marketpipe::core_internal {
namespace {

TEST(QuoteTest, WrapsTextInDoubleQuotes) {
  EXPECT_EQ(Quote("AAPL"), "\"AAPL\"");
  EXPECT_EQ(Quote(""), "\"\"");
}

TEST(QuoteTest, EscapesQuotesControlBytesAndInvalidUtf8) {
  EXPECT_EQ(Quote("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(Quote("a\nb\tc"), "\"a\\nb\\tc\"");
  EXPECT_EQ(Quote(std::string_view("a\0z", 3)), "\"a\\x00z\"");
  EXPECT_EQ(Quote("\xff"), "\"\\xff\"");
}

TEST(QuoteTest, CutsLongTextAfter64Bytes) {
  const std::string long_text(100, 'x');
  EXPECT_EQ(Quote(long_text), "\"" + std::string(64, 'x') + "\"...");
  EXPECT_EQ(Quote(std::string(64, 'y')), "\"" + std::string(64, 'y') + "\"");
}

}  // namespace
}  // namespace marketpipe::core_internal
