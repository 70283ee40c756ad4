#ifndef TOOLS_TEST_TIMING_ANALYSIS_H_
#define TOOLS_TEST_TIMING_ANALYSIS_H_

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "tools/test_timing/build_events.h"
#include "tools/test_timing/test_xml.h"

namespace marketpipe::test_timing {

// The cases of one test action (label, run, shard, attempt), read from its test.xml.
using ActionKey = std::tuple<std::string, int, int, int>;
inline ActionKey KeyOf(const TestAction& a) { return {a.label, a.run, a.shard, a.attempt}; }

struct TargetTiming {
  std::string label;
  int shards = 1;
  bool executed = false;         // at least one shard ran here (not served from a cache)
  double time_ms = 0;            // executed: sum of shard action times; else: sum of case times
  double case_ms = 0;            // sum of case times (test.xml), cached or not
  double max_case_ms = 0;        // the longest case: the shard that runs it is at least this long
  std::vector<double> shard_ms;  // per shard, same measure as time_ms
  double imbalance = 1.0;        // max / mean of shard_ms (1.0 = perfectly balanced)
};

struct SlowCase {
  std::string label;
  std::string name;
  double millis = 0;
};

struct Report {
  std::vector<TargetTiming> targets;  // slowest first
  std::vector<SlowCase> cases;        // slowest first
  // Parallel efficiency: sum of executed test action time / (test wall time x jobs), where the
  // test wall time is the time during which at least one test action ran.
  int jobs = 0;
  double test_wall_ms = 0;
  double test_busy_ms = 0;
  double efficiency = 0;  // 0 when no test action ran
  // Cache figures.
  int test_actions = 0;          // attempts reported (last attempts and retries)
  int tests_cached_locally = 0;  // results Bazel held already (no action, no cache asked)
  int tests_cached_remotely = 0;
  ProcessCounts processes;
  // A shard's fixed cost: median over executed shard actions of (action time - its case times).
  std::optional<double> shard_overhead_ms;
  std::vector<std::string> notes;  // unreadable test.xml files and the like
};

// `cases_by_action` holds the parsed test.xml of the actions that have one.
Report Analyze(const BuildEvents& events,
               const std::map<ActionKey, std::vector<CaseResult>>& cases_by_action,
               int jobs_override);

// Plain-text summary: slowest targets and cases (top `top`), shard imbalance, efficiency, cache.
std::string FormatText(const Report& report, int top);

// Shard imbalance of each target sharded in either run, side by side: how a new manifest or
// shard count changed the split. Empty when neither run had a sharded target.
std::string FormatImbalanceChange(const Report& before, const Report& after);

// The remote cache hit rates as one line, e.g. "actions 170/172 (98.8%), test results 30/30".
std::string FormatCacheLine(const Report& report);

}  // namespace marketpipe::test_timing

#endif  // TOOLS_TEST_TIMING_ANALYSIS_H_
