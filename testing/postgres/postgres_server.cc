#include "testing/postgres/postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <postgresql/libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "testing/environment.h"
#include "testing/supervisor_service.h"

namespace mptest {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kSetpriv[] = "/usr/bin/setpriv";
constexpr char kServerUser[] = "nobody";
constexpr char kServerGroup[] = "nogroup";
constexpr char kSuperuser[] = "postgres";
// Only names the socket file (.s.PGSQL.5432): the socket directory is private to this process.
constexpr char kPort[] = "5432";
// Below the test main's per-case watchdog budget, so the reason reaches the log.
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(10);

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

// A file descriptor that becomes readable when process `pid` (our child) exits; -1 if the
// kernel has no pidfd_open (before Linux 5.3).
int OpenPidFd(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Blocks until one of `fds` is readable or `timeout` passes (event-driven: no polling loop).
void WaitReadable(std::vector<pollfd> fds, Clock::duration timeout) {
  const int ms = static_cast<int>(
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
  while (poll(fds.data(), fds.size(), ms) < 0 && errno == EINTR) {
  }
}

long long Millis(Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

// The last `max_bytes` of a file, for error messages.
std::string FileTail(const std::string& path, size_t max_bytes = 3000) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// fork + exec without a shell; stdout and stderr go to `out_fd`. Between fork and exec the child
// makes only async-signal-safe calls, because the test process may already run threads.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& cwd, int stdin_fd, int out_fd,
            bool new_session) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // New session: a Ctrl-C or a process-group kill aimed at the test must not bypass the cleanup.
  if (new_session) setsid();
  if (dup2(stdin_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
      dup2(out_fd, STDERR_FILENO) < 0 || chdir(cwd.c_str()) != 0) {
    _exit(126);
  }
  // The server inherits stdio only, whatever else the test process has open (pipes of other
  // children, sockets opened without O_CLOEXEC). close_range is a plain system call.
  close_range(3, ~0U, 0);
  // Nothing blocked: the kit's test child blocks SIGUSR1, which PostgreSQL relies on.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execv(args[0], args.data());
  _exit(127);
}

int WaitFor(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// Sends `signal`, then reaps `pid`, escalating to SIGKILL after kStopTimeout.
void Terminate(pid_t pid, int signal) {
  const int pidfd = OpenPidFd(pid);
  kill(pid, signal);
  if (pidfd >= 0) {
    WaitReadable({{pidfd, POLLIN, 0}}, kStopTimeout);
    close(pidfd);
  }
  int status = 0;
  const pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid || (r < 0 && errno != EINTR)) return;
  kill(pid, SIGKILL);
  WaitFor(pid);
}

// A throwaway server owned by this process.
class PrivateServer {
 public:
  absl::StatusOr<PostgresServerInfo> Start();
  // Stops the server and removes its directories. Idempotent; a no-op in forked children.
  void Stop();

 private:
  absl::Status MakeDirectories();
  absl::Status RunInitdb(int log_fd);
  absl::Status StartPostmaster(int log_fd);
  void StartWatcher();
  absl::Status WaitUntilReady();
  // Prefixes `argv` with setpriv when the server must not run as the current (root) user.
  std::vector<std::string> AsServerUser(std::vector<std::string> argv) const;
  void RemoveDirectories();

  const pid_t owner_pid_ = getpid();
  bool drop_privileges_ = false;
  // /tmp/mp-pg-XXXXXX: the unix socket (sandboxed TEST_TMPDIR paths exceed the 107-byte limit).
  std::string run_dir_;
  // Parent of the data directory when it is not run_dir_ (under TEST_TMPDIR).
  std::string data_parent_;
  std::string data_dir_;
  std::string log_path_;
  std::string conninfo_;
  pid_t postmaster_ = -1;
  pid_t watcher_ = -1;
  int watcher_fd_ = -1;
  bool stopped_ = false;
};

PrivateServer* g_server = nullptr;

void StopPrivateServerAtExit() {
  if (g_server) g_server->Stop();
}

std::vector<std::string> PrivateServer::AsServerUser(std::vector<std::string> argv) const {
  if (!drop_privileges_) return argv;
  std::vector<std::string> wrapped = {kSetpriv, std::string("--reuid=") + kServerUser,
                                      std::string("--regid=") + kServerGroup, "--clear-groups"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

absl::Status PrivateServer::MakeDirectories() {
  uid_t uid = 0;
  gid_t gid = 0;
  if (drop_privileges_) {
    const passwd* user = getpwnam(kServerUser);
    const group* grp = getgrnam(kServerGroup);
    if (!user || !grp) {
      return absl::FailedPreconditionError(
          std::string("running as root, so PostgreSQL must run as ") + kServerUser + ":" +
          kServerGroup + ", but that user or group does not exist");
    }
    if (access(kSetpriv, X_OK) != 0) {
      return absl::FailedPreconditionError(
          std::string("running as root, so PostgreSQL must run as ") + kServerUser + " via " +
          kSetpriv + ", which is missing: apt-get install util-linux");
    }
    uid = user->pw_uid;
    gid = grp->gr_gid;
  }

  char run_template[] = "/tmp/mp-pg-XXXXXX";
  if (!mkdtemp(run_template)) return absl::InternalError(ErrnoText("mkdtemp /tmp/mp-pg-XXXXXX"));
  run_dir_ = run_template;
  if (drop_privileges_ && chown(run_dir_.c_str(), uid, gid) != 0) {
    return absl::FailedPreconditionError(
        "PostgreSQL refuses to run as root, and this root process cannot hand " + run_dir_ +
        " to " + kServerUser + " (" + ErrnoText("chown") +
        "). Inside Bazel's linux-sandbox pass `test --sandbox_fake_username` (see .bazelrc) so "
        "tests run as nobody; elsewhere run the test as a non-root user.");
  }

  // Data under TEST_TMPDIR (Bazel cleans it), unless `nobody` could not reach it there.
  const char* test_tmpdir = std::getenv("TEST_TMPDIR");
  if (test_tmpdir && *test_tmpdir && !drop_privileges_) {
    std::string data_template = std::string(test_tmpdir) + "/pgdata-XXXXXX";
    if (!mkdtemp(data_template.data())) {
      return absl::InternalError(ErrnoText("mkdtemp " + data_template));
    }
    data_parent_ = data_template;
    data_dir_ = data_parent_ + "/data";
  } else {
    data_dir_ = run_dir_ + "/data";
  }

  // The server log is kept as a test output when Bazel collects them.
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  log_path_ = (outputs && *outputs) ? std::string(outputs) + "/postgres.log" : run_dir_ + "/log";
  return absl::OkStatus();
}

absl::Status PrivateServer::RunInitdb(int log_fd) {
  const int dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const std::string bin = kPostgresBinDir;
  const pid_t pid =
      Spawn(AsServerUser({bin + "/initdb", "--pgdata=" + data_dir_,
                          std::string("--username=") + kSuperuser, "--auth=trust",
                          "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"}),
            run_dir_, dev_null, log_fd, /*new_session=*/false);
  close(dev_null);
  if (pid < 0) return absl::InternalError(ErrnoText("fork for initdb"));
  const int status = WaitFor(pid);
  if (status != 0) {
    return absl::InternalError("initdb failed (" + DescribeWaitStatus(status) + "); " + log_path_ +
                               ":\n" + FileTail(log_path_));
  }
  return absl::OkStatus();
}

absl::Status PrivateServer::StartPostmaster(int log_fd) {
  const int dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::vector<std::string> argv = {std::string(kPostgresBinDir) + "/postgres", "-D", data_dir_};
  // Unix socket only; durability off: the cluster is thrown away at exit.
  for (const std::string& setting : {
           std::string("listen_addresses="),
           "unix_socket_directories=" + run_dir_,
           std::string("port=") + kPort,
           std::string("fsync=off"),
           std::string("synchronous_commit=off"),
           std::string("full_page_writes=off"),
           std::string("wal_level=minimal"),
           std::string("max_wal_senders=0"),
           std::string("autovacuum=off"),
           std::string("huge_pages=off"),
           std::string("timezone=UTC"),
           std::string("log_timezone=UTC"),
       }) {
    argv.push_back("-c");
    argv.push_back(setting);
  }
  postmaster_ = Spawn(AsServerUser(std::move(argv)), run_dir_, dev_null, log_fd,
                      /*new_session=*/true);
  close(dev_null);
  if (postmaster_ < 0) return absl::InternalError(ErrnoText("fork for postgres"));
  return absl::OkStatus();
}

// A shell that waits on a socket this process holds open. A clean Stop() writes a line first;
// end-of-file without one means the process died without running exit handlers, so the
// watcher stops the postmaster and removes the directories itself.
void PrivateServer::StartWatcher() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return;
  // $1: the postmaster's pid; the other arguments: directories to remove.
  static constexpr char kScript[] = R"sh(
trap '' HUP INT QUIT TERM
if read -r line; then exit 0; fi
pid=$1; shift
# The postmaster leads its own process group: its backends go with it.
kill -QUIT -"$pid" 2>/dev/null
kill -QUIT "$pid" 2>/dev/null
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 1000 ]; do
  # A zombie counts as gone: whoever inherited it may be slow to reap it.
  case "$(cat /proc/$pid/stat 2>/dev/null)" in *") Z "*) break ;; esac
  sleep 0.01; i=$((i+1))
done
kill -KILL -"$pid" 2>/dev/null
kill -KILL "$pid" 2>/dev/null
rm -rf "$@"
)sh";
  std::vector<std::string> argv = {
      "/bin/sh", "-c", kScript, "mp-pg-watcher", std::to_string(postmaster_), run_dir_};
  if (!data_parent_.empty()) argv.push_back(data_parent_);
  const int dev_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  watcher_ = Spawn(argv, "/", fds[1], dev_null, /*new_session=*/true);
  close(dev_null);
  close(fds[1]);
  if (watcher_ < 0) {
    close(fds[0]);
    return;
  }
  watcher_fd_ = fds[0];
}

absl::Status PrivateServer::WaitUntilReady() {
  const auto deadline = Clock::now() + kStartTimeout;
  // The postmaster announces progress in files: the socket (and its lock file) appear in
  // run_dir_, and postmaster.pid is rewritten with "ready" once it accepts connections. Wait
  // for those events (or its exit) instead of polling on a timer.
  const int events = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (events >= 0) {
    inotify_add_watch(events, data_dir_.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE);
    inotify_add_watch(events, run_dir_.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE);
  }
  const int pidfd = OpenPidFd(postmaster_);
  absl::Status result;
  while (true) {
    if (PQping(conninfo_.c_str()) == PQPING_OK) break;
    int status = 0;
    if (waitpid(postmaster_, &status, WNOHANG) == postmaster_) {
      postmaster_ = -1;
      result = absl::InternalError("postgres exited during startup (" + DescribeWaitStatus(status) +
                                   "); " + log_path_ + ":\n" + FileTail(log_path_));
      break;
    }
    const auto now = Clock::now();
    if (now > deadline) {
      result = absl::DeadlineExceededError("postgres did not accept connections within " +
                                           std::to_string(kStartTimeout.count()) + " s; " +
                                           log_path_ + ":\n" + FileTail(log_path_));
      break;
    }
    std::vector<pollfd> fds;
    if (events >= 0) fds.push_back({events, POLLIN, 0});
    if (pidfd >= 0) fds.push_back({pidfd, POLLIN, 0});
    // Without inotify (not expected on Linux) the 20 ms cap turns this into a slow poll.
    WaitReadable(std::move(fds), events >= 0 ? deadline - now : std::chrono::milliseconds(20));
    if (events >= 0) {
      char buf[4096];
      while (read(events, buf, sizeof buf) > 0) {
      }
    }
  }
  if (events >= 0) close(events);
  if (pidfd >= 0) close(pidfd);
  return result;
}

absl::StatusOr<PostgresServerInfo> PrivateServer::Start() {
  const auto start = Clock::now();
  if (absl::Status s = CheckPostgresBinaries(kPostgresBinDir); !s.ok()) return s;
  drop_privileges_ = geteuid() == 0;
  g_server = this;
  std::atexit(StopPrivateServerAtExit);

  absl::Status status = MakeDirectories();
  int log_fd = -1;
  if (status.ok()) {
    log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) status = absl::InternalError(ErrnoText("open " + log_path_));
  }
  if (status.ok()) status = RunInitdb(log_fd);
  const auto initdb_done = Clock::now();
  if (status.ok()) status = StartPostmaster(log_fd);
  if (log_fd >= 0) close(log_fd);
  if (status.ok()) {
    StartWatcher();
    conninfo_ = "host=" + run_dir_ + " port=" + kPort + " user=" + kSuperuser +
                " dbname=postgres connect_timeout=10";
    status = WaitUntilReady();
  }
  if (!status.ok()) {
    Stop();
    return absl::Status(status.code(), "cannot start a private PostgreSQL 15 for this test: " +
                                           std::string(status.message()));
  }

  PostgresServerInfo info;
  info.conninfo = conninfo_;
  info.description = "private PostgreSQL 15 at " + run_dir_;
  info.is_private = true;
  info.startup_time = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  std::fprintf(
      stderr, "[postgres] %s (data %s%s) ready in %lld ms: initdb %lld ms, start %lld ms\n",
      info.description.c_str(), data_dir_.c_str(), drop_privileges_ ? ", running as nobody" : "",
      static_cast<long long>(info.startup_time.count()), Millis(initdb_done - start),
      Millis(Clock::now() - initdb_done));
  return info;
}

void PrivateServer::RemoveDirectories() {
  std::error_code ignored;
  if (!run_dir_.empty()) std::filesystem::remove_all(run_dir_, ignored);
  if (!data_parent_.empty()) std::filesystem::remove_all(data_parent_, ignored);
}

void PrivateServer::Stop() {
  if (stopped_ || getpid() != owner_pid_) return;
  stopped_ = true;
  // Immediate shutdown: nothing in the cluster is worth a checkpoint.
  if (postmaster_ > 0) Terminate(postmaster_, SIGQUIT);
  postmaster_ = -1;
  RemoveDirectories();
  if (watcher_fd_ >= 0) {
    send(watcher_fd_, "stopped\n", 8, MSG_NOSIGNAL);
    close(watcher_fd_);
    watcher_fd_ = -1;
  }
  if (watcher_ > 0) WaitFor(watcher_);
  watcher_ = -1;
}

absl::StatusOr<PostgresServerInfo> StartSharedServer() {
  const char* dsn = std::getenv("MP_TEST_PG_DSN");
  if (dsn && *dsn) {
    PostgresServerInfo info;
    info.conninfo = dsn;
    info.description = "MP_TEST_PG_DSN";
    // Schemas of runs that were killed before their TearDown; younger ones may be in use by a
    // run going on right now.
    absl::StatusOr<int> dropped = DropStaleTestSchemas(dsn, kStaleSchemaAge);
    std::fprintf(
        stderr, "[postgres] using the server named by MP_TEST_PG_DSN (%s)\n",
        dropped.ok()
            ? (std::to_string(*dropped) + " leftover test schema(s) older than 1 h dropped").c_str()
            : std::string(dropped.status().message()).c_str());
    return info;
  }
  // Leaked on purpose: the atexit handler may run after static destructors.
  return (new PrivateServer)->Start();
}

// The server of this process: started here (the supervisor, or a process without one).
absl::StatusOr<PostgresServerInfo> LocalSharedServer() {
  static const absl::StatusOr<PostgresServerInfo>* const server =
      new absl::StatusOr<PostgresServerInfo>(StartSharedServer());
  return *server;
}

// The supervisor's side of the "postgres" service: one server per test binary, started when
// the first case asks, outside every case budget. Reply: ok, conninfo, description, is_private,
// startup ms; or error, status code, message.
std::vector<std::string> ServePostgres() {
  const absl::StatusOr<PostgresServerInfo> server = LocalSharedServer();
  if (!server.ok()) {
    return {"error", std::to_string(static_cast<int>(server.status().code())),
            std::string(server.status().message())};
  }
  return {"ok", server->conninfo, server->description, server->is_private ? "1" : "0",
          std::to_string(server->startup_time.count())};
}

const bool registered = kit_internal::RegisterSupervisorService(kPostgresService, ServePostgres);

absl::StatusOr<PostgresServerInfo> DecodeReply(const std::vector<std::string>& reply) {
  int64_t number = 0;
  if (reply.size() == 5 && reply[0] == "ok" && absl::SimpleAtoi(reply[4], &number)) {
    PostgresServerInfo info;
    info.conninfo = reply[1];
    info.description = reply[2];
    info.is_private = reply[3] == "1";
    info.startup_time = std::chrono::milliseconds(number);
    return info;
  }
  if (reply.size() == 3 && reply[0] == "error" && absl::SimpleAtoi(reply[1], &number)) {
    return absl::Status(static_cast<absl::StatusCode>(number), reply[2]);
  }
  if (reply.size() == 2 && reply[0] == "error") return absl::UnavailableError(reply[1]);
  return absl::InternalError("malformed reply from the test supervisor to the postgres request");
}

// In a supervised child: the supervisor's server; elsewhere (MP_TEST_NO_SUPERVISOR, benches)
// this process's own.
absl::StatusOr<PostgresServerInfo> FindSharedServer() {
  (void)registered;
  std::optional<std::vector<std::string>> reply =
      kit_internal::RequestSupervisorService(kPostgresService);
  if (!reply) return LocalSharedServer();
  return DecodeReply(*reply);
}

}  // namespace

absl::Status CheckPostgresBinaries(const std::string& bin_dir) {
  std::string missing;
  for (const char* name : {"initdb", "postgres"}) {
    if (access((bin_dir + "/" + name).c_str(), X_OK) != 0) {
      missing += missing.empty() ? name : std::string(" and ") + name;
    }
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "PostgreSQL 15 server binaries not found: no executable " + missing + " in " + bin_dir +
      ". Install them with `apt-get install postgresql-15` (./bazelw installs it for you), or "
      "set MP_TEST_PG_DSN to the conninfo of a server to use instead.");
}

absl::StatusOr<PostgresServerInfo> SharedPostgresServer() {
  static const absl::StatusOr<PostgresServerInfo>* const server =
      new absl::StatusOr<PostgresServerInfo>(FindSharedServer());
  return *server;
}

std::string NewTestSchemaName() {
  return UniqueName(std::string(kTestSchemaPrefix) + std::to_string(time(nullptr)));
}

absl::StatusOr<int> DropStaleTestSchemas(const std::string& conninfo,
                                         std::chrono::seconds max_age) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  auto fail = [&](const std::string& what) {
    std::string message = PQerrorMessage(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    PQfinish(conn);
    return absl::UnavailableError("leftover test schemas not dropped: " + what + ": " + message);
  };
  if (PQstatus(conn) != CONNECTION_OK) return fail("cannot connect");
  const std::string pattern = std::string("^") + kTestSchemaPrefix + "[0-9]+_";
  const char* params[] = {pattern.c_str()};
  PGresult* found = PQexecParams(conn, "SELECT nspname FROM pg_namespace WHERE nspname ~ $1", 1,
                                 nullptr, params, nullptr, nullptr, 0);
  if (PQresultStatus(found) != PGRES_TUPLES_OK) {
    PQclear(found);
    return fail("cannot list schemas");
  }
  std::vector<std::string> stale;
  const int64_t now = time(nullptr);
  for (int i = 0; i < PQntuples(found); ++i) {
    const std::string name = PQgetvalue(found, i, 0);
    const size_t begin = std::strlen(kTestSchemaPrefix);
    int64_t created = 0;
    if (absl::SimpleAtoi(name.substr(begin, name.find('_', begin) - begin), &created) &&
        now - created > max_age.count()) {
      stale.push_back(name);
    }
  }
  PQclear(found);
  int dropped = 0;
  for (const std::string& name : stale) {
    // The name matched [a-z0-9_]: no quoting needed. Another run may drop it at the same time.
    PGresult* r = PQexec(
        conn,
        ("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + name + " CASCADE").c_str());
    if (PQresultStatus(r) == PGRES_COMMAND_OK) ++dropped;
    PQclear(r);
  }
  PQfinish(conn);
  return dropped;
}

}  // namespace mptest
