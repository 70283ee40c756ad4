#include "testing/sharding.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace mptest::sharding {
namespace {

std::vector<std::string> Names(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("S.C" + std::to_string(i));
  return out;
}

TEST(ShardingTest, RoundRobinCoversEveryCaseExactlyOnce) {
  for (int n : {0, 1, 7, 20}) {
    for (int total = 1; total <= 6; ++total) {
      std::multiset<std::string> seen;
      for (int i = 0; i < total; ++i) {
        for (const auto& c : CasesForShard(Names(n), i, total, nullptr)) seen.insert(c);
      }
      EXPECT_EQ(seen.size(), static_cast<size_t>(n));
      EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), static_cast<size_t>(n));
    }
  }
}

TEST(ShardingTest, TimingsBalanceLongestFirst) {
  Timings t;
  t.millis_by_case = {{"S.C0", 100}, {"S.C1", 60}, {"S.C2", 50}, {"S.C3", 10}};
  EXPECT_EQ(CasesForShard(Names(4), 0, 2, &t), (std::vector<std::string>{"S.C0", "S.C3"}));
  EXPECT_EQ(CasesForShard(Names(4), 1, 2, &t), (std::vector<std::string>{"S.C1", "S.C2"}));
}

TEST(ShardingTest, ManifestKeepsOnlyThisTargetAndStarLines) {
  Timings t;
  std::string error;
  ASSERT_TRUE(ParseManifest("# header\n//a:t\tS.C0\t12.5\n//b:t\tS.C1\t3\n*\tS.C2\t4\n\n", "//a:t",
                            &t, &error))
      << error;
  EXPECT_EQ(t.millis_by_case.size(), 2u);
  EXPECT_DOUBLE_EQ(t.millis_by_case["S.C0"], 12.5);
  EXPECT_DOUBLE_EQ(t.millis_by_case["S.C2"], 4);
}

TEST(ShardingTest, ManifestRejectsMalformedLinesByNumber) {
  for (const char* bad : {"//a:t\tS.C0", "//a:t\tS.C0\t-1", "//a:t\tS.C0\tnan", "//a:t\t\t1",
                          "//a:t\tS.C0\t1ms", "a b c"}) {
    Timings t;
    std::string error;
    EXPECT_FALSE(ParseManifest(std::string("# ok\n") + bad + "\n", "//a:t", &t, &error)) << bad;
    EXPECT_NE(error.find("line 2"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace mptest::sharding
