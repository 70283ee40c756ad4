// One PostgreSQL per test binary, owned by the supervisor: every child (also one restarted after
// a crash) gets the same server, its start-up does not count against the asking case's budget,
// and a SIGKILL of the whole test leaves no process and no directory behind.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "testing/child_process.h"
#include "testing/selftest/subprocess.h"

namespace mptest::selftest {
namespace {

using ::testing::HasSubstr;

std::string CasesBinary() { return RunfilesPath("testing/postgres/pg_fixture_cases"); }

// A private server, whatever the environment names.
const std::vector<std::string> kUnset = {"MP_TEST_PG_DSN"};

struct ServerLine {
  std::string pid, start, data, socket;
};

std::vector<ServerLine> ServerLines(const std::string& output, const std::string& tag) {
  std::vector<ServerLine> lines;
  const std::regex re(tag + " pid=(\\d+) start=(\\S+) data=(\\S+) socket=(\\S+)");
  for (std::sregex_iterator it(output.begin(), output.end(), re), end; it != end; ++it) {
    lines.push_back({(*it)[1], (*it)[2], (*it)[3], (*it)[4]});
  }
  return lines;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

ChildResult RunCases(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CasesBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunChild(argv, {{"MP_TEST_PG_DSN", ""}});
}

TEST(PostgresSupervisorTest, OneServerPerBinaryAcrossChildRestarts) {
  const ChildResult r = RunCases({"--gtest_filter=PgCases.*"});
  EXPECT_NE(r.exit_code, 0) << r.output;  // PgCases.Crashes
  EXPECT_THAT(r.output, HasSubstr("case PgCases.Crashes crashed")) << r.output;
  EXPECT_THAT(r.output, HasSubstr("running the 1 remaining case(s) in a new process"));
  const std::vector<ServerLine> lines = ServerLines(r.output, "PGSERVER");
  ASSERT_EQ(lines.size(), 3u) << r.output;
  // The case after the crash ran in another process, on the same server: no second initdb.
  EXPECT_EQ(lines[0].pid, lines[1].pid);
  EXPECT_NE(lines[2].pid, lines[1].pid);
  for (const ServerLine& line : lines) {
    EXPECT_EQ(line.start, lines[0].start);
    EXPECT_EQ(line.data, lines[0].data);
  }
  EXPECT_EQ(Count(r.output, "[postgres] private PostgreSQL 15"), 1u) << r.output;
  // Stopped and removed when the binary ended.
  EXPECT_FALSE(std::filesystem::exists(lines[0].data)) << lines[0].data;
  EXPECT_FALSE(std::filesystem::exists(lines[0].socket)) << lines[0].socket;
}

TEST(PostgresSupervisorTest, ServerStartIsOutsideTheCaseBudget) {
  // A phase limit of 2 x 0.2 s + 0.2 s: far less than initdb and start-up take.
  const ChildResult r = RunCases({"--gtest_filter=PgCases.PrintsServer", "--mp_case_timeout=0.2"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ServerLines(r.output, "PGSERVER").size(), 1u) << r.output;
}

// Blocks until `fd` has a line containing `needle` or `timeout` passes; returns what was read.
std::string ReadUntil(int fd, const std::string& needle, std::chrono::seconds timeout) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (text.find(needle) == std::string::npos ||
         text.find('\n', text.find(needle)) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

// Processes whose command line mentions `needle`.
std::set<pid_t> ProcessesMentioning(const std::string& needle) {
  std::set<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::stringstream cmdline;
    cmdline << in.rdbuf();
    if (cmdline.str().find(needle) != std::string::npos) found.insert(std::stoi(name));
  }
  return found;
}

// Waits (event-driven, through a pidfd) for `pid` to exit; reaps it when it is our child.
bool Exits(pid_t pid, std::chrono::seconds timeout) {
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return errno == ESRCH;
  pollfd p = {pidfd, POLLIN, 0};
  const bool exited = poll(&p, 1, static_cast<int>(timeout.count() * 1000)) == 1;
  close(pidfd);
  if (exited) waitpid(pid, nullptr, WNOHANG);
  return exited;
}

// Starts the hanging case under a supervisor whose output goes to `*out_fd`; returns the
// supervisor's pid and the server the case reported (pid -1 when it reported none).
pid_t StartHangingCase(int* out_fd, ServerLine* server, std::string* output) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  kit_internal::ChildProcess spec;
  spec.argv = {CasesBinary(), "--gtest_filter=PgCases.DISABLED_Hangs",
               "--gtest_also_run_disabled_tests", "--mp_case_timeout=600"};
  spec.unset_env = {"TEST_TOTAL_SHARDS", "TEST_SHARD_INDEX",         "TEST_SHARD_STATUS_FILE",
                    "XML_OUTPUT_FILE",   "TEST_PREMATURE_EXIT_FILE", "MP_TEST_PG_DSN"};
  spec.pass_fds = {{1, out[1]}, {2, out[1]}};
  const pid_t supervisor = kit_internal::SpawnChildProcess(spec);
  close(out[1]);
  *out_fd = out[0];
  if (supervisor < 0) return -1;
  *output = ReadUntil(out[0], "PGHANG", std::chrono::seconds(120));
  const std::vector<ServerLine> lines = ServerLines(*output, "PGHANG");
  if (lines.size() != 1u) {
    kill(supervisor, SIGKILL);
    waitpid(supervisor, nullptr, 0);
    return -1;
  }
  *server = lines[0];
  return supervisor;
}

TEST(PostgresSupervisorTest, SigtermStopsTheServerBeforeTheTestExits) {
  int out = -1;
  ServerLine server;
  std::string output;
  const pid_t supervisor = StartHangingCase(&out, &server, &output);
  ASSERT_GT(supervisor, 0) << "the hanging case never reported its server:\n" << output;
  std::ifstream pid_file(server.data + "/postmaster.pid");
  pid_t postmaster = -1;
  pid_file >> postmaster;
  ASSERT_GT(postmaster, 0);

  ASSERT_EQ(kill(supervisor, SIGTERM), 0);  // what Bazel sends at its timeout
  int status = 0;
  ASSERT_EQ(waitpid(supervisor, &status, 0), supervisor);
  output += ReadUntil(out, "\x01", std::chrono::seconds(5));
  close(out);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << output;
  EXPECT_THAT(output, HasSubstr("asked to stop")) << output;
  // Already stopped and removed by the supervisor itself, not later by the watcher.
  EXPECT_EQ(kill(postmaster, 0), -1) << "postmaster " << postmaster << " outlived the test";
  EXPECT_FALSE(std::filesystem::exists(server.data)) << server.data;
  EXPECT_FALSE(std::filesystem::exists(server.socket)) << server.socket;
}

TEST(PostgresSupervisorTest, SigkillOfTheWholeTestLeavesNothingBehind) {
  // Orphans of the killed test (its case process, the server, the watcher) become our children,
  // so none lingers as an unreaped zombie in the process table.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int out = -1;
  ServerLine server;
  std::string output;
  const pid_t supervisor = StartHangingCase(&out, &server, &output);
  ASSERT_GT(supervisor, 0) << "the hanging case never reported its server:\n" << output;
  // The case process, the postmaster (and its backends) and the watcher all name the socket
  // directory on their command line or are the case process.
  std::set<pid_t> pids = ProcessesMentioning(server.socket);
  pids.insert(std::stoi(server.pid));
  pids.erase(supervisor);
  EXPECT_GE(pids.size(), 3u) << "expected the case process, the postmaster and its watcher";
  ASSERT_TRUE(std::filesystem::exists(server.data));

  ASSERT_EQ(kill(supervisor, SIGKILL), 0);
  waitpid(supervisor, nullptr, 0);
  close(out);

  for (pid_t pid : pids) {
    EXPECT_TRUE(Exits(pid, std::chrono::seconds(20))) << "process " << pid << " outlived the test";
  }
  EXPECT_FALSE(std::filesystem::exists(server.data)) << server.data;
  EXPECT_FALSE(std::filesystem::exists(server.socket)) << server.socket;
  EXPECT_TRUE(ProcessesMentioning(server.socket).empty());
  // Reap whatever else was reparented to us.
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace
}  // namespace mptest::selftest
