#include "marketpipe/cli/app.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "marketpipe/cli/commands.h"
#include "marketpipe/cli/inputs.h"

namespace marketpipe::cli {
namespace {

// An option whose default --help shows.
CLI::Option* Flag(CLI::App* app, const std::string& name, std::string& value,
                  const std::string& help) {
  return app->add_option(name, value, help)->capture_default_str();
}

void AddStoreFlag(CLI::App* app, std::string& store) {
  Flag(app, "--store", store,
       "Where bars live: sqlite:PATH (relative to the working directory) "
       "or postgres:CONNINFO[;schema=NAME]");
}

void AddSelectionFlags(CLI::App* app, SelectionFlags& f) {
  Flag(app, "--job-id", f.job_id,
       "The bars of this ingest job (instead of --symbols/--start/--end)");
  Flag(app, "--symbols", f.symbols, "Symbols: AAPL,MSFT or @FILE (one job's worth)");
  Flag(app, "--start", f.start, "First day (YYYY-MM-DD, UTC) or RFC 3339 instant, included");
  Flag(app, "--end", f.end, "End day or instant, excluded");
  AddStoreFlag(app, f.store);
}

}  // namespace

int RunApp(int argc, char** argv) {
  CLI::App app{"MarketPipe: fetch, validate, store, aggregate and query OHLCV market data.",
               "marketpipe"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  app.fallthrough(false);
  std::function<int()> run;

  IngestFlags ingest;
  CLI::App* ingest_cmd = app.add_subcommand(
      "ingest", "Fetch bars from a provider, validate them and store them as a resumable job");
  Flag(ingest_cmd, "--provider", ingest.provider, "alpaca | fake (see `marketpipe providers`)")
      ->required();
  Flag(ingest_cmd, "--symbols", ingest.symbols, "AAPL,MSFT,... or @FILE (1..1000, unique)")
      ->required();
  Flag(ingest_cmd, "--start", ingest.start,
       "First day (YYYY-MM-DD, UTC) or RFC 3339 instant, "
       "included; not in the future")
      ->required();
  Flag(ingest_cmd, "--end", ingest.end, "End day or instant, excluded; at most 30 days after start")
      ->required();
  Flag(ingest_cmd, "--timeframe", ingest.timeframe, "Bar width: 1m 5m 15m 30m 1h 4h 1d");
  Flag(ingest_cmd, "--feed", ingest.feed, "Alpaca feed: iex | sip");
  Flag(ingest_cmd, "--workers", ingest.workers, "Fetches in flight at once (1..64)");
  AddStoreFlag(ingest_cmd, ingest.store);
  Flag(ingest_cmd, "--job-id", ingest.job_id,
       "Job id (default: derived from the job); the same id resumes an interrupted job");
  Flag(ingest_cmd, "--shard", ingest.shard, "This process's share of the symbols: i/n, 0-based");
  Flag(ingest_cmd, "--on-invalid", ingest.on_invalid,
       "drop-bad (store the good bars) | reject-symbol (store nothing of a bad symbol)");
  Flag(ingest_cmd, "--metrics-port", ingest.metrics_port,
       "Serve live Prometheus metrics on 127.0.0.1:PORT while ingesting (0: any free port; "
       "the URL is printed on stderr as \"metrics: http://...\")");
  ingest_cmd->footer(
      "Exit codes: 0 done; 1 some symbols failed; 2 bad input; 3 cancelled by `marketpipe jobs "
      "cancel`; 130 Ctrl-C or SIGTERM. A cancelled or interrupted job resumes when run again "
      "with the same --job-id.");
  ingest_cmd->callback([&] { run = [&] { return RunIngest(ingest); }; });

  ValidateFlags validate;
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "Check stored bars and report the bad ones");
  AddSelectionFlags(validate_cmd, validate.selection);
  Flag(validate_cmd, "--timeframe", validate.timeframe, "Bar width to check");
  Flag(validate_cmd, "--report", validate.report, "Write the issues as CSV (symbol,ts_ns,reason)");
  validate_cmd->callback([&] { run = [&] { return RunValidate(validate); }; });

  AggregateFlags aggregate;
  CLI::App* aggregate_cmd = app.add_subcommand(
      "aggregate", "Compute coarser bars from stored 1m bars (into the same `bars` relation)");
  Flag(aggregate_cmd, "--timeframe", aggregate.timeframes, "Target timeframes, comma-separated");
  AddSelectionFlags(aggregate_cmd, aggregate.selection);
  aggregate_cmd->callback([&] { run = [&] { return RunAggregate(aggregate); }; });

  QueryFlags query;
  CLI::App* query_cmd = app.add_subcommand(
      "query",
      "Run read-only SQL over the relation `bars` (symbol, timeframe, ts_ns, open, "
      "high, low, close, volume, trade_count, vwap)");
  query_cmd->add_option("sql", query.sql, "One SELECT, WITH or VALUES statement")->required();
  query_cmd->footer(
      "Stored prices print as exact decimals with 4 places. What SQL computes from them "
      "(max(high), avg(close), close * 2) is a floating-point value in SQLite (a numeric in "
      "PostgreSQL) and prints as the shortest decimal that reads back to it: max(low) may show "
      "47.391, 0.1 + 0.2 shows 0.30000000000000004.");
  Flag(query_cmd, "--format", query.format, "table | csv | json");
  Flag(query_cmd, "--limit", query.limit, "At most this many rows (0..1000000)");
  AddStoreFlag(query_cmd, query.store);
  query_cmd->callback([&] { run = [&] { return RunQuery(query); }; });

  JobsFlags jobs;
  CLI::App* jobs_cmd = app.add_subcommand("jobs", "List ingest jobs, show one, or cancel one");
  jobs_cmd
      ->add_option("action", jobs.action,
                   "list | status ID | cancel ID (a running ingest of the job stops after "
                   "its pages in flight)")
      ->required();
  jobs_cmd->add_option("id", jobs.id, "Job id (status, cancel)");
  AddStoreFlag(jobs_cmd, jobs.store);
  jobs_cmd->callback([&] { run = [&] { return RunJobs(jobs); }; });

  MetricsFlags metrics;
  CLI::App* metrics_cmd = app.add_subcommand(
      "metrics", "Serve the store's figures as Prometheus metrics on GET /metrics until Ctrl-C");
  Flag(metrics_cmd, "--port", metrics.port, "TCP port (0: any free port)");
  Flag(metrics_cmd, "--host", metrics.host, "Address to listen on");
  AddStoreFlag(metrics_cmd, metrics.store);
  metrics_cmd->callback([&] { run = [&] { return RunMetrics(metrics); }; });

  CLI::App* providers_cmd =
      app.add_subcommand("providers", "List the providers and what each needs");
  providers_cmd->callback([&] { run = [] { return RunProviders(); }; });

  // CLI11 would only say "A subcommand is required"; name the word it did not know.
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    return ReportError(std::string("unknown subcommand \"") + argv[1] +
                           "\" (allowed: " + absl::StrJoin(names, ", ") + ")",
                       kExitInputError);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return ReportError(std::string(e.what()) + " (see marketpipe --help)", kExitInputError);
  }
  return run ? run() : kExitInputError;
}

}  // namespace marketpipe::cli
