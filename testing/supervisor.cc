#include "testing/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "testing/child_process.h"
#include "testing/environment.h"
#include "testing/kit_internal.h"
#include "testing/progress.h"
#include "testing/supervisor_service.h"
#include "testing/xml_report.h"

namespace mptest::kit_internal {
namespace {

using Clock = std::chrono::steady_clock;
using Status = CaseReport::Status;

// The child's output kept for reports and the saved file: its last this many bytes.
constexpr size_t kKeptOutput = 1 << 20;
// How long a stuck child gets to print its pending work after SIGUSR1.
constexpr auto kStallReportGrace = std::chrono::milliseconds(1000);
// The least a process-level phase (start-up, global set-up and tear-down, between suites, exit)
// gets: their cost is the runtime's, not the cases' (a sanitizer's start-up, LeakSanitizer's
// scan and TSan's 1 s sleep at exit), so a small --mp_case_timeout must not fail them.
constexpr std::chrono::milliseconds kProcessPhaseFloor{10'000};
// Tells a child its supervisor's pid, so it can tell whether it is already orphaned.
constexpr char kSupervisorPidEnv[] = "MP_KIT_SUPERVISOR_PID";

int signal_pipe[2] = {-1, -1};

void OnTerminate(int sig) {
  const char c = static_cast<char>(sig);
  const ssize_t n = write(signal_pipe[1], &c, 1);  // async-signal-safe
  (void)n;
}

std::string Millis(Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

std::string DescribeStatus(int status) {
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "exited with code " + std::to_string(WEXITSTATUS(status));
}

std::string Sanitize(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  return out.substr(0, 120);
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// What one child did, as its progress and exit tell.
struct ChildRun {
  Phase phase = Phase::kStarting;
  std::string suite;  // of kSuiteSetUp/kCase/kAfterCase
  std::string name;   // of kCase
  Clock::time_point phase_started = Clock::now();
  std::vector<std::string> parts;  // failures of the running case (or outside any case)
  std::string skip_message;
  bool stuck = false;       // the supervisor killed it at a deadline
  bool terminated = false;  // the supervisor was asked to stop (SIGTERM)
  int wait_status = 0;
  std::string output;  // last kKeptOutput bytes
  int cases_started = 0;
};

// The real-time limit of the phase `r` is in.
std::chrono::milliseconds PhaseLimit(const ChildRun& r, std::chrono::milliseconds case_limit) {
  switch (r.phase) {
    case Phase::kSuiteSetUp:
    case Phase::kCase:
    case Phase::kAfterCase:
      return case_limit;
    case Phase::kStarting:
    case Phase::kGlobalSetUp:
    case Phase::kBetweenSuites:
    case Phase::kGlobalTearDown:
    case Phase::kExiting:
      break;
  }
  return std::max(case_limit, kProcessPhaseFloor);
}

std::string PhaseName(const ChildRun& r) {
  switch (r.phase) {
    case Phase::kStarting:
      return "start-up (static initialisation, before main)";
    case Phase::kGlobalSetUp:
      return "global environment SetUp";
    case Phase::kBetweenSuites:
      return "between test suites";
    case Phase::kSuiteSetUp:
      return "SetUpTestSuite of " + r.suite;
    case Phase::kCase:
      return "case " + r.suite + "." + r.name;
    case Phase::kAfterCase:
      return "TearDownTestSuite of " + r.suite;
    case Phase::kGlobalTearDown:
      return "global environment TearDown";
    case Phase::kExiting:
      return "exit (static destructors, atexit handlers)";
  }
  return "?";
}

class Supervisor {
 public:
  explicit Supervisor(const SuperviseRequest& req) : req_(req) {
    for (const auto& c : req.cases) {
      order_.push_back(c.full_name());
      CaseReport r;
      r.suite = c.suite;
      r.name = c.name;
      reports_[c.full_name()] = r;
    }
  }

  int Run();

 private:
  void RunChild(const std::vector<std::string>& cases, ChildRun& run);
  void OnEvent(const ProgressEvent& e, ChildRun& run);
  // Answers a child's service request on `reply_fd`; returns how long the provider took (the
  // asking phase's clock stands still meanwhile).
  Clock::duration AnswerRequest(const std::string& service, int reply_fd);
  // Gives every case and phase the child left unfinished its outcome.
  void Judge(ChildRun& run, int attempt);
  void Fail(const std::string& full_name, const std::string& why, const ChildRun& run);
  void AddRunFailure(const std::string& suite, const std::string& name, const std::string& why,
                     const ChildRun& run);
  std::string SaveOutput(const ChildRun& run, const std::string& what, int attempt);
  void WriteReport();

  const SuperviseRequest& req_;
  std::vector<std::string> order_;
  std::map<std::string, CaseReport> reports_;
  std::set<std::string> settled_;         // cases with an outcome
  std::vector<CaseReport> run_failures_;  // failures outside any case
  bool terminate_ = false;
  Clock::time_point started_ = Clock::now();
  // Service replies, once per binary: every child (also after a crash) gets the same one.
  std::map<std::string, std::vector<std::string>> service_replies_;
};

Clock::duration Supervisor::AnswerRequest(const std::string& service, int reply_fd) {
  const auto start = Clock::now();
  auto it = service_replies_.find(service);
  if (it == service_replies_.end()) {
    const ServiceProvider* provider = FindSupervisorService(service);
    std::vector<std::string> reply =
        provider ? (*provider)()
                 : std::vector<std::string>{
                       "error", "the test binary provides no service \"" + service + "\""};
    it = service_replies_.emplace(service, std::move(reply)).first;
  }
  const std::string line = EncodeProtocolLine(it->second);
  for (size_t done = 0; done < line.size();) {
    // MSG_NOSIGNAL: a child that died meanwhile must not take the supervisor with it.
    const ssize_t n = send(reply_fd, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return Clock::now() - start;
}

void Supervisor::OnEvent(const ProgressEvent& e, ChildRun& run) {
  const Phase before = run.phase;
  switch (e.kind) {
    case ProgressEvent::kProgramStart:
    case ProgressEvent::kEnvSetUpDone:
    case ProgressEvent::kSuiteEnd:
      run.phase = Phase::kBetweenSuites;
      break;
    case ProgressEvent::kEnvSetUp:
      run.phase = Phase::kGlobalSetUp;
      break;
    case ProgressEvent::kSuiteStart:
      run.phase = Phase::kSuiteSetUp;
      run.suite = e.suite;
      break;
    case ProgressEvent::kCaseStart:
      run.phase = Phase::kCase;
      run.suite = e.suite;
      run.name = e.name;
      run.parts.clear();
      run.skip_message.clear();
      ++run.cases_started;
      break;
    case ProgressEvent::kPart: {
      const std::string where = e.file.empty() ? "" : e.file + ":" + std::to_string(e.line) + "\n";
      if (e.part_type == 's') {
        run.skip_message = e.text;
      } else if (run.phase == Phase::kCase) {
        run.parts.push_back(where + e.text);
      } else {
        AddRunFailure(run.suite.empty() ? "(test binary)" : run.suite, "[" + PhaseName(run) + "]",
                      where + e.text, run);
      }
      break;
    }
    case ProgressEvent::kCaseEnd: {
      const std::string full = e.suite + "." + e.name;
      auto it = reports_.find(full);
      if (it != reports_.end()) {
        CaseReport& r = it->second;
        r.status = e.verdict == "passed"    ? Status::kPassed
                   : e.verdict == "skipped" ? Status::kSkipped
                                            : Status::kFailed;
        r.seconds = e.millis / 1000.0;
        r.failures = run.parts;
        r.skip_message = run.skip_message;
        settled_.insert(full);
      }
      run.phase = Phase::kAfterCase;
      break;
    }
    case ProgressEvent::kEnvTearDown:
      run.phase = Phase::kGlobalTearDown;
      break;
    case ProgressEvent::kProgramEnd:
      run.phase = Phase::kExiting;
      break;
    case ProgressEvent::kStallReported:
    case ProgressEvent::kRequest:
      break;
  }
  if (run.phase != before || e.kind == ProgressEvent::kCaseStart) run.phase_started = Clock::now();
}

void Supervisor::RunChild(const std::vector<std::string>& cases, ChildRun& run) {
  int out[2], progress[2], reply[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(progress, O_CLOEXEC) != 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, reply) != 0) {
    run.wait_status = -1;
    return;
  }
  ChildProcess spec;
  spec.argv = {req_.self};
  spec.argv.insert(spec.argv.end(), req_.args.begin(), req_.args.end());
  std::string filter;
  for (const auto& c : cases) filter += (filter.empty() ? "" : ":") + c;
  spec.argv.push_back("--gtest_filter=" + filter);
  spec.unset_env = {"XML_OUTPUT_FILE", "TEST_SHARD_STATUS_FILE", "GTEST_OUTPUT",
                    "TEST_PREMATURE_EXIT_FILE"};
  spec.set_env[kProgressFdEnv] = "3";
  spec.set_env[kReplyFdEnv] = "4";
  spec.set_env[kSupervisorPidEnv] = std::to_string(getpid());
  spec.pass_fds = {{1, out[1]}, {2, out[1]}, {3, progress[1]}, {4, reply[1]}};
  const pid_t pid = SpawnChildProcess(spec);
  close(out[1]);
  close(progress[1]);
  close(reply[1]);
  if (pid < 0) {
    std::fprintf(stderr, "[ marketpipe ] cannot start %s: %s\n", req_.self.c_str(),
                 std::strerror(errno));
    close(out[0]);
    close(progress[0]);
    close(reply[0]);
    run.wait_status = -1;
    return;
  }
  SetNonBlocking(out[0]);
  SetNonBlocking(progress[0]);
  // Exit is noticed through a pidfd even when a grandchild keeps the output pipe open.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  std::string partial;  // progress bytes after the last newline
  bool out_open = true, progress_open = true, exited = false, stall_asked = false;
  Clock::time_point deadline = run.phase_started + PhaseLimit(run, req_.phase_limit);
  Clock::time_point kill_at = Clock::time_point::max();
  auto drain = [&](int fd, bool is_progress) {
    char buf[65536];
    for (;;) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return true;    // EAGAIN: still open
      if (n == 0) return false;  // EOF
      if (!is_progress) {
        for (ssize_t done = 0; done < n;) {
          const ssize_t w = write(1, buf + done, static_cast<size_t>(n - done));
          if (w <= 0 && errno != EINTR) break;
          if (w > 0) done += w;
        }
        run.output.append(buf, static_cast<size_t>(n));
        if (run.output.size() > 2 * kKeptOutput)
          run.output.erase(0, run.output.size() - kKeptOutput);
        continue;
      }
      partial.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
        const auto event = ParseProgressLine(std::string_view(partial).substr(start, nl - start));
        if (!event) continue;
        const Phase phase = run.phase;
        OnEvent(*event, run);
        if (event->kind == ProgressEvent::kRequest) {
          // Outside every budget: the phase's clock stands still while the service starts.
          const Clock::duration took = AnswerRequest(event->name, reply[0]);
          run.phase_started += took;
          deadline += took;
          continue;
        }
        if (event->kind == ProgressEvent::kStallReported && stall_asked) {
          kill_at = Clock::now();
        } else if (run.phase != phase || event->kind == ProgressEvent::kCaseStart) {
          deadline = run.phase_started + PhaseLimit(run, req_.phase_limit);
        }
      }
      partial.erase(0, start);
    }
  };
  while (out_open || progress_open) {
    const auto now = Clock::now();
    if (!stall_asked && now >= deadline && !run.terminated) {
      std::fprintf(stderr,
                   "[ marketpipe ] %s is stuck: still running after %s (limit %s); asking it for "
                   "its pending work, then ending it\n",
                   PhaseName(run).c_str(), Millis(now - run.phase_started).c_str(),
                   Millis(PhaseLimit(run, req_.phase_limit)).c_str());
      std::fflush(stderr);
      run.stuck = true;
      stall_asked = true;
      // Before main the child cannot answer yet (SIGUSR1 would simply kill it).
      if (run.phase == Phase::kStarting) {
        kill_at = now;
      } else {
        kill(pid, SIGUSR1);
        kill_at = now + kStallReportGrace;
      }
    }
    if (now >= kill_at) {
      kill(pid, SIGKILL);
      kill_at = Clock::time_point::max();
    }
    if (exited) {
      // The child is gone: take what is left in the pipes, then stop (grandchildren may hold
      // them open).
      if (out_open) drain(out[0], false);
      if (progress_open) drain(progress[0], true);
      break;
    }
    const auto wake = std::min(stall_asked ? kill_at : deadline, kill_at);
    const auto wait = wake == Clock::time_point::max()
                          ? std::chrono::milliseconds(-1)
                          : std::chrono::duration_cast<std::chrono::milliseconds>(wake - now) +
                                std::chrono::milliseconds(1);
    int timeout = static_cast<int>(std::max<int64_t>(0, wait.count()));
    if (wait.count() < 0) timeout = -1;
    if (pidfd < 0) timeout = timeout < 0 ? 50 : std::min(timeout, 50);
    pollfd fds[4] = {{out_open ? out[0] : -1, POLLIN, 0},
                     {progress_open ? progress[0] : -1, POLLIN, 0},
                     {signal_pipe[0], POLLIN, 0},
                     {pidfd, POLLIN, 0}};
    if (poll(fds, 4, timeout) < 0 && errno != EINTR) break;
    if (fds[0].revents) out_open = drain(out[0], false);
    if (fds[1].revents) progress_open = drain(progress[0], true);
    if (fds[2].revents & POLLIN) {
      char c;
      while (read(signal_pipe[0], &c, 1) == 1) {
      }
      if (!run.terminated) {
        run.terminated = true;
        terminate_ = true;
        std::fprintf(stderr,
                     "[ marketpipe ] asked to stop (Bazel's timeout?) during %s: ending the test "
                     "process and writing the report\n",
                     PhaseName(run).c_str());
        std::fflush(stderr);
        stall_asked = true;
        kill(pid, SIGUSR1);
        kill_at = Clock::now() + kStallReportGrace / 2;
      }
    }
    if (pidfd >= 0 ? (fds[3].revents & POLLIN) != 0
                   : waitpid(pid, nullptr, WNOHANG | WNOWAIT) == pid) {
      exited = true;
    }
  }
  if (pidfd >= 0) close(pidfd);
  close(out[0]);
  close(progress[0]);
  close(reply[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.wait_status = status;
}

void Supervisor::Fail(const std::string& full_name, const std::string& why, const ChildRun& run) {
  CaseReport& r = reports_[full_name];
  r.status = Status::kFailed;
  r.failures.push_back(full_name + " " + why);
  if (run.phase == Phase::kCase && full_name == run.suite + "." + run.name) {
    for (const auto& p : run.parts) r.failures.push_back(p);
    r.output =
        run.output.size() > 16384 ? run.output.substr(run.output.size() - 16384) : run.output;
    r.seconds = std::chrono::duration<double>(Clock::now() - run.phase_started).count();
  }
  settled_.insert(full_name);
}

void Supervisor::AddRunFailure(const std::string& suite, const std::string& name,
                               const std::string& why, const ChildRun& run) {
  CaseReport r;
  r.suite = suite;
  r.name = name;
  r.status = Status::kFailed;
  r.failures.push_back(why);
  run_failures_.push_back(std::move(r));
}

std::string Supervisor::SaveOutput(const ChildRun& run, const std::string& what, int attempt) {
  if (req_.outputs_dir.empty()) return "";
  const std::string path =
      req_.outputs_dir + "/" + Sanitize("process-" + std::to_string(attempt) + "-" + what) + ".log";
  std::ofstream out(path, std::ios::binary);
  out << run.output;
  return out ? path : "";
}

void Supervisor::Judge(ChildRun& run, int attempt) {
  const int status = run.wait_status;
  const bool started = status >= 0;
  const bool exited = started && WIFEXITED(status);
  const int code = exited ? WEXITSTATUS(status) : -1;
  // gtest exits 0 or 1 after PROGRAM_END; anything else is the supervisor's business.
  const bool clean = exited && !run.stuck && !run.terminated && (code == 0 || code == 1) &&
                     run.phase == Phase::kExiting;
  if (clean) return;
  const std::string how = !started         ? "could not be started"
                          : run.terminated ? "was stopped: the test was asked to stop (SIGTERM, "
                                             "Bazel's TEST_TIMEOUT) while it ran"
                          : run.stuck      ? "is stuck: no progress within " +
                                            Millis(PhaseLimit(run, req_.phase_limit)) + " (" +
                                            DescribeStatus(status) + ")"
                                      : "crashed: the test process " + DescribeStatus(status);
  const std::string where = PhaseName(run);
  const std::string saved = SaveOutput(run, where, attempt);
  const std::string saved_note = saved.empty() ? "" : "; its output is saved in " + saved;
  std::fprintf(stderr, "[ marketpipe ] %s %s%s\n", where.c_str(), how.c_str(), saved_note.c_str());
  std::fflush(stderr);
  auto fail_suite = [&](const std::string& suite, const std::string& why) {
    for (const auto& name : order_) {
      if (!settled_.count(name) && reports_[name].suite == suite) Fail(name, why, run);
    }
  };
  auto fail_rest = [&](const std::string& why) {
    for (const auto& name : order_) {
      if (!settled_.count(name)) Fail(name, why, run);
    }
  };
  switch (run.phase) {
    case Phase::kCase:
      Fail(run.suite + "." + run.name, how + saved_note, run);
      break;
    case Phase::kSuiteSetUp:
      fail_suite(run.suite, "never ran: SetUpTestSuite of " + run.suite + " " + how);
      break;
    case Phase::kStarting:
    case Phase::kGlobalSetUp:
      // Every new process would do the same: nothing else can run.
      fail_rest("never ran: the test process " + how + " during " + where + saved_note);
      break;
    case Phase::kBetweenSuites:
    case Phase::kAfterCase:
    case Phase::kGlobalTearDown:
    case Phase::kExiting:
      AddRunFailure(run.phase == Phase::kAfterCase ? run.suite : "(test binary)", "[" + where + "]",
                    "the test process " + how + " during " + where + saved_note, run);
      break;
  }
  if (run.terminated) fail_rest("never ran: the test was stopped (SIGTERM) before this case");
}

void Supervisor::WriteReport() {
  if (req_.xml_output.empty()) return;
  std::vector<CaseReport> all;
  for (const auto& name : order_) all.push_back(reports_[name]);
  all.insert(all.end(), run_failures_.begin(), run_failures_.end());
  const std::string xml =
      RenderXmlReport(all, std::chrono::duration<double>(Clock::now() - started_).count());
  const std::string tmp = req_.xml_output + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << xml;
  }
  std::rename(tmp.c_str(), req_.xml_output.c_str());
}

int Supervisor::Run() {
  for (int attempt = 0; !terminate_; ++attempt) {
    std::vector<std::string> remaining;
    for (const auto& name : order_) {
      if (!settled_.count(name)) remaining.push_back(name);
    }
    if (remaining.empty()) break;
    if (attempt > 0) {
      std::fprintf(stderr, "[ marketpipe ] running the %zu remaining case(s) in a new process\n",
                   remaining.size());
      std::fflush(stderr);
    }
    ChildRun run;
    RunChild(remaining, run);
    const size_t settled_before = settled_.size();
    Judge(run, attempt);
    if (run.cases_started == 0 && settled_.size() == settled_before) {
      // A clean exit that ran none of the cases it was given: another try would do the same.
      for (const auto& name : order_) {
        if (!settled_.count(name)) {
          Fail(name,
               "never ran: the test process exited without running it (" +
                   DescribeStatus(run.wait_status) + ")",
               run);
        }
      }
    }
    if (req_.fail_fast) {
      bool failed = !run_failures_.empty();
      for (const auto& name : order_) failed |= reports_[name].status == Status::kFailed;
      if (failed) break;
    }
  }
  WriteReport();
  bool failed = !run_failures_.empty() || terminate_;
  for (const auto& name : order_) {
    failed |= !settled_.count(name) || reports_[name].status == Status::kFailed;
  }
  return failed ? 1 : 0;
}

// Held by the stall reporter while it reads GoogleTest's state; the program-end listener takes it
// to raise `program_ended`, after which that state may be destroyed (static destructors).
std::mutex stall_mu;
bool program_ended = false;

class ProgramEndListener : public ::testing::EmptyTestEventListener {
  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    std::lock_guard<std::mutex> lock(stall_mu);
    program_ended = true;
  }
};

// The child's SIGUSR1 thread: prints what the running case is waiting for.
void ReportStalls(int progress_fd, sigset_t set) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    std::unique_lock<std::mutex> lock(stall_mu);
    if (program_ended) {
      // Exiting: static destructors may be tearing GoogleTest down; say only where we are.
      static constexpr char kExiting[] =
          "[ marketpipe ] stall report: the process is exiting (static destructors, atexit "
          "handlers)\n";
      const ssize_t n = write(STDERR_FILENO, kExiting, sizeof kExiting - 1);
      (void)n;
      lock.unlock();
      ProgressWriter::Write(progress_fd, {"STALL_REPORTED"});
      continue;
    }
    std::string msg = "[ marketpipe ] stall report for " +
                      (CurrentCaseName().empty() ? std::string("(no case running)")
                                                 : "case " + CurrentCaseName()) +
                      ": pending async work:\n";
    const auto pending = DescribePendingWork();
    if (pending.empty()) msg += "  (none registered: a wait outside virtual time, or a hang)\n";
    for (const auto& p : pending) msg += "  - " + p + "\n";
    lock.unlock();
    std::fputs(msg.c_str(), stderr);
    std::fflush(stderr);
    std::fflush(stdout);
    ProgressWriter::Write(progress_fd, {"STALL_REPORTED"});
  }
}

}  // namespace

int Supervise(const SuperviseRequest& req) {
  if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return 2;
  struct sigaction action = {};
  action.sa_handler = OnTerminate;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  // A premature exit (exit() from a library, a crash of the supervisor) fails the test.
  const char* premature = std::getenv("TEST_PREMATURE_EXIT_FILE");
  if (premature && *premature) std::ofstream touch(premature);
  Supervisor supervisor(req);
  const int rc = supervisor.Run();
  if (premature && *premature) std::remove(premature);
  return rc;
}

bool StartSupervisedChild() {
  const char* fd_text = std::getenv(kProgressFdEnv);
  if (!fd_text || !*fd_text) return false;
  const int fd = std::atoi(fd_text);
  fcntl(fd, F_SETFD, FD_CLOEXEC);  // processes the cases start must not hold it
  const char* reply_text = std::getenv(kReplyFdEnv);
  const int reply_fd = reply_text && *reply_text ? std::atoi(reply_text) : -1;
  if (reply_fd >= 0) fcntl(reply_fd, F_SETFD, FD_CLOEXEC);
  SetServiceChannel(fd, reply_fd);
  // A supervisor killed outright (SIGKILL) takes its child along instead of leaving it running
  // unobserved; the pid check closes the race with a supervisor that died before the prctl.
  const char* parent_text = std::getenv(kSupervisorPidEnv);
  if (parent_text && *parent_text) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != static_cast<pid_t>(std::atoll(parent_text))) _exit(1);
  }
  // Processes the cases start (tests of test binaries) must not think they are children too.
  unsetenv(kProgressFdEnv);
  unsetenv(kReplyFdEnv);
  unsetenv(kSupervisorPidEnv);
  // Line-buffered: when the supervisor ends this process, what it printed is already out.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread started later
  std::thread(ReportStalls, fd, set).detach();
  ::testing::UnitTest::GetInstance()->listeners().Append(new ProgressWriter(fd));
  ::testing::UnitTest::GetInstance()->listeners().Append(new ProgramEndListener);
  return true;
}

}  // namespace mptest::kit_internal
