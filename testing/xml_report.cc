#include "testing/xml_report.h"

#include <cstdio>
#include <map>
#include <sstream>

namespace mptest::kit_internal {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t Utf8Length(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) >> 6) != 0x2) return 0;
  }
  if (n == 2 && c < 0xC2) return 0;  // overlong
  return n;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

}  // namespace

std::string XmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = Utf8Length(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s, i, n);
      i += n;
      continue;
    }
    ++i;
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\t':
        out += "&#9;";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += kReplacement;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

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
