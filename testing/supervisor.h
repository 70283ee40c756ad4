#ifndef TESTING_SUPERVISOR_H_
#define TESTING_SUPERVISOR_H_

// The test main runs its cases in a child process it supervises (this file), and the
// supervisor owns every deadline. From the child's progress (progress.h) it knows the phase:
// static initialisation, global set-up, a suite's SetUpTestSuite, a case, a suite's
// TearDownTestSuite, global tear-down, exit. A suite's set-up, a case and what follows it get
// `phase_limit` of real time; the process-level phases (start-up, global set-up and tear-down,
// exit) get at least 10 s, because a sanitizer runtime's start-up and exit work count there.
// Time the supervisor spends starting a service a child asked for (supervisor_service.h: one
// PostgreSQL per binary) does not count against the asking phase.
//  - A stuck or crashed case fails by name; the cases after it run in a fresh child.
//  - A stuck or crashed SetUpTestSuite fails that suite's cases by name; the rest still runs.
//  - A hang or death in global set-up or before main fails every remaining case by name; in
//    tear-down or at exit it fails the run with a report entry saying where.
//  - Before killing a stuck child it asks it (SIGUSR1) to print its pending async work.
//  - On SIGTERM/SIGINT (Bazel's timeout) it stops the child, marks the running case, writes the
//    report and keeps the child's output.
//  - A child dies with its supervisor (PR_SET_PDEATHSIG), even when the supervisor is SIGKILLed.
// The child's output goes to this process's stdout as it comes (line-buffered in the child, so
// nothing is lost when it is killed); a stuck or crashed child's output is also saved as a file
// in TEST_UNDECLARED_OUTPUTS_DIR. Set MP_TEST_NO_SUPERVISOR=1 to run in-process (gdb).

#include <chrono>
#include <string>
#include <vector>

#include "testing/case_list.h"

namespace mptest::kit_internal {

struct SuperviseRequest {
  std::string self;                 // path of this binary
  std::vector<std::string> args;    // argv[1..] to pass on (a filter is appended)
  std::vector<SelectedCase> cases;  // this shard's cases, in order
  std::string xml_output;           // where the merged report goes ("" for none)
  std::string outputs_dir;          // TEST_UNDECLARED_OUTPUTS_DIR ("" for none)
  std::chrono::milliseconds phase_limit{60'000};
  bool fail_fast = false;  // --gtest_fail_fast: stop after the first failure
};

// Runs `cases` in children until every case has an outcome; writes the report; returns the
// exit code (0 all passed, 1 otherwise).
int Supervise(const SuperviseRequest& request);

// In a supervised child: reports progress on the descriptor kProgressFdEnv names and answers
// SIGUSR1 by printing the pending async work. Call first thing in main, before any thread
// starts; returns false when this process is not a supervised child.
bool StartSupervisedChild();

}  // namespace mptest::kit_internal

#endif  // TESTING_SUPERVISOR_H_
