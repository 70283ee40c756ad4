#ifndef TESTING_CHILD_PROCESS_H_
#define TESTING_CHILD_PROCESS_H_

// Runs a program as a child process with an edited copy of this process's environment: the
// one way the kit starts processes (the supervisor's children, the kit tests' fixture
// binaries). posix_spawn, never fork + arbitrary code, because test processes run threads; the
// child inherits stdio and the descriptors named in `pass_fds` only, whatever else is open.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace mptest::kit_internal {

struct ChildProcess {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::vector<std::string> unset_env;
  std::map<std::string, std::string> set_env;  // applied after unset_env
  // Collect stdout and stderr (interleaved) instead of sharing this process's.
  bool capture_output = false;
  // Child descriptor -> descriptor of this process that it is a copy of (stdout/stderr may be
  // redirected this way too: {1, fd}, {2, fd}). Every other descriptor >= 3 is closed.
  std::map<int, int> pass_fds;
};

struct ChildExit {
  int wait_status = -1;  // as from waitpid(); -1 when the child could not be started
  std::string output;    // with capture_output
};

// Starts the child; returns its pid, or -1 with errno set.
pid_t SpawnChildProcess(const ChildProcess& child);

// Blocks until the child exits.
ChildExit RunChildProcess(const ChildProcess& child);

}  // namespace mptest::kit_internal

#endif  // TESTING_CHILD_PROCESS_H_
