#include "testing/fakes/url_query.h"

#include <gtest/gtest.h>

namespace mptest {
namespace {

TEST(UrlQueryTest, DecodesPercentEscapesAndPlus) {
  EXPECT_EQ(PercentDecode("a%3Db%2Bc+d%2fe"), "a=b+c d/e");
}

TEST(UrlQueryTest, KeepsMalformedEscapesVerbatim) {
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
}

TEST(UrlQueryTest, PathStopsAtQueryOrFragment) {
  EXPECT_EQ(TargetPath("/v2/stocks/bars?symbols=AAPL"), "/v2/stocks/bars");
  EXPECT_EQ(TargetPath("/v2/stocks/bars#x"), "/v2/stocks/bars");
  EXPECT_EQ(TargetPath("/v2/stocks/bars"), "/v2/stocks/bars");
}

TEST(UrlQueryTest, ParsesParametersInOrderDecoded) {
  const QueryParams params =
      ParseQuery("/v2/stocks/bars?symbols=AAPL%2CMSFT&page_token=YWJj%3D%3D&flag&&empty=");
  const QueryParams expected = {
      {"symbols", "AAPL,MSFT"}, {"page_token", "YWJj=="}, {"flag", ""}, {"empty", ""}};
  EXPECT_EQ(params, expected);
  EXPECT_EQ(FindQueryParam(params, "page_token"), "YWJj==");
  EXPECT_EQ(FindQueryParam(params, "missing"), std::nullopt);
}

TEST(UrlQueryTest, InvalidTargetsAreRefused) {
  EXPECT_EQ(ParseQueryChecked("/v2/stocks/bars?symbols=A%ZZ"), std::nullopt);
  EXPECT_EQ(ParseQueryChecked("/v2/stocks/bars?symbols=A B"), std::nullopt);
  EXPECT_EQ(ParseQueryChecked("/v2/stocks/bars#frag"), std::nullopt);
  EXPECT_EQ(ParseQueryChecked("v2/stocks/bars"), std::nullopt);
  EXPECT_TRUE(ParseQuery("/v2/stocks/bars?symbols=A%ZZ").empty());
  EXPECT_EQ(ParseQueryChecked("/p?a=%2B+b"), QueryParams({{"a", "+ b"}}));
}

TEST(UrlQueryTest, TargetWithoutQueryHasNoParameters) {
  EXPECT_TRUE(ParseQuery("/v2/stocks/bars").empty());
  EXPECT_TRUE(ParseQuery("/v2/stocks/bars?").empty());
}

}  // namespace
}  // namespace mptest
