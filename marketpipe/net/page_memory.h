#ifndef MARKETPIPE_NET_PAGE_MEMORY_H_
#define MARKETPIPE_NET_PAGE_MEMORY_H_

#include "absl/status/status.h"

namespace marketpipe::net {

// Keeps freed page-sized blocks (response bodies and parsed pages, ~1 MB per 10,000-bar page)
// in the process, so the next page reuses memory that is already mapped instead of faulting
// fresh pages in from the kernel one 4 KiB page at a time.
//
// Why: glibc serves blocks over its mmap threshold with mmap, and trims the top of the heap
// back to the kernel once more than its trim threshold is free there. Both thresholds adapt to
// the largest freed block (about 1 and 2 MB for our pages), so whether a page's buffers come
// back warm or fault in again depends on where the previous page's blocks happened to lie:
// measured with //bench:alpaca_parse_bench, a fresh 10,000-bar page faulted 236 pages (~15 % of
// the parse) with the transport's padded body and ~1 with an unpadded one, by layout alone.
// After this call, blocks up to kMmapThresholdBytes come from the heap and up to
// kTrimThresholdBytes of free heap stay mapped: every page costs the same, with no faults.
//
// Process-wide (mallopt): call it once at the start of a binary's main(), before threads, as
// `marketpipe` does. Libraries never call it. FAILED_PRECONDITION if the allocator refuses (as
// ASan's does: it brings its own malloc).
absl::Status RetainPageMemory();

// Blocks up to this size come from the heap: twice HttpClient's default max_response_bytes.
inline constexpr int kMmapThresholdBytes = 16 << 20;
// Free memory at the top of the heap kept mapped (glibc's default is dynamic, ~2 MB here).
inline constexpr int kTrimThresholdBytes = 64 << 20;

}  // namespace marketpipe::net

#endif  // MARKETPIPE_NET_PAGE_MEMORY_H_
