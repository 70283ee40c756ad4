#include "marketpipe/cli/query_output.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <charconv>
#include <cmath>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace marketpipe::cli {
namespace {

std::string DoubleText(double d) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, result.ptr);
}

// The value as plain text; nullopt for NULL.
std::optional<std::string> Text(const storage::SqlValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return std::nullopt;
  if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) return DoubleText(*d);
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  return std::get<storage::Decimal>(value).text;
}

bool IsNumber(const storage::SqlValue& value) {
  return std::holds_alternative<int64_t>(value) || std::holds_alternative<double>(value) ||
         std::holds_alternative<storage::Decimal>(value);
}

// A table cell stays on one line: line breaks and tabs are shown escaped.
std::string Cell(const storage::SqlValue& value) {
  std::string out;
  for (const char c : Text(value).value_or("NULL")) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Table(const storage::QueryResult& result) {
  const size_t n = result.columns.size();
  std::vector<size_t> width(n);
  std::vector<bool> right(n, false);
  for (size_t c = 0; c < n; ++c) width[c] = result.columns[c].size();
  for (const auto& row : result.rows) {
    for (size_t c = 0; c < n && c < row.size(); ++c) {
      width[c] = std::max(width[c], Cell(row[c]).size());
      if (IsNumber(row[c])) right[c] = true;
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < n; ++c) {
      const std::string pad(width[c] - cells[c].size(), ' ');
      if (c > 0) out += "  ";
      const bool last = c + 1 == n;
      if (right[c]) {
        absl::StrAppend(&out, pad, cells[c]);
      } else {
        absl::StrAppend(&out, cells[c], last ? "" : pad);
      }
    }
    out += '\n';
    return out;
  };
  std::string out = line(result.columns);
  std::vector<std::string> rule;
  for (size_t c = 0; c < n; ++c) rule.push_back(std::string(width[c], '-'));
  out += line(rule);
  for (const auto& row : result.rows) {
    std::vector<std::string> cells;
    for (size_t c = 0; c < n; ++c) cells.push_back(c < row.size() ? Cell(row[c]) : "");
    out += line(cells);
  }
  absl::StrAppend(&out, "(", result.rows.size(), result.rows.size() == 1 ? " row)\n" : " rows)\n");
  return out;
}

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string Csv(const storage::QueryResult& result) {
  std::string out;
  for (size_t c = 0; c < result.columns.size(); ++c) {
    if (c > 0) out += ',';
    out += CsvField(result.columns[c]);
  }
  out += "\r\n";
  for (const auto& row : result.rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) out += ',';
      out += CsvField(Text(row[c]).value_or(""));
    }
    out += "\r\n";
  }
  return out;
}

std::string JsonString(std::string_view s) {
  return boost::json::serialize(boost::json::string(s.data(), s.size()));
}

std::string JsonValue(const storage::SqlValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return "null";
  if (const auto* s = std::get_if<std::string>(&value)) return JsonString(*s);
  if (const auto* d = std::get_if<double>(&value); d && !std::isfinite(*d)) return "null";
  return *Text(value);  // integers, reals and decimals are valid JSON numbers as printed
}

std::string Json(const storage::QueryResult& result) {
  if (result.rows.empty()) return "[]\n";
  std::string out = "[\n";
  for (size_t r = 0; r < result.rows.size(); ++r) {
    out += "  {";
    const auto& row = result.rows[r];
    for (size_t c = 0; c < row.size() && c < result.columns.size(); ++c) {
      if (c > 0) out += ", ";
      absl::StrAppend(&out, JsonString(result.columns[c]), ": ", JsonValue(row[c]));
    }
    out += r + 1 < result.rows.size() ? "},\n" : "}\n";
  }
  out += "]\n";
  return out;
}

}  // namespace

absl::StatusOr<QueryFormat> ParseQueryFormat(std::string_view text) {
  if (text == "table") return QueryFormat::kTable;
  if (text == "csv") return QueryFormat::kCsv;
  if (text == "json") return QueryFormat::kJson;
  return absl::InvalidArgumentError(absl::StrCat("--format: unknown format \"", std::string(text),
                                                 "\" (allowed: table csv json)"));
}

std::string RenderQueryResult(const storage::QueryResult& result, QueryFormat format) {
  switch (format) {
    case QueryFormat::kTable:
      return Table(result);
    case QueryFormat::kCsv:
      return Csv(result);
    case QueryFormat::kJson:
      return Json(result);
  }
  return "";
}

}  // namespace marketpipe::cli
