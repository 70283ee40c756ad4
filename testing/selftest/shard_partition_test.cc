// Runs the fixture binary as 1..5 shards and checks that the shards' cases are disjoint and
// together complete, with and without a timing manifest.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "testing/environment.h"
#include "testing/selftest/subprocess.h"

namespace mptest::selftest {
namespace {

const std::string kFixture = "testing/selftest/kit_fixture_cases";

std::set<std::string> AllCases() {
  std::set<std::string> all;
  for (int i = 0; i <= 12; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "Cases.C%02d", i);
    all.insert(name);
  }
  return all;
}

struct ShardRun {
  std::vector<std::string> ran;
  std::string worker;
};

ShardRun RunShard(int index, int total, const std::string& manifest) {
  const std::string status_file = CaseTempDir() + "/status-" + std::to_string(index);
  std::map<std::string, std::string> env = {
      {"TEST_TOTAL_SHARDS", std::to_string(total)},
      {"TEST_SHARD_INDEX", std::to_string(index)},
      {"GTEST_TOTAL_SHARDS", std::to_string(total)},
      {"GTEST_SHARD_INDEX", std::to_string(index)},
      {"TEST_SHARD_STATUS_FILE", status_file},
      {"TEST_TARGET", "//testing/selftest:kit_fixture_cases"},
  };
  if (!manifest.empty()) env["MP_TIMING_MANIFEST"] = manifest;
  ChildResult r = RunChild({RunfilesPath(kFixture), "--gtest_filter=Cases.*"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(status_file)) << "shard status file not touched";
  ShardRun run;
  std::regex ran(R"(RAN (\S+) worker=(\S+))");
  for (std::sregex_iterator it(r.output.begin(), r.output.end(), ran), end; it != end; ++it) {
    run.ran.push_back((*it)[1]);
    run.worker = (*it)[2];
  }
  return run;
}

void ExpectDisjointAndComplete(const std::string& manifest) {
  for (int total = 1; total <= 5; ++total) {
    std::multiset<std::string> seen;
    for (int index = 0; index < total; ++index) {
      ShardRun run = RunShard(index, total, manifest);
      if (!run.ran.empty() && total > 1) {
        EXPECT_EQ(run.worker, "shard-" + std::to_string(index) + "-of-" + std::to_string(total));
      }
      seen.insert(run.ran.begin(), run.ran.end());
    }
    const std::set<std::string> all = AllCases();
    EXPECT_EQ(seen.size(), all.size()) << "with " << total << " shards some case ran twice";
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), all)
        << "with " << total << " shards some case never ran";
  }
}

TEST(ShardPartitionTest, RoundRobinShardsAreDisjointAndComplete) { ExpectDisjointAndComplete(""); }

TEST(ShardPartitionTest, ManifestShardsAreDisjointAndComplete) {
  const std::string manifest = CaseTempDir() + "/timing.tsv";
  std::ofstream out(manifest);
  out << "# durations in ms\n";
  // Skewed durations, one case missing (gets the mean), one line for another target.
  for (int i = 0; i <= 11; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "Cases.C%02d", i);
    out << "//testing/selftest:kit_fixture_cases\t" << name << "\t" << (i == 3 ? 5000 : 10 * i)
        << "\n";
  }
  out << "//other:test\tCases.C12\t99999\n";
  out.close();
  ExpectDisjointAndComplete(manifest);
}

TEST(ShardPartitionTest, ManifestPutsTheLongestCaseAloneOnItsShard) {
  const std::string manifest = CaseTempDir() + "/timing.tsv";
  std::ofstream out(manifest);
  for (int i = 0; i <= 12; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "Cases.C%02d", i);
    out << "*\t" << name << "\t" << (i == 7 ? 100000 : 1) << "\n";
  }
  out.close();
  ShardRun first = RunShard(0, 2, manifest);
  ShardRun second = RunShard(1, 2, manifest);
  EXPECT_EQ(first.ran, std::vector<std::string>{"Cases.C07"});
  EXPECT_EQ(second.ran.size(), 12u);
}

TEST(ShardPartitionTest, MalformedManifestIsAClearError) {
  const std::string manifest = CaseTempDir() + "/bad.tsv";
  std::ofstream(manifest) << "*\tCases.C00\tfast\n";
  ChildResult r = RunChild(
      {RunfilesPath(kFixture), "--gtest_filter=Cases.*"},
      {{"TEST_TOTAL_SHARDS", "2"}, {"TEST_SHARD_INDEX", "0"}, {"MP_TIMING_MANIFEST", manifest}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("timing manifest line 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fast"), std::string::npos) << r.output;
}

std::vector<std::string> Ran(const std::string& output) {
  std::vector<std::string> ran;
  std::regex line(R"(RAN (\S+) worker=)");
  for (std::sregex_iterator it(output.begin(), output.end(), line), end; it != end; ++it) {
    ran.push_back((*it)[1]);
  }
  return ran;
}

// Regression: "P/DISABLED_Param" used to be selected by the kit, never run by GoogleTest, and
// the target failed with "test process died before its first case".
TEST(ShardPartitionTest, DisabledCasesAreLeftOutAsGoogleTestDoes) {
  for (int total : {1, 2}) {
    std::vector<std::string> ran;
    for (int index = 0; index < total; ++index) {
      ChildResult r = RunChild(
          {RunfilesPath(kFixture), "--gtest_filter=Cases.C00:DisabledRules.*:P/DISABLED_Param.*"},
          {{"TEST_TOTAL_SHARDS", std::to_string(total)},
           {"TEST_SHARD_INDEX", std::to_string(index)}});
      EXPECT_EQ(r.exit_code, 0) << r.output;
      for (auto& c : Ran(r.output)) ran.push_back(c);
    }
    EXPECT_EQ(ran, std::vector<std::string>{"Cases.C00"}) << total << " shard(s)";
  }
}

TEST(ShardPartitionTest, AlsoRunDisabledTestsRunsThemAcrossShards) {
  std::multiset<std::string> ran;
  for (int index = 0; index < 2; ++index) {
    ChildResult r =
        RunChild({RunfilesPath(kFixture), "--gtest_also_run_disabled_tests",
                  "--gtest_filter=DisabledRules.*:P/DISABLED_Param.*"},
                 {{"TEST_TOTAL_SHARDS", "2"}, {"TEST_SHARD_INDEX", std::to_string(index)}});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    for (auto& c : Ran(r.output)) ran.insert(c);
  }
  EXPECT_EQ(ran,
            (std::multiset<std::string>{"DisabledRules.DISABLED_Case", "P/DISABLED_Param.Case/0",
                                        "P/DISABLED_Param.Case/1"}));
}

TEST(ShardPartitionTest, ShuffledShardsAreDisjointAndComplete) {
  for (const char* seed : {"1", "7", "12345"}) {
    std::multiset<std::string> ran;
    for (int index = 0; index < 3; ++index) {
      ChildResult r =
          RunChild({RunfilesPath(kFixture), "--gtest_filter=Cases.*", "--gtest_shuffle",
                    std::string("--gtest_random_seed=") + seed},
                   {{"TEST_TOTAL_SHARDS", "3"}, {"TEST_SHARD_INDEX", std::to_string(index)}});
      EXPECT_EQ(r.exit_code, 0) << r.output;
      for (auto& c : Ran(r.output)) ran.insert(c);
    }
    EXPECT_EQ(std::set<std::string>(ran.begin(), ran.end()), AllCases()) << "seed " << seed;
    EXPECT_EQ(ran.size(), AllCases().size()) << "seed " << seed;
  }
}

TEST(ShardPartitionTest, UnshardedRunPrintsMainWorker) {
  ChildResult r = RunChild({RunfilesPath(kFixture), "--gtest_filter=Cases.C00"}, {});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[ marketpipe ] worker main: 1 of 1 cases"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace mptest::selftest
