#ifndef TOOLS_TEST_TIMING_HTML_REPORT_H_
#define TOOLS_TEST_TIMING_HTML_REPORT_H_

#include <string>

#include "tools/test_timing/analysis.h"
#include "tools/test_timing/build_events.h"

namespace marketpipe::test_timing {

// One self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched): the summary,
// a per-job timeline of the test actions, the slowest cases, and the shard imbalance table;
// `comparison` (FormatImbalanceChange's text, may be empty) is shown as it is.
std::string RenderHtml(const BuildEvents& events, const Report& report, int top,
                       const std::string& comparison = "");

// Timeline lanes: actions sorted by start, each on the lowest lane free at its start. Returns the
// lane of each action in `events.tests` order (-1 for results that ran no action).
std::vector<int> AssignLanes(const BuildEvents& events);

}  // namespace marketpipe::test_timing

#endif  // TOOLS_TEST_TIMING_HTML_REPORT_H_
