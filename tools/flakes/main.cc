// flakes: run tests many times in shuffled order and report each case's failure rate.
//
//   bazel run //tools/flakes -- TARGET... [--runs N] [-- BAZEL TEST ARGS]
//
// One `bazel test --runs_per_test=N --nocache_test_results --flaky_test_attempts=1` with
// --gtest_shuffle and --gtest_random_seed=0 (gtest picks a fresh seed per process and prints it),
// then every run's test.xml and test.log. Exit status: 0 when every case passed every run, 1 when
// a case is flaky or always fails, 2 when the tests could not be run.

#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "tools/flakes/flake_stats.h"
#include "tools/test_timing/build_events.h"
#include "tools/test_timing/test_xml.h"

namespace fs = std::filesystem;
namespace tt = marketpipe::test_timing;
namespace fl = marketpipe::flakes;

namespace {

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> targets, bazel_args;
  int runs = 10;
  CLI::App app{"Runs tests N times in shuffled order; reports each case's failure rate."};
  app.add_option("targets", targets, "test targets (then -- and extra bazel test args)")
      ->required();
  app.add_option("--runs", runs, "runs per test target")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  app.add_option("--bazel_arg", bazel_args, "extra bazel test argument (repeatable)");
  // Everything after "--" goes to bazel test.
  std::vector<std::string> after;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      after.assign(argv + i + 1, argv + argc);
      argc = i;
      break;
    }
  }
  CLI11_PARSE(app, argc, argv);
  bazel_args.insert(bazel_args.end(), after.begin(), after.end());

  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
    if (chdir(ws) != 0) return 2;
  }
  const std::string bazel = fs::exists("bazelw") ? "./bazelw" : "bazel";
  const fs::path bep =
      fs::temp_directory_path() / ("flakes-" + std::to_string(getpid()) + ".bep.json");
  std::string cmd = bazel + " test --runs_per_test=" + std::to_string(runs) +
                    " --nocache_test_results --flaky_test_attempts=1 --keep_going"
                    " --test_arg=--gtest_shuffle --test_arg=--gtest_random_seed=0"
                    " --test_output=summary --build_event_json_file=" +
                    Quote(bep.string());
  for (const std::string& a : bazel_args) cmd += " " + Quote(a);
  cmd += " --";
  for (const std::string& t : targets) cmd += " " + Quote(t);
  std::cout << "flakes: " << cmd << "\n" << std::flush;
  const int status = std::system(cmd.c_str());
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (rc != 0 && rc != 3) {  // 3: built and ran, some test failed
    std::cerr << "flakes: bazel test exited with " << rc << "; nothing to report\n";
    fs::remove(bep);
    return 2;
  }
  std::string text;
  const bool read = ReadFile(bep.string(), &text);
  fs::remove(bep);
  auto events = read ? tt::ParseBuildEvents(text)
                     : absl::StatusOr<tt::BuildEvents>(absl::NotFoundError("no build event file"));
  if (!events.ok()) {
    std::cerr << "flakes: " << events.status().message() << "\n";
    return 2;
  }
  std::vector<fl::ShardRun> shard_runs;
  for (const tt::TestAction& a : events->tests) {
    fl::ShardRun run{a.label, a.run, "", {}};
    std::string xml, log;
    if (!a.log_path.empty() && ReadFile(a.log_path, &log)) run.seed = fl::SeedFromLog(log);
    auto cases =
        ReadFile(a.xml_path, &xml)
            ? tt::ParseTestXml(xml)
            : absl::StatusOr<std::vector<tt::CaseResult>>(absl::NotFoundError("no test.xml"));
    if (cases.ok()) {
      run.cases = *std::move(cases);
    } else {
      // A run without readable results counts as one failed pseudo-case named after it.
      run.cases.push_back({a.label + " (" + std::string(cases.status().message()) + ")", 0,
                           a.status != "PASSED", false});
    }
    shard_runs.push_back(std::move(run));
  }
  const std::vector<fl::CaseStats> stats = fl::Tally(shard_runs);
  std::cout << fl::FormatReport(stats, runs);
  for (const fl::CaseStats& s : stats) {
    if (s.failures > 0) return 1;
  }
  return 0;
}
