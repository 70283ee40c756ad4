#include "marketpipe/storage/postgres_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/storage/store_internal.h"

namespace marketpipe::storage {
namespace {

bool IsSchemaName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(absl::ascii_islower(name[0]) || name[0] == '_')) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<PostgresSpec> ParsePostgresSpec(std::string_view spec) {
  constexpr std::string_view kPrefix = "postgres:";
  if (!spec.starts_with(kPrefix)) {
    return absl::InvalidArgumentError(
        internal::Cat("store spec '", spec, "' does not start with postgres:"));
  }
  std::string_view rest = spec.substr(kPrefix.size());
  PostgresSpec parsed;
  // The schema is the last ";schema=" part: a conninfo may itself quote ';' inside a value.
  constexpr std::string_view kSchema = ";schema=";
  if (const size_t at = rest.rfind(kSchema); at != std::string_view::npos) {
    const std::string_view schema = rest.substr(at + kSchema.size());
    if (!IsSchemaName(schema)) {
      return absl::InvalidArgumentError(internal::Cat("store spec '", spec, "': schema '", schema,
                                                      "' must match [a-z_][a-z0-9_]{0,62}"));
    }
    parsed.schema = std::string(schema);
    rest = rest.substr(0, at);
  }
  if (absl::StripAsciiWhitespace(internal::Sv(rest)).empty()) {
    return absl::InvalidArgumentError(internal::Cat(
        "store spec '", spec, "': postgres needs a conninfo (postgres:CONNINFO[;schema=NAME])"));
  }
  parsed.conninfo = std::string(rest);
  return parsed;
}

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresSpec& spec) {
  return absl::UnimplementedError("the PostgreSQL store lands in the next change");
}

}  // namespace marketpipe::storage
