#ifndef TESTING_CASE_LIST_H_
#define TESTING_CASE_LIST_H_

// The cases this run selects, exactly as GoogleTest selects them: its --gtest_filter, DISABLED_
// rules (a suite or case name starting with DISABLED_, also after a parameterized prefix such as
// "P/DISABLED_X"), --gtest_also_run_disabled_tests and --gtest_shuffle/--gtest_random_seed.
// GoogleTest's own sharding is not applied (the kit partitions the list itself).

#include <cstdint>
#include <string>
#include <vector>

namespace mptest::kit_internal {

struct SelectedCase {
  std::string suite;  // "P/Suite"
  std::string name;   // "Case/0"
  std::string full_name() const { return suite + "." + name; }
};

struct CaseSelection {
  std::vector<SelectedCase> cases;  // in the order GoogleTest would run them
  int disabled = 0;                 // disabled cases left out (GoogleTest's own count)
  int32_t random_seed = 0;          // the seed GoogleTest used (for --gtest_shuffle)
};

// Lets GoogleTest apply its selection without running a case and returns the result. Call after
// InitGoogleTest, with GTEST_TOTAL_SHARDS unset. Prints nothing; RUN_ALL_TESTS may follow.
CaseSelection SelectCasesLikeGoogleTest();

}  // namespace mptest::kit_internal

#endif  // TESTING_CASE_LIST_H_
