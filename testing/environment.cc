#include "testing/environment.h"

#include <gtest/gtest.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "testing/kit_internal.h"

namespace mptest {
namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

uint64_t RandomBits() {
  uint64_t bits = 0;
  // getrandom cannot fail for <= 256 bytes once the pool is initialised, except by EINTR.
  while (getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits)) {
  }
  return bits;
}

// Per-process random tag: PIDs repeat across sandboxes (PID namespaces) and machines.
uint64_t ProcessTag() {
  static const uint64_t tag = RandomBits();
  return tag;
}

std::string Sanitize(std::string_view in, size_t max_len) {
  std::string out;
  for (char c : in) {
    if (out.size() == max_len) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    out.push_back(ok ? c : '_');
  }
  return out;
}

std::filesystem::path BaseTempDir() {
  static const std::filesystem::path base = [] {
    if (const char* t = Env("TEST_TMPDIR")) return std::filesystem::path(t);
    const char* tmp = Env("TMPDIR");
    char name[64];
    std::snprintf(name, sizeof name, "marketpipe-test-%016llx",
                  static_cast<unsigned long long>(ProcessTag()));
    static const std::filesystem::path created = std::filesystem::path(tmp ? tmp : "/tmp") / name;
    // Outside Bazel nobody cleans up after us: remove what we created when the process ends.
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(created, ec);
    });
    return created;
  }();
  return base;
}

}  // namespace

std::string WorkerId() {
  const char* total = Env("TEST_TOTAL_SHARDS");
  if (!total) total = Env("GTEST_TOTAL_SHARDS");
  const char* index = Env("TEST_SHARD_INDEX");
  if (!index) index = Env("GTEST_SHARD_INDEX");
  if (total && index && std::atoi(total) > 1) {
    return "shard-" + std::string(index) + "-of-" + std::string(total);
  }
  return "main";
}

std::string CurrentCaseName() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (!info) return "";
  return std::string(info->test_suite_name()) + "." + info->name();
}

std::string CaseTempDir() {
  static std::mutex mu;
  static uint64_t dir_generation = ~uint64_t{0};
  static std::filesystem::path dir;
  static int counter = 0;
  std::lock_guard<std::mutex> lock(mu);
  const uint64_t generation = kit_internal::CaseGeneration();
  if (generation == dir_generation && std::filesystem::exists(dir)) return dir.string();
  std::string case_name = CurrentCaseName();
  if (case_name.empty()) case_name = "no_case";
  // Sanitised case name for humans + a counter for uniqueness within the process.
  std::filesystem::path fresh =
      BaseTempDir() / (Sanitize(case_name, 80) + "." + std::to_string(++counter));
  std::error_code ec;
  std::filesystem::remove_all(fresh, ec);
  std::filesystem::create_directories(fresh, ec);
  if (ec) {
    throw std::runtime_error("mptest::CaseTempDir: cannot create " + fresh.string() + ": " +
                             ec.message());
  }
  dir_generation = generation;
  dir = fresh;
  return dir.string();
}

std::string UniqueName(std::string_view prefix) {
  static std::atomic<uint64_t> counter{0};
  std::string p = Sanitize(prefix, 32);
  if (p.empty() || !(p[0] >= 'a' && p[0] <= 'z')) p.insert(p.begin(), 't');
  if (p.size() > 32) p.resize(32);
  char suffix[48];
  std::snprintf(suffix, sizeof suffix, "_%016llx_%llu",
                static_cast<unsigned long long>(ProcessTag()),
                static_cast<unsigned long long>(++counter));
  return p + suffix;
}

}  // namespace mptest
