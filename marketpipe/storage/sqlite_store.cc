#include "marketpipe/storage/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "marketpipe/storage/store_internal.h"

namespace marketpipe::storage {
namespace {

using internal::NowUnixNs;

// The declared type of the price columns: `bars` reads them through generated columns of
// this type, so Query can tell prices (returned as exact Decimal) from other numbers.
constexpr std::string_view kDecimalType = "DECIMAL(19,4)";

// kMigrations[i] takes the schema from version i to i + 1 (PRAGMA user_version).
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE bar_units (
  symbol TEXT NOT NULL,
  timeframe TEXT NOT NULL,
  ts_ns INTEGER NOT NULL,
  open_units INTEGER NOT NULL,
  high_units INTEGER NOT NULL,
  low_units INTEGER NOT NULL,
  close_units INTEGER NOT NULL,
  volume INTEGER NOT NULL,
  trade_count INTEGER NOT NULL,
  vwap_units INTEGER NOT NULL,
  open DECIMAL(19,4) GENERATED ALWAYS AS (open_units / 10000.0) VIRTUAL,
  high DECIMAL(19,4) GENERATED ALWAYS AS (high_units / 10000.0) VIRTUAL,
  low DECIMAL(19,4) GENERATED ALWAYS AS (low_units / 10000.0) VIRTUAL,
  close DECIMAL(19,4) GENERATED ALWAYS AS (close_units / 10000.0) VIRTUAL,
  vwap DECIMAL(19,4) GENERATED ALWAYS AS (vwap_units / 10000.0) VIRTUAL,
  PRIMARY KEY (symbol, timeframe, ts_ns)
) WITHOUT ROWID;
CREATE VIEW bars AS
  SELECT symbol, timeframe, ts_ns, open, high, low, close, volume, trade_count, vwap
  FROM bar_units;
CREATE TABLE series (
  symbol TEXT NOT NULL,
  timeframe TEXT NOT NULL,
  provider TEXT NOT NULL,
  feed TEXT NOT NULL,
  adjustment TEXT NOT NULL,
  PRIMARY KEY (symbol, timeframe)
) WITHOUT ROWID;
CREATE TABLE jobs (
  id TEXT NOT NULL PRIMARY KEY,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  timeframe TEXT NOT NULL,
  provider TEXT NOT NULL,
  feed TEXT NOT NULL,
  adjustment TEXT NOT NULL,
  state TEXT NOT NULL,
  message TEXT NOT NULL,
  created_unix_ns INTEGER NOT NULL,
  updated_unix_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE job_symbols (
  job_id TEXT NOT NULL REFERENCES jobs (id),
  symbol TEXT NOT NULL,
  PRIMARY KEY (job_id, symbol)
) WITHOUT ROWID;
CREATE INDEX job_symbols_by_symbol ON job_symbols (symbol);
CREATE TABLE checkpoints (
  job_id TEXT NOT NULL,
  symbol TEXT NOT NULL,
  last_ts_ns INTEGER,
  bars_stored INTEGER NOT NULL,
  done INTEGER NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY (job_id, symbol),
  FOREIGN KEY (job_id, symbol) REFERENCES job_symbols (job_id, symbol)
) WITHOUT ROWID;
)sql",
};
static_assert(std::size(kMigrations) == kSqliteSchemaVersion);

absl::Status SqliteError(int rc, std::string_view what, std::string_view detail) {
  std::string message = internal::Cat("sqlite: ", what, ": ", detail);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(internal::Cat(message, " (another writer held the file)"));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  return SqliteError(rc, what, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

struct StmtDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbDeleter>;

// Resets a statement when the scope ends, so that it holds no read snapshot between calls.
class ScopedReset {
 public:
  explicit ScopedReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;
  ~ScopedReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_;
};

void BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  // SQLITE_STATIC: every caller steps the statement while `text` is alive.
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

std::string_view ColumnText(sqlite3_stmt* stmt, int index) {
  const unsigned char* text = sqlite3_column_text(stmt, index);
  if (text == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt, index));
}

// Permits only reading; installed on the connection that runs Query.
int ReadOnlyAuthorizer(void*, int action, const char*, const char*, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    default:
      return SQLITE_DENY;
  }
}

// One connection and its prepared statements, compiled once on first use.
class Connection {
 public:
  Connection() = default;
  explicit Connection(Db db) : db_(std::move(db)) {}

  sqlite3* db() const { return db_.get(); }

  absl::StatusOr<sqlite3_stmt*> Prepared(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second.get();
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db(), rc, internal::Cat("prepare '", sql, "'"));
    cache_.emplace(sql, Stmt(raw));
    return raw;
  }

  absl::Status Exec(const char* sql) {
    const int rc = sqlite3_exec(db(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db(), rc, sql);
    return absl::OkStatus();
  }

  // Steps a statement expected to finish without rows (or whose rows are not wanted).
  absl::Status StepDone(sqlite3_stmt* stmt, std::string_view what) {
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return SqliteError(db(), rc, what);
    return absl::OkStatus();
  }

  // Runs `body` in BEGIN IMMEDIATE ... COMMIT: the file's write lock is taken up front (waiting
  // up to the busy timeout), so a transaction never fails half-way on another process's lock.
  template <typename Body>
  absl::Status InWriteTransaction(Body&& body) {
    if (absl::Status status = Exec("BEGIN IMMEDIATE"); !status.ok()) return status;
    absl::Status status = body();
    if (status.ok()) status = Exec("COMMIT");
    if (!status.ok() && !sqlite3_get_autocommit(db())) {
      sqlite3_exec(db(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    return status;
  }

 private:
  Db db_;
  std::unordered_map<std::string_view, Stmt> cache_;  // keys are the callers' literals
};

absl::StatusOr<Db> OpenDb(const std::string& path, int flags, absl::Duration busy_timeout) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    return SqliteError(db.get(), rc, internal::Cat("cannot open '", path, "'"));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), static_cast<int>(absl::ToInt64Milliseconds(busy_timeout)));
  return db;
}

// Reads a single-row, single-column integer result (PRAGMA user_version).
absl::StatusOr<int64_t> QueryInt(Connection& conn, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(conn.db(), sql, -1, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(conn.db(), rc, sql);
  rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteError(conn.db(), rc, sql);
  return sqlite3_column_int64(stmt.get(), 0);
}

absl::StatusOr<std::string> QueryText(Connection& conn, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(conn.db(), sql, -1, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(conn.db(), rc, sql);
  rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteError(conn.db(), rc, sql);
  return std::string(ColumnText(stmt.get(), 0));
}

// Changing the journal mode needs the file to itself for a moment. When several processes
// open one fresh file at once, SQLite answers SQLITE_BUSY here without calling the busy
// handler (it would risk a deadlock), so the wait is ours: retry until `busy_timeout`.
absl::StatusOr<std::string> SetWalMode(Connection& conn, absl::Duration busy_timeout) {
  const absl::Time deadline = absl::Now() + busy_timeout;
  int pause_ms = 1;
  while (true) {
    absl::StatusOr<std::string> mode = QueryText(conn, "PRAGMA journal_mode = WAL");
    const int code = sqlite3_errcode(conn.db()) & 0xff;
    if (mode.ok() || (code != SQLITE_BUSY && code != SQLITE_LOCKED) || absl::Now() >= deadline) {
      return mode;
    }
    sqlite3_sleep(pause_ms);
    pause_ms = std::min(pause_ms * 2, 50);
  }
}

absl::Status Migrate(Connection& conn, const std::string& path) {
  return conn.InWriteTransaction([&]() -> absl::Status {
    absl::StatusOr<int64_t> version = QueryInt(conn, "PRAGMA user_version");
    if (!version.ok()) return version.status();
    if (*version > kSqliteSchemaVersion) {
      return absl::FailedPreconditionError(internal::Cat(
          "sqlite store '", path, "' has schema version ", *version, ", newer than the version ",
          kSqliteSchemaVersion, " this binary knows; use a newer marketpipe"));
    }
    for (int64_t v = *version; v < kSqliteSchemaVersion; ++v) {
      if (absl::Status status = conn.Exec(kMigrations[v]); !status.ok()) {
        return absl::Status(status.code(), internal::Cat("migrating '", path, "' to version ",
                                                         v + 1, ": ", status.message()));
      }
    }
    if (*version == kSqliteSchemaVersion) return absl::OkStatus();
    return conn.Exec(internal::Cat("PRAGMA user_version = ", kSqliteSchemaVersion).c_str());
  });
}

absl::Status CorruptRow(std::string_view what, const absl::Status& status) {
  return absl::DataLossError(internal::Cat("sqlite: unreadable ", what, ": ", status.message()));
}

// Rows per multi-row upsert statement (10 parameters each; SQLite allows 32,766).
constexpr size_t kRowsPerUpsert = 64;

std::string BuildUpsertSql(size_t rows) {
  std::string sql =
      "INSERT INTO bar_units (symbol, timeframe, ts_ns, open_units, high_units, low_units, "
      "close_units, volume, trade_count, vwap_units) VALUES ";
  for (size_t i = 0; i < rows; ++i)
    sql += i == 0 ? "(?,?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?,?)";
  sql +=
      " ON CONFLICT (symbol, timeframe, ts_ns) DO UPDATE SET "
      "open_units = excluded.open_units, high_units = excluded.high_units, "
      "low_units = excluded.low_units, close_units = excluded.close_units, "
      "volume = excluded.volume, trade_count = excluded.trade_count, "
      "vwap_units = excluded.vwap_units";
  return sql;
}

// The texts live as long as the process: Connection caches its statements by text.
std::string_view UpsertSql(size_t rows) {
  static const std::string* const kOne = new std::string(BuildUpsertSql(1));
  static const std::string* const kMany = new std::string(BuildUpsertSql(kRowsPerUpsert));
  return rows == 1 ? *kOne : *kMany;
}

// Upserts `bars` with `stmt`, a statement of exactly bars.size() rows.
absl::Status Upsert(sqlite3* db, sqlite3_stmt* stmt, std::span<const Bar> bars,
                    std::string_view timeframe) {
  ScopedReset reset(stmt);
  int index = 0;
  for (const Bar& bar : bars) {
    BindText(stmt, ++index, bar.symbol.value());
    BindText(stmt, ++index, timeframe);
    sqlite3_bind_int64(stmt, ++index, bar.ts_ns);
    sqlite3_bind_int64(stmt, ++index, bar.open.units());
    sqlite3_bind_int64(stmt, ++index, bar.high.units());
    sqlite3_bind_int64(stmt, ++index, bar.low.units());
    sqlite3_bind_int64(stmt, ++index, bar.close.units());
    sqlite3_bind_int64(stmt, ++index, bar.volume);
    sqlite3_bind_int64(stmt, ++index, bar.trade_count);
    sqlite3_bind_int64(stmt, ++index, bar.vwap.units());
  }
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return SqliteError(db, rc, "upsert bars");
  return absl::OkStatus();
}

// The provenance recorded for (symbol, timeframe) as `conn` sees it: the writer checks a page
// against it inside its transaction, the reader answers GetProvenance.
absl::StatusOr<std::optional<Provenance>> ReadProvenance(Connection& conn, const Symbol& symbol,
                                                         std::string_view timeframe) {
  absl::StatusOr<sqlite3_stmt*> stmt = conn.Prepared(
      "SELECT provider, feed, adjustment FROM series WHERE symbol = ?1 AND timeframe = ?2");
  if (!stmt.ok()) return stmt.status();
  ScopedReset reset(*stmt);
  BindText(*stmt, 1, symbol.value());
  BindText(*stmt, 2, timeframe);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return SqliteError(conn.db(), rc, "read provenance");
  return Provenance{std::string(ColumnText(*stmt, 0)), std::string(ColumnText(*stmt, 1)),
                    std::string(ColumnText(*stmt, 2))};
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, Connection writer, Connection reader)
      : path_(std::move(path)), writer_(std::move(writer)), reader_(std::move(reader)) {}

  std::string kind() const override { return "sqlite"; }

  absl::Status WritePage(const PageWrite& write) override;
  absl::StatusOr<std::vector<Bar>> ReadBars(const Symbol& symbol, Timeframe timeframe,
                                            TimeRange range) override;
  absl::StatusOr<int64_t> CountBars(std::optional<Symbol> symbol, Timeframe timeframe,
                                    TimeRange range) override;
  absl::StatusOr<std::optional<Provenance>> GetProvenance(const Symbol& symbol,
                                                          Timeframe timeframe) override;
  absl::StatusOr<QueryResult> Query(std::string_view sql, int64_t limit) override;
  absl::Status CreateJob(const JobRecord& job) override;
  absl::StatusOr<std::optional<JobRecord>> GetJob(std::string_view id) override;
  absl::StatusOr<std::vector<JobRecord>> ListJobs() override;
  absl::Status StartJob(std::string_view id) override;
  absl::Status SetJobState(std::string_view id, JobState state, std::string_view message) override;
  absl::StatusOr<std::vector<Checkpoint>> GetCheckpoints(std::string_view job_id) override;

 private:
  absl::Status CheckSeries(const Symbol& symbol, std::string_view timeframe, Timeframe tf,
                           const Provenance& provenance);
  absl::Status WriteCheckpoints(const PageWrite& write);
  absl::StatusOr<bool> JobExists(Connection& conn, std::string_view id);
  absl::StatusOr<std::optional<JobRecord>> LoadJob(std::string_view id);

  const std::string path_;
  // std::mutex, not absl::Mutex: Debian's Abseil is not built for TSan, which would not see
  // its locking.
  std::mutex write_mu_;
  Connection writer_;  // guarded by write_mu_
  std::mutex read_mu_;
  Connection reader_;  // guarded by read_mu_
};

absl::Status SqliteStore::CheckSeries(const Symbol& symbol, std::string_view timeframe,
                                      Timeframe tf, const Provenance& provenance) {
  absl::StatusOr<std::optional<Provenance>> stored = ReadProvenance(writer_, symbol, timeframe);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    if (**stored == provenance) return absl::OkStatus();
    return internal::ProvenanceMismatch(symbol, tf, **stored, provenance);
  }
  absl::StatusOr<sqlite3_stmt*> put = writer_.Prepared(
      "INSERT INTO series (symbol, timeframe, provider, feed, adjustment) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!put.ok()) return put.status();
  ScopedReset reset_put(*put);
  BindText(*put, 1, symbol.value());
  BindText(*put, 2, timeframe);
  BindText(*put, 3, provenance.provider);
  BindText(*put, 4, provenance.feed);
  BindText(*put, 5, provenance.adjustment);
  return writer_.StepDone(*put, "record series provenance");
}

absl::StatusOr<bool> SqliteStore::JobExists(Connection& conn, std::string_view id) {
  absl::StatusOr<sqlite3_stmt*> stmt = conn.Prepared("SELECT 1 FROM jobs WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  ScopedReset reset(*stmt);
  BindText(*stmt, 1, id);
  const int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(conn.db(), rc, "read job");
}

absl::Status SqliteStore::WriteCheckpoints(const PageWrite& write) {
  absl::StatusOr<bool> exists = JobExists(writer_, write.job_id);
  if (!exists.ok()) return exists.status();
  if (!*exists) return internal::JobNotFound(write.job_id);
  absl::StatusOr<sqlite3_stmt*> member =
      writer_.Prepared("SELECT 1 FROM job_symbols WHERE job_id = ?1 AND symbol = ?2");
  if (!member.ok()) return member.status();
  absl::StatusOr<sqlite3_stmt*> upsert = writer_.Prepared(
      "INSERT INTO checkpoints (job_id, symbol, last_ts_ns, bars_stored, done, error) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (job_id, symbol) DO UPDATE SET "
      "last_ts_ns = excluded.last_ts_ns, bars_stored = excluded.bars_stored, "
      "done = excluded.done, error = excluded.error");
  if (!upsert.ok()) return upsert.status();
  for (const Checkpoint& checkpoint : write.checkpoints) {
    {
      ScopedReset reset(*member);
      BindText(*member, 1, write.job_id);
      BindText(*member, 2, checkpoint.symbol.value());
      const int rc = sqlite3_step(*member);
      if (rc == SQLITE_DONE) {
        return absl::InvalidArgumentError(internal::Cat("checkpoint of ", checkpoint.symbol.value(),
                                                        ": not a symbol of job '", write.job_id,
                                                        "'"));
      }
      if (rc != SQLITE_ROW) return SqliteError(writer_.db(), rc, "read job symbols");
    }
    ScopedReset reset(*upsert);
    BindText(*upsert, 1, write.job_id);
    BindText(*upsert, 2, checkpoint.symbol.value());
    if (checkpoint.last_ts_ns.has_value()) {
      sqlite3_bind_int64(*upsert, 3, *checkpoint.last_ts_ns);
    } else {
      sqlite3_bind_null(*upsert, 3);
    }
    sqlite3_bind_int64(*upsert, 4, checkpoint.bars_stored);
    sqlite3_bind_int(*upsert, 5, checkpoint.done ? 1 : 0);
    BindText(*upsert, 6, checkpoint.error);
    if (absl::Status status = writer_.StepDone(*upsert, "write checkpoint"); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::WritePage(const PageWrite& write) {
  if (absl::Status status = internal::ValidatePageWrite(write); !status.ok()) return status;
  const std::string timeframe = write.timeframe.ToString();
  std::lock_guard<std::mutex> lock(write_mu_);
  return writer_.InWriteTransaction([&]() -> absl::Status {
    // Pages hold few symbols, usually grouped: check each series once.
    std::set<std::string_view> checked;
    for (const Bar& bar : write.bars) {
      if (checked.insert(bar.symbol.value()).second) {
        absl::Status status = CheckSeries(bar.symbol, timeframe, write.timeframe, write.provenance);
        if (!status.ok()) return status;
      }
    }
    // Rows go kRowsPerUpsert to a statement (about 1.4x the rows/s of one per statement),
    // the rest one by one. SQLite applies a statement's rows in order, so a key repeated
    // within the page still keeps its last bar.
    absl::StatusOr<sqlite3_stmt*> many = writer_.Prepared(UpsertSql(kRowsPerUpsert));
    if (!many.ok()) return many.status();
    absl::StatusOr<sqlite3_stmt*> one = writer_.Prepared(UpsertSql(1));
    if (!one.ok()) return one.status();
    const std::span<const Bar> bars = write.bars;
    size_t at = 0;
    for (; bars.size() - at >= kRowsPerUpsert; at += kRowsPerUpsert) {
      if (absl::Status status =
              Upsert(writer_.db(), *many, bars.subspan(at, kRowsPerUpsert), timeframe);
          !status.ok()) {
        return status;
      }
    }
    for (; at < bars.size(); ++at) {
      if (absl::Status status = Upsert(writer_.db(), *one, bars.subspan(at, 1), timeframe);
          !status.ok()) {
        return status;
      }
    }
    if (write.job_id.empty()) return absl::OkStatus();
    return WriteCheckpoints(write);
  });
}

absl::StatusOr<std::vector<Bar>> SqliteStore::ReadBars(const Symbol& symbol, Timeframe timeframe,
                                                       TimeRange range) {
  if (symbol.empty()) return absl::InvalidArgumentError("ReadBars: empty symbol");
  const std::string tf = timeframe.ToString();
  std::lock_guard<std::mutex> lock(read_mu_);
  absl::StatusOr<sqlite3_stmt*> stmt = reader_.Prepared(
      "SELECT ts_ns, open_units, high_units, low_units, close_units, volume, trade_count, "
      "vwap_units FROM bar_units WHERE symbol = ?1 AND timeframe = ?2 AND ts_ns >= ?3 "
      "AND ts_ns < ?4 ORDER BY ts_ns");
  if (!stmt.ok()) return stmt.status();
  ScopedReset reset(*stmt);
  BindText(*stmt, 1, symbol.value());
  BindText(*stmt, 2, tf);
  sqlite3_bind_int64(*stmt, 3, range.start_ns());
  sqlite3_bind_int64(*stmt, 4, range.end_ns());
  std::vector<Bar> bars;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    Bar& bar = bars.emplace_back();
    bar.symbol = symbol;
    bar.ts_ns = sqlite3_column_int64(*stmt, 0);
    bar.open = Price::FromUnits(sqlite3_column_int64(*stmt, 1));
    bar.high = Price::FromUnits(sqlite3_column_int64(*stmt, 2));
    bar.low = Price::FromUnits(sqlite3_column_int64(*stmt, 3));
    bar.close = Price::FromUnits(sqlite3_column_int64(*stmt, 4));
    bar.volume = sqlite3_column_int64(*stmt, 5);
    bar.trade_count = sqlite3_column_int64(*stmt, 6);
    bar.vwap = Price::FromUnits(sqlite3_column_int64(*stmt, 7));
  }
  if (rc != SQLITE_DONE) return SqliteError(reader_.db(), rc, "read bars");
  return bars;
}

absl::StatusOr<int64_t> SqliteStore::CountBars(std::optional<Symbol> symbol, Timeframe timeframe,
                                               TimeRange range) {
  if (symbol.has_value() && symbol->empty()) {
    return absl::InvalidArgumentError("CountBars: empty symbol");
  }
  const std::string tf = timeframe.ToString();
  std::lock_guard<std::mutex> lock(read_mu_);
  absl::StatusOr<sqlite3_stmt*> stmt =
      symbol.has_value()
          ? reader_.Prepared(
                "SELECT count(*) FROM bar_units WHERE timeframe = ?2 AND ts_ns >= ?3 "
                "AND ts_ns < ?4 AND symbol = ?1")
          : reader_.Prepared(
                "SELECT count(*) FROM bar_units WHERE timeframe = ?2 AND ts_ns >= ?3 "
                "AND ts_ns < ?4");
  if (!stmt.ok()) return stmt.status();
  ScopedReset reset(*stmt);
  if (symbol.has_value()) BindText(*stmt, 1, symbol->value());
  BindText(*stmt, 2, tf);
  sqlite3_bind_int64(*stmt, 3, range.start_ns());
  sqlite3_bind_int64(*stmt, 4, range.end_ns());
  const int rc = sqlite3_step(*stmt);
  if (rc != SQLITE_ROW) return SqliteError(reader_.db(), rc, "count bars");
  return sqlite3_column_int64(*stmt, 0);
}

absl::StatusOr<std::optional<Provenance>> SqliteStore::GetProvenance(const Symbol& symbol,
                                                                     Timeframe timeframe) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return ReadProvenance(reader_, symbol, timeframe.ToString());
}

// A column value of a Query row; price columns (declared DECIMAL) become exact Decimal text.
SqlValue ColumnValue(sqlite3_stmt* stmt, int index, bool decimal) {
  switch (sqlite3_column_type(stmt, index)) {
    case SQLITE_NULL:
      return std::monostate();
    case SQLITE_INTEGER: {
      const int64_t value = sqlite3_column_int64(stmt, index);
      if (decimal) return Decimal{internal::UnitsText(value * Price::kUnitsPerWhole)};
      return value;
    }
    case SQLITE_FLOAT: {
      const double value = sqlite3_column_double(stmt, index);
      // units / 10000.0 rounds back to the same units for every |units| < 2^53.
      if (decimal) return Decimal{internal::UnitsText(std::llround(value * Price::kUnitsPerWhole))};
      return value;
    }
    default:
      return std::string(ColumnText(stmt, index));
  }
}

absl::StatusOr<QueryResult> SqliteStore::Query(std::string_view sql, int64_t limit) {
  if (absl::Status status = internal::ValidateQueryLimit(limit); !status.ok()) return status;
  if (absl::Status status = internal::CheckReadOnlyStart(sql); !status.ok()) return status;
  std::lock_guard<std::mutex> lock(read_mu_);
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  const int prepare_rc =
      sqlite3_prepare_v2(reader_.db(), sql.data(), static_cast<int>(sql.size()), &raw, &tail);
  Stmt stmt(raw);
  if (prepare_rc != SQLITE_OK) {
    return absl::InvalidArgumentError(
        internal::Cat("query refused: ", sqlite3_errmsg(reader_.db())));
  }
  if (stmt == nullptr) return absl::InvalidArgumentError("query is empty");
  if (!internal::IsOnlyBlanksAndComments(std::string_view(tail, sql.data() + sql.size() - tail))) {
    return absl::InvalidArgumentError("query must be a single statement");
  }
  if (!sqlite3_stmt_readonly(stmt.get())) {
    return absl::InvalidArgumentError("query refused: it would write");
  }
  QueryResult result;
  const int columns = sqlite3_column_count(stmt.get());
  std::vector<bool> decimal(columns);
  for (int i = 0; i < columns; ++i) {
    result.columns.emplace_back(sqlite3_column_name(stmt.get(), i));
    const char* declared = sqlite3_column_decltype(stmt.get(), i);
    decimal[i] =
        declared != nullptr && absl::EqualsIgnoreCase(declared, internal::Sv(kDecimalType));
  }
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    if (static_cast<int64_t>(result.rows.size()) == limit) {
      result.truncated = true;
      break;
    }
    std::vector<SqlValue>& row = result.rows.emplace_back();
    row.reserve(columns);
    for (int i = 0; i < columns; ++i) row.push_back(ColumnValue(stmt.get(), i, decimal[i]));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return absl::InvalidArgumentError(
        internal::Cat("query failed: ", sqlite3_errmsg(reader_.db())));
  }
  return result;
}

absl::Status SqliteStore::CreateJob(const JobRecord& job) {
  if (absl::Status status = internal::ValidateJob(job); !status.ok()) return status;
  const int64_t now = NowUnixNs();
  const int64_t created = job.created_unix_ns != 0 ? job.created_unix_ns : now;
  const int64_t updated = job.updated_unix_ns != 0 ? job.updated_unix_ns : created;
  const std::string timeframe = job.timeframe.ToString();
  std::lock_guard<std::mutex> lock(write_mu_);
  return writer_.InWriteTransaction([&]() -> absl::Status {
    absl::StatusOr<bool> exists = JobExists(writer_, job.id);
    if (!exists.ok()) return exists.status();
    if (*exists) return absl::AlreadyExistsError(internal::Cat("job '", job.id, "' exists"));
    absl::StatusOr<sqlite3_stmt*> insert = writer_.Prepared(
        "INSERT INTO jobs (id, start_ns, end_ns, timeframe, provider, feed, adjustment, state, "
        "message, created_unix_ns, updated_unix_ns) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!insert.ok()) return insert.status();
    {
      ScopedReset reset(*insert);
      BindText(*insert, 1, job.id);
      sqlite3_bind_int64(*insert, 2, job.range.start_ns());
      sqlite3_bind_int64(*insert, 3, job.range.end_ns());
      BindText(*insert, 4, timeframe);
      BindText(*insert, 5, job.provenance.provider);
      BindText(*insert, 6, job.provenance.feed);
      BindText(*insert, 7, job.provenance.adjustment);
      BindText(*insert, 8, JobStateName(job.state));
      BindText(*insert, 9, job.message);
      sqlite3_bind_int64(*insert, 10, created);
      sqlite3_bind_int64(*insert, 11, updated);
      if (absl::Status status = writer_.StepDone(*insert, "insert job"); !status.ok()) {
        return status;
      }
    }
    absl::StatusOr<sqlite3_stmt*> member =
        writer_.Prepared("INSERT INTO job_symbols (job_id, symbol) VALUES (?1, ?2)");
    if (!member.ok()) return member.status();
    for (const Symbol& symbol : job.symbols) {
      ScopedReset reset(*member);
      BindText(*member, 1, job.id);
      BindText(*member, 2, symbol.value());
      if (absl::Status status = writer_.StepDone(*member, "insert job symbol"); !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<JobRecord>> SqliteStore::LoadJob(std::string_view id) {
  absl::StatusOr<sqlite3_stmt*> stmt = reader_.Prepared(
      "SELECT start_ns, end_ns, timeframe, provider, feed, adjustment, state, message, "
      "created_unix_ns, updated_unix_ns FROM jobs WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  JobRecord job;
  job.id = std::string(id);
  {
    ScopedReset reset(*stmt);
    BindText(*stmt, 1, id);
    const int rc = sqlite3_step(*stmt);
    if (rc == SQLITE_DONE) return std::nullopt;
    if (rc != SQLITE_ROW) return SqliteError(reader_.db(), rc, "read job");
    absl::StatusOr<TimeRange> range =
        TimeRange::Create(sqlite3_column_int64(*stmt, 0), sqlite3_column_int64(*stmt, 1));
    if (!range.ok()) return CorruptRow("job range", range.status());
    absl::StatusOr<Timeframe> timeframe = Timeframe::Parse(ColumnText(*stmt, 2));
    if (!timeframe.ok()) return CorruptRow("job timeframe", timeframe.status());
    absl::StatusOr<JobState> state = ParseJobState(ColumnText(*stmt, 6));
    if (!state.ok()) return CorruptRow("job state", state.status());
    job.range = *range;
    job.timeframe = *timeframe;
    job.provenance =
        Provenance{std::string(ColumnText(*stmt, 3)), std::string(ColumnText(*stmt, 4)),
                   std::string(ColumnText(*stmt, 5))};
    job.state = *state;
    job.message = std::string(ColumnText(*stmt, 7));
    job.created_unix_ns = sqlite3_column_int64(*stmt, 8);
    job.updated_unix_ns = sqlite3_column_int64(*stmt, 9);
  }
  absl::StatusOr<sqlite3_stmt*> symbols =
      reader_.Prepared("SELECT symbol FROM job_symbols WHERE job_id = ?1 ORDER BY symbol");
  if (!symbols.ok()) return symbols.status();
  ScopedReset reset(*symbols);
  BindText(*symbols, 1, id);
  int rc;
  while ((rc = sqlite3_step(*symbols)) == SQLITE_ROW) {
    absl::StatusOr<Symbol> symbol = Symbol::Parse(ColumnText(*symbols, 0));
    if (!symbol.ok()) return CorruptRow("job symbol", symbol.status());
    job.symbols.push_back(*std::move(symbol));
  }
  if (rc != SQLITE_DONE) return SqliteError(reader_.db(), rc, "read job symbols");
  return job;
}

absl::StatusOr<std::optional<JobRecord>> SqliteStore::GetJob(std::string_view id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return LoadJob(id);
}

absl::StatusOr<std::vector<JobRecord>> SqliteStore::ListJobs() {
  std::lock_guard<std::mutex> lock(read_mu_);
  std::vector<std::string> ids;
  {
    absl::StatusOr<sqlite3_stmt*> stmt =
        reader_.Prepared("SELECT id FROM jobs ORDER BY created_unix_ns, id");
    if (!stmt.ok()) return stmt.status();
    ScopedReset reset(*stmt);
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) ids.emplace_back(ColumnText(*stmt, 0));
    if (rc != SQLITE_DONE) return SqliteError(reader_.db(), rc, "list jobs");
  }
  std::vector<JobRecord> jobs;
  for (const std::string& id : ids) {
    absl::StatusOr<std::optional<JobRecord>> job = LoadJob(id);
    if (!job.ok()) return job.status();
    if (job->has_value()) jobs.push_back(**std::move(job));
  }
  return jobs;
}

absl::Status SqliteStore::StartJob(std::string_view id) {
  std::lock_guard<std::mutex> lock(write_mu_);
  return writer_.InWriteTransaction([&]() -> absl::Status {
    absl::StatusOr<bool> exists = JobExists(writer_, id);
    if (!exists.ok()) return exists.status();
    if (!*exists) return internal::JobNotFound(id);
    absl::StatusOr<sqlite3_stmt*> conflict = writer_.Prepared(
        "SELECT other.id FROM jobs AS me JOIN jobs AS other "
        "ON other.id <> me.id AND other.state = 'RUNNING' AND other.timeframe = me.timeframe "
        "AND other.start_ns < me.end_ns AND me.start_ns < other.end_ns "
        "WHERE me.id = ?1 "
        "AND NOT EXISTS (SELECT symbol FROM job_symbols WHERE job_id = other.id "
        "EXCEPT SELECT symbol FROM job_symbols WHERE job_id = me.id) "
        "AND NOT EXISTS (SELECT symbol FROM job_symbols WHERE job_id = me.id "
        "EXCEPT SELECT symbol FROM job_symbols WHERE job_id = other.id) "
        "ORDER BY other.id LIMIT 1");
    if (!conflict.ok()) return conflict.status();
    {
      ScopedReset reset(*conflict);
      BindText(*conflict, 1, id);
      const int rc = sqlite3_step(*conflict);
      if (rc == SQLITE_ROW) {
        return internal::DuplicateRunningJob(id, ColumnText(*conflict, 0));
      }
      if (rc != SQLITE_DONE) return SqliteError(writer_.db(), rc, "check running jobs");
    }
    absl::StatusOr<sqlite3_stmt*> update =
        writer_.Prepared("UPDATE jobs SET state = 'RUNNING', updated_unix_ns = ?2 WHERE id = ?1");
    if (!update.ok()) return update.status();
    ScopedReset reset(*update);
    BindText(*update, 1, id);
    sqlite3_bind_int64(*update, 2, NowUnixNs());
    return writer_.StepDone(*update, "start job");
  });
}

absl::Status SqliteStore::SetJobState(std::string_view id, JobState state,
                                      std::string_view message) {
  std::lock_guard<std::mutex> lock(write_mu_);
  return writer_.InWriteTransaction([&]() -> absl::Status {
    absl::StatusOr<sqlite3_stmt*> update = writer_.Prepared(
        "UPDATE jobs SET state = ?2, message = ?3, updated_unix_ns = ?4 WHERE id = ?1");
    if (!update.ok()) return update.status();
    ScopedReset reset(*update);
    BindText(*update, 1, id);
    BindText(*update, 2, JobStateName(state));
    BindText(*update, 3, message);
    sqlite3_bind_int64(*update, 4, NowUnixNs());
    if (absl::Status status = writer_.StepDone(*update, "set job state"); !status.ok()) {
      return status;
    }
    if (sqlite3_changes(writer_.db()) == 0) return internal::JobNotFound(id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Checkpoint>> SqliteStore::GetCheckpoints(std::string_view job_id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  absl::StatusOr<bool> exists = JobExists(reader_, job_id);
  if (!exists.ok()) return exists.status();
  if (!*exists) return internal::JobNotFound(job_id);
  absl::StatusOr<sqlite3_stmt*> stmt = reader_.Prepared(
      "SELECT symbol, last_ts_ns, bars_stored, done, error FROM checkpoints "
      "WHERE job_id = ?1 ORDER BY symbol");
  if (!stmt.ok()) return stmt.status();
  ScopedReset reset(*stmt);
  BindText(*stmt, 1, job_id);
  std::vector<Checkpoint> checkpoints;
  int rc;
  while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    absl::StatusOr<Symbol> symbol = Symbol::Parse(ColumnText(*stmt, 0));
    if (!symbol.ok()) return CorruptRow("checkpoint symbol", symbol.status());
    Checkpoint& checkpoint = checkpoints.emplace_back();
    checkpoint.symbol = *std::move(symbol);
    if (sqlite3_column_type(*stmt, 1) != SQLITE_NULL) {
      checkpoint.last_ts_ns = sqlite3_column_int64(*stmt, 1);
    }
    checkpoint.bars_stored = sqlite3_column_int64(*stmt, 2);
    checkpoint.done = sqlite3_column_int(*stmt, 3) != 0;
    checkpoint.error = std::string(ColumnText(*stmt, 4));
  }
  if (rc != SQLITE_DONE) return SqliteError(reader_.db(), rc, "read checkpoints");
  return checkpoints;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       const SqliteOptions& options) {
  if (path.empty()) return absl::InvalidArgumentError("sqlite store path is empty");
  absl::StatusOr<Db> db =
      OpenDb(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options.busy_timeout);
  if (!db.ok()) return db.status();
  Connection writer(*std::move(db));
  absl::StatusOr<std::string> mode = SetWalMode(writer, options.busy_timeout);
  if (!mode.ok()) return mode.status();
  if (!absl::EqualsIgnoreCase(*mode, "wal")) {
    return absl::FailedPreconditionError(
        internal::Cat("sqlite store '", path, "' cannot use WAL (journal mode is ", *mode, ")"));
  }
  for (const char* pragma : {"PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"}) {
    if (absl::Status status = writer.Exec(pragma); !status.ok()) return status;
  }
  if (absl::Status status = Migrate(writer, path); !status.ok()) return status;

  absl::StatusOr<Db> read_db = OpenDb(path, SQLITE_OPEN_READONLY, options.busy_timeout);
  if (!read_db.ok()) return read_db.status();
  Connection reader(*std::move(read_db));
  if (absl::Status status = reader.Exec("PRAGMA query_only = ON"); !status.ok()) return status;
  sqlite3_set_authorizer(reader.db(), ReadOnlyAuthorizer, nullptr);
  return std::make_unique<SqliteStore>(path, std::move(writer), std::move(reader));
}

}  // namespace marketpipe::storage
