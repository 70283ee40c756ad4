#ifndef TESTING_SELFTEST_SUBPROCESS_H_
#define TESTING_SELFTEST_SUBPROCESS_H_

#include <map>
#include <string>
#include <vector>

namespace mptest::selftest {

struct ChildResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr interleaved
};

// Runs `argv` with the parent's environment minus Bazel's sharding/XML variables, plus `env`.
ChildResult RunChild(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env);

// A test report (XML_OUTPUT_FILE) as a real XML parser reads it (Boost.PropertyTree); throws
// on malformed XML.
struct ParsedReport {
  struct Case {
    std::string suite, name, result;  // result: gtest's "completed"/"skipped"
    std::vector<std::string> failures;
    std::string system_out;
  };
  int tests = -1, failures = -1, skipped = -1;  // <testsuites> totals
  std::vector<std::string> suites;              // <testsuite name> in order
  std::map<std::string, int> suite_tests;       // <testsuite tests>
  std::map<std::string, Case> cases;            // by "Suite.Case"
};
ParsedReport ParseReport(const std::string& path);

// Path of a binary in this test's runfiles, e.g. "testing/selftest/kit_fixture_cases".
std::string RunfilesPath(const std::string& workspace_relative);

}  // namespace mptest::selftest

#endif  // TESTING_SELFTEST_SUBPROCESS_H_
