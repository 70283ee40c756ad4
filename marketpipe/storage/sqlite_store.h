#ifndef MARKETPIPE_STORAGE_SQLITE_STORE_H_
#define MARKETPIPE_STORAGE_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "marketpipe/storage/store.h"

namespace marketpipe::storage {

// The schema version this binary writes (PRAGMA user_version of a SqliteStore file).
inline constexpr int kSqliteSchemaVersion = 1;

struct SqliteOptions {
  // How long a write waits for another process's transaction before UNAVAILABLE.
  absl::Duration busy_timeout = absl::Seconds(60);
};

// The embedded store: one SQLite file (created when missing) in WAL mode, so readers never
// block the writer, with synchronous=NORMAL (a killed process loses nothing committed; a power
// cut may lose the last transactions). Bars live in `bar_units` (prices as integer 1e-4 units)
// behind the view `bars`. Every write is one BEGIN IMMEDIATE transaction, so several processes
// can write one file: they queue on the file lock for up to `busy_timeout`. Query runs on a
// second, read-only connection that refuses anything but reading.
//
// Migrations run on open inside one write transaction; a file whose user_version is newer than
// kSqliteSchemaVersion is FAILED_PRECONDITION and left untouched.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       const SqliteOptions& options = {});

}  // namespace marketpipe::storage

#endif  // MARKETPIPE_STORAGE_SQLITE_STORE_H_
