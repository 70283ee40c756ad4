#include "marketpipe/cli/inputs.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/storage/postgres_store.h"

namespace marketpipe::cli {
namespace {

std::string S(std::string_view s) { return std::string(s); }

}  // namespace

std::string WorkingDirectory() {
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  return ec ? "." : cwd.string();
}

std::string ResolvePath(std::string_view path, std::string_view base) {
  const std::filesystem::path p{std::string(path)};
  if (p.is_absolute() || base.empty()) return p.string();
  return (std::filesystem::path(std::string(base)) / p).lexically_normal().string();
}

absl::StatusOr<std::vector<Symbol>> ParseSymbols(std::string_view text,
                                                 std::string_view working_directory) {
  std::string list(text);
  std::string source = "--symbols";
  if (text.starts_with("@")) {
    const std::string path = ResolvePath(text.substr(1), working_directory);
    std::ifstream in(path);
    if (text.size() == 1 || !in) {
      return absl::InvalidArgumentError(absl::StrCat("--symbols ", S(text), ": cannot read file ",
                                                     path, " (expected @FILE with symbols)"));
    }
    std::ostringstream content;
    for (std::string line; std::getline(in, line);) {
      content << line.substr(0, line.find('#')) << '\n';
    }
    list = content.str();
    source = absl::StrCat("--symbols ", S(text));
  }
  std::vector<Symbol> symbols;
  std::set<Symbol> seen;
  for (const std::string& item : std::vector<std::string>(
           absl::StrSplit(list, absl::ByAnyChar(", \t\r\n"), absl::SkipEmpty()))) {
    absl::StatusOr<Symbol> symbol = Symbol::Parse(item);
    if (!symbol.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": invalid symbol \"", item,
          "\" (allowed: 1-10 characters, an uppercase letter then A-Z 0-9 or '.', e.g. BRK.B)"));
    }
    if (!seen.insert(*symbol).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": duplicate symbol \"", item, "\" (each symbol once)"));
    }
    symbols.push_back(*std::move(symbol));
  }
  if (symbols.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no symbols (expected e.g. AAPL,MSFT or @FILE)"));
  }
  return symbols;
}

absl::StatusOr<int64_t> ParseInstant(std::string_view flag, std::string_view text) {
  absl::StatusOr<int64_t> ns = text.size() == 10 ? ParseIsoDate(text) : ParseRfc3339(text);
  if (!ns.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(S(flag), ": invalid date \"", S(text),
                     "\" (expected YYYY-MM-DD, or an RFC 3339 time such as 2024-01-02T14:30:00Z)"));
  }
  return *ns;
}

absl::StatusOr<std::vector<Timeframe>> ParseTimeframes(std::string_view text) {
  std::vector<Timeframe> out;
  for (const std::string& item : std::vector<std::string>(absl::StrSplit(std::string(text), ','))) {
    absl::StatusOr<Timeframe> tf = Timeframe::Parse(item);
    if (!tf.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--timeframe: unknown timeframe \"", item,
                                                     "\" (allowed: 1m 5m 15m 30m 1h 4h 1d)"));
    }
    for (const Timeframe seen : out) {
      if (seen == *tf) {
        return absl::InvalidArgumentError(
            absl::StrCat("--timeframe: duplicate timeframe \"", item, "\""));
      }
    }
    out.push_back(*tf);
  }
  return out;
}

absl::StatusOr<std::string> ResolveStoreSpec(std::string_view text,
                                             std::string_view working_directory) {
  constexpr std::string_view kAllowed = "(allowed: sqlite:PATH or postgres:CONNINFO[;schema=NAME])";
  auto refuse = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--store \"", S(text), "\": ", S(why), " ", S(kAllowed)));
  };
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return refuse("no store kind before a ':'");
  const std::string_view kind = text.substr(0, colon);
  if (kind == "sqlite") {
    const std::string_view path = text.substr(colon + 1);
    if (path.empty()) return refuse("missing file path");
    return absl::StrCat("sqlite:", ResolvePath(path, working_directory));
  }
  if (kind == "postgres") {
    absl::StatusOr<storage::PostgresSpec> spec = storage::ParsePostgresSpec(text);
    if (!spec.ok()) {
      // The storage's reason names the spec and the rule (a missing conninfo, a bad schema).
      return absl::InvalidArgumentError(absl::StrCat("--store: ", spec.status().message()));
    }
    return std::string(text);
  }
  return refuse(absl::StrCat("unknown store kind \"", S(kind), "\""));
}

std::optional<std::string> SqlitePath(std::string_view resolved_spec) {
  if (!resolved_spec.starts_with("sqlite:")) return std::nullopt;
  return std::string(resolved_spec.substr(7));
}

absl::StatusOr<int64_t> ParseIntInRange(std::string_view flag, std::string_view text, int64_t min,
                                        int64_t max) {
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < min ||
      value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        S(flag), ": \"", S(text), "\" is out of range (allowed: integers ", min, "..", max, ")"));
  }
  return value;
}

}  // namespace marketpipe::cli
