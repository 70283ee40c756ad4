#!/usr/bin/env python3
"""Remote cache hit rates of one Bazel invocation, from its build event JSON file.

  cache_hits.py BEP_JSON

Prints one line:
  remote cache: actions 170/172 hit (98.8%), test results 30/30 hit (100.0%)

Actions: Bazel's closing "N processes: X remote cache hit, Y internal, Z linux-sandbox." line
(carried in the file's progress events); internal actions (symlinks, runfiles trees) never touch
a cache and are left out. With --disk_cache also set, Bazel counts its hits as remote too. Test results: each test attempt's executionInfo.cachedRemotely
(results Bazel already held in memory, cachedLocally, are left out: no cache was asked).
Exit status 1 when the file has neither figure.
"""

import re
import sys

from bep import events

PROCESSES = re.compile(r"(\d+) processes?: ([^\n]*)")


def rate(hit, total):
    return "%d/%d hit (%.1f%%)" % (hit, total, 100.0 * hit / total) if total else "none run"


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    processes = None  # (total, {kind: count}) from the last "processes:" line
    tests_hit = tests_total = 0
    for event in events(argv[1]):
        ident = event.get("id", {})
        if "progress" in ident:
            for text in (event.get("progress", {}).get("stderr", ""),
                         event.get("progress", {}).get("stdout", "")):
                for match in PROCESSES.finditer(text):
                    kinds = {}
                    for part in match.group(2).rstrip(".").split(","):
                        count, _, kind = part.strip().partition(" ")
                        if count.isdigit():
                            kinds[kind.strip()] = int(count)
                    processes = (int(match.group(1)), kinds)
        elif "testResult" in ident:
            result = event.get("testResult", {})
            if result.get("cachedLocally"):
                continue
            tests_total += 1
            if result.get("executionInfo", {}).get("cachedRemotely"):
                tests_hit += 1
    if processes is None and tests_total == 0:
        print("remote cache: no action or test figures in %s" % argv[1])
        return 1
    actions = "unknown"
    if processes is not None:
        total, kinds = processes
        hit = kinds.get("remote cache hit", 0)
        actions = rate(hit, total - kinds.get("internal", 0))
    print("remote cache: actions %s, test results %s" % (actions, rate(tests_hit, tests_total)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
