// tools/test_setup/test-setup.sh, run the way Bazel runs it (from an "exec root", relative
// paths in the environment) around tools/test_setup/fake_test: what Bazel's own script does
// for a test must still happen without its forks.
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/child_process.h"
#include "testing/environment.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Runfile(const std::string& path) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/" + std::getenv("TEST_WORKSPACE") + "/" + path;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every variable test-setup.sh reads, so the outer Bazel test's own never leak in.
const std::vector<std::string> kBazelVariables = {"TEST_TARGET",
                                                  "TEST_BINARY",
                                                  "TEST_SRCDIR",
                                                  "TEST_TMPDIR",
                                                  "TEST_WORKSPACE",
                                                  "RUNFILES_DIR",
                                                  "XML_OUTPUT_FILE",
                                                  "TEST_PREMATURE_EXIT_FILE",
                                                  "TEST_WARNINGS_OUTPUT_FILE",
                                                  "TEST_LOGSPLITTER_OUTPUT_FILE",
                                                  "TEST_INFRASTRUCTURE_FAILURE_FILE",
                                                  "TEST_UNUSED_RUNFILES_LOG_FILE",
                                                  "TEST_UNDECLARED_OUTPUTS_DIR",
                                                  "TEST_UNDECLARED_OUTPUTS_MANIFEST",
                                                  "TEST_UNDECLARED_OUTPUTS_ZIP",
                                                  "TEST_UNDECLARED_OUTPUTS_ANNOTATIONS",
                                                  "TEST_UNDECLARED_OUTPUTS_ANNOTATIONS_DIR",
                                                  "TEST_SHARD_STATUS_FILE",
                                                  "TEST_TOTAL_SHARDS",
                                                  "TEST_SHARD_INDEX",
                                                  "GTEST_SHARD_INDEX",
                                                  "GTEST_TOTAL_SHARDS",
                                                  "GTEST_SHARD_STATUS_FILE",
                                                  "GTEST_TMP_DIR",
                                                  "USER",
                                                  "HOME",
                                                  "COVERAGE_DIR",
                                                  "RUNTEST_PRESERVE_CWD",
                                                  "TEST_SHORT_EXEC_PATH",
                                                  "JAVA_RUNFILES",
                                                  "PYTHON_RUNFILES",
                                                  "RUNFILES_MANIFEST_FILE",
                                                  "RUNFILES_MANIFEST_ONLY",
                                                  "EXPERIMENTAL_SPLIT_XML_GENERATION",
                                                  "MP_TEST_SETUP_WATCH_SECONDS"};

struct WaitingForTerm;

class TestSetupTest : public ::testing::Test {
 protected:
  // The exec root: every path below is relative to it, as Bazel passes them.
  void SetUp() override {
    root_ = mptest::CaseTempDir();
    env_ = {{"TEST_TARGET", "//tools/test_setup:fake"},
            {"TEST_SRCDIR", std::getenv("TEST_SRCDIR")},
            {"TEST_WORKSPACE", std::getenv("TEST_WORKSPACE")},
            {"TEST_TMPDIR", "out/_tmp"},
            {"XML_OUTPUT_FILE", "out/xml/test.xml"},
            {"TEST_UNDECLARED_OUTPUTS_DIR", "out/test.outputs"},
            {"TEST_UNDECLARED_OUTPUTS_MANIFEST", "out/test.outputs_manifest/MANIFEST"},
            {"TEST_UNDECLARED_OUTPUTS_ZIP", "out/test.outputs/outputs.zip"},
            {"TEST_UNDECLARED_OUTPUTS_ANNOTATIONS", "out/test.outputs_manifest/ANNOTATIONS"},
            {"TEST_UNDECLARED_OUTPUTS_ANNOTATIONS_DIR", "out/test.outputs_manifest"},
            {"EXPERIMENTAL_SPLIT_XML_GENERATION", "1"}};
  }

  mptest::kit_internal::ChildProcess Command(const std::vector<std::string>& fake_args) {
    mptest::kit_internal::ChildProcess child;
    // Bazel starts the script in the exec root with the test's path relative to the runfiles.
    child.argv = {"/bin/bash",
                  "-c",
                  "cd \"$0\" && exec \"$@\"",
                  root_.string(),
                  Runfile("tools/test_setup/test-setup.sh"),
                  "./tools/test_setup/fake_test"};
    child.argv.insert(child.argv.end(), fake_args.begin(), fake_args.end());
    child.unset_env = kBazelVariables;
    child.set_env = env_;
    return child;
  }

  // Starts the script on `fake_test wait-for-term` with both streams on a pipe `script` reads.
  void StartWaitingForTerm(WaitingForTerm& script);

  mptest::kit_internal::ChildExit Run(const std::vector<std::string>& fake_args) {
    auto child = Command(fake_args);
    child.capture_output = true;
    return mptest::kit_internal::RunChildProcess(child);
  }

  fs::path root_;
  std::map<std::string, std::string> env_;
};

int ExitCode(const mptest::kit_internal::ChildExit& exit) {
  return WIFEXITED(exit.wait_status) ? WEXITSTATUS(exit.wait_status) : -1;
}

// `unzip -Z1 ZIP`: the archive's member names, one per line.
mptest::kit_internal::ChildExit ZipListing(const fs::path& zip) {
  mptest::kit_internal::ChildProcess unzip;
  unzip.argv = {"/usr/bin/unzip", "-Z1", zip.string()};
  unzip.capture_output = true;
  return mptest::kit_internal::RunChildProcess(unzip);
}

TEST_F(TestSetupTest, PassesTheTestsExitCodeAndBothStreamsUnderBazelsHeader) {
  for (const int code : {0, 1, 3}) {
    const auto exit = Run({"exit", std::to_string(code)});
    EXPECT_EQ(ExitCode(exit), code) << exit.output;
    EXPECT_THAT(exit.output, HasSubstr("Executing tests from //tools/test_setup:fake\n"
                                       "-----------------------------------------------------"));
    EXPECT_THAT(exit.output, HasSubstr("to stdout\n"));
    EXPECT_THAT(exit.output, HasSubstr("to stderr\n"));
  }
}

TEST_F(TestSetupTest, RunsTheTestInItsRunfilesWithAbsolutePaths) {
  env_["HOME"] = "not/absolute";  // replaced by TEST_TMPDIR
  const auto exit = Run({"env", "TEST_TMPDIR", "XML_OUTPUT_FILE", "TEST_UNDECLARED_OUTPUTS_DIR",
                         "GTEST_TMP_DIR", "HOME", "TEST_UNDECLARED_OUTPUTS_ZIP"});
  ASSERT_EQ(ExitCode(exit), 0) << exit.output;
  const std::string out = (root_ / "out").string();
  EXPECT_THAT(exit.output, HasSubstr("TEST_TMPDIR=" + out + "/_tmp\n"));
  EXPECT_THAT(exit.output, HasSubstr("GTEST_TMP_DIR=" + out + "/_tmp\n"));
  EXPECT_THAT(exit.output, HasSubstr("HOME=" + out + "/_tmp\n"));
  EXPECT_THAT(exit.output, HasSubstr("XML_OUTPUT_FILE=" + out + "/xml/test.xml\n"));
  EXPECT_THAT(exit.output, HasSubstr("TEST_UNDECLARED_OUTPUTS_DIR=" + out + "/test.outputs\n"));
  // Only the script itself zips: the test does not see where.
  EXPECT_THAT(exit.output, HasSubstr("TEST_UNDECLARED_OUTPUTS_ZIP unset\n"));
  EXPECT_THAT(exit.output, HasSubstr("cwd=" + fs::canonical(Runfile("")).string() + "\n"));
}

TEST_F(TestSetupTest, CreatesTheDirectoriesTheTestWritesTo) {
  ASSERT_FALSE(fs::exists(root_ / "out"));
  ASSERT_EQ(ExitCode(Run({"exit", "0"})), 0);
  for (const char* dir : {"out/_tmp", "out/xml", "out/test.outputs", "out/test.outputs_manifest"}) {
    EXPECT_TRUE(fs::is_directory(root_ / dir)) << dir;
  }
}

TEST_F(TestSetupTest, TellsGoogleTestItsShardAndCreatesTheStatusFilesDirectory) {
  env_["TEST_TOTAL_SHARDS"] = "3";
  env_["TEST_SHARD_INDEX"] = "2";
  env_["TEST_SHARD_STATUS_FILE"] = "out/shard/status";
  const auto exit = Run({"env", "GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS"});
  ASSERT_EQ(ExitCode(exit), 0) << exit.output;
  EXPECT_THAT(exit.output, HasSubstr("GTEST_SHARD_INDEX=2\nGTEST_TOTAL_SHARDS=3\n"));
  EXPECT_TRUE(fs::is_directory(root_ / "out/shard"));
}

TEST_F(TestSetupTest, UnshardedTestGetsNoShardVariables) {
  const auto exit = Run({"env", "GTEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS"});
  EXPECT_THAT(exit.output, HasSubstr("GTEST_SHARD_INDEX unset\nGTEST_TOTAL_SHARDS unset\n"));
}

TEST_F(TestSetupTest, SetsUserToTheAccountTheTestRunsAsUnlessBazelPassedOne) {
  const passwd* account = getpwuid(geteuid());
  ASSERT_NE(account, nullptr);
  EXPECT_THAT(Run({"env", "USER"}).output,
              HasSubstr("USER=" + std::string(account->pw_name) + "\n"));
  env_["USER"] = "someone_else";
  EXPECT_THAT(Run({"env", "USER"}).output, HasSubstr("USER=someone_else\n"));
}

TEST_F(TestSetupTest, FindsTheUserWithoutWhoami) {
  // Nothing on PATH but sleep (the orphan watcher's): the name must come from /etc/passwd.
  const fs::path bin = root_ / "bin";
  fs::create_directories(bin);
  fs::create_symlink("/bin/sleep", bin / "sleep");
  for (const char* dir : {"out/_tmp", "out/xml", "out/test.outputs", "out/test.outputs_manifest"}) {
    fs::create_directories(root_ / dir);
  }
  env_["PATH"] = bin.string();
  const passwd* account = getpwuid(geteuid());
  ASSERT_NE(account, nullptr);
  const auto exit = Run({"env", "USER"});
  EXPECT_EQ(ExitCode(exit), 0) << exit.output;
  EXPECT_THAT(exit.output, HasSubstr("USER=" + std::string(account->pw_name) + "\n"));
}

TEST_F(TestSetupTest, ZipsUndeclaredOutputsAndListsThemWithSizesAndTypes) {
  const auto exit = Run({"outputs"});
  ASSERT_EQ(ExitCode(exit), 0) << exit.output;
  EXPECT_EQ(Slurp(root_ / "out/test.outputs_manifest/MANIFEST"),
            "a.txt\t5\ttext/plain\nsub/b.txt\t10\ttext/plain\n");
  EXPECT_EQ(Slurp(root_ / "out/test.outputs_manifest/ANNOTATIONS"), "one\ntwo\n");
  const auto listing = ZipListing(root_ / "out/test.outputs/outputs.zip");
  ASSERT_EQ(ExitCode(listing), 0) << listing.output;
  EXPECT_THAT(listing.output, HasSubstr("a.txt\n"));
  EXPECT_THAT(listing.output, HasSubstr("sub/b.txt\n"));
}

TEST_F(TestSetupTest, ZipsAnOutputThatIsOnlyADotfile) {
  const auto exit = Run({"dotfile"});
  ASSERT_EQ(ExitCode(exit), 0) << exit.output;
  EXPECT_EQ(Slurp(root_ / "out/test.outputs_manifest/MANIFEST"), ".hidden\t3\ttext/plain\n");
  const auto listing = ZipListing(root_ / "out/test.outputs/outputs.zip");
  ASSERT_EQ(ExitCode(listing), 0) << listing.output;
  EXPECT_EQ(listing.output, ".hidden\n");
}

// Without --experimental_split_xml_generation the script itself writes test.xml for a test that
// did not. (The output it tees into that file may or may not have arrived by then, in Bazel's
// script as in ours: not checked.)
TEST_F(TestSetupTest, WritesTestXmlForATestThatDidNotWhenXmlIsNotSplit) {
  env_.erase("EXPERIMENTAL_SPLIT_XML_GENERATION");
  env_["TEST_BINARY"] = "tools/test_setup/fake_test";
  const auto exit = Run({"exit", "3"});
  EXPECT_EQ(ExitCode(exit), 3) << exit.output;
  const std::string xml = Slurp(root_ / "out/xml/test.xml");
  EXPECT_THAT(xml, HasSubstr("<testsuite name=\"tools/test_setup/fake_test\""));
  EXPECT_THAT(xml, HasSubstr("errors=\"1\""));
  EXPECT_THAT(xml, HasSubstr("<error message=\"exited with error code 3\"></error>"));
  EXPECT_FALSE(fs::exists(root_ / "out/xml/test.xml.log"));
}

TEST_F(TestSetupTest, LeavesNoManifestZipOrAnnotationsWhenTheTestLeftNoOutputs) {
  ASSERT_EQ(ExitCode(Run({"exit", "0"})), 0);
  EXPECT_FALSE(fs::exists(root_ / "out/test.outputs_manifest/MANIFEST"));
  EXPECT_FALSE(fs::exists(root_ / "out/test.outputs_manifest/ANNOTATIONS"));
  EXPECT_FALSE(fs::exists(root_ / "out/test.outputs/outputs.zip"));
}

// The script running `fake_test wait-for-term`, its stdout and stderr on one pipe read here.
struct WaitingForTerm {
  pid_t pid = -1;
  int fd = -1;
  std::string output;
  bool stuck = false;  // 20 s passed without a byte

  ~WaitingForTerm() {
    if (fd >= 0) close(fd);
  }
  // Waits for the next bytes and appends them: false at the end of the output, or after 20 s
  // without a byte (then `stuck`).
  bool ReadMore() {
    char buf[512];
    for (;;) {
      pollfd readable = {fd, POLLIN, 0};
      if (poll(&readable, 1, 20'000) == 0) {
        stuck = true;
        return false;
      }
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        output.append(buf, static_cast<size_t>(n));
        return true;
      }
      if (n == 0 || errno != EINTR) return false;
    }
  }
  // Reads until `marker` arrived (true) or ReadMore gives up (false).
  bool ReadUntil(const std::string& marker) {
    while (output.find(marker) == std::string::npos) {
      if (!ReadMore()) return false;
    }
    return true;
  }
};

void TestSetupTest::StartWaitingForTerm(WaitingForTerm& script) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  auto child = Command({"wait-for-term"});
  child.pass_fds = {{1, fds[1]}, {2, fds[1]}};
  script.pid = mptest::kit_internal::SpawnChildProcess(child);
  close(fds[1]);
  script.fd = fds[0];
  ASSERT_GT(script.pid, 0);
}

// A timeout: Bazel sends SIGTERM to the script, which passes it to the test's process group.
TEST_F(TestSetupTest, PassesATimeoutsSigtermToTheTestAndItsChildren) {
  WaitingForTerm script;
  ASSERT_NO_FATAL_FAILURE(StartWaitingForTerm(script));
  // A script that stopped passing SIGTERM on leaves the fake waiting: `stuck` after 20 s.
  const bool ready = script.ReadUntil("child ready") && script.ReadUntil("grandchild ready");
  if (ready) kill(script.pid, SIGTERM);
  while (script.ReadMore()) {
  }                                             // to the end of the output
  if (script.stuck) kill(script.pid, SIGKILL);  // its orphan watcher then ends the fake's group
  int status = 0;
  waitpid(script.pid, &status, 0);
  const std::string& output = script.output;
  ASSERT_TRUE(ready) << output;
  ASSERT_FALSE(script.stuck) << "no output for 20 s after SIGTERM: " << output;
  EXPECT_THAT(output, HasSubstr("-- Test timed out at "));
  EXPECT_THAT(output, HasSubstr("\nchild got SIGTERM\n"));
  EXPECT_THAT(output, HasSubstr("\ngrandchild got SIGTERM\n"));
  // The test died of the signal; the script reports it as its exit status: 128 + SIGTERM.
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM) << status;
}

// Whether `pid` has ended: gone, or a zombie nobody reaped yet.
bool Ended(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || line.substr(paren + 2, 1) == "Z";
}

// Bazel's legacy process wrapper may SIGKILL the script alone, which cannot pass anything on;
// then its orphan watcher notices within one period and SIGKILLs the test's process group.
TEST_F(TestSetupTest, OrphanWatcherEndsTheTestAndItsChildrenWhenTheScriptIsKilled) {
  env_["MP_TEST_SETUP_WATCH_SECONDS"] = "0.1";
  WaitingForTerm script;
  ASSERT_NO_FATAL_FAILURE(StartWaitingForTerm(script));
  std::map<std::string, pid_t> pids;  // "child", "grandchild"
  while (pids.size() < 2) {
    ASSERT_TRUE(script.ReadMore())
        << "no \"ready\" from both (stuck " << script.stuck << "): " << script.output;
    std::istringstream lines(script.output);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string who, word;
      pid_t p = 0;
      if (words >> who >> word >> p && word == "ready") pids[who] = p;
    }
  }
  ASSERT_EQ(pids.count("child") + pids.count("grandchild"), 2u) << script.output;
  kill(script.pid, SIGKILL);
  int status = 0;
  waitpid(script.pid, &status, 0);
  // Both were waiting for a SIGTERM that never comes: only the watcher's SIGKILL ends them.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!(Ended(pids["child"]) && Ended(pids["grandchild"])) &&
         std::chrono::steady_clock::now() < deadline) {
    poll(nullptr, 0, 20);
  }
  const bool ended = Ended(pids["child"]) && Ended(pids["grandchild"]);
  if (!ended) {  // do not leave them behind
    kill(pids["child"], SIGKILL);
    kill(pids["grandchild"], SIGKILL);
  }
  EXPECT_TRUE(ended) << "the test's processes outlived the killed script by 20 s: "
                     << script.output;
}

}  // namespace
