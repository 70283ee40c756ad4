#include "marketpipe/cli/store_access.h"

#include <filesystem>
#include <system_error>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/cli/commands.h"
#include "marketpipe/cli/inputs.h"

namespace marketpipe::cli {

StoreOrExit OpenExistingStore(std::string_view store_flag) {
  absl::StatusOr<std::string> spec = ResolveStoreSpec(store_flag, WorkingDirectory());
  if (!spec.ok()) return {nullptr, ReportError(spec.status().message(), kExitInputError)};
  if (const std::optional<std::string> path = SqlitePath(*spec)) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*path, ec)) {
      return {nullptr,
              ReportError(absl::StrCat("--store ", std::string(store_flag), ": no store at ", *path,
                                       " (run `marketpipe ingest` first)"),
                          kExitInputError)};
    }
  }
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::OpenStore(*spec);
  if (!store.ok()) {
    return {nullptr, ReportError(absl::StrCat("cannot open store: ", store.status().message()),
                                 kExitFailure)};
  }
  return {*std::move(store), kExitOk};
}

StoreOrExit OpenOrCreateStore(const std::string& resolved_spec) {
  if (const std::optional<std::string> path = SqlitePath(resolved_spec)) {
    const std::filesystem::path parent = std::filesystem::path(*path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      return {nullptr, ReportError(absl::StrCat("cannot create directory ", parent.string(), ": ",
                                                ec.message()),
                                   kExitFailure)};
    }
  }
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::OpenStore(resolved_spec);
  if (!store.ok()) {
    return {nullptr, ReportError(absl::StrCat("cannot open store: ", store.status().message()),
                                 kExitFailure)};
  }
  return {*std::move(store), kExitOk};
}

void CollectStoreMetrics(storage::Store& store, metrics::Registry& registry) {
  absl::StatusOr<storage::QueryResult> counts = store.Query(
      "SELECT symbol, timeframe, count(*) FROM bars GROUP BY symbol, timeframe", 1'000'000);
  if (counts.ok()) {
    for (const auto& row : counts->rows) {
      if (row.size() != 3) continue;
      const auto* symbol = std::get_if<std::string>(&row[0]);
      const auto* timeframe = std::get_if<std::string>(&row[1]);
      const auto* n = std::get_if<int64_t>(&row[2]);
      if (symbol == nullptr || timeframe == nullptr || n == nullptr) continue;
      registry
          .GetGauge("marketpipe_store_bars", "Bars in the store, by symbol and timeframe.",
                    {{"symbol", *symbol}, {"timeframe", *timeframe}})
          .Set(static_cast<double>(*n));
    }
  }
  absl::StatusOr<std::vector<storage::JobRecord>> jobs = store.ListJobs();
  if (jobs.ok()) {
    std::map<storage::JobState, int> by_state;
    for (const auto& job : *jobs) ++by_state[job.state];
    for (const storage::JobState state :
         {storage::JobState::kPending, storage::JobState::kRunning, storage::JobState::kCompleted,
          storage::JobState::kCompletedWithErrors, storage::JobState::kFailed,
          storage::JobState::kCancelled}) {
      registry
          .GetGauge("marketpipe_store_jobs", "Ingest jobs in the store, by state.",
                    {{"state", std::string(storage::JobStateName(state))}})
          .Set(by_state[state]);
    }
  }
  registry.GetGauge("marketpipe_store_up", "1 when the last scrape could read the store.")
      .Set(counts.ok() && jobs.ok() ? 1 : 0);
}

}  // namespace marketpipe::cli
