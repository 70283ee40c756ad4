#ifndef TOOLS_TEST_TIMING_BUILD_EVENTS_H_
#define TOOLS_TEST_TIMING_BUILD_EVENTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace marketpipe::test_timing {

// One attempt of one shard of one test target, as Bazel's build event file reports it.
struct TestAction {
  std::string label;  // //pkg:target
  int run = 1;
  int shard = 1;  // 1-based, as in the build event file
  int attempt = 1;
  std::string status;            // PASSED, FAILED, FLAKY, TIMEOUT, ...
  std::string strategy;          // linux-sandbox, remote cache hit, ...
  bool cached_locally = false;   // Bazel reused its own in-memory result: no action ran
  bool cached_remotely = false;  // served by the remote (or disk) cache
  int64_t start_ms = 0;          // epoch millis
  int64_t duration_ms = 0;
  std::string xml_path;  // local path of test.xml; empty when not a file:// URI
  std::string log_path;  // local path of test.log; likewise
};

// Bazel's closing "N processes: X remote cache hit, Y internal, Z linux-sandbox." line.
struct ProcessCounts {
  bool known = false;
  int64_t total = 0;
  std::map<std::string, int64_t> by_kind;
};

struct BuildEvents {
  int64_t start_ms = 0;   // the invocation's start (started event)
  int64_t finish_ms = 0;  // buildFinished
  // Parallel test jobs: the last --local_test_jobs (else --jobs) on the effective command line;
  // 0 when neither was given (Bazel then uses the number of cores).
  int jobs = 0;
  std::vector<TestAction> tests;
  std::map<std::string, int> shard_count_by_label;  // from testSummary
  ProcessCounts processes;
  std::vector<std::string> warnings;  // e.g. an incomplete last line (interrupted run)
};

// Parses the text of a --build_event_json_file (one JSON object per line). A line that is not
// a JSON object, or an event whose fields have the wrong types, is an error naming the line; only
// an incomplete last line (Bazel interrupted mid-write) is tolerated, with a warning.
absl::StatusOr<BuildEvents> ParseBuildEvents(std::string_view text);

// "file:///a%20b/test.xml" -> "/a b/test.xml"; anything else (bytestream://...) -> "".
std::string FileUriToPath(std::string_view uri);

}  // namespace marketpipe::test_timing

#endif  // TOOLS_TEST_TIMING_BUILD_EVENTS_H_
