#include "testing/xml_report.h"

#include <cstdio>
#include <map>
#include <sstream>

namespace mptest::kit_internal {
namespace {

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

}  // namespace

std::string RenderXmlReport(const std::vector<CaseReport>& cases, double total_seconds) {
  using Status = CaseReport::Status;
  struct Suite {
    std::vector<const CaseReport*> cases;
    int failures = 0, skipped = 0;
    double seconds = 0;
  };
  std::vector<std::string> order;
  std::map<std::string, Suite> suites;
  int failures = 0, skipped = 0;
  for (const CaseReport& c : cases) {
    auto [it, fresh] = suites.try_emplace(c.suite);
    if (fresh) order.push_back(c.suite);
    Suite& s = it->second;
    s.cases.push_back(&c);
    s.seconds += c.seconds;
    if (c.status == Status::kFailed) ++s.failures, ++failures;
    if (c.status == Status::kSkipped) ++s.skipped, ++skipped;
  }
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<testsuites tests=\"" << cases.size() << "\" failures=\"" << failures
    << "\" disabled=\"0\" skipped=\"" << skipped << "\" errors=\"0\" time=\""
    << Seconds(total_seconds) << "\" name=\"AllTests\">\n";
  for (const std::string& name : order) {
    const Suite& s = suites[name];
    x << "  <testsuite name=\"" << XmlEscape(name) << "\" tests=\"" << s.cases.size()
      << "\" failures=\"" << s.failures << "\" disabled=\"0\" skipped=\"" << s.skipped
      << "\" errors=\"0\" time=\"" << Seconds(s.seconds) << "\">\n";
    for (const CaseReport* c : s.cases) {
      const bool skip = c->status == Status::kSkipped;
      x << "    <testcase name=\"" << XmlEscape(c->name) << "\" status=\"run\" result=\""
        << (skip ? "skipped" : "completed") << "\" time=\"" << Seconds(c->seconds)
        << "\" classname=\"" << XmlEscape(c->suite) << "\"";
      if (c->failures.empty() && !skip && c->output.empty() && c->status != Status::kFailed) {
        x << " />\n";
        continue;
      }
      x << ">\n";
      std::vector<std::string> failures = c->failures;
      if (c->status == Status::kFailed && failures.empty()) failures.push_back("failed");
      for (const std::string& f : failures) {
        x << "      <failure message=\"" << XmlEscape(f) << "\" type=\"\">" << XmlEscape(f)
          << "</failure>\n";
      }
      if (skip) x << "      <skipped message=\"" << XmlEscape(c->skip_message) << "\" />\n";
      if (!c->output.empty())
        x << "      <system-out>" << XmlEscape(c->output) << "</system-out>\n";
      x << "    </testcase>\n";
    }
    x << "  </testsuite>\n";
  }
  x << "</testsuites>\n";
  return x.str();
}

}  // namespace mptest::kit_internal
