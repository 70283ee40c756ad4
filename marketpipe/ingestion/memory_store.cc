#include "marketpipe/ingestion/memory_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace marketpipe::ingestion::fakes {
namespace {

using storage::Checkpoint;
using storage::JobRecord;
using storage::JobState;

// As the real stores decide: another job would duplicate this one's work.
bool Duplicates(const JobRecord& a, const JobRecord& b) {
  return a.timeframe == b.timeframe && a.symbols == b.symbols &&
         a.range.start_ns() < b.range.end_ns() && b.range.start_ns() < a.range.end_ns();
}

}  // namespace

absl::Status MemoryStore::WritePage(const storage::PageWrite& write) {
  std::lock_guard lock(mu_);
  if (hook_) {
    if (absl::Status s = hook_(write); !s.ok()) return s;
  }
  for (const Bar& bar : write.bars) {
    auto it = provenance_.find({bar.symbol, write.timeframe});
    if (it != provenance_.end() && !(it->second == write.provenance)) {
      return absl::FailedPreconditionError(
          absl::StrCat("bars of ", bar.symbol.value(), " are stored with another provenance"));
    }
  }
  if (!write.job_id.empty() && !jobs_.contains(write.job_id)) {
    return absl::NotFoundError(absl::StrCat("no job ", write.job_id));
  }
  for (const Bar& bar : write.bars) {
    provenance_.emplace(std::make_pair(bar.symbol, write.timeframe), write.provenance);
    auto [it, inserted] = bars_.insert_or_assign({write.timeframe, bar.symbol, bar.ts_ns}, bar);
    if (!inserted) ++overwrites_;
  }
  if (!write.job_id.empty()) {
    auto& checkpoints = checkpoints_[write.job_id];
    for (const Checkpoint& c : write.checkpoints) checkpoints[c.symbol] = c;
  }
  writes_.push_back({write.job_id, write.bars.size(), write.checkpoints});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Bar>> MemoryStore::ReadBars(const Symbol& symbol, Timeframe timeframe,
                                                       TimeRange range) {
  std::lock_guard lock(mu_);
  if (absl::Status s = Injected("ReadBars"); !s.ok()) return s;
  std::vector<Bar> out;
  for (auto it = bars_.lower_bound({timeframe, symbol, range.start_ns()});
       it != bars_.end() && std::get<0>(it->first) == timeframe &&
       std::get<1>(it->first) == symbol && std::get<2>(it->first) < range.end_ns();
       ++it) {
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<int64_t> MemoryStore::CountBars(std::optional<Symbol> symbol, Timeframe timeframe,
                                               TimeRange range) {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  for (const auto& [key, bar] : bars_) {
    if (std::get<0>(key) == timeframe && (!symbol || *symbol == std::get<1>(key)) &&
        range.Contains(std::get<2>(key))) {
      ++n;
    }
  }
  return n;
}

absl::StatusOr<std::optional<storage::Provenance>> MemoryStore::GetProvenance(const Symbol& symbol,
                                                                              Timeframe timeframe) {
  std::lock_guard lock(mu_);
  auto it = provenance_.find({symbol, timeframe});
  if (it == provenance_.end()) return std::optional<storage::Provenance>();
  return std::optional<storage::Provenance>(it->second);
}

absl::StatusOr<storage::QueryResult> MemoryStore::Query(std::string_view sql, int64_t limit) {
  return absl::UnimplementedError("MemoryStore has no SQL");
}

absl::Status MemoryStore::CreateJob(const JobRecord& job) {
  std::lock_guard lock(mu_);
  if (absl::Status s = Injected("CreateJob"); !s.ok()) return s;
  if (jobs_.contains(job.id)) return absl::AlreadyExistsError(absl::StrCat("job ", job.id));
  jobs_[job.id] = job;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<JobRecord>> MemoryStore::GetJob(std::string_view id) {
  std::lock_guard lock(mu_);
  if (absl::Status s = Injected("GetJob"); !s.ok()) return s;
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(it->second);
}

absl::StatusOr<std::vector<JobRecord>> MemoryStore::ListJobs() {
  std::lock_guard lock(mu_);
  if (absl::Status s = Injected("ListJobs"); !s.ok()) return s;
  std::vector<JobRecord> out;
  for (const auto& [id, job] : jobs_) out.push_back(job);
  return out;
}

absl::Status MemoryStore::StartJob(std::string_view id) {
  std::lock_guard lock(mu_);
  if (absl::Status s = Injected("StartJob"); !s.ok()) return s;
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job ", std::string(id)));
  for (const auto& [other_id, other] : jobs_) {
    if (other_id != id && other.state == JobState::kRunning && Duplicates(other, it->second)) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", other_id, " is running over the same symbols, timeframe and range"));
    }
  }
  it->second.state = JobState::kRunning;
  return absl::OkStatus();
}

absl::Status MemoryStore::SetJobState(std::string_view id, JobState state,
                                      std::string_view message) {
  std::lock_guard lock(mu_);
  if (absl::Status s = Injected("SetJobState"); !s.ok()) return s;
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("no job ", std::string(id)));
  it->second.state = state;
  it->second.message = std::string(message);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Checkpoint>> MemoryStore::GetCheckpoints(std::string_view job_id) {
  std::lock_guard lock(mu_);
  if (absl::Status s = Injected("GetCheckpoints"); !s.ok()) return s;
  std::vector<Checkpoint> out;
  auto it = checkpoints_.find(job_id);
  if (it == checkpoints_.end()) return out;
  for (const auto& [symbol, c] : it->second) out.push_back(c);
  return out;
}

absl::Status MemoryStore::Injected(std::string_view method) const {
  auto it = failures_.find(method);
  return it == failures_.end() ? absl::OkStatus() : it->second;
}

void MemoryStore::set_failure(std::string method, absl::Status status) {
  std::lock_guard lock(mu_);
  failures_[std::move(method)] = std::move(status);
}

void MemoryStore::set_write_hook(WriteHook hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
}

std::vector<Bar> MemoryStore::AllBars(Timeframe timeframe) const {
  std::lock_guard lock(mu_);
  std::vector<Bar> out;
  for (const auto& [key, bar] : bars_) {
    if (std::get<0>(key) == timeframe) out.push_back(bar);
  }
  return out;
}

std::vector<MemoryStore::WriteLog> MemoryStore::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

int64_t MemoryStore::overwrites() const {
  std::lock_guard lock(mu_);
  return overwrites_;
}

}  // namespace marketpipe::ingestion::fakes
