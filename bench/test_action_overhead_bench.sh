#!/usr/bin/env bash
# The fixed cost of one test action under Bazel's options for per-action overhead, side by side.
#
#   bash bench/test_action_overhead_bench.sh [--rounds N] [--runs M] [--target LABEL]
#                                            ['NAME=BAZEL FLAGS' ...]
#
# Runs a test whose cases take ~0 ms (default //testing/fakes:url_query_test) M times in one
# `bazel test --runs_per_test=M --nocache_test_results --local_test_jobs=1` per variant, so the
# wall time divided by M is what one test action costs by itself (sandbox, test-setup.sh, the
# test main and its supervisor child, Bazel's own work). Variants alternate round by round so a
# change in machine load hits them alike; each figure is the median over the rounds. Besides wall
# time it prints CPU time per action (the Bazel server's own and that of the processes it ran),
# which a loaded machine inflates far less than wall time. Every variant runs on top of .bazelrc;
# without variants on the command line it compares our test-setup.sh with Bazel's and the sandbox
# strategies for TestRunner.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
rounds=3
runs=20
target=//testing/fakes:url_query_test
names=()
variants=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    *=*) names+=("${1%%=*}"); variants+=("${1#*=}"); shift ;;
    *) echo "usage: $0 [--rounds N] [--runs M] [--target LABEL] ['NAME=FLAGS' ...]" >&2; exit 2 ;;
  esac
done
if ((${#variants[@]} == 0)); then
  # Bazel's own test-setup.sh: @bazel_tools back to Bazel's files (tools/test_setup).
  stock="--override_repository=bazel_tools=$(./bazelw info install_base 2>/dev/null)/embedded_tools"
  names=(".bazelrc (linux-sandbox)" "Bazel's own test-setup.sh" "processwrapper-sandbox"
    "no sandbox (local)")
  variants=(
    ""
    "$stock"
    "--strategy=TestRunner=processwrapper-sandbox"
    "--strategy=TestRunner=local"
  )
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
now() { date +%s.%N; }
tck=$(getconf CLK_TCK)
server_pid=$(./bazelw info server_pid 2>/dev/null)
# utime+stime of the server, and of the processes it ran and reaped (sandboxes, tests), in ticks.
cpu_ticks() { awk '{ print $14 + $15, $16 + $17 }' "/proc/$server_pid/stat"; }

echo "bench: $target x $runs runs per variant, $rounds rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
./bazelw build "$target" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
declare -A wall server spawned
for round in $(seq "$rounds"); do
  for i in "${!variants[@]}"; do
    # shellcheck disable=SC2086
    args=(--runs_per_test="$runs" --nocache_test_results --local_test_jobs=1 ${variants[$i]})
    ./bazelw test "$target" "${args[@]}" >"$log" 2>&1 || true # re-analysis, not timed
    read -r s0 c0 < <(cpu_ticks)
    t0=$(now)
    ./bazelw test "$target" "${args[@]}" >"$log" 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
    t1=$(now)
    read -r s1 c1 < <(cpu_ticks)
    wall[$i]+="$(awk "BEGIN { print 1000 * ($t1 - $t0) / $runs }") "
    server[$i]+="$(awk "BEGIN { print 1000 * ($s1 - $s0) / $tck / $runs }") "
    spawned[$i]+="$(awk "BEGIN { print 1000 * ($c1 - $c0) / $tck / $runs }") "
  done
  echo "  round $round done; load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
median() {
  tr ' ' '\n' <<<"$1" | grep . | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo
printf '%-34s %9s %12s %11s   %s\n' variant "wall ms" "server CPU" "spawn CPU" \
  "per action, median of $rounds (wall samples)"
for i in "${!variants[@]}"; do
  printf '%-34s %9.0f %12.0f %11.0f   (%s)\n' "${names[$i]}" "$(median "${wall[$i]}")" \
    "$(median "${server[$i]}")" "$(median "${spawned[$i]}")" "${wall[$i]% }"
done
