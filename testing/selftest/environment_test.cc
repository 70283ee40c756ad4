#include "testing/environment.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testing/selftest/subprocess.h"

namespace mptest {
namespace {

const std::regex kIdentifier("^[a-z][a-z0-9_]{0,62}$");

TEST(EnvironmentTest, WorkerIdNamesTheShard) {
  const char* total = std::getenv("TEST_TOTAL_SHARDS");
  if (total && std::atoi(total) > 1) {
    EXPECT_EQ(WorkerId(), "shard-" + std::string(std::getenv("TEST_SHARD_INDEX")) + "-of-" + total);
  } else {
    EXPECT_EQ(WorkerId(), "main");
  }
}

TEST(EnvironmentTest, TempDirExistsIsStableWithinACaseAndEmpty) {
  const std::string dir = CaseTempDir();
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  EXPECT_EQ(CaseTempDir(), dir);
  if (const char* tmp = std::getenv("TEST_TMPDIR")) {
    EXPECT_EQ(dir.rfind(tmp, 0), 0u);
  }
  std::ofstream(dir + "/left-behind") << "x";
}

TEST(EnvironmentTest, TempDirDiffersBetweenCases) {
  // Two cases of one process (and the same two again under --gtest_repeat): each gets its own
  // empty directory although the one before left a file in its own.
  selftest::ChildResult r =
      selftest::RunChild({selftest::RunfilesPath("testing/selftest/kit_fixture_cases"),
                          "--gtest_filter=TempDirs.*", "--gtest_repeat=2"},
                         {});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::regex line(R"(TEMPDIR (\S+) empty=(\d))");
  std::set<std::string> dirs;
  int reports = 0;
  for (std::sregex_iterator it(r.output.begin(), r.output.end(), line), end; it != end; ++it) {
    dirs.insert((*it)[1]);
    EXPECT_EQ((*it)[2], "1") << (*it)[1] << " was not empty\n" << r.output;
    ++reports;
  }
  EXPECT_EQ(reports, 4) << r.output;
  EXPECT_EQ(dirs.size(), 4u) << r.output;
}

TEST(EnvironmentTest, UniqueNameIsASqlIdentifierEvenFromHostilePrefixes) {
  for (std::string prefix : std::vector<std::string>{"bars", "", "9lives", "Semi;colon DROP",
                                                     std::string(200, 'x'), "ünïcode"}) {
    const std::string name = UniqueName(prefix);
    EXPECT_TRUE(std::regex_match(name, kIdentifier)) << "prefix \"" << prefix << "\" -> " << name;
    EXPECT_LE(name.size(), 63u);
  }
}

TEST(EnvironmentTest, UniqueNamesFromManyThreadsNeverCollide) {
  std::vector<std::vector<std::string>> per_thread(8);
  std::vector<std::thread> threads;
  for (auto& names : per_thread) {
    threads.emplace_back([&names] {
      for (int i = 0; i < 2000; ++i) names.push_back(UniqueName("t"));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& names : per_thread) all.insert(names.begin(), names.end());
  EXPECT_EQ(all.size(), 8u * 2000u);
}

TEST(EnvironmentTest, UniqueNamesFromManyProcessesNeverCollide) {
  std::set<std::string> all;
  size_t total = 0;
  std::vector<std::thread> threads;
  std::vector<selftest::ChildResult> results(8);
  for (auto& r : results) {
    threads.emplace_back([&r] {
      r = selftest::RunChild(
          {selftest::RunfilesPath("testing/selftest/kit_fixture_cases"), "--gtest_filter=Names.*"},
          {{"MP_FIXTURE_NAMES", "500"}});
    });
  }
  for (auto& t : threads) t.join();
  const std::regex name_line(R"(NAME (\S+))");
  for (const auto& r : results) {
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (std::sregex_iterator it(r.output.begin(), r.output.end(), name_line), end; it != end;
         ++it) {
      all.insert((*it)[1]);
      ++total;
    }
  }
  EXPECT_EQ(total, 8u * 500u);
  EXPECT_EQ(all.size(), total);
}

}  // namespace
}  // namespace mptest
