// Process hygiene: children start with stdio (and what they are given) only, however many
// threads are spawning and opening descriptors at the same time.

#include "testing/child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "testing/selftest/subprocess.h"

namespace mptest::kit_internal {
namespace {

TEST(ChildProcessTest, ChildrenSpawnedFromManyThreadsInheritOnlyStdio) {
  const std::string list_fds = selftest::RunfilesPath("testing/selftest/list_fds");
  std::atomic<bool> stop{false};
  // Careless code elsewhere in the process: descriptors opened without O_CLOEXEC, all the time.
  std::thread careless([&] {
    while (!stop) {
      int fds[2];
      if (pipe(fds) == 0) {
        close(fds[0]);
        close(fds[1]);
      }
    }
  });
  // A descriptor that stays open without O_CLOEXEC for the whole test.
  const int leaky = open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 3);
  std::vector<std::vector<std::string>> outputs(8);
  std::vector<std::thread> spawners;
  for (auto& out : outputs) {
    spawners.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        ChildProcess child;
        child.argv = {list_fds};
        child.capture_output = true;
        ChildExit exit = RunChildProcess(child);
        out.push_back(exit.wait_status == 0 ? exit.output : "failed to run");
      }
    });
  }
  for (auto& t : spawners) t.join();
  stop = true;
  careless.join();
  close(leaky);
  for (const auto& out : outputs) {
    ASSERT_EQ(out.size(), 25u);
    for (const auto& listing : out) EXPECT_EQ(listing, "0\n1\n2\n");
  }
}

TEST(ChildProcessTest, PassedDescriptorsArriveWhereAsked) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  ChildProcess child;
  child.argv = {selftest::RunfilesPath("testing/selftest/list_fds")};
  child.capture_output = true;
  child.pass_fds[7] = fds[0];
  ChildExit exit = RunChildProcess(child);
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(exit.wait_status, 0);
  EXPECT_EQ(exit.output, "0\n1\n2\n7\n");
}

TEST(ChildProcessTest, MissingProgramIsAnErrorNotAChild) {
  ChildProcess child;
  child.argv = {"/nonexistent/program"};
  EXPECT_LT(SpawnChildProcess(child), 0);
  EXPECT_EQ(RunChildProcess(child).wait_status, -1);
}

}  // namespace
}  // namespace mptest::kit_internal
