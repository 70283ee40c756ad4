// A test helper: runs one ingest of the fake provider into a store, as `marketpipe ingest`
// would, and can SIGKILL itself around the N-th page transaction. The crash, multi-process and
// shard tests run it as a child process (it is a data dependency of those tests).
//
//   ingest_test_helper --store=sqlite:/tmp/x.db --symbols=AAPL,MSFT
//       --start=2024-01-02T00:00:00Z --end=2024-01-05T00:00:00Z --page-size=400
//       --kill-at-page=3 --kill-point=during
//
// stdout, one line each, flushed: "progress stored=<bars> fetched=<bars> done=<symbols>" after
// every page transaction, then "result job=<id> state=<STATE> fetched=<n> stored=<n>".
// Exit status: 0 when the job COMPLETED, 3 for any other final state, 1 for a run error, 2 for
// bad flags.

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/ingestion/ingest.h"
#include "marketpipe/ingestion/job.h"
#include "marketpipe/providers/fake/fake_provider.h"
#include "marketpipe/storage/store.h"
#include "marketpipe/time/time_source.h"

namespace marketpipe::ingestion {
namespace {

enum class KillPoint { kNone, kBefore, kDuring, kAfter };

// Forwards to a real store; SIGKILLs the process around the `kill_at`-th WritePage that
// carries bars (1-based).
class KillingStore final : public storage::Store {
 public:
  KillingStore(std::unique_ptr<storage::Store> inner, int kill_at, KillPoint point)
      : inner_(std::move(inner)), kill_at_(kill_at), point_(point) {}

  std::string kind() const override { return inner_->kind(); }
  absl::Status WritePage(const storage::PageWrite& write) override {
    const bool target = !write.bars.empty() && ++pages_ == kill_at_;
    if (target && point_ == KillPoint::kBefore) raise(SIGKILL);
    if (target && point_ == KillPoint::kDuring) {
      // Best effort at landing inside the transaction: a page of a few hundred bars takes a
      // few milliseconds to upsert; the killer fires shortly after the write begins.
      std::thread([] {
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        raise(SIGKILL);
      }).detach();
    }
    absl::Status status = inner_->WritePage(write);
    if (target && point_ != KillPoint::kNone) {
      raise(SIGKILL);
      // SIGKILL is delivered before raise returns; nothing after this runs.
    }
    return status;
  }
  absl::StatusOr<std::vector<Bar>> ReadBars(const Symbol& symbol, Timeframe timeframe,
                                            TimeRange range) override {
    return inner_->ReadBars(symbol, timeframe, range);
  }
  absl::StatusOr<int64_t> CountBars(std::optional<Symbol> symbol, Timeframe timeframe,
                                    TimeRange range) override {
    return inner_->CountBars(symbol, timeframe, range);
  }
  absl::StatusOr<std::optional<storage::Provenance>> GetProvenance(const Symbol& symbol,
                                                                   Timeframe timeframe) override {
    return inner_->GetProvenance(symbol, timeframe);
  }
  absl::StatusOr<storage::QueryResult> Query(std::string_view sql, int64_t limit) override {
    return inner_->Query(sql, limit);
  }
  absl::Status CreateJob(const storage::JobRecord& job) override { return inner_->CreateJob(job); }
  absl::StatusOr<std::optional<storage::JobRecord>> GetJob(std::string_view id) override {
    return inner_->GetJob(id);
  }
  absl::StatusOr<std::vector<storage::JobRecord>> ListJobs() override { return inner_->ListJobs(); }
  absl::Status StartJob(std::string_view id) override { return inner_->StartJob(id); }
  absl::Status SetJobState(std::string_view id, storage::JobState state,
                           std::string_view message) override {
    return inner_->SetJobState(id, state, message);
  }
  absl::StatusOr<std::vector<storage::Checkpoint>> GetCheckpoints(
      std::string_view job_id) override {
    return inner_->GetCheckpoints(job_id);
  }

 private:
  std::unique_ptr<storage::Store> inner_;
  const int kill_at_;
  const KillPoint point_;
  std::atomic<int> pages_{0};
};

struct Flags {
  std::string store;
  std::string symbols;
  std::string start;
  std::string end;
  std::string job_id;
  std::string shard = "0/1";
  int workers = 2;
  int page_size = 400;
  int kill_at_page = 0;
  std::string kill_point = "none";
};

int Run(const Flags& flags) {
  IngestOptions options;
  for (const std::string& text :
       std::vector<std::string>(absl::StrSplit(flags.symbols, ',', absl::SkipEmpty()))) {
    absl::StatusOr<Symbol> symbol = Symbol::Parse(text);
    if (!symbol.ok()) {
      std::fprintf(stderr, "%s\n", std::string(symbol.status().message()).c_str());
      return 2;
    }
    options.symbols.push_back(*symbol);
  }
  absl::StatusOr<int64_t> start = ParseRfc3339(flags.start);
  absl::StatusOr<int64_t> end = ParseRfc3339(flags.end);
  absl::StatusOr<Shard> shard = ParseShard(flags.shard);
  if (!start.ok() || !end.ok() || !shard.ok()) {
    std::fprintf(stderr, "bad --start, --end or --shard\n");
    return 2;
  }
  absl::StatusOr<TimeRange> range = TimeRange::Create(*start, *end);
  if (!range.ok()) {
    std::fprintf(stderr, "%s\n", std::string(range.status().message()).c_str());
    return 2;
  }
  options.range = *range;
  options.shard = *shard;
  options.job_id = flags.job_id;
  options.workers = flags.workers;
  options.feed = "fake";
  KillPoint point = KillPoint::kNone;
  if (flags.kill_point == "before") point = KillPoint::kBefore;
  if (flags.kill_point == "during") point = KillPoint::kDuring;
  if (flags.kill_point == "after") point = KillPoint::kAfter;

  absl::StatusOr<std::unique_ptr<storage::Store>> opened = storage::OpenStore(flags.store);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", std::string(opened.status().message()).c_str());
    return 1;
  }
  KillingStore store(*std::move(opened), flags.kill_at_page, point);
  FakeProvider provider(FakeProviderOptions{.page_size = flags.page_size});
  options.on_progress = [](const Progress& p) {
    std::printf("progress stored=%lld fetched=%lld done=%d\n",
                static_cast<long long>(p.bars_stored), static_cast<long long>(p.bars_fetched),
                p.symbols_done);
    std::fflush(stdout);
  };
  boost::asio::io_context io;
  auto future = boost::asio::co_spawn(io, RunIngest(provider, store, SystemTimeSource(), options),
                                      boost::asio::use_future);
  io.run();
  absl::StatusOr<IngestResult> result = future.get();
  if (!result.ok()) {
    std::fprintf(stderr, "%s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  std::printf("result job=%s state=%s fetched=%lld stored=%lld\n", result->job_id.c_str(),
              std::string(storage::JobStateName(result->state)).c_str(),
              static_cast<long long>(result->totals.bars_fetched),
              static_cast<long long>(result->totals.bars_stored));
  std::fflush(stdout);
  for (const SymbolFailure& f : result->failures) {
    std::fprintf(stderr, "%s: %s\n", f.symbol.value().c_str(),
                 std::string(f.error.message()).c_str());
  }
  return result->state == storage::JobState::kCompleted ? 0 : 3;
}

}  // namespace
}  // namespace marketpipe::ingestion

int main(int argc, char** argv) {
  marketpipe::ingestion::Flags flags;
  CLI::App app("Runs one fake-provider ingest for the ingestion tests.");
  app.add_option("--store", flags.store, "sqlite:PATH or postgres:DSN")->required();
  app.add_option("--symbols", flags.symbols, "comma-separated")->required();
  app.add_option("--start", flags.start, "RFC 3339")->required();
  app.add_option("--end", flags.end, "RFC 3339")->required();
  app.add_option("--job-id", flags.job_id);
  app.add_option("--shard", flags.shard);
  app.add_option("--workers", flags.workers);
  app.add_option("--page-size", flags.page_size);
  app.add_option("--kill-at-page", flags.kill_at_page);
  app.add_option("--kill-point", flags.kill_point)
      ->check(CLI::IsMember({"none", "before", "during", "after"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return marketpipe::ingestion::Run(flags);
}
