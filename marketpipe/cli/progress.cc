#include "marketpipe/cli/progress.h"

#include <algorithm>
#include <cinttypes>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace marketpipe::cli {
namespace {

constexpr int kBarWidth = 20;
constexpr std::string_view kEraseLine = "\r\x1b[2K";

}  // namespace

std::string HumanCount(double value) {
  if (value < 1000) return absl::StrFormat("%.0f", value);
  if (value < 1e6) return absl::StrFormat("%.1fk", value / 1e3);
  return absl::StrFormat("%.2fM", value / 1e6);
}

std::string ProgressReporter::Eta(const ProgressSnapshot& s) {
  if (s.symbols_done <= 0 || s.symbols_total <= 0) return "--:--";
  const int64_t remaining_ns = static_cast<int64_t>(
      static_cast<double>(s.elapsed_ns) * (s.symbols_total - s.symbols_done) / s.symbols_done);
  const int64_t seconds = (remaining_ns + 999'999'999) / 1'000'000'000;
  if (seconds >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
  }
  return absl::StrFormat("%d:%02d", seconds / 60, seconds % 60);
}

std::string ProgressReporter::BarLine(const ProgressSnapshot& s) {
  const int filled = s.symbols_total > 0
                         ? std::clamp(s.symbols_done * kBarWidth / s.symbols_total, 0, kBarWidth)
                         : 0;
  return absl::StrCat("[", std::string(filled, '#'), std::string(kBarWidth - filled, '.'), "] ",
                      s.symbols_done, "/", s.symbols_total, " symbols  ", s.bars_stored, " bars  ",
                      HumanCount(s.bars_per_second), " bars/s  ETA ", Eta(s));
}

std::string ProgressReporter::PlainLine(const ProgressSnapshot& s) {
  return absl::StrCat("progress: ", s.symbols_done, "/", s.symbols_total, " symbols, ",
                      s.bars_stored, " bars, ", HumanCount(s.bars_per_second), " bars/s, ETA ",
                      Eta(s));
}

void ProgressReporter::Draw() {
  if (mode_ == Mode::kTerminal) {
    std::fprintf(out_, "%.*s%s", static_cast<int>(kEraseLine.size()), kEraseLine.data(),
                 BarLine(last_).c_str());
    bar_visible_ = true;
  } else {
    std::fprintf(out_, "%s\n", PlainLine(last_).c_str());
  }
  std::fflush(out_);
}

void ProgressReporter::Update(const ProgressSnapshot& snapshot) {
  last_ = snapshot;
  have_snapshot_ = true;
  pending_ = true;
  Tick(snapshot.elapsed_ns);
}

void ProgressReporter::Tick(int64_t elapsed_ns) {
  if (!pending_) return;
  const int64_t interval = mode_ == Mode::kTerminal ? kTerminalIntervalNs : kPlainIntervalNs;
  if (drawn_once_ && elapsed_ns - last_draw_ns_ < interval) return;
  // Plain mode waits a full interval before its first line: short runs print only the summary.
  if (!drawn_once_ && mode_ == Mode::kPlain && elapsed_ns < interval) return;
  drawn_once_ = true;
  pending_ = false;
  last_draw_ns_ = elapsed_ns;
  Draw();
}

void ProgressReporter::Log(std::string_view line) {
  if (bar_visible_) {
    std::fprintf(out_, "%.*s", static_cast<int>(kEraseLine.size()), kEraseLine.data());
  }
  std::fprintf(out_, "%.*s\n", static_cast<int>(line.size()), line.data());
  if (bar_visible_) {
    std::fprintf(out_, "%s", BarLine(last_).c_str());
    pending_ = false;
  }
  std::fflush(out_);
}

void ProgressReporter::Finish() {
  if (bar_visible_) {
    std::fprintf(out_, "%.*s", static_cast<int>(kEraseLine.size()), kEraseLine.data());
    std::fflush(out_);
    bar_visible_ = false;
  }
}

std::string FormatSummary(const RunSummary& s) {
  std::string out = absl::StrCat("job ", s.job_id, ": ", s.state, "\n");
  absl::StrAppend(&out, "symbols   ", s.symbols_done, "/", s.symbols_total, " done");
  if (s.symbols_already_done > 0) {
    absl::StrAppend(&out, " (", s.symbols_already_done, " by an earlier run)");
  }
  if (!s.failures.empty()) absl::StrAppend(&out, ", ", s.failures.size(), " failed");
  absl::StrAppend(&out, "\nbars      ", s.bars_fetched, " fetched, ", s.bars_stored, " stored, ",
                  s.bars_rejected, " rejected\n");
  for (const auto& [reason, count] : s.rejected_by_reason) {
    absl::StrAppend(&out, "rejected  ", reason, ": ", count, "\n");
  }
  for (const auto& [symbol, reason] : s.failures) {
    absl::StrAppend(&out, "failed    ", symbol, ": ", reason, "\n");
  }
  absl::StrAppend(&out, "elapsed   ",
                  absl::StrFormat("%.2f s (%.0f bars/s)", s.elapsed_ns / 1e9, s.bars_per_second),
                  "\n");
  return out;
}

}  // namespace marketpipe::cli
