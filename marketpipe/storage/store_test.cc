#include "marketpipe/storage/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "marketpipe/storage/postgres_store.h"

namespace marketpipe::storage {
namespace {

TEST(JobStateTest, NamesRoundTrip) {
  for (JobState state : {JobState::kPending, JobState::kRunning, JobState::kCompleted,
                         JobState::kCompletedWithErrors, JobState::kFailed, JobState::kCancelled}) {
    absl::StatusOr<JobState> parsed = ParseJobState(JobStateName(state));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, state);
  }
  EXPECT_EQ(JobStateName(JobState::kCompletedWithErrors), "COMPLETED_WITH_ERRORS");
}

TEST(JobStateTest, UnknownNamesAreInvalidArgument) {
  for (const char* name : {"", "running", "DONE", "RUNNING "}) {
    EXPECT_EQ(ParseJobState(name).status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST(OpenStoreTest, MalformedSpecsAreInvalidArgumentNamingTheSpec) {
  for (const char* spec : {"", "sqlite", "sqlite:", "SQLITE:/tmp/x.db", "mysql://localhost/db",
                           "/tmp/x.db", "postgres:", "postgres:   ", "postgres:;schema=abc",
                           "postgres:dbname=x;schema=", "postgres:dbname=x;schema=Bad",
                           "postgres:dbname=x;schema=1abc", "postgres:dbname=x;schema=a-b",
                           "postgres:dbname=x;schema=a;b"}) {
    const absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(spec);
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << spec << "': " << store.status();
    EXPECT_THAT(std::string(store.status().message()), ::testing::HasSubstr(spec));
  }
}

TEST(ParsePostgresSpecTest, SplitsConninfoAndSchema) {
  EXPECT_EQ(*ParsePostgresSpec("postgres:host=/tmp/pg dbname=mp;schema=run_7"),
            (PostgresSpec{"host=/tmp/pg dbname=mp", "run_7"}));
  EXPECT_EQ(*ParsePostgresSpec("postgres:postgresql://u@localhost/mp"),
            (PostgresSpec{"postgresql://u@localhost/mp", ""}));
  // A ';' quoted inside the conninfo stays there; only the last ";schema=" is the schema.
  EXPECT_EQ(*ParsePostgresSpec("postgres:password='a;schema=b' dbname=mp;schema=_s"),
            (PostgresSpec{"password='a;schema=b' dbname=mp", "_s"}));
}

}  // namespace
}  // namespace marketpipe::storage
