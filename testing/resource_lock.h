#ifndef TESTING_RESOURCE_LOCK_H_
#define TESTING_RESOURCE_LOCK_H_

// Resource groups: mp_cc_test(..., resources = ["postgres"]) makes the test main hold an
// exclusive lock per named resource for the whole binary, so tests (and shards) naming the
// same resource never run at the same time while every other test still runs in parallel
// (CTest's RESOURCE_LOCK; Bazel 4.2.3 has no resource locks of its own).
//
// The locks are flock(2)s on files in a directory every test on the machine sees: $MP_TEST_LOCK_DIR
// (pass it with --test_env) or /tmp/marketpipe-test-locks. The kernel drops a flock when its
// holder dies, however it dies, so a killed test never leaves a resource locked.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mptest::kit_internal {

class ResourceLocks {
 public:
  // Takes the locks of `resources` (sorted, so two tests never wait on each other), waiting as
  // long as another test holds one. Prints a line when it has to wait. InvalidArgument for a
  // name that is not [a-z0-9_-]+; an error naming the path when a lock file cannot be opened.
  static absl::StatusOr<ResourceLocks> Acquire(std::vector<std::string> resources);

  ResourceLocks(ResourceLocks&& other) noexcept : fds_(std::move(other.fds_)) {
    other.fds_.clear();
  }
  ResourceLocks& operator=(ResourceLocks&&) = delete;
  ~ResourceLocks();

 private:
  ResourceLocks() = default;
  std::vector<int> fds_;
};

// The directory the lock files live in.
std::string ResourceLockDir();

}  // namespace mptest::kit_internal

#endif  // TESTING_RESOURCE_LOCK_H_
