#ifndef MARKETPIPE_FUZZ_FUZZ_CHECK_H_
#define MARKETPIPE_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

// An invariant of the code under fuzzing. A violation aborts, which libFuzzer reports as a
// crash (saving the input) and the corpus replay test as a failed case.
#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

#endif  // MARKETPIPE_FUZZ_FUZZ_CHECK_H_
