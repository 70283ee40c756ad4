#ifndef TESTING_POSTGRES_POSTGRES_SERVER_H_
#define TESTING_POSTGRES_POSTGRES_SERVER_H_

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mptest {

// Prefix of the per-case schemas the kit creates: kTestSchemaPrefix + <creation unix time> + '_'.
inline constexpr char kTestSchemaPrefix[] = "mptest_";
// Leftover test schemas older than this are dropped when a binary first uses MP_TEST_PG_DSN.
inline constexpr std::chrono::seconds kStaleSchemaAge{3600};
// The supervisor service (testing/supervisor_service.h) that hands the server to its children.
inline constexpr char kPostgresService[] = "postgres";

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

// Returns the server shared by every test of this binary, starting it on the first call.
//
// Under the kit's supervisor (every mp_cc_test) the supervisor owns the server: the first call
// in any child asks it, the supervisor starts the server outside every case budget (the asking
// case's clock stands still), and every child, also one restarted after a crash, gets the same
// server. Outside a supervisor (MP_TEST_NO_SUPERVISOR=1, benchmarks) the process starts its own.
//
// With MP_TEST_PG_DSN set (and non-empty) that server is used as is, after dropping leftover
// test schemas older than kStaleSchemaAge. Otherwise a throwaway
// PostgreSQL 15 is created with initdb (data directory under TEST_TMPDIR, or under /tmp outside
// Bazel) and started listening only on a unix socket in a fresh /tmp/mp-pg-XXXXXX directory,
// with durability turned off for speed, in a process group of its own. It runs as the current user,
// or as `nobody` (via setpriv) when the process is root, because PostgreSQL refuses to run as root.
// It is stopped and its directories removed when the owning process exits (also after SIGTERM,
// which the supervisor turns into a normal exit); a watcher process does the same if the owner dies
// without running exit handlers (crash, SIGKILL): it waits on a socket whose end-of-file says so.
//
// Errors (missing binaries, initdb or startup failures with the server log's tail) are returned by
// the first call and, unchanged, by every later call. Thread-safe.
absl::StatusOr<PostgresServerInfo> SharedPostgresServer();

// OK when `bin_dir` holds executable initdb and postgres; otherwise FailedPrecondition saying
// which package to install.
absl::Status CheckPostgresBinaries(const std::string& bin_dir);

// A fresh per-case schema name: kTestSchemaPrefix, the creation time (unix seconds), then
// UniqueName's random part, so leftovers on a shared server can be dropped by age.
std::string NewTestSchemaName();

// Drops (CASCADE) the schemas named kTestSchemaPrefix<unix time>_... created more than
// `max_age` ago on the server `conninfo`; returns how many. Other schemas are never touched.
absl::StatusOr<int> DropStaleTestSchemas(const std::string& conninfo, std::chrono::seconds max_age);

}  // namespace mptest

#endif  // TESTING_POSTGRES_POSTGRES_SERVER_H_
