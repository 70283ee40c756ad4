#include "tools/flakes/flake_stats.h"

#include <algorithm>
#include <regex>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace marketpipe::flakes {

std::vector<CaseStats> Tally(const std::vector<ShardRun>& runs) {
  std::map<std::pair<std::string, std::string>, CaseStats> by_case;
  std::vector<const ShardRun*> ordered;
  for (const ShardRun& run : runs) ordered.push_back(&run);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const ShardRun* a, const ShardRun* b) { return a->run < b->run; });
  for (const ShardRun* run_ptr : ordered) {
    const ShardRun& run = *run_ptr;
    for (const test_timing::CaseResult& c : run.cases) {
      if (c.skipped) continue;
      CaseStats& s = by_case[{run.label, c.name}];
      s.label = run.label;
      s.name = c.name;
      ++s.runs;
      if (c.failed) {
        ++s.failures;
        s.failing_seeds.push_back(run.seed.empty()
                                      ? absl::StrCat("run ", run.run)
                                      : absl::StrCat("run ", run.run, " (seed ", run.seed, ")"));
      }
    }
  }
  std::vector<CaseStats> out;
  for (auto& [key, s] : by_case) out.push_back(std::move(s));
  std::sort(out.begin(), out.end(), [](const CaseStats& a, const CaseStats& b) {
    return std::make_tuple(a.label, -a.failure_rate(), a.name) <
           std::make_tuple(b.label, -b.failure_rate(), b.name);
  });
  return out;
}

std::string SeedFromLog(const std::string& log) {
  static const std::regex kSeed(R"(Randomizing tests' orders with a seed of (\d+))");
  std::smatch m;
  return std::regex_search(log, m, kSeed) ? m[1].str() : "";
}

std::string FormatReport(const std::vector<CaseStats>& stats, int runs) {
  std::string out;
  int flaky = 0, broken = 0;
  for (const CaseStats& s : stats) {
    if (s.failures == 0) continue;
    const char* kind = s.flaky() ? "FLAKY " : "FAILS ";
    (s.flaky() ? flaky : broken)++;
    absl::StrAppendFormat(&out, "%s %5.1f%% (%d/%d)  %s  %s\n", kind, 100 * s.failure_rate(),
                          s.failures, s.runs, s.name, s.label);
    std::string seeds;
    for (const std::string& f : s.failing_seeds) seeds += (seeds.empty() ? "" : ", ") + f;
    absl::StrAppend(&out, "         failed in: ", seeds, "\n");
    if (s.flaky() && !s.failing_seeds.empty()) {
      absl::StrAppend(&out, "         replay one: bazel test ", s.label,
                      " --test_arg=--gtest_shuffle --test_arg=--gtest_random_seed=SEED\n");
    }
  }
  absl::StrAppendFormat(
      &out, "%d case(s) over %d run(s) each: %d flaky, %d failing every time, %d stable\n",
      stats.size(), runs, flaky, broken, stats.size() - flaky - broken);
  return out;
}

}  // namespace marketpipe::flakes
