#!/usr/bin/env python3
"""Writes compile_commands.json (for clangd and other tools) from `bazel aquery`.

  python3 tools/compdb/compdb.py [TARGET_PATTERN ...] [-- BAZEL ARGS]    (default //...)

One entry per C++ compile action Bazel would run for the targets (their exact command lines,
in Bazel's execution root, so relative paths such as bazel-out/... and external/... resolve),
written to compile_commands.json at the workspace root. Nothing is built; generated headers
only exist after a build.
"""

import json
import os
import subprocess
import sys


def compile_commands(aquery_json, execroot):
    """Entries for every CppCompile action in `bazel aquery --output=jsonproto` output."""
    data = json.loads(aquery_json) if aquery_json.strip() else {}
    entries = []
    for action in data.get("actions", []):
        if action.get("mnemonic") != "CppCompile":
            continue
        args = action.get("arguments", [])
        source = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-c"), None)
        # Bazel's own helpers and host-configuration (tool) builds are not what an editor opens.
        if source is None or source.startswith("external/bazel_tools/") or any(
                a.startswith("bazel-out/host/") for a in args):
            continue
        entries.append({"directory": execroot, "arguments": args, "file": source})
    entries.sort(key=lambda e: e["file"])
    return entries


def main(argv):
    args = argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0
    root = os.environ.get("BUILD_WORKSPACE_DIRECTORY") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.chdir(root)
    bazel = "./bazelw" if os.path.exists("bazelw") else "bazel"
    patterns = args or ["//..."]
    query = 'mnemonic("CppCompile", deps(%s))' % " + ".join(patterns)
    try:
        execroot = subprocess.run([bazel, "info", "execution_root"] + extra, check=True,
                                  capture_output=True, text=True).stdout.strip()
        out = subprocess.run([bazel, "aquery", "--output=jsonproto", "--noshow_progress", query]
                             + extra, check=True, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError as e:
        sys.stderr.write("compdb: %s failed:\n%s" % (" ".join(e.cmd), e.stderr[-2000:]))
        return 1
    try:
        entries = compile_commands(out, execroot)
    except ValueError as e:
        sys.stderr.write("compdb: bazel aquery printed something that is not JSON: %s\n" % e)
        return 1
    with open("compile_commands.json", "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=1)
        f.write("\n")
    print("compdb: wrote %s (%d compile commands, directory %s)"
          % (os.path.join(root, "compile_commands.json"), len(entries), execroot))
    return 0 if entries else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
