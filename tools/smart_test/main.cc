// smart_test: run only the tests a change can affect.
//
//   bazel run //tools/smart_test -- [--base REF] [--dry-run] [--files F...] [-- BAZEL TEST ARGS]
//
// Changed files = `git diff --name-only BASE` (committed since BASE, staged, unstaged, deleted)
// + untracked files git does not ignore. BASE defaults to the merge base with main. The files
// map to packages (selection.h), the packages to the tests that depend on them through
// `bazel query`, and those tests run with `bazel test` (the extra args passed through). It
// prints why it picked what it picked. --files replaces the git step (to ask "what if").

#include <sys/stat.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tools/smart_test/selection.h"

namespace st = marketpipe::smart_test;

namespace {

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Join(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += (out.empty() ? "" : " ") + Quote(a);
  return out;
}

// Runs a command, returns its stdout; false when it exits non-zero.
bool Capture(const std::vector<std::string>& args, std::string* out) {
  FILE* pipe = popen((Join(args) + " 2>/dev/null").c_str(), "r");
  if (!pipe) return false;
  std::array<char, 4096> buf;
  size_t n;
  out->clear();
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out->append(buf.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

bool IsFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

int main(int argc, char** argv) {
  std::string base;
  bool dry_run = false;
  std::vector<std::string> files, bazel_args;
  CLI::App app{
      "Runs only the tests that depend on what changed (vs a base ref and the work tree)."};
  app.add_option("--base", base, "git ref to compare with (default: merge-base with main)");
  app.add_flag("--dry-run", dry_run, "print the plan and the bazel command; run nothing");
  app.add_option("--files", files, "treat these files as the change instead of asking git");
  app.add_option("bazel_args", bazel_args, "passed to bazel test (after --)");
  app.allow_extras(false);
  CLI11_PARSE(app, argc, argv);

  // Under `bazel run`, work in the workspace the user ran it from.
  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
    if (chdir(ws) != 0) {
      std::cerr << "smart_test: cannot enter " << ws << "\n";
      return 2;
    }
  }
  const std::string bazel = IsFile("bazelw") ? "./bazelw" : "bazel";

  if (files.empty()) {
    std::string out;
    if (base.empty()) {
      if (!Capture({"git", "merge-base", "HEAD", "main"}, &out)) {
        std::cerr << "smart_test: no merge base with main; pass --base REF\n";
        return 2;
      }
      base = Lines(out).at(0);
      std::cout << "smart_test: base = merge-base(HEAD, main) = " << base.substr(0, 12) << "\n";
    }
    if (!Capture({"git", "diff", "--name-only", "--no-renames", base, "--"}, &out)) {
      std::cerr << "smart_test: git diff against '" << base << "' failed (unknown ref?)\n";
      return 2;
    }
    files = Lines(out);
    if (!Capture({"git", "ls-files", "--others", "--exclude-standard"}, &out)) {
      std::cerr << "smart_test: git ls-files failed\n";
      return 2;
    }
    for (const std::string& f : Lines(out)) files.push_back(f);
  }

  const st::Plan plan = st::PlanForChanges(files, [](const std::string& dir) {
    const std::string prefix = dir.empty() ? "" : dir + "/";
    return IsFile(prefix + "BUILD.bazel") || IsFile(prefix + "BUILD");
  });
  std::cout << "smart_test: " << files.size() << " changed file(s)\n";
  for (const std::string& r : plan.reasons) std::cout << "  " << r << "\n";

  std::vector<std::string> targets;
  if (plan.everything) {
    targets = {"//..."};
    std::cout << "smart_test: a change can affect every test: running //...\n";
  } else if (plan.packages.empty()) {
    std::cout << "smart_test: no Bazel package changed: nothing to test\n";
    return 0;
  } else {
    const std::string query = st::TestQuery(plan);
    std::string out;
    if (!Capture({bazel, "query", "--noshow_progress", "--keep_going", query}, &out) &&
        out.empty()) {
      std::cerr << "smart_test: bazel query failed: " << query << "\n";
      return 2;
    }
    targets = Lines(out);
    std::sort(targets.begin(), targets.end());
    std::string all;
    Capture({bazel, "query", "--noshow_progress", "tests(//...)"}, &all);
    std::cout << "smart_test: " << query << "\nsmart_test: selected " << targets.size() << " of "
              << Lines(all).size() << " test targets\n";
    for (const std::string& t : targets) std::cout << "  " << t << "\n";
    if (targets.empty()) {
      std::cout << "smart_test: no test depends on the changed packages: nothing to test\n";
      return 0;
    }
  }

  std::vector<std::string> cmd = {bazel, "test"};
  cmd.insert(cmd.end(), bazel_args.begin(), bazel_args.end());
  cmd.push_back("--");
  cmd.insert(cmd.end(), targets.begin(), targets.end());
  std::cout << "smart_test: " << Join(cmd) << "\n" << std::flush;
  if (dry_run) return 0;
  const int status = std::system(Join(cmd).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
