// Store bulk-write throughput in rows/s, each store next to its reference in one run:
//   BM_SqliteRawInsert       reference: a bare prepared INSERT loop into the same table, same
//                            pragmas (WAL, synchronous=NORMAL), 10k rows per transaction
//   BM_SqliteStore/new       SqliteStore::WritePage of 10k-bar pages of new keys (upsert)
//   BM_SqliteStore/rewrite   the same pages again: every row takes the ON CONFLICT path
//   BM_PostgresRawCopy       reference: COPY of the same rows into a table with the same key
//   BM_PostgresStore/new     PostgresStore::WritePage of fresh keys (one COPY straight into the
//                            table, binary format; /binary:0 is the text COPY it used before)
//   BM_PostgresStore/rewrite the same pages again (COPY to stage + INSERT ... ON CONFLICT)
// PostgreSQL is the kit's throwaway server (fsync off), on a unix socket.
//
//   ./bazelw run -c opt //bench:storage_bench
//
// Targets (issue #9): SQLite bulk upsert >= 500,000 rows/s, PostgreSQL bulk load >= 300,000.

#include <benchmark/benchmark.h>
#include <postgresql/libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "marketpipe/core/bar.h"
#include "marketpipe/storage/postgres_store.h"
#include "marketpipe/storage/store.h"
#include "testing/postgres/postgres_server.h"

namespace {

using marketpipe::Bar;
using marketpipe::Price;
using marketpipe::storage::PageWrite;
using marketpipe::storage::Store;

constexpr int kSymbols = 10;
constexpr int kBarsPerSymbol = 1000;
constexpr int kRowsPerPage = kSymbols * kBarsPerSymbol;
constexpr int kPages = 60;
constexpr int64_t kT0 = 1'704'205'800LL * 1'000'000'000;
constexpr int64_t kMinute = 60LL * 1'000'000'000;

struct Figure {
  double rows_per_second = 0;      // wall clock
  double rows_per_cpu_second = 0;  // this process's CPU only (not the PostgreSQL server's)
  // PostgreSQL: the CPU of the server process serving the writes (0: not measured). Unlike the
  // wall clock, it hardly moves with the load of a shared machine.
  double rows_per_server_cpu_second = 0;
};

// Each benchmark's last run, printed as a summary at the end.
std::map<std::string, Figure>& Figures() {
  static std::map<std::string, Figure> figures;
  return figures;
}

double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Page p: 10 symbols x 1000 consecutive minutes, sorted by symbol then time like a provider's.
const std::vector<std::vector<Bar>>& Pages() {
  static const std::vector<std::vector<Bar>> pages = [] {
    std::vector<std::vector<Bar>> out(kPages);
    for (int p = 0; p < kPages; ++p) {
      for (int s = 0; s < kSymbols; ++s) {
        const marketpipe::Symbol symbol = *marketpipe::Symbol::Parse("SYM" + std::to_string(s));
        for (int i = 0; i < kBarsPerSymbol; ++i) {
          const int64_t minute = static_cast<int64_t>(p) * kBarsPerSymbol + i;
          Bar& bar = out[p].emplace_back();
          bar.symbol = symbol;
          bar.ts_ns = kT0 + minute * kMinute;
          bar.open = Price::FromUnits(1'800'000 + minute % 5000);
          bar.high = Price::FromUnits(1'801'000 + minute % 5000);
          bar.low = Price::FromUnits(1'799'000 + minute % 5000);
          bar.close = Price::FromUnits(1'800'500 + minute % 5000);
          bar.volume = 1000 + minute % 777;
          bar.trade_count = 10 + minute % 50;
          bar.vwap = Price::FromUnits(1'800'250 + minute % 5000);
        }
      }
    }
    return out;
  }();
  return pages;
}

std::string TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "mp-storage-bench-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  return pattern;
}

// CPU seconds (user + system) process `pid` has used so far; 0 when unknown.
double CpuSecondsOf(int pid) {
  if (pid <= 0) return 0;
  FILE* file = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (file == nullptr) return 0;
  char line[1024] = {};
  const size_t n = std::fread(line, 1, sizeof(line) - 1, file);
  std::fclose(file);
  // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
  const char* at = std::strrchr(line, ')');
  if (at == nullptr || n == 0) return 0;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(at + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2) {
    return 0;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Runs `write_page(p)` for every page in each iteration; records rows/s. `server_pid`: the
// PostgreSQL backend doing the writes, whose CPU is recorded too.
template <typename WritePage>
void RunPages(benchmark::State& state, const std::string& label, WritePage&& write_page,
              int server_pid = 0) {
  int64_t rows = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  double server_cpu_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = ProcessCpuSeconds();
    const double server_cpu_start = CpuSecondsOf(server_pid);
    for (int p = 0; p < kPages; ++p) {
      if (std::string error = write_page(p); !error.empty()) {
        state.SkipWithError(error.c_str());
        return;
      }
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    cpu_seconds += ProcessCpuSeconds() - cpu_start;
    server_cpu_seconds += CpuSecondsOf(server_pid) - server_cpu_start;
    rows += static_cast<int64_t>(kPages) * kRowsPerPage;
  }
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
  Figures()[label] = {static_cast<double>(rows) / seconds, static_cast<double>(rows) / cpu_seconds,
                      server_cpu_seconds > 0 ? static_cast<double>(rows) / server_cpu_seconds : 0};
}

// The backend serving the one other client of the bench's server (the store's connection).
int OtherBackendPid(PGconn* conn) {
  PGresult* result =
      PQexec(conn,
             "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
             "AND pid <> pg_backend_pid() ORDER BY backend_start DESC LIMIT 1");
  const int pid = PQntuples(result) == 1 ? std::atoi(PQgetvalue(result, 0, 0)) : 0;
  PQclear(result);
  return pid;
}

void BM_SqliteRawInsert(benchmark::State& state) {
  const std::string dir = TempDir();
  sqlite3* db = nullptr;
  sqlite3_open((dir + "/raw.db").c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
               "CREATE TABLE bar_units (symbol TEXT NOT NULL, timeframe TEXT NOT NULL, "
               "ts_ns INTEGER NOT NULL, open_units INTEGER NOT NULL, high_units INTEGER NOT NULL, "
               "low_units INTEGER NOT NULL, close_units INTEGER NOT NULL, volume INTEGER NOT NULL, "
               "trade_count INTEGER NOT NULL, vwap_units INTEGER NOT NULL, "
               "PRIMARY KEY (symbol, timeframe, ts_ns)) WITHOUT ROWID",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT OR REPLACE INTO bar_units VALUES (?, '1m', ?, ?, ?, ?, ?, ?, ?, ?)",
                     -1, &insert, nullptr);
  RunPages(state, "sqlite bare INSERT", [&](int p) -> std::string {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (const Bar& bar : Pages()[p]) {
      const std::string& symbol = bar.symbol.value();
      sqlite3_bind_text(insert, 1, symbol.data(), static_cast<int>(symbol.size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert, 2, bar.ts_ns);
      sqlite3_bind_int64(insert, 3, bar.open.units());
      sqlite3_bind_int64(insert, 4, bar.high.units());
      sqlite3_bind_int64(insert, 5, bar.low.units());
      sqlite3_bind_int64(insert, 6, bar.close.units());
      sqlite3_bind_int64(insert, 7, bar.volume);
      sqlite3_bind_int64(insert, 8, bar.trade_count);
      sqlite3_bind_int64(insert, 9, bar.vwap.units());
      if (sqlite3_step(insert) != SQLITE_DONE) return sqlite3_errmsg(db);
      sqlite3_reset(insert);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    return "";
  });
  sqlite3_finalize(insert);
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SqliteRawInsert)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void WriteWithStore(benchmark::State& state, Store& store, bool rewrite,
                    const std::string& suffix = "", int server_pid = 0) {
  const std::string label =
      store.kind() + (rewrite ? " store rewrite" : " store new rows") + suffix;
  const auto write = [&](int p) -> std::string {
    PageWrite page;
    page.provenance = {"fake", "fake", "raw"};
    page.bars = Pages()[p];
    absl::Status status = store.WritePage(page);
    return status.ok() ? "" : status.ToString();
  };
  if (rewrite) {
    for (int p = 0; p < kPages; ++p) {
      if (std::string error = write(p); !error.empty()) {
        state.SkipWithError(error.c_str());
        return;
      }
    }
  }
  RunPages(state, label, write, server_pid);
}

void BM_SqliteStore(benchmark::State& state) {
  const std::string dir = TempDir();
  absl::StatusOr<std::unique_ptr<Store>> store =
      marketpipe::storage::OpenStore("sqlite:" + dir + "/store.db");
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  WriteWithStore(state, **store, state.range(0) == 1);
  store->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SqliteStore)
    ->ArgName("rewrite")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The benchmark's own schema on the kit's server; empty when the server is missing.
std::string PostgresConninfo(benchmark::State& state) {
  absl::StatusOr<mptest::PostgresServerInfo> server = mptest::SharedPostgresServer();
  if (!server.ok()) {
    state.SkipWithError(server.status().ToString().c_str());
    return "";
  }
  return server->conninfo;
}

void BM_PostgresRawCopy(benchmark::State& state) {
  const std::string conninfo = PostgresConninfo(state);
  if (conninfo.empty()) return;
  PGconn* conn = PQconnectdb(conninfo.c_str());
  PQclear(PQexec(conn,
                 "SET client_min_messages = warning; DROP TABLE IF EXISTS bench_raw; "
                 "CREATE TABLE bench_raw (symbol text, timeframe text, ts_ns bigint, "
                 "open_units bigint, high_units bigint, low_units bigint, close_units bigint, "
                 "volume bigint, trade_count bigint, vwap_units bigint, "
                 "PRIMARY KEY (symbol, timeframe, ts_ns))"));
  std::string buffer;
  RunPages(
      state, "postgres bare COPY",
      [&](int p) -> std::string {
        buffer.clear();
        for (const Bar& bar : Pages()[p]) {
          buffer += bar.symbol.value();
          buffer += "\t1m";
          for (int64_t v : {bar.ts_ns, bar.open.units(), bar.high.units(), bar.low.units(),
                            bar.close.units(), bar.volume, bar.trade_count, bar.vwap.units()}) {
            buffer += '\t';
            buffer += std::to_string(v);
          }
          buffer += '\n';
        }
        PQclear(PQexec(conn, "BEGIN"));
        PGresult* copy = PQexec(conn, "COPY bench_raw FROM STDIN");
        const bool started = PQresultStatus(copy) == PGRES_COPY_IN;
        PQclear(copy);
        if (!started) return PQerrorMessage(conn);
        PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size()));
        PQputCopyEnd(conn, nullptr);
        while (PGresult* result = PQgetResult(conn)) PQclear(result);
        PQclear(PQexec(conn, "COMMIT"));
        return "";
      },
      PQbackendPID(conn));
  PQclear(PQexec(conn, "DROP TABLE bench_raw"));
  PQfinish(conn);
}
BENCHMARK(BM_PostgresRawCopy)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PostgresStore(benchmark::State& state) {
  const std::string conninfo = PostgresConninfo(state);
  if (conninfo.empty()) return;
  const bool binary = state.range(1) == 1;
  const std::string schema =
      "bench_" + std::to_string(state.range(0)) + (binary ? "_binary" : "_text");
  PGconn* conn = PQconnectdb(conninfo.c_str());
  PQclear(PQexec(
      conn,
      ("SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + schema + " CASCADE").c_str()));
  {
    absl::StatusOr<std::unique_ptr<Store>> store = marketpipe::storage::OpenPostgresStore(
        {.conninfo = conninfo, .schema = schema}, {.binary_copy = binary});
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
    } else {
      WriteWithStore(state, **store, state.range(0) == 1, binary ? "" : " (text)",
                     OtherBackendPid(conn));
    }
  }
  PQclear(PQexec(conn, ("DROP SCHEMA " + schema + " CASCADE").c_str()));
  PQfinish(conn);
}
BENCHMARK(BM_PostgresStore)
    ->ArgNames({"rewrite", "binary"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void PrintSummary() {
  std::printf("\n%-30s %12s %20s %20s\n", "storage bulk write", "rows/s", "rows/CPU-s (client)",
              "rows/CPU-s (server)");
  for (const auto& [name, figure] : Figures()) {
    std::printf("%-30s %12.0f %20.0f %20.0f\n", name.c_str(), figure.rows_per_second,
                figure.rows_per_cpu_second, figure.rows_per_server_cpu_second);
  }
  const auto rate = [](const char* name) {
    auto it = Figures().find(name);
    return it == Figures().end() ? 0.0 : it->second.rows_per_second;
  };
  std::printf("SQLite bulk upsert:   %10.0f rows/s (target >= 500,000; bare INSERT %.0f)\n",
              rate("sqlite store new rows"), rate("sqlite bare INSERT"));
  std::printf(
      "PostgreSQL bulk load: %10.0f rows/s (target >= 300,000; the text COPY it used before "
      "%.0f; bare text COPY %.0f)\n",
      rate("postgres store new rows"), rate("postgres store new rows (text)"),
      rate("postgres bare COPY"));
  // Wall-clock figures on a shared machine scale with its load: print it next to them.
  if (FILE* loadavg = std::fopen("/proc/loadavg", "r")) {
    double one_minute = 0;
    if (std::fscanf(loadavg, "%lf", &one_minute) == 1) {
      std::printf("load average (1 min): %.1f on %u cores\n", one_minute,
                  std::thread::hardware_concurrency());
    }
    std::fclose(loadavg);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  PrintSummary();
  benchmark::Shutdown();
  return 0;
}
