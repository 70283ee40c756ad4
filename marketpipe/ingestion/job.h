#ifndef MARKETPIPE_INGESTION_JOB_H_
#define MARKETPIPE_INGESTION_JOB_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"

namespace marketpipe::ingestion {

// The rules of an ingestion job (DESIGN.md, "ingestion"), its deterministic id and its shards.

// At most this many symbols per job, and at most this long a range.
inline constexpr int kMaxSymbolsPerJob = 1000;
inline constexpr int64_t kMaxRangeNanos = int64_t{30} * 86400 * 1'000'000'000;

// Shard `index` of `count` (0 <= index < count): the symbols whose stable hash is index mod
// count. {0, 1} is the whole job.
struct Shard {
  int index = 0;
  int count = 1;
  friend bool operator==(const Shard&, const Shard&) = default;
};

// "i/n" with 0 <= i < n <= 1000, e.g. "0/3", "2/3". INVALID_ARGUMENT naming the quoted text
// otherwise.
absl::StatusOr<Shard> ParseShard(std::string_view text);
// "i/n".
std::string ShardName(Shard shard);

// What one job fetches: symbols x range x timeframe, restricted to one shard.
struct JobSpec {
  std::vector<Symbol> symbols;
  TimeRange range;
  Timeframe timeframe;
  Shard shard;
};

// The rules, checked on the whole (unsharded) symbol list: 1..1000 symbols, none empty, no
// duplicate; a non-empty range of at most 30 days whose start is not after `now_unix_ns`; a
// valid shard. INVALID_ARGUMENT with a one-line reason naming the offending value.
absl::Status CheckJobRules(const JobSpec& spec, int64_t now_unix_ns);

// A job id given by the user: 1..128 characters of [A-Za-z0-9._-]. INVALID_ARGUMENT otherwise.
absl::Status CheckJobId(std::string_view id);

// The id of a job that was given none: "job-" + 16 hex digits of the SHA-256 of the provider,
// feed, sorted symbols, range, timeframe and shard. Equal specs (in any symbol order) give
// equal ids, in every process and on every machine, so rerunning a command resumes its job.
std::string DeriveJobId(std::string_view provider, std::string_view feed, const JobSpec& spec);

// The shard (0..count-1) that owns `symbol`: a stable hash (SHA-256) of its text mod count.
int ShardOfSymbol(const Symbol& symbol, int count);

// The sorted symbols of `symbols` that belong to `shard`.
std::vector<Symbol> SymbolsOfShard(const std::vector<Symbol>& symbols, Shard shard);

}  // namespace marketpipe::ingestion

#endif  // MARKETPIPE_INGESTION_JOB_H_
