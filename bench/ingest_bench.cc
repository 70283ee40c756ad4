// End-to-end ingest: the fake provider through the Coordinator (validation, one transaction per
// page with its checkpoints) into a fresh SqliteStore file, side by side with its parts:
//
//   provider only      FakeProvider::Fetch of the same job into a sink that drops the pages
//   store only         SqliteStore::WritePage of the same bars in the same page sizes
//   end to end         RunIngest, 4 workers
//
// and the peak RSS of whole ingest processes of 10 and of 100 symbols x 30 days (each run in a
// fresh child process: ru_maxrss only grows). Targets: >= 400,000 bars/s end to end (over 40x
// the 9,400 bars/s published for the Python original); 100 symbols within 1.5x the RSS of 10.
//
//   ./bazelw run -c opt //bench:ingest_bench
//   ./bazelw run -c opt //bench:ingest_bench -- --symbols=100 --days=30

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/ingestion/ingest.h"
#include "marketpipe/providers/fake/fake_provider.h"
#include "marketpipe/storage/sqlite_store.h"
#include "marketpipe/storage/store.h"

namespace {

namespace asio = boost::asio;
using marketpipe::Bar;
using marketpipe::FakeProvider;
using marketpipe::Symbol;
using marketpipe::Timeframe;
using marketpipe::TimeRange;

constexpr int64_t kDayNs = int64_t{86400} * 1'000'000'000;
constexpr double kTargetBarsPerSecond = 400'000;
constexpr double kPythonBarsPerSecond = 9'400;

struct Job {
  int symbols = 100;
  int days = 30;
  int workers = 4;
};

std::vector<Symbol> Symbols(int n) {
  std::vector<Symbol> out;
  for (int i = 0; i < n; ++i) out.push_back(*Symbol::Parse(absl::StrCat("SYM", i)));
  return out;
}

TimeRange Range(int days) {
  const int64_t start = *marketpipe::ParseRfc3339("2024-01-01T00:00:00Z");
  return *TimeRange::Create(start, start + days * kDayNs);
}

std::string FreshDir() {
  std::string dir = (std::filesystem::temp_directory_path() / "ingest_bench_XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  return dir;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

template <class T>
T Await(asio::io_context& io, asio::awaitable<T> task) {
  auto future = asio::co_spawn(io, std::move(task), asio::use_future);
  io.run();
  io.restart();
  return future.get();
}

// Bars/s of the fake provider alone; also returns the bars, for the store-only run.
double ProviderOnly(const Job& job, std::vector<std::vector<Bar>>* pages) {
  asio::io_context io;
  FakeProvider provider;
  marketpipe::FetchRequest request;
  request.symbols = Symbols(job.symbols);
  request.range = Range(job.days);
  request.timeframe = Timeframe::kOneMinute;
  int64_t bars = 0;
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = Await(
      io, provider.Fetch(request, [&](marketpipe::FetchPage page) -> asio::awaitable<absl::Status> {
        bars += static_cast<int64_t>(page.bars.size());
        if (pages != nullptr) pages->push_back(std::move(page.bars));
        co_return absl::OkStatus();
      }));
  const double seconds = Seconds(std::chrono::steady_clock::now() - start);
  if (!status.ok()) {
    std::fprintf(stderr, "fetch: %s\n", std::string(status.message()).c_str());
    std::exit(1);
  }
  return bars / seconds;
}

double StoreOnly(const std::vector<std::vector<Bar>>& pages) {
  const std::string dir = FreshDir();
  auto store = *marketpipe::storage::OpenSqliteStore(dir + "/bench.db");
  int64_t bars = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::vector<Bar>& page : pages) {
    marketpipe::storage::PageWrite write;
    write.timeframe = Timeframe::kOneMinute;
    write.provenance = {.provider = "fake", .feed = "fake", .adjustment = "raw"};
    write.bars = page;
    if (absl::Status s = store->WritePage(write); !s.ok()) {
      std::fprintf(stderr, "write: %s\n", std::string(s.message()).c_str());
      std::exit(1);
    }
    bars += static_cast<int64_t>(page.size());
  }
  const double seconds = Seconds(std::chrono::steady_clock::now() - start);
  store.reset();
  std::filesystem::remove_all(dir);
  return bars / seconds;
}

struct EndToEnd {
  double bars_per_second = 0;
  int64_t bars = 0;
  double seconds = 0;
};

EndToEnd IngestOnce(const Job& job) {
  const std::string dir = FreshDir();
  auto store = *marketpipe::storage::OpenSqliteStore(dir + "/bench.db");
  asio::io_context io;
  FakeProvider provider;
  marketpipe::ingestion::IngestOptions options;
  options.symbols = Symbols(job.symbols);
  options.range = Range(job.days);
  options.feed = "fake";
  options.workers = job.workers;
  const auto start = std::chrono::steady_clock::now();
  auto result = Await(io, marketpipe::ingestion::RunIngest(
                              provider, *store, marketpipe::SystemTimeSource(), options));
  EndToEnd out;
  out.seconds = Seconds(std::chrono::steady_clock::now() - start);
  if (!result.ok() || result->state != marketpipe::storage::JobState::kCompleted) {
    std::fprintf(stderr, "ingest: %s\n",
                 result.ok() ? "not COMPLETED" : std::string(result.status().message()).c_str());
    std::exit(1);
  }
  out.bars = result->totals.bars_stored;
  out.bars_per_second = out.bars / out.seconds;
  store.reset();
  std::filesystem::remove_all(dir);
  return out;
}

// Runs `--child --symbols=N --days=D` of this binary; returns its peak RSS in KiB.
long ChildPeakRssKib(const char* self, const Job& job) {
  const std::string symbols = absl::StrCat("--symbols=", job.symbols);
  const std::string days = absl::StrCat("--days=", job.days);
  const pid_t pid = fork();
  if (pid == 0) {
    execl(self, self, "--child", symbols.c_str(), days.c_str(), static_cast<char*>(nullptr));
    std::perror("execl");
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "child ingest of %d symbols failed\n", job.symbols);
    std::exit(1);
  }
  return usage.ru_maxrss;
}

Job ParseFlags(int argc, char** argv, bool* child) {
  Job job;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--child") {
      *child = true;
    } else if (arg.rfind("--symbols=", 0) == 0) {
      job.symbols = std::atoi(arg.c_str() + 10);
    } else if (arg.rfind("--days=", 0) == 0) {
      job.days = std::atoi(arg.c_str() + 7);
    } else if (arg.rfind("--workers=", 0) == 0) {
      job.workers = std::atoi(arg.c_str() + 10);
    } else {
      std::fprintf(stderr, "usage: ingest_bench [--symbols=N] [--days=D] [--workers=W]\n");
      std::exit(2);
    }
  }
  return job;
}

}  // namespace

int main(int argc, char** argv) {
  bool child = false;
  const Job job = ParseFlags(argc, argv, &child);
  if (child) {
    IngestOnce(job);
    return 0;
  }
  std::printf(
      "ingest_bench: fake provider (regular session), 1m bars, %d symbols x %d days, "
      "%d workers, SQLite (WAL) in %s\n",
      job.symbols, job.days, job.workers, std::filesystem::temp_directory_path().c_str());

  std::vector<std::vector<Bar>> pages;
  const double provider_only = ProviderOnly(job, &pages);
  const double store_only = StoreOnly(pages);
  pages.clear();
  pages.shrink_to_fit();
  EndToEnd best;
  for (int run = 0; run < 3; ++run) {
    EndToEnd e = IngestOnce(job);
    if (e.bars_per_second > best.bars_per_second) best = e;
  }
  std::printf("  provider only (generate + page)      %12.0f bars/s\n", provider_only);
  std::printf("  store only (WritePage, same pages)   %12.0f bars/s\n", store_only);
  std::printf("  end to end (RunIngest, best of 3)    %12.0f bars/s  (%lld bars in %.2f s)\n",
              best.bars_per_second, static_cast<long long>(best.bars), best.seconds);
  std::printf(
      "  target                               %12.0f bars/s  (%.0fx the Python "
      "original's %.0f): %s\n",
      kTargetBarsPerSecond, kTargetBarsPerSecond / kPythonBarsPerSecond, kPythonBarsPerSecond,
      best.bars_per_second >= kTargetBarsPerSecond ? "MET" : "MISSED");
  std::printf("  end to end vs the Python original    %12.1fx\n",
              best.bars_per_second / kPythonBarsPerSecond);

  const long rss10 = ChildPeakRssKib(argv[0], {.symbols = 10, .days = 30, .workers = 4});
  const long rss100 = ChildPeakRssKib(argv[0], {.symbols = 100, .days = 30, .workers = 4});
  const double ratio = static_cast<double>(rss100) / static_cast<double>(rss10);
  std::printf("peak RSS of a whole ingest process, 30 days, 4 workers:\n");
  std::printf("  10 symbols    %8ld KiB\n", rss10);
  std::printf("  100 symbols   %8ld KiB   (%.2fx the 10-symbol run; target <= 1.50x: %s)\n", rss100,
              ratio, ratio <= 1.5 ? "MET" : "MISSED");
  return 0;
}
