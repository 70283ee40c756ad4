#include "marketpipe/core/price.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/hash/hash.h"
#include "absl/status/status.h"

namespace marketpipe {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMaxUnits = std::numeric_limits<int64_t>::max();

struct ParseCase {
  std::string_view text;
  int64_t units;
};

std::ostream& operator<<(std::ostream& os, const ParseCase& c) {
  return os << "\"" << c.text << "\" -> " << c.units;
}

class PriceParseAcceptsTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(PriceParseAcceptsTest, ParsesToExactUnitsInBothModes) {
  const ParseCase& c = GetParam();
  for (Price::ParseMode mode : {Price::ParseMode::kStrict, Price::ParseMode::kLenient}) {
    absl::StatusOr<Price> price = Price::Parse(c.text, mode);
    ASSERT_TRUE(price.ok()) << c.text << ": " << price.status();
    EXPECT_EQ(price->units(), c.units) << c.text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    ValidText, PriceParseAcceptsTest,
    ::testing::Values(ParseCase{"123.4567", 1234567}, ParseCase{"0.5", 5000}, ParseCase{"0", 0},
                      ParseCase{"0.0000", 0}, ParseCase{"0.0001", 1}, ParseCase{"187.235", 1872350},
                      ParseCase{"100", 1000000}, ParseCase{"+1.5", 15000},
                      ParseCase{"007.25", 72500}, ParseCase{"000000000000000000000000001", 10000},
                      ParseCase{"922337203685477.5807", kMaxUnits},
                      ParseCase{"922337203685477", 9223372036854770000}, ParseCase{"0.1", 1000},
                      ParseCase{"0.12", 1200}, ParseCase{"0.123", 1230}));

struct RejectCase {
  std::string_view text;
  absl::StatusCode code;
  std::string_view message_part;
};

std::ostream& operator<<(std::ostream& os, const RejectCase& c) {
  return os << "\"" << c.text << "\"";
}

class PriceParseRejectsTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(PriceParseRejectsTest, RejectsWithCodeAndQuotedText) {
  const RejectCase& c = GetParam();
  for (Price::ParseMode mode : {Price::ParseMode::kStrict, Price::ParseMode::kLenient}) {
    absl::StatusOr<Price> price = Price::Parse(c.text, mode);
    ASSERT_FALSE(price.ok()) << c.text << " parsed as " << *price;
    EXPECT_EQ(price.status().code(), c.code) << price.status();
    EXPECT_THAT(std::string(price.status().message()), HasSubstr(c.message_part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    MalformedText, PriceParseRejectsTest,
    ::testing::Values(
        RejectCase{"", absl::StatusCode::kInvalidArgument, "\"\": empty"},
        RejectCase{"-1", absl::StatusCode::kInvalidArgument, "\"-1\": negative"},
        RejectCase{"-0", absl::StatusCode::kInvalidArgument, "\"-0\": negative"},
        RejectCase{"-0.0001", absl::StatusCode::kInvalidArgument, "negative"},
        RejectCase{"NaN", absl::StatusCode::kInvalidArgument, "\"NaN\": not a finite number"},
        RejectCase{"nan", absl::StatusCode::kInvalidArgument, "not a finite number"},
        RejectCase{"-nan", absl::StatusCode::kInvalidArgument, "not a finite number"},
        RejectCase{"inf", absl::StatusCode::kInvalidArgument, "\"inf\": not a finite number"},
        RejectCase{"+Infinity", absl::StatusCode::kInvalidArgument, "not a finite number"},
        RejectCase{"-INF", absl::StatusCode::kInvalidArgument, "not a finite number"},
        RejectCase{"1e2", absl::StatusCode::kInvalidArgument, "\"1e2\": exponent"},
        RejectCase{"1.5E-3", absl::StatusCode::kInvalidArgument, "exponent"},
        RejectCase{".5", absl::StatusCode::kInvalidArgument, "missing digits before"},
        RejectCase{"5.", absl::StatusCode::kInvalidArgument, "missing digits after"},
        RejectCase{".", absl::StatusCode::kInvalidArgument, "missing digits before"},
        RejectCase{"+", absl::StatusCode::kInvalidArgument, "\"+\": no digits"},
        RejectCase{"++1", absl::StatusCode::kInvalidArgument, "unexpected character \"+\""},
        RejectCase{"abc", absl::StatusCode::kInvalidArgument,
                   "\"abc\": unexpected character \"a\" at position 0"},
        RejectCase{"1.2.3", absl::StatusCode::kInvalidArgument,
                   "unexpected character \".\" at position 3"},
        RejectCase{" 1.5", absl::StatusCode::kInvalidArgument, "unexpected character \" \""},
        RejectCase{"1.5 ", absl::StatusCode::kInvalidArgument,
                   "unexpected character \" \" at position 3"},
        RejectCase{"1,5", absl::StatusCode::kInvalidArgument, "unexpected character \",\""},
        RejectCase{"$1", absl::StatusCode::kInvalidArgument, "unexpected character"},
        RejectCase{"0x10", absl::StatusCode::kInvalidArgument, "unexpected character \"x\""},
        RejectCase{"1\n", absl::StatusCode::kInvalidArgument, "\"1\\n\""},
        RejectCase{"922337203685477.5808", absl::StatusCode::kOutOfRange,
                   "\"922337203685477.5808\" exceeds the maximum price 922337203685477.5807"},
        RejectCase{"922337203685478", absl::StatusCode::kOutOfRange, "exceeds"},
        RejectCase{"1000000000000000", absl::StatusCode::kOutOfRange, "exceeds"},
        RejectCase{"99999999999999999999999999.5", absl::StatusCode::kOutOfRange, "exceeds"}));

TEST(PriceTest, ParseRejectsFiveDecimalsInStrictMode) {
  absl::StatusOr<Price> price = Price::Parse("1.23456", Price::ParseMode::kStrict);
  ASSERT_FALSE(price.ok());
  EXPECT_EQ(price.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(price.status().message()), HasSubstr("\"1.23456\""));
  EXPECT_THAT(std::string(price.status().message()), HasSubstr("more than 4 decimal places (5)"));
}

TEST(PriceTest, ParseDefaultsToStrictMode) {
  EXPECT_FALSE(Price::Parse("1.00000").ok());
  EXPECT_EQ(Price::Parse("1.0000")->units(), 10000);
}

class PriceLenientRoundingTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(PriceLenientRoundingTest, RoundsHalfUpToFourDecimals) {
  absl::StatusOr<Price> price = Price::Parse(GetParam().text, Price::ParseMode::kLenient);
  ASSERT_TRUE(price.ok()) << price.status();
  EXPECT_EQ(price->units(), GetParam().units) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    ExtraDecimals, PriceLenientRoundingTest,
    ::testing::Values(ParseCase{"1.23455", 12346},  // tie: up (half-even would give 12346 too)
                      ParseCase{"1.23465", 12347},  // tie: up (half-even would give 12346)
                      ParseCase{"1.234549999", 12345}, ParseCase{"1.23454", 12345},
                      ParseCase{"1.23456", 12346}, ParseCase{"0.00005", 1},
                      ParseCase{"0.00004999999", 0}, ParseCase{"0.99995", 10000},
                      ParseCase{"9.99999999999999999999", 100000},
                      ParseCase{"922337203685477.58065", kMaxUnits}));

TEST(PriceTest, LenientRoundingThatOverflowsIsOutOfRange) {
  absl::StatusOr<Price> price = Price::Parse("922337203685477.58075", Price::ParseMode::kLenient);
  ASSERT_FALSE(price.ok());
  EXPECT_EQ(price.status().code(), absl::StatusCode::kOutOfRange);
}

TEST(PriceTest, LenientModeStillRejectsGarbageInExtraDecimals) {
  EXPECT_FALSE(Price::Parse("1.23456x", Price::ParseMode::kLenient).ok());
}

TEST(PriceTest, LongTextIsTruncatedInTheMessage) {
  const std::string text(1000, '9');
  absl::StatusOr<Price> price = Price::Parse(text);
  ASSERT_FALSE(price.ok());
  EXPECT_LT(price.status().message().size(), 200u);
  EXPECT_THAT(std::string(price.status().message()), HasSubstr("9999\"..."));
}

TEST(PriceTest, ToStringAlwaysHasFourDecimals) {
  EXPECT_EQ(Price::FromUnits(1234500).ToString(), "123.4500");
  EXPECT_EQ(Price::FromUnits(0).ToString(), "0.0000");
  EXPECT_EQ(Price::FromUnits(1).ToString(), "0.0001");
  EXPECT_EQ(Price::FromUnits(10000).ToString(), "1.0000");
  EXPECT_EQ(Price::FromUnits(kMaxUnits).ToString(), "922337203685477.5807");
}

TEST(PriceTest, ToStringWritesNegativeValuesWithMinus) {
  EXPECT_EQ(Price::FromUnits(-12500).ToString(), "-1.2500");
  EXPECT_EQ(Price::FromUnits(-1).ToString(), "-0.0001");
  EXPECT_EQ(Price::FromUnits(std::numeric_limits<int64_t>::min()).ToString(),
            "-922337203685477.5808");
}

class PriceRoundTripTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(PriceRoundTripTest, ParseOfToStringGivesTheSameUnits) {
  const Price price = Price::FromUnits(GetParam());
  absl::StatusOr<Price> parsed = Price::Parse(price.ToString());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, price);
}

INSTANTIATE_TEST_SUITE_P(Units, PriceRoundTripTest,
                         ::testing::Values(0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 10001,
                                           1872350, 123456789, 1000000000000, kMaxUnits - 1,
                                           kMaxUnits));

struct DoubleCase {
  double value;
  int64_t units;
};

std::ostream& operator<<(std::ostream& os, const DoubleCase& c) {
  return os << c.value << " -> " << c.units;
}

class PriceFromDoubleTest : public ::testing::TestWithParam<DoubleCase> {};

TEST_P(PriceFromDoubleTest, RoundsTheWrittenDecimalToNearestUnit) {
  absl::StatusOr<Price> price = Price::FromDouble(GetParam().value);
  ASSERT_TRUE(price.ok()) << price.status();
  EXPECT_EQ(price->units(), GetParam().units);
}

INSTANTIATE_TEST_SUITE_P(
    JsonPrices, PriceFromDoubleTest,
    ::testing::Values(DoubleCase{187.235, 1872350},  // 187.2349999... as a double
                      DoubleCase{0.1, 1000}, DoubleCase{0.3, 3000}, DoubleCase{1.0005, 10005},
                      DoubleCase{123.4567, 1234567}, DoubleCase{2.675, 26750},
                      DoubleCase{1.23455, 12346},  // half up on the written decimal
                      DoubleCase{0.00005, 1}, DoubleCase{0.0000499, 0}, DoubleCase{0.0, 0},
                      DoubleCase{-0.0, 0}, DoubleCase{5e-324, 0}, DoubleCase{100.0, 1000000},
                      DoubleCase{922337203685477.5, 9223372036854775000}));

TEST(PriceTest, FromDoubleIsExactForEveryCentUpToAMillion) {
  // Every two-decimal price a feed can send: x / 100 as the double a JSON parser produces.
  for (int64_t cents = 0; cents <= 100'000'000; cents += 997) {
    const double value = static_cast<double>(cents) / 100.0;
    absl::StatusOr<Price> price = Price::FromDouble(value);
    ASSERT_TRUE(price.ok()) << value;
    ASSERT_EQ(price->units(), cents * 100) << value;
  }
}

TEST(PriceTest, FromDoubleRejectsNaNAndInfinity) {
  for (double value : {std::nan(""), std::numeric_limits<double>::infinity(),
                       -std::numeric_limits<double>::infinity()}) {
    absl::StatusOr<Price> price = Price::FromDouble(value);
    ASSERT_FALSE(price.ok()) << value;
    EXPECT_EQ(price.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(price.status().message()), HasSubstr("not a finite number"));
  }
}

TEST(PriceTest, FromDoubleRejectsNegative) {
  absl::StatusOr<Price> price = Price::FromDouble(-1.5);
  ASSERT_FALSE(price.ok());
  EXPECT_EQ(price.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(price.status().message()), HasSubstr("\"-1.5\": negative"));
  EXPECT_FALSE(Price::FromDouble(-1e-300).ok());
}

TEST(PriceTest, FromDoubleRejectsOverflow) {
  for (double value : {922337203685477.625, 1e15, 1e300, std::numeric_limits<double>::max()}) {
    absl::StatusOr<Price> price = Price::FromDouble(value);
    ASSERT_FALSE(price.ok()) << value;
    EXPECT_EQ(price.status().code(), absl::StatusCode::kOutOfRange);
  }
  EXPECT_THAT(Price::FromDouble(1e300).status().message(), HasSubstr("\"1e+300\" exceeds"));
}

TEST(PriceTest, ComparesByValue) {
  const Price a = Price::FromUnits(100);
  const Price b = Price::FromUnits(200);
  EXPECT_LT(a, b);
  EXPECT_GT(b, a);
  EXPECT_LE(a, a);
  EXPECT_EQ(a, Price::FromUnits(100));
  EXPECT_NE(a, b);
  EXPECT_EQ(Price(), Price::FromUnits(0));
  EXPECT_EQ(*Price::Parse("1.5"), *Price::Parse("1.5000"));
}

TEST(PriceTest, AddsAndSubtractsExactly) {
  const Price a = *Price::Parse("0.1");
  const Price b = *Price::Parse("0.2");
  EXPECT_EQ(a + b, *Price::Parse("0.3"));
  EXPECT_EQ(b - a, a);
  EXPECT_EQ((a - b).units(), -1000);
  Price c = a;
  c += b;
  EXPECT_EQ(c.units(), 3000);
  c -= a;
  EXPECT_EQ(c, b);
}

TEST(PriceTest, CheckedArithmeticReportsOverflow) {
  EXPECT_EQ(Price::CheckedAdd(Price::FromUnits(1), Price::FromUnits(2))->units(), 3);
  EXPECT_EQ(Price::CheckedSub(Price::FromUnits(1), Price::FromUnits(2))->units(), -1);
  absl::StatusOr<Price> sum = Price::CheckedAdd(Price::Max(), Price::FromUnits(1));
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), absl::StatusCode::kOutOfRange);
  absl::StatusOr<Price> difference =
      Price::CheckedSub(Price::FromUnits(std::numeric_limits<int64_t>::min()), Price::FromUnits(1));
  ASSERT_FALSE(difference.ok());
  EXPECT_EQ(difference.status().code(), absl::StatusCode::kOutOfRange);
}

TEST(PriceTest, HashesEqualPricesEqually) {
  EXPECT_EQ(absl::HashOf(*Price::Parse("1.5")), absl::HashOf(*Price::Parse("1.50")));
  EXPECT_NE(absl::HashOf(Price::FromUnits(1)), absl::HashOf(Price::FromUnits(2)));
}

TEST(PriceTest, StreamsAsCanonicalText) {
  std::ostringstream os;
  os << Price::FromUnits(1872350);
  EXPECT_EQ(os.str(), "187.2350");
}

TEST(PriceTest, ToDoubleIsNearestDouble) {
  EXPECT_DOUBLE_EQ(Price::FromUnits(1872350).ToDouble(), 187.235);
}

}  // namespace
}  // namespace marketpipe
