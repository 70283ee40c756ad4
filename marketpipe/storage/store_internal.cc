#include "marketpipe/storage/store_internal.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "marketpipe/core/price.h"

namespace marketpipe::storage::internal {
namespace {

// Skips blanks, "-- ..." and "/* ... */" comments (and '(' when `parens`); returns the rest.
std::string_view SkipBlanks(std::string_view sql, bool parens) {
  while (!sql.empty()) {
    const char c = sql.front();
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) || (parens && c == '(')) {
      sql.remove_prefix(1);
    } else if (sql.starts_with("--")) {
      const size_t eol = sql.find('\n');
      sql = eol == std::string_view::npos ? std::string_view() : sql.substr(eol + 1);
    } else if (sql.starts_with("/*")) {
      const size_t end = sql.find("*/", 2);
      sql = end == std::string_view::npos ? std::string_view() : sql.substr(end + 2);
    } else {
      break;
    }
  }
  return sql;
}

std::string Excerpt(std::string_view sql) {
  constexpr size_t kMax = 40;
  std::string text(sql.substr(0, kMax));
  if (sql.size() > kMax) text += "...";
  return Cat("'", text, "'");
}

}  // namespace

absl::Status CheckReadOnlyStart(std::string_view sql) {
  const std::string_view body = SkipBlanks(sql, /*parens=*/true);
  if (body.empty()) return absl::InvalidArgumentError("query is empty");
  size_t word_end = 0;
  while (word_end < body.size() &&
         absl::ascii_isalpha(static_cast<unsigned char>(body[word_end]))) {
    ++word_end;
  }
  const std::string_view word = body.substr(0, word_end);
  for (std::string_view allowed : {"SELECT", "WITH", "VALUES"}) {
    if (absl::EqualsIgnoreCase(Sv(word), Sv(allowed))) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      Cat("query must be one read-only SELECT, WITH or VALUES statement; got ", Excerpt(body)));
}

bool IsOnlyBlanksAndComments(std::string_view tail) {
  while (true) {
    tail = SkipBlanks(tail, /*parens=*/false);
    if (tail.empty()) return true;
    if (tail.front() != ';') return false;
    tail.remove_prefix(1);
  }
}

std::string ProvenanceText(const Provenance& provenance) {
  return Cat("provider=", provenance.provider, " feed=", provenance.feed,
             " adjustment=", provenance.adjustment);
}

absl::Status ProvenanceMismatch(const Symbol& symbol, Timeframe timeframe, const Provenance& stored,
                                const Provenance& incoming) {
  return absl::FailedPreconditionError(Cat("refusing bars of ", symbol.value(), " ",
                                           timeframe.ToString(), " from ", ProvenanceText(incoming),
                                           ": the stored bars of that series are from ",
                                           ProvenanceText(stored), " (series are never mixed)"));
}

absl::Status ValidateProvenance(const Provenance& provenance) {
  if (provenance.provider.empty() || provenance.feed.empty() || provenance.adjustment.empty()) {
    return absl::InvalidArgumentError(Cat(
        "provenance needs a provider, a feed and an adjustment; got ", ProvenanceText(provenance)));
  }
  return absl::OkStatus();
}

absl::Status ValidatePageWrite(const PageWrite& write) {
  if (absl::Status status = ValidateProvenance(write.provenance); !status.ok()) return status;
  for (const Bar& bar : write.bars) {
    if (bar.symbol.empty()) {
      return absl::InvalidArgumentError(Cat("bar at ts_ns=", bar.ts_ns, " has no symbol"));
    }
  }
  if (write.job_id.empty() && !write.checkpoints.empty()) {
    return absl::InvalidArgumentError("checkpoints given without a job id");
  }
  for (const Checkpoint& checkpoint : write.checkpoints) {
    if (checkpoint.symbol.empty()) {
      return absl::InvalidArgumentError(
          Cat("a checkpoint of job '", write.job_id, "' has no symbol"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateJob(const JobRecord& job) {
  if (job.id.empty()) return absl::InvalidArgumentError("job id is empty");
  if (job.symbols.empty()) {
    return absl::InvalidArgumentError(Cat("job '", job.id, "' has no symbols"));
  }
  for (size_t i = 0; i < job.symbols.size(); ++i) {
    if (job.symbols[i].empty()) {
      return absl::InvalidArgumentError(Cat("job '", job.id, "' has an empty symbol"));
    }
    if (i > 0 && !(job.symbols[i - 1] < job.symbols[i])) {
      return absl::InvalidArgumentError(
          Cat("job '", job.id, "': symbols must be sorted and unique; ", job.symbols[i - 1].value(),
              " comes before ", job.symbols[i].value()));
    }
  }
  if (job.range.empty()) {
    return absl::InvalidArgumentError(Cat("job '", job.id, "' has an empty range"));
  }
  return ValidateProvenance(job.provenance);
}

absl::Status ValidateQueryLimit(int64_t limit) {
  if (limit < 0) {
    return absl::InvalidArgumentError(Cat("query limit must be >= 0; got ", limit));
  }
  return absl::OkStatus();
}

std::string UnitsText(int64_t units) { return Price::FromUnits(units).ToString(); }

int64_t NowUnixNs() { return absl::GetCurrentTimeNanos(); }

absl::Status DuplicateRunningJob(std::string_view id, std::string_view other) {
  return absl::FailedPreconditionError(
      Cat("job '", id, "' cannot start: job '", other,
          "' is RUNNING over the same symbols, timeframe and an overlapping range"));
}

absl::Status JobNotFound(std::string_view id) {
  return absl::NotFoundError(Cat("job '", id, "' not found"));
}

}  // namespace marketpipe::storage::internal
