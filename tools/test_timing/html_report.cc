#include "tools/test_timing/html_report.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "marketpipe/xml/xml_escape.h"

namespace marketpipe::test_timing {
namespace {

bool Ran(const TestAction& a) { return !a.cached_locally && !a.cached_remotely; }

const char* ColorOf(const TestAction& a) {
  if (!Ran(a)) return "#b0b7c3";
  if (a.status == "PASSED") return "#3a9d5d";
  if (a.status == "FLAKY") return "#e0a030";
  return "#d04040";
}

std::string ShortLabel(const TestAction& a) {
  std::string s = a.label.substr(a.label.find(':') + 1);
  return a.shard > 1 || a.label.empty() ? absl::StrCat(s, " #", a.shard) : s;
}

constexpr int kWidth = 1100;
constexpr int kLeft = 70;
constexpr int kLaneHeight = 26;

}  // namespace

std::vector<int> AssignLanes(const BuildEvents& events) {
  std::vector<size_t> order;
  for (size_t i = 0; i < events.tests.size(); ++i) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return events.tests[a].start_ms < events.tests[b].start_ms;
  });
  std::vector<int64_t> lane_end;
  std::vector<int> lanes(events.tests.size(), -1);
  for (size_t i : order) {
    const TestAction& a = events.tests[i];
    if (a.cached_locally) continue;
    size_t lane = 0;
    while (lane < lane_end.size() && lane_end[lane] > a.start_ms) ++lane;
    if (lane == lane_end.size()) lane_end.push_back(0);
    lane_end[lane] = a.start_ms + std::max<int64_t>(a.duration_ms, 1);
    lanes[i] = static_cast<int>(lane);
  }
  return lanes;
}

std::string RenderHtml(const BuildEvents& events, const Report& report, int top,
                       const std::string& comparison) {
  std::string out =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>MarketPipe test timing</title>\n"
      "<style>body{font:14px/1.4 sans-serif;margin:24px;color:#222}h1{font-size:20px}"
      "h2{font-size:16px;margin-top:28px}table{border-collapse:collapse}"
      "td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}"
      "td.n{text-align:right;font-variant-numeric:tabular-nums}svg text{font:11px sans-serif}"
      ".k{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}</style></head><body>\n"
      "<h1>MarketPipe test timing</h1>\n";

  // Summary.
  absl::StrAppend(&out, "<table>");
  if (report.test_wall_ms > 0) {
    absl::StrAppendFormat(&out,
                          "<tr><th>parallel efficiency</th><td>%.0f%% (%.1f s of test actions / "
                          "(%.1f s with tests running &times; %d jobs))</td></tr>",
                          100 * report.efficiency, report.test_busy_ms / 1000,
                          report.test_wall_ms / 1000, report.jobs);
  }
  absl::StrAppend(&out, "<tr><th>cache hits</th><td>", XmlEscape(FormatCacheLine(report)),
                  "</td></tr>");
  if (report.shard_overhead_ms) {
    absl::StrAppendFormat(&out, "<tr><th>shard fixed cost</th><td>%.0f ms (median)</td></tr>",
                          *report.shard_overhead_ms);
  }
  absl::StrAppendFormat(&out,
                        "<tr><th>test actions</th><td>%d (%d from the remote cache)</td></tr>",
                        report.test_actions, report.tests_cached_remotely);
  absl::StrAppend(&out, "</table>\n");

  // Timeline: one lane per concurrently running action (at most the job count, give or take
  // Bazel's scheduling jitter).
  const std::vector<int> lanes = AssignLanes(events);
  int64_t t0 = INT64_MAX, t1 = INT64_MIN;
  int lane_count = 0;
  for (size_t i = 0; i < events.tests.size(); ++i) {
    if (lanes[i] < 0) continue;
    const TestAction& a = events.tests[i];
    t0 = std::min(t0, a.start_ms);
    t1 = std::max(t1, a.start_ms + a.duration_ms);
    lane_count = std::max(lane_count, lanes[i] + 1);
  }
  absl::StrAppend(&out, "<h2>Test actions per job</h2>\n<div>",
                  "<span class=\"k\" style=\"background:#3a9d5d\"></span>passed",
                  "<span class=\"k\" style=\"background:#e0a030\"></span>flaky",
                  "<span class=\"k\" style=\"background:#d04040\"></span>failed",
                  "<span class=\"k\" style=\"background:#b0b7c3\"></span>from cache</div>\n");
  if (lane_count == 0) {
    absl::StrAppend(&out, "<p>No test action ran.</p>\n");
  } else {
    const double span = std::max<int64_t>(1, t1 - t0);
    const double scale = (kWidth - kLeft - 10) / span;
    const int height = lane_count * kLaneHeight + 30;
    absl::StrAppendFormat(&out, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", kWidth,
                          height, kWidth, height);
    for (int l = 0; l < lane_count; ++l) {
      absl::StrAppendFormat(&out, "<text x=\"4\" y=\"%d\">job %d</text>\n", l * kLaneHeight + 17,
                            l + 1);
    }
    for (size_t i = 0; i < events.tests.size(); ++i) {
      if (lanes[i] < 0) continue;
      const TestAction& a = events.tests[i];
      const double x = kLeft + (a.start_ms - t0) * scale;
      const double w = std::max(1.0, a.duration_ms * scale);
      const int y = lanes[i] * kLaneHeight + 3;
      absl::StrAppendFormat(
          &out,
          "<g><title>%s shard %d attempt %d: %d ms, %s (%s)</title>"
          "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" stroke=\"#fff\"/>",
          XmlEscape(a.label), a.shard, a.attempt, a.duration_ms, XmlEscape(a.status),
          XmlEscape(a.strategy), x, y, w, kLaneHeight - 4, ColorOf(a));
      // Label the bar when the name fits in it (about 6 px per character).
      const std::string name = ShortLabel(a);
      if (w > 6.0 * name.size() + 6) {
        absl::StrAppendFormat(&out, "<text x=\"%.1f\" y=\"%d\" fill=\"#fff\">%s</text>", x + 3,
                              y + 15, XmlEscape(name));
      }
      absl::StrAppend(&out, "</g>\n");
    }
    // Time axis: about ten ticks on round values.
    const double step_s = std::max(0.1, std::pow(10, std::floor(std::log10(span / 1000 / 5))));
    const int axis_y = lane_count * kLaneHeight + 8;
    absl::StrAppendFormat(&out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n",
                          kLeft, axis_y, kWidth - 10, axis_y);
    for (double s = 0; s * 1000 <= span; s += step_s) {
      const double x = kLeft + s * 1000 * scale;
      absl::StrAppendFormat(&out,
                            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\"/>"
                            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%gs</text>\n",
                            x, axis_y, x, axis_y + 4, x, axis_y + 16, s);
    }
    absl::StrAppend(&out, "</svg>\n");
  }

  // Slowest cases as bars.
  const int n = std::min<int>(top, report.cases.size());
  absl::StrAppend(&out, "<h2>Slowest test cases</h2>\n");
  if (n == 0) {
    absl::StrAppend(&out, "<p>No test.xml was readable.</p>\n");
  } else {
    const double max_ms = std::max(1.0, report.cases[0].millis);
    const int bar_left = 560, row = 20;
    absl::StrAppendFormat(&out, "<svg width=\"%d\" height=\"%d\">\n", kWidth, n * row + 4);
    for (int i = 0; i < n; ++i) {
      const SlowCase& c = report.cases[i];
      const double w = std::max(1.0, (kWidth - bar_left - 80) * c.millis / max_ms);
      absl::StrAppendFormat(
          &out,
          "<g><title>%s (%s)</title><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>"
          "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#4a78c2\"/>"
          "<text x=\"%.1f\" y=\"%d\">%.0f ms</text></g>\n",
          XmlEscape(c.name), XmlEscape(c.label), bar_left - 6, i * row + 14,
          XmlEscape(c.name.size() > 80 ? c.name.substr(0, 77) + "..." : c.name), bar_left,
          i * row + 3, w, row - 6, bar_left + w + 4, i * row + 14, c.millis);
    }
    absl::StrAppend(&out, "</svg>\n");
  }

  // Slowest targets and shard imbalance.
  absl::StrAppend(&out,
                  "<h2>Slowest targets</h2>\n<table><tr><th>target</th><th>time (ms)</th>"
                  "<th>shards</th><th>per shard (ms)</th><th>imbalance (max/mean)</th></tr>\n");
  for (int i = 0; i < std::min<int>(top, report.targets.size()); ++i) {
    const TargetTiming& t = report.targets[i];
    std::string shards;
    for (double ms : t.shard_ms)
      absl::StrAppendFormat(&shards, "%s%.0f", shards.empty() ? "" : " / ", ms);
    absl::StrAppendFormat(&out,
                          "<tr><td>%s%s</td><td class=\"n\">%.0f</td><td class=\"n\">%d</td>"
                          "<td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
                          XmlEscape(t.label), t.executed ? "" : " (cached)", t.time_ms, t.shards,
                          shards, t.shards > 1 ? absl::StrFormat("%.2f", t.imbalance) : "&ndash;");
  }
  absl::StrAppend(&out, "</table>\n");
  if (!comparison.empty())
    absl::StrAppend(&out, "<h2>Shard split change</h2>\n<pre>", XmlEscape(comparison), "</pre>\n");
  absl::StrAppend(&out, "</body></html>\n");
  return out;
}

}  // namespace marketpipe::test_timing
