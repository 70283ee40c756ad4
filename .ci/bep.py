"""Reads a Bazel build event JSON file (--build_event_json_file): one event per line.

Shared by .ci/cache_hits.py and .ci/test_results.py.
"""

import json


def events(path):
    """Yields each event of the file as a dict. A line that is not JSON (the truncated last line
    of an interrupted run) is skipped."""
    with open(path, encoding="utf-8") as bep:
        for line in bep:
            try:
                yield json.loads(line)
            except ValueError:
                continue
