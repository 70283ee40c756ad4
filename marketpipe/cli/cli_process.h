#ifndef MARKETPIPE_CLI_CLI_PROCESS_H_
#define MARKETPIPE_CLI_CLI_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marketpipe::cli::clitest {

// Test support: runs the real `marketpipe` binary (a data dependency of the test) as a child
// process in a given directory, with pipes or a pseudo-terminal for its output.

// The binary's path in the test's runfiles.
std::string MarketpipeBinary();

struct Invocation {
  std::vector<std::string> args;  // without argv[0]
  std::string cwd;
  std::map<std::string, std::string> set_env;
  std::vector<std::string> unset_env = {"BUILD_WORKING_DIRECTORY", "ALPACA_KEY", "ALPACA_SECRET",
                                        "ALPACA_BASE_URL", "TERM"};
  // Run on a pseudo-terminal (forkpty): stdout and stderr both go to it, into `out`.
  bool pty = false;
};

struct Outcome {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// A started child. Reading happens in ReadUntil/Wait; the child blocks on a full pipe otherwise.
class Process {
 public:
  explicit Process(const Invocation& invocation);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Reads output until `pred(out, err)` holds or the child closes its output; true if it held.
  template <typename Pred>
  bool ReadUntil(Pred pred) {
    while (!pred(out_, err_)) {
      if (!ReadSome()) return pred(out_, err_);
    }
    return true;
  }
  void Signal(int signal);
  // What was read so far.
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  // Reads everything and reaps the child.
  Outcome Wait();

 private:
  // One poll round; false once every stream is closed.
  bool ReadSome();

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

// Starts, reads everything, reaps.
Outcome Run(const Invocation& invocation);

// Every entry under `dir` (recursively), sorted, relative.
std::vector<std::string> ListTree(const std::string& dir);

}  // namespace marketpipe::cli::clitest

#endif  // MARKETPIPE_CLI_CLI_PROCESS_H_
