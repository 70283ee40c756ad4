#include "testing/postgres/postgres_fixture.h"

#include <string>
#include <vector>

#include "testing/environment.h"

namespace mptest {
namespace {

// Quotes a conninfo value when it needs it (libpq: single quotes, backslash escapes).
std::string ConninfoValue(const std::string& value) {
  if (!value.empty() && value.find_first_of(" \t\n'\\") == std::string::npos) return value;
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

std::string Location(const std::source_location& where) {
  return std::string(where.file_name()) + ":" + std::to_string(where.line());
}

// The server's message without its trailing newline.
std::string ErrorText(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

bool IsError(ExecStatusType status) {
  return status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR ||
         status == PGRES_FATAL_ERROR;
}

}  // namespace

PostgresDb::~PostgresDb() {
  if (conn_) PQfinish(conn_);
}

std::string PostgresDb::dsn() const {
  const std::string search_path = "-csearch_path=" + schema_;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(server_conninfo_.c_str(), &error);
  if (!options) {
    // Only reachable with a malformed MP_TEST_PG_DSN, which SetUp's connect reports.
    std::string message = ErrorText(error);
    PQfreemem(error);
    throw PostgresError("cannot parse the server conninfo: " + message, "");
  }
  std::string out;
  bool has_options = false;
  for (const PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    std::string value = o->val;
    if (std::string(o->keyword) == "options") {
      value += " " + search_path;
      has_options = true;
    }
    if (!out.empty()) out += " ";
    out += std::string(o->keyword) + "=" + ConninfoValue(value);
  }
  PQconninfoFree(options);
  if (!has_options) out += " options=" + ConninfoValue(search_path);
  return out;
}

void PostgresDb::SetUp() {
  absl::StatusOr<PostgresServerInfo> server = SharedPostgresServer();
  if (!server.ok()) FAIL() << server.status().message();
  server_conninfo_ = server->conninfo;
  server_description_ = server->description;
  schema_ = NewTestSchemaName();

  // The session's search_path names the schema before it exists; PostgreSQL re-resolves it
  // once CREATE SCHEMA commits, so conn() and dsn() connections behave alike.
  conn_ = PQconnectdb(dsn().c_str());
  ASSERT_EQ(PQstatus(conn_), CONNECTION_OK)
      << "cannot connect to " << server_description_ << ": " << ErrorText(PQerrorMessage(conn_));
  PgResult created(PQexec(conn_, ("CREATE SCHEMA " + schema_).c_str()));
  ASSERT_EQ(PQresultStatus(created.get()), PGRES_COMMAND_OK)
      << "CREATE SCHEMA " << schema_ << " on " << server_description_ << ": "
      << ErrorText(PQerrorMessage(conn_));
  schema_created_ = true;
}

void PostgresDb::TearDown() {
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  if (!schema_created_) return;
  schema_created_ = false;
  // A fresh connection: the case may have left conn() inside a failed transaction.
  PGconn* admin = PQconnectdb(server_conninfo_.c_str());
  if (PQstatus(admin) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect to " << server_description_ << " to drop schema " << schema_
                  << ": " << ErrorText(PQerrorMessage(admin));
  } else {
    const std::string drop =
        "SET client_min_messages = warning; SET lock_timeout = '10s'; "
        "DROP SCHEMA IF EXISTS " +
        schema_ + " CASCADE";
    PgResult dropped(PQexec(admin, drop.c_str()));
    if (PQresultStatus(dropped.get()) != PGRES_COMMAND_OK) {
      ADD_FAILURE() << "DROP SCHEMA " << schema_ << " CASCADE failed (a connection the case "
                    << "opened through dsn() may still hold locks in an open transaction): "
                    << ErrorText(PQerrorMessage(admin));
    }
  }
  PQfinish(admin);
}

PgResult PostgresDb::Exec(std::string_view sql, std::source_location where) {
  if (!conn_) {
    throw PostgresError(Location(where) + ": Exec without a connection (SetUp failed?)", "");
  }
  const std::string text(sql);
  PgResult result(PQexec(conn_, text.c_str()));
  if (!result || IsError(PQresultStatus(result.get()))) {
    const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state ? state : "";
    const std::string message =
        ErrorText(result ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn_));
    throw PostgresError(Location(where) + ": SQL failed" +
                            (sqlstate.empty() ? "" : " with SQLSTATE " + sqlstate) + " in schema " +
                            schema_ + "\n  SQL: " + text + "\n  " + message,
                        sqlstate);
  }
  return result;
}

std::string PostgresDb::QueryScalar(std::string_view sql, std::source_location where) {
  PgResult result = Exec(sql, where);
  const bool tuples = PQresultStatus(result.get()) == PGRES_TUPLES_OK;
  const int rows = tuples ? PQntuples(result.get()) : 0;
  const int columns = tuples ? PQnfields(result.get()) : 0;
  if (rows != 1 || columns != 1 || PQgetisnull(result.get(), 0, 0)) {
    const std::string got = rows == 1 && columns == 1 ? std::string("NULL")
                                                      : std::to_string(rows) + " rows x " +
                                                            std::to_string(columns) + " columns";
    throw PostgresError(Location(where) +
                            ": QueryScalar expects one row with one non-NULL column, got " + got +
                            "\n  SQL: " + std::string(sql),
                        "");
  }
  return PQgetvalue(result.get(), 0, 0);
}

}  // namespace mptest
