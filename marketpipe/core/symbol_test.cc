#include "marketpipe/core/symbol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_set>

#include "absl/hash/hash.h"
#include "absl/status/status.h"

namespace marketpipe {
namespace {

using ::testing::HasSubstr;

class SymbolParseAcceptsTest : public ::testing::TestWithParam<std::string_view> {};

TEST_P(SymbolParseAcceptsTest, KeepsTheTextUnchanged) {
  absl::StatusOr<Symbol> symbol = Symbol::Parse(GetParam());
  ASSERT_TRUE(symbol.ok()) << symbol.status();
  EXPECT_EQ(symbol->value(), GetParam());
  EXPECT_EQ(symbol->ToString(), GetParam());
  EXPECT_FALSE(symbol->empty());
}

INSTANTIATE_TEST_SUITE_P(ValidSymbols, SymbolParseAcceptsTest,
                         ::testing::Values("A", "AAPL", "BRK.B", "SPY", "X1", "A.", "A..",
                                           "ABCDEFGHIJ", "Z999999999", "QQQ"));

struct RejectCase {
  std::string_view text;
  std::string_view message_part;
};

std::ostream& operator<<(std::ostream& os, const RejectCase& c) {
  return os << "\"" << c.text << "\"";
}

class SymbolParseRejectsTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(SymbolParseRejectsTest, IsInvalidArgumentNamingTheText) {
  absl::StatusOr<Symbol> symbol = Symbol::Parse(GetParam().text);
  ASSERT_FALSE(symbol.ok()) << GetParam().text;
  EXPECT_EQ(symbol.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(symbol.status().message()), HasSubstr(GetParam().message_part));
  EXPECT_THAT(std::string(symbol.status().message()), HasSubstr("^[A-Z][A-Z0-9.]{0,9}$"));
}

INSTANTIATE_TEST_SUITE_P(
    MalformedSymbols, SymbolParseRejectsTest,
    ::testing::Values(
        RejectCase{"", "invalid symbol \"\": empty"},
        RejectCase{"aapl", "\"aapl\": must start with an uppercase letter"},
        RejectCase{"Aapl", "\"Aapl\": character \"a\" at position 1"},
        RejectCase{"1ABC", "\"1ABC\": must start with an uppercase letter"},
        RejectCase{".A", "must start with an uppercase letter"},
        RejectCase{"ABCDEFGHIJK", "\"ABCDEFGHIJK\": too long (11 characters, at most 10)"},
        RejectCase{"BRK-B", "character \"-\" at position 3"},
        RejectCase{"BRK/B", "character \"/\" at position 3"},
        RejectCase{"AAPL ", "character \" \" at position 4"},
        RejectCase{" AAPL", "must start with an uppercase letter"},
        RejectCase{"AA_PL", "character \"_\" at position 2"}, RejectCase{"AB\tC", "\"AB\\tC\""},
        RejectCase{"Ä", "must start with an uppercase"}, RejectCase{"AÄ", "at position 1"}));

TEST(SymbolTest, ParseRejectsLowercaseInsteadOfUppercasingIt) {
  absl::StatusOr<Symbol> symbol = Symbol::Parse("msft");
  ASSERT_FALSE(symbol.ok());
  EXPECT_THAT(std::string(symbol.status().message()), HasSubstr("\"msft\""));
}

TEST(SymbolTest, ParseRejectsEmbeddedNul) {
  EXPECT_FALSE(Symbol::Parse(std::string_view("AB\0C", 4)).ok());
}

TEST(SymbolTest, DefaultIsEmptyAndNotEqualToAnyParsedSymbol) {
  const Symbol empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.value(), "");
  EXPECT_NE(empty, *Symbol::Parse("A"));
}

TEST(SymbolTest, IsARegularValueType) {
  const Symbol a = *Symbol::Parse("AAPL");
  Symbol b = a;
  EXPECT_EQ(a, b);
  b = *Symbol::Parse("MSFT");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.value(), "AAPL");
}

TEST(SymbolTest, OrdersByText) {
  EXPECT_LT(*Symbol::Parse("AAPL"), *Symbol::Parse("MSFT"));
  EXPECT_LT(*Symbol::Parse("A"), *Symbol::Parse("AA"));
  EXPECT_LT(*Symbol::Parse("BRK.A"), *Symbol::Parse("BRK.B"));
  std::set<Symbol> sorted = {*Symbol::Parse("SPY"), *Symbol::Parse("AAPL"), *Symbol::Parse("MSFT")};
  EXPECT_EQ(sorted.begin()->value(), "AAPL");
  EXPECT_EQ(sorted.rbegin()->value(), "SPY");
}

TEST(SymbolTest, HashesWithAbslHashAndStdHash) {
  const Symbol a1 = *Symbol::Parse("AAPL");
  const Symbol a2 = *Symbol::Parse("AAPL");
  const Symbol m = *Symbol::Parse("MSFT");
  EXPECT_EQ(absl::HashOf(a1), absl::HashOf(a2));
  EXPECT_NE(absl::HashOf(a1), absl::HashOf(m));
  EXPECT_EQ(std::hash<Symbol>()(a1), std::hash<Symbol>()(a2));

  std::unordered_set<Symbol> set = {a1, a2, m};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(*Symbol::Parse("MSFT")));
}

TEST(SymbolTest, StreamsItsText) {
  std::ostringstream os;
  os << *Symbol::Parse("BRK.B");
  EXPECT_EQ(os.str(), "BRK.B");
}

}  // namespace
}  // namespace marketpipe
