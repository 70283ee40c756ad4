#!/usr/bin/env bash
# The fixed cost of one test action under Bazel's options for per-action overhead, side by side.
#
#   bash bench/test_action_overhead_bench.sh [--rounds N] [--runs M]
#
# Runs a test whose cases take ~0 ms (//testing/fakes:url_query_test) M times in one
# `bazel test --runs_per_test=M --nocache_test_results --local_test_jobs=1` per variant, so the
# wall time divided by M is what one test action costs by itself (sandbox, test-setup, the test
# main and its supervisor child). Variants alternate round by round so a change in machine load
# hits them alike; each figure is the median over the rounds.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
rounds=3
runs=20
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--runs M]" >&2; exit 2 ;;
  esac
done
target=//testing/fakes:url_query_test
names=(baseline "sandbox in /dev/shm" "async sandbox delete" "both")
variants=(
  ""
  "--sandbox_base=/dev/shm"
  "--experimental_sandbox_async_tree_delete_idle_threads=auto"
  "--sandbox_base=/dev/shm --experimental_sandbox_async_tree_delete_idle_threads=auto"
)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
now() { date +%s.%N; }

echo "bench: $target x $runs runs per variant, $rounds rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
./bazelw build "$target" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
declare -A samples
for round in $(seq "$rounds"); do
  for i in "${!variants[@]}"; do
    # shellcheck disable=SC2086
    args=(--runs_per_test="$runs" --nocache_test_results --local_test_jobs=1 ${variants[$i]})
    ./bazelw test "$target" "${args[@]}" >"$log" 2>&1 || true # re-analysis, not timed
    t0=$(now)
    ./bazelw test "$target" "${args[@]}" >"$log" 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
    t1=$(now)
    samples[$i]+="$(awk "BEGIN { print 1000 * ($t1 - $t0) / $runs }") "
  done
  echo "  round $round done"
done
echo
printf '%-24s %12s   %s\n' variant "ms / action" "(median of $rounds; samples)"
for i in "${!variants[@]}"; do
  med=$(tr ' ' '\n' <<<"${samples[$i]}" | grep . | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  printf '%-24s %12.0f   (%s)\n' "${names[$i]}" "$med" "${samples[$i]% }"
done
