#ifndef TESTING_XML_REPORT_H_
#define TESTING_XML_REPORT_H_

// The JUnit/GoogleTest-style XML report the supervisor writes to XML_OUTPUT_FILE: one
// <testsuites> with totals, one <testsuite> per suite (however many processes its cases ran
// in), every string escaped. Bazel, JUnit readers and tools/test_timing read it.

#include <string>
#include <vector>

#include "marketpipe/xml/xml_escape.h"

namespace mptest::kit_internal {

struct CaseReport {
  enum class Status { kPassed, kFailed, kSkipped };
  std::string suite;
  std::string name;  // a case, or for failures outside any case: "[SetUpTestSuite]" etc.
  Status status = Status::kPassed;
  double seconds = 0;
  std::vector<std::string> failures;  // one message each ("file:line\nmessage")
  std::string skip_message;
  std::string output;  // system-out: the tail of a stuck or crashed process's output
};

// Suites appear in order of their first case; cases in the order given.
std::string RenderXmlReport(const std::vector<CaseReport>& cases, double total_seconds);

// The report's escaping (marketpipe/xml/xml_escape.h), shared with tools/test_timing's HTML.
using ::marketpipe::XmlEscape;

}  // namespace mptest::kit_internal

#endif  // TESTING_XML_REPORT_H_
