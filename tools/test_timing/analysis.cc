#include "tools/test_timing/analysis.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace marketpipe::test_timing {
namespace {

std::string Rate(int64_t hit, int64_t total) {
  if (total <= 0) return "none";
  return absl::StrFormat("%d/%d (%.1f%%)", hit, total, 100.0 * hit / total);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

Report Analyze(const BuildEvents& events,
               const std::map<ActionKey, std::vector<CaseResult>>& cases_by_action,
               int jobs_override) {
  Report r;
  r.processes = events.processes;
  r.jobs = jobs_override > 0 ? jobs_override : events.jobs;

  // The last attempt of each (label, run, shard): what the run's result rests on.
  std::map<std::tuple<std::string, int, int>, const TestAction*> last;
  for (const TestAction& a : events.tests) {
    ++r.test_actions;
    if (a.cached_locally) ++r.tests_cached_locally;
    if (a.cached_remotely) ++r.tests_cached_remotely;
    auto& slot = last[{a.label, a.run, a.shard}];
    if (!slot || a.attempt >= slot->attempt) slot = &a;
  }

  std::vector<double> overheads;
  // Wall time = the time during which at least one test action ran (the union of their
  // intervals), so compiles between tests in a cold build do not count as idle test jobs.
  std::vector<std::pair<int64_t, int64_t>> intervals;
  for (const TestAction& a : events.tests) {
    // Every executed attempt (retries included) occupied a job.
    if (a.cached_locally || a.cached_remotely) continue;
    r.test_busy_ms += a.duration_ms;
    intervals.push_back({a.start_ms, a.start_ms + a.duration_ms});
  }
  std::sort(intervals.begin(), intervals.end());
  int64_t covered_until = INT64_MIN;
  for (const auto& [start, end] : intervals) {
    const int64_t from = std::max(start, covered_until);
    if (end > from) r.test_wall_ms += static_cast<double>(end - from);
    covered_until = std::max(covered_until, end);
  }
  std::map<std::string, std::vector<const TestAction*>> by_label;
  for (const auto& [key, action] : last) by_label[action->label].push_back(action);
  for (const auto& [label, actions] : by_label) {
    TargetTiming t;
    t.label = label;
    t.shards = static_cast<int>(actions.size());
    bool all_executed = true;
    std::vector<double> case_ms_by_shard;
    for (const TestAction* a : actions) {
      const bool executed = !a->cached_locally && !a->cached_remotely;
      t.executed = t.executed || executed;
      all_executed = all_executed && executed;
      double case_ms = 0;
      if (auto it = cases_by_action.find(KeyOf(*a)); it != cases_by_action.end()) {
        for (const CaseResult& c : it->second) {
          case_ms += c.millis;
          t.max_case_ms = std::max(t.max_case_ms, c.millis);
          r.cases.push_back({label, c.name, c.millis});
        }
        if (executed) overheads.push_back(a->duration_ms - case_ms);
      }
      case_ms_by_shard.push_back(case_ms);
      t.case_ms += case_ms;
    }
    // Cached shards have no action time of their own here: compare shards by case time unless
    // every shard ran.
    for (size_t i = 0; i < actions.size(); ++i) {
      t.shard_ms.push_back(all_executed ? actions[i]->duration_ms : case_ms_by_shard[i]);
    }
    t.time_ms = std::accumulate(t.shard_ms.begin(), t.shard_ms.end(), 0.0);
    const double mean = t.time_ms / std::max<size_t>(1, t.shard_ms.size());
    if (t.shards > 1 && mean > 0) {
      t.imbalance = *std::max_element(t.shard_ms.begin(), t.shard_ms.end()) / mean;
    }
    r.targets.push_back(std::move(t));
  }
  std::stable_sort(
      r.targets.begin(), r.targets.end(),
      [](const TargetTiming& a, const TargetTiming& b) { return a.time_ms > b.time_ms; });
  std::stable_sort(r.cases.begin(), r.cases.end(),
                   [](const SlowCase& a, const SlowCase& b) { return a.millis > b.millis; });
  if (!overheads.empty()) r.shard_overhead_ms = Median(overheads);
  if (r.test_wall_ms > 0 && r.jobs > 0) r.efficiency = r.test_busy_ms / (r.test_wall_ms * r.jobs);
  return r;
}

std::string FormatCacheLine(const Report& r) {
  std::string actions = "unknown (no \"processes:\" line)";
  if (r.processes.known) {
    auto kind = [&](const char* k) {
      auto it = r.processes.by_kind.find(k);
      return it == r.processes.by_kind.end() ? int64_t{0} : it->second;
    };
    actions = Rate(kind("remote cache hit"), r.processes.total - kind("internal"));
  }
  return absl::StrCat("actions ", actions, ", test results ",
                      Rate(r.tests_cached_remotely, r.test_actions - r.tests_cached_locally),
                      r.tests_cached_locally
                          ? absl::StrCat(" (+", r.tests_cached_locally, " already up to date)")
                          : "");
}

std::string FormatText(const Report& r, int top) {
  std::string out;
  absl::StrAppend(
      &out, "Slowest test targets (time: executed = shard action time, cached = case time)\n");
  for (int i = 0; i < std::min<int>(top, r.targets.size()); ++i) {
    const TargetTiming& t = r.targets[i];
    absl::StrAppendFormat(&out, "  %8.0f ms  %-60s %d shard%s%s\n", t.time_ms, t.label, t.shards,
                          t.shards == 1 ? "" : "s", t.executed ? "" : "  (cached)");
  }
  absl::StrAppend(&out, "Slowest test cases\n");
  for (int i = 0; i < std::min<int>(top, r.cases.size()); ++i) {
    absl::StrAppendFormat(&out, "  %8.0f ms  %s  %s\n", r.cases[i].millis, r.cases[i].name,
                          r.cases[i].label);
  }
  absl::StrAppend(&out, "Shard imbalance (max/mean shard time; 1.00 = even)\n");
  bool any = false;
  for (const TargetTiming& t : r.targets) {
    if (t.shards < 2) continue;
    any = true;
    std::string shards;
    for (double ms : t.shard_ms)
      absl::StrAppendFormat(&shards, "%s%.0f", shards.empty() ? "" : " / ", ms);
    absl::StrAppendFormat(&out, "  %5.2f  %-60s %s ms\n", t.imbalance, t.label, shards);
  }
  if (!any) absl::StrAppend(&out, "  (no sharded target)\n");
  if (r.test_wall_ms > 0) {
    absl::StrAppendFormat(&out,
                          "Parallel efficiency: %.0f%% (%.1f s of test actions / (%.1f s with "
                          "tests running x %d jobs))\n",
                          100 * r.efficiency, r.test_busy_ms / 1000, r.test_wall_ms / 1000, r.jobs);
  } else {
    absl::StrAppend(&out, "Parallel efficiency: no test action ran (all results cached)\n");
  }
  if (r.shard_overhead_ms) {
    absl::StrAppendFormat(&out, "Shard fixed cost: %.0f ms (median of action time - case time)\n",
                          *r.shard_overhead_ms);
  }
  absl::StrAppend(&out, "Cache hits: ", FormatCacheLine(r), "\n");
  for (const std::string& n : r.notes) absl::StrAppend(&out, "Note: ", n, "\n");
  return out;
}

std::string FormatImbalanceChange(const Report& before, const Report& after) {
  std::map<std::string, std::pair<const TargetTiming*, const TargetTiming*>> rows;
  for (const TargetTiming& t : before.targets) rows[t.label].first = &t;
  for (const TargetTiming& t : after.targets) rows[t.label].second = &t;
  auto cell = [](const TargetTiming* t) {
    if (!t) return std::string("not run");
    std::string shards;
    for (double ms : t->shard_ms) {
      absl::StrAppendFormat(&shards, "%s%.0f", shards.empty() ? "" : " / ", ms);
    }
    return absl::StrFormat("%.2f (%s ms)", t->imbalance, shards);
  };
  std::string out;
  for (const auto& [label, pair] : rows) {
    const auto& [b, a] = pair;
    if ((!b || b->shards < 2) && (!a || a->shards < 2)) continue;
    absl::StrAppendFormat(&out, "  %-55s before %-24s after %s\n", label, cell(b), cell(a));
  }
  return out.empty() ? out : "Shard imbalance, before -> after (max/mean shard time)\n" + out;
}

}  // namespace marketpipe::test_timing
