#!/usr/bin/env bash
# How much of the machine `bazel test` turns into test work, side by side in one run:
#   - the fast test binaries run by hand one after another (no Bazel, no sandbox, no
#     test-setup; the test main as it is, supervisor child included): the work itself;
#   - `bazel test --config=fast --nocache_test_results` with 1 and with 2 local test jobs;
#   - the no-op `bazel test --config=fast` (everything cached): Bazel's fixed cost per command;
#   - parallel efficiency = sequential / (2 x (wall with 2 jobs - no-op)).
#
#   bash bench/test_speed_bench.sh [--reps N] [BAZEL FLAGS...]   (e.g. --sandbox_base=/dev/shm)
#
# Each figure is the median of N runs (default 3); binaries are built first and not timed. The
# speed-up and efficiency are also given per round (by hand, 1 job, 2 jobs run back to back).
# Uses the disk cache for the build only; test results are never taken from a cache.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
reps=3
if [[ "${1:-}" == --reps ]]; then
  reps="$2"
  shift 2
fi
flags=(--config=fast "$@")

now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Wall seconds of one bazel test command (output kept in $work/last.log).
timed_test() {
  local t0 t1
  t0=$(now)
  ./bazelw test //... "${flags[@]}" "$@" >"$work/last.log" 2>&1 || {
    tail -n 20 "$work/last.log" >&2
    echo "bench: bazel test failed" >&2
    exit 1
  }
  t1=$(now)
  calc "$t1 - $t0"
}

work="$(mktemp -d "${TMPDIR:-/tmp}/marketpipe-test-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The tests --config=fast runs (its tag filter is -slow,-integration,-flaky).
mapfile -t targets < <(./bazelw query --noshow_progress \
  'tests(//...) except attr(tags, "\b(slow|integration|flaky|manual)\b", tests(//...))' 2>/dev/null)
echo "bench: ${#targets[@]} test targets (--config=fast); load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Build (and run once) with the same flags as the timed runs (--config=fast is a test config).
./bazelw test "${flags[@]}" "${targets[@]}" >"$work/build.log" 2>&1 || {
  tail -n 20 "$work/build.log" >&2
  exit 1
}

# In-process, one binary after another, from its runfiles tree as Bazel would start it.
sequential_once() {
  local t0 t1 label pkg name runfiles
  t0=$(now)
  for label in "${targets[@]}"; do
    pkg="${label#//}"
    pkg="${pkg%%:*}"
    name="${label##*:}"
    runfiles="$repo/bazel-bin/$pkg/$name.runfiles"
    (cd "$runfiles/marketpipe" && TEST_TARGET="$label" TEST_SRCDIR="$runfiles" \
      RUNFILES_DIR="$runfiles" TEST_WORKSPACE=marketpipe TEST_TMPDIR="$work/tmp" \
      "./$pkg/$name" >"$work/seq.log" 2>&1) || {
      tail -n 20 "$work/seq.log" >&2
      echo "bench: $label failed when run by hand" >&2
      exit 1
    }
  done
  t1=$(now)
  calc "$t1 - $t0"
}
mkdir -p "$work/tmp"
sequential_once >/dev/null # warm the page cache

# Bazel: the first command with a flag set only re-analyses; time the ones after it. By hand,
# 1 job and 2 jobs take turns, so a change in machine load hits the three alike.
timed_test --nocache_test_results --local_test_jobs=2 >/dev/null
seq_runs=() one=() two=()
for _ in $(seq "$reps"); do
  seq_runs+=("$(sequential_once)")
  one+=("$(timed_test --nocache_test_results --local_test_jobs=1 \
    --build_event_json_file="$work/one.bep.json")")
  two+=("$(timed_test --nocache_test_results --local_test_jobs=2)")
done
seq_s=$(printf '%s\n' "${seq_runs[@]}" | median)
actions=$(grep -oE '[0-9]+ processes: .*' "$work/last.log" || true)
shard_actions=$(grep -c '^{"id":{"testResult"' "$work/one.bep.json")
one_s=$(printf '%s\n' "${one[@]}" | median)
two_s=$(printf '%s\n' "${two[@]}" | median)
timed_test >/dev/null
noop_s=$(for _ in $(seq "$reps"); do timed_test; done | median)

echo
echo "bazel flags: ${flags[*]}   (median of $reps runs; last run: $actions)"
printf '%-44s %8.2f s   (%s)\n' "by hand, sequential (${#targets[@]} binaries)" "$seq_s" "${seq_runs[*]}"
printf '%-44s %8.2f s   (%s)\n' "bazel test, 1 test job" "$one_s" "${one[*]}"
printf '%-44s %8.2f s   (%s)\n' "bazel test, 2 test jobs" "$two_s" "${two[*]}"
printf '%-44s %8.2f s\n' "bazel test, no-op (all cached)" "$noop_s"
printf '%-44s %8.2fx\n' "2 jobs vs 1 job (wall)" "$(calc "$one_s / $two_s")"
printf '%-44s %8.2fx\n' "2 jobs vs 1 job (wall - no-op)" "$(calc "($one_s - $noop_s) / ($two_s - $noop_s)")"
printf '%-44s %7.0f %%\n' "parallel efficiency seq / (2 x (wall2 - no-op))" \
  "$(calc "100 * $seq_s / (2 * ($two_s - $noop_s))")"
# The same two figures round by round: by hand, 1 job and 2 jobs of one round ran back to back,
# so a change in the machine's load between rounds cancels out of each round's ratio.
speedups=() effs=()
for i in "${!one[@]}"; do
  speedups+=("$(calc "(${one[$i]} - $noop_s) / (${two[$i]} - $noop_s)")")
  effs+=("$(calc "100 * ${seq_runs[$i]} / (2 * (${two[$i]} - $noop_s))")")
done
printf '%-44s %8.2fx   (%s)\n' "  per round: 2 vs 1 job (wall - no-op)" \
  "$(printf '%s\n' "${speedups[@]}" | median)" "$(printf '%.2f ' "${speedups[@]}")"
printf '%-44s %7.0f %%   (%s)\n' "  per round: parallel efficiency" \
  "$(printf '%s\n' "${effs[@]}" | median)" "$(printf '%.0f ' "${effs[@]}")"
printf '%-44s %7.0f ms\n' "fixed cost per test action: (wall1-noop-seq)/$shard_actions" \
  "$(calc "1000 * ($one_s - $noop_s - $seq_s) / $shard_actions")"
