#ifndef MARKETPIPE_CLI_STORE_ACCESS_H_
#define MARKETPIPE_CLI_STORE_ACCESS_H_

#include <memory>
#include <string>
#include <string_view>

#include "marketpipe/metrics/registry.h"
#include "marketpipe/storage/store.h"

namespace marketpipe::cli {

// A store, or the exit code of the one-line error already printed.
struct StoreOrExit {
  std::unique_ptr<storage::Store> store;
  int exit_code = 0;
};

// For commands that read: the --store text checked and resolved, and opened only if it exists.
// A SQLite file that does not exist is an input error (nothing is created).
StoreOrExit OpenExistingStore(std::string_view store_flag);

// For ingest: the resolved spec (already checked) opened, creating a SQLite file and its
// directory (e.g. ./data/) when missing.
StoreOrExit OpenOrCreateStore(const std::string& resolved_spec);

// Copies the store's figures into gauges: bars stored by symbol and timeframe
// (marketpipe_store_bars), jobs by state (marketpipe_store_jobs).
void CollectStoreMetrics(storage::Store& store, metrics::Registry& registry);

}  // namespace marketpipe::cli

#endif  // MARKETPIPE_CLI_STORE_ACCESS_H_
