#include "tools/smart_test/selection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace marketpipe::smart_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A tree with packages at the root, marketpipe/core, marketpipe/net and marketpipe/net/client.
IsPackage Tree(std::set<std::string> packages = {"", "marketpipe/core", "marketpipe/net",
                                                 "marketpipe/net/client", "tools/smart_test"}) {
  return [packages](const std::string& dir) { return packages.count(dir) > 0; };
}

TEST(PlanForChangesTest, ASourceFileMapsToItsPackage) {
  Plan plan = PlanForChanges({"marketpipe/core/price.cc"}, Tree());
  EXPECT_FALSE(plan.everything);
  EXPECT_THAT(plan.packages, ElementsAre("marketpipe/core"));
  EXPECT_THAT(plan.reasons, ElementsAre("marketpipe/core/price.cc: package //marketpipe/core"));
}

TEST(PlanForChangesTest, AFileInASubdirectoryWithoutBuildFileMapsToTheNearestPackageAbove) {
  Plan plan =
      PlanForChanges({"marketpipe/net/client/testdata/page.json", "marketpipe/net/x/y.h"}, Tree());
  EXPECT_THAT(plan.packages, ElementsAre("marketpipe/net", "marketpipe/net/client"));
}

TEST(PlanForChangesTest, ABuildFileCountsForItsOwnPackage) {
  Plan plan = PlanForChanges({"marketpipe/net/client/BUILD.bazel"}, Tree());
  EXPECT_FALSE(plan.everything);
  EXPECT_THAT(plan.packages, ElementsAre("marketpipe/net/client"));
}

TEST(PlanForChangesTest, PackagesAreSortedAndUnique) {
  Plan plan = PlanForChanges(
      {"marketpipe/net/http.cc", "marketpipe/core/bar.h", "marketpipe/core/bar.cc"}, Tree());
  EXPECT_THAT(plan.packages, ElementsAre("marketpipe/core", "marketpipe/net"));
}

TEST(PlanForChangesTest, EachGlobalInputFallsBackToEverythingAndSaysWhy) {
  for (const char* file :
       {"WORKSPACE", ".bazelrc", ".bazelversion", "third_party/boost.BUILD",
        "testing/async_test.cc", "testing/timing/manifest.tsv", "tools/lint/rules.bzl",
        "marketpipe/core/defs.bzl", "tools/test_setup/test-setup.sh", "bazelw"}) {
    Plan plan = PlanForChanges({"marketpipe/core/price.cc", file}, Tree());
    EXPECT_TRUE(plan.everything) << file;
    EXPECT_THAT(plan.packages, IsEmpty()) << file;
    ASSERT_EQ(plan.reasons.size(), 2u);
    EXPECT_THAT(plan.reasons[1], HasSubstr(std::string(file) + ": ")) << file;
    EXPECT_THAT(plan.reasons[1], HasSubstr("-> //...")) << file;
  }
}

TEST(PlanForChangesTest, ADeletedBuildFileMeansADeletedPackageAndFallsBack) {
  // marketpipe/old/BUILD.bazel is in the change but the directory is no package any more.
  Plan plan = PlanForChanges({"marketpipe/old/BUILD.bazel", "marketpipe/old/old.cc"}, Tree());
  EXPECT_TRUE(plan.everything);
  EXPECT_THAT(plan.reasons[0], HasSubstr("deleted"));
}

TEST(PlanForChangesTest, ADeletedSourceFileStillMapsToItsPackage) {
  Plan plan = PlanForChanges({"marketpipe/core/gone.cc"}, Tree());
  EXPECT_THAT(plan.packages, ElementsAre("marketpipe/core"));
}

TEST(PlanForChangesTest, RootFilesMapToTheRootPackageAndOutputLinksAreIgnored) {
  Plan plan = PlanForChanges({"README.md", "bazel-testlogs-bep.json", "bazel-bin"}, Tree());
  EXPECT_THAT(plan.packages, ElementsAre(""));
  EXPECT_THAT(plan.reasons[1], HasSubstr("ignored"));
}

TEST(PlanForChangesTest, FilesUnderNoPackageSelectNothing) {
  Plan plan = PlanForChanges({"docs/notes.md", ""}, Tree({"marketpipe/core"}));
  EXPECT_FALSE(plan.everything);
  EXPECT_THAT(plan.packages, IsEmpty());
  EXPECT_THAT(plan.reasons,
              ElementsAre("docs/notes.md: in no Bazel package, no test depends on it"));
}

TEST(PlanForChangesTest, NoChangeSelectsNothing) {
  Plan plan = PlanForChanges({}, Tree());
  EXPECT_FALSE(plan.everything);
  EXPECT_THAT(plan.packages, IsEmpty());
}

TEST(TestQueryTest, AsksForTheTestsAmongTheReverseDependenciesOfEveryTargetInThePackages) {
  Plan plan;
  plan.packages = {"", "marketpipe/core"};
  EXPECT_EQ(TestQuery(plan), "tests(//...) intersect rdeps(//..., set(//:* //marketpipe/core:*))");
}

}  // namespace
}  // namespace marketpipe::smart_test
