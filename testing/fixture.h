#ifndef TESTING_FIXTURE_H_
#define TESTING_FIXTURE_H_

#include <gtest/gtest.h>

namespace mptest {

// One GoogleTest fixture made of kit components, so a case can have several capabilities at once:
//
//   class IngestTest : public mptest::Fixture<mptest::PostgresDb, mptest::AsyncEnv> {};
//   TEST_F(IngestTest, RetriesAfterAMinute) {
//     Exec("CREATE TABLE t (ts_ns bigint)");              // PostgresDb: a schema per case
//     RunAsync(Job(dsn(), time()));                        // AsyncEnv: virtual time
//   }
//
// A component is a class with public SetUp() and TearDown() (non-virtual; TearDown safe to call
// when SetUp failed or never ran) that is default-constructible; AsyncEnv and PostgresDb are
// the kit's. Components are set up in the order listed and torn down in reverse, so list the
// ones others rely on first: in Fixture<PostgresDb, AsyncEnv> coroutines parked on virtual timers
// are unwound (AsyncEnv's TearDown) before the schema is dropped. A component whose SetUp fails
// fatally stops the set-up of the ones after it; every TearDown still runs.
//
// Components also work as plain members of any fixture: call their SetUp() and TearDown() from
// the fixture's own (wrap SetUp in ASSERT_NO_FATAL_FAILURE).
//
// Fixtures deriving from this that override SetUp call `ASSERT_NO_FATAL_FAILURE(Fixture::SetUp())`
// (or the kit fixture's name: `PostgresFixture::SetUp()`) first; TearDown overrides call the
// base TearDown last.
template <class... Components>
class Fixture : public ::testing::Test, public Components... {
 protected:
  void SetUp() override { (void)(SetUpOne<Components>() && ...); }
  void TearDown() override { TearDownReverse<Components...>(); }

 private:
  template <class C>
  bool SetUpOne() {
    C::SetUp();
    return !::testing::Test::HasFatalFailure();
  }
  template <class First, class... Rest>
  void TearDownReverse() {
    if constexpr (sizeof...(Rest) > 0) TearDownReverse<Rest...>();
    First::TearDown();
  }
};

}  // namespace mptest

#endif  // TESTING_FIXTURE_H_
