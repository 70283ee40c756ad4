// RecomputeTouchedBuckets on PostgresStore: the recompute conformance suite, one schema per case.
// With recompute_sqlite_test, both stores are held to the same pure aggregation.

#include <gtest/gtest.h>

#include <string>

#include "marketpipe/aggregation/recompute_conformance.h"
#include "testing/postgres/postgres_fixture.h"

namespace marketpipe::aggregation {
namespace {

class PostgresEnv : public ::testing::PostgresFixture {
 protected:
  std::string StoreSpec() const { return "postgres:" + dsn() + ";schema=" + schema(); }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, RecomputeConformanceTest, ::testing::Types<PostgresEnv>);
}  // namespace conformance
}  // namespace marketpipe::aggregation
