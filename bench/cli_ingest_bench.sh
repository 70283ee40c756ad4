#!/usr/bin/env bash
# End-to-end figure of the main job: the `marketpipe` binary (-c opt) ingesting from the fake
# provider into a fresh SQLite store, side by side in one run:
#   - the README command (3 symbols x 4 trading days);
#   - the same scaled to 100 symbols x 5 trading days (195,000 bars), --workers 4 (default) and 1;
#   - a rerun of the scaled job (every symbol already done: the fixed cost of a run);
#   - `marketpipe --version` (process start-up).
#
#   bash bench/cli_ingest_bench.sh [--reps N]
#
# Each figure is the median of N runs (default 3), every run into a new store file.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
reps=3
if [[ "${1:-}" == --reps ]]; then reps="$2"; fi

# GCC 12 at -O2 reports a false mismatched-new-delete on Asio coroutine frames (as in .bazelrc's
# asan config).
opt=(-c opt --copt=-Wno-mismatched-new-delete)
./bazelw build "${opt[@]}" //marketpipe/cli:marketpipe >"${TMPDIR:-/tmp}/cli-bench-build.log" 2>&1 || {
  tail -n 20 "${TMPDIR:-/tmp}/cli-bench-build.log" >&2
  echo "bench: build failed" >&2
  exit 1
}
bin="$(./bazelw info "${opt[@]}" bazel-bin 2>/dev/null)/marketpipe/cli/marketpipe"
work="$(mktemp -d "${TMPDIR:-/tmp}/marketpipe-cli-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
hundred="$(for i in $(seq 0 99); do printf 'S%03d,' "$i"; done)"
hundred="${hundred%,}"

# Runs `marketpipe "$@"` in a fresh directory (or the given one) and prints "wall bars".
run() {
  local dir="$1"
  shift
  mkdir -p "$dir"
  local t0 t1 out
  t0=$(now)
  out="$(cd "$dir" && "$bin" "$@" 2>/dev/null)" || {
    echo "bench: marketpipe $* failed" >&2
    exit 1
  }
  t1=$(now)
  local bars
  bars="$(sed -n 's/^bars *\([0-9]*\) fetched, \([0-9]*\) stored.*/\2/p' <<<"$out")"
  awk -v a="$t0" -v b="$t1" -v n="${bars:-0}" 'BEGIN { printf "%.3f %d\n", b - a, n }'
}

# name, then the marketpipe arguments; prints one table line with median wall and bars/s.
figure() {
  local name="$1" fresh="$2"
  shift 2
  local walls=() bars=0 line
  for r in $(seq 1 "$reps"); do
    local dir="$work/$name"
    [[ "$fresh" == fresh ]] && dir="$work/$name-$r"
    line="$(run "$dir" "$@")"
    walls+=("${line% *}")
    bars="${line#* }"
  done
  local wall
  wall="$(printf '%s\n' "${walls[@]}" | median)"
  awk -v n="$name" -v w="$wall" -v b="$bars" \
    'BEGIN { printf "%-34s %9.3f s %10d bars %12.0f bars/s\n", n, w, b, (w > 0 ? b / w : 0) }'
}

echo "marketpipe ingest, fake provider -> SQLite (median of $reps; $(nproc) cores)"
figure "README command (3 sym x 4 days)" fresh \
  ingest --provider fake --symbols AAPL,MSFT,NVDA --start 2024-01-02 --end 2024-01-06
figure "100 sym x 5 days, --workers 4" fresh \
  ingest --provider fake --symbols "$hundred" --start 2024-01-02 --end 2024-01-09
figure "100 sym x 5 days, --workers 1" fresh \
  ingest --provider fake --symbols "$hundred" --start 2024-01-02 --end 2024-01-09 --workers 1
# Into one store: the first run stores everything, the next ones find every symbol done.
run "$work/rerun" ingest --provider fake --symbols "$hundred" --start 2024-01-02 \
  --end 2024-01-09 >/dev/null
figure "rerun of a finished job (no-op)" same \
  ingest --provider fake --symbols "$hundred" --start 2024-01-02 --end 2024-01-09
figure "marketpipe --version (start-up)" fresh --version
