// A deliberately order-dependent test for trying tools/flakes (tagged manual: //... skips it).
// OrderMatters.SecondSeesTheFirst passes only when OrderMatters.First ran before it, which a
// shuffled run gets about half the time: the classic hidden dependency between cases.
#include <gtest/gtest.h>

namespace {

bool first_ran = false;

TEST(OrderMatters, First) { first_ran = true; }

TEST(OrderMatters, SecondSeesTheFirst) { EXPECT_TRUE(first_ran) << "depends on case order"; }

TEST(OrderMatters, Independent) { EXPECT_EQ(2 + 2, 4); }

}  // namespace
