#include "tools/test_timing/test_xml.h"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <cmath>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace marketpipe::test_timing {
namespace {

namespace pt = boost::property_tree;

absl::Status AddCase(const pt::ptree& node, std::string_view suite, std::vector<CaseResult>* out) {
  CaseResult c;
  const std::string name = node.get("<xmlattr>.name", "");
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a <testcase> in suite \"", std::string(suite), "\" has no name"));
  }
  const std::string classname = node.get("<xmlattr>.classname", std::string(suite));
  c.name = classname.empty() ? name : classname + "." + name;
  const std::string time = node.get("<xmlattr>.time", "0");
  double seconds = 0;
  if (!absl::SimpleAtod(time, &seconds) || !std::isfinite(seconds) || seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("<testcase> ", c.name, ": time=\"", time, "\" is not a number of seconds"));
  }
  c.millis = seconds * 1000.0;
  c.failed = node.count("failure") > 0 || node.count("error") > 0;
  const std::string status = node.get("<xmlattr>.status", "");
  const std::string result = node.get("<xmlattr>.result", "");
  c.skipped = !c.failed && (node.count("skipped") > 0 || status == "notrun" ||
                            result == "skipped" || result == "suppressed");
  out->push_back(std::move(c));
  return absl::OkStatus();
}

absl::Status AddSuite(const pt::ptree& suite, std::vector<CaseResult>* out) {
  const std::string name = suite.get("<xmlattr>.name", "");
  for (const auto& [tag, child] : suite) {
    if (tag == "testcase") {
      if (absl::Status s = AddCase(child, name, out); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<CaseResult>> ParseTestXml(std::string_view xml) {
  pt::ptree tree;
  try {
    std::istringstream in{std::string(xml)};
    pt::read_xml(in, tree);
  } catch (const pt::xml_parser_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("not XML: ", e.message(), " (line ", e.line(), ")"));
  }
  std::vector<CaseResult> cases;
  if (const auto suites = tree.get_child_optional("testsuites")) {
    for (const auto& [tag, child] : *suites) {
      if (tag == "testsuite") {
        if (absl::Status s = AddSuite(child, &cases); !s.ok()) return s;
      }
    }
  } else if (const auto suite = tree.get_child_optional("testsuite")) {
    if (absl::Status s = AddSuite(*suite, &cases); !s.ok()) return s;
  } else {
    return absl::InvalidArgumentError("no <testsuites> or <testsuite> root element");
  }
  return cases;
}

}  // namespace marketpipe::test_timing
