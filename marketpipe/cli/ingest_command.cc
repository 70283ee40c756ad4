// `marketpipe ingest`: checks every flag, then runs an ingestion::Coordinator on one io_context
// with a progress display, an optional live metrics server and SIGINT/SIGTERM handling.
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "marketpipe/cli/commands.h"
#include "marketpipe/cli/inputs.h"
#include "marketpipe/cli/progress.h"
#include "marketpipe/cli/store_access.h"
#include "marketpipe/ingestion/ingest.h"
#include "marketpipe/ingestion/job.h"
#include "marketpipe/metrics/metrics_server.h"
#include "marketpipe/metrics/registry.h"
#include "marketpipe/providers/rate_limit/rate_limiter.h"
#include "marketpipe/providers/registry/provider_registry.h"
#include "marketpipe/time/time_source.h"
#include "marketpipe/validation/validator.h"

namespace marketpipe::cli {
namespace {

// Everything an ingest needs, checked; produced before anything is opened or created.
struct IngestPlan {
  ingestion::IngestOptions options;
  ProviderConfig provider;
  std::string store_spec;
  std::optional<uint16_t> metrics_port;
};

absl::StatusOr<IngestPlan> PlanIngest(const IngestFlags& f, int64_t now_unix_ns) {
  IngestPlan plan;
  const std::vector<std::string> providers = ProviderNames();
  if (std::find(providers.begin(), providers.end(), f.provider) == providers.end()) {
    return absl::InvalidArgumentError(absl::StrCat("--provider: unknown provider \"", f.provider,
                                                   "\" (allowed: ", absl::StrJoin(providers, ", "),
                                                   ")"));
  }
  plan.provider.name = f.provider;
  absl::StatusOr<std::vector<Symbol>> symbols = ParseSymbols(f.symbols, WorkingDirectory());
  if (!symbols.ok()) return symbols.status();
  absl::StatusOr<int64_t> start = ParseInstant("--start", f.start);
  if (!start.ok()) return start.status();
  absl::StatusOr<int64_t> end = ParseInstant("--end", f.end);
  if (!end.ok()) return end.status();
  if (*end <= *start) {
    return absl::InvalidArgumentError(absl::StrCat("--end ", f.end, " must be after --start ",
                                                   f.start, " (the end is excluded)"));
  }
  absl::StatusOr<std::vector<Timeframe>> timeframe = ParseTimeframes(f.timeframe);
  if (!timeframe.ok()) return timeframe.status();
  if (timeframe->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeframe \"", f.timeframe, "\": give one timeframe"));
  }
  if (f.feed != "iex" && f.feed != "sip") {
    return absl::InvalidArgumentError(
        absl::StrCat("--feed: unknown feed \"", f.feed, "\" (allowed: iex, sip)"));
  }
  absl::StatusOr<int64_t> workers = ParseIntInRange("--workers", f.workers, 1, 64);
  if (!workers.ok()) return workers.status();
  absl::StatusOr<std::string> store = ResolveStoreSpec(f.store, WorkingDirectory());
  if (!store.ok()) return store.status();
  plan.store_spec = *store;
  if (!f.job_id.empty()) {
    if (absl::Status s = ingestion::CheckJobId(f.job_id); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--job-id: ", s.message()));
    }
  }
  absl::StatusOr<ingestion::Shard> shard = ingestion::ParseShard(f.shard);
  if (!shard.ok())
    return absl::InvalidArgumentError(absl::StrCat("--shard: ", shard.status().message()));
  absl::StatusOr<validation::Policy> policy = validation::ParsePolicy(f.on_invalid);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--on-invalid: ", policy.status().message()));
  }
  if (!f.metrics_port.empty()) {
    absl::StatusOr<int64_t> port = ParseIntInRange("--metrics-port", f.metrics_port, 0, 65535);
    if (!port.ok()) return port.status();
    plan.metrics_port = static_cast<uint16_t>(*port);
  }

  absl::StatusOr<TimeRange> range = TimeRange::Create(*start, *end);
  if (!range.ok()) return range.status();
  ingestion::JobSpec spec{*symbols, *range, timeframe->front(), *shard};
  if (absl::Status s = ingestion::CheckJobRules(spec, now_unix_ns); !s.ok()) return s;

  ingestion::IngestOptions& o = plan.options;
  o.symbols = *std::move(symbols);
  o.range = *range;
  o.timeframe = timeframe->front();
  o.job_id = f.job_id;
  o.shard = *shard;
  o.workers = static_cast<int>(*workers);
  // The fake provider's bars are recorded under the feed "fake"; Alpaca's is the flag.
  o.feed = f.provider == "alpaca" ? f.feed : f.provider;
  plan.provider.feed = f.feed;
  o.policy = *policy;
  return plan;
}

// Live figures for --metrics-port, fed from progress callbacks (deltas into counters).
class LiveMetrics {
 public:
  explicit LiveMetrics(metrics::Registry& registry) : registry_(registry) {
    // Present from the start (at 0), so a scrape before the first wait still shows them.
    for (const char* cause : {"refill", "retry_after"}) {
      WaitCount(cause);
      WaitSeconds(cause);
    }
  }

  // What the provider reports: its rate limiter's waits and its HTTP requests.
  ProviderObservers Observers() {
    ProviderObservers o;
    o.rate_limiter_wait = [this](const RateLimiterWait& w) {
      const char* cause = w.retry_after ? "retry_after" : "refill";
      WaitCount(cause).Increment();
      WaitSeconds(cause).Increment(std::chrono::duration<double>(w.waited).count());
    };
    o.request = [this](int status, std::chrono::nanoseconds latency) {
      const metrics::Labels code = {
          {"code", status == 0 ? std::string("transport_error") : std::to_string(status)}};
      registry_
          .GetCounter("marketpipe_provider_requests_total",
                      "HTTP requests to the provider's API, by status (transport_error: no "
                      "response), retries included.",
                      code)
          .Increment();
      registry_
          .GetHistogram("marketpipe_provider_request_duration_seconds",
                        "Time from sending a request to the provider to its whole response.", code)
          .Observe(std::chrono::duration<double>(latency).count());
    };
    return o;
  }

  void Update(const ingestion::Progress& p) {
    registry_.GetCounter("marketpipe_bars_fetched_total", "Bars received from the provider.")
        .Increment(static_cast<double>(p.bars_fetched - last_.bars_fetched));
    registry_.GetCounter("marketpipe_bars_stored_total", "Bars written to the store.")
        .Increment(static_cast<double>(p.bars_stored - last_.bars_stored));
    for (const auto& [reason, count] : p.rejected_by_reason) {
      const auto it = last_.rejected_by_reason.find(reason);
      const int64_t before = it == last_.rejected_by_reason.end() ? 0 : it->second;
      registry_
          .GetCounter("marketpipe_bars_rejected_total", "Validation issues, by reason.",
                      {{"reason", reason}})
          .Increment(static_cast<double>(count - before));
    }
    registry_.GetGauge("marketpipe_symbols_done", "Symbols finished in this run.")
        .Set(p.symbols_done);
    registry_.GetGauge("marketpipe_symbols_total", "Symbols of this run.").Set(p.symbols_total);
    last_ = p;
  }

  void SetState(const std::string& job_id, storage::JobState state) {
    for (const storage::JobState s : {storage::JobState::kRunning, storage::JobState::kCompleted,
                                      storage::JobState::kCompletedWithErrors,
                                      storage::JobState::kFailed, storage::JobState::kCancelled}) {
      registry_
          .GetGauge("marketpipe_job_state", "1 for the job's current state, 0 for the others.",
                    {{"job", job_id}, {"state", std::string(storage::JobStateName(s))}})
          .Set(s == state ? 1 : 0);
    }
  }

 private:
  metrics::Counter& WaitCount(const char* cause) {
    return registry_.GetCounter(
        "marketpipe_rate_limiter_waits_total",
        "Provider requests that waited for the rate limiter, by cause (refill: the token bucket "
        "was empty or others queued first; retry_after: the server's Retry-After).",
        {{"cause", cause}});
  }
  metrics::Counter& WaitSeconds(const char* cause) {
    return registry_.GetCounter("marketpipe_rate_limiter_wait_seconds_total",
                                "Time provider requests spent waiting for the rate limiter.",
                                {{"cause", cause}});
  }

  metrics::Registry& registry_;
  ingestion::Progress last_;
};

RunSummary Summarize(const ingestion::IngestResult& r) {
  RunSummary s;
  s.job_id = r.job_id;
  s.state = std::string(storage::JobStateName(r.state));
  s.symbols_total = r.totals.symbols_total;
  s.symbols_done = r.totals.symbols_done;
  s.symbols_already_done = r.symbols_already_done;
  s.bars_fetched = r.totals.bars_fetched;
  s.bars_stored = r.totals.bars_stored;
  s.bars_rejected = r.totals.bars_rejected;
  s.rejected_by_reason = r.totals.rejected_by_reason;
  for (const auto& failure : r.failures) {
    s.failures.emplace_back(failure.symbol.value(), std::string(failure.error.message()));
  }
  s.elapsed_ns = r.totals.elapsed_ns;
  s.bars_per_second = r.totals.bars_per_second;
  return s;
}

ProgressSnapshot Snapshot(const ingestion::Progress& p) {
  return ProgressSnapshot{.symbols_done = p.symbols_done,
                          .symbols_total = p.symbols_total,
                          .bars_stored = p.bars_stored,
                          .bars_per_second = p.bars_per_second,
                          .elapsed_ns = p.elapsed_ns};
}

bool StderrIsTerminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) == 1 && !(term != nullptr && std::string_view(term) == "dumb");
}

}  // namespace

int RunIngest(const IngestFlags& flags) {
  TimeSource& time = SystemTimeSource();
  absl::StatusOr<IngestPlan> plan = PlanIngest(flags, time.UnixNanos());
  if (!plan.ok()) return ReportError(plan.status().message(), kExitInputError);

  ProgressReporter reporter(stderr, StderrIsTerminal() ? ProgressReporter::Mode::kTerminal
                                                       : ProgressReporter::Mode::kPlain);
  metrics::Registry registry;
  LiveMetrics live(registry);
  boost::asio::io_context io;
  ProviderContext context;
  context.executor = io.get_executor();
  context.time = &time;
  context.log = [&reporter](std::string_view line) { reporter.Log(line); };
  context.observers = live.Observers();
  absl::StatusOr<std::unique_ptr<Provider>> provider = MakeProvider(plan->provider, context);
  if (!provider.ok()) {
    return ReportError(provider.status().message(),
                       absl::IsInvalidArgument(provider.status()) ? kExitInputError : kExitFailure);
  }

  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (plan->metrics_port) {
    net::HttpServer::Options options;
    options.port = *plan->metrics_port;
    metrics_server = std::make_unique<metrics::MetricsServer>(registry, options);
    if (absl::Status s = metrics_server->Start(); !s.ok()) {
      return ReportError(absl::StrCat("--metrics-port: ", s.message()), kExitFailure);
    }
    reporter.Log(absl::StrCat("metrics: ", metrics_server->url()));
  }

  StoreOrExit store = OpenOrCreateStore(plan->store_spec);
  if (!store.store) return store.exit_code;

  std::unique_ptr<ingestion::Coordinator> coordinator_ptr;
  auto coordinator_job_id = [&]() -> std::string {
    return coordinator_ptr ? coordinator_ptr->job_id() : std::string();
  };
  bool state_shown = false;
  // Set once this run has the job RUNNING in the store: from then on a CANCELLED state there is
  // a `marketpipe jobs cancel` of this run, not an earlier run's (a resumed job starts out
  // CANCELLED). No clocks are compared: another host's may be off.
  bool job_started = false;
  plan->options.on_started = [&](const std::string&) { job_started = true; };
  plan->options.on_progress = [&](const ingestion::Progress& p) {
    // Metrics first: once the terminal shows a figure, a scrape shows it too.
    live.Update(p);
    if (!state_shown && !coordinator_job_id().empty()) {
      live.SetState(coordinator_job_id(), storage::JobState::kRunning);
      state_shown = true;
    }
    reporter.Update(Snapshot(p));
  };
  coordinator_ptr =
      std::make_unique<ingestion::Coordinator>(**provider, *store.store, time, plan->options);
  ingestion::Coordinator& coordinator = *coordinator_ptr;

  // Set when Run completes. The handlers below check it before re-arming: cancel() cannot recall
  // a wait that already completed and sits queued, and a re-armed wait would keep io.run()
  // going forever.
  std::optional<absl::StatusOr<ingestion::IngestResult>> outcome;

  // Ctrl-C / SIGTERM: stop after the page transactions in flight; a second one ends at once.
  bool interrupted = false;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal) {
        if (ec || outcome) return;
        if (interrupted) std::_Exit(kExitInterrupted);
        interrupted = true;
        reporter.Log(absl::StrCat("marketpipe: ", signal == SIGINT ? "SIGINT" : "SIGTERM",
                                  ": stopping after the pages in flight (again to quit now)"));
        coordinator.Cancel(signal == SIGINT ? "SIGINT" : "SIGTERM");
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  // `marketpipe jobs cancel ID` (another process) marks the job CANCELLED in the store; once
  // the job started, the run re-reads its state every kCancelPollTicks ticks and then stops like
  // on Ctrl-C.
  bool cancel_requested = false;
  auto check_cancel_request = [&] {
    if (interrupted || !job_started) return;
    absl::StatusOr<std::optional<storage::JobRecord>> job =
        store.store->GetJob(coordinator.job_id());
    if (!job.ok() || !job->has_value()) return;
    if ((**job).state != storage::JobState::kCancelled) return;
    if (!cancel_requested) {
      reporter.Log(
          absl::StrCat("marketpipe: job ", coordinator.job_id(),
                       " was cancelled (jobs cancel): stopping after the pages in flight"));
    }
    cancel_requested = true;
    coordinator.Cancel("jobs cancel");  // again on later ticks: a no-op once it took
  };
  // The ticker also shows progress that throttling held back while the run stalls.
  constexpr auto kTick = std::chrono::milliseconds(100);
  constexpr int kCancelPollTicks = 2;
  const TimeSource::TimePoint run_start = time.Now();
  boost::asio::steady_timer ticker(io);
  int ticks = 0;
  std::function<void(const boost::system::error_code&)> on_tick =
      [&](const boost::system::error_code& ec) {
        if (ec || outcome) return;
        reporter.Tick((time.Now() - run_start).count());
        if (++ticks % kCancelPollTicks == 0) check_cancel_request();
        ticker.expires_after(kTick);
        ticker.async_wait(on_tick);
      };
  ticker.expires_after(kTick);
  ticker.async_wait(on_tick);

  boost::asio::co_spawn(io, coordinator.Run(),
                        [&](std::exception_ptr e, absl::StatusOr<ingestion::IngestResult> r) {
                          if (e) {
                            try {
                              std::rethrow_exception(e);
                            } catch (const std::exception& ex) {
                              r = absl::InternalError(ex.what());
                            }
                          }
                          outcome = std::move(r);
                          boost::system::error_code ignored;
                          signals.cancel(ignored);
                          ticker.cancel();
                        });
  io.run();
  reporter.Finish();

  if (!outcome || !outcome->ok()) {
    // Every input was checked before the store was opened: what Run refuses now (a job id
    // reused with other parameters, a conflicting running job, a store error) is a failure.
    const absl::Status status = outcome ? outcome->status() : absl::InternalError("no result");
    return ReportError(status.message(), kExitFailure);
  }
  const ingestion::IngestResult& result = **outcome;
  live.SetState(result.job_id, result.state);
  const std::string summary = FormatSummary(Summarize(result));
  std::fwrite(summary.data(), 1, summary.size(), stdout);
  std::fflush(stdout);
  switch (result.state) {
    case storage::JobState::kCompleted:
      return kExitOk;
    case storage::JobState::kCancelled:
      if (interrupted) {
        std::fprintf(stderr, "marketpipe: interrupted; resume with --job-id %s\n",
                     result.job_id.c_str());
        return kExitInterrupted;
      }
      if (cancel_requested) {
        std::fprintf(stderr, "marketpipe: cancelled by jobs cancel; resume with --job-id %s\n",
                     result.job_id.c_str());
        return kExitCancelled;
      }
      return kExitFailure;
    default:
      return kExitFailure;
  }
}

}  // namespace marketpipe::cli
