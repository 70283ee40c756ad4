#include "testing/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

extern char** environ;

namespace mptest::kit_internal {

pid_t SpawnChildProcess(const ChildProcess& child) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv(*e);
    const std::string key = kv.substr(0, kv.find('='));
    const bool unset =
        std::find(child.unset_env.begin(), child.unset_env.end(), key) != child.unset_env.end();
    if (!unset && !child.set_env.count(key)) env.push_back(kv);
  }
  for (const auto& [key, value] : child.set_env) env.push_back(key + "=" + value);
  std::vector<std::string> args = child.argv;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int highest = 2;
  for (const auto& [target, source] : child.pass_fds) {
    // dup2 onto itself would keep FD_CLOEXEC; glibc clears it for that case, as POSIX says.
    posix_spawn_file_actions_adddup2(&actions, source, target);
    highest = std::max(highest, target);
  }
  // Descriptors opened without O_CLOEXEC by any thread (a library, a careless test) stay here.
  posix_spawn_file_actions_addclosefrom_np(&actions, highest + 1);
  // Signals this process blocks (the kit's child blocks SIGUSR1 for its stall reporter) are
  // not blocked in the new program (PostgreSQL, for one, relies on SIGUSR1).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  return pid;
}

ChildExit RunChildProcess(const ChildProcess& child) {
  ChildExit result;
  ChildProcess spec = child;
  int fds[2] = {-1, -1};
  if (child.capture_output) {
    if (pipe2(fds, O_CLOEXEC) != 0) return result;
    spec.pass_fds[1] = fds[1];
    spec.pass_fds[2] = fds[1];
  }
  const pid_t pid = SpawnChildProcess(spec);
  if (child.capture_output) {
    close(fds[1]);
    if (pid > 0) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) result.output.append(buf, static_cast<size_t>(n));
      }
    }
    close(fds[0]);
  }
  if (pid < 0) return result;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.wait_status = status;
  return result;
}

}  // namespace mptest::kit_internal
