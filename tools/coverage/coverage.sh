#!/usr/bin/env bash
# Line coverage of the given tests as one HTML report, with per-package figures printed.
#
#   bash tools/coverage/coverage.sh [TARGET...] [--out DIR] [-- BAZEL COVERAGE ARGS]
#
# Default targets: //... . Runs `bazel coverage` (gcov + Debian's lcov through
# third_party/remote_coverage_tools, offline; .bazelrc asks for the combined lcov report), then
# genhtml into DIR (default: bazel-coverage-html/ in the workspace), and prints lines hit/found
# per package (the directory of each source file), lowest coverage first, and the total.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
targets=()
extra=()
out="bazel-coverage-html"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "coverage: unknown option $1 (bazel options go after --)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(//...)
command -v genhtml >/dev/null || { echo "coverage: genhtml missing (Debian lcov; ./bazelw installs it)" >&2; exit 2; }

rc=0
./bazelw coverage "${targets[@]}" --combined_report=lcov "${extra[@]}" || rc=$?
# 3 = some test failed: the coverage of the others still stands.
if [[ $rc -ne 0 && $rc -ne 3 ]]; then
  echo "coverage: bazel coverage failed (exit $rc)" >&2
  exit "$rc"
fi
report="$(./bazelw info output_path 2>/dev/null)/_coverage/_coverage_report.dat"
if [[ ! -s "$report" ]]; then
  echo "coverage: no combined report at $report (did any instrumented test run?)" >&2
  exit 1
fi
rm -rf "$out"
genhtml --quiet --output-directory "$out" --title "MarketPipe coverage" "$report" >/dev/null
echo
echo "Line coverage per package (from $report)"
awk -F: '
  /^SF:/ { file = substr($0, 4); n = split(file, parts, "/"); pkg = parts[1];
           for (i = 2; i < n; ++i) pkg = pkg "/" parts[i]; if (n == 1) pkg = "(root)" }
  /^LF:/ { found[pkg] += $2; total_found += $2 }
  /^LH:/ { hit[pkg] += $2; total_hit += $2 }
  END {
    for (p in found) printf "%6.1f%%  %6d / %-6d  %s\n", found[p] ? 100 * hit[p] / found[p] : 100, hit[p], found[p], p
    printf "TOTAL %6.1f%%  %6d / %-6d  lines\n", total_found ? 100 * total_hit / total_found : 0, total_hit, total_found > "/dev/stderr"
  }' "$report" 2>"$root/.coverage-total.$$" | sort -n
cat "$root/.coverage-total.$$"
rm -f "$root/.coverage-total.$$"
echo "HTML report: $out/index.html"
[[ $rc -eq 0 ]] || echo "coverage: some tests failed (bazel exit 3); their coverage is partial"
exit "$rc"
