// RecomputeTouchedBuckets on SqliteStore: the recompute conformance suite, one file per case.
// (//marketpipe/storage:postgres_store_test runs it on PostgreSQL.)

#include <gtest/gtest.h>

#include <string>

#include "marketpipe/aggregation/recompute_conformance.h"
#include "testing/environment.h"

namespace marketpipe::aggregation {
namespace {

class SqliteEnv : public ::testing::Test {
 protected:
  std::string StoreSpec() const { return "sqlite:" + ::mptest::CaseTempDir() + "/store.db"; }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, RecomputeConformanceTest, ::testing::Types<SqliteEnv>);
}  // namespace conformance
}  // namespace marketpipe::aggregation
