#ifndef TESTING_ENVIRONMENT_H_
#define TESTING_ENVIRONMENT_H_

#include <string>
#include <string_view>

namespace mptest {

// "shard-<i>-of-<n>" when Bazel shards the test (TEST_TOTAL_SHARDS > 1), "main" otherwise.
// The C++ analogue of PYTEST_XDIST_WORKER.
std::string WorkerId();

// A fresh directory for the current test case (DESIGN's "TempDir()": GoogleTest already owns
// testing::TempDir(), which returns the shared TEST_TMPDIR, so the kit's is CaseTempDir()), created
// on first use: under TEST_TMPDIR in Bazel, under $TMPDIR/marketpipe-test-<random> otherwise.
// Repeated calls within one case return the same path; every case (and every run of a case) gets
// its own.
std::string CaseTempDir();

// A name unique across shards, cases, --runs_per_test runs and concurrent Bazel invocations:
// `<prefix>_<64 random bits in hex>_<counter>`, lowercase [a-z0-9_], starting with a letter,
// at most 63 bytes (PostgreSQL identifiers). Usable as a file name, socket name, SQL schema.
// The prefix is lowercased, other characters become '_', and it is cut to 32 bytes.
std::string UniqueName(std::string_view prefix);

// Name of the running test case as "Suite.Case" ("" outside a case).
std::string CurrentCaseName();

}  // namespace mptest

#endif  // TESTING_ENVIRONMENT_H_
