#ifndef MARKETPIPE_STORAGE_POSTGRES_STORE_H_
#define MARKETPIPE_STORAGE_POSTGRES_STORE_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "marketpipe/storage/store.h"

namespace marketpipe::storage {

// The schema version this binary writes (the `schema_version` table of a PostgresStore schema).
inline constexpr int kPostgresSchemaVersion = 1;

// "postgres:<conninfo>[;schema=NAME]" taken apart.
struct PostgresSpec {
  std::string conninfo;  // as libpq takes it: "host=/tmp/x dbname=y" or "postgresql://..."
  std::string schema;    // empty: the connection's current schema
  friend bool operator==(const PostgresSpec&, const PostgresSpec&) = default;
};

// INVALID_ARGUMENT, naming the spec, unless `spec` is "postgres:" followed by a non-empty
// conninfo and optionally ";schema=NAME" with NAME matching [a-z_][a-z0-9_]{0,62}.
absl::StatusOr<PostgresSpec> ParsePostgresSpec(std::string_view spec);

// How a PostgresStore sends pages.
struct PostgresOptions {
  // COPY in binary format: the server stores the integers as sent instead of parsing text
  // (~1.3x the rows/s of text COPY in //bench:storage_bench). false: text COPY, as before,
  // kept so the benchmark can show both in one run.
  bool binary_copy = true;
};

// The shared store for a fleet of ingesters: one PostgreSQL schema (created when missing) that
// holds the same relations as SqliteStore, with `bars` a view whose prices are numeric(19,4).
// A page is loaded with COPY into a temporary staging table and merged with one
// INSERT ... ON CONFLICT, in the same transaction as its checkpoints.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresSpec& spec,
                                                         PostgresOptions options = {});

}  // namespace marketpipe::storage

#endif  // MARKETPIPE_STORAGE_POSTGRES_STORE_H_
