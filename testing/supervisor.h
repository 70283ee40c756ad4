#ifndef TESTING_SUPERVISOR_H_
#define TESTING_SUPERVISOR_H_

// The test main runs its cases in a child process it supervises, so that a case that hangs
// outside the event loop (the watchdog ends the child) or crashes fails by name while the cases
// after it still run, in a fresh child. Set MP_TEST_NO_SUPERVISOR=1 to run in-process (gdb).

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace testing::kit_internal {

// Environment of a supervised child: its progress file.
constexpr char kChildEnv[] = "MP_KIT_PROGRESS";

struct SuperviseRequest {
  std::string self;                // path of this binary
  std::vector<std::string> args;   // argv[1..] to pass on (user flags; filter appended)
  std::vector<std::string> cases;  // this shard's cases, in order
  std::string xml_output;          // XML_OUTPUT_FILE of the parent ("" for none)
  std::string work_dir;            // scratch directory for progress and partial XML
};

// Runs `cases` in children until all have run; writes the merged XML; returns the exit code.
int Supervise(const SuperviseRequest& request);

// In a child: appends START/END lines to the progress file named by kChildEnv.
class ProgressListener : public EmptyTestEventListener {
 public:
  explicit ProgressListener(const std::string& path);
  ~ProgressListener() override;
  void OnTestStart(const TestInfo& info) override;
  void OnTestEnd(const TestInfo& info) override;

 private:
  void Write(const std::string& line);
  int fd_;
};

}  // namespace testing::kit_internal

#endif  // TESTING_SUPERVISOR_H_
