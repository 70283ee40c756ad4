#include "tools/smart_test/selection.h"

#include <algorithm>
#include <set>

namespace marketpipe::smart_test {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }
std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// Why a file forces a run of everything, or "" when it does not.
std::string WhyEverything(const std::string& file, const IsPackage& is_package) {
  const std::string base = BaseName(file);
  if (file == "WORKSPACE" || file == "WORKSPACE.bazel") return "the workspace definition";
  if (file == ".bazelrc" || file == ".bazelversion") return "Bazel's configuration";
  if (StartsWith(file, "third_party/")) return "a third-party overlay or toolchain";
  if (StartsWith(file, "testing/")) return "the test kit (every test links it)";
  if (StartsWith(file, "tools/test_setup/") || file == "bazelw") {
    return "the script around every test action (tools/test_setup, installed by ./bazelw)";
  }
  if (EndsWith(file, ".bzl")) return "a Starlark macro or rule";
  if ((base == "BUILD" || base == "BUILD.bazel") && !is_package(DirName(file))) {
    return "a package was deleted";
  }
  return "";
}

}  // namespace

Plan PlanForChanges(const std::vector<std::string>& files, const IsPackage& is_package) {
  Plan plan;
  std::set<std::string> packages;
  for (const std::string& file : files) {
    if (file.empty()) continue;
    if (StartsWith(file, "bazel-")) {
      plan.reasons.push_back(file + ": Bazel output link, ignored");
      continue;
    }
    if (const std::string why = WhyEverything(file, is_package); !why.empty()) {
      plan.everything = true;
      plan.reasons.push_back(file + ": " + why + " -> //...");
      continue;
    }
    // The nearest enclosing package; a BUILD file's directory is its own package.
    std::string dir = DirName(file);
    while (!is_package(dir) && !dir.empty()) dir = DirName(dir);
    if (!is_package(dir)) {
      plan.reasons.push_back(file + ": in no Bazel package, no test depends on it");
      continue;
    }
    packages.insert(dir);
    plan.reasons.push_back(file + ": package //" + dir);
  }
  if (!plan.everything) plan.packages.assign(packages.begin(), packages.end());
  return plan;
}

std::string TestQuery(const Plan& plan) {
  std::string set;
  for (const std::string& p : plan.packages) set += (set.empty() ? "//" : " //") + p + ":*";
  return "tests(//...) intersect rdeps(//..., set(" + set + "))";
}

}  // namespace marketpipe::smart_test
