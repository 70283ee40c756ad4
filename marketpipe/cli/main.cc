// marketpipe: the command line (see app.h and `marketpipe --help`).
#include "marketpipe/cli/app.h"

int main(int argc, char** argv) { return marketpipe::cli::RunApp(argc, argv); }
