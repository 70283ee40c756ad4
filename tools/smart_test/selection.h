#ifndef TOOLS_SMART_TEST_SELECTION_H_
#define TOOLS_SMART_TEST_SELECTION_H_

#include <functional>
#include <string>
#include <vector>

namespace marketpipe::smart_test {

// What to test for a set of changed files (paths relative to the workspace root).
struct Plan {
  // Everything (//...): a change that can affect any test.
  bool everything = false;
  // Bazel packages ("marketpipe/core", "" for the root) whose tests and reverse dependencies
  // to run; sorted, unique. Empty with everything == false: nothing to test.
  std::vector<std::string> packages;
  // One line per file: where it maps, or why it forces //... ("WORKSPACE: the workspace").
  std::vector<std::string> reasons;
};

// True when `dir` ("marketpipe/core", "" = root) holds a BUILD or BUILD.bazel file now.
using IsPackage = std::function<bool(const std::string& dir)>;

// Maps changed, deleted and untracked files to what to test:
//  - WORKSPACE, .bazelrc, .bazelversion, anything under third_party/ or testing/ (the kit every
//    test links), any .bzl file, and a deleted BUILD file (a package that went away) -> //...;
//  - any other file -> the package of the nearest directory (itself or above) with a BUILD file;
//    a BUILD file counts for its own package;
//  - a file under no package (none up to the root) and bazel-* output links -> nothing.
Plan PlanForChanges(const std::vector<std::string>& files, const IsPackage& is_package);

// The bazel query that finds the tests to run for `plan.packages`:
//   tests(//...) intersect rdeps(//..., set(//a:* //b:*))
std::string TestQuery(const Plan& plan);

}  // namespace marketpipe::smart_test

#endif  // TOOLS_SMART_TEST_SELECTION_H_
