// Resource groups: two test binaries naming the same resource never overlap; with different
// resources (or none) they run at the same time. The fixture binary stands in for two test
// targets Bazel would start in parallel; each step waits on the other process's output, never
// on a clock.

#include "testing/resource_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>

#include "testing/child_process.h"
#include "testing/environment.h"
#include "testing/selftest/subprocess.h"

namespace mptest::kit_internal {
namespace {

struct Proc {
  pid_t pid = -1;
  int out = -1;
  std::string output;
};

class ResourceLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = CaseTempDir();
    fifo_ = dir + "/release";
    ASSERT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
    release_ = open(fifo_.c_str(), O_RDWR | O_CLOEXEC);  // O_RDWR: does not wait for a reader
    ASSERT_GE(release_, 0);
    lock_dir_ = dir + "/locks";
  }
  void TearDown() override { close(release_); }

  // Starts the fixture binary running `filter` with `flags`.
  Proc Start(const std::string& filter, const std::string& flags) {
    ChildProcess child;
    child.argv = {selftest::RunfilesPath("testing/selftest/kit_fixture_cases"),
                  "--gtest_filter=" + filter};
    if (!flags.empty()) child.argv.push_back(flags);
    child.unset_env = {"TEST_TOTAL_SHARDS",       "TEST_SHARD_INDEX", "GTEST_TOTAL_SHARDS",
                       "GTEST_SHARD_INDEX",       "XML_OUTPUT_FILE",  "TEST_SHARD_STATUS_FILE",
                       "TEST_PREMATURE_EXIT_FILE"};
    child.set_env = {{"MP_TEST_LOCK_DIR", lock_dir_}, {"MP_FIXTURE_RELEASE_FIFO", fifo_}};
    int out[2];
    Proc p;
    if (pipe2(out, O_CLOEXEC) != 0) return p;
    child.pass_fds = {{1, out[1]}, {2, out[1]}};
    p.pid = SpawnChildProcess(child);
    close(out[1]);
    p.out = out[0];
    return p;
  }

  // Reads `p`'s output until `text` appears (true) or it ends (false).
  static bool ReadUntil(Proc& p, const std::string& text) {
    char buf[4096];
    while (p.output.find(text) == std::string::npos) {
      const ssize_t n = read(p.out, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p.output.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  // Reads `p`'s output to the end and returns its exit code.
  static int Finish(Proc& p) {
    ReadUntil(p, std::string(1, '\0'));  // never printed: reads to the end
    close(p.out);
    int status = 0;
    while (waitpid(p.pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void Release() { ASSERT_EQ(write(release_, "x", 1), 1); }

  std::string fifo_, lock_dir_;
  int release_ = -1;
};

TEST_F(ResourceLockTest, TestsNamingTheSameResourceNeverOverlap) {
  Proc holder = Start("Resources.HoldUntilReleased", "--mp_resources=pg");
  ASSERT_TRUE(ReadUntil(holder, "HOLDING")) << holder.output;
  Proc waiter = Start("Resources.Quick", "--mp_resources=other,pg");
  // It takes "other", then waits for "pg" and runs nothing while the holder is in its case.
  ASSERT_TRUE(ReadUntil(waiter, "waiting for resource \"pg\"")) << waiter.output;
  EXPECT_EQ(waiter.output.find("RAN"), std::string::npos) << waiter.output;
  Release();
  EXPECT_EQ(Finish(holder), 0) << holder.output;
  EXPECT_EQ(Finish(waiter), 0) << waiter.output;
  EXPECT_NE(waiter.output.find("RAN Resources.Quick"), std::string::npos) << waiter.output;
}

TEST_F(ResourceLockTest, TestsWithoutACommonResourceRunAtTheSameTime) {
  Proc holder = Start("Resources.HoldUntilReleased", "--mp_resources=pg");
  ASSERT_TRUE(ReadUntil(holder, "HOLDING")) << holder.output;
  // Both finish while the holder is still inside its case (it waits for Release below).
  Proc other = Start("Resources.Quick", "--mp_resources=other");
  Proc ungrouped = Start("Resources.Quick", "");
  EXPECT_EQ(Finish(other), 0) << other.output;
  EXPECT_EQ(Finish(ungrouped), 0) << ungrouped.output;
  EXPECT_NE(other.output.find("RAN Resources.Quick"), std::string::npos) << other.output;
  EXPECT_NE(ungrouped.output.find("RAN Resources.Quick"), std::string::npos) << ungrouped.output;
  Release();
  EXPECT_EQ(Finish(holder), 0) << holder.output;
}

TEST_F(ResourceLockTest, BadResourceNameIsAClearError) {
  auto locks = ResourceLocks::Acquire({"../etc"});
  ASSERT_FALSE(locks.ok());
  EXPECT_NE(locks.status().message().find("\"../etc\""), std::string::npos);
}

}  // namespace
}  // namespace mptest::kit_internal
