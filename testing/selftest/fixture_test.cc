// mptest::Fixture<...>: components are set up in the order listed and torn down in reverse.

#include "testing/fixture.h"

#include <gtest/gtest.h>

#include <string>

namespace mptest {
namespace {

std::string& Log() {
  static auto* log = new std::string;
  return *log;
}

struct First {
  void SetUp() { Log() += "first.setup "; }
  void TearDown() { Log() += "first.teardown "; }
  int first_value() const { return 1; }
};

struct Second {
  void SetUp() { Log() += "second.setup "; }
  void TearDown() { Log() += "second.teardown "; }
  int second_value() const { return 2; }
};

class ComposedTest : public Fixture<First, Second> {
 protected:
  static void SetUpTestSuite() { Log().clear(); }
  static void TearDownTestSuite() {
    EXPECT_EQ(Log(), "first.setup second.setup body second.teardown first.teardown ");
  }
};

TEST_F(ComposedTest, SetsUpInOrderAndExposesEveryComponent) {
  Log() += "body ";
  EXPECT_EQ(first_value() + second_value(), 3);
  // Checked here for SetUp; TearDownTestSuite checks the tear-down order.
  EXPECT_EQ(Log(), "first.setup second.setup body ");
}

}  // namespace
}  // namespace mptest
