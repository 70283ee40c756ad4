#!/usr/bin/env bash
# Called by Bazel after each test (shard) under `bazel coverage`:
#   lcov_merger --coverage_dir=D --output_file=F --filter_sources=REGEX... --source_file_manifest=M
# Turns the .gcda/.gcno files under D into one lcov tracefile F, keeping only the sources
# listed in M and dropping those matching any --filter_sources regex.
set -uo pipefail

coverage_dir="" output_file="" manifest=""
filters=()
for arg in "$@"; do
  case "$arg" in
    --coverage_dir=*) coverage_dir="${arg#*=}" ;;
    --output_file=*) output_file="${arg#*=}" ;;
    --filter_sources=*) filters+=("${arg#*=}") ;;
    --source_file_manifest=*) manifest="${arg#*=}" ;;
    *) ;;
  esac
done
if [[ -z "$coverage_dir" || -z "$output_file" ]]; then
  echo "lcov_merger: --coverage_dir and --output_file are required" >&2
  exit 1
fi
: >"$output_file"
[[ -n "${COVERAGE_DEBUG_DIR:-}" ]] && { mkdir -p "$COVERAGE_DEBUG_DIR"; cp -r "$coverage_dir" "$COVERAGE_DEBUG_DIR/cov"; cp "$manifest" "$COVERAGE_DEBUG_DIR/manifest"; pwd > "$COVERAGE_DEBUG_DIR/pwd"; printf "%s\n" "$@" > "$COVERAGE_DEBUG_DIR/args"; env > "$COVERAGE_DEBUG_DIR/env"; }

gcov_tool="$coverage_dir/gcov"
[[ -x "$gcov_tool" ]] || gcov_tool="$(command -v gcov)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# gcov wants each .gcno next to its .gcda: copy the notes listed in the manifest beside the
# data files (paths in the manifest are relative to the exec root, which is the cwd here).
if [[ -n "$manifest" && -f "$manifest" ]]; then
  while IFS= read -r f; do
    [[ "$f" == *.gcno ]] || continue
    [[ -f "$f" ]] || continue
    dest="$coverage_dir/$f"
    [[ -f "$dest" ]] || { mkdir -p "$(dirname "$dest")" && cp "$f" "$dest"; }
  done <"$manifest"
fi

# Data files produced by C++ coverage scripts that already are lcov text (.dat) count too.
traces=()
shopt -s globstar nullglob
for dat in "$coverage_dir"/**/*.dat; do
  [[ -s "$dat" ]] && traces+=(-a "$dat")
done

if compgen -G "$coverage_dir/**/*.gcda" >/dev/null || find "$coverage_dir" -name '*.gcda' -print -quit | grep -q .; then
  if lcov --quiet --capture --directory "$coverage_dir" --base-directory "$PWD" \
    --gcov-tool "$gcov_tool" --ignore-errors gcov,source,graph \
    --rc lcov_branch_coverage=0 --output-file "$work/captured.info" >"$work/lcov.log" 2>&1; then
    traces+=(-a "$work/captured.info")
  else
    cat "$work/lcov.log" >&2
  fi
fi

if [[ ${#traces[@]} -eq 0 ]]; then
  exit 0
fi
lcov --quiet "${traces[@]}" --output-file "$work/merged.info" >/dev/null 2>&1 || exit 0

# Normalise source paths to workspace-relative ones, keep manifest sources, drop filtered ones.
python_filter() {
  awk -v filters="$(IFS=$'\n'; echo "${filters[*]:-}")" -v manifest="$manifest" -v root="$PWD/" '
    BEGIN {
      nf = split(filters, pats, "\n")
      if (manifest != "") {
        while ((getline line < manifest) > 0) keep[line] = 1
        have_manifest = length(keep) > 0
      }
    }
    /^SF:/ {
      path = substr($0, 4)
      sub("^" root, "", path)
      n = index(path, "/execroot/")
      if (n > 0) { sub(/.*\/execroot\/[^\/]+\//, "", path) }
      skip = 0
      for (i = 1; i <= nf; i++) if (pats[i] != "" && path ~ ("^" pats[i] "$")) skip = 1
      if (have_manifest && !(path in keep)) skip = 1
      if (!skip) print "SF:" path
      next
    }
    { if (!skip) print }
    /^end_of_record/ { skip = 0 }
  ' "$1"
}
python_filter "$work/merged.info" >"$output_file"
