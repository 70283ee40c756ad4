#ifndef MARKETPIPE_CLI_APP_H_
#define MARKETPIPE_CLI_APP_H_

namespace marketpipe::cli {

// "marketpipe 0.1.0"
inline constexpr const char* kVersion = "marketpipe 0.1.0";

// Parses the command line (CLI11) and runs the subcommand; returns the exit code. --help and
// --version print to stdout and return 0; a command line CLI11 refuses (unknown flag, missing
// value) is one line on stderr and 2.
int RunApp(int argc, char** argv);

}  // namespace marketpipe::cli

#endif  // MARKETPIPE_CLI_APP_H_
