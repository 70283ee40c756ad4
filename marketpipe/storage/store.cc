#include "marketpipe/storage/store.h"

#include <array>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/storage/postgres_store.h"
#include "marketpipe/storage/sqlite_store.h"
#include "marketpipe/storage/store_internal.h"

namespace marketpipe::storage {
namespace {

constexpr std::array<std::pair<JobState, std::string_view>, 6> kJobStateNames = {{
    {JobState::kPending, "PENDING"},
    {JobState::kRunning, "RUNNING"},
    {JobState::kCompleted, "COMPLETED"},
    {JobState::kCompletedWithErrors, "COMPLETED_WITH_ERRORS"},
    {JobState::kFailed, "FAILED"},
    {JobState::kCancelled, "CANCELLED"},
}};

}  // namespace

std::string_view JobStateName(JobState state) {
  for (const auto& [value, name] : kJobStateNames) {
    if (value == state) return name;
  }
  return "UNKNOWN";
}

absl::StatusOr<JobState> ParseJobState(std::string_view name) {
  for (const auto& [value, known] : kJobStateNames) {
    if (known == name) return value;
  }
  return absl::InvalidArgumentError(internal::Cat(
      "unknown job state '", name,
      "'; expected PENDING, RUNNING, COMPLETED, COMPLETED_WITH_ERRORS, FAILED or CANCELLED"));
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(std::string_view spec) {
  if (spec.starts_with("sqlite:")) {
    const std::string_view path = spec.substr(7);
    if (path.empty()) {
      return absl::InvalidArgumentError(
          internal::Cat("store spec '", spec, "': sqlite needs a file path (sqlite:PATH)"));
    }
    return OpenSqliteStore(std::string(path));
  }
  if (spec.starts_with("postgres:")) {
    absl::StatusOr<PostgresSpec> parsed = ParsePostgresSpec(spec);
    if (!parsed.ok()) return parsed.status();
    return OpenPostgresStore(*parsed);
  }
  return absl::InvalidArgumentError(internal::Cat(
      "store spec '", spec, "' is neither sqlite:PATH nor postgres:CONNINFO[;schema=NAME]"));
}

}  // namespace marketpipe::storage
