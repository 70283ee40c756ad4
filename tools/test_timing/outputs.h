#ifndef TOOLS_TEST_TIMING_OUTPUTS_H_
#define TOOLS_TEST_TIMING_OUTPUTS_H_

#include <map>
#include <string>
#include <vector>

#include "tools/test_timing/analysis.h"

namespace marketpipe::test_timing {

// The timing manifest the test main balances shards by (format: testing/sharding.h):
// "<label>\t<Suite.Case>\t<millis>" for every case of the last attempt of every shard, sorted.
std::string ManifestText(const BuildEvents& events,
                         const std::map<ActionKey, std::vector<CaseResult>>& cases_by_action,
                         const std::string& provenance);

// How many shards a target's measured work earns: each shard must carry at least
// `min_work_per_shard` x `shard_overhead_ms` of case time (so a shard's fixed cost stays a small
// part of it) and at least its longest case, `max_case_ms` (one case is never split, so a shard
// beyond that only adds a fixed cost); capped at `max_shards`; never less than 1.
int ShardCountFor(double case_ms, double max_case_ms, double shard_overhead_ms,
                  double min_work_per_shard, int max_shards);

// testing/timing/shard_counts.bzl: SHARD_COUNTS = {label: count} for every measured target.
std::string ShardCountsBzl(const Report& report, double shard_overhead_ms,
                           double min_work_per_shard, int max_shards,
                           const std::string& provenance);

}  // namespace marketpipe::test_timing

#endif  // TOOLS_TEST_TIMING_OUTPUTS_H_
