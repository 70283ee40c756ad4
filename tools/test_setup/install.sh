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

stock() {
  rm -f "$rc"
  exit 0
}
[[ -z "${MP_STOCK_TEST_SETUP:-}" ]] || stock

# Debian's bazel names its install base in /etc/bazel/bazelrc; ask Bazel only otherwise.
install_base="$(sed -n 's/^startup --install_base=//p' /etc/bazel/bazelrc 2>/dev/null | tail -n 1)"
if [[ -z "$install_base" ]]; then
  install_base="$(cd "$ws" && bazel info install_base 2>/dev/null)" || stock
fi
tools="$install_base/embedded_tools"
upstream="$tools/tools/test/test-setup.sh"

# The key of the copy: our script and where Bazel's files are.
ours_sha256="$(sha256sum "$ours" | cut -c1-64)"
key="$(printf '%s\n%s\n' "$ours_sha256" "$tools" | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/marketpipe/bazel_tools"
copy="$cache/$key"
if [[ -f "$rc" && -f "$copy/tools/test/test-setup.sh" ]] && grep -qx "# key $key" "$rc"; then
  touch "$rc" # up to date: newer than the script again, so ./bazelw skips this
  exit 0
fi

if [[ ! -f "$upstream" ]] || [[ "$(sha256sum "$upstream" | cut -c1-64)" != "$upstream_sha256" ]]; then
  echo "bazelw: $upstream is not the Bazel 4.2.3 script tools/test_setup/test-setup.sh was" \
    "made from; tests run under Bazel's own (slower) test-setup.sh" >&2
  stock
fi

if [[ ! -f "$copy/tools/test/test-setup.sh" ]]; then
  mkdir -p "$cache"
  # Copies for other versions of the script that no workspace has installed for a week.
  find "$cache" -mindepth 1 -maxdepth 1 -mtime +7 -exec rm -rf {} + 2>/dev/null || true
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

{
  echo "# Written by ./bazelw (tools/test_setup/install.sh); not committed. Tests run under"
  echo "# tools/test_setup/test-setup.sh. MP_STOCK_TEST_SETUP=1 ./bazelw ... goes back to Bazel's."
  echo "# key $key"
  for command in build query fetch sync; do
    echo "$command --override_repository=bazel_tools=$copy"
  done
} >"$rc.tmp"
mv -f "$rc.tmp" "$rc"
touch "$copy" # in use: kept by the clean-up above
