#include "testing/supervisor.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "testing/child_process.h"

namespace testing::kit_internal {
namespace {

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
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
      case '\n':
        out += "&#x0A;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

struct Progress {
  std::vector<std::string> started;          // in order
  std::map<std::string, std::string> ended;  // name -> "passed <ms>" / "failed <ms>"
};

Progress ReadProgress(const std::string& path) {
  Progress p;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("START ", 0) == 0) {
      p.started.push_back(line.substr(6));
    } else if (line.rfind("END ", 0) == 0) {
      std::istringstream fields(line.substr(4));
      std::string name, rest;
      fields >> name;
      std::getline(fields, rest);
      p.ended[name] = rest;
    }
  }
  return p;
}

// Runs one child; returns its wait status.
int RunChild(const SuperviseRequest& req, const std::vector<std::string>& cases,
             const std::string& progress, const std::string& xml) {
  ChildProcess child;
  child.argv = {req.self};
  child.argv.insert(child.argv.end(), req.args.begin(), req.args.end());
  std::string filter;
  for (const auto& c : cases) filter += (filter.empty() ? "" : ":") + c;
  child.argv.push_back("--gtest_filter=" + filter);
  child.unset_env = {"XML_OUTPUT_FILE", "TEST_SHARD_STATUS_FILE", "GTEST_OUTPUT",
                     "TEST_PREMATURE_EXIT_FILE"};
  child.set_env[kChildEnv] = progress;
  if (!xml.empty()) child.set_env["XML_OUTPUT_FILE"] = xml;
  return RunChildProcess(child).wait_status;
}

// The <testsuite> elements of a gtest XML file.
std::string SuitesOf(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const size_t open = s.find("<testsuites");
  const size_t body = open == std::string::npos ? open : s.find('>', open);
  const size_t close = s.rfind("</testsuites>");
  if (body == std::string::npos || close == std::string::npos || close < body) return "";
  return s.substr(body + 1, close - body - 1);
}

}  // namespace

ProgressListener::ProgressListener(const std::string& path)
    : fd_(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) {}

ProgressListener::~ProgressListener() {
  if (fd_ >= 0) close(fd_);
}

void ProgressListener::Write(const std::string& line) {
  if (fd_ < 0) return;
  // One write per line with O_APPEND: a line is never torn, even when the process dies next.
  const ssize_t n = ::write(fd_, line.data(), line.size());
  (void)n;
}

void ProgressListener::OnTestStart(const TestInfo& info) {
  Write("START " + std::string(info.test_suite_name()) + "." + info.name() + "\n");
}

void ProgressListener::OnTestEnd(const TestInfo& info) {
  const TestResult& r = *info.result();
  Write("END " + std::string(info.test_suite_name()) + "." + info.name() + " " +
        (r.Failed() ? "failed " : "passed ") + std::to_string(r.elapsed_time()) + "\n");
}

int Supervise(const SuperviseRequest& req) {
  std::vector<std::string> remaining = req.cases;
  std::string suites;
  // Cases the supervisor itself must report: stuck or crashed (name -> why), or completed in a
  // child that died before writing its XML (name -> "passed ms"/"failed ms").
  std::vector<std::pair<std::string, std::string>> lost;
  std::vector<std::pair<std::string, std::string>> recovered;
  bool any_failed = false;
  for (int attempt = 0; !remaining.empty(); ++attempt) {
    const std::string progress = req.work_dir + "/progress-" + std::to_string(attempt);
    const std::string xml =
        req.xml_output.empty() ? "" : req.work_dir + "/part-" + std::to_string(attempt) + ".xml";
    unlink(progress.c_str());
    const int status = RunChild(req, remaining, progress, xml);
    const Progress p = ReadProgress(progress);
    const std::string part = xml.empty() ? "" : SuitesOf(xml);
    suites += part;
    const bool exited = status >= 0 && WIFEXITED(status);
    const int code = exited ? WEXITSTATUS(status) : -1;
    // The last case started and not ended is the one that took the process down (a signal,
    // the watchdog, a sanitizer report, exit()).
    std::string culprit;
    for (auto it = p.started.rbegin(); it != p.started.rend(); ++it) {
      if (!p.ended.count(*it)) {
        culprit = *it;
        break;
      }
    }
    if (code != 0) any_failed = true;
    std::set<std::string> done(p.started.begin(), p.started.end());
    std::vector<std::string> next;
    for (const auto& c : remaining) {
      if (!done.count(c)) next.push_back(c);
    }
    // gtest itself exits 0 (all passed) or 1 (some failed), having written its XML.
    // (--gtest_fail_fast stops early on purpose.)
    const bool clean = exited && (code == 0 || code == 1) && (xml.empty() || !part.empty()) &&
                       (next.empty() || GTEST_FLAG_GET(fail_fast));
    if (culprit.empty() && clean) break;
    any_failed = true;
    if (part.empty()) {
      for (const auto& [name, result] : p.ended) recovered.emplace_back(name, result);
    }
    const std::string how = status < 0 ? "could not start the test process"
                            : !exited  ? "killed by signal " + std::to_string(WTERMSIG(status)) +
                                            " (" + strsignal(WTERMSIG(status)) + ")"
                            : code == 3 ? "the watchdog ended the process (see its message above)"
                                        : "the process exited with code " + std::to_string(code) +
                                              " (a sanitizer report, or exit())";
    if (!culprit.empty()) {
      const std::string why = code == 3 && exited ? "stuck: " + how : "crashed: " + how;
      std::fprintf(stderr,
                   "[ marketpipe ] case %s %s; running the remaining cases in a new process\n",
                   culprit.c_str(), why.c_str());
      lost.emplace_back(culprit, why);
    } else {
      // Died between cases: in a suite's SetUpTestSuite/TearDownTestSuite or the global
      // environment. Nobody to blame by name; the run fails and the rest still runs.
      const std::string after =
          p.started.empty() ? "before its first case" : "after case " + p.started.back();
      std::fprintf(stderr, "[ marketpipe ] test process died %s, outside any case: %s\n",
                   after.c_str(), how.c_str());
      if (p.started.empty()) {
        // No progress at all: running the same cases again would die the same way.
        for (const auto& c : next) {
          lost.emplace_back(c,
                            "never ran: the test process died before its first case (" + how + ")");
        }
        break;
      }
    }
    if (!next.empty()) {
      std::fprintf(stderr, "[ marketpipe ] running the %zu remaining case(s) in a new process\n",
                   next.size());
    }
    remaining = std::move(next);
  }

  if (!req.xml_output.empty()) {
    std::ostringstream extra;
    auto testcase = [&](const std::string& name, const std::string& failure,
                        const std::string& ms) {
      const size_t dot = name.find('.');
      extra << "    <testcase name=\"" << XmlEscape(name.substr(dot + 1)) << "\" classname=\""
            << XmlEscape(name.substr(0, dot)) << "\" status=\"run\" result=\"completed\" time=\""
            << ms << "\">";
      if (!failure.empty()) {
        extra << "\n      <failure message=\"" << XmlEscape(failure) << "\" type=\"\"/>\n    ";
      }
      extra << "</testcase>\n";
    };
    if (!lost.empty() || !recovered.empty()) {
      extra << "  <testsuite name=\"Supervisor\" tests=\"" << lost.size() + recovered.size()
            << "\">\n";
      for (const auto& [name, why] : lost) testcase(name, name + " " + why, "0");
      for (const auto& [name, result] : recovered) {
        std::istringstream r(result);
        std::string verdict, ms;
        r >> verdict >> ms;
        testcase(name, verdict == "failed" ? name + " failed (details in the test log)" : "",
                 std::to_string(std::atof(ms.c_str()) / 1000.0));
      }
      extra << "  </testsuite>\n";
    }
    std::ofstream out(req.xml_output);
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"AllTests\">" << suites
        << extra.str() << "</testsuites>\n";
  }
  return any_failed ? 1 : 0;
}

}  // namespace testing::kit_internal
