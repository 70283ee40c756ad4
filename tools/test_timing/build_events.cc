#include "tools/test_timing/build_events.h"

#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <regex>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace marketpipe::test_timing {
namespace {

namespace json = boost::json;

// Debian's Abseil has its own string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0).
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Field access that reports a wrong type instead of throwing. Bazel writes int64 fields as JSON
// strings ("testAttemptDurationMillis": "10") and int32 fields as numbers; accept both.
class Fields {
 public:
  Fields(const json::object& obj, std::string* error) : obj_(obj), error_(error) {}

  const json::object* Object(std::string_view key) {
    const json::value* v = obj_.if_contains(key);
    if (!v) return nullptr;
    if (!v->is_object()) Fail(key, "an object");
    return v->if_object();
  }
  const json::array* Array(std::string_view key) {
    const json::value* v = obj_.if_contains(key);
    if (!v) return nullptr;
    if (!v->is_array()) Fail(key, "an array");
    return v->if_array();
  }
  std::string String(std::string_view key) {
    const json::value* v = obj_.if_contains(key);
    if (!v) return "";
    if (!v->is_string()) {
      Fail(key, "a string");
      return "";
    }
    return std::string(v->get_string());
  }
  bool Bool(std::string_view key) {
    const json::value* v = obj_.if_contains(key);
    if (!v) return false;
    if (!v->is_bool()) {
      Fail(key, "a boolean");
      return false;
    }
    return v->get_bool();
  }
  int64_t Int(std::string_view key, int64_t fallback = 0) {
    const json::value* v = obj_.if_contains(key);
    if (!v) return fallback;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= INT64_MAX)
      return static_cast<int64_t>(v->get_uint64());
    int64_t out = 0;
    if (v->is_string() && absl::SimpleAtoi(AV(v->get_string()), &out)) return out;
    Fail(key, "an integer");
    return fallback;
  }

 private:
  void Fail(std::string_view key, std::string_view want) {
    if (error_->empty()) *error_ = absl::StrCat("field \"", AV(key), "\" is not ", AV(want));
  }
  const json::object& obj_;
  std::string* error_;
};

// "--jobs=4" / "--local_test_jobs=2" on the effective command line; the last one wins.
void NoteJobs(const json::array& cmdline, int* jobs, int* test_jobs) {
  for (const json::value& arg : cmdline) {
    if (!arg.is_string()) continue;
    absl::string_view a = AV(arg.get_string());
    int n = 0;
    if (absl::ConsumePrefix(&a, "--local_test_jobs=") && absl::SimpleAtoi(a, &n)) *test_jobs = n;
    a = AV(arg.get_string());
    if (absl::ConsumePrefix(&a, "--jobs=") && absl::SimpleAtoi(a, &n)) *jobs = n;
  }
}

void NoteProcesses(std::string_view text, ProcessCounts* out) {
  static const std::regex kLine(R"((\d+) processes?: ([^\n]*))");
  std::string s(text);
  for (std::sregex_iterator it(s.begin(), s.end(), kLine), end; it != end; ++it) {
    ProcessCounts counts;
    counts.known = true;
    counts.total = std::stoll((*it)[1].str());
    std::string kinds = (*it)[2].str();
    while (!kinds.empty() && (kinds.back() == '.' || kinds.back() == '\r')) kinds.pop_back();
    for (absl::string_view part : absl::StrSplit(kinds, ',')) {
      part = absl::StripAsciiWhitespace(part);
      const size_t space = part.find(' ');
      int64_t n = 0;
      if (space == std::string_view::npos || !absl::SimpleAtoi(part.substr(0, space), &n)) continue;
      counts.by_kind[std::string(part.substr(space + 1))] += n;
    }
    *out = std::move(counts);
  }
}

absl::Status ParseEvent(const json::object& event, BuildEvents* out, int* jobs, int* test_jobs) {
  std::string error;
  Fields top(event, &error);
  const json::object* id_obj = top.Object("id");
  if (!id_obj) return absl::InvalidArgumentError(error.empty() ? "event has no \"id\"" : error);
  Fields id(*id_obj, &error);

  if (const json::object* tid_obj = id.Object("testResult")) {
    Fields tid(*tid_obj, &error);
    TestAction t;
    t.label = tid.String("label");
    t.run = static_cast<int>(tid.Int("run", 1));
    t.shard = static_cast<int>(tid.Int("shard", 1));
    t.attempt = static_cast<int>(tid.Int("attempt", 1));
    if (const json::object* body = top.Object("testResult")) {
      Fields r(*body, &error);
      t.status = r.String("status");
      t.cached_locally = r.Bool("cachedLocally");
      t.start_ms = r.Int("testAttemptStartMillisEpoch");
      t.duration_ms = r.Int("testAttemptDurationMillis");
      if (const json::object* info = r.Object("executionInfo")) {
        Fields e(*info, &error);
        t.strategy = e.String("strategy");
        t.cached_remotely = e.Bool("cachedRemotely");
      }
      if (const json::array* outputs = r.Array("testActionOutput")) {
        for (const json::value& o : *outputs) {
          if (!o.is_object())
            return absl::InvalidArgumentError("testActionOutput entry is not an object");
          Fields f(o.get_object(), &error);
          const std::string name = f.String("name");
          if (name == "test.xml") t.xml_path = FileUriToPath(f.String("uri"));
          if (name == "test.log") t.log_path = FileUriToPath(f.String("uri"));
        }
      }
    }
    if (t.label.empty() && error.empty()) error = "testResult without a label";
    if (!error.empty()) return absl::InvalidArgumentError(error);
    out->tests.push_back(std::move(t));
  } else if (const json::object* sid = id.Object("testSummary")) {
    std::string label = Fields(*sid, &error).String("label");
    if (const json::object* body = top.Object("testSummary")) {
      out->shard_count_by_label[label] =
          static_cast<int>(Fields(*body, &error).Int("shardCount", 1));
    }
  } else if (id.Object("started")) {
    if (const json::object* body = top.Object("started")) {
      out->start_ms = Fields(*body, &error).Int("startTimeMillis");
    }
  } else if (id.Object("buildFinished")) {
    if (const json::object* body = top.Object("finished")) {
      out->finish_ms = Fields(*body, &error).Int("finishTimeMillis");
    }
  } else if (id.Object("optionsParsed")) {
    if (const json::object* body = top.Object("optionsParsed")) {
      if (const json::array* cmd = Fields(*body, &error).Array("cmdLine")) {
        NoteJobs(*cmd, jobs, test_jobs);
      }
    }
  } else if (id.Object("progress")) {
    if (const json::object* body = top.Object("progress")) {
      Fields p(*body, &error);
      NoteProcesses(p.String("stderr"), &out->processes);
      NoteProcesses(p.String("stdout"), &out->processes);
    }
  }
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return absl::OkStatus();
}

}  // namespace

std::string FileUriToPath(std::string_view uri) {
  if (uri.substr(0, 7) != "file://") return "";
  uri.remove_prefix(7);
  std::string path;
  for (size_t i = 0; i < uri.size(); ++i) {
    int byte = 0;
    if (uri[i] == '%' && i + 2 < uri.size() &&
        std::from_chars(uri.data() + i + 1, uri.data() + i + 3, byte, 16).ptr ==
            uri.data() + i + 3) {
      path.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      path.push_back(uri[i]);
    }
  }
  return path;
}

absl::StatusOr<BuildEvents> ParseBuildEvents(std::string_view text) {
  BuildEvents out;
  int jobs = 0, test_jobs = 0;
  std::vector<absl::string_view> lines = absl::StrSplit(AV(text), '\n');
  // A file that ends in a newline has an empty last element.
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = absl::StripAsciiWhitespace(lines[i]);
    if (line.empty()) continue;
    const bool last = i + 1 == lines.size();
    boost::system::error_code ec;
    json::value value = json::parse(json::string_view(line.data(), line.size()), ec);
    if (ec || !value.is_object()) {
      if (last && !text.empty() && text.back() != '\n') {
        out.warnings.push_back(
            absl::StrCat("line ", i + 1, " is incomplete (interrupted run?); ignored"));
        break;
      }
      return absl::InvalidArgumentError(
          absl::StrCat("build event file line ", i + 1, ": ",
                       ec ? "not JSON (" + ec.message() + ")" : "not a JSON object", ": \"",
                       line.substr(0, 80), line.size() > 80 ? "...\"" : "\""));
    }
    absl::Status s = ParseEvent(value.get_object(), &out, &jobs, &test_jobs);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("build event file line ", i + 1, ": ", s.message()));
    }
  }
  out.jobs = test_jobs > 0 ? test_jobs : jobs;
  return out;
}

}  // namespace marketpipe::test_timing
