#include "marketpipe/cli/cli_process.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace marketpipe::cli::clitest {
namespace {

[[noreturn]] void ExecChild(const Invocation& inv) {
  if (!inv.cwd.empty() && chdir(inv.cwd.c_str()) != 0) _exit(127);
  for (const std::string& name : inv.unset_env) unsetenv(name.c_str());
  for (const auto& [name, value] : inv.set_env) setenv(name.c_str(), value.c_str(), 1);
  const std::string binary = MarketpipeBinary();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& arg : inv.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  _exit(127);
}

}  // namespace

std::string MarketpipeBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const std::string root = srcdir != nullptr ? srcdir : ".";
  return root + "/marketpipe/marketpipe/cli/marketpipe";
}

Process::Process(const Invocation& inv) {
  if (inv.pty) {
    int master = -1;
    pid_ = forkpty(&master, nullptr, nullptr, nullptr);
    if (pid_ < 0) throw std::runtime_error("forkpty failed");
    if (pid_ == 0) ExecChild(inv);
    out_fd_ = master;
    return;
  }
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    ExecChild(inv);
  }
  close(out[1]);
  close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
}

Process::~Process() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

bool Process::ReadSome() {
  pollfd fds[2];
  int n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n == 0) return false;
  // A generous safety net against a hung child, not a timing assertion.
  if (poll(fds, n, 120'000) <= 0) return false;
  for (int i = 0; i < n; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char buf[8192];
    const ssize_t got = read(fds[i].fd, buf, sizeof buf);
    std::string& sink = fds[i].fd == out_fd_ ? out_ : err_;
    if (got > 0) {
      sink.append(buf, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {  // EOF, or EIO when a pty's child has gone
      int& fd = fds[i].fd == out_fd_ ? out_fd_ : err_fd_;
      close(fd);
      fd = -1;
    }
  }
  return true;
}

void Process::Signal(int signal) { kill(pid_, signal); }

Outcome Process::Wait() {
  while (ReadSome()) {
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  Outcome o;
  o.out = std::move(out_);
  o.err = std::move(err_);
  if (WIFEXITED(status)) {
    o.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    o.signal = WTERMSIG(status);
  }
  return o;
}

Outcome Run(const Invocation& invocation) {
  Process p(invocation);
  return p.Wait();
}

std::vector<std::string> ListTree(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    out.push_back(std::filesystem::relative(entry.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace marketpipe::cli::clitest
