#ifndef TESTING_KIT_INTERNAL_H_
#define TESTING_KIT_INTERNAL_H_

// Glue between the test main and the kit's fixtures. Not for tests.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mptest::kit_internal {

// The per-case real-time budget the main derived (AsyncTest::RunAsync obeys it).
void SetCaseBudget(std::chrono::milliseconds budget);
std::chrono::milliseconds GetCaseBudget();

// Bumped by the main's listener at every case start (including --gtest_repeat runs).
void NoteCaseStarted();
uint64_t CaseGeneration();

// What async work is pending right now (for stall reports). AsyncTest registers its virtual
// clock here for the duration of a case.
using PendingDescriber = std::function<std::vector<std::string>()>;
void SetPendingDescriber(PendingDescriber describer);
std::vector<std::string> DescribePendingWork();

}  // namespace mptest::kit_internal

#endif  // TESTING_KIT_INTERNAL_H_
