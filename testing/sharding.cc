#include "testing/sharding.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

namespace mptest::sharding {
namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? s.npos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

}  // namespace

bool ParseManifest(std::string_view text, std::string_view target, Timings* out,
                   std::string* error) {
  int line_no = 0;
  for (std::string_view line : Split(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string_view> fields = Split(line, '\t');
    auto bad = [&](const char* why) {
      *error = "timing manifest line " + std::to_string(line_no) + " (" + why + "): \"" +
               std::string(line) + "\"";
      return false;
    };
    if (fields.size() != 3) return bad("want 3 tab-separated fields: target, case, millis");
    if (fields[0].empty() || fields[1].empty()) return bad("empty target or case");
    std::string millis_text(fields[2]);
    char* end = nullptr;
    double millis = std::strtod(millis_text.c_str(), &end);
    if (millis_text.empty() || end != millis_text.c_str() + millis_text.size() ||
        !std::isfinite(millis) || millis < 0) {
      return bad("duration is not a non-negative number of milliseconds");
    }
    if (fields[0] == "*" || fields[0] == target)
      out->millis_by_case[std::string(fields[1])] = millis;
  }
  return true;
}

std::vector<std::string> CasesForShard(const std::vector<std::string>& cases, int index, int total,
                                       const Timings* timings) {
  std::vector<std::string> mine;
  if (total <= 1) return cases;
  if (!timings || timings->millis_by_case.empty()) {
    for (size_t i = 0; i < cases.size(); ++i) {
      if (static_cast<int>(i % total) == index) mine.push_back(cases[i]);
    }
    return mine;
  }
  double known_sum = 0;
  int known = 0;
  for (const auto& c : cases) {
    auto it = timings->millis_by_case.find(c);
    if (it != timings->millis_by_case.end()) {
      known_sum += it->second;
      ++known;
    }
  }
  const double fallback = known ? known_sum / known : 1.0;
  std::vector<size_t> order(cases.size());
  std::iota(order.begin(), order.end(), 0);
  auto cost = [&](size_t i) {
    auto it = timings->millis_by_case.find(cases[i]);
    return it == timings->millis_by_case.end() ? fallback : it->second;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return cost(a) > cost(b); });
  std::vector<double> load(total, 0.0);
  std::vector<bool> is_mine(cases.size(), false);
  for (size_t i : order) {
    int best = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    load[best] += cost(i);
    if (best == index) is_mine[i] = true;
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    if (is_mine[i]) mine.push_back(cases[i]);
  }
  return mine;
}

}  // namespace mptest::sharding
