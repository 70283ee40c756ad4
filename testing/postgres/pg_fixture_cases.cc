// A test binary postgres_supervisor_test runs as a child process (never directly by Bazel):
// its cases print which PostgreSQL server they got, so the parent can check that the binary has
// one server, across child restarts, and that nothing outlives a SIGKILL of the whole test.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "testing/postgres/postgres_fixture.h"

namespace mptest {
namespace {

class PgCases : public PostgresFixture {
 protected:
  // One line the parent parses: this process, and the server's identity and directories.
  void PrintServer(const char* what) {
    std::printf("%s pid=%d start=%s data=%s socket=%s\n", what, static_cast<int>(getpid()),
                QueryScalar("SELECT extract(epoch FROM pg_postmaster_start_time())").c_str(),
                QueryScalar("SHOW data_directory").c_str(),
                QueryScalar("SHOW unix_socket_directories").c_str());
    std::fflush(stdout);
  }
};

TEST_F(PgCases, PrintsServer) { PrintServer("PGSERVER"); }

TEST_F(PgCases, Crashes) {
  PrintServer("PGSERVER");
  std::abort();
}

TEST_F(PgCases, PrintsServerAfterTheCrash) { PrintServer("PGSERVER"); }

// Waits until the parent kills the whole test (never selected by a plain run: DISABLED_).
TEST_F(PgCases, DISABLED_Hangs) {
  PrintServer("PGHANG");
  for (;;) pause();
}

}  // namespace
}  // namespace mptest
