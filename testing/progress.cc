#include "testing/progress.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace mptest::kit_internal {
namespace {

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    out += c == 't' ? '\t' : c == 'n' ? '\n' : c;
  }
  return out;
}

}  // namespace

std::vector<std::string> SplitProtocolLine(std::string_view line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    fields.push_back(Unescape(line.substr(start, tab == line.npos ? line.npos : tab - start)));
    if (tab == line.npos) return fields;
    start = tab + 1;
  }
}

std::string EncodeProtocolLine(const std::vector<std::string>& fields) {
  std::string line;
  for (const auto& f : fields) {
    if (!line.empty()) line += '\t';
    line += Escape(f);
  }
  line += '\n';
  return line;
}

std::optional<ProgressEvent> ParseProgressLine(std::string_view line) {
  const std::vector<std::string> f = SplitProtocolLine(line);
  ProgressEvent e{};
  const std::string& tag = f[0];
  auto want = [&](size_t n) { return f.size() == n; };
  if (tag == "PROGRAM_START" && want(1)) {
    e.kind = ProgressEvent::kProgramStart;
  } else if (tag == "ENV_SETUP" && want(1)) {
    e.kind = ProgressEvent::kEnvSetUp;
  } else if (tag == "ENV_SETUP_DONE" && want(1)) {
    e.kind = ProgressEvent::kEnvSetUpDone;
  } else if (tag == "SUITE_START" && want(2)) {
    e.kind = ProgressEvent::kSuiteStart;
    e.suite = f[1];
  } else if (tag == "CASE_START" && want(3)) {
    e.kind = ProgressEvent::kCaseStart;
    e.suite = f[1];
    e.name = f[2];
  } else if (tag == "PART" && want(5) && f[1].size() == 1) {
    e.kind = ProgressEvent::kPart;
    e.part_type = f[1][0];
    e.file = f[2];
    e.line = std::atoi(f[3].c_str());
    e.text = f[4];
  } else if (tag == "CASE_END" && want(5)) {
    e.kind = ProgressEvent::kCaseEnd;
    e.suite = f[1];
    e.name = f[2];
    e.verdict = f[3];
    e.millis = std::atof(f[4].c_str());
  } else if (tag == "SUITE_END" && want(2)) {
    e.kind = ProgressEvent::kSuiteEnd;
    e.suite = f[1];
  } else if (tag == "ENV_TEARDOWN" && want(1)) {
    e.kind = ProgressEvent::kEnvTearDown;
  } else if (tag == "PROGRAM_END" && want(1)) {
    e.kind = ProgressEvent::kProgramEnd;
  } else if (tag == "STALL_REPORTED" && want(1)) {
    e.kind = ProgressEvent::kStallReported;
  } else if (tag == "REQUEST" && want(2)) {
    e.kind = ProgressEvent::kRequest;
    e.name = f[1];
  } else {
    return std::nullopt;
  }
  return e;
}

void ProgressWriter::Write(int fd, const std::vector<std::string>& fields) {
  const std::string line = EncodeProtocolLine(fields);
  // One write per line (a pipe write up to PIPE_BUF is atomic; longer lines come from one
  // writer at a time, the thread running the cases).
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the supervisor is gone: nobody to tell
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void ProgressWriter::OnTestProgramStart(const ::testing::UnitTest&) {
  Write(fd_, {"PROGRAM_START"});
}
void ProgressWriter::OnEnvironmentsSetUpStart(const ::testing::UnitTest&) {
  Write(fd_, {"ENV_SETUP"});
}
void ProgressWriter::OnEnvironmentsSetUpEnd(const ::testing::UnitTest&) {
  Write(fd_, {"ENV_SETUP_DONE"});
}
void ProgressWriter::OnTestSuiteStart(const ::testing::TestSuite& suite) {
  Write(fd_, {"SUITE_START", suite.name()});
}
void ProgressWriter::OnTestStart(const ::testing::TestInfo& info) {
  Write(fd_, {"CASE_START", info.test_suite_name(), info.name()});
}
void ProgressWriter::OnTestPartResult(const ::testing::TestPartResult& r) {
  if (r.type() == ::testing::TestPartResult::kSuccess) return;
  Write(fd_, {"PART", r.skipped() ? "s" : "f", r.file_name() ? r.file_name() : "",
              std::to_string(r.line_number()), r.message()});
}
void ProgressWriter::OnTestEnd(const ::testing::TestInfo& info) {
  const ::testing::TestResult& r = *info.result();
  Write(fd_, {"CASE_END", info.test_suite_name(), info.name(),
              r.Skipped()  ? "skipped"
              : r.Failed() ? "failed"
                           : "passed",
              std::to_string(r.elapsed_time())});
}
void ProgressWriter::OnTestSuiteEnd(const ::testing::TestSuite& suite) {
  Write(fd_, {"SUITE_END", suite.name()});
}
void ProgressWriter::OnEnvironmentsTearDownStart(const ::testing::UnitTest&) {
  Write(fd_, {"ENV_TEARDOWN"});
}
void ProgressWriter::OnTestProgramEnd(const ::testing::UnitTest&) { Write(fd_, {"PROGRAM_END"}); }

}  // namespace mptest::kit_internal
