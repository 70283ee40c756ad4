// The subcommands that work on an existing store: query, jobs, validate, aggregate, metrics,
// and the store-less `providers`.
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "marketpipe/aggregation/recompute.h"
#include "marketpipe/cli/commands.h"
#include "marketpipe/cli/inputs.h"
#include "marketpipe/cli/query_output.h"
#include "marketpipe/cli/store_access.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/metrics/metrics_server.h"
#include "marketpipe/metrics/registry.h"
#include "marketpipe/providers/registry/provider_registry.h"
#include "marketpipe/storage/store.h"
#include "marketpipe/validation/report_csv.h"
#include "marketpipe/validation/validator.h"

namespace marketpipe::cli {
namespace {

// What validate and aggregate work on.
struct Selection {
  std::vector<Symbol> symbols;
  TimeRange range;
  std::optional<Timeframe> timeframe;  // the job's, when selected by job id
};

// Checks the selection flags that need no store; the job id is looked up later.
absl::Status CheckSelectionFlags(const SelectionFlags& f) {
  const bool by_range = !f.symbols.empty() || !f.start.empty() || !f.end.empty();
  if (!f.job_id.empty() && by_range) {
    return absl::InvalidArgumentError("give either --job-id or --symbols/--start/--end, not both");
  }
  if (f.job_id.empty() && (f.symbols.empty() || f.start.empty() || f.end.empty())) {
    return absl::InvalidArgumentError("give --job-id ID, or all of --symbols, --start and --end");
  }
  return absl::OkStatus();
}

absl::StatusOr<Selection> ParseRangeSelection(const SelectionFlags& f) {
  Selection s;
  absl::StatusOr<std::vector<Symbol>> symbols = ParseSymbols(f.symbols, WorkingDirectory());
  if (!symbols.ok()) return symbols.status();
  s.symbols = *std::move(symbols);
  absl::StatusOr<int64_t> start = ParseInstant("--start", f.start);
  if (!start.ok()) return start.status();
  absl::StatusOr<int64_t> end = ParseInstant("--end", f.end);
  if (!end.ok()) return end.status();
  absl::StatusOr<TimeRange> range = TimeRange::Create(*start, *end);
  if (!range.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--end ", f.end, " must be after --start ", f.start));
  }
  s.range = *range;
  return s;
}

absl::StatusOr<Selection> SelectFromJob(storage::Store& store, const std::string& id) {
  absl::StatusOr<std::optional<storage::JobRecord>> job = store.GetJob(id);
  if (!job.ok()) return job.status();
  if (!job->has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--job-id: no job \"", id, "\" in the store (see `marketpipe jobs list`)"));
  }
  return Selection{(*job)->symbols, (*job)->range, (*job)->timeframe};
}

std::string JobLine(const storage::JobRecord& job) {
  return absl::StrCat(job.id, "  ", std::string(storage::JobStateName(job.state)), "  ",
                      job.symbols.size(), " symbols  ", FormatRfc3339(job.range.start_ns()), " .. ",
                      FormatRfc3339(job.range.end_ns()), "  ", job.timeframe.ToString(), "  ",
                      job.provenance.provider);
}

}  // namespace

int ReportError(const std::string& message, int exit_code) {
  std::fprintf(stderr, "marketpipe: error: %s\n", message.c_str());
  return exit_code;
}

int ReportError(absl::string_view message, int exit_code) {
  return ReportError(std::string(message), exit_code);
}

int ReportError(const char* message, int exit_code) {
  return ReportError(std::string(message), exit_code);
}

int RunProviders() {
  for (const std::string& name : ProviderNames()) {
    if (name == "alpaca") {
      std::printf(
          "alpaca  Alpaca Markets v2 stock bars over HTTPS. Needs ALPACA_KEY and ALPACA_SECRET "
          "in the environment; --feed iex (free) or sip; ALPACA_BASE_URL overrides the API "
          "address.\n");
    } else if (name == "fake") {
      std::printf(
          "fake    Built-in deterministic bars for any valid symbol (US regular session, no "
          "holidays). Needs nothing; no network.\n");
    } else {
      std::printf("%s\n", name.c_str());
    }
  }
  return kExitOk;
}

int RunQuery(const QueryFlags& f) {
  absl::StatusOr<QueryFormat> format = ParseQueryFormat(f.format);
  if (!format.ok()) return ReportError(format.status().message(), kExitInputError);
  absl::StatusOr<int64_t> limit = ParseIntInRange("--limit", f.limit, 0, 1'000'000);
  if (!limit.ok()) return ReportError(limit.status().message(), kExitInputError);
  StoreOrExit store = OpenExistingStore(f.store);
  if (!store.store) return store.exit_code;
  absl::StatusOr<storage::QueryResult> result = store.store->Query(f.sql, *limit);
  if (!result.ok()) {
    const bool refused = absl::IsInvalidArgument(result.status());
    return ReportError(absl::StrCat("query refused: ", result.status().message()),
                       refused ? kExitInputError : kExitFailure);
  }
  const std::string text = RenderQueryResult(*result, *format);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (result->truncated) {
    std::fprintf(stderr, "marketpipe: note: output limited to %lld rows (--limit)\n",
                 static_cast<long long>(*limit));
  }
  return kExitOk;
}

int RunJobs(const JobsFlags& f) {
  if (f.action != "list" && f.action != "status" && f.action != "cancel") {
    return ReportError(absl::StrCat("jobs: unknown action \"", f.action,
                                    "\" (allowed: list, status ID, cancel ID)"),
                       kExitInputError);
  }
  if (f.action == "list" && !f.id.empty()) {
    return ReportError(absl::StrCat("jobs list takes no job id (got \"", f.id, "\")"),
                       kExitInputError);
  }
  if (f.action != "list" && f.id.empty()) {
    return ReportError(absl::StrCat("jobs ", f.action, " needs a job id"), kExitInputError);
  }
  StoreOrExit store = OpenExistingStore(f.store);
  if (!store.store) return store.exit_code;
  if (f.action == "list") {
    absl::StatusOr<std::vector<storage::JobRecord>> jobs = store.store->ListJobs();
    if (!jobs.ok()) return ReportError(jobs.status().ToString(), kExitFailure);
    for (const auto& job : *jobs) std::printf("%s\n", JobLine(job).c_str());
    if (jobs->empty()) std::printf("(no jobs)\n");
    return kExitOk;
  }
  absl::StatusOr<std::optional<storage::JobRecord>> job = store.store->GetJob(f.id);
  if (!job.ok()) return ReportError(job.status().ToString(), kExitFailure);
  if (!job->has_value()) {
    return ReportError(
        absl::StrCat("no job \"", f.id, "\" in the store (see `marketpipe jobs list`)"),
        kExitInputError);
  }
  const storage::JobRecord& record = **job;
  if (f.action == "cancel") {
    if (record.state != storage::JobState::kPending &&
        record.state != storage::JobState::kRunning) {
      return ReportError(
          absl::StrCat("job ", f.id, " is ", std::string(storage::JobStateName(record.state)),
                       ": only PENDING or RUNNING jobs can be cancelled"),
          kExitInputError);
    }
    if (absl::Status s = store.store->SetJobState(f.id, storage::JobState::kCancelled,
                                                  "cancelled by `marketpipe jobs cancel`");
        !s.ok()) {
      return ReportError(s.ToString(), kExitFailure);
    }
    std::printf("job %s: CANCELLED (resume it with ingest --job-id %s)\n", f.id.c_str(),
                f.id.c_str());
    return kExitOk;
  }
  absl::StatusOr<std::vector<storage::Checkpoint>> checkpoints = store.store->GetCheckpoints(f.id);
  if (!checkpoints.ok()) return ReportError(checkpoints.status().ToString(), kExitFailure);
  std::printf("job       %s\nstate     %s\n", record.id.c_str(),
              std::string(storage::JobStateName(record.state)).c_str());
  if (!record.message.empty()) std::printf("message   %s\n", record.message.c_str());
  std::printf("provider  %s (feed %s, %s)\nrange     %s .. %s\ntimeframe %s\n",
              record.provenance.provider.c_str(), record.provenance.feed.c_str(),
              record.provenance.adjustment.c_str(), FormatRfc3339(record.range.start_ns()).c_str(),
              FormatRfc3339(record.range.end_ns()).c_str(), record.timeframe.ToString().c_str());
  int done = 0;
  for (const auto& c : *checkpoints) done += c.done ? 1 : 0;
  std::printf("symbols   %d/%zu done\n", done, record.symbols.size());
  for (const auto& c : *checkpoints) {
    std::printf("  %-10s %8lld bars  %s%s\n", c.symbol.value().c_str(),
                static_cast<long long>(c.bars_stored), c.done ? "done" : "pending",
                c.error.empty() ? "" : absl::StrCat("  error: ", c.error).c_str());
  }
  return kExitOk;
}

// The store and the bars a read command (validate, aggregate) works on, or the exit code of
// the one-line error already printed. A --symbols/--start/--end selection is checked before the
// store is opened, so an input error creates nothing; a --job-id selection is read from it.
struct SelectionOrExit {
  StoreOrExit store;
  std::optional<Selection> selection;  // set when store.store is
  int exit_code = kExitOk;
};

SelectionOrExit OpenSelection(const SelectionFlags& flags) {
  SelectionOrExit out;
  if (flags.job_id.empty()) {
    absl::StatusOr<Selection> s = ParseRangeSelection(flags);
    if (!s.ok()) {
      out.exit_code = ReportError(s.status().message(), kExitInputError);
      return out;
    }
    out.selection = *std::move(s);
  }
  out.store = OpenExistingStore(flags.store);
  if (!out.store.store) {
    out.exit_code = out.store.exit_code;
    out.selection.reset();
    return out;
  }
  if (!out.selection) {
    absl::StatusOr<Selection> s = SelectFromJob(*out.store.store, flags.job_id);
    if (!s.ok()) {
      out.exit_code =
          ReportError(s.status().message(),
                      absl::IsInvalidArgument(s.status()) ? kExitInputError : kExitFailure);
      return out;
    }
    out.selection = *std::move(s);
  }
  return out;
}

int RunValidate(const ValidateFlags& f) {
  if (absl::Status s = CheckSelectionFlags(f.selection); !s.ok()) {
    return ReportError(s.message(), kExitInputError);
  }
  absl::StatusOr<std::vector<Timeframe>> tf = ParseTimeframes(f.timeframe);
  if (!tf.ok() || tf->size() != 1) {
    return ReportError(tf.ok() ? "--timeframe: give one timeframe" : tf.status().message(),
                       kExitInputError);
  }
  SelectionOrExit selected = OpenSelection(f.selection);
  if (!selected.selection) return selected.exit_code;
  StoreOrExit& store = selected.store;
  const Selection& selection = *selected.selection;
  const Timeframe timeframe = selection.timeframe.value_or(tf->front());

  std::ofstream report_file;
  std::unique_ptr<validation::ReportCsvWriter> report;
  if (!f.report.empty()) {
    const std::string path = ResolvePath(f.report, WorkingDirectory());
    report_file.open(path);
    if (!report_file) {
      return ReportError(absl::StrCat("--report: cannot write ", path), kExitFailure);
    }
    report = std::make_unique<validation::ReportCsvWriter>(report_file);
  }
  validation::Validator validator(timeframe);
  int64_t bars = 0;
  std::vector<std::string> bad_symbols;
  for (const Symbol& symbol : selection.symbols) {
    absl::StatusOr<std::vector<Bar>> stored =
        store.store->ReadBars(symbol, timeframe, selection.range);
    if (!stored.ok()) return ReportError(stored.status().ToString(), kExitFailure);
    bars += static_cast<int64_t>(stored->size());
    absl::StatusOr<validation::PageVerdict> verdict = validator.ValidatePage(*std::move(stored));
    if (!verdict.ok()) return ReportError(verdict.status().ToString(), kExitFailure);
    if (!verdict->issues.empty()) {
      bad_symbols.push_back(absl::StrCat(symbol.value(), " (", verdict->issues.size(), ")"));
      if (report) (void)report->Write(verdict->issues);
    }
  }
  std::printf("validated %lld bars of %zu symbols (%s, %s .. %s): %lld issues\n",
              static_cast<long long>(bars), selection.symbols.size(), timeframe.ToString().c_str(),
              FormatRfc3339(selection.range.start_ns()).c_str(),
              FormatRfc3339(selection.range.end_ns()).c_str(),
              static_cast<long long>(validator.counts().total()));
  for (const validation::Reason reason : validation::kAllReasons) {
    if (validator.counts()[reason] > 0) {
      std::printf("  %s: %lld\n", std::string(validation::ReasonName(reason)).c_str(),
                  static_cast<long long>(validator.counts()[reason]));
    }
  }
  if (!bad_symbols.empty()) {
    std::printf("symbols with issues: %s\n", absl::StrJoin(bad_symbols, ", ").c_str());
  }
  if (report) {
    if (absl::Status s = report->status(); !s.ok()) return ReportError(s.ToString(), kExitFailure);
  }
  return validator.counts().total() == 0 ? kExitOk : kExitFailure;
}

int RunAggregate(const AggregateFlags& f) {
  if (absl::Status s = CheckSelectionFlags(f.selection); !s.ok()) {
    return ReportError(s.message(), kExitInputError);
  }
  absl::StatusOr<std::vector<Timeframe>> targets = ParseTimeframes(f.timeframes);
  if (!targets.ok()) return ReportError(targets.status().message(), kExitInputError);
  for (const Timeframe tf : *targets) {
    if (tf == Timeframe::kOneMinute) {
      return ReportError("--timeframe: 1m is the source; aggregate to 5m 15m 30m 1h 4h 1d",
                         kExitInputError);
    }
  }
  SelectionOrExit selected = OpenSelection(f.selection);
  if (!selected.selection) return selected.exit_code;
  StoreOrExit& store = selected.store;
  const Selection& selection = *selected.selection;
  aggregation::RecomputeRequest request;
  request.symbols = selection.symbols;
  request.touched = selection.range;
  request.targets = *targets;
  absl::StatusOr<aggregation::RecomputeStats> stats =
      aggregation::RecomputeTouchedBuckets(*store.store, request);
  if (!stats.ok()) return ReportError(stats.status().ToString(), kExitFailure);
  std::vector<std::string> names;
  for (const Timeframe tf : *targets) names.push_back(tf.ToString());
  std::printf("aggregated %lld 1m bars of %zu symbols into %lld bars (%s)\n",
              static_cast<long long>(stats->source_bars_read), selection.symbols.size(),
              static_cast<long long>(stats->bars_written), absl::StrJoin(names, " ").c_str());
  return kExitOk;
}

int RunMetrics(const MetricsFlags& f) {
  absl::StatusOr<int64_t> port = ParseIntInRange("--port", f.port, 0, 65535);
  if (!port.ok()) return ReportError(port.status().message(), kExitInputError);
  StoreOrExit store = OpenExistingStore(f.store);
  if (!store.store) return store.exit_code;

  // Block the signals before any thread starts, then wait for one on this thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  metrics::Registry registry;
  storage::Store* db = store.store.get();
  registry.AddCollector([db](metrics::Registry& r) { CollectStoreMetrics(*db, r); });
  net::HttpServer::Options options;
  options.host = f.host;
  options.port = static_cast<uint16_t>(*port);
  metrics::MetricsServer server(registry, options);
  if (absl::Status s = server.Start(); !s.ok()) {
    return ReportError(s.message(), absl::IsInvalidArgument(s) ? kExitInputError : kExitFailure);
  }
  std::fprintf(stderr, "marketpipe: serving %s (Ctrl-C stops)\n", server.url().c_str());
  int signal = 0;
  sigwait(&signals, &signal);
  server.Stop();
  return kExitOk;
}

}  // namespace marketpipe::cli
