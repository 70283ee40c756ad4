// Stands in for a test binary under tools/test_setup/test-setup.sh (test_setup_test):
//   fake_test exit N          prints a line to stdout and one to stderr, exits N
//   fake_test env NAME...     prints NAME=value (or NAME unset) for each, then "cwd=<dir>"
//   fake_test outputs         leaves undeclared outputs and annotation parts, exits 0
//   fake_test dotfile         leaves one undeclared output, a dotfile, exits 0
//   fake_test wait-for-term   starts a child; both print "<who> ready <pid>", and on SIGTERM say
//                             so and die of it
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

void Write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

volatile sig_atomic_t got_term = 0;
void OnTerm(int) { got_term = 1; }

// Waits for SIGTERM without polling: sigsuspend with SIGTERM unblocked only there.
void AwaitTerm(const char* who) {
  std::printf("%s ready %d\n", who, static_cast<int>(getpid()));
  std::fflush(stdout);
  sigset_t blocked, waiting;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigprocmask(SIG_BLOCK, &blocked, &waiting);
  sigdelset(&waiting, SIGTERM);
  while (!got_term) sigsuspend(&waiting);
  std::printf("%s got SIGTERM\n", who);
  std::fflush(stdout);
}

// Dies of the signal, as a test without a handler would.
void DieOfTerm() {
  signal(SIGTERM, SIG_DFL);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_UNBLOCK, &term, nullptr);
  raise(SIGTERM);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "exit" && argc == 3) {
    std::printf("to stdout\n");
    std::fflush(stdout);
    std::fprintf(stderr, "to stderr\n");
    return std::atoi(argv[2]);
  }
  if (mode == "env") {
    for (int i = 2; i < argc; ++i) {
      const char* value = std::getenv(argv[i]);
      std::printf("%s%s%s\n", argv[i], value ? "=" : " unset", value ? value : "");
    }
    std::printf("cwd=%s\n", std::filesystem::current_path().c_str());
    return 0;
  }
  if (mode == "outputs") {
    const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    const char* annotations = std::getenv("TEST_UNDECLARED_OUTPUTS_ANNOTATIONS_DIR");
    if (!outputs || !annotations) return 2;
    Write(std::filesystem::path(outputs) / "a.txt", "hello");
    Write(std::filesystem::path(outputs) / "sub" / "b.txt", "0123456789");
    Write(std::filesystem::path(annotations) / "x.part", "one\n");
    Write(std::filesystem::path(annotations) / "y.part", "two\n");
    return 0;
  }
  if (mode == "dotfile") {
    const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    if (!outputs) return 2;
    Write(std::filesystem::path(outputs) / ".hidden", "abc");
    return 0;
  }
  if (mode == "wait-for-term") {
    struct sigaction action = {};
    action.sa_handler = OnTerm;
    sigaction(SIGTERM, &action, nullptr);
    const pid_t child = fork();  // single-threaded here: fork is safe
    if (child == 0) {
      AwaitTerm("grandchild");
      DieOfTerm();
      _exit(1);
    }
    int status = 0;
    AwaitTerm("child");
    waitpid(child, &status, 0);
    DieOfTerm();
    return 1;
  }
  std::fprintf(stderr,
               "usage: fake_test exit N | env NAME... | outputs | dotfile | wait-for-term\n");
  return 2;
}
