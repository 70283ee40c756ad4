#include "testing/resource_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"

namespace mptest::kit_internal {

std::string ResourceLockDir() {
  const char* dir = std::getenv("MP_TEST_LOCK_DIR");
  return dir && *dir ? dir : "/tmp/marketpipe-test-locks";
}

absl::StatusOr<ResourceLocks> ResourceLocks::Acquire(std::vector<std::string> resources) {
  std::sort(resources.begin(), resources.end());
  resources.erase(std::unique(resources.begin(), resources.end()), resources.end());
  ResourceLocks locks;
  if (resources.empty()) return locks;
  const std::string dir = ResourceLockDir();
  // Sticky and world-writable like /tmp: tests may run as different users (nobody in the
  // sandbox, root outside it).
  if (mkdir(dir.c_str(), 01777) == 0) chmod(dir.c_str(), 01777);
  for (const std::string& name : resources) {
    const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    if (!valid) {
      return absl::InvalidArgumentError("resource name \"" + name +
                                        "\" must be lowercase letters, digits, '_' or '-'");
    }
    const std::string path = dir + "/" + name + ".lock";
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
      return absl::FailedPreconditionError("cannot open resource lock " + path + ": " +
                                           std::strerror(errno));
    }
    fchmod(fd, 0666);  // whatever the umask: the next test may be another user
    locks.fds_.push_back(fd);
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) continue;
    std::printf("[ marketpipe ] waiting for resource \"%s\" (%s): another test holds it\n",
                name.c_str(), path.c_str());
    std::fflush(stdout);
    while (flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        return absl::FailedPreconditionError("cannot lock " + path + ": " + std::strerror(errno));
      }
    }
    std::printf("[ marketpipe ] resource \"%s\" acquired\n", name.c_str());
    std::fflush(stdout);
  }
  return locks;
}

ResourceLocks::~ResourceLocks() {
  for (int fd : fds_) close(fd);  // closing the last descriptor releases the flock
}

}  // namespace mptest::kit_internal
