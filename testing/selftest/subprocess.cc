#include "testing/selftest/subprocess.h"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "testing/child_process.h"

namespace mptest::selftest {

ChildResult RunChild(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env) {
  kit_internal::ChildProcess child;
  child.argv = argv;
  // The parent test's own sharding, XML and kit settings must not leak into the child.
  child.unset_env = {"TEST_TOTAL_SHARDS",      "TEST_SHARD_INDEX",
                     "GTEST_TOTAL_SHARDS",     "GTEST_SHARD_INDEX",
                     "TEST_SHARD_STATUS_FILE", "XML_OUTPUT_FILE",
                     "GTEST_OUTPUT",           "MP_TIMING_MANIFEST",
                     "MP_TEST_CASE_TIMEOUT",   "TEST_PREMATURE_EXIT_FILE"};
  child.set_env = env;
  child.capture_output = true;
  kit_internal::ChildExit exit = kit_internal::RunChildProcess(child);
  if (exit.wait_status < 0) throw std::runtime_error("could not start " + argv[0]);
  ChildResult result;
  result.output = std::move(exit.output);
  const int status = exit.wait_status;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

ParsedReport ParseReport(const std::string& path) {
  namespace pt = boost::property_tree;
  pt::ptree tree;
  pt::read_xml(path, tree);
  ParsedReport report;
  const pt::ptree& root = tree.get_child("testsuites");
  report.tests = root.get<int>("<xmlattr>.tests");
  report.failures = root.get<int>("<xmlattr>.failures");
  report.skipped = root.get<int>("<xmlattr>.skipped");
  for (const auto& [tag, suite] : root) {
    if (tag != "testsuite") continue;
    const std::string suite_name = suite.get<std::string>("<xmlattr>.name");
    report.suites.push_back(suite_name);
    report.suite_tests[suite_name] = suite.get<int>("<xmlattr>.tests");
    for (const auto& [case_tag, c] : suite) {
      if (case_tag != "testcase") continue;
      ParsedReport::Case parsed;
      parsed.suite = c.get<std::string>("<xmlattr>.classname");
      parsed.name = c.get<std::string>("<xmlattr>.name");
      parsed.result = c.get<std::string>("<xmlattr>.result", "");
      for (const auto& [child_tag, child] : c) {
        if (child_tag == "failure")
          parsed.failures.push_back(child.get<std::string>("<xmlattr>.message"));
        if (child_tag == "system-out") parsed.system_out = child.data();
      }
      report.cases[parsed.suite + "." + parsed.name] = parsed;
    }
  }
  return report;
}

std::string RunfilesPath(const std::string& workspace_relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir && workspace) return std::string(srcdir) + "/" + workspace + "/" + workspace_relative;
  // Run by hand: the binary's own runfiles tree, as Bazel lays it out next to it.
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    return std::string(self) + ".runfiles/marketpipe/" + workspace_relative;
  }
  return workspace_relative;
}

}  // namespace mptest::selftest
