#!/usr/bin/env bash
# Bazel's LcovMerger, for gcc/gcov: called after each test (shard) under `bazel coverage` by
# @bazel_tools//tools/test:collect_coverage.sh, from the exec root:
#   lcov_merger --coverage_dir=D --output_file=F --filter_sources=REGEX... --source_file_manifest=M
# D holds the .gcda files (D/bazel-out/.../_objs/<target>/<src>.pic.gcda, via GCOV_PREFIX) and a
# `gcov` link; M lists the instrumented sources and the .gcno files (exec-root relative).
# F receives one lcov tracefile with workspace-relative SF: paths.
#
# Kept: sources named in M, and any other workspace-relative source compiled into an
# instrumented object (Bazel 4 leaves a cc_test's own srcs out of M). Dropped: paths matching a
# --filter_sources regex (full match, like Bazel's merger: /usr/..., external/...) and every
# other absolute path (system headers).
#
# Debugging: --test_env=COVERAGE_DEBUG_DIR=/some/dir (with --strategy=TestRunner=standalone)
# keeps a copy of D, M and the lcov log there.
set -uo pipefail

coverage_dir="" output_file="" manifest=""
filters=()
for arg in "$@"; do
  case "$arg" in
    --coverage_dir=*) coverage_dir="${arg#*=}" ;;
    --output_file=*) output_file="${arg#*=}" ;;
    --filter_sources=*) filters+=("${arg#*=}") ;;
    --source_file_manifest=*) manifest="${arg#*=}" ;;
    *) ;; # e.g. --sources_to_replace_file: not produced for C++
  esac
done
if [[ -z "$coverage_dir" || -z "$output_file" ]]; then
  echo "lcov_merger: --coverage_dir and --output_file are required" >&2
  exit 1
fi
: >"$output_file"
[[ -d "$coverage_dir" ]] || exit 0

if ! command -v lcov >/dev/null 2>&1; then
  echo "lcov_merger: lcov is not installed (Debian: apt-get install lcov); no coverage written" >&2
  exit 1
fi
gcov_tool="$coverage_dir/gcov"
[[ -x "$gcov_tool" ]] || gcov_tool="$(command -v gcov || true)"

work="$(mktemp -d "${TMPDIR:-/tmp}/lcov_merger.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$PWD"

# gcov wants each .gcno next to its .gcda: copy the notes listed in M beside the data files.
have_gcda=0
if [[ -n "$manifest" && -f "$manifest" ]]; then
  while IFS= read -r f; do
    [[ "$f" == *.gcno ]] || continue
    gcda="$coverage_dir/${f%.gcno}.gcda"
    [[ -f "$gcda" ]] || continue
    have_gcda=1
    [[ -f "$coverage_dir/$f" || ! -f "$f" ]] || cp "$f" "$coverage_dir/$f"
  done <"$manifest"
fi
if [[ $have_gcda -eq 0 ]] && find "$coverage_dir" -name '*.gcda' -print -quit | grep -q .; then
  have_gcda=1
fi

traces=()
# Coverage tools that already write lcov text (e.g. llvm's _cc_coverage.dat) count too.
while IFS= read -r -d '' dat; do
  [[ -s "$dat" ]] && traces+=(-a "$dat")
done < <(find "$coverage_dir" -name '*.dat' -type f -print0)

if [[ $have_gcda -eq 1 ]]; then
  # The gcov JSON format carries the counts, so sources need not be readable here.
  if lcov --capture --directory "$coverage_dir" --base-directory "$root" \
    --gcov-tool "$gcov_tool" --ignore-errors gcov,source,graph \
    --rc lcov_branch_coverage=0 --output-file "$work/captured.info" >"$work/lcov.log" 2>&1; then
    [[ -s "$work/captured.info" ]] && traces+=(-a "$work/captured.info")
  else
    echo "lcov_merger: lcov --capture failed:" >&2
    cat "$work/lcov.log" >&2
    exit 1
  fi
fi
if [[ -n "${COVERAGE_DEBUG_DIR:-}" ]]; then
  mkdir -p "$COVERAGE_DEBUG_DIR"
  cp -r "$coverage_dir" "$COVERAGE_DEBUG_DIR/coverage_dir"
  [[ -f "$manifest" ]] && cp "$manifest" "$COVERAGE_DEBUG_DIR/manifest"
  [[ -f "$work/lcov.log" ]] && cp "$work/lcov.log" "$COVERAGE_DEBUG_DIR/"
  printf '%s\n' "$@" >"$COVERAGE_DEBUG_DIR/args"
fi
[[ ${#traces[@]} -gt 0 ]] || exit 0

# Rewrite each record's SF: to a workspace-relative path (gcc records the compile-time exec
# root, a sandbox directory, as prefix) and keep or drop the whole record.
awk -v filters="$(printf '%s\n' "${filters[@]}")" -v manifest="$manifest" -v root="$root/" '
  BEGIN {
    nf = split(filters, pats, "\n")
    if (manifest != "") {
      while ((getline line < manifest) > 0) keep[line] = 1
    }
  }
  function filtered(p,   i) {
    for (i = 1; i <= nf; i++) if (pats[i] != "" && p ~ ("^(" pats[i] ")$")) return 1
    return 0
  }
  /^TN:/ { next }
  /^SF:/ {
    orig = substr($0, 4)
    path = orig
    if (index(path, root) == 1) path = substr(path, length(root) + 1)
    else if (path ~ /\/execroot\/[^\/]+\//) sub(/^.*\/execroot\/[^\/]+\//, "", path)
    sub(/^\.\//, "", path)
    skip = filtered(orig) || filtered(path) || (!(path in keep) && path ~ /^\//)
    if (!skip) { print "TN:"; print "SF:" path }
    next
  }
  /^end_of_record/ { if (!skip) print; skip = 0; next }
  { if (!skip) print }
' < <(lcov --quiet "${traces[@]}" --output-file /dev/stdout 2>"$work/merge.log") >"$work/filtered.info"

if [[ ! -s "$work/filtered.info" ]]; then
  [[ -s "$work/merge.log" ]] && cat "$work/merge.log" >&2
  exit 0
fi
# Merge records that now share a path (a header seen from several sandboxes) into one each.
if ! lcov --quiet -a "$work/filtered.info" --output-file "$output_file" >"$work/final.log" 2>&1; then
  cat "$work/final.log" >&2
  cp "$work/filtered.info" "$output_file"
fi
