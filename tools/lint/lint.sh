#!/usr/bin/env bash
# MarketPipe lint: buildifier on every Starlark file, clang-format on every C++ file.
#
#   bash tools/lint/lint.sh            check; exit 1 and list the offending files on any finding
#   bash tools/lint/lint.sh --fix      rewrite the files in place (formatting only), then re-check
#   bash tools/lint/lint.sh PATH...    only the given files / directories
#   ./bazelw run //tools/lint -- [--fix] [PATH...]
#
# Files: everything git tracks plus untracked files that are not ignored (so a new BUILD file is
# checked before it is added). Outside a git checkout, every file under the root except bazel-*.
#
# buildifier is the npm package pinned in tools/lint/package.json (+ package-lock.json), installed
# on first use into ${MARKETPIPE_CACHE:-~/.cache/marketpipe}/npm/ (never into the repo). Set
# BUILDIFIER=/path/to/buildifier to use another binary. clang-format is Debian's (14).
set -euo pipefail

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

fix=0
paths=()
for arg in "$@"; do
  case "$arg" in
    --fix) fix=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "lint: unknown option: $arg" >&2; usage >&2; exit 2 ;;
    *) paths+=("$arg") ;;
  esac
done

# The workspace root: `bazel run` tells us; run directly, it is two levels above this script.
if [[ -n "${BUILD_WORKSPACE_DIRECTORY:-}" ]]; then
  root="$BUILD_WORKSPACE_DIRECTORY"
else
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fi
cd "$root"

readonly BUILDIFIER_VERSION=8.2.1
# Warnings buildifier 8 raises that cannot be fixed on Bazel 4.2.3 offline: there is no
# rules_shell, rules_proto, rules_python or rules_android here, and the cc toolchain/objc/fdo
# names only matter inside @rules_cc itself. cc_library/cc_binary/cc_test/cc_import stay on:
# load them from "@rules_cc//cc:defs.bzl" (our local forwarder).
readonly BUILDIFIER_WARNINGS="-native-sh-binary,-native-sh-library,-native-sh-test,\
-native-cc-proto,-native-proto,-native-proto-common,-native-proto-info,\
-native-proto-lang-toolchain,-native-proto-lang-toolchain-info,-native-py,-native-android,\
-native-java-binary,-native-java-common,-native-java-import,-native-java-info,\
-native-java-library,-native-java-lite-proto,-native-java-package-config,-native-java-plugin,\
-native-java-plugin-info,-native-java-proto,-native-java-runtime,-native-java-test,\
-native-java-toolchain,-native-cc-toolchain,-native-cc-toolchain-suite,\
-native-cc-fdo-prefetch-hints,-native-cc-fdo-profile,-native-cc-objc-import,\
-native-cc-objc-library"
readonly CC_NATIVE_WARNINGS="native-cc-binary,native-cc-import,native-cc-library,native-cc-test"
readonly CC_NEW_LOAD_RE='"@rules_cc//cc:cc_(binary|import|library|test)\.bzl"'
# Files whose whole point is to call native.* (the rules_cc forwarder): formatting is checked,
# lint warnings are not.
readonly LINT_EXEMPT_PREFIXES=("third_party/rules_cc/")

log() { printf 'lint: %s\n' "$*" >&2; }

# --- Which files ------------------------------------------------------------------------------

list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard -- "${paths[@]}"
  else
    local where=("${paths[@]}")
    [[ ${#where[@]} -gt 0 ]] || where=(.)
    find "${where[@]}" -path './bazel-*' -prune -o -path '*/.git' -prune -o -type f -print0 |
      sed -z 's#^\./##'
  fi
}

starlark_files=()
cc_files=()
while IFS= read -r -d '' f; do
  [[ -f "$f" ]] || continue # tracked but deleted in the work tree
  base="${f##*/}"
  case "$base" in
    BUILD | BUILD.bazel | WORKSPACE | WORKSPACE.bazel | *.BUILD | *.bzl) starlark_files+=("$f") ;;
    *.h | *.cc) cc_files+=("$f") ;;
  esac
done < <(list_files)

# --- buildifier -------------------------------------------------------------------------------

# Prints the path of a buildifier binary, installing the pinned npm package when needed.
ensure_buildifier() {
  if [[ -n "${BUILDIFIER:-}" ]]; then
    echo "$BUILDIFIER"
    return
  fi
  local cache="${MARKETPIPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/marketpipe}/npm"
  local dir="$cache/buildifier-$BUILDIFIER_VERSION"
  local arch os
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    riscv64) arch=riscv64 ;;
    *) arch="$(uname -m)" ;;
  esac
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  local pkg="node_modules/@bazel/buildifier"
  local bin="$dir/$pkg/buildifier-${os}_${arch}"

  # Fast path: installed from exactly this lock file.
  if [[ -x "$bin" ]] && cmp -s "$dir/package-lock.json" tools/lint/package-lock.json; then
    echo "$bin"
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    log "npm is needed to install buildifier $BUILDIFIER_VERSION (Debian: apt-get install nodejs npm)"
    return 1
  fi
  log "installing @bazel/buildifier@$BUILDIFIER_VERSION into $dir (one time)"
  mkdir -p "$cache"
  # Install beside the target and rename into place, so concurrent runs never see half a tree.
  local tmp
  tmp="$(mktemp -d "$cache/.buildifier-install.XXXXXX")"
  cp tools/lint/package.json tools/lint/package-lock.json "$tmp/"
  if ! (cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
    cat "$tmp/npm.log" >&2
    rm -rf "$tmp"
    log "npm ci failed (is the npm registry reachable?)"
    return 1
  fi
  rm -f "$tmp/npm.log"
  rm -rf "$dir.old"
  [[ -e "$dir" ]] && mv "$dir" "$dir.old"
  mv "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp" # another run won the race: fine
  rm -rf "$dir.old"
  if [[ ! -x "$bin" ]]; then
    # Unknown platform name: fall back to the package's node launcher.
    bin="$dir/node_modules/.bin/buildifier"
  fi
  [[ -x "$bin" ]] || { log "no buildifier binary in $dir"; return 1; }
  echo "$bin"
}

lint_exempt() {
  local p
  for p in "${LINT_EXEMPT_PREFIXES[@]}"; do
    [[ "$1" == "$p"* ]] && return 0
  done
  return 1
}

failed=0
# Not in a pipeline: it sets `failed`.
report() { # title, then one offending file per line on stdin
  local title="$1" files
  files="$(sort -u)"
  [[ -n "$files" ]] || return 0
  failed=1
  printf '\nlint: %s (%d file(s)):\n' "$title" "$(wc -l <<<"$files")"
  sed 's/^/  /' <<<"$files"
}

run_buildifier() {
  [[ ${#starlark_files[@]} -gt 0 ]] || return 0
  local buildifier
  buildifier="$(ensure_buildifier)" || { failed=1; return 0; }

  local lintable=() f
  for f in "${starlark_files[@]}"; do
    lint_exempt "$f" || lintable+=("$f")
  done

  if [[ $fix -eq 1 ]]; then
    if [[ ${#lintable[@]} -gt 0 ]]; then
      # buildifier adds e.g. load("@rules_cc//cc:cc_library.bzl", ...), which only newer
      # rules_cc has: point those loads at our forwarder, "@rules_cc//cc:defs.bzl".
      "$buildifier" -lint=fix -warnings="$CC_NATIVE_WARNINGS" "${lintable[@]}" || true
      # (grep finds nothing once the tree is clean: not an error under set -e/pipefail.)
      { grep -lE "$CC_NEW_LOAD_RE" "${lintable[@]}" 2>/dev/null || true; } |
        while IFS= read -r f; do sed -i -E "s#$CC_NEW_LOAD_RE#\"@rules_cc//cc:defs.bzl\"#" "$f"; done
    fi
    # Formatting (also merges several loads of the same file into one).
    "$buildifier" -mode=fix -lint=off "${starlark_files[@]}" || true
  fi

  local out frc=0 lrc=0
  out="$(mktemp -d)"
  # Formatting of every file, lint warnings of the non-exempt ones. Exit 4 = findings; anything
  # else (e.g. a syntax error) is shown as is.
  "$buildifier" -mode=check -lint=off "${starlark_files[@]}" >"$out/fmt" 2>&1 || frc=$?
  : >"$out/lint"
  if [[ ${#lintable[@]} -gt 0 ]]; then
    "$buildifier" -mode=check -lint=warn -warnings="$BUILDIFIER_WARNINGS" "${lintable[@]}" \
      >"$out/lint" 2>&1 || lrc=$?
  fi
  if [[ $frc -ne 0 && $frc -ne 4 ]] || [[ $lrc -ne 0 && $lrc -ne 4 ]]; then
    failed=1
    log "buildifier failed (exit $frc/$lrc):"
    cat "$out/fmt" >&2
  fi

  report "buildifier: not formatted (fix: bash tools/lint/lint.sh --fix)" \
    < <(sed -n 's/ # reformat$//p' "$out/fmt")
  # One line per warning: "path:line: category: message (url)"; longer explanations follow on
  # indented/blank lines and are left out.
  grep -E '^[^ ]+:[0-9]+: [a-z-]+: ' "$out/lint" >"$out/warnings" || true
  if [[ -s "$out/warnings" ]]; then
    report "buildifier: lint warnings (https://github.com/bazelbuild/buildtools/blob/main/WARNINGS.md)" \
      < <(cut -d: -f1 "$out/warnings")
    sed -E 's/^/    /; s/ \(https:[^)]*\)$//' "$out/warnings"
    if grep -q ': native-cc-' "$out/warnings"; then
      printf '  hint: Bazel 4.2.3 has no "@rules_cc//cc:cc_library.bzl"; load cc_* from our forwarder:\n'
      printf '        load("@rules_cc//cc:defs.bzl", "cc_library")   (lint.sh --fix does this)\n'
    fi
  elif [[ $lrc -eq 4 ]]; then
    failed=1
    cat "$out/lint"
  fi
  rm -rf "$out"
}

# --- clang-format -----------------------------------------------------------------------------

run_clang_format() {
  [[ ${#cc_files[@]} -gt 0 ]] || return 0
  local cf
  cf="$(command -v clang-format-14 || command -v clang-format || true)"
  if [[ -z "$cf" ]]; then
    log "clang-format not found (./bazelw installs Debian's clang-format)"
    failed=1
    return 0
  fi
  if [[ $fix -eq 1 ]]; then
    printf '%s\0' "${cc_files[@]}" | xargs -0 -n 50 -P 2 "$cf" -i --style=file
  fi
  local out rc=0
  out="$(mktemp)"
  printf '%s\0' "${cc_files[@]}" |
    xargs -0 -n 50 -P 2 "$cf" --dry-run -Werror --style=file --ferror-limit=1 >"$out" 2>&1 || rc=$?
  local bad
  bad="$(sed -nE 's/^(.+):[0-9]+:[0-9]+: error: code should be clang-formatted.*/\1/p' "$out")"
  if [[ -n "$bad" ]]; then
    report "clang-format: not formatted (fix: bash tools/lint/lint.sh --fix)" <<<"$bad"
  elif [[ $rc -ne 0 ]]; then
    failed=1
    log "clang-format failed (exit $rc):"
    cat "$out" >&2
  fi
  rm -f "$out"
}

start=$SECONDS
run_buildifier
run_clang_format
if [[ $failed -ne 0 ]]; then
  printf '\nlint: FAILED (%d Starlark, %d C++ files checked, %ds)\n' \
    "${#starlark_files[@]}" "${#cc_files[@]}" $((SECONDS - start))
  exit 1
fi
printf 'lint: OK (%d Starlark, %d C++ files checked, %ds)\n' \
  "${#starlark_files[@]}" "${#cc_files[@]}" $((SECONDS - start))
