#include "marketpipe/net/page_memory.h"

#include <malloc.h>

namespace marketpipe::net {

absl::Status RetainPageMemory() {
  // Setting either threshold also turns off glibc's dynamic adjustment of both.
  if (mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes) != 1 ||
      mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes) != 1) {
    return absl::FailedPreconditionError("mallopt refused the page-memory thresholds");
  }
  return absl::OkStatus();
}

}  // namespace marketpipe::net
