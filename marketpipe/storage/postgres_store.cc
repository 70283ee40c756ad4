#include "marketpipe/storage/postgres_store.h"

#include <postgresql/libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/storage/store_internal.h"

namespace marketpipe::storage {
namespace {

bool IsSchemaName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(absl::ascii_islower(name[0]) || name[0] == '_')) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<PostgresSpec> ParsePostgresSpec(std::string_view spec) {
  constexpr std::string_view kPrefix = "postgres:";
  if (!spec.starts_with(kPrefix)) {
    return absl::InvalidArgumentError(
        internal::Cat("store spec '", spec, "' does not start with postgres:"));
  }
  std::string_view rest = spec.substr(kPrefix.size());
  PostgresSpec parsed;
  // The schema is the last ";schema=" part: a conninfo may itself quote ';' inside a value.
  constexpr std::string_view kSchema = ";schema=";
  if (const size_t at = rest.rfind(kSchema); at != std::string_view::npos) {
    const std::string_view schema = rest.substr(at + kSchema.size());
    if (!IsSchemaName(schema)) {
      return absl::InvalidArgumentError(internal::Cat("store spec '", spec, "': schema '", schema,
                                                      "' must match [a-z_][a-z0-9_]{0,62}"));
    }
    parsed.schema = std::string(schema);
    rest = rest.substr(0, at);
  }
  if (absl::StripAsciiWhitespace(internal::Sv(rest)).empty()) {
    return absl::InvalidArgumentError(internal::Cat(
        "store spec '", spec, "': postgres needs a conninfo (postgres:CONNINFO[;schema=NAME])"));
  }
  parsed.conninfo = std::string(rest);
  return parsed;
}

namespace {

using internal::Cat;
using internal::NowUnixNs;

// kMigrations[i] takes the schema from version i to i + 1 (the `schema_version` table).
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE bar_units (
  symbol text NOT NULL,
  timeframe text NOT NULL,
  ts_ns bigint NOT NULL,
  open_units bigint NOT NULL,
  high_units bigint NOT NULL,
  low_units bigint NOT NULL,
  close_units bigint NOT NULL,
  volume bigint NOT NULL,
  trade_count bigint NOT NULL,
  vwap_units bigint NOT NULL,
  PRIMARY KEY (symbol, timeframe, ts_ns)
);
CREATE VIEW bars AS
  SELECT symbol, timeframe, ts_ns,
         (open_units * 0.0001)::numeric(19,4) AS open,
         (high_units * 0.0001)::numeric(19,4) AS high,
         (low_units * 0.0001)::numeric(19,4) AS low,
         (close_units * 0.0001)::numeric(19,4) AS close,
         volume, trade_count,
         (vwap_units * 0.0001)::numeric(19,4) AS vwap
  FROM bar_units;
CREATE TABLE series (
  symbol text NOT NULL,
  timeframe text NOT NULL,
  provider text NOT NULL,
  feed text NOT NULL,
  adjustment text NOT NULL,
  PRIMARY KEY (symbol, timeframe)
);
CREATE TABLE jobs (
  id text NOT NULL PRIMARY KEY,
  start_ns bigint NOT NULL,
  end_ns bigint NOT NULL,
  timeframe text NOT NULL,
  provider text NOT NULL,
  feed text NOT NULL,
  adjustment text NOT NULL,
  state text NOT NULL,
  message text NOT NULL,
  created_unix_ns bigint NOT NULL,
  updated_unix_ns bigint NOT NULL
);
CREATE TABLE job_symbols (
  job_id text NOT NULL REFERENCES jobs (id),
  symbol text NOT NULL,
  PRIMARY KEY (job_id, symbol)
);
CREATE INDEX job_symbols_by_symbol ON job_symbols (symbol);
CREATE TABLE checkpoints (
  job_id text NOT NULL,
  symbol text NOT NULL,
  last_ts_ns bigint,
  bars_stored bigint NOT NULL,
  done boolean NOT NULL,
  error text NOT NULL,
  PRIMARY KEY (job_id, symbol),
  FOREIGN KEY (job_id, symbol) REFERENCES job_symbols (job_id, symbol)
);
)sql",
};
static_assert(std::size(kMigrations) == kPostgresSchemaVersion);

// Taken (per schema) while migrating, so concurrent openers migrate once.
constexpr int kMigrationLockClass = 0x4d50;  // "MP"

// PostgreSQL type OIDs (pg_type.h) that Query maps to typed values.
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

constexpr std::string_view kUniqueViolation = "23505";

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;

std::string TrimmedMessage(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.back()))) {
    text.pop_back();
  }
  return text;
}

// A text parameter of a statement; nullopt is SQL NULL.
using Param = std::optional<std::string>;

Param Text(std::string_view text) { return std::string(text); }
Param Int(int64_t value) { return std::to_string(value); }

// "{AAPL,MSFT}": symbols need no quoting in an array literal.
Param SymbolArray(const std::vector<std::string_view>& symbols) {
  std::string out = "{";
  for (size_t i = 0; i < symbols.size(); ++i) {
    if (i > 0) out += ',';
    out += symbols[i];
  }
  return out + "}";
}

int64_t ToInt(const PGresult* result, int row, int column) {
  int64_t value = 0;
  const char* text = PQgetvalue(result, row, column);
  std::from_chars(text, text + PQgetlength(result, row, column), value);
  return value;
}

std::string ToText(const PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column), PQgetlength(result, row, column));
}

// COPY's binary format (PostgreSQL docs, "COPY ... Binary Format"): a signature, flags and
// header extension length, then per row a field count and each field as length + bytes, all
// integers big-endian; a field count of -1 ends the data.
constexpr std::string_view kBinaryCopySignature("PGCOPY\n\377\r\n\0", 11);
constexpr int16_t kBarUnitsColumns = 10;

char* PutBigEndian(char* at, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) *at++ = static_cast<char>(value >> (8 * i));
  return at;
}

char* PutTextField(char* at, std::string_view text) {
  at = PutBigEndian(at, text.size(), 4);
  text.copy(at, text.size());
  return at + text.size();
}

char* PutInt8Field(char* at, int64_t value) {
  at = PutBigEndian(at, 8, 4);
  return PutBigEndian(at, static_cast<uint64_t>(value), 8);
}

// Appends `value` and a separator to a COPY text buffer.
void AppendInt(std::string& out, int64_t value, char separator) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, end);
  out.push_back(separator);
}

// The rows bars[order[i]] as COPY text / binary data (columns of bar_units, in order).
void AppendTextRows(std::span<const Bar> bars, const std::vector<size_t>& order,
                    std::string_view timeframe, std::string& out) {
  for (size_t index : order) {
    const Bar& bar = bars[index];
    out += bar.symbol.value();
    out.push_back('\t');
    out += timeframe;
    out.push_back('\t');
    AppendInt(out, bar.ts_ns, '\t');
    AppendInt(out, bar.open.units(), '\t');
    AppendInt(out, bar.high.units(), '\t');
    AppendInt(out, bar.low.units(), '\t');
    AppendInt(out, bar.close.units(), '\t');
    AppendInt(out, bar.volume, '\t');
    AppendInt(out, bar.trade_count, '\t');
    AppendInt(out, bar.vwap.units(), '\n');
  }
}

void AppendBinaryRows(std::span<const Bar> bars, const std::vector<size_t>& order,
                      std::string_view timeframe, std::string& out) {
  size_t size = kBinaryCopySignature.size() + 8 + 2;
  for (size_t index : order) {
    size += 2 + 4 + bars[index].symbol.value().size() + 4 + timeframe.size() + 8 * (4 + 8);
  }
  out.resize(size);
  char* at = out.data();
  at = std::copy(kBinaryCopySignature.begin(), kBinaryCopySignature.end(), at);
  at = PutBigEndian(at, 0, 4);  // flags: no OIDs
  at = PutBigEndian(at, 0, 4);  // no header extension
  for (size_t index : order) {
    const Bar& bar = bars[index];
    at = PutBigEndian(at, kBarUnitsColumns, 2);
    at = PutTextField(at, bar.symbol.value());
    at = PutTextField(at, timeframe);
    for (int64_t value : {bar.ts_ns, bar.open.units(), bar.high.units(), bar.low.units(),
                          bar.close.units(), bar.volume, bar.trade_count, bar.vwap.units()}) {
      at = PutInt8Field(at, value);
    }
  }
  at = PutBigEndian(at, static_cast<uint16_t>(-1), 2);
  out.resize(static_cast<size_t>(at - out.data()));
}

class Session {
 public:
  explicit Session(Conn conn) : conn_(std::move(conn)) {}

  PGconn* conn() const { return conn_.get(); }

  // The SQLSTATE of the last error ("" when it was not the server's).
  const std::string& last_sqlstate() const { return last_sqlstate_; }

  absl::Status Error(const PGresult* result, std::string_view what) {
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state != nullptr ? state : "";
    last_sqlstate_ = sqlstate;
    std::string message =
        TrimmedMessage(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn()));
    if (message.empty()) message = TrimmedMessage(PQerrorMessage(conn()));
    message = Cat("postgres: ", what, ": ", message);
    if (PQstatus(conn()) != CONNECTION_OK) return absl::UnavailableError(message);
    if (sqlstate == "40001" || sqlstate == "40P01") return absl::AbortedError(message);
    if (sqlstate == "55P03" || sqlstate == "57014") return absl::UnavailableError(message);
    return absl::InternalError(message);
  }

  // Runs SQL without parameters (several statements allowed): setup, BEGIN, COMMIT.
  absl::Status Exec(const std::string& sql) {
    Result result(PQexec(conn(), sql.c_str()));
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return Error(result.get(), sql.size() > 60 ? sql.substr(0, 60) + "..." : sql);
    }
    return absl::OkStatus();
  }

  // Runs one statement with text parameters, prepared once per connection.
  absl::StatusOr<Result> Run(const char* sql, const std::vector<Param>& params) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      const std::string name = Cat("mp_", prepared_.size());
      Result prepared(
          PQprepare(conn(), name.c_str(), sql, static_cast<int>(params.size()), nullptr));
      if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
        return Error(prepared.get(), Cat("prepare '", sql, "'"));
      }
      it = prepared_.emplace(sql, name).first;
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const Param& param : params) values.push_back(param ? param->c_str() : nullptr);
    Result result(PQexecPrepared(conn(), it->second.c_str(), static_cast<int>(values.size()),
                                 values.data(), nullptr, nullptr, 0));
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return Error(result.get(), sql);
    return result;
  }

  // Runs `body` in one transaction: COMMIT when it succeeds, ROLLBACK otherwise.
  template <typename Body>
  absl::Status InTransaction(Body&& body) {
    if (absl::Status status = Exec("BEGIN"); !status.ok()) return status;
    absl::Status status = body();
    if (status.ok()) status = Exec("COMMIT");
    if (!status.ok()) Result(PQexec(conn(), "ROLLBACK"));
    return status;
  }

  // Streams `data` (COPY text format) into `copy_sql` (a COPY ... FROM STDIN).
  absl::Status Copy(const char* copy_sql, std::string_view data) {
    Result start(PQexec(conn(), copy_sql));
    if (PQresultStatus(start.get()) != PGRES_COPY_IN) return Error(start.get(), copy_sql);
    constexpr size_t kChunk = 1 << 20;
    for (size_t at = 0; at < data.size(); at += kChunk) {
      const size_t n = std::min(kChunk, data.size() - at);
      if (PQputCopyData(conn(), data.data() + at, static_cast<int>(n)) != 1) {
        return Error(nullptr, "COPY data");
      }
    }
    if (PQputCopyEnd(conn(), nullptr) != 1) return Error(nullptr, "COPY end");
    absl::Status status;
    while (PGresult* raw = PQgetResult(conn())) {
      Result result(raw);
      if (PQresultStatus(raw) != PGRES_COMMAND_OK && status.ok()) {
        status = Error(raw, copy_sql);
      }
    }
    return status;
  }

  // Forgets prepared statements (after a reconnect they are gone on the server).
  void ForgetPrepared() { prepared_.clear(); }

 private:
  Conn conn_;
  std::string last_sqlstate_;
  std::map<const char*, std::string> prepared_;  // keys are the callers' literals
};

absl::Status CorruptRow(std::string_view what, const absl::Status& status) {
  return absl::DataLossError(Cat("postgres: unreadable ", what, ": ", status.message()));
}

class PostgresStore final : public Store {
 public:
  PostgresStore(PostgresSpec spec, std::string schema, Session session, PostgresOptions options)
      : spec_(std::move(spec)),
        schema_(std::move(schema)),
        options_(options),
        session_(std::move(session)) {}

  std::string kind() const override { return "postgres"; }

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
  // Reconnects a connection the server dropped; OK when the session is usable.
  absl::Status EnsureConnected();
  absl::Status CheckSeries(const PageWrite& write, const std::string& timeframe);
  absl::Status LoadBars(const PageWrite& write, const std::string& timeframe);
  // True when no stored bar of `timeframe` lies within any symbol's time span in the page.
  absl::StatusOr<bool> NoneStored(std::span<const Bar> bars, const std::vector<size_t>& order,
                                  const std::string& timeframe);
  absl::Status WriteCheckpoints(const PageWrite& write);
  absl::StatusOr<bool> JobExists(std::string_view id);
  absl::StatusOr<std::optional<JobRecord>> LoadJob(std::string_view id);

  const PostgresSpec spec_;
  const std::string schema_;
  const PostgresOptions options_;
  // std::mutex, not absl::Mutex: Debian's Abseil is not built for TSan, which would not see
  // its locking.
  std::mutex mu_;
  Session session_;          // guarded by mu_
  std::string copy_buffer_;  // guarded by mu_
};

// Session state every connection needs: the schema, quiet notices, the staging table.
absl::Status SetUpSession(Session& session, const std::string& schema) {
  PQsetNoticeProcessor(
      session.conn(), [](void*, const char*) {}, nullptr);
  return session.Exec(
      Cat("SET search_path TO \"", schema,
          "\"; CREATE TEMP TABLE IF NOT EXISTS bar_stage (symbol text, timeframe text, "
          "ts_ns bigint, open_units bigint, high_units bigint, low_units bigint, "
          "close_units bigint, volume bigint, trade_count bigint, vwap_units bigint) "
          "ON COMMIT DELETE ROWS"));
}

absl::Status PostgresStore::EnsureConnected() {
  if (PQstatus(session_.conn()) == CONNECTION_OK) return absl::OkStatus();
  PQreset(session_.conn());
  session_.ForgetPrepared();
  if (PQstatus(session_.conn()) != CONNECTION_OK) {
    return absl::UnavailableError(
        Cat("postgres: reconnect failed: ", TrimmedMessage(PQerrorMessage(session_.conn()))));
  }
  return SetUpSession(session_, schema_);
}

absl::Status PostgresStore::CheckSeries(const PageWrite& write, const std::string& timeframe) {
  std::set<std::string_view> distinct;
  for (const Bar& bar : write.bars) distinct.insert(bar.symbol.value());
  if (distinct.empty()) return absl::OkStatus();
  const Param symbols = SymbolArray({distinct.begin(), distinct.end()});
  const Provenance& p = write.provenance;
  // A concurrent writer's insert of the same series makes ours wait, then see its row.
  absl::StatusOr<Result> inserted = session_.Run(
      "INSERT INTO series (symbol, timeframe, provider, feed, adjustment) "
      "SELECT unnest($1::text[]), $2, $3, $4, $5 ON CONFLICT DO NOTHING",
      {symbols, Text(timeframe), Text(p.provider), Text(p.feed), Text(p.adjustment)});
  if (!inserted.ok()) return inserted.status();
  absl::StatusOr<Result> other = session_.Run(
      "SELECT symbol, provider, feed, adjustment FROM series "
      "WHERE timeframe = $2 AND symbol = ANY ($1::text[]) "
      "AND (provider, feed, adjustment) IS DISTINCT FROM ($3, $4, $5) ORDER BY symbol LIMIT 1",
      {symbols, Text(timeframe), Text(p.provider), Text(p.feed), Text(p.adjustment)});
  if (!other.ok()) return other.status();
  if (PQntuples(other->get()) == 0) return absl::OkStatus();
  absl::StatusOr<Symbol> symbol = Symbol::Parse(ToText(other->get(), 0, 0));
  if (!symbol.ok()) return CorruptRow("series symbol", symbol.status());
  const Provenance stored{ToText(other->get(), 0, 1), ToText(other->get(), 0, 2),
                          ToText(other->get(), 0, 3)};
  return internal::ProvenanceMismatch(*symbol, write.timeframe, stored, p);
}

absl::Status PostgresStore::LoadBars(const PageWrite& write, const std::string& timeframe) {
  if (write.bars.empty()) return absl::OkStatus();
  const std::span<const Bar> bars = write.bars;
  // Key order: a repeated key keeps its last bar (ON CONFLICT may touch a row only once), and
  // concurrent writers lock rows in the same order, so they cannot deadlock.
  const auto key_less = [&](size_t a, size_t b) {
    const int by_symbol = bars[a].symbol.value().compare(bars[b].symbol.value());
    return by_symbol != 0 ? by_symbol < 0 : bars[a].ts_ns < bars[b].ts_ns;
  };
  std::vector<size_t> order(bars.size());
  std::iota(order.begin(), order.end(), 0);
  bool sorted_unique = true;
  for (size_t i = 1; i < order.size() && sorted_unique; ++i) sorted_unique = key_less(i - 1, i);
  if (!sorted_unique) {
    std::stable_sort(order.begin(), order.end(), key_less);
    std::vector<size_t> last;
    for (size_t i = 0; i < order.size(); ++i) {
      if (i + 1 < order.size() && !key_less(order[i], order[i + 1])) continue;
      last.push_back(order[i]);
    }
    order = std::move(last);
  }
  std::string& out = copy_buffer_;
  out.clear();
  if (options_.binary_copy) {
    AppendBinaryRows(bars, order, timeframe, out);
  } else {
    AppendTextRows(bars, order, timeframe, out);
  }
  const char* const direct_copy = options_.binary_copy ? "COPY bar_units FROM STDIN (FORMAT binary)"
                                                       : "COPY bar_units FROM STDIN";
  const char* const stage_copy = options_.binary_copy
                                     ? "COPY pg_temp.bar_stage FROM STDIN (FORMAT binary)"
                                     : "COPY pg_temp.bar_stage FROM STDIN";
  // Fresh bars (the bulk of an ingest) go straight into bar_units with one COPY, about twice as
  // fast as staging. A page that may touch stored keys, or that loses a race with another
  // writer inserting the same keys (unique violation), takes the staged upsert instead.
  absl::StatusOr<bool> fresh = NoneStored(bars, order, timeframe);
  if (!fresh.ok()) return fresh.status();
  if (*fresh) {
    if (absl::Status status = session_.Exec("SAVEPOINT mp_direct"); !status.ok()) return status;
    absl::Status direct = session_.Copy(direct_copy, out);
    if (direct.ok()) return session_.Exec("RELEASE SAVEPOINT mp_direct");
    if (session_.last_sqlstate() != kUniqueViolation) return direct;
    if (absl::Status status = session_.Exec("ROLLBACK TO SAVEPOINT mp_direct"); !status.ok()) {
      return status;
    }
  }
  if (absl::Status status = session_.Copy(stage_copy, out); !status.ok()) {
    return status;
  }
  absl::StatusOr<Result> merged = session_.Run(
      "INSERT INTO bar_units SELECT * FROM pg_temp.bar_stage "
      "ON CONFLICT (symbol, timeframe, ts_ns) DO UPDATE SET "
      "open_units = excluded.open_units, high_units = excluded.high_units, "
      "low_units = excluded.low_units, close_units = excluded.close_units, "
      "volume = excluded.volume, trade_count = excluded.trade_count, "
      "vwap_units = excluded.vwap_units",
      {});
  if (!merged.ok()) return merged.status();
  // ON COMMIT DELETE ROWS empties the stage at commit; a rolled-back COPY leaves nothing.
  return absl::OkStatus();
}

absl::StatusOr<bool> PostgresStore::NoneStored(std::span<const Bar> bars,
                                               const std::vector<size_t>& order,
                                               const std::string& timeframe) {
  // `order` is sorted by symbol then time: one [first, last] range per symbol.
  std::string symbols = "{", lows = "{", highs = "{";
  for (size_t i = 0; i < order.size(); ++i) {
    const Bar& bar = bars[order[i]];
    if (i == 0 || bars[order[i - 1]].symbol != bar.symbol) {
      if (i > 0) {
        symbols += ',';
        lows += ',';
        highs += ',';
      }
      symbols += bar.symbol.value();
      lows += std::to_string(bar.ts_ns);
    }
    if (i + 1 == order.size() || bars[order[i + 1]].symbol != bar.symbol) {
      highs += std::to_string(bar.ts_ns);
    }
  }
  absl::StatusOr<Result> stored = session_.Run(
      "SELECT 1 FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS r (symbol, lo, hi) "
      "WHERE EXISTS (SELECT 1 FROM bar_units AS b WHERE b.symbol = r.symbol "
      "AND b.timeframe = $4 AND b.ts_ns BETWEEN r.lo AND r.hi) LIMIT 1",
      {symbols + "}", lows + "}", highs + "}", Text(timeframe)});
  if (!stored.ok()) return stored.status();
  return PQntuples(stored->get()) == 0;
}

absl::StatusOr<bool> PostgresStore::JobExists(std::string_view id) {
  absl::StatusOr<Result> result = session_.Run("SELECT 1 FROM jobs WHERE id = $1", {Text(id)});
  if (!result.ok()) return result.status();
  return PQntuples(result->get()) > 0;
}

absl::Status PostgresStore::WriteCheckpoints(const PageWrite& write) {
  absl::StatusOr<bool> exists = JobExists(write.job_id);
  if (!exists.ok()) return exists.status();
  if (!*exists) return internal::JobNotFound(write.job_id);
  for (const Checkpoint& checkpoint : write.checkpoints) {
    absl::StatusOr<Result> member =
        session_.Run("SELECT 1 FROM job_symbols WHERE job_id = $1 AND symbol = $2",
                     {Text(write.job_id), Text(checkpoint.symbol.value())});
    if (!member.ok()) return member.status();
    if (PQntuples(member->get()) == 0) {
      return absl::InvalidArgumentError(Cat("checkpoint of ", checkpoint.symbol.value(),
                                            ": not a symbol of job '", write.job_id, "'"));
    }
    absl::StatusOr<Result> upsert = session_.Run(
        "INSERT INTO checkpoints (job_id, symbol, last_ts_ns, bars_stored, done, error) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id, symbol) DO UPDATE SET "
        "last_ts_ns = excluded.last_ts_ns, bars_stored = excluded.bars_stored, "
        "done = excluded.done, error = excluded.error",
        {Text(write.job_id), Text(checkpoint.symbol.value()),
         checkpoint.last_ts_ns ? Int(*checkpoint.last_ts_ns) : std::nullopt,
         Int(checkpoint.bars_stored), Text(checkpoint.done ? "true" : "false"),
         Text(checkpoint.error)});
    if (!upsert.ok()) return upsert.status();
  }
  return absl::OkStatus();
}

absl::Status PostgresStore::WritePage(const PageWrite& write) {
  if (absl::Status status = internal::ValidatePageWrite(write); !status.ok()) return status;
  const std::string timeframe = write.timeframe.ToString();
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  return session_.InTransaction([&]() -> absl::Status {
    if (absl::Status status = CheckSeries(write, timeframe); !status.ok()) return status;
    if (absl::Status status = LoadBars(write, timeframe); !status.ok()) return status;
    if (write.job_id.empty()) return absl::OkStatus();
    return WriteCheckpoints(write);
  });
}

absl::StatusOr<std::vector<Bar>> PostgresStore::ReadBars(const Symbol& symbol, Timeframe timeframe,
                                                         TimeRange range) {
  if (symbol.empty()) return absl::InvalidArgumentError("ReadBars: empty symbol");
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  absl::StatusOr<Result> result = session_.Run(
      "SELECT ts_ns, open_units, high_units, low_units, close_units, volume, trade_count, "
      "vwap_units FROM bar_units WHERE symbol = $1 AND timeframe = $2 AND ts_ns >= $3 "
      "AND ts_ns < $4 ORDER BY ts_ns",
      {Text(symbol.value()), Text(timeframe.ToString()), Int(range.start_ns()),
       Int(range.end_ns())});
  if (!result.ok()) return result.status();
  const PGresult* rows = result->get();
  std::vector<Bar> bars(PQntuples(rows));
  for (int i = 0; i < PQntuples(rows); ++i) {
    Bar& bar = bars[i];
    bar.symbol = symbol;
    bar.ts_ns = ToInt(rows, i, 0);
    bar.open = Price::FromUnits(ToInt(rows, i, 1));
    bar.high = Price::FromUnits(ToInt(rows, i, 2));
    bar.low = Price::FromUnits(ToInt(rows, i, 3));
    bar.close = Price::FromUnits(ToInt(rows, i, 4));
    bar.volume = ToInt(rows, i, 5);
    bar.trade_count = ToInt(rows, i, 6);
    bar.vwap = Price::FromUnits(ToInt(rows, i, 7));
  }
  return bars;
}

absl::StatusOr<int64_t> PostgresStore::CountBars(std::optional<Symbol> symbol, Timeframe timeframe,
                                                 TimeRange range) {
  if (symbol.has_value() && symbol->empty()) {
    return absl::InvalidArgumentError("CountBars: empty symbol");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  absl::StatusOr<Result> result = session_.Run(
      "SELECT count(*) FROM bar_units WHERE timeframe = $2 AND ts_ns >= $3 AND ts_ns < $4 "
      "AND ($1::text IS NULL OR symbol = $1)",
      {symbol ? Text(symbol->value()) : std::nullopt, Text(timeframe.ToString()),
       Int(range.start_ns()), Int(range.end_ns())});
  if (!result.ok()) return result.status();
  return ToInt(result->get(), 0, 0);
}

absl::StatusOr<std::optional<Provenance>> PostgresStore::GetProvenance(const Symbol& symbol,
                                                                       Timeframe timeframe) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  absl::StatusOr<Result> result = session_.Run(
      "SELECT provider, feed, adjustment FROM series WHERE symbol = $1 AND timeframe = $2",
      {Text(symbol.value()), Text(timeframe.ToString())});
  if (!result.ok()) return result.status();
  if (PQntuples(result->get()) == 0) return std::nullopt;
  return Provenance{ToText(result->get(), 0, 0), ToText(result->get(), 0, 1),
                    ToText(result->get(), 0, 2)};
}

SqlValue FieldValue(const PGresult* result, int row, int column) {
  if (PQgetisnull(result, row, column)) return std::monostate();
  std::string text = ToText(result, row, column);
  switch (PQftype(result, column)) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
      return ToInt(result, row, column);
    case kBoolOid:
      return int64_t{text == "t" ? 1 : 0};
    case kFloat4Oid:
    case kFloat8Oid:
      return std::strtod(text.c_str(), nullptr);
    case kNumericOid: {
      // sum(volume) is numeric in PostgreSQL but an integer in SQLite: whole numbers that fit
      // come back as integers in both.
      int64_t whole = 0;
      if (text.find('.') == std::string::npos && absl::SimpleAtoi(text, &whole)) return whole;
      return Decimal{std::move(text)};
    }
    default:
      return text;
  }
}

absl::StatusOr<QueryResult> PostgresStore::Query(std::string_view sql, int64_t limit) {
  if (absl::Status status = internal::ValidateQueryLimit(limit); !status.ok()) return status;
  if (absl::Status status = internal::CheckReadOnlyStart(sql); !status.ok()) return status;
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  if (absl::Status status = session_.Exec("BEGIN TRANSACTION READ ONLY"); !status.ok()) {
    return status;
  }
  // A cursor fetches only what the limit asks for; the extended protocol refuses a second
  // statement, and the read-only transaction refuses any write the statement attempts.
  absl::StatusOr<QueryResult> out = [&]() -> absl::StatusOr<QueryResult> {
    const std::string declare = Cat("DECLARE mp_query NO SCROLL CURSOR FOR ", sql);
    Result declared(
        PQexecParams(session_.conn(), declare.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
    if (PQresultStatus(declared.get()) != PGRES_COMMAND_OK) {
      const absl::Status error = session_.Error(declared.get(), "query refused");
      if (PQstatus(session_.conn()) != CONNECTION_OK) return error;
      return absl::InvalidArgumentError(error.message());
    }
    const std::string fetch = limit >= std::numeric_limits<int32_t>::max()
                                  ? std::string("FETCH ALL FROM mp_query")
                                  : Cat("FETCH FORWARD ", limit + 1, " FROM mp_query");
    Result fetched(PQexec(session_.conn(), fetch.c_str()));
    if (PQresultStatus(fetched.get()) != PGRES_TUPLES_OK) {
      const absl::Status error = session_.Error(fetched.get(), "query failed");
      if (PQstatus(session_.conn()) != CONNECTION_OK) return error;
      return absl::InvalidArgumentError(error.message());
    }
    const PGresult* rows = fetched.get();
    QueryResult result;
    const int columns = PQnfields(rows);
    for (int c = 0; c < columns; ++c) result.columns.emplace_back(PQfname(rows, c));
    const int available = PQntuples(rows);
    const int64_t kept = std::min<int64_t>(available, limit);
    result.truncated = available > kept;
    for (int r = 0; r < kept; ++r) {
      std::vector<SqlValue>& row = result.rows.emplace_back();
      row.reserve(columns);
      for (int c = 0; c < columns; ++c) row.push_back(FieldValue(rows, r, c));
    }
    return result;
  }();
  Result(PQexec(session_.conn(), "ROLLBACK"));
  return out;
}

absl::Status PostgresStore::CreateJob(const JobRecord& job) {
  if (absl::Status status = internal::ValidateJob(job); !status.ok()) return status;
  const int64_t now = NowUnixNs();
  const int64_t created = job.created_unix_ns != 0 ? job.created_unix_ns : now;
  const int64_t updated = job.updated_unix_ns != 0 ? job.updated_unix_ns : created;
  std::vector<std::string_view> symbols;
  for (const Symbol& symbol : job.symbols) symbols.push_back(symbol.value());
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  return session_.InTransaction([&]() -> absl::Status {
    absl::StatusOr<Result> inserted = session_.Run(
        "INSERT INTO jobs (id, start_ns, end_ns, timeframe, provider, feed, adjustment, state, "
        "message, created_unix_ns, updated_unix_ns) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
        {Text(job.id), Int(job.range.start_ns()), Int(job.range.end_ns()),
         Text(job.timeframe.ToString()), Text(job.provenance.provider), Text(job.provenance.feed),
         Text(job.provenance.adjustment), Text(JobStateName(job.state)), Text(job.message),
         Int(created), Int(updated)});
    if (!inserted.ok()) return inserted.status();
    if (std::string_view(PQcmdTuples(inserted->get())) == "0") {
      return absl::AlreadyExistsError(Cat("job '", job.id, "' exists"));
    }
    absl::StatusOr<Result> members =
        session_.Run("INSERT INTO job_symbols (job_id, symbol) SELECT $1, unnest($2::text[])",
                     {Text(job.id), SymbolArray(symbols)});
    return members.status();
  });
}

absl::StatusOr<std::optional<JobRecord>> PostgresStore::LoadJob(std::string_view id) {
  absl::StatusOr<Result> result = session_.Run(
      "SELECT start_ns, end_ns, timeframe, provider, feed, adjustment, state, message, "
      "created_unix_ns, updated_unix_ns, "
      "ARRAY(SELECT symbol FROM job_symbols WHERE job_id = $1 ORDER BY symbol)::text "
      "FROM jobs WHERE id = $1",
      {Text(id)});
  if (!result.ok()) return result.status();
  const PGresult* row = result->get();
  if (PQntuples(row) == 0) return std::nullopt;
  JobRecord job;
  job.id = std::string(id);
  absl::StatusOr<TimeRange> range = TimeRange::Create(ToInt(row, 0, 0), ToInt(row, 0, 1));
  if (!range.ok()) return CorruptRow("job range", range.status());
  absl::StatusOr<Timeframe> timeframe = Timeframe::Parse(ToText(row, 0, 2));
  if (!timeframe.ok()) return CorruptRow("job timeframe", timeframe.status());
  absl::StatusOr<JobState> state = ParseJobState(ToText(row, 0, 6));
  if (!state.ok()) return CorruptRow("job state", state.status());
  job.range = *range;
  job.timeframe = *timeframe;
  job.provenance = Provenance{ToText(row, 0, 3), ToText(row, 0, 4), ToText(row, 0, 5)};
  job.state = *state;
  job.message = ToText(row, 0, 7);
  job.created_unix_ns = ToInt(row, 0, 8);
  job.updated_unix_ns = ToInt(row, 0, 9);
  // "{AAPL,MSFT}": symbols are never quoted in array text.
  std::string array = ToText(row, 0, 10);
  const std::string_view inner = std::string_view(array).substr(1, array.size() - 2);
  size_t start = 0;
  while (start < inner.size()) {
    size_t end = inner.find(',', start);
    if (end == std::string_view::npos) end = inner.size();
    absl::StatusOr<Symbol> symbol = Symbol::Parse(inner.substr(start, end - start));
    if (!symbol.ok()) return CorruptRow("job symbol", symbol.status());
    job.symbols.push_back(*std::move(symbol));
    start = end + 1;
  }
  return job;
}

absl::StatusOr<std::optional<JobRecord>> PostgresStore::GetJob(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  return LoadJob(id);
}

absl::StatusOr<std::vector<JobRecord>> PostgresStore::ListJobs() {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  absl::StatusOr<Result> ids = session_.Run("SELECT id FROM jobs ORDER BY created_unix_ns, id", {});
  if (!ids.ok()) return ids.status();
  std::vector<JobRecord> jobs;
  for (int i = 0; i < PQntuples(ids->get()); ++i) {
    absl::StatusOr<std::optional<JobRecord>> job = LoadJob(ToText(ids->get(), i, 0));
    if (!job.ok()) return job.status();
    if (job->has_value()) jobs.push_back(**std::move(job));
  }
  return jobs;
}

absl::Status PostgresStore::StartJob(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  return session_.InTransaction([&]() -> absl::Status {
    // Serializes StartJob across connections, so two duplicate jobs cannot both pass the
    // check below; readers of `jobs` are not blocked.
    if (absl::Status status = session_.Exec("LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE");
        !status.ok()) {
      return status;
    }
    absl::StatusOr<bool> exists = JobExists(id);
    if (!exists.ok()) return exists.status();
    if (!*exists) return internal::JobNotFound(id);
    absl::StatusOr<Result> conflict = session_.Run(
        "SELECT other.id FROM jobs AS me JOIN jobs AS other "
        "ON other.id <> me.id AND other.state = 'RUNNING' AND other.timeframe = me.timeframe "
        "AND other.start_ns < me.end_ns AND me.start_ns < other.end_ns "
        "WHERE me.id = $1 "
        "AND NOT EXISTS (SELECT symbol FROM job_symbols WHERE job_id = other.id "
        "EXCEPT SELECT symbol FROM job_symbols WHERE job_id = me.id) "
        "AND NOT EXISTS (SELECT symbol FROM job_symbols WHERE job_id = me.id "
        "EXCEPT SELECT symbol FROM job_symbols WHERE job_id = other.id) "
        "ORDER BY other.id LIMIT 1",
        {Text(id)});
    if (!conflict.ok()) return conflict.status();
    if (PQntuples(conflict->get()) > 0) {
      return internal::DuplicateRunningJob(id, ToText(conflict->get(), 0, 0));
    }
    absl::StatusOr<Result> updated =
        session_.Run("UPDATE jobs SET state = 'RUNNING', updated_unix_ns = $2 WHERE id = $1",
                     {Text(id), Int(NowUnixNs())});
    return updated.status();
  });
}

absl::Status PostgresStore::SetJobState(std::string_view id, JobState state,
                                        std::string_view message) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  absl::StatusOr<Result> updated =
      session_.Run("UPDATE jobs SET state = $2, message = $3, updated_unix_ns = $4 WHERE id = $1",
                   {Text(id), Text(JobStateName(state)), Text(message), Int(NowUnixNs())});
  if (!updated.ok()) return updated.status();
  if (std::string_view(PQcmdTuples(updated->get())) == "0") return internal::JobNotFound(id);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Checkpoint>> PostgresStore::GetCheckpoints(std::string_view job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status status = EnsureConnected(); !status.ok()) return status;
  absl::StatusOr<bool> exists = JobExists(job_id);
  if (!exists.ok()) return exists.status();
  if (!*exists) return internal::JobNotFound(job_id);
  absl::StatusOr<Result> result = session_.Run(
      "SELECT symbol, last_ts_ns, bars_stored, done, error FROM checkpoints "
      "WHERE job_id = $1 ORDER BY symbol",
      {Text(job_id)});
  if (!result.ok()) return result.status();
  const PGresult* rows = result->get();
  std::vector<Checkpoint> checkpoints;
  for (int i = 0; i < PQntuples(rows); ++i) {
    absl::StatusOr<Symbol> symbol = Symbol::Parse(ToText(rows, i, 0));
    if (!symbol.ok()) return CorruptRow("checkpoint symbol", symbol.status());
    Checkpoint& checkpoint = checkpoints.emplace_back();
    checkpoint.symbol = *std::move(symbol);
    if (!PQgetisnull(rows, i, 1)) checkpoint.last_ts_ns = ToInt(rows, i, 1);
    checkpoint.bars_stored = ToInt(rows, i, 2);
    checkpoint.done = ToText(rows, i, 3) == "t";
    checkpoint.error = ToText(rows, i, 4);
  }
  return checkpoints;
}

absl::Status Migrate(Session& session, const std::string& schema) {
  return session.InTransaction([&]() -> absl::Status {
    absl::StatusOr<Result> locked =
        session.Run("SELECT pg_advisory_xact_lock($1::integer, hashtext($2))",
                    {Int(kMigrationLockClass), Text(schema)});
    if (!locked.ok()) return locked.status();
    if (absl::Status status =
            session.Exec(Cat("CREATE SCHEMA IF NOT EXISTS \"", schema,
                             "\"; CREATE TABLE IF NOT EXISTS schema_version (version integer "
                             "NOT NULL)"));
        !status.ok()) {
      return status;
    }
    absl::StatusOr<Result> current =
        session.Run("SELECT coalesce(max(version), 0) FROM schema_version", {});
    if (!current.ok()) return current.status();
    const int64_t version = ToInt(current->get(), 0, 0);
    if (version > kPostgresSchemaVersion) {
      return absl::FailedPreconditionError(Cat("postgres schema '", schema, "' has schema version ",
                                               version, ", newer than the version ",
                                               kPostgresSchemaVersion,
                                               " this binary knows; use a newer marketpipe"));
    }
    for (int64_t v = version; v < kPostgresSchemaVersion; ++v) {
      if (absl::Status status = session.Exec(kMigrations[v]); !status.ok()) {
        return absl::Status(status.code(), Cat("migrating schema '", schema, "' to version ", v + 1,
                                               ": ", status.message()));
      }
    }
    if (version == kPostgresSchemaVersion) return absl::OkStatus();
    return session.Exec(Cat("DELETE FROM schema_version; INSERT INTO schema_version VALUES (",
                            kPostgresSchemaVersion, ")"));
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresSpec& spec,
                                                         PostgresOptions options) {
  Conn conn(PQconnectdb(spec.conninfo.c_str()));
  if (conn == nullptr) return absl::ResourceExhaustedError("postgres: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    // libpq's message names host and port but never the password.
    return absl::UnavailableError(
        Cat("postgres: cannot connect: ", TrimmedMessage(PQerrorMessage(conn.get()))));
  }
  Session session(std::move(conn));
  PQsetNoticeProcessor(
      session.conn(), [](void*, const char*) {}, nullptr);
  std::string schema = spec.schema;
  if (schema.empty()) {
    absl::StatusOr<Result> current = session.Run("SELECT current_schema()", {});
    if (!current.ok()) return current.status();
    if (PQgetisnull(current->get(), 0, 0)) {
      return absl::FailedPreconditionError(
          "postgres: the connection has no current schema; give one with ;schema=NAME");
    }
    schema = ToText(current->get(), 0, 0);
    if (!IsSchemaName(schema)) {
      return absl::FailedPreconditionError(
          Cat("postgres: current schema '", schema,
              "' is not a plain lowercase name; give one with ;schema=NAME"));
    }
  }
  if (absl::Status status = session.Exec(Cat("SET search_path TO \"", schema, "\""));
      !status.ok()) {
    return status;
  }
  if (absl::Status status = Migrate(session, schema); !status.ok()) return status;
  if (absl::Status status = SetUpSession(session, schema); !status.ok()) return status;
  return std::make_unique<PostgresStore>(spec, std::move(schema), std::move(session), options);
}

}  // namespace marketpipe::storage
