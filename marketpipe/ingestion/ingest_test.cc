#include "marketpipe/ingestion/ingest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "marketpipe/aggregation/aggregate.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/ingestion/job.h"
#include "marketpipe/ingestion/memory_store.h"
#include "marketpipe/ingestion/scripted_provider.h"
#include "marketpipe/storage/store.h"
#include "testing/async_test.h"
#include "testing/environment.h"

namespace marketpipe::ingestion {
namespace {

using fakes::MemoryStore;
using fakes::ScriptedProvider;
using storage::JobState;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int64_t kMinute = 60'000'000'000;
constexpr int64_t kDay = 1440 * kMinute;
// The virtual clock's wall time is 2024-01-02T14:30:00Z: this day lies in the past.
const int64_t kStart = *ParseRfc3339("2024-01-01T00:00:00Z");

std::vector<Symbol> Symbols(std::vector<std::string> texts) {
  std::vector<Symbol> out;
  for (const std::string& t : texts) out.push_back(*Symbol::Parse(t));
  return out;
}

std::vector<Symbol> ManySymbols(int n) {
  std::vector<Symbol> out;
  for (int i = 0; i < n; ++i) out.push_back(*Symbol::Parse("S" + std::to_string(i)));
  return out;
}

// Parameter: whether page transactions run on the writer thread (the default) or inline.
class IngestTest : public ::mptest::AsyncTest, public ::testing::WithParamInterface<bool> {
 protected:
  IngestOptions Options(std::vector<Symbol> symbols, int64_t length = kDay) {
    IngestOptions options;
    options.symbols = std::move(symbols);
    options.range = *TimeRange::Create(kStart, kStart + length);
    options.timeframe = Timeframe::kOneMinute;
    options.feed = "fake";
    options.workers = 2;
    options.write_thread = GetParam();
    return options;
  }

  absl::StatusOr<IngestResult> Ingest(Provider& provider, storage::Store& store,
                                      IngestOptions options) {
    return RunAsync(RunIngest(provider, store, time(), std::move(options)));
  }

  std::vector<Bar> Expected(const IngestOptions& options) {
    return ScriptedProvider::Expected(options.symbols, options.range, options.timeframe);
  }

  // Job `id` exists and ended FAILED with `reason` in its message (not left PENDING or RUNNING).
  void ExpectJobFailed(const std::string& id, const std::string& reason) {
    SCOPED_TRACE("job " + id);
    absl::StatusOr<std::optional<storage::JobRecord>> job = store_.GetJob(id);
    ASSERT_TRUE(job.ok()) << job.status();
    ASSERT_TRUE(job->has_value());
    EXPECT_EQ((*job)->state, JobState::kFailed);
    EXPECT_THAT((*job)->message, HasSubstr(reason));
  }

  MemoryStore store_;
};

TEST_P(IngestTest, StoresEveryBarOfEverySymbolAndCompletes) {
  ScriptedProvider provider(time(), {.page_size = 500});
  IngestOptions options = Options(Symbols({"MSFT", "AAPL", "GOOG"}));
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompleted);
  EXPECT_TRUE(result->failures.empty());
  EXPECT_EQ(result->totals.symbols_total, 3);
  EXPECT_EQ(result->totals.symbols_done, 3);
  EXPECT_EQ(result->totals.bars_fetched, 3 * 1440);
  EXPECT_EQ(result->totals.bars_stored, 3 * 1440);
  EXPECT_EQ(store_.AllBars(Timeframe::kOneMinute), Expected(options));

  auto job = store_.GetJob(result->job_id);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->state, JobState::kCompleted);
  EXPECT_EQ((*job)->symbols, Symbols({"AAPL", "GOOG", "MSFT"}));
  EXPECT_EQ((*job)->provenance.provider, "scripted");
  auto checkpoints = store_.GetCheckpoints(result->job_id);
  ASSERT_TRUE(checkpoints.ok());
  ASSERT_THAT(*checkpoints, SizeIs(3));
  for (const storage::Checkpoint& c : *checkpoints) {
    EXPECT_TRUE(c.done) << c.symbol;
    EXPECT_EQ(c.last_ts_ns, kStart + kDay - kMinute) << c.symbol;
    EXPECT_EQ(c.bars_stored, 1440) << c.symbol;
    EXPECT_EQ(c.error, "") << c.symbol;
  }
}

TEST_P(IngestTest, EveryTransactionCarriesItsPagesCheckpoints) {
  ScriptedProvider provider(time(), {.page_size = 1000});
  IngestOptions options = Options(Symbols({"AAPL"}));
  ASSERT_TRUE(Ingest(provider, store_, options).ok());
  std::vector<MemoryStore::WriteLog> writes = store_.writes();
  // 1440 bars in pages of 1000: two transactions, each with the symbol's checkpoint.
  ASSERT_THAT(writes, SizeIs(2));
  EXPECT_EQ(writes[0].bars, 1000u);
  ASSERT_THAT(writes[0].checkpoints, SizeIs(1));
  EXPECT_EQ(writes[0].checkpoints[0].last_ts_ns, kStart + 999 * kMinute);
  EXPECT_EQ(writes[0].checkpoints[0].bars_stored, 1000);
  EXPECT_FALSE(writes[0].checkpoints[0].done);
  EXPECT_EQ(writes[1].bars, 440u);
  EXPECT_TRUE(writes[1].checkpoints[0].done);
  EXPECT_EQ(writes[1].checkpoints[0].bars_stored, 1440);
}

TEST_P(IngestTest, NeverMoreThanWorkersFetchesInFlight) {
  ScriptedProvider provider(
      time(),
      {.max_symbols_per_request = 1, .page_size = 1000, .latency = std::chrono::seconds(1)});
  IngestOptions options = Options(ManySymbols(12));
  options.workers = 3;
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompleted);
  EXPECT_EQ(provider.max_in_flight(), 3);
  EXPECT_THAT(provider.requests(), SizeIs(12));
  // 12 one-symbol fetches of 2 pages, 3 at a time: 4 rounds of 2 s.
  EXPECT_EQ(time().elapsed(), std::chrono::seconds(8));
}

TEST_P(IngestTest, OneWorkerFetchesOneBatchAtATime) {
  ScriptedProvider provider(time(),
                            {.max_symbols_per_request = 1, .latency = std::chrono::seconds(1)});
  IngestOptions options = Options(ManySymbols(4));
  options.workers = 1;
  ASSERT_TRUE(Ingest(provider, store_, options).ok());
  EXPECT_EQ(provider.max_in_flight(), 1);
  EXPECT_EQ(time().elapsed(), std::chrono::seconds(8));
}

TEST_P(IngestTest, BatchesHoldUpToMaxSymbolsPerRequest) {
  ScriptedProvider provider(time(), {.max_symbols_per_request = 4});
  IngestOptions options = Options(ManySymbols(10));
  options.workers = 1;
  ASSERT_TRUE(Ingest(provider, store_, options).ok());
  std::vector<size_t> sizes;
  for (const FetchRequest& r : provider.requests()) sizes.push_back(r.symbols.size());
  EXPECT_THAT(sizes, ElementsAre(4, 4, 2));
  EXPECT_EQ(store_.AllBars(Timeframe::kOneMinute), Expected(options));
}

TEST_P(IngestTest, BatchesAreSplitSoEveryWorkerHasOne) {
  ScriptedProvider provider(time(), {.max_symbols_per_request = 1000});
  IngestOptions options = Options(ManySymbols(10));
  options.workers = 4;
  ASSERT_TRUE(Ingest(provider, store_, options).ok());
  std::vector<size_t> sizes;
  for (const FetchRequest& r : provider.requests()) sizes.push_back(r.symbols.size());
  EXPECT_THAT(sizes, ElementsAre(3, 3, 3, 1));
  EXPECT_EQ(provider.max_in_flight(), 4);
}

TEST_P(IngestTest, ProgressCountsUpToTheTotals) {
  ScriptedProvider provider(
      time(),
      {.max_symbols_per_request = 1, .page_size = 500, .latency = std::chrono::milliseconds(250)});
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  std::vector<Progress> seen;
  options.on_progress = [&](const Progress& p) { seen.push_back(p); };
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  // Three pages per symbol (500, 500, 440), then the final report.
  ASSERT_THAT(seen, SizeIs(7));
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].bars_stored, seen[i - 1].bars_stored);
    EXPECT_GE(seen[i].symbols_done, seen[i - 1].symbols_done);
  }
  EXPECT_EQ(seen[0].bars_stored, 500);
  EXPECT_EQ(seen[0].symbols_done, 0);
  EXPECT_EQ(seen[0].symbols_total, 2);
  const Progress& last = seen.back();
  EXPECT_EQ(last.symbols_done, 2);
  EXPECT_EQ(last.bars_fetched, 2880);
  EXPECT_EQ(last.bars_stored, 2880);
  EXPECT_EQ(last.bars_rejected, 0);
  // Both symbols in parallel, 3 pages of 250 ms each: 0.75 s.
  EXPECT_EQ(last.elapsed_ns, 750'000'000);
  EXPECT_DOUBLE_EQ(last.bars_per_second, 2880 / 0.75);
  EXPECT_EQ(result->totals.bars_stored, last.bars_stored);
}

TEST_P(IngestTest, FailedSymbolIsReportedWithItsErrorAndTheJobCompletesWithErrors) {
  ScriptedProvider provider(time(), {.max_symbols_per_request = 1, .page_size = 500});
  provider.options().fail["MSFT"] = {.after_bars = 700,
                                     .error = absl::UnavailableError("retries exhausted (503)")};
  IngestOptions options = Options(Symbols({"AAPL", "MSFT", "TSLA"}));
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompletedWithErrors);
  ASSERT_THAT(result->failures, SizeIs(1));
  EXPECT_EQ(result->failures[0].symbol, *Symbol::Parse("MSFT"));
  EXPECT_EQ(result->failures[0].error.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(result->failures[0].error.message()),
              HasSubstr("retries exhausted (503)"));
  EXPECT_FALSE(result->failures[0].rejected);
  EXPECT_EQ(result->totals.symbols_done, 3);
  EXPECT_EQ(result->totals.symbols_failed, 1);

  auto job = *store_.GetJob(result->job_id);
  EXPECT_EQ(job->state, JobState::kCompletedWithErrors);
  EXPECT_THAT(job->message, HasSubstr("MSFT"));
  EXPECT_THAT(job->message, HasSubstr("retries exhausted"));
  // The page before the failure is stored and checkpointed; the checkpoint names the error.
  EXPECT_EQ(*store_.CountBars(*Symbol::Parse("MSFT"), Timeframe::kOneMinute, options.range), 500);
  absl::StatusOr<std::vector<storage::Checkpoint>> checkpoints =
      store_.GetCheckpoints(result->job_id);
  ASSERT_TRUE(checkpoints.ok());
  for (const storage::Checkpoint& c : *checkpoints) {
    if (c.symbol.value() != "MSFT") continue;
    EXPECT_FALSE(c.done);
    EXPECT_EQ(c.last_ts_ns, kStart + 499 * kMinute);
    EXPECT_THAT(c.error, HasSubstr("retries exhausted"));
  }
}

TEST_P(IngestTest, AllSymbolsFailedIsFailed) {
  ScriptedProvider provider(time(), {});
  provider.options().fail["AAPL"] = {.after_bars = 0, .error = absl::PermissionDeniedError("403")};
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, Options(Symbols({"AAPL"})));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kFailed);
  EXPECT_EQ((*store_.GetJob(result->job_id))->state, JobState::kFailed);
}

TEST_P(IngestTest, SymbolRefusedInsideABatchFailsAloneAndTheOthersComplete) {
  ScriptedProvider provider(time(), {.page_size = 500});
  provider.options().reject = {"BAD"};
  IngestOptions options = Options(Symbols({"AAPL", "BAD", "MSFT"}));
  options.workers = 1;
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompletedWithErrors);
  ASSERT_THAT(result->failures, SizeIs(1));
  EXPECT_EQ(result->failures[0].symbol.value(), "BAD");
  EXPECT_EQ(result->failures[0].error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result->failures[0].error.message()),
              HasSubstr("fetching BAD [2024-01-01T00:00:00Z"));
  EXPECT_THAT(std::string(result->failures[0].error.message()), HasSubstr("invalid symbol: BAD"));
  EXPECT_EQ(result->totals.symbols_done, 3);
  EXPECT_EQ(result->totals.symbols_failed, 1);
  // The batch, then each of its symbols on its own.
  ASSERT_THAT(provider.requests(), SizeIs(4));
  EXPECT_THAT(provider.requests()[0].symbols, SizeIs(3));
  for (size_t i = 1; i < 4; ++i) EXPECT_THAT(provider.requests()[i].symbols, SizeIs(1));
  EXPECT_EQ(
      store_.AllBars(Timeframe::kOneMinute),
      ScriptedProvider::Expected(Symbols({"AAPL", "MSFT"}), options.range, Timeframe::kOneMinute));
  auto job = *store_.GetJob(result->job_id);
  EXPECT_EQ(job->state, JobState::kCompletedWithErrors);
  EXPECT_THAT(job->message, HasSubstr("1 of 3 symbols failed: BAD: fetching BAD"));
  auto checkpoints = store_.GetCheckpoints(result->job_id);
  ASSERT_TRUE(checkpoints.ok());
  ASSERT_THAT(*checkpoints, SizeIs(3));
  for (const storage::Checkpoint& c : *checkpoints) {
    EXPECT_EQ(c.done, c.symbol.value() != "BAD") << c.symbol;
    EXPECT_EQ(c.error.empty(), c.symbol.value() != "BAD") << c.symbol;
  }
}

TEST_P(IngestTest, BatchFailingMidwayRetriesItsUnfinishedSymbolsFromTheirCheckpoints) {
  ScriptedProvider provider(time(), {.page_size = 500});
  // MSFT's page breaks after 700 of its bars in any fetch: the batch stores AAPL and MSFT's
  // first 560 bars; alone, MSFT gets 500 more stored before it breaks again.
  provider.options().fail["MSFT"] = {.after_bars = 700,
                                     .error = absl::DataLossError("malformed page")};
  IngestOptions options = Options(Symbols({"AAPL", "MSFT", "TSLA"}));
  options.workers = 1;
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompletedWithErrors);
  ASSERT_THAT(result->failures, SizeIs(1));
  EXPECT_EQ(result->failures[0].symbol.value(), "MSFT");
  EXPECT_EQ(result->failures[0].error.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(result->failures[0].error.message()), HasSubstr("malformed page"));
  // AAPL completed inside the batch and is not fetched again; MSFT resumes after its stored bars.
  ASSERT_THAT(provider.requests(), SizeIs(3));
  EXPECT_EQ(provider.requests()[1].symbols, Symbols({"MSFT"}));
  EXPECT_EQ(provider.requests()[1].range.start_ns(), kStart + 559 * kMinute + 1);
  EXPECT_EQ(provider.requests()[2].symbols, Symbols({"TSLA"}));
  EXPECT_EQ(provider.requests()[2].range.start_ns(), kStart);
  EXPECT_EQ(store_.overwrites(), 0);
  const Symbol msft = *Symbol::Parse("MSFT");
  EXPECT_EQ(*store_.CountBars(msft, Timeframe::kOneMinute, options.range), 1060);
  EXPECT_EQ(*store_.CountBars(std::nullopt, Timeframe::kOneMinute, options.range), 2 * 1440 + 1060);
  absl::StatusOr<std::vector<storage::Checkpoint>> checkpoints =
      store_.GetCheckpoints(result->job_id);
  ASSERT_TRUE(checkpoints.ok()) << checkpoints.status();
  for (const storage::Checkpoint& c : *checkpoints) {
    if (c.symbol != msft) continue;
    EXPECT_FALSE(c.done);
    EXPECT_EQ(c.last_ts_ns, kStart + 1059 * kMinute);
    EXPECT_THAT(c.error, HasSubstr("malformed page"));
  }
}

TEST_P(IngestTest, ServiceWideFailureOfABatchIsNotRetriedSymbolBySymbol) {
  ScriptedProvider provider(time(), {});
  provider.options().fail["AAPL"] = {
      .after_bars = 0, .error = absl::UnavailableError("giving up after 5 retries (503)")};
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  options.workers = 1;
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kFailed);
  EXPECT_THAT(result->failures, SizeIs(2));
  EXPECT_THAT(provider.requests(), SizeIs(1));
}

TEST_P(IngestTest, CancelStopsTheRetriesOfASplitBatchAndTheJobResumesThem) {
  ScriptedProvider provider(time(), {.page_size = 2000, .latency = std::chrono::seconds(1)});
  provider.options().reject = {"BAD"};
  IngestOptions options = Options(Symbols({"AAPL", "BAD", "MSFT"}));
  options.workers = 1;
  Coordinator* running = nullptr;
  // The first progress is AAPL's retry completing: BAD's and MSFT's retries are still queued.
  options.on_progress = [&](const Progress&) { running->Cancel(); };
  Coordinator coordinator(provider, store_, time(), options);
  running = &coordinator;
  absl::StatusOr<IngestResult> first = RunAsync(coordinator.Run());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->state, JobState::kCancelled);
  EXPECT_TRUE(first->failures.empty());
  EXPECT_THAT(provider.requests(), SizeIs(2));
  EXPECT_EQ(store_.AllBars(Timeframe::kOneMinute),
            ScriptedProvider::Expected(Symbols({"AAPL"}), options.range, Timeframe::kOneMinute));

  options.on_progress = nullptr;
  absl::StatusOr<IngestResult> second = Ingest(provider, store_, options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->state, JobState::kCompletedWithErrors);
  ASSERT_THAT(second->failures, SizeIs(1));
  EXPECT_EQ(second->failures[0].symbol.value(), "BAD");
  EXPECT_EQ(second->symbols_already_done, 1);
  EXPECT_EQ(
      store_.AllBars(Timeframe::kOneMinute),
      ScriptedProvider::Expected(Symbols({"AAPL", "MSFT"}), options.range, Timeframe::kOneMinute));
}

TEST_P(IngestTest, CheckpointsUnreadableAfterStartLeaveTheJobFailedNotRunning) {
  ScriptedProvider provider(time(), {});
  store_.set_failure("GetCheckpoints", absl::UnavailableError("disk gone"));
  IngestOptions options = Options(Symbols({"AAPL"}));
  options.job_id = "mine";
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  ExpectJobFailed("mine", "disk gone");
  EXPECT_TRUE(provider.requests().empty());
}

TEST_P(IngestTest, StartFailingLeavesTheJobItCreatedFailed) {
  ScriptedProvider provider(time(), {});
  store_.set_failure("StartJob", absl::InternalError("lock table broken"));
  IngestOptions options = Options(Symbols({"AAPL"}));
  options.job_id = "mine";
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  ExpectJobFailed("mine", "lock table broken");
}

TEST_P(IngestTest, ExceptionDuringTheRunLeavesTheJobFailedAndPropagates) {
  ScriptedProvider provider(time(), {.page_size = 500});
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  options.job_id = "mine";
  options.on_progress = [](const Progress&) { throw std::runtime_error("callback broke"); };
  EXPECT_THROW(Ingest(provider, store_, options), std::runtime_error);
  ExpectJobFailed("mine", "callback broke");
}

TEST_P(IngestTest, FailingTransactionFailsItsBatchAndStoresNothingOfThatPage) {
  ScriptedProvider provider(time(), {.max_symbols_per_request = 1, .page_size = 1000});
  int msft_writes = 0;
  store_.set_write_hook([&](const storage::PageWrite& w) {
    if (!w.bars.empty() && w.bars.front().symbol.value() == "MSFT" && ++msft_writes == 2) {
      return absl::ResourceExhaustedError("disk full");
    }
    return absl::OkStatus();
  });
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompletedWithErrors);
  ASSERT_THAT(result->failures, SizeIs(1));
  EXPECT_EQ(result->failures[0].symbol.value(), "MSFT");
  EXPECT_THAT(std::string(result->failures[0].error.message()), HasSubstr("disk full"));
  EXPECT_EQ(*store_.CountBars(*Symbol::Parse("MSFT"), Timeframe::kOneMinute, options.range), 1000);
  EXPECT_EQ(*store_.CountBars(*Symbol::Parse("AAPL"), Timeframe::kOneMinute, options.range), 1440);
}

TEST_P(IngestTest, ResumeContinuesAfterTheLastStoredBarWithoutDuplicates) {
  ScriptedProvider provider(time(), {.max_symbols_per_request = 10, .page_size = 500});
  provider.options().fail["AAPL"] = {.after_bars = 1200, .error = absl::UnavailableError("reset")};
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  options.workers = 1;
  absl::StatusOr<IngestResult> first = Ingest(provider, store_, options);
  ASSERT_TRUE(first.ok()) << first.status();
  // One batch of both symbols failed in AAPL's third page: AAPL's first two pages (1000 bars)
  // are stored, MSFT (after AAPL in the batch) never started; both failed.
  EXPECT_EQ(first->state, JobState::kFailed);
  EXPECT_THAT(first->failures, SizeIs(2));
  EXPECT_EQ(first->totals.bars_stored, 1000);

  provider.options().fail.clear();
  const size_t requests_before = provider.requests().size();
  const int64_t bars_sent_before = provider.bars_sent();
  absl::StatusOr<IngestResult> second = Ingest(provider, store_, options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->job_id, first->job_id);
  EXPECT_EQ(second->state, JobState::kCompleted);
  EXPECT_TRUE(second->failures.empty());
  // AAPL resumes after its last stored bar; MSFT starts from the range's start: two batches.
  ASSERT_THAT(provider.requests(), SizeIs(requests_before + 2));
  const FetchRequest& msft = provider.requests()[requests_before];
  const FetchRequest& aapl = provider.requests()[requests_before + 1];
  EXPECT_EQ(msft.symbols, Symbols({"MSFT"}));
  EXPECT_EQ(msft.range.start_ns(), kStart);
  EXPECT_EQ(aapl.symbols, Symbols({"AAPL"}));
  EXPECT_EQ(aapl.range.start_ns(), kStart + 999 * kMinute + 1);
  // Nothing stored was fetched again.
  EXPECT_EQ(provider.bars_sent() - bars_sent_before, 440 + 1440);
  EXPECT_EQ(store_.overwrites(), 0);
  EXPECT_EQ(store_.AllBars(Timeframe::kOneMinute), Expected(options));
}

TEST_P(IngestTest, RerunOfACompletedJobFetchesNothing) {
  ScriptedProvider provider(time(), {});
  IngestOptions options = Options(Symbols({"AAPL"}));
  ASSERT_TRUE(Ingest(provider, store_, options).ok());
  const size_t requests = provider.requests().size();
  absl::StatusOr<IngestResult> again = Ingest(provider, store_, options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state, JobState::kCompleted);
  EXPECT_EQ(again->symbols_already_done, 1);
  EXPECT_EQ(again->totals.symbols_done, 1);
  EXPECT_EQ(provider.requests().size(), requests);
}

TEST_P(IngestTest, SymbolWhoseLastStoredBarEndsTheRangeIsCompletedWithoutAFetch) {
  ScriptedProvider provider(time(), {});
  IngestOptions options = Options(Symbols({"AAPL"}));
  // The range ends one nanosecond after a bar, so that bar is the range's last instant.
  options.range = *TimeRange::Create(kStart, kStart + 10 * kMinute + 1);
  options.job_id = "edge";
  storage::JobRecord job;
  job.id = "edge";
  job.symbols = options.symbols;
  job.range = options.range;
  job.provenance = {.provider = "scripted", .feed = "fake"};
  ASSERT_TRUE(store_.CreateJob(job).ok());
  const std::vector<Bar> bars = Expected(options);
  ASSERT_EQ(bars.back().ts_ns, options.range.end_ns() - 1);
  storage::PageWrite write;
  write.provenance = job.provenance;
  write.bars = bars;
  write.job_id = "edge";
  write.checkpoints = {{.symbol = options.symbols[0],
                        .last_ts_ns = bars.back().ts_ns,
                        .bars_stored = 11,
                        .done = false,
                        .error = ""}};
  ASSERT_TRUE(store_.WritePage(write).ok());
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompleted);
  EXPECT_TRUE(provider.requests().empty());
  auto checkpoints = store_.GetCheckpoints("edge");
  ASSERT_TRUE(checkpoints.ok());
  ASSERT_THAT(*checkpoints, SizeIs(1));
  EXPECT_TRUE((*checkpoints)[0].done);
}

TEST_P(IngestTest, CancelStopsAfterThePageInFlightAndTheJobResumes) {
  ScriptedProvider provider(
      time(), {.max_symbols_per_request = 1, .page_size = 200, .latency = std::chrono::seconds(1)});
  IngestOptions options = Options(ManySymbols(6));
  options.workers = 2;
  Coordinator* running = nullptr;
  int pages = 0;
  options.on_progress = [&](const Progress&) {
    if (++pages == 5) running->Cancel("SIGINT");
  };
  Coordinator coordinator(provider, store_, time(), options);
  running = &coordinator;
  absl::StatusOr<IngestResult> first = RunAsync(coordinator.Run());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->state, JobState::kCancelled);
  EXPECT_TRUE(first->failures.empty());
  auto job = *store_.GetJob(first->job_id);
  EXPECT_EQ(job->state, JobState::kCancelled);
  // The job's message says who stopped it, what was done and how to go on.
  EXPECT_THAT(job->message, HasSubstr("cancelled (SIGINT) with "));
  EXPECT_THAT(job->message, HasSubstr(" of 6 symbols done; rerun job " + first->job_id));
  // The five pages reported before Cancel, and at most the other worker's transaction that was
  // in flight then; nothing begins after it.
  const size_t writes = store_.writes().size();
  EXPECT_GE(writes, 5u);
  EXPECT_LE(writes, 6u);
  EXPECT_EQ(first->totals.bars_stored, static_cast<int64_t>(writes) * 200);

  options.on_progress = nullptr;
  const int64_t sent_before = provider.bars_sent();
  absl::StatusOr<IngestResult> second = Ingest(provider, store_, options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->state, JobState::kCompleted);
  EXPECT_EQ(store_.AllBars(Timeframe::kOneMinute), Expected(options));
  EXPECT_EQ(store_.overwrites(), 0);
  // The first run's in-flight pages not stored are the only ones fetched twice.
  EXPECT_LE(sent_before + provider.bars_sent() - sent_before - 6 * 1440, 2 * 200);
}

TEST_P(IngestTest, OnStartedComesOnceWhenTheJobIsRunningBeforeAnythingIsFetched) {
  ScriptedProvider provider(time(), {.max_symbols_per_request = 1, .page_size = 200});
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  std::vector<std::string> started;
  size_t requests_before_run = 0;
  options.on_started = [&](const std::string& job_id) {
    started.push_back(job_id);
    // What a watcher of the store (the CLI's `jobs cancel` poll) may rely on from now on.
    absl::StatusOr<std::optional<storage::JobRecord>> job = store_.GetJob(job_id);
    ASSERT_TRUE(job.ok() && job->has_value());
    EXPECT_EQ((**job).state, JobState::kRunning);
    EXPECT_EQ(provider.requests().size(), requests_before_run);
  };
  int progress_before_start = 0;
  options.on_progress = [&](const Progress&) {
    if (started.empty()) ++progress_before_start;
  };
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompleted);
  EXPECT_THAT(started, ElementsAre(result->job_id));
  EXPECT_EQ(progress_before_start, 0);
  EXPECT_FALSE(provider.requests().empty());

  // A rerun of the finished job starts it again (and finds nothing left to fetch).
  started.clear();
  requests_before_run = provider.requests().size();
  result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(started, ElementsAre(result->job_id));
  EXPECT_EQ(provider.requests().size(), requests_before_run);
}

TEST_P(IngestTest, CancelFromOnStartedFetchesNothingAndLeavesTheJobResumable) {
  ScriptedProvider provider(time(), {.max_symbols_per_request = 1, .page_size = 200});
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  Coordinator* running = nullptr;
  options.on_started = [&](const std::string&) { running->Cancel("jobs cancel"); };
  Coordinator coordinator(provider, store_, time(), options);
  running = &coordinator;
  absl::StatusOr<IngestResult> first = RunAsync(coordinator.Run());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->state, JobState::kCancelled);
  EXPECT_TRUE(provider.requests().empty());
  EXPECT_THAT((*store_.GetJob(first->job_id))->message,
              HasSubstr("cancelled (jobs cancel) with 0 of 2 symbols done"));
  options.on_started = nullptr;
  absl::StatusOr<IngestResult> second = Ingest(provider, store_, options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->state, JobState::kCompleted);
  EXPECT_EQ(store_.AllBars(Timeframe::kOneMinute), Expected(options));
}

TEST_P(IngestTest, AnotherRunningJobOverTheSameSymbolsIsRefused) {
  ScriptedProvider provider(time(), {});
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  storage::JobRecord other;
  other.id = "other";
  other.symbols = Symbols({"AAPL", "MSFT"});
  other.range = *TimeRange::Create(kStart + kDay / 2, kStart + 2 * kDay);
  other.provenance = {.provider = "scripted", .feed = "fake"};
  ASSERT_TRUE(store_.CreateJob(other).ok());
  ASSERT_TRUE(store_.StartJob("other").ok());
  options.job_id = "mine";
  options.on_started = [](const std::string& id) {
    ADD_FAILURE() << "a refused job started: " << id;
  };
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("other"));
  EXPECT_TRUE(provider.requests().empty());
  // The job this run created is left FAILED with the reason, not PENDING; the other runs on.
  ExpectJobFailed("mine", "other");
  EXPECT_EQ((*store_.GetJob("other"))->state, JobState::kRunning);
  // Once the other job is no longer running, this one may start.
  ASSERT_TRUE(store_.SetJobState("other", JobState::kCancelled, "").ok());
  options.on_started = nullptr;
  result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompleted);
}

TEST_P(IngestTest, JobIdReusedWithOtherParametersIsRefused) {
  ScriptedProvider provider(time(), {});
  IngestOptions options = Options(Symbols({"AAPL"}));
  options.job_id = "nightly";
  ASSERT_TRUE(Ingest(provider, store_, options).ok());
  options.symbols = Symbols({"MSFT"});
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("nightly"));
  // The existing job is not this run's: it keeps its state.
  EXPECT_EQ((*store_.GetJob("nightly"))->state, JobState::kCompleted);
}

TEST_P(IngestTest, BrokenRulesAreInvalidArgumentAndTouchNothing) {
  ScriptedProvider provider(time(), {});
  IngestOptions future = Options(Symbols({"AAPL"}));
  // The virtual clock says 2024-01-02T14:30:00Z.
  future.range = *TimeRange::Create(time().UnixNanos() + 1, time().UnixNanos() + kDay);
  IngestOptions duplicate = Options(Symbols({"AAPL", "AAPL"}));
  IngestOptions no_workers = Options(Symbols({"AAPL"}));
  no_workers.workers = 0;
  IngestOptions bad_id = Options(Symbols({"AAPL"}));
  bad_id.job_id = "no spaces";
  IngestOptions too_long = Options(Symbols({"AAPL"}), 31 * kDay);
  too_long.range = *TimeRange::Create(kStart - 30 * kDay, kStart + kDay);
  for (const IngestOptions& options : {future, duplicate, no_workers, bad_id, too_long}) {
    absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  }
  EXPECT_TRUE(store_.ListJobs()->empty());
  EXPECT_TRUE(provider.requests().empty());
}

TEST_P(IngestTest, DropBadStoresTheGoodBarsAndCountsTheBadByReason) {
  const int64_t bad_ts = kStart + 600 * kMinute;
  ScriptedProvider provider(time(), {.page_size = 500});
  provider.options().mutate = [&](Bar& bar) {
    if (bar.symbol.value() == "AAPL" && bar.ts_ns == bad_ts) bar.high = Price::FromUnits(1);
  };
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  std::vector<validation::Issue> issues;
  options.on_issues = [&](std::span<const validation::Issue> page) {
    issues.insert(issues.end(), page.begin(), page.end());
  };
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompleted);
  EXPECT_EQ(result->totals.bars_rejected, 1);
  EXPECT_EQ(result->totals.rejected_by_reason.at("ohlc_inconsistent"), 1);
  EXPECT_EQ(result->totals.bars_stored, 2 * 1440 - 1);
  ASSERT_THAT(issues, SizeIs(1));
  EXPECT_EQ(issues[0].symbol.value(), "AAPL");
  EXPECT_EQ(issues[0].ts_ns, bad_ts);
  std::vector<Bar> expected = Expected(options);
  std::erase_if(expected,
                [&](const Bar& b) { return b.symbol.value() == "AAPL" && b.ts_ns == bad_ts; });
  EXPECT_EQ(store_.AllBars(Timeframe::kOneMinute), expected);
}

TEST_P(IngestTest, RejectSymbolStoresNothingOfASymbolWithABadBarInItsLastPage) {
  // AAPL spans three pages of 500; its bad bar is in the third.
  const int64_t bad_ts = kStart + 1300 * kMinute;
  ScriptedProvider provider(time(), {.page_size = 500});
  provider.options().mutate = [&](Bar& bar) {
    if (bar.symbol.value() == "AAPL" && bar.ts_ns == bad_ts) bar.volume = -5;
  };
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  options.policy = validation::Policy::kRejectSymbol;
  options.workers = 1;
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompletedWithErrors);
  ASSERT_THAT(result->failures, SizeIs(1));
  EXPECT_EQ(result->failures[0].symbol.value(), "AAPL");
  EXPECT_TRUE(result->failures[0].rejected);
  EXPECT_THAT(std::string(result->failures[0].error.message()), HasSubstr("rejected"));
  EXPECT_EQ(*store_.CountBars(*Symbol::Parse("AAPL"), Timeframe::kOneMinute, options.range), 0);
  EXPECT_EQ(*store_.CountBars(*Symbol::Parse("MSFT"), Timeframe::kOneMinute, options.range), 1440);
  EXPECT_EQ(result->totals.bars_rejected, 1440);
  // A rejected symbol is finished: a rerun does not fetch it again and still reports it.
  const size_t requests = provider.requests().size();
  absl::StatusOr<IngestResult> again = Ingest(provider, store_, options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state, JobState::kCompletedWithErrors);
  EXPECT_THAT(again->failures, SizeIs(1));
  EXPECT_EQ(provider.requests().size(), requests);
}

TEST_P(IngestTest, ProviderSendingAnUnrequestedSymbolFailsTheBatch) {
  ScriptedProvider provider(time(), {.max_symbols_per_request = 1});
  provider.options().mutate = [](Bar& bar) {
    if (bar.symbol.value() == "MSFT") bar.symbol = *Symbol::Parse("EVIL");
  };
  absl::StatusOr<IngestResult> result =
      Ingest(provider, store_, Options(Symbols({"AAPL", "MSFT"})));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_THAT(result->failures, SizeIs(1));
  EXPECT_EQ(result->failures[0].symbol.value(), "MSFT");
  EXPECT_EQ(result->failures[0].error.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(result->failures[0].error.message()), HasSubstr("EVIL"));
  EXPECT_EQ(*store_.CountBars(std::nullopt, Timeframe::kOneMinute,
                              *TimeRange::Create(kStart, kStart + kDay)),
            1440);
}

TEST_P(IngestTest, ShardsTogetherStoreWhatTheWholeJobStores) {
  ScriptedProvider provider(time(), {.page_size = 700});
  IngestOptions options = Options(ManySymbols(20), 2 * 60 * kMinute);
  MemoryStore whole;
  ASSERT_TRUE(Ingest(provider, whole, options).ok());
  std::vector<std::string> ids;
  int total = 0;
  for (int i = 0; i < 3; ++i) {
    options.shard = {i, 3};
    absl::StatusOr<IngestResult> part = Ingest(provider, store_, options);
    ASSERT_TRUE(part.ok()) << part.status();
    EXPECT_EQ(part->state, JobState::kCompleted);
    EXPECT_EQ(part->totals.symbols_total,
              static_cast<int>(SymbolsOfShard(options.symbols, {i, 3}).size()));
    total += part->totals.symbols_total;
    ids.push_back(part->job_id);
  }
  EXPECT_EQ(total, 20);
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);
  EXPECT_EQ(store_.AllBars(Timeframe::kOneMinute), whole.AllBars(Timeframe::kOneMinute));
}

TEST_P(IngestTest, AShardOwningNoSymbolCompletesWithoutAJobAndNeverStarts) {
  ScriptedProvider provider(time(), {});
  IngestOptions options = Options(Symbols({"AAPL"}));
  options.shard = {0, 2};
  if (!SymbolsOfShard(options.symbols, options.shard).empty()) options.shard = {1, 2};
  ASSERT_TRUE(SymbolsOfShard(options.symbols, options.shard).empty());
  bool started = false;
  options.on_started = [&](const std::string&) { started = true; };
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompleted);
  EXPECT_FALSE(started);
  EXPECT_FALSE(store_.GetJob(result->job_id)->has_value());
  EXPECT_TRUE(provider.requests().empty());
}

TEST_P(IngestTest, AggregatesTheRequestedTimeframesAfterTheIngest) {
  ScriptedProvider provider(time(), {.page_size = 500});
  IngestOptions options = Options(Symbols({"AAPL", "MSFT"}));
  options.aggregate_to = {Timeframe::kFiveMinutes, Timeframe::kOneHour};
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompleted);
  EXPECT_TRUE(result->aggregation_error.ok());
  EXPECT_EQ(result->aggregated_bars, 2 * (288 + 24));
  const std::vector<Bar> minutes = store_.AllBars(Timeframe::kOneMinute);
  EXPECT_EQ(store_.AllBars(Timeframe::kFiveMinutes),
            *aggregation::Aggregate(minutes, Timeframe::kFiveMinutes));
  EXPECT_EQ(store_.AllBars(Timeframe::kOneHour),
            *aggregation::Aggregate(minutes, Timeframe::kOneHour));
}

TEST_P(IngestTest, FailedAggregationIsReportedNotSwallowed) {
  ScriptedProvider provider(time(), {});
  IngestOptions options = Options(Symbols({"AAPL"}));
  options.aggregate_to = {Timeframe::kOneHour};
  store_.set_write_hook([](const storage::PageWrite& w) {
    return w.timeframe == Timeframe::kOneHour ? absl::UnavailableError("database is locked")
                                              : absl::OkStatus();
  });
  absl::StatusOr<IngestResult> result = Ingest(provider, store_, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompletedWithErrors);
  EXPECT_EQ(result->aggregation_error.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT((*store_.GetJob(result->job_id))->message, HasSubstr("aggregation failed"));
}

TEST_P(IngestTest, AggregateTimeframeNotCoarserIsInvalidArgument) {
  ScriptedProvider provider(time(), {});
  IngestOptions options = Options(Symbols({"AAPL"}));
  options.timeframe = Timeframe::kOneHour;
  options.aggregate_to = {Timeframe::kFiveMinutes};
  EXPECT_EQ(Ingest(provider, store_, options).status().code(), absl::StatusCode::kInvalidArgument);
  options.aggregate_to = {Timeframe::kOneHour};
  EXPECT_EQ(Ingest(provider, store_, options).status().code(), absl::StatusCode::kInvalidArgument);
}

// The same coordinator on the embedded store it runs on in production.
class IngestSqliteTest : public ::mptest::AsyncTest {
 protected:
  void SetUp() override {
    auto store = storage::OpenStore("sqlite:" + ::mptest::CaseTempDir() + "/bars.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  IngestOptions Options(std::vector<Symbol> symbols) {
    IngestOptions options;
    options.symbols = std::move(symbols);
    options.range = *TimeRange::Create(kStart, kStart + kDay);
    options.feed = "fake";
    options.workers = 3;
    return options;
  }
  std::vector<Bar> Stored(const IngestOptions& options) {
    std::vector<Bar> out;
    for (const Symbol& symbol : SymbolsOfShard(options.symbols, {})) {
      auto bars = store_->ReadBars(symbol, Timeframe::kOneMinute, options.range);
      EXPECT_TRUE(bars.ok()) << bars.status();
      if (bars.ok()) out.insert(out.end(), bars->begin(), bars->end());
    }
    return out;
  }
  std::unique_ptr<storage::Store> store_;
};

TEST_F(IngestSqliteTest, FailedThenCancelledThenResumedJobEndsWithExactlyEveryBar) {
  ScriptedProvider provider(
      time(),
      {.max_symbols_per_request = 2, .page_size = 300, .latency = std::chrono::milliseconds(100)});
  provider.options().fail["MSFT"] = {.after_bars = 700, .error = absl::UnavailableError("503")};
  IngestOptions options = Options(ManySymbols(5));
  options.symbols.push_back(*Symbol::Parse("MSFT"));
  const std::vector<Bar> expected =
      ScriptedProvider::Expected(options.symbols, options.range, options.timeframe);

  absl::StatusOr<IngestResult> first = RunAsync(RunIngest(provider, *store_, time(), options));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->state, JobState::kCompletedWithErrors);

  provider.options().fail.clear();
  int pages = 0;
  Coordinator* running = nullptr;
  options.on_progress = [&](const Progress&) {
    if (++pages == 2) running->Cancel();
  };
  Coordinator second(provider, *store_, time(), options);
  running = &second;
  absl::StatusOr<IngestResult> cancelled = RunAsync(second.Run());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_EQ((*store_->GetJob(first->job_id))->state, JobState::kCancelled);

  options.on_progress = nullptr;
  absl::StatusOr<IngestResult> last = RunAsync(RunIngest(provider, *store_, time(), options));
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->job_id, first->job_id);
  EXPECT_EQ(last->state, JobState::kCompleted);
  EXPECT_TRUE(last->failures.empty());
  EXPECT_EQ(Stored(options), expected);
  // Across the three runs nothing was fetched twice beyond the pages in flight when the first
  // run failed (the lost page) and when the second was cancelled (one per worker).
  EXPECT_LE(provider.bars_sent(), static_cast<int64_t>(expected.size()) + 4 * 300);
  auto checkpoints = store_->GetCheckpoints(first->job_id);
  ASSERT_TRUE(checkpoints.ok());
  for (const storage::Checkpoint& c : *checkpoints) {
    EXPECT_TRUE(c.done) << c.symbol;
    EXPECT_EQ(c.error, "") << c.symbol;
    EXPECT_EQ(c.bars_stored, 1440) << c.symbol;
  }
}

TEST_F(IngestSqliteTest, SymbolRefusedInsideBatchesLeavesExactlyTheGoodSymbolsBars) {
  ScriptedProvider provider(time(), {.max_symbols_per_request = 3, .page_size = 400});
  provider.options().reject = {"BAD"};
  IngestOptions options = Options(ManySymbols(5));
  options.symbols.push_back(*Symbol::Parse("BAD"));
  std::vector<Symbol> good = ManySymbols(5);
  absl::StatusOr<IngestResult> result = RunAsync(RunIngest(provider, *store_, time(), options));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompletedWithErrors);
  ASSERT_THAT(result->failures, SizeIs(1));
  EXPECT_EQ(result->failures[0].symbol.value(), "BAD");
  EXPECT_THAT(std::string(result->failures[0].error.message()), HasSubstr("invalid symbol: BAD"));
  EXPECT_EQ(Stored(options), ScriptedProvider::Expected(good, options.range, options.timeframe));
  EXPECT_EQ(*store_->CountBars(std::nullopt, Timeframe::kOneMinute, options.range), 5 * 1440);
  EXPECT_EQ((*store_->GetJob(result->job_id))->state, JobState::kCompletedWithErrors);
}

TEST_F(IngestSqliteTest, AggregatesLandInTheSameStore) {
  ScriptedProvider provider(time(), {});
  IngestOptions options = Options({*Symbol::Parse("AAPL")});
  options.aggregate_to = {Timeframe::kFifteenMinutes, Timeframe::kOneDay};
  absl::StatusOr<IngestResult> result = RunAsync(RunIngest(provider, *store_, time(), options));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state, JobState::kCompleted);
  const Symbol aapl = *Symbol::Parse("AAPL");
  EXPECT_EQ(*store_->CountBars(aapl, Timeframe::kFifteenMinutes, options.range), 96);
  // A UTC day spans two New York trading dates.
  EXPECT_EQ(*store_->CountBars(aapl, Timeframe::kOneDay,
                               *TimeRange::Create(kStart - kDay, kStart + 2 * kDay)),
            2);
}

INSTANTIATE_TEST_SUITE_P(Writes, IngestTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "OnWriterThread" : "Inline";
                         });

}  // namespace
}  // namespace marketpipe::ingestion
