#ifndef TESTING_SELFTEST_SUBPROCESS_H_
#define TESTING_SELFTEST_SUBPROCESS_H_

#include <map>
#include <string>
#include <vector>

namespace testing::selftest {

struct ChildResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr interleaved
};

// Runs `argv` with the parent's environment minus Bazel's sharding/XML variables, plus `env`.
ChildResult RunChild(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env);

// Path of a binary in this test's runfiles, e.g. "testing/selftest/kit_fixture_cases".
std::string RunfilesPath(const std::string& workspace_relative);

}  // namespace testing::selftest

#endif  // TESTING_SELFTEST_SUBPROCESS_H_
