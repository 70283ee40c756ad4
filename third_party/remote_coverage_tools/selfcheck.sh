#!/usr/bin/env bash
# End-to-end check of this repository's coverage tools, independent of the MarketPipe tree:
# builds a two-file workspace (a library with one unreached line + a test) in a fixed scratch
# directory that uses this lcov_merger/coverage_report_generator, runs `bazel coverage` on it
# and checks the tracefiles. Its own Bazel server is shut down at the end. ~20 s cold.
#
#   bash third_party/remote_coverage_tools/selfcheck.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
third_party="$(dirname "$here")"
ws="${MARKETPIPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/marketpipe}/coverage-selfcheck"
mkdir -p "$ws/lib"
cd "$ws"

cat >WORKSPACE <<EOF
workspace(name = "coverage_selfcheck")

local_repository(name = "rules_cc", path = "$third_party/rules_cc")

local_repository(name = "rules_java", path = "/usr/share/bazel/rules/java")

local_repository(name = "platforms", path = "/usr/share/bazel/tools/platforms")

local_repository(name = "bazel_skylib", path = "/usr/share/bazel/tools/skylib")

local_repository(name = "remote_coverage_tools", path = "$here")
EOF
echo 4 >.bazelversion
cat >.bazelrc <<'EOF'
build --nosandbox_debug
build --show_progress_rate_limit=30
coverage --instrument_test_targets
coverage --combined_report=lcov
coverage --nocache_test_results
EOF
cat >lib/BUILD <<'EOF'
cc_library(
    name = "classify",
    srcs = ["classify.cc"],
    hdrs = ["classify.h"],
)

cc_test(
    name = "classify_test",
    size = "small",
    srcs = ["classify_test.cc"],
    deps = [":classify"],
)
EOF
cat >lib/classify.h <<'EOF'
#pragma once
inline int Twice(int x) { return 2 * x; }
int Classify(int x);
EOF
cat >lib/classify.cc <<'EOF'
#include "lib/classify.h"
int Classify(int x) {
  if (Twice(x) > 0) {
    return 1;
  }
  return -1;  // line 6: never reached
}
EOF
cat >lib/classify_test.cc <<'EOF'
#include "lib/classify.h"
int main() { return Classify(Twice(3)) == 1 ? 0 : 1; }
EOF

trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT
bazel coverage //lib:classify_test 2>&1 | tail -n 3

fail=0
check() { # description, command...
  local what="$1"
  shift
  if "$@"; then echo "coverage selfcheck: ok   - $what"; else echo "coverage selfcheck: FAIL - $what"; fail=1; fi
}
testlogs="$(bazel info bazel-testlogs 2>/dev/null)"
dat="$testlogs/lib/classify_test/coverage.dat"
report="$(bazel info output_path 2>/dev/null)/_coverage/_coverage_report.dat"
record() { # tracefile, source: prints that source's record
  awk -v sf="SF:$2" '$0 == sf { on = 1 } on { print } /^end_of_record/ { on = 0 }' "$1"
}
check "coverage.dat is not empty" test -s "$dat"
check "library source with hit and missed lines" \
  bash -c "$(declare -f record); r=\$(record '$dat' lib/classify.cc); grep -qx 'DA:3,1' <<<\"\$r\" && grep -qx 'DA:6,0' <<<\"\$r\""
check "header counts merged from two translation units" \
  bash -c "$(declare -f record); record '$dat' lib/classify.h | grep -qx 'DA:2,2'"
check "the test's own source (--instrument_test_targets)" grep -qx 'SF:lib/classify_test.cc' "$dat"
check "only workspace-relative paths" bash -c "! grep -E '^SF:(/|external/)' '$dat'"
check "combined report (--combined_report=lcov)" grep -qx 'SF:lib/classify.cc' "$report"
exit $fail
