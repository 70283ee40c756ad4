#ifndef MARKETPIPE_INGESTION_MEMORY_STORE_H_
#define MARKETPIPE_INGESTION_MEMORY_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "marketpipe/storage/store.h"

namespace marketpipe::ingestion::fakes {

// An in-memory storage::Store for the coordinator's unit tests: the contract's bars, jobs and
// checkpoints, plus fault injection and a log of every transaction. Query is UNIMPLEMENTED.
//
//   MemoryStore store;
//   store.set_write_hook([](const storage::PageWrite& w) { return absl::UnavailableError("disk");
//   });
class MemoryStore final : public storage::Store {
 public:
  // Runs before each WritePage commits; a non-OK status fails that write (nothing of it lands).
  using WriteHook = std::function<absl::Status(const storage::PageWrite&)>;

  // One committed WritePage.
  struct WriteLog {
    std::string job_id;
    size_t bars = 0;
    std::vector<storage::Checkpoint> checkpoints;
  };

  std::string kind() const override { return "memory"; }
  absl::Status WritePage(const storage::PageWrite& write) override;
  absl::StatusOr<std::vector<Bar>> ReadBars(const Symbol& symbol, Timeframe timeframe,
                                            TimeRange range) override;
  absl::StatusOr<int64_t> CountBars(std::optional<Symbol> symbol, Timeframe timeframe,
                                    TimeRange range) override;
  absl::StatusOr<std::optional<storage::Provenance>> GetProvenance(const Symbol& symbol,
                                                                   Timeframe timeframe) override;
  absl::StatusOr<storage::QueryResult> Query(std::string_view sql, int64_t limit) override;
  absl::Status CreateJob(const storage::JobRecord& job) override;
  absl::StatusOr<std::optional<storage::JobRecord>> GetJob(std::string_view id) override;
  absl::StatusOr<std::vector<storage::JobRecord>> ListJobs() override;
  absl::Status StartJob(std::string_view id) override;
  absl::Status SetJobState(std::string_view id, storage::JobState state,
                           std::string_view message) override;
  absl::StatusOr<std::vector<storage::Checkpoint>> GetCheckpoints(std::string_view job_id) override;

  void set_write_hook(WriteHook hook);
  // Every later call of the method named (e.g. "StartJob", "GetCheckpoints") fails with
  // `status` until it is set back to OK.
  void set_failure(std::string method, absl::Status status);
  // Every bar of `timeframe`, sorted by symbol then time.
  std::vector<Bar> AllBars(Timeframe timeframe) const;
  std::vector<WriteLog> writes() const;
  // Upserts that replaced an existing bar (a re-fetched bar written again).
  int64_t overwrites() const;

 private:
  mutable std::mutex mu_;
  // Under mu_.
  absl::Status Injected(std::string_view method) const;

  WriteHook hook_;
  std::map<std::string, absl::Status, std::less<>> failures_;
  std::map<std::tuple<Timeframe, Symbol, int64_t>, Bar> bars_;
  std::map<std::pair<Symbol, Timeframe>, storage::Provenance> provenance_;
  std::map<std::string, storage::JobRecord, std::less<>> jobs_;
  std::map<std::string, std::map<Symbol, storage::Checkpoint>, std::less<>> checkpoints_;
  std::vector<WriteLog> writes_;
  int64_t overwrites_ = 0;
};

}  // namespace marketpipe::ingestion::fakes

#endif  // MARKETPIPE_INGESTION_MEMORY_STORE_H_
