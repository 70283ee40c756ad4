#ifndef TESTING_POSTGRES_POSTGRES_FIXTURE_H_
#define TESTING_POSTGRES_POSTGRES_FIXTURE_H_

#include <gtest/gtest.h>
#include <postgresql/libpq-fe.h>

#include <memory>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "testing/fixture.h"
#include "testing/postgres/postgres_server.h"

namespace mptest {

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
// An owned libpq result.
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// Thrown by PostgresFixture::Exec and QueryScalar. GoogleTest turns it into a failure of the
// running case that carries what(): the caller's file:line, the SQL, and the server's message.
class PostgresError : public std::runtime_error {
 public:
  PostgresError(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}

  // The server's SQLSTATE ("42601" for a syntax error); "" when the error is not the server's.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// A kit component (see testing/fixture.h) that gives every test case its own, empty
// PostgreSQL schema. mptest::PostgresFixture is the fixture made of it alone; combine it with
// others through mptest::Fixture<PostgresDb, AsyncEnv>, or hold it as a member.
//
//   class BarsTableTest : public mptest::PostgresFixture {};
//
//   TEST_F(BarsTableTest, InsertedRowIsCounted) {
//     Exec("CREATE TABLE bars (symbol text, ts_ns bigint)");
//     Exec("INSERT INTO bars VALUES ('AAPL', 0)");
//     EXPECT_EQ(QueryScalar("SELECT count(*) FROM bars"), "1");
//     PostgresStore store(dsn());  // other connections see the same schema
//   }
//
// SetUp creates the schema NewTestSchemaName() (mptest_<unix time>_<random>) on the binary's
// shared server (see SharedPostgresServer: MP_TEST_PG_DSN, or a private PostgreSQL 15 the
// supervisor starts on first use) and connects with search_path set to it, so unqualified names
// land there. TearDown closes conn() and drops the schema with CASCADE. When no server can be
// had (e.g. PostgreSQL is not installed), SetUp fails the case with the reason; it never skips.
//
// Connections a case opens through dsn() should be closed (or idle, outside a transaction)
// before TearDown.
class PostgresDb {
 public:
  PostgresDb() = default;
  ~PostgresDb();
  PostgresDb(const PostgresDb&) = delete;
  PostgresDb& operator=(const PostgresDb&) = delete;

  // Creates the schema and connects; fails the running case (fatally) when it cannot.
  void SetUp();
  // Closes conn() and drops the schema. Idempotent; a no-op when SetUp never created it.
  void TearDown();

  // The case's connection; search_path is schema(). Null only when SetUp failed.
  PGconn* conn() const { return conn_; }

  // The case's schema: unique per case, shard and run; lowercase, needs no quoting.
  const std::string& schema() const { return schema_; }

  // A libpq conninfo string (keyword=value) for the case's schema: the server's conninfo plus
  // options='-csearch_path=<schema>'. Pass it to code under test that opens its own connections.
  std::string dsn() const;

  // Runs `sql` (one or more statements) on conn() and returns the last result. On a server error
  // throws PostgresError naming `where`, the SQL and the server's message, which fails the case.
  PgResult Exec(std::string_view sql, std::source_location where = std::source_location::current());

  // Runs a query that must return exactly one row with one non-NULL column and returns it as
  // text ("1", "t", "2024-01-02"). Anything else throws PostgresError.
  std::string QueryScalar(std::string_view sql,
                          std::source_location where = std::source_location::current());

 private:
  std::string server_conninfo_;
  std::string server_description_;
  std::string schema_;
  bool schema_created_ = false;
  PGconn* conn_ = nullptr;
};

// The fixture for PostgreSQL tests: Fixture<PostgresDb>. Fixtures that override SetUp call
// `ASSERT_NO_FATAL_FAILURE(PostgresFixture::SetUp());` first; ones that override TearDown call
// PostgresFixture::TearDown() last.
class PostgresFixture : public Fixture<PostgresDb> {};

}  // namespace mptest

#endif  // TESTING_POSTGRES_POSTGRES_FIXTURE_H_
