// test_timing: what a `bazel test` run spent its time on, from its build event file.
//
//   bazel run //tools/test_timing -- [BEP_JSON] [--html report.html] [--write-manifest]
//
// Reads the build event JSON (default: bazel-testlogs-bep.json, which .ci/run writes) and every
// shard's test.xml it names; prints the slowest targets and cases, shard imbalance, parallel
// efficiency and cache hits. --write-manifest also writes the timing manifest and the shard
// counts (testing/timing/) from this run.

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/test_timing/analysis.h"
#include "tools/test_timing/build_events.h"
#include "tools/test_timing/html_report.h"
#include "tools/test_timing/outputs.h"
#include "tools/test_timing/test_xml.h"

namespace fs = std::filesystem;
namespace tt = marketpipe::test_timing;

namespace {

struct Options {
  std::string bep = "bazel-testlogs-bep.json";
  std::string html;
  std::string before;
  bool write_manifest = false;
  std::string manifest_out = "testing/timing/manifest.tsv";
  std::string shard_counts_out = "testing/timing/shard_counts.bzl";
  double shard_cost_ms = 0;  // 0: the median measured in this run
  double min_work_per_shard = 4;
  int max_shards = 3;
  int jobs = 0;
  int top = 10;
};

// Under `bazel run` the working directory is the runfiles tree: resolve the user's relative
// paths against where they ran the command, and outputs into the workspace.
fs::path FromUser(const std::string& p) {
  const char* wd = std::getenv("BUILD_WORKING_DIRECTORY");
  return fs::path(p).is_absolute() || !wd ? fs::path(p) : fs::path(wd) / p;
}
fs::path InWorkspace(const std::string& p) {
  const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  return fs::path(p).is_absolute() || !ws ? fs::path(p) : fs::path(ws) / p;
}

bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

bool WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::cerr << "test_timing: cannot write " << path << "\n";
    return false;
  }
  std::cout << "wrote " << path.string() << "\n";
  return true;
}

// Every readable test.xml the file names; what cannot be read becomes a note.
std::map<tt::ActionKey, std::vector<tt::CaseResult>> ReadCases(const tt::BuildEvents& events,
                                                               std::vector<std::string>* notes) {
  std::map<tt::ActionKey, std::vector<tt::CaseResult>> cases;
  for (const tt::TestAction& a : events.tests) {
    if (a.xml_path.empty()) continue;
    std::string text;
    if (!ReadFile(a.xml_path, &text)) {
      notes->push_back(absl::StrCat(a.label, " shard ", a.shard, ": cannot read ", a.xml_path));
      continue;
    }
    auto parsed = tt::ParseTestXml(text);
    if (!parsed.ok()) {
      notes->push_back(absl::StrCat(a.label, " shard ", a.shard, ": ", a.xml_path, ": ",
                                    parsed.status().message()));
      continue;
    }
    cases[tt::KeyOf(a)] = *std::move(parsed);
  }
  return cases;
}

std::string Provenance(const tt::BuildEvents& events) {
  const std::time_t t = events.start_ms / 1000;
  char when[32] = "unknown time";
  if (t > 0) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return absl::StrCat("From a `bazel test` run of ", when, " (", events.tests.size(),
                      " test results).");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Timing report of a `bazel test` run, from its build event JSON file."};
  app.add_option("bep", o.bep, "build event JSON file (--build_event_json_file)");
  app.add_option("--html", o.html, "also write a self-contained HTML report here");
  app.add_option("--before", o.before,
                 "an earlier run's build event file: compare shard imbalance with it");
  app.add_flag("--write-manifest", o.write_manifest,
               "write the timing manifest and the shard counts from this run");
  app.add_option("--manifest-out", o.manifest_out, "where --write-manifest writes the manifest")
      ->capture_default_str();
  app.add_option("--shard-counts-out", o.shard_counts_out,
                 "where --write-manifest writes the shard counts")
      ->capture_default_str();
  app.add_option("--shard-cost-ms", o.shard_cost_ms,
                 "a shard's fixed cost (default: the median measured in this run)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--min-work-per-shard", o.min_work_per_shard,
                 "case time each shard must carry, in multiples of the fixed cost")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-shards", o.max_shards, "upper bound on a target's shard count")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--jobs", o.jobs, "test jobs the run had (default: from the file, else cores)")
      ->check(CLI::PositiveNumber);
  app.add_option("--top", o.top, "rows in the slowest lists")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  std::string text;
  const fs::path bep = FromUser(o.bep);
  if (!ReadFile(bep, &text)) {
    std::cerr << "test_timing: cannot read the build event file " << bep
              << " (run bazel test with --build_event_json_file=...)\n";
    return 1;
  }
  auto events = tt::ParseBuildEvents(text);
  if (!events.ok()) {
    std::cerr << "test_timing: " << bep.string() << ": " << events.status().message() << "\n";
    return 1;
  }
  if (events->jobs == 0)
    events->jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::string> notes = events->warnings;
  const auto cases = ReadCases(*events, &notes);
  tt::Report report = tt::Analyze(*events, cases, o.jobs);
  report.notes.insert(report.notes.end(), notes.begin(), notes.end());
  std::cout << tt::FormatText(report, o.top);
  std::string comparison;
  if (!o.before.empty()) {
    std::string before_text;
    if (!ReadFile(FromUser(o.before), &before_text)) {
      std::cerr << "test_timing: cannot read " << o.before << "\n";
      return 1;
    }
    auto before = tt::ParseBuildEvents(before_text);
    if (!before.ok()) {
      std::cerr << "test_timing: " << o.before << ": " << before.status().message() << "\n";
      return 1;
    }
    std::vector<std::string> before_notes;
    comparison = tt::FormatImbalanceChange(
        tt::Analyze(*before, ReadCases(*before, &before_notes), o.jobs), report);
    std::cout << comparison;
  }

  bool ok = true;
  if (!o.html.empty())
    ok = WriteFile(FromUser(o.html), tt::RenderHtml(*events, report, o.top, comparison)) && ok;
  if (o.write_manifest) {
    if (cases.empty()) {
      std::cerr << "test_timing: no test.xml was readable; not writing a manifest\n";
      return 1;
    }
    double cost = o.shard_cost_ms;
    if (cost <= 0) {
      if (!report.shard_overhead_ms) {
        std::cerr << "test_timing: no shard ran in this run, so its fixed cost is unknown; pass "
                     "--shard-cost-ms\n";
        return 1;
      }
      cost = *report.shard_overhead_ms;
    }
    const std::string provenance = Provenance(*events);
    ok = WriteFile(InWorkspace(o.manifest_out), tt::ManifestText(*events, cases, provenance)) && ok;
    ok = WriteFile(
             InWorkspace(o.shard_counts_out),
             tt::ShardCountsBzl(report, cost, o.min_work_per_shard, o.max_shards, provenance)) &&
         ok;
  }
  return ok ? 0 : 1;
}
