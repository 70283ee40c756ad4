#include "marketpipe/cli/progress.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketpipe::cli {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMs = 1'000'000;

// Captures what a reporter writes.
class Capture {
 public:
  Capture() : file_(open_memstream(&data_, &size_)) {}
  ~Capture() {
    std::fclose(file_);
    std::free(data_);
  }
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

TEST(ProgressTest, BarLineShowsSymbolsBarsRateAndEta) {
  const ProgressSnapshot s{.symbols_done = 1,
                           .symbols_total = 4,
                           .bars_stored = 390,
                           .bars_per_second = 1950,
                           .elapsed_ns = 2000 * kMs};
  EXPECT_EQ(ProgressReporter::BarLine(s),
            "[#####...............] 1/4 symbols  390 bars  1.9k bars/s  ETA 0:06");
}

TEST(ProgressTest, EtaIsUnknownBeforeTheFirstSymbolAndHasHoursWhenLong) {
  EXPECT_EQ(ProgressReporter::Eta({.symbols_done = 0, .symbols_total = 3}), "--:--");
  EXPECT_EQ(
      ProgressReporter::Eta(
          {.symbols_done = 1, .symbols_total = 3, .elapsed_ns = int64_t{3600} * 1'000'000'000}),
      "2:00:00");
}

TEST(ProgressTest, TerminalRedrawsAtMostTenTimesASecond) {
  Capture out;
  ProgressReporter reporter(out.file(), ProgressReporter::Mode::kTerminal);
  // 100 updates within one second of run time: 10 draws (t = 0, 100, ..., 900 ms).
  for (int i = 0; i < 100; ++i) {
    reporter.Update(
        {.symbols_done = 0, .symbols_total = 1, .bars_stored = i, .elapsed_ns = i * 10 * kMs});
  }
  EXPECT_EQ(Count(out.text(), "\r\x1b[2K"), 10);
  EXPECT_EQ(Count(out.text(), "\n"), 0);  // one line, redrawn in place
}

TEST(ProgressTest, TickShowsTheLatestSnapshotThatThrottlingHeldBack) {
  Capture out;
  ProgressReporter reporter(out.file(), ProgressReporter::Mode::kTerminal);
  const ProgressSnapshot first{.symbols_done = 0, .symbols_total = 2, .elapsed_ns = 0};
  const ProgressSnapshot held{
      .symbols_done = 1, .symbols_total = 2, .bars_stored = 390, .elapsed_ns = 30 * kMs};
  reporter.Update(first);
  reporter.Update(held);  // within 100 ms of the first draw: not shown yet
  const std::string shown_first = "\r\x1b[2K" + ProgressReporter::BarLine(first);
  EXPECT_EQ(out.text(), shown_first);
  reporter.Tick(60 * kMs);  // still within the interval
  EXPECT_EQ(out.text(), shown_first);
  reporter.Tick(100 * kMs);  // the run stalls: the held snapshot appears anyway
  const std::string shown_both = shown_first + "\r\x1b[2K" + ProgressReporter::BarLine(held);
  EXPECT_EQ(out.text(), shown_both);
  reporter.Tick(500 * kMs);  // nothing new: no redraw
  EXPECT_EQ(out.text(), shown_both);
}

TEST(ProgressTest, PlainModeTickPrintsAStalledRunsLineAfterFiveSeconds) {
  Capture out;
  ProgressReporter reporter(out.file(), ProgressReporter::Mode::kPlain);
  reporter.Update({.symbols_done = 0, .symbols_total = 2, .bars_stored = 7, .elapsed_ns = kMs});
  reporter.Tick(4'999 * kMs);
  EXPECT_EQ(out.text(), "");
  reporter.Tick(5'000 * kMs);
  EXPECT_EQ(out.text(), "progress: 0/2 symbols, 7 bars, 0 bars/s, ETA --:--\n");
  reporter.Tick(20'000 * kMs);
  EXPECT_EQ(Count(out.text(), "progress: "), 1);
}

TEST(ProgressTest, LogLinesGoAboveTheBarWhichIsRedrawn) {
  Capture out;
  ProgressReporter reporter(out.file(), ProgressReporter::Mode::kTerminal);
  reporter.Update({.symbols_done = 1, .symbols_total = 2, .bars_stored = 5, .elapsed_ns = 0});
  reporter.Log("retrying AAPL after 503");
  reporter.Finish();
  const std::string bar = ProgressReporter::BarLine(
      {.symbols_done = 1, .symbols_total = 2, .bars_stored = 5, .elapsed_ns = 0});
  EXPECT_EQ(out.text(),
            "\r\x1b[2K" + bar + "\r\x1b[2Kretrying AAPL after 503\n" + bar + "\r\x1b[2K");
}

TEST(ProgressTest, PlainModePrintsWholeLinesEveryFiveSeconds) {
  Capture out;
  ProgressReporter reporter(out.file(), ProgressReporter::Mode::kPlain);
  for (int64_t t = 0; t <= 12'000; t += 500) {
    reporter.Update({.symbols_done = 0, .symbols_total = 2, .elapsed_ns = t * kMs});
  }
  reporter.Log("a log line");
  const std::string text = out.text();
  EXPECT_EQ(Count(text, "progress: "), 2);  // at 5 s and 10 s
  EXPECT_EQ(Count(text, "\x1b"), 0);
  EXPECT_THAT(text, HasSubstr("progress: 0/2 symbols, 0 bars, 0 bars/s, ETA --:--\n"));
  EXPECT_THAT(text, HasSubstr("\na log line\n"));
}

TEST(ProgressTest, SummaryListsRejectionsAndFailures) {
  RunSummary s;
  s.job_id = "job-1";
  s.state = "COMPLETED_WITH_ERRORS";
  s.symbols_total = 3;
  s.symbols_done = 3;
  s.bars_fetched = 10;
  s.bars_stored = 8;
  s.bars_rejected = 2;
  s.rejected_by_reason = {{"ohlc_inconsistent", 2}};
  s.failures = {{"MSFT", "HTTP 403: forbidden."}};
  s.elapsed_ns = 500 * kMs;
  s.bars_per_second = 16;
  EXPECT_EQ(FormatSummary(s),
            "job job-1: COMPLETED_WITH_ERRORS\n"
            "symbols   3/3 done, 1 failed\n"
            "bars      10 fetched, 8 stored, 2 rejected\n"
            "rejected  ohlc_inconsistent: 2\n"
            "failed    MSFT: HTTP 403: forbidden.\n"
            "elapsed   0.50 s (16 bars/s)\n");
}

TEST(ProgressTest, SummaryOfAResumedJobSaysWhatEarlierRunsDid) {
  RunSummary s;
  s.job_id = "j";
  s.state = "COMPLETED";
  s.symbols_total = 3;
  s.symbols_done = 3;
  s.symbols_already_done = 2;
  EXPECT_THAT(FormatSummary(s), HasSubstr("symbols   3/3 done (2 by an earlier run)\n"));
}

}  // namespace
}  // namespace marketpipe::cli
