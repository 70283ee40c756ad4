// The gtest main every mp_cc_test links (the pytest-xdist of this repo):
//  - shards cases itself (round-robin, or balanced by a timing manifest) and touches
//    TEST_SHARD_STATUS_FILE, which Bazel 4.2.3 neither passes to gtest nor checks;
//  - writes per-case results to XML_OUTPUT_FILE;
//  - gives every case a real-time budget: AsyncTest::RunAsync stops a stuck case by itself
//    (naming its pending async work) and the remaining cases run; a case stuck outside the
//    event loop is reported by a watchdog thread, which then ends the process;
//  - prints its worker identity once.
// Flags (also as env vars): --mp_timing_manifest=PATH (MP_TIMING_MANIFEST),
// --mp_case_timeout=SECONDS (MP_TEST_CASE_TIMEOUT).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/case_list.h"
#include "testing/environment.h"
#include "testing/kit_internal.h"
#include "testing/sharding.h"
#include "testing/supervisor.h"

namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

// Removes --mp_<name>=value from argv (gtest would not know it) and returns the value.
std::string TakeFlag(int* argc, char** argv, const std::string& name) {
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
  return value;
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "[ marketpipe ] error: %s\n", msg.c_str());
  std::exit(2);
}

// Watches the running case in real time. AsyncTest stops itself at the budget; this fires at
// twice the budget (plus a grace) for cases stuck outside the event loop.
class Watchdog : public testing::EmptyTestEventListener {
 public:
  // `hard_deadline`: fire no later than this (before Bazel's own TEST_TIMEOUT kill, which
  // would name nobody).
  Watchdog(std::chrono::milliseconds budget, std::chrono::steady_clock::time_point hard_deadline)
      : budget_(budget), hard_deadline_(hard_deadline) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Watchdog() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void OnTestStart(const testing::TestInfo& info) override {
    testing::kit_internal::NoteCaseStarted();
    std::lock_guard<std::mutex> lock(mu_);
    running_ = std::string(info.test_suite_name()) + "." + info.name();
    started_ = std::chrono::steady_clock::now();
    cv_.notify_all();
  }
  void OnTestEnd(const testing::TestInfo&) override {
    std::lock_guard<std::mutex> lock(mu_);
    running_.clear();
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    const auto limit =
        2 * budget_ + std::min<std::chrono::milliseconds>(budget_, std::chrono::seconds(5));
    while (!stop_) {
      if (running_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const std::string name = running_;
      const auto deadline = std::min(started_ + limit, hard_deadline_);
      if (cv_.wait_until(lock, deadline, [&] { return stop_ || running_ != name; })) continue;
      std::ostringstream msg;
      const auto ran = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started_);
      msg << "[ watchdog ] case " << name << " is stuck: still running after " << ran.count()
          << " ms of real time (budget " << budget_.count() << " ms"
          << (deadline == hard_deadline_ ? "; the test's TEST_TIMEOUT is nearly used up" : "")
          << "), outside the async loop. Pending async work:\n";
      auto pending = testing::kit_internal::DescribePendingWork();
      if (pending.empty()) msg << "  (none registered)\n";
      for (const auto& p : pending) msg << "  - " << p << "\n";
      msg << "[ watchdog ] ending the process; the supervisor runs the remaining cases.\n";
      std::fputs(msg.str().c_str(), stderr);
      std::fflush(stderr);
      std::_Exit(3);
    }
  }

  std::chrono::milliseconds budget_;
  std::chrono::steady_clock::time_point hard_deadline_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string running_;
  std::chrono::steady_clock::time_point started_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string manifest_path = TakeFlag(&argc, argv, "mp_timing_manifest");
  std::string case_timeout = TakeFlag(&argc, argv, "mp_case_timeout");
  // Supervised child: the parent chose the cases (--gtest_filter) and reports on this process.
  const std::string progress_path =
      Env(testing::kit_internal::kChildEnv) ? Env(testing::kit_internal::kChildEnv) : "";
  const char* progress_file = progress_path.empty() ? nullptr : progress_path.c_str();
  // Processes the cases start (tests of test binaries) must not think they are children too.
  unsetenv(testing::kit_internal::kChildEnv);
  const std::vector<std::string> original_args(argv + 1, argv + argc);
  if (manifest_path.empty() && Env("MP_TIMING_MANIFEST")) manifest_path = Env("MP_TIMING_MANIFEST");
  if (case_timeout.empty() && Env("MP_TEST_CASE_TIMEOUT"))
    case_timeout = Env("MP_TEST_CASE_TIMEOUT");

  // Results per case for Bazel (gtest also reads XML_OUTPUT_FILE; be explicit).
  if (const char* xml = Env("XML_OUTPUT_FILE")) {
    if (GTEST_FLAG_GET(output).empty()) GTEST_FLAG_SET(output, std::string("xml:") + xml);
  }
  testing::InitGoogleTest(&argc, argv);

  // Sharding: Bazel exports TEST_* and GTEST_* variables. We shard; gtest must not again.
  const char* total_env =
      Env("TEST_TOTAL_SHARDS") ? Env("TEST_TOTAL_SHARDS") : Env("GTEST_TOTAL_SHARDS");
  const char* index_env =
      Env("TEST_SHARD_INDEX") ? Env("TEST_SHARD_INDEX") : Env("GTEST_SHARD_INDEX");
  int total = total_env ? std::atoi(total_env) : 1;
  int index = index_env ? std::atoi(index_env) : 0;
  if (total < 1 || index < 0 || index >= total) {
    Die("bad shard settings: index " + std::to_string(index) + " of " + std::to_string(total));
  }
  if (total > 1 && !progress_file) {
    setenv("TEST_TOTAL_SHARDS", std::to_string(total).c_str(), 1);
    setenv("TEST_SHARD_INDEX", std::to_string(index).c_str(), 1);
  }
  unsetenv("GTEST_TOTAL_SHARDS");
  unsetenv("GTEST_SHARD_INDEX");
  if (progress_file) total = 1;  // already partitioned by the parent
  if (const char* status = Env("TEST_SHARD_STATUS_FILE")) {
    std::ofstream touch(status, std::ios::app);
    if (!touch) Die(std::string("cannot touch TEST_SHARD_STATUS_FILE ") + status);
  }

  // The cases GoogleTest itself selects (filter, DISABLED_ rules, shuffle), in its order.
  const testing::kit_internal::CaseSelection selection =
      testing::kit_internal::SelectCasesLikeGoogleTest();
  std::vector<std::string> cases;
  for (const auto& c : selection.cases) cases.push_back(c.full_name());
  testing::UnitTest& unit = *testing::UnitTest::GetInstance();

  testing::sharding::Timings timings;
  std::string partition = "round-robin";
  if (!manifest_path.empty()) {
    std::ifstream in(manifest_path);
    if (!in) Die("cannot read timing manifest " + manifest_path);
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    const char* target = Env("TEST_TARGET") ? Env("TEST_TARGET") : "";
    if (!testing::sharding::ParseManifest(text.str(), target, &timings, &error)) {
      Die(error + " in " + manifest_path);
    }
    partition = "timing manifest " + manifest_path + " (" +
                std::to_string(timings.millis_by_case.size()) + " cases known)";
  }
  std::vector<std::string> mine = testing::sharding::CasesForShard(cases, index, total, &timings);
  if (total > 1) {
    std::string filter;
    for (const auto& c : mine) filter += (filter.empty() ? "" : ":") + c;
    GTEST_FLAG_SET(filter, mine.empty() ? std::string("-*") : filter);
  }

  // Per-case real-time budget.
  std::chrono::milliseconds budget;
  if (!case_timeout.empty()) {
    char* end = nullptr;
    double seconds = std::strtod(case_timeout.c_str(), &end);
    if (end != case_timeout.c_str() + case_timeout.size() || !(seconds > 0)) {
      Die("--mp_case_timeout / MP_TEST_CASE_TIMEOUT must be a positive number of seconds, got \"" +
          case_timeout + "\"");
    }
    budget = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  } else {
    const double test_timeout_s = Env("TEST_TIMEOUT") ? std::atof(Env("TEST_TIMEOUT")) : 300.0;
    const double per_case = 0.8 * test_timeout_s / std::max<size_t>(1, mine.size());
    budget = std::chrono::milliseconds(static_cast<int64_t>(std::max(2.0, per_case) * 1000));
  }
  testing::kit_internal::SetCaseBudget(budget);

  // The whole process must finish (or name its stuck case) before Bazel's TEST_TIMEOUT kill.
  // Steady-clock time is system-wide on Linux, so a supervised child inherits the deadline.
  using SteadyClock = std::chrono::steady_clock;
  SteadyClock::time_point hard_deadline = SteadyClock::time_point::max();
  if (const char* inherited = Env("MP_KIT_HARD_DEADLINE_NS")) {
    hard_deadline = SteadyClock::time_point(std::chrono::nanoseconds(std::atoll(inherited)));
    unsetenv("MP_KIT_HARD_DEADLINE_NS");
  } else if (Env("TEST_TIMEOUT")) {
    const auto seconds = std::chrono::duration<double>(0.9 * std::atof(Env("TEST_TIMEOUT")));
    hard_deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(seconds);
  }

  if (progress_file) {
    unit.listeners().Append(new testing::kit_internal::ProgressListener(progress_file));
    unit.listeners().Append(new Watchdog(budget, hard_deadline));  // gtest owns and deletes them
    return RUN_ALL_TESTS();
  }

  std::printf("[ marketpipe ] worker %s: %zu of %zu cases (%s), case budget %.1f s\n",
              testing::WorkerId().c_str(), mine.size(), cases.size(), partition.c_str(),
              budget.count() / 1000.0);
  std::fflush(stdout);

  // Run the cases in a supervised child so a stuck or crashing case cannot take the cases after
  // it down with it (see supervisor.h). Listing, and MP_TEST_NO_SUPERVISOR=1, run in-process.
  const bool supervise = !Env("MP_TEST_NO_SUPERVISOR") && !GTEST_FLAG_GET(list_tests) &&
                         !mine.empty() && GTEST_FLAG_GET(repeat) == 1;
  if (supervise) {
    testing::kit_internal::SuperviseRequest request;
    request.self = "/proc/self/exe";
    // The child writes its XML where the supervisor says; the merged file goes to the path the
    // user or Bazel asked for (XML_OUTPUT_FILE or --gtest_output=xml:PATH).
    const std::string output = GTEST_FLAG_GET(output);
    const bool xml_path = output.rfind("xml:", 0) == 0 && output.size() > 4;
    for (const auto& arg : original_args) {
      if (xml_path && arg.rfind("--gtest_output", 0) == 0) continue;
      request.args.push_back(arg);
    }
    char timeout_arg[64];
    std::snprintf(timeout_arg, sizeof timeout_arg, "--mp_case_timeout=%.3f",
                  budget.count() / 1000.0);
    request.args.push_back(timeout_arg);
    // Under --gtest_shuffle the child reuses the seed this selection used.
    request.args.push_back("--gtest_random_seed=" + std::to_string(selection.random_seed));
    request.cases = mine;
    if (xml_path) request.xml_output = output.substr(4);
    const char* tmp =
        Env("TEST_TMPDIR") ? Env("TEST_TMPDIR") : (Env("TMPDIR") ? Env("TMPDIR") : "/tmp");
    std::string work = std::string(tmp) + "/mp-supervisor-XXXXXX";
    if (!mkdtemp(work.data())) Die("cannot create a scratch directory under " + std::string(tmp));
    request.work_dir = work;
    if (hard_deadline != SteadyClock::time_point::max()) {
      setenv("MP_KIT_HARD_DEADLINE_NS",
             std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                hard_deadline.time_since_epoch())
                                .count())
                 .c_str(),
             1);
    }
    const int rc = testing::kit_internal::Supervise(request);
    std::filesystem::remove_all(work);
    return rc;
  }

  auto* watchdog = new Watchdog(budget, hard_deadline);
  unit.listeners().Append(watchdog);  // gtest owns and deletes it
  return RUN_ALL_TESTS();
}
