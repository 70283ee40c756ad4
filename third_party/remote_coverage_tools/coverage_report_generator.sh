#!/usr/bin/env bash
# `bazel coverage --combined_report=lcov`: merges every test's lcov tracefile into one, run from
# the exec root:
#   coverage_report_generator --reports_file=R --output_file=F
# R lists exec-root-relative tracefiles, one a line: each test's (or shard's) coverage.dat and
# baseline_coverage.dat (sources with no counts, so unexercised files still show up).
# F is bazel-out/_coverage/_coverage_report.dat.
set -uo pipefail
reports="" output_file=""
for arg in "$@"; do
  case "$arg" in
    --reports_file=*) reports="${arg#*=}" ;;
    --output_file=*) output_file="${arg#*=}" ;;
    *) ;;
  esac
done
[[ -n "$output_file" ]] || { echo "coverage_report_generator: --output_file is required" >&2; exit 1; }
: >"$output_file"
[[ -n "$reports" && -f "$reports" ]] || exit 0
args=()
while IFS= read -r r; do
  # Baseline files hold records without DA: lines; lcov refuses a file with nothing else.
  [[ -s "$r" ]] && grep -q '^DA:' "$r" && args+=(-a "$r")
done <"$reports"
[[ ${#args[@]} -gt 0 ]] || exit 0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! lcov --quiet "${args[@]}" --output-file "$output_file" >"$log" 2>&1; then
  echo "coverage_report_generator: lcov failed:" >&2
  cat "$log" >&2
  exit 1
fi
