#include "testing/case_list.h"

#include <gtest/gtest.h>

namespace mptest::kit_internal {
namespace {

// Thrown from the first event after GoogleTest has filtered and shuffled, so no case runs.
struct SelectionDone {};

class Collector : public ::testing::EmptyTestEventListener {
 public:
  explicit Collector(CaseSelection* out) : out_(out) {}
  void OnTestIterationStart(const ::testing::UnitTest& unit, int) override {
    for (int s = 0; s < unit.total_test_suite_count(); ++s) {
      const ::testing::TestSuite& suite = *unit.GetTestSuite(s);  // in shuffled order
      for (int t = 0; t < suite.total_test_count(); ++t) {
        const ::testing::TestInfo& info = *suite.GetTestInfo(t);
        if (info.should_run()) out_->cases.push_back({suite.name(), info.name()});
      }
    }
    out_->disabled = unit.disabled_test_count();
    out_->random_seed = unit.random_seed();
    throw SelectionDone{};
  }

 private:
  CaseSelection* out_;
};

}  // namespace

CaseSelection SelectCasesLikeGoogleTest() {
  CaseSelection selection;
  ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
  // Silence this pass: the printers are put back afterwards.
  ::testing::TestEventListener* printer = listeners.Release(listeners.default_result_printer());
  ::testing::TestEventListener* xml = listeners.Release(listeners.default_xml_generator());
  Collector* collector = new Collector(&selection);
  listeners.Append(collector);
  // Let the exception leave RUN_ALL_TESTS instead of being reported as a failure.
  const bool catch_exceptions = GTEST_FLAG_GET(catch_exceptions);
  const bool list_tests = GTEST_FLAG_GET(list_tests);
  GTEST_FLAG_SET(catch_exceptions, false);
  GTEST_FLAG_SET(list_tests, false);
  try {
    const int unused = RUN_ALL_TESTS();
    (void)unused;
  } catch (const SelectionDone&) {
  }
  GTEST_FLAG_SET(catch_exceptions, catch_exceptions);
  GTEST_FLAG_SET(list_tests, list_tests);
  delete listeners.Release(collector);
  if (printer) listeners.Append(printer);
  if (xml) listeners.Append(xml);
  return selection;
}

}  // namespace mptest::kit_internal
