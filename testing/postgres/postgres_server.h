#ifndef TESTING_POSTGRES_POSTGRES_SERVER_H_
#define TESTING_POSTGRES_POSTGRES_SERVER_H_

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mptest {

// Where Debian's postgresql-15 package puts initdb and postgres.
inline constexpr char kPostgresBinDir[] = "/usr/lib/postgresql/15/bin";

// The PostgreSQL server the tests of one process share.
struct PostgresServerInfo {
  // libpq conninfo (keyword=value or URI) of a role that may create schemas; no search_path.
  std::string conninfo;
  // Printable description without secrets: "MP_TEST_PG_DSN" or "private PostgreSQL 15 at <dir>".
  std::string description;
  // True when this process started the server itself (MP_TEST_PG_DSN unset).
  bool is_private = false;
  // Wall time from the first request to the server accepting connections (0 for MP_TEST_PG_DSN).
  std::chrono::milliseconds startup_time{0};
};

// Returns the server shared by every test of this process, starting it on the first call.
//
// With MP_TEST_PG_DSN set (and non-empty) that server is used as is. Otherwise a throwaway
// PostgreSQL 15 is created with initdb (data directory under TEST_TMPDIR, or under /tmp outside
// Bazel) and started listening only on a unix socket in a fresh /tmp/mp-pg-XXXXXX directory,
// with durability turned off for speed. It runs as the current user, or as `nobody` (via setpriv)
// when the process is root, because PostgreSQL refuses to run as root. It is stopped and its
// directories removed when the process exits; a watcher process does the same if the process dies
// without running exit handlers (crash, SIGKILL).
//
// Errors (missing binaries, initdb or startup failures with the server log's tail) are returned by
// the first call and, unchanged, by every later call. Thread-safe.
absl::StatusOr<PostgresServerInfo> SharedPostgresServer();

// OK when `bin_dir` holds executable initdb and postgres; otherwise FailedPrecondition saying
// which package to install.
absl::Status CheckPostgresBinaries(const std::string& bin_dir);

}  // namespace mptest

#endif  // TESTING_POSTGRES_POSTGRES_SERVER_H_
