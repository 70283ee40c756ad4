#ifndef MARKETPIPE_CLI_COMMANDS_H_
#define MARKETPIPE_CLI_COMMANDS_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "marketpipe/cli/inputs.h"

namespace marketpipe::cli {

// The flags of each subcommand as typed on the command line (text, checked by the command), and
// the command that runs them. Each returns the process exit code (inputs.h) and writes its
// output to stdout, its errors and progress to stderr. Input errors are found before the store
// is opened, so they create no file or directory.

struct IngestFlags {
  std::string provider;
  std::string symbols;
  std::string start;
  std::string end;
  std::string timeframe = "1m";
  std::string feed = "iex";
  std::string workers = "4";
  std::string store = std::string(kDefaultStore);
  std::string job_id;
  std::string shard = "0/1";
  std::string on_invalid = "drop-bad";
  std::string metrics_port;  // empty: no metrics server
};
int RunIngest(const IngestFlags& flags);

// The bars validate and aggregate work on: a job's, or symbols x [start, end).
struct SelectionFlags {
  std::string job_id;
  std::string symbols;
  std::string start;
  std::string end;
  std::string store = std::string(kDefaultStore);
};

struct ValidateFlags {
  SelectionFlags selection;
  std::string timeframe = "1m";
  std::string report;  // CSV path; empty: none
};
int RunValidate(const ValidateFlags& flags);

struct AggregateFlags {
  SelectionFlags selection;
  std::string timeframes = "5m,15m,30m,1h,4h,1d";
};
int RunAggregate(const AggregateFlags& flags);

struct QueryFlags {
  std::string sql;
  std::string format = "table";
  std::string limit = "1000";
  std::string store = std::string(kDefaultStore);
};
int RunQuery(const QueryFlags& flags);

struct JobsFlags {
  std::string action;  // list | status | cancel
  std::string id;
  std::string store = std::string(kDefaultStore);
};
int RunJobs(const JobsFlags& flags);

struct MetricsFlags {
  std::string port = "9464";
  std::string host = "127.0.0.1";
  std::string store = std::string(kDefaultStore);
};
int RunMetrics(const MetricsFlags& flags);

int RunProviders();

// Prints "marketpipe: error: <message>" on one line to stderr and returns `exit_code`.
// (Overloads because this Abseil's string_view is not std::string_view.)
int ReportError(const std::string& message, int exit_code);
int ReportError(absl::string_view message, int exit_code);
int ReportError(const char* message, int exit_code);

}  // namespace marketpipe::cli

#endif  // MARKETPIPE_CLI_COMMANDS_H_
