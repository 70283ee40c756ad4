#ifndef MARKETPIPE_INGESTION_INGEST_H_
#define MARKETPIPE_INGESTION_INGEST_H_

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"
#include "marketpipe/ingestion/job.h"
#include "marketpipe/providers/provider.h"
#include "marketpipe/storage/store.h"
#include "marketpipe/time/time_source.h"
#include "marketpipe/validation/validator.h"

namespace marketpipe::ingestion {

// Counters of one run, as the progress callback and the result see them. Counts are of this
// run (a resumed job starts at the symbols and bars its earlier runs stored).
struct Progress {
  int symbols_total = 0;      // symbols of the job (of its shard)
  int symbols_done = 0;       // finished: stored completely, rejected or failed
  int symbols_failed = 0;     // failed or rejected (a subset of done)
  int64_t bars_fetched = 0;   // bars received from the provider
  int64_t bars_stored = 0;    // bars written (upserted) to the store
  int64_t bars_rejected = 0;  // bars validation refused (dropped, or of rejected symbols)
  // Validation issues by reason name ("non_monotonic_timestamp", ...); a bar can have several.
  std::map<std::string, int64_t> rejected_by_reason;
  // Time since the run started (TimeSource) and bars_stored per second of it.
  int64_t elapsed_ns = 0;
  double bars_per_second = 0;
};

// One symbol that did not make it, with why (the provider's or the store's error, or the
// validation reason that rejected it).
struct SymbolFailure {
  Symbol symbol;
  absl::Status error;
  bool rejected = false;  // by validation (reject-symbol), rather than a fetch/store failure
};

struct IngestOptions {
  // The job: symbols x range x timeframe (checked against the rules in job.h).
  std::vector<Symbol> symbols;
  TimeRange range;
  Timeframe timeframe = Timeframe::kOneMinute;
  // Empty: derived from the job (DeriveJobId), so rerunning the same command resumes it.
  std::string job_id;
  // This process's part of the symbols (ParseShard("i/n")).
  Shard shard;
  // Fetches in flight at once (batches of up to provider.max_symbols_per_request() symbols).
  int workers = 4;
  // Page transactions run on one dedicated thread, so fetching and validating the next pages
  // overlaps them (the Store is thread-safe); false: on the io_context's thread.
  bool write_thread = true;
  // Requested of the provider and recorded with the bars. Empty feed: the provider's default.
  std::string feed;
  std::string adjustment = "raw";
  // drop-bad: store the good bars of every page, report the bad ones. reject-symbol: store
  // nothing of a symbol with any bad bar. Pages stream, so the coordinator holds each symbol's
  // bars until the provider completes it (at most one symbol per worker at a time, since pages
  // come sorted by symbol; at most 30 days of it) and writes them at once: a crash re-fetches
  // the symbols being held from their start, and the rejected symbol is reported as failed.
  validation::Policy policy = validation::Policy::kDropBad;
  // Coarser timeframes to recompute after the ingest (aggregation::RecomputeTouchedBuckets over
  // the job's symbols and range), e.g. {5m, 1h, 1d} for 1m bars.
  std::vector<Timeframe> aggregate_to;
  // Called once, on the io_context's thread, as soon as the job is RUNNING in the store (this
  // run's StartJob succeeded) and before anything is fetched; not called when Run refuses the
  // job. From then on a CANCELLED state in the store was set by someone else during this run
  // (`marketpipe jobs cancel`), not left over from an earlier run.
  std::function<void(const std::string& job_id)> on_started;
  // Called after every page's transaction and once at the end, on the io_context's thread.
  std::function<void(const Progress&)> on_progress;
  // Called with every page's validation issues (e.g. validation::ReportCsvWriter::Write).
  std::function<void(std::span<const validation::Issue>)> on_issues;
};

struct IngestResult {
  std::string job_id;
  // COMPLETED, COMPLETED_WITH_ERRORS (some symbols failed or were rejected), FAILED (all did),
  // or CANCELLED (resumable with the same job id).
  storage::JobState state = storage::JobState::kPending;
  // Symbols finished by earlier runs of this job id (0 on a fresh job).
  int symbols_already_done = 0;
  Progress totals;
  std::vector<SymbolFailure> failures;  // sorted by symbol
  // aggregate_to: aggregated bars written, or why aggregating failed (the job then ends
  // COMPLETED_WITH_ERRORS at best).
  int64_t aggregated_bars = 0;
  absl::Status aggregation_error;
};

// Runs ingestion jobs: plans batches of symbols, fetches them `workers` at a time on the
// caller's io_context (sharing the provider and its rate limiter), validates each page, and
// writes each page's bars with the job's per-symbol checkpoints in one Store::WritePage
// transaction. A rerun with the same job id continues every symbol after its last stored bar.
// A multi-symbol fetch that fails for what may be one symbol's fault (a request refused as
// invalid, a malformed page, a page the store refuses) is retried symbol by symbol from each
// unfinished symbol's checkpoint, so one bad symbol fails alone with its own error; failures
// that are the service's or the account's (auth, throttling, retries exhausted) are not.
//
//   Coordinator coordinator(provider, store, time, options);
//   absl::StatusOr<IngestResult> result = co_await coordinator.Run();
//   // elsewhere on the same io_context, e.g. from a signal_set handler:
//   coordinator.Cancel("SIGINT");
//
// Run's errors (the job was not run): INVALID_ARGUMENT for broken rules or options;
// FAILED_PRECONDITION when another RUNNING job shares a symbol, or when the job id exists
// with other parameters; a store error when the job cannot be created or started. Anything
// that goes wrong while the job runs is in the IngestResult (state, failures) instead. A job
// this run created or started is never left PENDING or RUNNING by an error (nor by an exception,
// which then propagates): it ends FAILED with the reason. Only a killed process leaves it
// RUNNING, for a rerun to resume.
class Coordinator {
 public:
  // Everything must outlive the coordinator. The store's calls block the io_context's thread
  // for the length of one transaction.
  Coordinator(Provider& provider, storage::Store& store, TimeSource& time, IngestOptions options);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Runs the job once. Call it at most once per Coordinator.
  boost::asio::awaitable<absl::StatusOr<IngestResult>> Run();

  // Stops the run: no new batch starts, fetches in flight are cancelled, page transactions
  // already begun complete; the job ends CANCELLED and resumable. `why` (e.g. "SIGINT", "jobs
  // cancel") goes into the job's message: "cancelled (why) with 3 of 10 symbols done; ...".
  // Call on the io_context's thread; a no-op before Run, after it ends, or once it took.
  void Cancel(std::string_view why = {});

  // The job id Run uses (given or derived); empty until Run has checked the options.
  const std::string& job_id() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// A Coordinator run to completion.
boost::asio::awaitable<absl::StatusOr<IngestResult>> RunIngest(Provider& provider,
                                                               storage::Store& store,
                                                               TimeSource& time,
                                                               IngestOptions options);

}  // namespace marketpipe::ingestion

#endif  // MARKETPIPE_INGESTION_INGEST_H_
