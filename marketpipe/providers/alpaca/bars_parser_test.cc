#include "marketpipe/providers/alpaca/bars_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "marketpipe/core/time_format.h"

namespace marketpipe::alpaca {
namespace {

constexpr char kBar[] =
    R"({"t":"2024-01-02T14:30:00Z","o":187.15,"h":187.235,"l":186.9,"c":187.0001,"v":120345,)"
    R"("n":1523,"vw":187.1022})";

std::string WithBar(const std::string& bar) {
  return R"({"bars":{"AAPL":[)" + bar + R"(]},"next_page_token":null})";
}

std::string ErrorOf(const std::string& body) {
  auto page = ParseBarsPage(body, "page 3");
  EXPECT_FALSE(page.ok()) << body;
  return page.ok() ? "" : std::string(page.status().message());
}

TEST(BarsParserTest, TheFastPathTakesAlpacasExactBarShapeAndNothingElse) {
  EXPECT_TRUE(internal::FastPathTakesBar(kBar));
  std::string spaced = kBar;
  spaced.insert(spaced.find(',') + 1, " ");
  EXPECT_FALSE(internal::FastPathTakesBar(spaced));
  std::string reordered = kBar;  // "o" and "h" swapped
  reordered.replace(reordered.find("\"o\":187.15,\"h\":187.235"), 22, "\"h\":187.235,\"o\":187.15");
  EXPECT_FALSE(internal::FastPathTakesBar(reordered));
  std::string exponent = kBar;
  exponent.replace(exponent.find("186.9"), 5, "1.869e2");
  EXPECT_FALSE(internal::FastPathTakesBar(exponent));
}

TEST(BarsParserTest, ParsesTheSymbolMapShapeExactly) {
  auto page = ParseBarsPage(WithBar(kBar), "page 1");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->bars.size(), 1u);
  const Bar& b = page->bars[0];
  EXPECT_EQ(b.symbol.value(), "AAPL");
  EXPECT_EQ(b.ts_ns, *ParseRfc3339("2024-01-02T14:30:00Z"));
  EXPECT_EQ(b.open.units(), 1871500);
  EXPECT_EQ(b.high.units(), 1872350);
  EXPECT_EQ(b.low.units(), 1869000);
  EXPECT_EQ(b.close.units(), 1870001);
  EXPECT_EQ(b.volume, 120345);
  EXPECT_EQ(b.trade_count, 1523);
  EXPECT_EQ(b.vwap.units(), 1871022);
  EXPECT_FALSE(page->next_page_token.has_value());
}

TEST(BarsParserTest, ParsesTheLegacyArrayShapeWithSymbolsPerBar) {
  const std::string body =
      R"({"bars":[{"S":"MSFT","t":"2024-01-02T14:30:00Z","o":1,"h":2,"l":0.5,"c":1.5,"v":10,)"
      R"("n":2,"vw":1.2},{"S":"BRK.B","t":"2024-01-02T14:31:00.5+00:00","o":1,"h":2,"l":0.5,)"
      R"("c":1.5,"v":10,"n":2,"vw":1.2}],"next_page_token":"abc=="})";
  auto page = ParseBarsPage(body, "page 1");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->bars.size(), 2u);
  EXPECT_EQ(page->bars[0].symbol.value(), "MSFT");
  EXPECT_EQ(page->bars[1].symbol.value(), "BRK.B");
  EXPECT_EQ(page->bars[1].ts_ns, *ParseRfc3339("2024-01-02T14:31:00.5Z"));
  EXPECT_EQ(page->next_page_token, "abc==");
}

TEST(BarsParserTest, EmptyPagesInEveryFormAreEmptyNotErrors) {
  for (const char* body :
       {R"({"bars":{},"next_page_token":null})", R"({"bars":null})",
        R"({"bars":[],"next_page_token":""})", R"({"bars":{"AAPL":[]},"symbol":"AAPL"})"}) {
    auto page = ParseBarsPage(body, "page 1");
    ASSERT_TRUE(page.ok()) << body << ": " << page.status();
    EXPECT_TRUE(page->bars.empty());
    EXPECT_FALSE(page->next_page_token.has_value()) << body;
  }
}

TEST(BarsParserTest, MissingFieldIsNamedWithPageAndPath) {
  std::string bar = kBar;
  bar.replace(bar.find(R"("vw":187.1022)"), 13, R"("x":1)");
  EXPECT_EQ(ErrorOf(WithBar(bar)), R"(page 3: bars["AAPL"][0].vw: missing)");
}

TEST(BarsParserTest, MistypedFieldIsNamedNeverAZero) {
  std::string bar = kBar;
  bar.replace(bar.find(R"("o":187.15)"), 10, R"("o":"187.15")");
  EXPECT_EQ(ErrorOf(WithBar(bar)), R"(page 3: bars["AAPL"][0].o: expected a number, got string)");
  EXPECT_EQ(ErrorOf(WithBar(R"({"t":1704205800,"o":1,"h":1,"l":1,"c":1,"v":1,"n":1,"vw":1})")),
            R"(page 3: bars["AAPL"][0].t: expected a string, got number)");
  EXPECT_EQ(ErrorOf(WithBar(R"({"t":"2024-01-02T14:30:00Z","o":null,"h":1,"l":1,"c":1,"v":1,)"
                            R"("n":1,"vw":1})")),
            R"(page 3: bars["AAPL"][0].o: expected a number, got null)");
}

TEST(BarsParserTest, FractionalOrHugeVolumeIsAnError) {
  std::string bar = kBar;
  bar.replace(bar.find(R"("v":120345)"), 10, R"("v":12.5)");
  EXPECT_NE(ErrorOf(WithBar(bar)).find(R"(bars["AAPL"][0].v: expected an integer, got 12.5)"),
            std::string::npos);
  bar = kBar;
  bar.replace(bar.find(R"("v":120345)"), 10, R"("v":99999999999999999999999)");
  EXPECT_NE(ErrorOf(WithBar(bar)).find("v: integer out of range"), std::string::npos)
      << ErrorOf(WithBar(bar));
}

TEST(BarsParserTest, HugePriceIsAnError) {
  std::string bar = kBar;
  bar.replace(bar.find(R"("h":187.235)"), 11, R"("h":1e300)");
  EXPECT_NE(ErrorOf(WithBar(bar)).find(R"(bars["AAPL"][0].h:)"), std::string::npos);
}

TEST(BarsParserTest, NegativePriceAndVolumeAreKeptForValidationToReport) {
  std::string bar = kBar;
  bar.replace(bar.find(R"("l":186.9)"), 9, R"("l":-186.9)");
  bar.replace(bar.find(R"("v":120345)"), 10, R"("v":-5)");
  auto page = ParseBarsPage(WithBar(bar), "page 1");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->bars[0].low.units(), -1869000);
  EXPECT_EQ(page->bars[0].volume, -5);
}

TEST(BarsParserTest, NegativeTradeCountIsAnError) {
  std::string bar = kBar;
  bar.replace(bar.find(R"("n":1523)"), 8, R"("n":-1)");
  EXPECT_NE(ErrorOf(WithBar(bar)).find(R"(bars["AAPL"][0].n: negative count -1)"),
            std::string::npos);
}

TEST(BarsParserTest, LeadingZerosAreInvalidJsonNotSilentlyAccepted) {
  std::string bar = kBar;
  bar.replace(bar.find(R"("o":187.15)"), 10, R"("o":0187.15)");
  EXPECT_NE(ErrorOf(WithBar(bar)).find(R"(bars["AAPL"][0].o)"), std::string::npos);
  bar = kBar;
  bar.replace(bar.find(R"("v":120345)"), 10, R"("v":007)");
  EXPECT_NE(ErrorOf(WithBar(bar)).find(R"(bars["AAPL"][0].v)"), std::string::npos);
}

TEST(BarsParserTest, TimestampsBeyondInt64NanosecondsAreOutOfRangeNotWrapped) {
  std::string bar = kBar;
  bar.replace(bar.find("2024-01-02T14:30:00Z"), 20, "2300-01-01T00:00:00Z");
  EXPECT_NE(ErrorOf(WithBar(bar)).find(R"(bars["AAPL"][0].t:)"), std::string::npos);
}

TEST(BarsParserTest, BadTimestampAndSymbolAreNamed) {
  std::string bar = kBar;
  bar.replace(bar.find("2024-01-02T14:30:00Z"), 20, "2024-02-30T14:30:00Z");
  EXPECT_NE(ErrorOf(WithBar(bar)).find(R"(bars["AAPL"][0].t:)"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"bars":{"aapl":[]}})").find(R"(page 3: bars["aapl"]:)"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"bars":[{"t":"2024-01-02T14:30:00Z","o":1,"h":1,"l":1,"c":1,"v":1,)"
                    R"("n":1,"vw":1}]})")
                .find("bars[0].S: missing"),
            std::string::npos);
}

TEST(BarsParserTest, TruncatedOrMalformedJsonIsDataLoss) {
  const std::string full = WithBar(kBar);
  for (size_t cut : {size_t{1}, size_t{10}, full.size() / 2, full.size() - 1}) {
    auto page = ParseBarsPage(full.substr(0, cut), "page 7");
    ASSERT_FALSE(page.ok()) << "cut at " << cut;
    EXPECT_NE(page.status().message().find("page 7"), std::string::npos) << page.status();
  }
  auto junk = ParseBarsPage("<html>502 Bad Gateway</html>", "page 1");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("page 1: "), std::string::npos) << junk.status();
}

TEST(BarsParserTest, WrongTopLevelShapesAreErrors) {
  EXPECT_EQ(ErrorOf("[]"), "page 3: expected a JSON object at the top level");
  EXPECT_EQ(ErrorOf(R"({"next_page_token":null})"), "page 3: bars: missing");
  EXPECT_EQ(ErrorOf(R"({"bars":5})"),
            "page 3: bars: expected an object, an array or null, got number");
  EXPECT_EQ(ErrorOf(R"({"bars":{},"next_page_token":7})"),
            "page 3: next_page_token: expected a string or null, got number");
}

TEST(BarsParserTest, UnexpectedFieldsAreIgnoredAndDuplicatesKept) {
  std::string bar = kBar;
  bar.insert(1, R"("extra":{"nested":[1,2,3]},)");
  auto page = ParseBarsPage(
      R"({"currency":"USD","bars":{"AAPL":[)" + bar + "," + kBar + R"(]},"next_page_token":null})",
      "page 1");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->bars.size(), 2u);
  EXPECT_EQ(page->bars[0], page->bars[1]);
}

TEST(BarsParserTest, MoreThanFourDecimalsRoundHalfUp) {
  std::string bar = kBar;
  bar.replace(bar.find(R"("o":187.15)"), 10, R"("o":1.00005)");
  auto page = ParseBarsPage(WithBar(bar), "page 1");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->bars[0].open.units(), 10001);
}

// The parser has a fast path for Alpaca's exact bar shape and falls back to the general field
// loop on anything else. Parses `body` both ways; they must agree on the bars, the token and
// any error.
absl::StatusOr<BarsPage> ParseBothWays(const std::string& body) {
  std::string fast_body = body, general_body = body;
  auto fast = internal::ParseBarsPage(&fast_body, "page 3", /*fast_bar_path=*/true);
  auto general = internal::ParseBarsPage(&general_body, "page 3", /*fast_bar_path=*/false);
  EXPECT_EQ(fast.ok(), general.ok())
      << body << "\nfast: " << fast.status() << "\ngeneral: " << general.status();
  if (fast.ok() && general.ok()) {
    EXPECT_EQ(fast->bars, general->bars) << body;
    EXPECT_EQ(fast->next_page_token, general->next_page_token) << body;
  } else {
    EXPECT_EQ(fast.status(), general.status()) << body;
  }
  return fast;
}

void ExpectPathsAgree(const std::string& body) { static_cast<void>(ParseBothWays(body)); }

Bar ExpectedBar() {
  auto page = ParseBothWays(WithBar(kBar));
  EXPECT_TRUE(page.ok() && page->bars.size() == 1) << page.status();
  return page.ok() && page->bars.size() == 1 ? page->bars[0] : Bar{};
}

TEST(BarsParserFastPathTest, AnotherKeyOrderGivesTheSameBar) {
  for (const char* bar :
       {R"({"vw":187.1022,"n":1523,"v":120345,"c":187.0001,"l":186.9,"h":187.235,"o":187.15,)"
        R"("t":"2024-01-02T14:30:00Z"})",
        R"({"t":"2024-01-02T14:30:00Z","h":187.235,"o":187.15,"l":186.9,"c":187.0001,)"
        R"("v":120345,"n":1523,"vw":187.1022})"}) {
    auto page = ParseBothWays(WithBar(bar));
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->bars.size(), 1u);
    EXPECT_EQ(page->bars[0], ExpectedBar()) << bar;
    EXPECT_EQ(page->bars[0].open.units(), 1871500) << bar;
  }
}

TEST(BarsParserFastPathTest, WhitespaceAnywhereGivesTheSameBar) {
  auto page = ParseBothWays(
      "{\"bars\": {\"AAPL\": [ {\n  \"t\" : \"2024-01-02T14:30:00Z\",\t\"o\":187.15 ,\"h\":187.235,"
      "\"l\":186.9,\"c\":187.0001,\"v\":120345\r\n,\"n\": 1523,\"vw\":187.1022 } ] }}");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->bars.size(), 1u);
  EXPECT_EQ(page->bars[0], ExpectedBar());
}

TEST(BarsParserFastPathTest, ExtraKeysAreIgnoredAndALaterDuplicateWins) {
  for (const std::string bar :
       {R"({"t":"2024-01-02T14:30:00Z","o":187.15,"h":187.235,"l":186.9,"c":187.0001,)"
        R"("v":120345,"n":1523,"vw":187.1022,"x":1})",
        R"({"t":"2024-01-02T14:30:00Z","o":187.15,"h":187.235,"x":[1,{"o":2}],"l":186.9,)"
        R"("c":187.0001,"v":120345,"n":1523,"vw":187.1022})",
        R"({"t":"2024-01-02T14:30:00Z","o":187.15,"h":187.235,"l":186.9,"c":187.0001,)"
        R"("v":120345,"n":1523,"vw":187.1022,"S":"MSFT"})"}) {
    auto page = ParseBothWays(WithBar(bar));
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->bars.size(), 1u);
    EXPECT_EQ(page->bars[0], ExpectedBar()) << bar;
  }
  auto page = ParseBothWays(WithBar(std::string(kBar, sizeof kBar - 2) + R"(,"o":2})"));
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->bars[0].open.units(), 20000);
}

TEST(BarsParserFastPathTest, KeysThatArePrefixesOfOthersAreNotMistaken) {
  const std::pair<std::string, std::string> cases[] = {
      {R"("vw":187.1022)", R"("vwap":187.1022)"},  // vw's place, a longer key
      {R"("v":120345)", R"("vw":120345)"},         // v's place, vw (a later duplicate wins)
      {R"("t":)", R"("ts":)"},
      {R"("n":1523)", R"("nn":1523)"},
  };
  const char* expected[] = {"vw", "v", "t", "n"};
  for (size_t i = 0; i < std::size(cases); ++i) {
    std::string bar = kBar;
    bar.replace(bar.find(cases[i].first), cases[i].first.size(), cases[i].second);
    auto page = ParseBothWays(WithBar(bar));
    ASSERT_FALSE(page.ok()) << bar;
    EXPECT_EQ(page.status().message(),
              std::string(R"(page 3: bars["AAPL"][0].)") + expected[i] + ": missing");
  }
}

TEST(BarsParserFastPathTest, EscapedKeysAreUnknownKeys) {
  for (const auto& [key, name] : {std::pair<std::string, std::string>{R"("\u0074")", "t"},
                                  {R"("\u006f")", "o"},
                                  {R"("v\u0077")", "vw"}}) {
    std::string bar = kBar;
    bar.replace(bar.find("\"" + name + "\":"), name.size() + 2, key);
    auto page = ParseBothWays(WithBar(bar));
    ASSERT_FALSE(page.ok()) << bar;
    EXPECT_EQ(page.status().message(), R"(page 3: bars["AAPL"][0].)" + name + ": missing");
  }
}

TEST(BarsParserFastPathTest, EveryNumberRuleHoldsOnBothPaths) {
  const std::pair<const char*, int64_t> prices[] = {
      {"0", 0},
      {"-0", 0},
      {"0.5", 5000},
      {"-186.9", -1869000},
      {"1.00005", 10001},
      {"-1.00005", -10001},
      {"1.000049999", 10000},
      {"9.99995", 100000},
      {"99999999999999", 999999999999990000},
      {"1.5e2", 1500000},
      {"15E-1", 15000},
      {"0.0001", 1},
  };
  for (const auto& [text, units] : prices) {
    std::string bar = kBar;
    bar.replace(bar.find("187.15"), 6, text);
    auto page = ParseBothWays(WithBar(bar));
    ASSERT_TRUE(page.ok()) << text << ": " << page.status();
    EXPECT_EQ(page->bars[0].open.units(), units) << text;
  }
  const std::pair<const char*, int64_t> counts[] = {
      {"0", 0},
      {"999999999999999999", 999999999999999999},
      {"1234567890123456789", 1234567890123456789},
      {"-5", -5},
  };
  for (const auto& [text, n] : counts) {
    std::string bar = kBar;
    bar.replace(bar.find("120345"), 6, text);
    auto page = ParseBothWays(WithBar(bar));
    ASSERT_TRUE(page.ok()) << text << ": " << page.status();
    EXPECT_EQ(page->bars[0].volume, n) << text;
  }
  for (const char* bad : {"01", "1.", ".5", "-", "1.5.5", "+1", "0x10", "1e", "NaN"}) {
    std::string bar = kBar;
    bar.replace(bar.find("187.15"), 6, bad);
    auto page = ParseBothWays(WithBar(bar));
    EXPECT_FALSE(page.ok()) << bad;
  }
}

TEST(BarsParserFastPathTest, OtherTimestampFormsTakeTheGeneralPath) {
  for (const char* t :
       {"2024-01-02T14:30:00.000Z", "2024-01-02T09:30:00-05:00", "2024-01-02T14:30:00+00:00"}) {
    std::string bar = kBar;
    bar.replace(bar.find("2024-01-02T14:30:00Z"), 20, t);
    auto page = ParseBothWays(WithBar(bar));
    ASSERT_TRUE(page.ok()) << t << ": " << page.status();
    EXPECT_EQ(page->bars[0], ExpectedBar()) << t;
  }
}

TEST(BarsParserFastPathTest, EachBarGetsItsOwnDateWhenTheDateChanges) {
  const char* times[] = {"2024-01-02T14:30:00Z", "2024-01-03T14:30:00Z", "2024-02-03T14:30:00Z",
                         "2025-02-03T14:30:00Z", "2024-01-02T20:59:00Z"};
  std::string body = R"({"bars":{"AAPL":[)";
  for (const char* t : times) {
    std::string bar = kBar;
    bar.replace(bar.find("2024-01-02T14:30:00Z"), 20, t);
    body += bar + ",";
  }
  body.back() = ']';
  body += "}}";
  auto page = ParseBothWays(body);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->bars.size(), std::size(times));
  for (size_t i = 0; i < std::size(times); ++i) {
    EXPECT_EQ(page->bars[i].ts_ns, *ParseRfc3339(times[i])) << times[i];
  }
}

TEST(BarsParserFastPathTest, AgreesWithTheGeneralPathOnEveryOneByteChangeAndCut) {
  const std::string body = R"({"bars":{"AAPL":[)" + std::string(kBar) + "," + kBar +
                           R"(],"BRK.B":[)" + kBar + R"(]},"next_page_token":"x"})";
  ASSERT_TRUE(ParseBothWays(body).ok());
  const std::string bytes = std::string(" \t\"\\-+.059eE,:}{[]xtvS") + '\0';
  for (size_t i = 0; i < body.size(); ++i) {
    SCOPED_TRACE(i);
    for (char c : bytes) {
      std::string changed = body;
      changed[i] = c;
      ExpectPathsAgree(changed);
      std::string inserted = body;
      inserted.insert(i, 1, c);
      ExpectPathsAgree(inserted);
    }
    ExpectPathsAgree(body.substr(0, i));
    ExpectPathsAgree(std::string(body).erase(i, 1));
  }
}

}  // namespace
}  // namespace marketpipe::alpaca
