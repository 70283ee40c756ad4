#!/usr/bin/env bash
# Puts tools/test_setup/test-setup.sh in place of Bazel's own for this workspace (./bazelw runs
# this before every Bazel command; it returns at once when nothing changed).
#
#   tools/test_setup/install.sh WORKSPACE_DIR
#
# Bazel runs tools/test/test-setup.sh of its embedded @bazel_tools repository around every test
# action, and no flag of Bazel 4.2.3 replaces it. So this builds a copy of @bazel_tools (symlinks
# to Bazel's files, ours for that one script) under ~/.cache/marketpipe/bazel_tools/ and writes
# WORKSPACE_DIR/.bazelw.bazelrc, which .bazelrc try-imports, with
# --override_repository=bazel_tools=<that copy>. Nothing else in @bazel_tools changes, so every
# other action keeps its cache key.
#
# Only over the exact upstream script ours was made from (Bazel 4.2.3's, sha256 below): another
# Bazel gets its own script back, with a warning. MP_STOCK_TEST_SETUP=1 does the same on purpose
# (to compare, or to rule our script out).
set -euo pipefail

ws="$1"
rc="$ws/.bazelw.bazelrc"
ours="$ws/tools/test_setup/test-setup.sh"
upstream_sha256=4280b9cefff000051f3a7e34553c58efde3488787b63a55af5dbe6fe2f0bf993 # Bazel 4.2.3

# Bazel's own script: no rc, so no override. Also what any failure below ends in: a faster test
# setup is never worth a Bazel command that does not run.
stock() {
  rm -f "$rc"
  exit 0
}
trap 'echo "bazelw: tools/test_setup/install.sh failed; tests run under Bazel'"'"'s own test-setup.sh" >&2; stock' ERR
[[ -z "${MP_STOCK_TEST_SETUP:-}" ]] || stock

# Debian's bazel (/usr/bin/bazel) names its install base in /etc/bazel/bazelrc; any other bazel
# on PATH (bazelisk, another version) is asked.
install_base=""
if [[ "$(command -v bazel)" == /usr/bin/bazel && -f /etc/bazel/bazelrc ]]; then
  while read -r line; do
    [[ "$line" != "startup --install_base="* ]] || install_base="${line#startup --install_base=}"
  done </etc/bazel/bazelrc
fi
if [[ -z "$install_base" ]]; then
  install_base="$(cd "$ws" && bazel info install_base 2>/dev/null)" || stock
fi
tools="$install_base/embedded_tools"
upstream="$tools/tools/test/test-setup.sh"

if [[ ! -f "$upstream" ]] || [[ "$(sha256sum "$upstream" | cut -c1-64)" != "$upstream_sha256" ]]; then
  echo "bazelw: $upstream is not the Bazel 4.2.3 script tools/test_setup/test-setup.sh was" \
    "made from; tests run under Bazel's own (slower) test-setup.sh" >&2
  stock
fi

# The key of the copy: our script and where Bazel's files are.
ours_sha256="$(sha256sum "$ours" | cut -c1-64)"
key="$(printf '%s\n%s\n' "$ours_sha256" "$tools" | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/marketpipe/bazel_tools"
copy="$cache/$key"
# A .bazelrc value is split at white space and cut at '#'.
if [[ "$copy" =~ [[:space:]\#\"\'\\] ]]; then
  echo "bazelw: $copy cannot go in a .bazelrc; tests run under Bazel's own test-setup.sh" >&2
  stock
fi
if [[ -f "$rc" && -f "$copy/tools/test/test-setup.sh" ]] && grep -qx "# key $key" "$rc"; then
  touch "$rc" # up to date: newer than the script again, so ./bazelw skips this
  exit 0
fi

# Copies are ~30 symlinks and one script each, one per version of our script: never deleted here
# (another clone may still point at an older one).
if [[ ! -f "$copy/tools/test/test-setup.sh" ]]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.new.XXXXXX")"
  link_all_but() { # DIR-IN-TOOLS NAME-TO-SKIP: symlink every entry of Bazel's DIR but one
    local entry dir="${1#.}"
    mkdir -p "$tmp$dir"
    for entry in "$tools$dir"/*; do
      [[ "${entry##*/}" == "$2" ]] || ln -s "$entry" "$tmp$dir/${entry##*/}"
    done
  }
  chmod 0755 "$tmp"
  link_all_but . tools
  link_all_but ./tools test
  link_all_but ./tools/test test-setup.sh
  install -m 0755 "$ours" "$tmp/tools/test/test-setup.sh"
  # Another bazelw may have built the same copy meanwhile: keep the first.
  mv -T "$tmp" "$copy" 2>/dev/null || rm -rf "$tmp"
fi

# Written aside and renamed, so a concurrent bazelw (or Bazel) never reads half a file.
new_rc="$(mktemp "$rc.XXXXXX")"
{
  echo "# Written by ./bazelw (tools/test_setup/install.sh); not committed. Tests run under"
  echo "# tools/test_setup/test-setup.sh. MP_STOCK_TEST_SETUP=1 ./bazelw ... goes back to Bazel's."
  echo "# key $key"
  for command in build query fetch sync; do
    echo "$command --override_repository=bazel_tools=$copy"
  done
} >"$new_rc"
chmod 0644 "$new_rc"
mv -f "$new_rc" "$rc"
