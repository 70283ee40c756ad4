#include "marketpipe/ingestion/job.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "marketpipe/core/time_format.h"

namespace marketpipe::ingestion {
namespace {

constexpr int kMaxShards = 1000;

std::array<unsigned char, 32> Sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  // One-shot EVP digest: SHA-256 is the stable hash (the same bytes on every machine).
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return digest;
}

bool ParseInt(std::string_view text, int& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

absl::StatusOr<Shard> ParseShard(std::string_view text) {
  const size_t slash = text.find('/');
  Shard shard;
  if (slash == std::string_view::npos || !ParseInt(text.substr(0, slash), shard.index) ||
      !ParseInt(text.substr(slash + 1), shard.count)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shard \"", std::string(text), "\" is not i/n (e.g. 0/3: the first of three shards)"));
  }
  if (shard.count < 1 || shard.count > kMaxShards || shard.index < 0 ||
      shard.index >= shard.count) {
    return absl::InvalidArgumentError(absl::StrCat("shard \"", std::string(text),
                                                   "\" needs 0 <= i < n <= ", kMaxShards,
                                                   " (shards count from 0)"));
  }
  return shard;
}

std::string ShardName(Shard shard) { return absl::StrCat(shard.index, "/", shard.count); }

absl::Status CheckJobRules(const JobSpec& spec, int64_t now_unix_ns) {
  if (spec.symbols.empty()) return absl::InvalidArgumentError("a job needs at least one symbol");
  if (spec.symbols.size() > static_cast<size_t>(kMaxSymbolsPerJob)) {
    return absl::InvalidArgumentError(absl::StrCat("a job takes at most ", kMaxSymbolsPerJob,
                                                   " symbols, got ", spec.symbols.size()));
  }
  absl::flat_hash_set<std::string> seen;
  for (const Symbol& symbol : spec.symbols) {
    if (symbol.empty()) return absl::InvalidArgumentError("a job's symbol is empty");
    if (!seen.insert(symbol.value()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("symbol ", symbol.value(), " is listed twice"));
    }
  }
  if (spec.range.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the range ", spec.range.ToString(), " is empty (end must be after start)"));
  }
  if (spec.range.duration_ns() > kMaxRangeNanos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the range ", spec.range.ToString(), " is longer than 30 days"));
  }
  if (spec.range.start_ns() > now_unix_ns) {
    return absl::InvalidArgumentError(
        absl::StrCat("the range starts in the future (", FormatRfc3339(spec.range.start_ns()),
                     " is after now, ", FormatRfc3339(now_unix_ns), ")"));
  }
  if (spec.shard.count < 1 || spec.shard.count > kMaxShards || spec.shard.index < 0 ||
      spec.shard.index >= spec.shard.count) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard ", ShardName(spec.shard), " needs 0 <= i < n <= ", kMaxShards));
  }
  return absl::OkStatus();
}

absl::Status CheckJobId(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat("job id \"",
                                                   absl::CHexEscape(std::string(id.substr(0, 140))),
                                                   "\" must have 1 to 128 characters"));
  }
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("job id \"", absl::CHexEscape(std::string(id)),
                       "\" may only hold letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

std::string DeriveJobId(std::string_view provider, std::string_view feed, const JobSpec& spec) {
  std::vector<std::string> symbols;
  symbols.reserve(spec.symbols.size());
  for (const Symbol& symbol : spec.symbols) symbols.push_back(symbol.value());
  std::sort(symbols.begin(), symbols.end());
  // Fields are separated by a byte no field can hold, so distinct specs never collide by
  // concatenation.
  const std::string canonical = absl::StrCat(
      "v1\n", std::string(provider), "\n", std::string(feed), "\n", absl::StrJoin(symbols, ","),
      "\n", spec.range.start_ns(), "\n", spec.range.end_ns(), "\n", spec.timeframe.ToString(), "\n",
      ShardName(spec.shard));
  const auto digest = Sha256(canonical);
  return absl::StrCat(
      "job-", absl::BytesToHexString(std::string(reinterpret_cast<const char*>(digest.data()), 8)));
}

int ShardOfSymbol(const Symbol& symbol, int count) {
  if (count <= 1) return 0;
  const auto digest = Sha256(symbol.value());
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | digest[i];
  return static_cast<int>(h % static_cast<uint64_t>(count));
}

std::vector<Symbol> SymbolsOfShard(const std::vector<Symbol>& symbols, Shard shard) {
  std::vector<Symbol> out;
  for (const Symbol& symbol : symbols) {
    if (ShardOfSymbol(symbol, shard.count) == shard.index) out.push_back(symbol);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace marketpipe::ingestion
