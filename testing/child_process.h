#ifndef TESTING_CHILD_PROCESS_H_
#define TESTING_CHILD_PROCESS_H_

// Runs a program as a child process with an edited copy of this process's environment: the
// one fork/exec the kit uses (the supervisor's children, the kit tests' fixture binaries).

#include <map>
#include <string>
#include <vector>

namespace testing::kit_internal {

struct ChildProcess {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::vector<std::string> unset_env;
  std::map<std::string, std::string> set_env;  // applied after unset_env
  // Collect stdout and stderr (interleaved) instead of sharing this process's.
  bool capture_output = false;
};

struct ChildExit {
  int wait_status = -1;  // as from waitpid(); -1 when the child could not be started
  std::string output;    // with capture_output
};

// Blocks until the child exits.
ChildExit RunChildProcess(const ChildProcess& child);

}  // namespace testing::kit_internal

#endif  // TESTING_CHILD_PROCESS_H_
