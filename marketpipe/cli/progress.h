#ifndef MARKETPIPE_CLI_PROGRESS_H_
#define MARKETPIPE_CLI_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace marketpipe::cli {

// Where an ingest stands, as the progress display needs it.
struct ProgressSnapshot {
  int symbols_done = 0;
  int symbols_total = 0;
  int64_t bars_stored = 0;
  double bars_per_second = 0;
  int64_t elapsed_ns = 0;  // since the run started
};

// Shows an ingest's progress on stderr.
//
// Terminal mode: one line, redrawn in place ("\r" + erase line) at most 10 times a second:
//   [###########.........] 2/3 symbols  780 bars  1.2k bars/s  ETA 0:03
// Log() lines are printed above it (the bar is erased, the line written, the bar redrawn), so
// log output and the bar never mix on one line. Plain mode (not a terminal): a plain line at
// most every 5 seconds, and log lines as they come.
//
// Throttling uses the snapshots' own elapsed time, so it is deterministic for a given sequence.
class ProgressReporter {
 public:
  enum class Mode { kTerminal, kPlain };
  static constexpr int64_t kTerminalIntervalNs = 100'000'000;  // 10 redraws per second
  static constexpr int64_t kPlainIntervalNs = 5'000'000'000;

  ProgressReporter(std::FILE* out, Mode mode) : out_(out), mode_(mode) {}

  void Update(const ProgressSnapshot& snapshot);
  // Time passed without an Update (`elapsed_ns` on the snapshots' clock): shows the latest
  // snapshot if throttling held it back and the interval has passed now, so a stalled ingest
  // (a slow server, a long rate-limit wait) still shows where it stands. Call it periodically.
  void Tick(int64_t elapsed_ns);
  void Log(std::string_view line);
  // Erases the bar (terminal mode); call before printing the summary.
  void Finish();

  // The bar line (no "\r", no newline) and the plain line (no newline).
  static std::string BarLine(const ProgressSnapshot& snapshot);
  static std::string PlainLine(const ProgressSnapshot& snapshot);
  // "0:03", "1:02:03", "--:--" when unknown.
  static std::string Eta(const ProgressSnapshot& snapshot);

 private:
  void Draw();

  std::FILE* out_;
  Mode mode_;
  ProgressSnapshot last_;
  bool have_snapshot_ = false;
  bool pending_ = false;  // last_ has not been shown
  bool bar_visible_ = false;
  int64_t last_draw_ns_ = 0;
  bool drawn_once_ = false;
};

// The final report of an ingest.
struct RunSummary {
  std::string job_id;
  std::string state;  // "COMPLETED", ...
  int symbols_total = 0;
  int symbols_done = 0;          // including those of earlier runs of the job
  int symbols_already_done = 0;  // by earlier runs of the job
  int64_t bars_fetched = 0;
  int64_t bars_stored = 0;
  int64_t bars_rejected = 0;
  std::map<std::string, int64_t> rejected_by_reason;
  std::vector<std::pair<std::string, std::string>> failures;  // symbol, reason
  int64_t elapsed_ns = 0;
  double bars_per_second = 0;
};

// Multi-line text ending in a newline:
//   job job-1a2b3c4d5e6f7a8b: COMPLETED
//   symbols   3/3 done
//   bars      1170 fetched, 1170 stored, 0 rejected
//   elapsed   0.21 s (5571 bars/s)
// plus "rejected  <reason>: N" lines and "failed    SYMBOL: reason" lines when there are any.
std::string FormatSummary(const RunSummary& summary);

// "1234", "12.3k", "4.56M".
std::string HumanCount(double value);

}  // namespace marketpipe::cli

#endif  // MARKETPIPE_CLI_PROGRESS_H_
