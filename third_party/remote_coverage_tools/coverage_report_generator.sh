#!/usr/bin/env bash
# `bazel coverage --combined_report=lcov`: merges every test's lcov tracefile into one.
#   coverage_report_generator --reports_file=R --output_file=F
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
  [[ -s "$r" ]] && args+=(-a "$r")
done <"$reports"
[[ ${#args[@]} -gt 0 ]] || exit 0
lcov --quiet "${args[@]}" --output-file "$output_file" >/dev/null
