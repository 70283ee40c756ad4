// marketpipe: the command line (see app.h and `marketpipe --help`).
#include "marketpipe/cli/app.h"
#include "marketpipe/net/page_memory.h"

int main(int argc, char** argv) {
  // Best effort: without it each fetched page faults its ~1 MB buffers in again (page_memory.h).
  (void)marketpipe::net::RetainPageMemory();
  return marketpipe::cli::RunApp(argc, argv);
}
