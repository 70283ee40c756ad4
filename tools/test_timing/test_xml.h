#ifndef TOOLS_TEST_TIMING_TEST_XML_H_
#define TOOLS_TEST_TIMING_TEST_XML_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace marketpipe::test_timing {

// One <testcase> of a shard's test.xml (gtest's format, or the one Bazel writes for a test that
// produced none).
struct CaseResult {
  std::string name;  // "Suite.Case", as the test main and --gtest_filter spell it
  double millis = 0;
  bool failed = false;   // has a <failure> or <error> child
  bool skipped = false;  // <skipped>, status="notrun" or result="skipped"/"suppressed"
};

// Parses test.xml text. Errors name what is wrong: not XML, no <testsuites>/<testsuite> root, a
// <testcase> without a name, a time that is not a non-negative number of seconds.
absl::StatusOr<std::vector<CaseResult>> ParseTestXml(std::string_view xml);

}  // namespace marketpipe::test_timing

#endif  // TOOLS_TEST_TIMING_TEST_XML_H_
