// The gtest main every mp_cc_test links (the pytest-xdist of this repo). In parts:
//  - case list (case_list.h): the cases GoogleTest itself selects;
//  - shard plan (sharding.h): this shard's share, round-robin or balanced by a timing manifest;
//    TEST_SHARD_STATUS_FILE is touched here (Bazel 4.2.3 neither passes it to gtest nor checks);
//  - supervisor (supervisor.h): runs the cases in a child process and owns every deadline;
//  - progress protocol (progress.h): how the child tells the supervisor where it is;
//  - XML (xml_report.h): the one report written to XML_OUTPUT_FILE.
//  - resource groups (resource_lock.h): --mp_resources=a,b (set by mp_cc_test(resources = ...)).
// Flags (also as env vars): --mp_timing_manifest=PATH (MP_TIMING_MANIFEST),
// --mp_case_timeout=SECONDS (MP_TEST_CASE_TIMEOUT), --mp_resources=LIST (MP_TEST_RESOURCES).

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "testing/case_list.h"
#include "testing/environment.h"
#include "testing/kit_internal.h"
#include "testing/resource_lock.h"
#include "testing/sharding.h"
#include "testing/supervisor.h"

namespace {

namespace kit = mptest::kit_internal;

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

// Removes --<name>=value from argv (gtest would not know it) and returns the value, else the
// environment variable `env`.
std::string TakeFlag(int* argc, char** argv, const std::string& name, const char* env) {
  const std::string prefix = "--" + name + "=";
  std::string value;
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
      value = argv[i] + prefix.size();
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  argv[out] = nullptr;
  if (value.empty() && Env(env)) value = Env(env);
  return value;
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "[ marketpipe ] error: %s\n", msg.c_str());
  std::exit(2);
}

struct ShardPlan {
  int index = 0;
  int total = 1;
  std::string partition = "round-robin";
  std::vector<kit::SelectedCase> mine;
};

// Reads Bazel's shard variables and takes this shard's share of `cases`.
ShardPlan PlanShard(const std::vector<kit::SelectedCase>& cases, const std::string& manifest) {
  ShardPlan plan;
  const char* total =
      Env("TEST_TOTAL_SHARDS") ? Env("TEST_TOTAL_SHARDS") : Env("GTEST_TOTAL_SHARDS");
  const char* index = Env("TEST_SHARD_INDEX") ? Env("TEST_SHARD_INDEX") : Env("GTEST_SHARD_INDEX");
  plan.total = total ? std::atoi(total) : 1;
  plan.index = index ? std::atoi(index) : 0;
  if (plan.total < 1 || plan.index < 0 || plan.index >= plan.total) {
    Die("bad shard settings: index " + std::to_string(plan.index) + " of " +
        std::to_string(plan.total));
  }
  mptest::sharding::Timings timings;
  if (!manifest.empty()) {
    std::ifstream in(manifest);
    if (!in) Die("cannot read timing manifest " + manifest);
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    const char* target = Env("TEST_TARGET") ? Env("TEST_TARGET") : "";
    if (!mptest::sharding::ParseManifest(text.str(), target, &timings, &error)) {
      Die(error + " in " + manifest);
    }
    plan.partition = "timing manifest " + manifest + " (" +
                     std::to_string(timings.millis_by_case.size()) + " cases known)";
  }
  std::vector<std::string> names;
  std::map<std::string, kit::SelectedCase> by_name;
  for (const auto& c : cases) {
    names.push_back(c.full_name());
    by_name[c.full_name()] = c;
  }
  for (const auto& name :
       mptest::sharding::CasesForShard(names, plan.index, plan.total, &timings)) {
    plan.mine.push_back(by_name[name]);
  }
  return plan;
}

// The per-case real-time budget: the flag, else a share of TEST_TIMEOUT.
std::chrono::milliseconds CaseBudget(const std::string& flag, size_t cases) {
  if (!flag.empty()) {
    char* end = nullptr;
    const double seconds = std::strtod(flag.c_str(), &end);
    if (end != flag.c_str() + flag.size() || !(seconds > 0)) {
      Die("--mp_case_timeout / MP_TEST_CASE_TIMEOUT must be a positive number of seconds, got \"" +
          flag + "\"");
    }
    return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  // A share of the test's timeout, but never less than a fifth of it: one case may well take
  // many times the average (a loaded machine, a CPU-heavy case), and the supervisor still ends
  // a stuck case in time for the others (or, at worst, reports it on Bazel's SIGTERM).
  const double test_timeout_s = Env("TEST_TIMEOUT") ? std::atof(Env("TEST_TIMEOUT")) : 300.0;
  const double per_case = 0.8 * test_timeout_s / static_cast<double>(std::max<size_t>(1, cases));
  const double seconds = std::max({2.0, per_case, 0.2 * test_timeout_s});
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// Tells the kit a new case started (CaseTempDir is per case, also under --gtest_repeat).
class CaseStartNotifier : public testing::EmptyTestEventListener {
  void OnTestStart(const testing::TestInfo&) override { kit::NoteCaseStarted(); }
};

}  // namespace

int main(int argc, char** argv) {
  const bool child = kit::StartSupervisedChild();  // first: before any thread starts
  const std::string manifest = TakeFlag(&argc, argv, "mp_timing_manifest", "MP_TIMING_MANIFEST");
  const std::string case_timeout = TakeFlag(&argc, argv, "mp_case_timeout", "MP_TEST_CASE_TIMEOUT");
  const std::string resources = TakeFlag(&argc, argv, "mp_resources", "MP_TEST_RESOURCES");
  const std::vector<std::string> original_args(argv + 1, argv + argc);
  // Results per case for Bazel (gtest also reads XML_OUTPUT_FILE; be explicit).
  if (const char* xml = Env("XML_OUTPUT_FILE")) {
    if (GTEST_FLAG_GET(output).empty()) GTEST_FLAG_SET(output, std::string("xml:") + xml);
  }
  testing::InitGoogleTest(&argc, argv);
  testing::UnitTest::GetInstance()->listeners().Append(new CaseStartNotifier);  // gtest owns it
  if (child) {
    // The supervisor chose the cases (--gtest_filter) and the budget (--mp_case_timeout).
    kit::SetCaseBudget(CaseBudget(case_timeout, 1));
    return RUN_ALL_TESTS();
  }

  // We shard; GoogleTest must not again.
  const bool sharded = Env("TEST_TOTAL_SHARDS") || Env("GTEST_TOTAL_SHARDS");
  std::string total_text = Env("TEST_TOTAL_SHARDS")    ? Env("TEST_TOTAL_SHARDS")
                           : Env("GTEST_TOTAL_SHARDS") ? Env("GTEST_TOTAL_SHARDS")
                                                       : "1";
  if (sharded && !Env("TEST_TOTAL_SHARDS")) setenv("TEST_TOTAL_SHARDS", total_text.c_str(), 1);
  if (Env("GTEST_SHARD_INDEX") && !Env("TEST_SHARD_INDEX")) {
    setenv("TEST_SHARD_INDEX", Env("GTEST_SHARD_INDEX"), 1);
  }
  unsetenv("GTEST_TOTAL_SHARDS");
  unsetenv("GTEST_SHARD_INDEX");
  if (const char* status = Env("TEST_SHARD_STATUS_FILE")) {
    std::ofstream touch(status, std::ios::app);
    if (!touch) Die(std::string("cannot touch TEST_SHARD_STATUS_FILE ") + status);
  }

  // Resource groups (mp_cc_test(resources = [...])): held until the binary ends.
  std::optional<kit::ResourceLocks> locks;
  if (!resources.empty() && !GTEST_FLAG_GET(list_tests)) {
    std::vector<std::string> names;
    std::stringstream list(resources);
    for (std::string name; std::getline(list, name, ',');) names.push_back(name);
    absl::StatusOr<kit::ResourceLocks> acquired = kit::ResourceLocks::Acquire(names);
    if (!acquired.ok()) Die(std::string(acquired.status().message()));
    locks.emplace(std::move(*acquired));
  }

  const kit::CaseSelection selection = kit::SelectCasesLikeGoogleTest();
  const ShardPlan plan = PlanShard(selection.cases, manifest);
  const std::chrono::milliseconds budget = CaseBudget(case_timeout, plan.mine.size());
  kit::SetCaseBudget(budget);

  // Listing, --gtest_repeat and MP_TEST_NO_SUPERVISOR=1 (for a debugger) run in-process.
  const bool supervise = !Env("MP_TEST_NO_SUPERVISOR") && !GTEST_FLAG_GET(list_tests) &&
                         !plan.mine.empty() && GTEST_FLAG_GET(repeat) == 1;
  if (!supervise) {
    if (plan.total > 1) {
      std::string filter;
      for (const auto& c : plan.mine) filter += (filter.empty() ? "" : ":") + c.full_name();
      GTEST_FLAG_SET(filter, plan.mine.empty() ? std::string("-*") : filter);
    }
    return RUN_ALL_TESTS();
  }

  std::printf("[ marketpipe ] worker %s: %zu of %zu cases (%s), case budget %.1f s\n",
              mptest::WorkerId().c_str(), plan.mine.size(), selection.cases.size(),
              plan.partition.c_str(), budget.count() / 1000.0);
  std::fflush(stdout);

  kit::SuperviseRequest request;
  request.self = "/proc/self/exe";
  // The merged report goes where the user or Bazel asked (XML_OUTPUT_FILE or
  // --gtest_output=xml:PATH); children write none.
  const std::string output = GTEST_FLAG_GET(output);
  if (output.rfind("xml:", 0) == 0 && output.size() > 4) request.xml_output = output.substr(4);
  for (const auto& arg : original_args) {
    if (arg.rfind("--gtest_output", 0) == 0) continue;
    request.args.push_back(arg);
  }
  char timeout_arg[64];
  std::snprintf(timeout_arg, sizeof timeout_arg, "--mp_case_timeout=%.3f", budget.count() / 1000.0);
  request.args.push_back(timeout_arg);
  // Under --gtest_shuffle the child reuses the seed this selection used.
  request.args.push_back("--gtest_random_seed=" + std::to_string(selection.random_seed));
  request.cases = plan.mine;
  if (const char* outputs = Env("TEST_UNDECLARED_OUTPUTS_DIR")) request.outputs_dir = outputs;
  // RunAsync stops itself at the budget; the supervisor's limit covers the rest of a case
  // (fixture set-up and tear-down, code outside the event loop) with room to spare.
  request.phase_limit =
      2 * budget + std::min<std::chrono::milliseconds>(budget, std::chrono::seconds(5));
  request.fail_fast = GTEST_FLAG_GET(fail_fast);
  return kit::Supervise(request);
}
