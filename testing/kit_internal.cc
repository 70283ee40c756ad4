#include "testing/kit_internal.h"

#include <atomic>
#include <mutex>

namespace mptest::kit_internal {
namespace {

std::atomic<int64_t> case_budget_ms{60'000};
std::atomic<uint64_t> case_generation{0};
std::mutex describer_mu;
PendingDescriber* describer = nullptr;

}  // namespace

void SetCaseBudget(std::chrono::milliseconds budget) { case_budget_ms = budget.count(); }
std::chrono::milliseconds GetCaseBudget() { return std::chrono::milliseconds(case_budget_ms); }

void NoteCaseStarted() { case_generation.fetch_add(1); }
uint64_t CaseGeneration() { return case_generation.load(); }

void SetPendingDescriber(PendingDescriber d) {
  std::lock_guard<std::mutex> lock(describer_mu);
  delete describer;
  describer = d ? new PendingDescriber(std::move(d)) : nullptr;
}

std::vector<std::string> DescribePendingWork() {
  std::lock_guard<std::mutex> lock(describer_mu);
  if (!describer) return {};
  return (*describer)();
}

}  // namespace mptest::kit_internal
