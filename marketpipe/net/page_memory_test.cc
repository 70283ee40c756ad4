#include "marketpipe/net/page_memory.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

namespace marketpipe::net {
namespace {

long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// One page's worth of work as the fetch does it: the transport's padded body, then the parsed
// bars (both ~1 MB, written in full), freed in reverse order before the next page arrives.
void OnePage() {
  constexpr size_t kBody = 1'057'156, kBars = 1'057'056;  // a 10,000-bar page, as measured
  char* body = static_cast<char*>(std::malloc(kBody));
  std::memset(body, 'b', kBody);
  char* bars = static_cast<char*>(std::malloc(kBars));
  std::memset(bars, 'p', kBars);
  // Keep the writes: the compiler may not drop them with the frees.
  asm volatile("" : : "r"(body), "r"(bars) : "memory");
  std::free(bars);
  std::free(body);
}

// ASan and TSan bring their own malloc (ASan's mallopt refuses): nothing to test there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SKIP_UNDER_SANITIZERS() GTEST_SKIP() << "the sanitizer's malloc has no glibc thresholds"
#else
#define SKIP_UNDER_SANITIZERS() (void)0
#endif

TEST(PageMemoryTest, PagesAfterTheFirstFaultNoMemoryIn) {
  SKIP_UNDER_SANITIZERS();
  ASSERT_TRUE(RetainPageMemory().ok());
  OnePage();  // the first page maps its memory
  const long before = MinorFaults();
  for (int page = 0; page < 20; ++page) OnePage();
  // glibc's defaults fault ~236 pages in for every page here (the bars block, trimmed away).
  EXPECT_LT(MinorFaults() - before, 20);
}

TEST(PageMemoryTest, CanBeCalledAgain) {
  SKIP_UNDER_SANITIZERS();
  EXPECT_TRUE(RetainPageMemory().ok());
  EXPECT_TRUE(RetainPageMemory().ok());
}

}  // namespace
}  // namespace marketpipe::net
