#include "marketpipe/ingestion/ingest.h"

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "marketpipe/aggregation/recompute.h"
#include "marketpipe/core/time_format.h"

namespace marketpipe::ingestion {
namespace {

namespace asio = boost::asio;
using storage::Checkpoint;
using storage::JobRecord;
using storage::JobState;
using storage::PageWrite;
using storage::Provenance;

constexpr int kMaxWorkers = 256;
// At most this many failed symbols are named in the job's stored message.
constexpr size_t kMaxSymbolsInMessage = 10;

std::string Str(std::string_view text) { return std::string(text); }

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  return absl::Status(status.code(), absl::StrCat(Str(context), ": ", status.message()));
}

// One symbol of the job, as this run knows it.
struct SymbolState {
  Symbol symbol;
  // From the checkpoint, then advanced by every page transaction of this run.
  std::optional<int64_t> last_ts_ns;
  int64_t bars_stored = 0;
  bool done = false;
  std::string error;  // the checkpoint's error (kept once done)
  // This run's outcome.
  bool done_before_run = false;
  std::optional<absl::Status> failure;
  bool rejected = false;
  // reject-symbol: bars accepted so far, held until the provider completes the symbol.
  std::vector<Bar> held;
};

// A set of symbols fetched together: they all resume from `start_ns`.
struct Batch {
  std::vector<SymbolState*> symbols;
  int64_t start_ns = 0;
};

// What one batch's fetch carries from page to page.
struct BatchRun {
  explicit BatchRun(Timeframe timeframe, validation::Policy policy)
      : validator(timeframe, policy) {}
  validation::Validator validator;
  absl::flat_hash_map<Symbol, SymbolState*> members;
  TimeRange range;
  std::string label;  // names the batch in errors
};

bool SameSpec(const JobRecord& a, const JobRecord& b) {
  return a.symbols == b.symbols && a.range == b.range && a.timeframe == b.timeframe &&
         a.provenance == b.provenance;
}

std::string Describe(const JobRecord& job) {
  std::vector<std::string> symbols;
  for (const Symbol& s : job.symbols) symbols.push_back(s.value());
  if (symbols.size() > 5) {
    const size_t more = symbols.size() - 5;
    symbols.resize(5);
    symbols.push_back(absl::StrCat("... (", more, " more)"));
  }
  return absl::StrCat(job.provenance.provider, "/", job.provenance.feed, "/",
                      job.provenance.adjustment, " ", job.timeframe.ToString(), " ",
                      job.range.ToString(), " [", absl::StrJoin(symbols, ","), "]");
}

// Whether a failed multi-symbol fetch may be one symbol's fault (a request refused for one bad
// symbol, one symbol's malformed page, a page the store refuses for one symbol's provenance),
// so that its symbols are worth fetching one by one. Not when the failure is the service's or
// the account's, the same for every symbol: auth, throttling, retries exhausted, cancellation.
bool MayBeOneSymbolsFault(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return false;
    default:
      return true;
  }
}

std::string ExceptionMessage(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// Runs on the writer thread.
asio::awaitable<absl::Status> WriteOn(storage::Store* store, const PageWrite* write) {
  co_return store->WritePage(*write);
}

}  // namespace

class Coordinator::Impl {
 public:
  Impl(Provider& provider, storage::Store& store, TimeSource& time, IngestOptions options)
      : provider_(provider), store_(store), time_(time), options_(std::move(options)) {}

  asio::awaitable<absl::StatusOr<IngestResult>> Run();
  void Cancel(std::string_view why);
  const std::string& job_id() const { return job_id_; }

 private:
  // Checks the rules, creates or loads the job, starts it, reads its checkpoints and plans the
  // batches. False with `status` set when the job is not to run.
  absl::Status Prepare();
  // Run after a successful Prepare.
  asio::awaitable<absl::StatusOr<IngestResult>> RunPrepared();
  void Plan();
  // Where `state`'s fetch starts: after its last stored bar, or at the range's start.
  int64_t ResumeStart(const SymbolState& state) const;
  // Best effort: leaves the job FAILED with `why` (the run ends without Finish).
  void MarkFailed(std::string_view why);
  asio::awaitable<void> Worker();
  asio::awaitable<void> RunBatch(Batch& batch);
  // Validates one page and writes it (bars + checkpoints) in one transaction.
  asio::awaitable<absl::Status> HandlePage(BatchRun& run, FetchPage page);
  // Completes `symbols` (no more bars will come): writes held bars and done checkpoints.
  asio::awaitable<absl::Status> CompleteSymbols(BatchRun& run, std::vector<Bar> bars,
                                                const std::vector<SymbolState*>& completed,
                                                int page_index);
  // Marks the batch's unfinished symbols failed with `error` (checkpoint error, done=false).
  void FailSymbols(Batch& batch, const absl::Status& error);
  // One Store::WritePage, on the writer thread when there is one.
  asio::awaitable<absl::Status> Write(const PageWrite& write);
  absl::StatusOr<IngestResult> Finish();
  // Recomputes the aggregate_to buckets of every symbol with stored bars (this run's or an
  // earlier one's, which may have been killed before it got here).
  absl::Status Aggregate();
  void ReportProgress();

  Provider& provider_;
  storage::Store& store_;
  TimeSource& time_;
  IngestOptions options_;

  std::string job_id_;
  std::map<Symbol, SymbolState> states_;
  // A deque: failed batches append their symbols' single retries while workers hold references.
  std::deque<Batch> batches_;
  size_t next_batch_ = 0;
  bool created_ = false;  // this run created the job's row
  bool started_ = false;
  bool running_ = false;
  bool cancelled_ = false;
  std::string cancel_reason_;  // Cancel's `why`
  asio::cancellation_signal cancel_signal_;
  // options_.write_thread: the one thread every page transaction runs on.
  std::optional<asio::thread_pool> writer_;
  Progress progress_;
  TimeSource::TimePoint start_time_{};
  int symbols_already_done_ = 0;
  // What the written bars are recorded with: the job's, with the feed the provider's pages
  // name when the job left it to the provider's default.
  Provenance provenance_;
  int64_t aggregated_bars_ = 0;
};

absl::Status Coordinator::Impl::Prepare() {
  if (options_.workers < 1 || options_.workers > kMaxWorkers) {
    return absl::InvalidArgumentError(
        absl::StrCat("workers must be 1..", kMaxWorkers, ", got ", options_.workers));
  }
  JobSpec spec{.symbols = options_.symbols,
               .range = options_.range,
               .timeframe = options_.timeframe,
               .shard = options_.shard};
  if (absl::Status s = CheckJobRules(spec, time_.UnixNanos()); !s.ok()) return s;
  for (Timeframe target : options_.aggregate_to) {
    // 1d buckets are New York days: they nest 1m..1h bars only.
    if (target <= options_.timeframe ||
        (target == Timeframe::kOneDay && options_.timeframe > Timeframe::kOneHour)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot aggregate ", options_.timeframe.ToString(), " bars to ", target.ToString()));
    }
  }
  if (options_.job_id.empty()) {
    job_id_ = DeriveJobId(provider_.name(), options_.feed, spec);
  } else {
    if (absl::Status s = CheckJobId(options_.job_id); !s.ok()) return s;
    job_id_ = options_.job_id;
  }
  std::vector<Symbol> symbols = SymbolsOfShard(options_.symbols, options_.shard);
  for (const Symbol& symbol : symbols) states_[symbol].symbol = symbol;
  progress_.symbols_total = static_cast<int>(symbols.size());
  // A shard that owns none of the symbols has nothing to record.
  if (symbols.empty()) return absl::OkStatus();

  const int64_t now = time_.UnixNanos();
  JobRecord record;
  record.id = job_id_;
  record.symbols = symbols;
  record.range = options_.range;
  record.timeframe = options_.timeframe;
  record.provenance = {
      .provider = provider_.name(), .feed = options_.feed, .adjustment = options_.adjustment};
  record.state = JobState::kPending;
  record.created_unix_ns = now;
  record.updated_unix_ns = now;
  absl::StatusOr<std::optional<JobRecord>> existing = store_.GetJob(job_id_);
  if (!existing.ok()) return Annotate(existing.status(), absl::StrCat("reading job ", job_id_));
  if (!existing->has_value()) {
    absl::Status created = store_.CreateJob(record);
    created_ = created.ok();
    if (absl::IsAlreadyExists(created)) {
      // Another process created it in between: compare with theirs.
      existing = store_.GetJob(job_id_);
      if (!existing.ok()) {
        return Annotate(existing.status(), absl::StrCat("reading job ", job_id_));
      }
    } else if (!created.ok()) {
      return Annotate(created, absl::StrCat("creating job ", job_id_));
    }
  }
  if (existing->has_value() && !SameSpec(**existing, record)) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id_, " already exists for ",
                                                      Describe(**existing), ", not ",
                                                      Describe(record), "; give another job id"));
  }
  if (absl::Status s = store_.StartJob(job_id_); !s.ok()) {
    return Annotate(s, absl::StrCat("starting job ", job_id_));
  }
  started_ = true;
  absl::StatusOr<std::vector<Checkpoint>> checkpoints = store_.GetCheckpoints(job_id_);
  if (!checkpoints.ok()) {
    return Annotate(checkpoints.status(), absl::StrCat("reading checkpoints of job ", job_id_));
  }
  for (const Checkpoint& checkpoint : *checkpoints) {
    auto it = states_.find(checkpoint.symbol);
    if (it == states_.end()) continue;
    SymbolState& state = it->second;
    state.last_ts_ns = checkpoint.last_ts_ns;
    state.bars_stored = checkpoint.bars_stored;
    state.done = checkpoint.done;
    state.error = checkpoint.error;
    if (state.done) {
      state.done_before_run = true;
      ++symbols_already_done_;
    }
  }
  progress_.symbols_done = symbols_already_done_;
  provenance_ = record.provenance;
  return absl::OkStatus();
}

int64_t Coordinator::Impl::ResumeStart(const SymbolState& state) const {
  return state.last_ts_ns ? std::max(*state.last_ts_ns + 1, options_.range.start_ns())
                          : options_.range.start_ns();
}

void Coordinator::Impl::Plan() {
  // Symbols that resume from the same point share requests.
  std::map<int64_t, std::vector<SymbolState*>> by_start;
  for (auto& [symbol, state] : states_) {
    if (!state.done) by_start[ResumeStart(state)].push_back(&state);
  }
  const int max_symbols = std::max(1, provider_.max_symbols_per_request());
  for (auto& [start, group] : by_start) {
    // Split a group so every worker gets a share, without exceeding a request's symbols.
    const int per_worker =
        static_cast<int>((group.size() + options_.workers - 1) / options_.workers);
    const size_t chunk = static_cast<size_t>(std::clamp(per_worker, 1, max_symbols));
    for (size_t i = 0; i < group.size(); i += chunk) {
      Batch batch;
      batch.start_ns = start;
      batch.symbols.assign(group.begin() + i, group.begin() + std::min(group.size(), i + chunk));
      batches_.push_back(std::move(batch));
    }
  }
}

asio::awaitable<absl::StatusOr<IngestResult>> Coordinator::Impl::Run() {
  if (absl::Status s = Prepare(); !s.ok()) {
    // A job this run created or started must not be left PENDING or RUNNING by it.
    if (created_ || started_) MarkFailed(absl::StrCat("not run: ", s.message()));
    co_return s;
  }
  std::exception_ptr defect;
  try {
    co_return co_await RunPrepared();
  } catch (...) {
    defect = std::current_exception();
  }
  running_ = false;
  if (writer_) {
    writer_->join();
    writer_.reset();
  }
  if (started_) MarkFailed(absl::StrCat("internal error: ", ExceptionMessage(defect)));
  std::rethrow_exception(defect);
}

void Coordinator::Impl::MarkFailed(std::string_view why) {
  (void)store_.SetJobState(job_id_, JobState::kFailed, why);
}

asio::awaitable<absl::StatusOr<IngestResult>> Coordinator::Impl::RunPrepared() {
  start_time_ = time_.Now();
  if (states_.empty()) {
    IngestResult result;
    result.job_id = job_id_;
    result.state = JobState::kCompleted;
    co_return result;
  }
  Plan();
  running_ = true;
  if (options_.on_started) options_.on_started(job_id_);
  if (options_.write_thread && !batches_.empty()) writer_.emplace(1);
  const size_t workers = std::min(batches_.size(), static_cast<size_t>(options_.workers));
  if (workers > 0) {
    auto executor = co_await asio::this_coro::executor;
    using Op = decltype(asio::co_spawn(executor, Worker(), asio::deferred));
    std::vector<Op> ops;
    ops.reserve(workers);
    for (size_t i = 0; i < workers; ++i)
      ops.push_back(asio::co_spawn(executor, Worker(), asio::deferred));
    // Cancel() reaches every worker's fetch through the group.
    auto [order, exceptions] =
        co_await asio::experimental::make_parallel_group(std::move(ops))
            .async_wait(asio::experimental::wait_for_all(),
                        asio::bind_cancellation_slot(cancel_signal_.slot(), asio::use_awaitable));
    for (const std::exception_ptr& e : exceptions) {
      // Workers catch everything they can attribute to a batch; anything else is a defect.
      if (e) std::rethrow_exception(e);
    }
  }
  running_ = false;
  if (writer_) {
    writer_->join();
    writer_.reset();
  }
  co_return Finish();
}

void Coordinator::Impl::Cancel(std::string_view why) {
  if (!running_ || cancelled_) return;
  cancelled_ = true;
  cancel_reason_ = why;
  cancel_signal_.emit(asio::cancellation_type::terminal);
}

asio::awaitable<void> Coordinator::Impl::Worker() {
  while (!cancelled_ && next_batch_ < batches_.size()) {
    Batch& batch = batches_[next_batch_++];
    co_await RunBatch(batch);
  }
}

asio::awaitable<void> Coordinator::Impl::RunBatch(Batch& batch) {
  BatchRun run(options_.timeframe, options_.policy);
  if (batch.start_ns >= options_.range.end_ns()) {
    // Their last stored bar is the range's last instant; only the done mark is missing.
    absl::Status status = co_await CompleteSymbols(run, {}, batch.symbols, -1);
    if (!status.ok()) FailSymbols(batch, status);
    co_return;
  }
  run.range = *TimeRange::Create(batch.start_ns, options_.range.end_ns());
  FetchRequest request;
  request.range = run.range;
  request.timeframe = options_.timeframe;
  request.adjustment = options_.adjustment;
  request.feed = options_.feed;
  for (SymbolState* state : batch.symbols) {
    request.symbols.push_back(state->symbol);
    run.members[state->symbol] = state;
    // Seed validation with the last stored bar, so the order and extreme-move checks of the
    // first resumed bar see the bar before it, as in an uninterrupted run.
    if (state->last_ts_ns) {
      absl::StatusOr<std::vector<Bar>> last =
          store_.ReadBars(state->symbol, options_.timeframe,
                          *TimeRange::Create(*state->last_ts_ns, *state->last_ts_ns + 1));
      if (last.ok() && !last->empty()) run.validator.Seed(last->back());
    }
  }
  run.label = absl::StrCat(
      request.symbols.front().value(),
      request.symbols.size() > 1 ? absl::StrCat(" and ", request.symbols.size() - 1, " more") : "",
      " ", run.range.ToString());

  absl::Status status;
  try {
    status = co_await provider_.Fetch(
        std::move(request), [this, &run](FetchPage page) -> asio::awaitable<absl::Status> {
          co_return co_await HandlePage(run, std::move(page));
        });
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("fetch threw: ", e.what()));
  }
  if (cancelled_) co_return;  // unfinished symbols stay resumable
  if (status.ok()) {
    // The provider names every symbol in some page's `completed`; finish any it did not.
    std::vector<SymbolState*> leftovers;
    for (SymbolState* state : batch.symbols) {
      if (!state->done) leftovers.push_back(state);
    }
    if (!leftovers.empty()) status = co_await CompleteSymbols(run, {}, leftovers, -1);
  }
  if (status.ok()) co_return;
  std::vector<SymbolState*> unfinished;
  for (SymbolState* state : batch.symbols) {
    if (!state->done && !state->failure) unfinished.push_back(state);
  }
  if (unfinished.size() > 1 && MayBeOneSymbolsFault(status)) {
    // One bad symbol must not fail the others: each unfinished symbol is fetched again on its
    // own, from its own checkpoint (what this batch stored of it stays), by the next free worker.
    for (SymbolState* state : unfinished) {
      state->rejected = false;  // validated afresh, as on a resume
      std::vector<Bar>().swap(state->held);
      batches_.push_back(Batch{.symbols = {state}, .start_ns = ResumeStart(*state)});
    }
    co_return;
  }
  FailSymbols(batch, Annotate(status, absl::StrCat("fetching ", run.label)));
}

asio::awaitable<absl::Status> Coordinator::Impl::HandlePage(BatchRun& run, FetchPage page) {
  if (cancelled_) co_return absl::CancelledError("ingest cancelled");
  const std::string where = absl::StrCat("page ", page.index);
  progress_.bars_fetched += static_cast<int64_t>(page.bars.size());
  if (!options_.feed.empty() && !page.feed.empty() && page.feed != options_.feed) {
    co_return absl::FailedPreconditionError(absl::StrCat(
        where, " has feed \"", page.feed, "\", the job asked for \"", options_.feed, "\""));
  }
  if (page.adjustment != options_.adjustment) {
    co_return absl::FailedPreconditionError(
        absl::StrCat(where, " has adjustment \"", page.adjustment, "\", the job asked for \"",
                     options_.adjustment, "\""));
  }
  if (!page.feed.empty()) provenance_.feed = page.feed;
  // The provider's contract, held at this edge: only requested symbols, only the range.
  const Symbol* previous = nullptr;
  for (const Bar& bar : page.bars) {
    if (previous == nullptr || bar.symbol != *previous) {
      if (!run.members.contains(bar.symbol)) {
        co_return absl::DataLossError(absl::StrCat(where, " holds bars of ", bar.symbol.value(),
                                                   ", which the request did not name"));
      }
      previous = &bar.symbol;
    }
    if (!run.range.Contains(bar.ts_ns)) {
      co_return absl::DataLossError(absl::StrCat(where, " holds a bar of ", bar.symbol.value(),
                                                 " at ", FormatRfc3339(bar.ts_ns),
                                                 ", outside the requested ", run.range.ToString()));
    }
  }
  std::vector<SymbolState*> completed;
  for (const Symbol& symbol : page.completed) {
    auto it = run.members.find(symbol);
    if (it == run.members.end()) {
      co_return absl::DataLossError(
          absl::StrCat(where, " completes ", symbol.value(), ", which the request did not name"));
    }
    if (!it->second->done) completed.push_back(it->second);
  }

  absl::StatusOr<validation::PageVerdict> verdict =
      run.validator.ValidatePage(std::move(page.bars));
  if (!verdict.ok()) co_return Annotate(verdict.status(), where);
  if (!verdict->issues.empty()) {
    for (const validation::Issue& issue : verdict->issues) {
      ++progress_.rejected_by_reason[Str(validation::ReasonName(issue.reason))];
    }
    if (options_.on_issues) options_.on_issues(verdict->issues);
  }
  progress_.bars_rejected += verdict->dropped;

  if (options_.policy == validation::Policy::kRejectSymbol) {
    for (const validation::Rejection& rejection : verdict->rejected) {
      SymbolState* state = run.members.at(rejection.symbol);
      state->rejected = true;
      state->error = absl::StrCat("rejected by validation: ", rejection.why);
      progress_.bars_rejected += static_cast<int64_t>(state->held.size());
      std::vector<Bar>().swap(state->held);
    }
    // Hold accepted bars until their symbol completes.
    for (Bar& bar : verdict->accepted) {
      SymbolState* state = run.members.at(bar.symbol);
      if (!state->rejected) state->held.push_back(std::move(bar));
    }
    if (completed.empty()) co_return absl::OkStatus();
    co_return co_await CompleteSymbols(run, {}, completed, page.index);
  }
  co_return co_await CompleteSymbols(run, std::move(verdict->accepted), completed, page.index);
}

asio::awaitable<absl::Status> Coordinator::Impl::CompleteSymbols(
    BatchRun& run, std::vector<Bar> bars, const std::vector<SymbolState*>& completed,
    int page_index) {
  // reject-symbol: the held bars of completed symbols go out now.
  for (SymbolState* state : completed) {
    if (state->held.empty()) continue;
    if (bars.empty()) {
      bars = std::move(state->held);
    } else {
      bars.insert(bars.end(), std::make_move_iterator(state->held.begin()),
                  std::make_move_iterator(state->held.end()));
    }
    std::vector<Bar>().swap(state->held);
  }
  // The checkpoints as they will be once this transaction commits.
  struct Update {
    SymbolState* state;
    std::optional<int64_t> last_ts_ns;
    int64_t added = 0;
    bool done = false;
  };
  std::vector<Update> updates;
  absl::flat_hash_map<SymbolState*, size_t> index;
  auto update_for = [&](SymbolState* state) -> Update& {
    auto [it, inserted] = index.try_emplace(state, updates.size());
    if (inserted) updates.push_back({.state = state, .last_ts_ns = state->last_ts_ns});
    return updates[it->second];
  };
  SymbolState* current = nullptr;
  Update* current_update = nullptr;
  for (const Bar& bar : bars) {
    if (current == nullptr || bar.symbol != current->symbol) {
      current = run.members.at(bar.symbol);
      current_update = &update_for(current);
    }
    if (!current_update->last_ts_ns || bar.ts_ns > *current_update->last_ts_ns) {
      current_update->last_ts_ns = bar.ts_ns;
    }
    ++current_update->added;
  }
  for (SymbolState* state : completed) update_for(state).done = true;
  if (updates.empty()) co_return absl::OkStatus();

  PageWrite write;
  write.timeframe = options_.timeframe;
  write.provenance = provenance_;
  write.bars = bars;
  write.job_id = job_id_;
  write.checkpoints.reserve(updates.size());
  for (const Update& u : updates) {
    write.checkpoints.push_back(
        Checkpoint{.symbol = u.state->symbol,
                   .last_ts_ns = u.last_ts_ns,
                   .bars_stored = u.state->bars_stored + u.added,
                   .done = u.done,
                   .error = u.done && u.state->rejected ? u.state->error : ""});
  }
  if (absl::Status s = co_await Write(write); !s.ok()) {
    co_return Annotate(s, page_index >= 0 ? absl::StrCat("storing page ", page_index)
                                          : std::string("storing the final checkpoints"));
  }
  for (const Update& u : updates) {
    SymbolState& state = *u.state;
    state.last_ts_ns = u.last_ts_ns;
    state.bars_stored += u.added;
    if (u.done) {
      state.done = true;
      ++progress_.symbols_done;
      if (state.rejected) {
        state.failure = absl::FailedPreconditionError(state.error);
        ++progress_.symbols_failed;
      } else {
        state.error.clear();
      }
    }
  }
  progress_.bars_stored += static_cast<int64_t>(bars.size());
  ReportProgress();
  co_return absl::OkStatus();
}

asio::awaitable<absl::Status> Coordinator::Impl::Write(const PageWrite& write) {
  if (!writer_) co_return store_.WritePage(write);
  // A real thread works meanwhile: virtual time must not skip ahead of it.
  TimeSource::ExternalWait wait(time_, "store transaction");
  // Not bound to the worker's cancellation: a transaction once begun completes.
  co_return co_await asio::co_spawn(
      writer_->get_executor(), WriteOn(&store_, &write),
      asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable));
}

void Coordinator::Impl::FailSymbols(Batch& batch, const absl::Status& error) {
  PageWrite write;
  write.timeframe = options_.timeframe;
  write.provenance = provenance_;
  write.job_id = job_id_;
  std::vector<SymbolState*> failed;
  for (SymbolState* state : batch.symbols) {
    if (state->done || state->failure) continue;
    state->failure = error;
    state->rejected = false;
    std::vector<Bar>().swap(state->held);
    failed.push_back(state);
    write.checkpoints.push_back(Checkpoint{.symbol = state->symbol,
                                           .last_ts_ns = state->last_ts_ns,
                                           .bars_stored = state->bars_stored,
                                           .done = false,
                                           .error = std::string(error.message())});
  }
  if (failed.empty()) return;
  // Best effort: when the store itself is what failed, the job's final state still says so.
  (void)store_.WritePage(write);
  progress_.symbols_done += static_cast<int>(failed.size());
  progress_.symbols_failed += static_cast<int>(failed.size());
  ReportProgress();
}

void Coordinator::Impl::ReportProgress() {
  progress_.elapsed_ns = (time_.Now() - start_time_).count();
  progress_.bars_per_second =
      progress_.elapsed_ns > 0
          ? static_cast<double>(progress_.bars_stored) * 1e9 / progress_.elapsed_ns
          : 0;
  if (options_.on_progress) options_.on_progress(progress_);
}

absl::StatusOr<IngestResult> Coordinator::Impl::Finish() {
  IngestResult result;
  result.job_id = job_id_;
  result.symbols_already_done = symbols_already_done_;
  int finished_ok = 0;
  for (auto& [symbol, state] : states_) {
    if (state.failure) {
      result.failures.push_back({symbol, *state.failure, state.rejected});
    } else if (state.done && !state.error.empty()) {
      // Rejected by an earlier run of this job.
      result.failures.push_back({symbol, absl::FailedPreconditionError(state.error), true});
    } else if (state.done) {
      ++finished_ok;
    }
  }
  std::string message;
  if (cancelled_) {
    result.state = JobState::kCancelled;
    message =
        absl::StrCat("cancelled", cancel_reason_.empty() ? "" : " (", cancel_reason_,
                     cancel_reason_.empty() ? "" : ")", " with ", progress_.symbols_done, " of ",
                     progress_.symbols_total, " symbols done; rerun job ", job_id_, " to resume");
  } else if (result.failures.empty()) {
    result.state = JobState::kCompleted;
  } else {
    result.state = finished_ok == 0 ? JobState::kFailed : JobState::kCompletedWithErrors;
    std::vector<std::string> parts;
    for (const SymbolFailure& f : result.failures) {
      if (parts.size() == kMaxSymbolsInMessage) {
        parts.push_back(absl::StrCat("and ", result.failures.size() - parts.size(), " more"));
        break;
      }
      parts.push_back(absl::StrCat(f.symbol.value(), ": ", f.error.message()));
    }
    message = absl::StrCat(result.failures.size(), " of ", progress_.symbols_total,
                           " symbols failed: ", absl::StrJoin(parts, "; "));
  }
  if (!cancelled_ && !options_.aggregate_to.empty()) {
    if (absl::Status s = Aggregate(); !s.ok()) {
      result.aggregation_error = s;
      if (result.state == JobState::kCompleted) result.state = JobState::kCompletedWithErrors;
      absl::StrAppend(&message, message.empty() ? "" : "; ", "aggregation failed: ", s.message());
    }
  }
  progress_.symbols_failed = static_cast<int>(result.failures.size());
  ReportProgress();
  result.totals = progress_;
  result.aggregated_bars = aggregated_bars_;
  if (absl::Status s = store_.SetJobState(job_id_, result.state, message); !s.ok()) {
    return Annotate(
        s, absl::StrCat("job ", job_id_, " ran (", Str(storage::JobStateName(result.state)),
                        ") but its state could not be saved"));
  }
  return result;
}

absl::Status Coordinator::Impl::Aggregate() {
  aggregation::RecomputeRequest request;
  for (const auto& [symbol, state] : states_) {
    if (state.bars_stored > 0) request.symbols.push_back(symbol);
  }
  if (request.symbols.empty()) return absl::OkStatus();
  request.touched = options_.range;
  request.targets = options_.aggregate_to;
  request.source = options_.timeframe;
  absl::StatusOr<aggregation::RecomputeStats> stats =
      aggregation::RecomputeTouchedBuckets(store_, request);
  if (!stats.ok()) return stats.status();
  aggregated_bars_ = stats->bars_written;
  return absl::OkStatus();
}

Coordinator::Coordinator(Provider& provider, storage::Store& store, TimeSource& time,
                         IngestOptions options)
    : impl_(std::make_unique<Impl>(provider, store, time, std::move(options))) {}

Coordinator::~Coordinator() = default;

asio::awaitable<absl::StatusOr<IngestResult>> Coordinator::Run() { return impl_->Run(); }

void Coordinator::Cancel(std::string_view why) { impl_->Cancel(why); }

const std::string& Coordinator::job_id() const { return impl_->job_id(); }

asio::awaitable<absl::StatusOr<IngestResult>> RunIngest(Provider& provider, storage::Store& store,
                                                        TimeSource& time, IngestOptions options) {
  Coordinator coordinator(provider, store, time, std::move(options));
  co_return co_await coordinator.Run();
}

}  // namespace marketpipe::ingestion
