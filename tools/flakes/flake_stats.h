#ifndef TOOLS_FLAKES_FLAKE_STATS_H_
#define TOOLS_FLAKES_FLAKE_STATS_H_

#include <map>
#include <string>
#include <vector>

#include "tools/test_timing/test_xml.h"

namespace marketpipe::flakes {

// One run of one shard of a target: its cases (from test.xml) and the shuffle seed it used.
struct ShardRun {
  std::string label;
  int run = 1;
  std::string seed;  // gtest's "Randomizing tests' orders with a seed of N"; "" if unknown
  std::vector<test_timing::CaseResult> cases;
};

struct CaseStats {
  std::string label;
  std::string name;
  int runs = 0;
  int failures = 0;
  std::vector<std::string> failing_seeds;  // "run 3 (seed 1234)"
  bool flaky() const { return failures > 0 && failures < runs; }
  bool always_fails() const { return runs > 0 && failures == runs; }
  double failure_rate() const { return runs ? static_cast<double>(failures) / runs : 0; }
};

// Tallies every case over the runs; sorted by label, then failure rate (highest first), then
// name. Skipped cases are not counted.
std::vector<CaseStats> Tally(const std::vector<ShardRun>& runs);

// gtest's seed line in a test log, or "" when the log has none.
std::string SeedFromLog(const std::string& log);

// The report: per-case failure rates for cases that failed at least once, then a verdict line.
std::string FormatReport(const std::vector<CaseStats>& stats, int runs);

}  // namespace marketpipe::flakes

#endif  // TOOLS_FLAKES_FLAKE_STATS_H_
