#ifndef MARKETPIPE_CLI_INPUTS_H_
#define MARKETPIPE_CLI_INPUTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/timeframe.h"

namespace marketpipe::cli {

// Exit codes of every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;        // the work ran and something failed
inline constexpr int kExitInputError = 2;     // bad flags or arguments; nothing was written
inline constexpr int kExitCancelled = 3;      // `jobs cancel` stopped it; the job is resumable
inline constexpr int kExitInterrupted = 130;  // SIGINT/SIGTERM; the job is resumable

// The store used when --store is not given (relative to the working directory).
inline constexpr std::string_view kDefaultStore = "sqlite:data/marketpipe.db";

// Everything here is pure: it checks text and reads (never writes) the files it is pointed at,
// so that input errors are found before the store is opened and nothing is created.
// Every error is INVALID_ARGUMENT with one line naming the flag, the bad value and what is
// allowed.

// The directory relative paths resolve against: $BUILD_WORKING_DIRECTORY under `bazel run`
// (Bazel runs the binary in its runfiles tree), else the current directory.
std::string WorkingDirectory();
// `path` made absolute against `base` (absolute paths are kept).
std::string ResolvePath(std::string_view path, std::string_view base);

// --symbols: "AAPL,MSFT" or "@FILE" (symbols separated by commas, spaces or newlines; `#` starts
// a comment). Each must be a valid symbol (^[A-Z][A-Z0-9.]{0,9}$) and appear once.
absl::StatusOr<std::vector<Symbol>> ParseSymbols(std::string_view text,
                                                 std::string_view working_directory);

// --start/--end: "YYYY-MM-DD" (midnight UTC) or an RFC 3339 instant.
absl::StatusOr<int64_t> ParseInstant(std::string_view flag, std::string_view text);

// --timeframe lists ("5m,15m,1h"): known names, no duplicates, in the order given.
absl::StatusOr<std::vector<Timeframe>> ParseTimeframes(std::string_view text);

// --store: "sqlite:PATH" (PATH resolved against `working_directory`) or
// "postgres:CONNINFO[;schema=NAME]". Returns the spec to open.
absl::StatusOr<std::string> ResolveStoreSpec(std::string_view text,
                                             std::string_view working_directory);
// The SQLite file of a resolved spec, if it is one.
std::optional<std::string> SqlitePath(std::string_view resolved_spec);

// An integer flag within [min, max].
absl::StatusOr<int64_t> ParseIntInRange(std::string_view flag, std::string_view text, int64_t min,
                                        int64_t max);

}  // namespace marketpipe::cli

#endif  // MARKETPIPE_CLI_INPUTS_H_
