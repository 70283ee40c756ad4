#ifndef MARKETPIPE_STORAGE_STORE_H_
#define MARKETPIPE_STORAGE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"

namespace marketpipe::storage {

// Where stored bars came from. Bars of one (symbol, timeframe) always share one provenance:
// writing bars of another feed or adjustment is FAILED_PRECONDITION, never a silent mix.
// Aggregated bars carry the provenance of the bars they were computed from.
struct Provenance {
  std::string provider;  // "alpaca", "fake"
  std::string feed;      // "iex", "sip", "fake"
  std::string adjustment = "raw";
  friend bool operator==(const Provenance&, const Provenance&) = default;
};

enum class JobState { kPending, kRunning, kCompleted, kCompletedWithErrors, kFailed, kCancelled };
// "PENDING", "RUNNING", "COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED".
std::string_view JobStateName(JobState state);
absl::StatusOr<JobState> ParseJobState(std::string_view name);

// An ingestion job as stored: symbols x range x timeframe from one provider.
struct JobRecord {
  std::string id;
  std::vector<Symbol> symbols;  // sorted, unique
  TimeRange range;
  Timeframe timeframe;
  Provenance provenance;
  JobState state = JobState::kPending;
  std::string message;  // why FAILED / CANCELLED, or the failed symbols' summary
  int64_t created_unix_ns = 0;
  int64_t updated_unix_ns = 0;
  friend bool operator==(const JobRecord&, const JobRecord&) = default;
};

// Per-(job, symbol) progress, written in the same transaction as that page's bars.
struct Checkpoint {
  Symbol symbol;
  // The last stored bar's ts_ns; nullopt before the first page. A resumed fetch of this
  // symbol starts at last_ts_ns + 1.
  std::optional<int64_t> last_ts_ns;
  int64_t bars_stored = 0;
  bool done = false;  // every bar of the symbol is stored
  std::string error;  // non-empty: the symbol failed (reason)
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// One transaction: upsert `bars` (all of `timeframe`) and, when `job_id` is set, record the
// checkpoints of that job. Either all of it is durable or none. A bar key repeated within one
// page keeps its last bar. Checkpoints of an unknown job are NOT_FOUND, of a symbol outside the
// job INVALID_ARGUMENT; bars of another provenance than their series' FAILED_PRECONDITION.
struct PageWrite {
  Timeframe timeframe;
  Provenance provenance;
  std::span<const Bar> bars;
  std::string job_id;  // empty: no checkpoint
  std::vector<Checkpoint> checkpoints;
};

// A read-only query's result. Columns keep their SQL type: integers, exact decimals (the
// prices of `bars`, as text such as "187.2350"), reals, text and NULL.
struct Decimal {
  std::string text;
  friend bool operator==(const Decimal&, const Decimal&) = default;
};
using SqlValue = std::variant<std::monostate, int64_t, double, std::string, Decimal>;
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<SqlValue>> rows;
  bool truncated = false;  // more rows than the limit
};

// The storage contract, implemented by SqliteStore (embedded, the default) and PostgresStore.
// Bars are keyed by (symbol, timeframe, ts_ns); upserts are idempotent. What SQL users see is
// the relation `bars` (symbol, timeframe, ts_ns, open, high, low, close, volume, trade_count,
// vwap) with prices as exact decimal numbers.
//
// Thread-safe; calls block (run them off the I/O thread when that matters).
class Store {
 public:
  virtual ~Store() = default;

  // "sqlite", "postgres".
  virtual std::string kind() const = 0;

  // Upserts bars and checkpoints in one transaction (see PageWrite).
  virtual absl::Status WritePage(const PageWrite& write) = 0;

  // Bars of `symbol` at `timeframe` with ts in `range`, sorted by time.
  virtual absl::StatusOr<std::vector<Bar>> ReadBars(const Symbol& symbol, Timeframe timeframe,
                                                    TimeRange range) = 0;
  // Number of bars at `timeframe` (of `symbol` when given) with ts in `range`.
  virtual absl::StatusOr<int64_t> CountBars(std::optional<Symbol> symbol, Timeframe timeframe,
                                            TimeRange range) = 0;
  // The provenance recorded for (symbol, timeframe), if any bar is stored.
  virtual absl::StatusOr<std::optional<Provenance>> GetProvenance(const Symbol& symbol,
                                                                  Timeframe timeframe) = 0;

  // Read-only SQL over `bars` (and the store's other relations): exactly one SELECT, WITH or
  // VALUES statement. Anything that writes or changes the connection (INSERT, UPDATE, DELETE,
  // DDL, ATTACH, PRAGMA, SET, several statements) is INVALID_ARGUMENT, as is a negative `limit`;
  // at most `limit` rows are returned. The price columns of `bars` come back as Decimal in both
  // stores; SQLite computes expressions over them (max(close), close * 2) in doubles, so those
  // are double there and Decimal (numeric) in PostgreSQL. A whole numeric that fits int64
  // (PostgreSQL's sum(volume)) is int64 in both.
  virtual absl::StatusOr<QueryResult> Query(std::string_view sql, int64_t limit) = 0;

  // Jobs. CreateJob is ALREADY_EXISTS when the id is taken, INVALID_ARGUMENT unless the record
  // has an id, a provider and feed, a non-empty range and sorted unique symbols; created and
  // updated times of 0 are set to now. StartJob moves a job to RUNNING (from any state: a RUNNING
  // job's own id resumes it after a crash) and is FAILED_PRECONDITION, naming the other job, when
  // another RUNNING job would duplicate its work: the same symbol set, the same timeframe and an
  // overlapping range. Jobs that merely share some symbols may run at once (upserts are
  // idempotent and provenance is checked, so they end with the exact union). StartJob and
  // SetJobState set updated_unix_ns to now; unknown ids are NOT_FOUND. GetCheckpoints returns the
  // checkpoints written so far, sorted by symbol.
  virtual absl::Status CreateJob(const JobRecord& job) = 0;
  virtual absl::StatusOr<std::optional<JobRecord>> GetJob(std::string_view id) = 0;
  virtual absl::StatusOr<std::vector<JobRecord>> ListJobs() = 0;
  virtual absl::Status StartJob(std::string_view id) = 0;
  virtual absl::Status SetJobState(std::string_view id, JobState state,
                                   std::string_view message) = 0;
  virtual absl::StatusOr<std::vector<Checkpoint>> GetCheckpoints(std::string_view job_id) = 0;
};

// "sqlite:PATH" or "postgres:DSN" (DSN as libpq takes it, optionally with a schema:
// "postgres:host=... dbname=...;schema=NAME"). INVALID_ARGUMENT naming the bad spec.
// PATH is used as given (the CLI resolves relative paths). NAME is [a-z_][a-z0-9_]{0,62}; the
// schema is created when missing, and without one the connection's current schema is used.
// The schema is migrated on open; a store written by a newer binary is FAILED_PRECONDITION.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(std::string_view spec);

}  // namespace marketpipe::storage

#endif  // MARKETPIPE_STORAGE_STORE_H_
