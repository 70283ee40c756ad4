#!/usr/bin/env bash
# Fresh clone + empty remote cache vs fresh clone + warm remote cache, side by side in one run.
#
#   bash bench/remote_cache_bench.sh [BAZEL ARGS...]      (default: test //...)
#
# Both runs: a new `git clone` of HEAD (so a new Bazel output base and server), the disk cache off
# (--disk_cache=), the same bazel command through a private nginx cache (tools/remote_cache with
# its own directory and port, so the team's cache is neither read nor touched). Run 1 starts with
# that cache empty and fills it; run 2, in a second fresh clone, is served by it. Prints the wall
# time of each, the speed-up, and run 2's remote hit rates (.ci/cache_hits.py). BENCH_COMMIT
# picks the commit both clones test (default: HEAD when the bench starts).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(test //...)
port="${BENCH_CACHE_PORT:-9093}"
work="$(mktemp -d "${TMPDIR:-/tmp}/marketpipe-cache-bench.XXXXXX")"
export MARKETPIPE_CACHE="$work/cache" REMOTE_CACHE_PORT="$port"
cache=("$repo/tools/remote_cache/remote_cache.sh")

cleanup() {
  local c
  for c in "$work"/clone-*; do
    [[ -d "$c" ]] && (cd "$c" && timeout 120 bazel shutdown >/dev/null 2>&1) || true
  done
  "${cache[@]}" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Both clones check out the same commit, taken once here (HEAD may move while this runs).
commit="${BENCH_COMMIT:-$(git -C "$repo" rev-parse HEAD)}"
"${cache[@]}" start
declare -A wall
for run in empty warm; do
  clone="$work/clone-$run"
  git clone -q --no-local "$repo" "$clone"
  git -C "$clone" checkout -q "$commit"
  echo "--- $run remote cache: bazel ${args[*]} in a fresh clone ($clone)"
  t0=$(date +%s.%N)
  rc=0
  (cd "$clone" && ./bazelw "${args[@]}" --config=remote-cache --disk_cache= \
    --remote_cache="http://127.0.0.1:$port" --build_event_json_file="$work/$run.bep.json" \
    >"$work/$run.log" 2>&1) || rc=$?
  # Exit 3 = built, some test failed: the timing still stands (a failed result is not cached,
  # so the warm run reruns it). Anything else is a broken run.
  if [[ $rc -ne 0 && $rc -ne 3 ]]; then
    tail -n 30 "$work/$run.log"
    echo "bench: the $run run failed (bazel exit $rc)"
    exit 1
  fi
  [[ $rc -eq 3 ]] && grep -E '^FAIL: ' "$work/$run.log" | sed 's/^/    test failed in this run: /' 
  t1=$(date +%s.%N)
  wall[$run]=$(awk "BEGIN { print $t1 - $t0 }")
  grep -E "processes:|Executed" "$work/$run.log" | sed 's/^/    /'
  echo "    $(python3 "$repo/.ci/cache_hits.py" "$work/$run.bep.json")"
  # Stop this clone's Bazel server now so the next run does not share its machine with it.
  (cd "$clone" && bazel shutdown >/dev/null 2>&1) || true
done
"${cache[@]}" status | sed 's/^/    /' || true

echo
printf '%-34s %10s\n' "fresh clone, bazel ${args[*]}" "wall (s)"
printf '%-34s %10.1f\n' "empty remote cache (disk cache off)" "${wall[empty]}"
printf '%-34s %10.1f\n' "warm remote cache (disk cache off)" "${wall[warm]}"
printf '%-34s %9.1fx\n' "speed-up" "$(awk "BEGIN { print ${wall[empty]} / ${wall[warm]} }")"
echo "warm run: $(python3 "$repo/.ci/cache_hits.py" "$work/warm.bep.json")"
echo "commit $commit; load average $(cut -d' ' -f1-3 /proc/loadavg)"
