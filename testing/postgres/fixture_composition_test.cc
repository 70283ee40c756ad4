// Fixtures compose: one case with virtual time (AsyncEnv) and a PostgreSQL schema (PostgresDb).

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "testing/async_test.h"
#include "testing/fixture.h"
#include "testing/postgres/postgres_fixture.h"

namespace mptest {
namespace {

using std::chrono::hours;

// PostgresDb first: set up first, torn down last, after AsyncEnv has unwound its coroutines.
class AsyncPostgresTest : public Fixture<PostgresDb, AsyncEnv> {};

TEST_F(AsyncPostgresTest, HourlyWritesAtExactVirtualTimesLandInTheCaseSchema) {
  Exec("CREATE TABLE ticks (n int PRIMARY KEY, at_ns bigint NOT NULL)");
  const int64_t t0 = time().UnixNanos();
  RunAsync([&]() -> boost::asio::awaitable<void> {
    for (int n = 1; n <= 3; ++n) {
      co_await time().SleepFor(hours(1));
      Exec("INSERT INTO ticks VALUES (" + std::to_string(n) + ", " +
           std::to_string(time().UnixNanos()) + ")");
    }
  }());
  EXPECT_EQ(time().elapsed(), hours(3));
  const int64_t hour_ns = 3600'000'000'000;
  EXPECT_EQ(QueryScalar("SELECT string_agg((at_ns - " + std::to_string(t0) +
                        ")::text, ',' "
                        "ORDER BY n) FROM ticks"),
            std::to_string(hour_ns) + "," + std::to_string(2 * hour_ns) + "," +
                std::to_string(3 * hour_ns));
  EXPECT_EQ(QueryScalar("SELECT schemaname FROM pg_tables WHERE tablename = 'ticks'"), schema());
}

// A component also works as a member of a hand-written fixture.
class MemberFixtureTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(db_.SetUp()); }
  void TearDown() override {
    async_.TearDown();
    db_.TearDown();
  }
  PostgresDb db_;
  AsyncEnv async_;
};

TEST_F(MemberFixtureTest, ComponentsWorkAsMembers) {
  db_.Exec("CREATE TABLE waits (seconds bigint)");
  async_.RunAsync([&]() -> boost::asio::awaitable<void> {
    co_await async_.time().SleepFor(std::chrono::minutes(90));
    db_.Exec(
        "INSERT INTO waits VALUES (" +
        std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(async_.time().elapsed()).count()) +
        ")");
  }());
  EXPECT_EQ(db_.QueryScalar("SELECT seconds FROM waits"), "5400");
}

}  // namespace
}  // namespace mptest
