#include "testing/child_process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

extern char** environ;

namespace testing::kit_internal {

ChildExit RunChildProcess(const ChildProcess& child) {
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

  ChildExit result;
  int fds[2] = {-1, -1};
  if (child.capture_output && pipe(fds) != 0) return result;
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    if (child.capture_output) {
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      close(fds[0]);
      close(fds[1]);
    }
    execve(argv[0], argv.data(), envp.data());
    std::fprintf(stderr, "[ marketpipe ] cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
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

}  // namespace testing::kit_internal
