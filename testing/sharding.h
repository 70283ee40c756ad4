#ifndef TESTING_SHARDING_H_
#define TESTING_SHARDING_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mptest::sharding {

// Recorded case durations for one test target, read from a timing manifest.
//
// Manifest format (tab-separated, written by //tools/test_timing):
//   # comment
//   <target label or *>\t<Suite.Case>\t<duration in milliseconds, decimal>
// Lines for other targets are ignored; a later line for the same case wins.
struct Timings {
  std::map<std::string, double> millis_by_case;
};

// Parses manifest text for `target` (e.g. "//marketpipe/core:price_test"). A malformed line is an
// error naming the line number and its text.
bool ParseManifest(std::string_view text, std::string_view target, Timings* out,
                   std::string* error);

// Cases (in declaration order) that shard `index` of `total` runs. Every case lands in exactly
// one shard. Without timings: round-robin. With timings: longest first onto the least loaded
// shard (ties: lower shard index, then declaration order); unknown cases cost the mean of the
// known ones (1 ms when none is known).
std::vector<std::string> CasesForShard(const std::vector<std::string>& cases, int index, int total,
                                       const Timings* timings);

}  // namespace mptest::sharding

#endif  // TESTING_SHARDING_H_
