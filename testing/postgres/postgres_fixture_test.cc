#include "testing/postgres/postgres_fixture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <postgresql/libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "testing/environment.h"
#include "testing/postgres/postgres_server.h"

namespace mptest {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Facts every case records; TearDownTestSuite checks them once all cases (and their TearDowns)
// ran, so the checks hold whatever order the cases run in.
struct SuiteRecord {
  std::vector<std::string> schemas;
  std::set<std::string> postmaster_start_times;
  std::string server_conninfo;
};

SuiteRecord& Record() {
  static SuiteRecord* record = new SuiteRecord;
  return *record;
}

class PostgresFixtureTest : public PostgresFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PostgresFixture::SetUp());
    Record().schemas.push_back(schema());
    Record().postmaster_start_times.insert(QueryScalar("SELECT pg_postmaster_start_time()"));
    Record().server_conninfo = SharedPostgresServer()->conninfo;
  }

  static void TearDownTestSuite() {
    if (!SharedPostgresServer().ok()) return;  // every case already failed with the reason
    const SuiteRecord& record = Record();
    ASSERT_FALSE(record.schemas.empty());
    // One case alone (--gtest_filter) proves nothing about sharing.
    if (record.schemas.size() >= 2) {
      EXPECT_EQ(record.postmaster_start_times.size(), 1u)
          << "every case of one binary must share one server";
    }

    // The schemas must be gone, as seen from a connection of their own.
    PGconn* observer = PQconnectdb(record.server_conninfo.c_str());
    ASSERT_EQ(PQstatus(observer), CONNECTION_OK) << PQerrorMessage(observer);
    for (const std::string& schema : record.schemas) {
      PgResult found(PQexec(
          observer, ("SELECT 1 FROM pg_namespace WHERE nspname = '" + schema + "'").c_str()));
      ASSERT_EQ(PQresultStatus(found.get()), PGRES_TUPLES_OK) << PQerrorMessage(observer);
      EXPECT_EQ(PQntuples(found.get()), 0) << "schema " << schema << " outlived its case";
    }
    PQfinish(observer);
  }

  // Creates a table under a per-process name that no earlier case may have left visible, and
  // checks it lands in this case's schema. Called by two cases: whichever runs second fails if
  // schemas leak between cases.
  void CreateProbeTableInFreshSchema() {
    static const std::string probe = UniqueName("leak_probe");
    EXPECT_EQ(QueryScalar("SELECT current_schema()"), schema());
    EXPECT_EQ(QueryScalar("SELECT count(*) FROM pg_class WHERE relname = '" + probe + "'"), "0")
        << "a table of an earlier case is still visible";
    Exec("CREATE TABLE " + probe + " (id int PRIMARY KEY)");
    Exec("INSERT INTO " + probe + " VALUES (1), (2)");
    EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + probe), "2");
    EXPECT_EQ(QueryScalar("SELECT schemaname FROM pg_tables WHERE tablename = '" + probe + "'"),
              schema());
  }
};

TEST_F(PostgresFixtureTest, CaseStartsInAnEmptySchemaOfItsOwn) { CreateProbeTableInFreshSchema(); }

TEST_F(PostgresFixtureTest, TablesOfOtherCasesAreNotVisible) { CreateProbeTableInFreshSchema(); }

TEST_F(PostgresFixtureTest, DsnConnectsToTheCaseSchema) {
  Exec("CREATE TABLE quotes (symbol text PRIMARY KEY)");
  Exec("INSERT INTO quotes VALUES ('AAPL')");

  PGconn* other = PQconnectdb(dsn().c_str());
  ASSERT_EQ(PQstatus(other), CONNECTION_OK) << PQerrorMessage(other);
  PgResult current(PQexec(other, "SELECT current_schema()"));
  PgResult symbol(PQexec(other, "SELECT symbol FROM quotes"));
  ASSERT_EQ(PQresultStatus(current.get()), PGRES_TUPLES_OK) << PQerrorMessage(other);
  ASSERT_EQ(PQresultStatus(symbol.get()), PGRES_TUPLES_OK) << PQerrorMessage(other);
  EXPECT_EQ(std::string(PQgetvalue(current.get(), 0, 0)), schema());
  EXPECT_EQ(std::string(PQgetvalue(symbol.get(), 0, 0)), "AAPL");
  EXPECT_NE(PQbackendPID(other), PQbackendPID(conn()));
  PQfinish(other);
}

TEST_F(PostgresFixtureTest, ExecFailureNamesTheServerError) {
  try {
    Exec("SELEC 1");
    FAIL() << "Exec of invalid SQL did not throw";
  } catch (const PostgresError& e) {
    EXPECT_EQ(e.sqlstate(), "42601");
    EXPECT_THAT(e.what(), HasSubstr("syntax error at or near \"SELEC\""));
    EXPECT_THAT(e.what(), HasSubstr("SQL: SELEC 1"));
    EXPECT_THAT(e.what(), HasSubstr("postgres_fixture_test.cc:"));
  }
  // The connection stays usable after a failed statement outside a transaction.
  EXPECT_EQ(QueryScalar("SELECT 40 + 2"), "42");
  try {
    QueryScalar("SELECT * FROM generate_series(1, 3)");
    FAIL() << "QueryScalar of three rows did not throw";
  } catch (const PostgresError& e) {
    EXPECT_THAT(e.what(), HasSubstr("got 3 rows x 1 columns"));
  }
}

TEST_F(PostgresFixtureTest, SchemaNameCarriesPrefixAndCreationTime) {
  const std::string name = schema();
  ASSERT_EQ(name.rfind(kTestSchemaPrefix, 0), 0u) << name;
  const size_t begin = std::string(kTestSchemaPrefix).size();
  const long long created = std::stoll(name.substr(begin, name.find('_', begin) - begin));
  EXPECT_LE(std::llabs(created - static_cast<long long>(::time(nullptr))), 600) << name;
}

TEST_F(PostgresFixtureTest, LeftoverSchemasAreDroppedByAge) {
  const long long now = ::time(nullptr);
  const std::string old_name = std::string(kTestSchemaPrefix) + std::to_string(now - 7200) + "_" +
                               UniqueName("old").substr(4);
  const std::string young_name = std::string(kTestSchemaPrefix) + std::to_string(now - 60) + "_" +
                                 UniqueName("young").substr(6);
  const std::string other_name = UniqueName("not_a_test_schema");
  for (const std::string& name : {old_name, young_name, other_name}) {
    Exec("CREATE SCHEMA " + name);
    Exec("CREATE TABLE " + name + ".t (id int)");
  }
  const absl::StatusOr<int> dropped =
      DropStaleTestSchemas(SharedPostgresServer()->conninfo, kStaleSchemaAge);
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_GE(*dropped, 1);
  auto exists = [&](const std::string& name) {
    return QueryScalar("SELECT count(*) FROM pg_namespace WHERE nspname = '" + name + "'") == "1";
  };
  EXPECT_FALSE(exists(old_name));
  EXPECT_TRUE(exists(young_name));
  EXPECT_TRUE(exists(other_name));
  EXPECT_TRUE(exists(schema()));
  Exec("DROP SCHEMA " + young_name + " CASCADE");
  Exec("DROP SCHEMA " + other_name + " CASCADE");
}

TEST_F(PostgresFixtureTest, MissingBinariesNameThePackageToInstall) {
  const absl::Status status = CheckPostgresBinaries("/nonexistent/postgresql/15/bin");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("apt-get install postgresql-15"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("initdb and postgres"));
}

TEST_F(PostgresFixtureTest, PrivateServerIsUnprivilegedAndSocketOnly) {
  const absl::StatusOr<PostgresServerInfo> server = SharedPostgresServer();
  ASSERT_TRUE(server.ok());
  if (!server->is_private) return;  // MP_TEST_PG_DSN: not our server to inspect
  std::fprintf(stderr, "[postgres] test process euid %d, startup %lld ms\n",
               static_cast<int>(geteuid()), static_cast<long long>(server->startup_time.count()));

  const std::string socket_dir = QueryScalar("SHOW unix_socket_directories");
  EXPECT_THAT(socket_dir, StartsWith("/tmp/mp-pg-"));
  EXPECT_LT((socket_dir + "/.s.PGSQL.5432").size(), 107u);
  EXPECT_EQ(QueryScalar("SHOW listen_addresses"), "");
  EXPECT_EQ(QueryScalar("SHOW fsync"), "off");
  // PostgreSQL refuses root; the data directory belongs to whoever the server runs as.
  struct stat data {};
  ASSERT_EQ(stat(QueryScalar("SHOW data_directory").c_str(), &data), 0);
  EXPECT_NE(data.st_uid, 0u);
}

}  // namespace
}  // namespace mptest
