#include "marketpipe/providers/alpaca/bars_parser.h"

#include <simdjson.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/core/civil_date.h"
#include "marketpipe/core/price.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_format.h"

namespace marketpipe::alpaca {
namespace {

using simdjson::ondemand::json_type;

std::string TypeName(json_type t) {
  switch (t) {
    case json_type::array:
      return "array";
    case json_type::object:
      return "object";
    case json_type::number:
      return "number";
    case json_type::string:
      return "string";
    case json_type::boolean:
      return "boolean";
    case json_type::null:
      return "null";
  }
  return "unknown";
}

// Two ASCII digits at s.
inline bool TwoDigits(const char* s, int* out) {
  const unsigned a = static_cast<unsigned>(s[0] - '0'), b = static_cast<unsigned>(s[1] - '0');
  *out = static_cast<int>(a * 10 + b);
  return a <= 9 && b <= 9;
}

// "2024-01-02" -> days since the epoch. int64 nanoseconds end in 2262: later years go to the
// general parser, which says so.
inline bool FastDate(const char* s, int64_t* days) {
  int c, yy, mo, d;
  if (s[4] != '-' || s[7] != '-' || !TwoDigits(s, &c) || !TwoDigits(s + 2, &yy) ||
      !TwoDigits(s + 5, &mo) || !TwoDigits(s + 8, &d)) {
    return false;
  }
  const int year = c * 100 + yy;
  if (year < 1970 || year > 2261 || mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(year, mo)) {
    return false;
  }
  *days = DaysFromCivil(year, mo, d);
  return true;
}

// "T14:30:00Z" -> seconds into the day.
inline bool FastTimeOfDay(const char* s, int64_t* seconds) {
  int h, mi, se;
  if (s[0] != 'T' || s[3] != ':' || s[6] != ':' || s[9] != 'Z' || !TwoDigits(s + 1, &h) ||
      !TwoDigits(s + 4, &mi) || !TwoDigits(s + 7, &se) || h > 23 || mi > 59 || se > 59) {
    return false;
  }
  *seconds = (h * 60 + mi) * 60 + se;
  return true;
}

constexpr int64_t kNanosPerDay = int64_t{86'400} * 1'000'000'000;

// The shape Alpaca sends for every bar, "2024-01-02T14:30:00Z", without the general parser.
bool FastRfc3339(std::string_view s, int64_t* ns) {
  int64_t days, seconds;
  if (s.size() != 20 || !FastDate(s.data(), &days) || !FastTimeOfDay(s.data() + 10, &seconds)) {
    return false;
  }
  *ns = days * kNanosPerDay + seconds * 1'000'000'000;
  return true;
}

// Reads a plain JSON decimal (-?(0|[1-9][0-9]{0,13})(\.[0-9]+)?) from [p, end) into exact 1e-4
// units, more than 4 decimals rounded half up on the magnitude like Price::Parse's lenient mode.
// Returns one past it, or nullptr when the text needs the general path (leading zero that
// simdjson rejects, more than 14 integer digits, no digits). It stops at anything else, e.g. the
// 'e' of an exponent: callers take the number only when what follows is what they expect. Not
// Price::Parse itself: that costs 30 % of the page parse (measured: 4.6 vs 6.5 M bars/s) for checks
// JSON already makes.
inline const char* ScanPriceUnits(const char* p, const char* end, int64_t* units) {
  // A negative price is kept (validation reports it as non-positive), never dropped here.
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  const char* const first = p;
  int64_t whole = 0;
  while (p < end && static_cast<unsigned>(*p - '0') <= 9) {
    whole = whole * 10 + (*p++ - '0');
    if (p - first > 14) return nullptr;
  }
  if (p == first) return nullptr;
  if (p - first > 1 && *first == '0') return nullptr;  // "01" is not JSON
  int64_t frac = 0;
  int frac_digits = 0;
  bool round_up = false;  // half up: only the first dropped digit decides
  if (p < end && *p == '.') {
    const char* const dot = p++;
    for (; frac_digits < 4 && p < end && static_cast<unsigned>(*p - '0') <= 9; ++p, ++frac_digits) {
      frac = frac * 10 + (*p - '0');
    }
    if (frac_digits == 4 && p < end && static_cast<unsigned>(*p - '0') <= 9) {
      round_up = *p >= '5';
      while (p < end && static_cast<unsigned>(*p - '0') <= 9) ++p;
    }
    if (p == dot + 1) return nullptr;
  }
  static constexpr int64_t kScale[] = {10000, 1000, 100, 10, 1};
  const int64_t magnitude = whole * Price::kUnitsPerWhole + frac * kScale[frac_digits] + round_up;
  *units = negative ? -magnitude : magnitude;
  return p;
}

// A raw JSON token (with the whitespace simdjson leaves after it) that is a plain decimal.
bool FastPriceUnits(std::string_view t, int64_t* units) {
  while (!t.empty() &&
         (t.back() == ' ' || t.back() == '\n' || t.back() == '\r' || t.back() == '\t')) {
    t.remove_suffix(1);
  }
  const char* end = t.data() + t.size();
  const char* stop = ScanPriceUnits(t.data(), end, units);
  return stop != nullptr && stop == end;
}

// Reads 1 to 18 plain digits (no sign, no leading zero: up to 18 cannot overflow int64) from
// [p, end). Returns one past them, or nullptr when the general path must decide.
inline const char* ScanCount(const char* p, const char* end, int64_t* out) {
  const char* const first = p;
  int64_t n = 0;
  while (p < end && p - first < 18 && static_cast<unsigned>(*p - '0') <= 9) {
    n = n * 10 + (*p++ - '0');
  }
  if (p == first || (p - first > 1 && *first == '0')) return nullptr;
  *out = n;
  return p;
}

// Bars come in time order, so consecutive bars mostly share a date: parse each date once.
struct LastDate {
  char text[10];
  int64_t days = -1;  // none yet
};

// Alpaca's bar exactly as it sends it: compact, its keys in its order, plain numbers, e.g.
//   {"t":"2024-01-02T14:30:00Z","o":187.15,"h":187.235,"l":186.9,"c":187.0001,"v":120345,
//    "n":1523,"vw":187.1022}
// read straight from the bytes at `p` (`end`: the end of the document). Fills `bar` and returns
// one past its '}', or nullptr for anything else (whitespace, another key order, another or an
// escaped key, an exponent, a negative count, another time format, ...): the general field loop
// then parses the bar. Both give the same Bar for every bar this accepts (bars_page_fuzzer
// checks). Hand-written for speed, measured with alpaca_parse_bench (-c opt, quiet machine, one
// run, load 0.5-1.1): fresh_body 7.2 M bars/s with it vs 3.3 M with every bar through the field
// loop (general_path/fresh_body), which stalls on copies of simdjson's iterator; target 5 M.
const char* ScanAlpacaBar(const char* p, const char* end, LastDate* date, Bar* bar) {
  auto expect = [&](std::string_view text) {
    if (end - p < static_cast<ptrdiff_t>(text.size()) ||
        std::memcmp(p, text.data(), text.size()) != 0) {
      return false;
    }
    p += text.size();
    return true;
  };
  auto price = [&](std::string_view key, Price* out) {
    int64_t units;
    if (!expect(key) || !(p = ScanPriceUnits(p, end, &units))) return false;
    *out = Price::FromUnits(units);
    return true;
  };
  auto count = [&](std::string_view key, int64_t* out) {
    return expect(key) && (p = ScanCount(p, end, out)) != nullptr;
  };
  if (!expect(R"({"t":")") || end - p < 21 || p[20] != '"') return nullptr;
  int64_t seconds;
  if (date->days < 0 || std::memcmp(p, date->text, sizeof date->text) != 0) {
    if (!FastDate(p, &date->days)) {
      date->days = -1;
      return nullptr;
    }
    std::memcpy(date->text, p, sizeof date->text);
  }
  if (!FastTimeOfDay(p + 10, &seconds)) return nullptr;
  bar->ts_ns = date->days * kNanosPerDay + seconds * 1'000'000'000;
  p += 21;
  if (!price(R"(,"o":)", &bar->open) || !price(R"(,"h":)", &bar->high) ||
      !price(R"(,"l":)", &bar->low) || !price(R"(,"c":)", &bar->close) ||
      !count(R"(,"v":)", &bar->volume) || !count(R"(,"n":)", &bar->trade_count) ||
      !price(R"(,"vw":)", &bar->vwap) || !expect("}")) {
    return nullptr;
  }
  return p;
}

class PageParser {
 public:
  PageParser(std::string_view page, bool fast_bar_path)
      : page_(page), fast_bar_path_(fast_bar_path) {}

  absl::StatusOr<BarsPage> Parse(std::string_view body) {
    simdjson::padded_string padded(body);
    return Parse(simdjson::padded_string_view(padded));
  }

  absl::StatusOr<BarsPage> Parse(simdjson::padded_string_view padded) {
    const std::string_view body(padded.data(), padded.length());
    end_ = body.data() + body.size();
    // A bar is ~100 bytes of JSON: reserve once instead of growing through ~14 reallocations.
    page_out_.bars.reserve(body.size() / 96);
    simdjson::ondemand::document doc;
    if (auto err = Parser().iterate(padded).get(doc)) return JsonError("", err);
    simdjson::ondemand::object root;
    if (auto err = doc.get_object().get(root)) {
      if (err != simdjson::INCORRECT_TYPE) return JsonError("", err);
      return Invalid("", "expected a JSON object at the top level");
    }
    bool saw_bars = false;
    for (auto field_result : root) {
      simdjson::ondemand::field field;
      if (auto err = std::move(field_result).get(field)) return JsonError("", err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return JsonError("", err);
      if (key == "bars") {
        saw_bars = true;
        if (auto s = ParseBars(field.value()); !s.ok()) return s;
      } else if (key == "next_page_token") {
        simdjson::ondemand::value v = field.value();
        json_type type;
        if (auto err = v.type().get(type)) return JsonError("next_page_token", err);
        if (type == json_type::string) {
          std::string_view token;
          if (auto err = v.get_string().get(token)) return JsonError("next_page_token", err);
          if (!token.empty()) page_out_.next_page_token = std::string(token);
        } else if (type != json_type::null) {
          return Invalid("next_page_token", "expected a string or null, got " + TypeName(type));
        }
      }
      // Other top-level fields ("symbol", "currency", ...) are ignored.
    }
    if (!saw_bars) return Invalid("bars", "missing");
    return std::move(page_out_);
  }

 private:
  absl::Status ParseBars(simdjson::ondemand::value bars) {
    json_type type;
    if (auto err = bars.type().get(type)) return JsonError("bars", err);
    if (type == json_type::null) return absl::OkStatus();
    if (type == json_type::object) {
      simdjson::ondemand::object by_symbol;
      if (auto err = bars.get_object().get(by_symbol)) return JsonError("bars", err);
      for (auto entry_result : by_symbol) {
        simdjson::ondemand::field entry;
        if (auto err = std::move(entry_result).get(entry)) return JsonError("bars", err);
        std::string_view key;
        if (auto err = entry.unescaped_key().get(key)) return JsonError("bars", err);
        path_ = "bars[\"" + std::string(key) + "\"]";
        auto symbol = Symbol::Parse(key);
        if (!symbol.ok()) return Invalid(path_, std::string(symbol.status().message()));
        Bar next;  // the fast path's bar; the symbol is set once per list
        next.symbol = *symbol;
        LastDate last_date;
        simdjson::ondemand::array list;
        simdjson::ondemand::value list_value = entry.value();
        if (auto s = ExpectType(list_value, json_type::array, path_); !s.ok()) return s;
        if (auto err = list_value.get_array().get(list)) return JsonError(path_, err);
        size_t index = 0;
        for (auto bar_result : list) {
          simdjson::ondemand::value bar_value;
          if (auto err = std::move(bar_result).get(bar_value)) return JsonError(path_, err);
          // The fast path only reads: the array iterator skips the unconsumed bar afterwards.
          if (fast_bar_path_ &&
              ScanAlpacaBar(bar_value.raw_json_token().data(), end_, &last_date, &next)) {
            page_out_.bars.push_back(next);
            ++index;
            continue;
          }
          if (auto s = ParseBar(bar_value, &*symbol, index++); !s.ok()) return s;
        }
      }
      return absl::OkStatus();
    }
    if (type == json_type::array) {
      simdjson::ondemand::array list;
      if (auto err = bars.get_array().get(list)) return JsonError("bars", err);
      path_ = "bars";
      size_t index = 0;
      for (auto bar_result : list) {
        simdjson::ondemand::value bar_value;
        if (auto err = std::move(bar_result).get(bar_value)) return JsonError("bars", err);
        if (auto s = ParseBar(bar_value, nullptr, index++); !s.ok()) return s;
      }
      return absl::OkStatus();
    }
    return Invalid("bars", "expected an object, an array or null, got " + TypeName(type));
  }

  // Where a value sits, formatted only when an error is reported (the hot path allocates nothing).
  struct Loc {
    const std::string* path;
    size_t index;
    const char* field;  // nullptr: the bar itself
    std::string str() const {
      std::string s = *path + "[" + std::to_string(index) + "]";
      if (field) s.append(".").append(field);
      return s;
    }
  };

  absl::Status ParseBar(simdjson::ondemand::value value, const Symbol* symbol, size_t index) {
    const Loc where{&path_, index, nullptr};
    if (auto s = ExpectType(value, json_type::object, where); !s.ok()) return s;
    simdjson::ondemand::object obj;
    if (auto err = value.get_object().get(obj)) return JsonError(where.str(), err);
    Bar bar;
    if (symbol) bar.symbol = *symbol;
    enum : unsigned {
      kT = 1,
      kO = 2,
      kH = 4,
      kL = 8,
      kC = 16,
      kV = 32,
      kN = 64,
      kVw = 128,
      kS = 256
    };
    unsigned seen = 0;
    for (auto field_result : obj) {
      simdjson::ondemand::field field;
      if (auto err = std::move(field_result).get(field)) return JsonError(where.str(), err);
      // Keys are one or two ASCII letters: dispatch on the raw bytes (no unescaping needed;
      // an escaped key simply matches nothing and is ignored like any unknown field).
      const char* k = field.key().raw();
      const char k0 = k[0];
      const bool one = k[1] == '"';
      // A reference, not a copy: copying the iterator state stalls store forwarding (measured).
      simdjson::ondemand::value& v = field.value();
      absl::Status s;
      if (one) {
        switch (k0) {
          case 't':
            s = ParseTime(v, where, &bar.ts_ns);
            seen |= kT;
            break;
          case 'o':
            s = ParsePrice(v, where, "o", &bar.open);
            seen |= kO;
            break;
          case 'h':
            s = ParsePrice(v, where, "h", &bar.high);
            seen |= kH;
            break;
          case 'l':
            s = ParsePrice(v, where, "l", &bar.low);
            seen |= kL;
            break;
          case 'c':
            s = ParsePrice(v, where, "c", &bar.close);
            seen |= kC;
            break;
          case 'v':
            s = ParseCount(v, where, "v", &bar.volume);
            seen |= kV;
            break;
          case 'n':
            s = ParseCount(v, where, "n", &bar.trade_count);
            seen |= kN;
            break;
          case 'S':
            if (!symbol) {
              s = ParseSymbol(v, where, &bar.symbol);
              seen |= kS;
            }
            break;
          default:
            break;
        }
      } else if (k0 == 'v' && k[1] == 'w' && k[2] == '"') {
        s = ParsePrice(v, where, "vw", &bar.vwap);
        seen |= kVw;
      }
      if (!s.ok()) return s;
    }
    static constexpr struct {
      unsigned bit;
      const char* name;
    } kRequired[] = {{kT, "t"}, {kO, "o"}, {kH, "h"}, {kL, "l"},
                     {kC, "c"}, {kV, "v"}, {kN, "n"}, {kVw, "vw"}};
    for (const auto& r : kRequired) {
      if (!(seen & r.bit)) return Invalid(Loc{&path_, index, r.name}.str(), "missing");
    }
    if (!symbol && !(seen & kS)) return Invalid(Loc{&path_, index, "S"}.str(), "missing");
    page_out_.bars.push_back(std::move(bar));
    return absl::OkStatus();
  }

  absl::Status ParseTime(simdjson::ondemand::value& v, Loc where, int64_t* ns) {
    where.field = "t";
    std::string_view text;
    if (auto s = ExpectType(v, json_type::string, where); !s.ok()) return s;
    if (auto err = v.get_string().get(text)) return JsonError(where.str(), err);
    if (FastRfc3339(text, ns)) return absl::OkStatus();
    auto parsed = ParseRfc3339(text);
    if (!parsed.ok()) return Invalid(where.str(), std::string(parsed.status().message()));
    *ns = *parsed;
    return absl::OkStatus();
  }

  absl::Status ParsePrice(simdjson::ondemand::value& v, Loc where, const char* name, Price* out) {
    where.field = name;
    // Fast path: a plain decimal token is a number by construction (no type query needed).
    std::string_view token = v.raw_json_token();
    int64_t units;
    if (FastPriceUnits(token, &units)) {
      *out = Price::FromUnits(units);
      return absl::OkStatus();
    }
    if (auto s = ExpectType(v, json_type::number, where); !s.ok()) return s;
    double d;
    if (auto err = v.get_double().get(d)) return JsonError(where.str(), err);
    auto price = Price::FromDouble(d);
    if (!price.ok()) return Invalid(where.str(), std::string(price.status().message()));
    *out = *price;
    return absl::OkStatus();
  }

  absl::Status ParseCount(simdjson::ondemand::value& v, Loc where, const char* name, int64_t* out) {
    where.field = name;
    {
      // Fast path: plain digits followed by the end of the token.
      const std::string_view t = v.raw_json_token();
      const char* end = t.data() + t.size();
      int64_t n;
      const char* p = ScanCount(t.data(), end, &n);
      if (p && (p == end || *p == ',' || *p == '}' || *p == ']' || *p == ' ' || *p == '\n' ||
                *p == '\r' || *p == '\t')) {
        *out = n;
        return absl::OkStatus();
      }
    }
    if (auto s = ExpectType(v, json_type::number, where); !s.ok()) return s;
    int64_t n;
    auto err = v.get_int64().get(n);
    if (err) {
      std::string token(v.raw_json_token());
      while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
        token.pop_back();
      }
      const bool digits = !token.empty() && token.find_first_not_of("-0123456789") == token.npos;
      return Invalid(where.str(), digits ? "integer out of range: " + token
                                         : "expected an integer, got " + token);
    }
    // A negative volume is kept for validation to report ("negative volume"); a negative
    // trade count has no such use and is malformed data.
    if (n < 0 && std::string_view(name) != "v") {
      return Invalid(where.str(), absl::StrCat("negative count ", n));
    }
    *out = n;
    return absl::OkStatus();
  }

  absl::Status ParseSymbol(simdjson::ondemand::value& v, Loc where, Symbol* out) {
    where.field = "S";
    if (auto s = ExpectType(v, json_type::string, where); !s.ok()) return s;
    std::string_view text;
    if (auto err = v.get_string().get(text)) return JsonError(where.str(), err);
    auto symbol = Symbol::Parse(text);
    if (!symbol.ok()) return Invalid(where.str(), std::string(symbol.status().message()));
    *out = *std::move(symbol);
    return absl::OkStatus();
  }

  template <class Where>
  absl::Status ExpectType(simdjson::ondemand::value& v, json_type want, const Where& where) {
    json_type type;
    if (auto err = v.type().get(type)) return JsonError(LocString(where), err);
    if (type != want) {
      const std::string name = TypeName(want);
      const bool vowel = name[0] == 'a' || name[0] == 'o';
      return Invalid(LocString(where), absl::StrCat("expected ", vowel ? "an " : "a ", name,
                                                    ", got ", TypeName(type)));
    }
    return absl::OkStatus();
  }

  static std::string LocString(const Loc& l) { return l.str(); }
  static std::string LocString(const std::string& s) { return s; }

  absl::Status Invalid(std::string_view where, std::string_view what) const {
    std::string text = page_ + ": ";
    if (!where.empty()) text.append(where).append(": ");
    text.append(what);
    return absl::InvalidArgumentError(text);
  }

  absl::Status JsonError(std::string_view where, simdjson::error_code err) const {
    std::string text = page_ + ": malformed JSON";
    if (!where.empty()) text.append(" at ").append(where);
    text.append(": ").append(simdjson::error_message(err));
    return absl::DataLossError(text);
  }

  // One parser per thread, reused: its buffers grow to the largest page seen and stay, so a page
  // costs no allocation or page faults for the structural index.
  static simdjson::ondemand::parser& Parser() {
    thread_local simdjson::ondemand::parser parser;
    return parser;
  }

  std::string page_;
  const bool fast_bar_path_;
  const char* end_ = nullptr;  // of the document
  std::string path_;
  BarsPage page_out_;
};

}  // namespace

absl::StatusOr<BarsPage> ParseBarsPage(std::string_view body, std::string_view page) {
  PageParser parser(page, /*fast_bar_path=*/true);
  return parser.Parse(body);
}

absl::StatusOr<BarsPage> ParseBarsPage(std::string* body, std::string_view page) {
  return internal::ParseBarsPage(body, page, /*fast_bar_path=*/true);
}

namespace internal {

absl::StatusOr<BarsPage> ParseBarsPage(std::string* body, std::string_view page,
                                       bool fast_bar_path) {
  body->reserve(body->size() + simdjson::SIMDJSON_PADDING);
  PageParser parser(page, fast_bar_path);
  return parser.Parse(simdjson::padded_string_view(*body));
}

bool FastPathTakesBar(std::string_view bar_json) {
  LastDate date;
  Bar bar;
  const char* end = bar_json.data() + bar_json.size();
  return ScanAlpacaBar(bar_json.data(), end, &date, &bar) == end;
}

}  // namespace internal
}  // namespace marketpipe::alpaca
