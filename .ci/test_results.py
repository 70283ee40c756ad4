#!/usr/bin/env python3
"""Counts test cases from one `bazel test` run, for .ci/run.

  test_results.py BEP_JSON

Reads Bazel's build event JSON (--build_event_json_file) and, for every test target, run and
shard, the test.xml of every attempt. It counts the <testcase> elements of the last attempt:
failed = with a <failure> or <error> child (Bazel's generated XML reports a crash or non-zero
exit as <error>), skipped/disabled ones are not counted.

Retries: Bazel retries only tests declared flaky (mp_cc_test markers = ["flaky"], tag "flaky").
A shard that failed an attempt and passed a later one is FLAKY: it is printed with the cases
that failed on the way ("  FLAKY //pkg:t (shard 2): Suite.Case"). It counts as passed only when
the target is marked flaky; a test not marked flaky that passed only on retry counts its
retried cases as failed.

A shard whose status is not PASSED while its XML shows no failing case (a leak report at exit,
a crash after the XML was written, a timeout) counts as 1 failed case. So does a test target
that never ran (failed to build, cancelled). Tests left out by --test_tag_filters are not
counted at all.

Prints the failing cases, then a last line "RESULT <passed> <failed>".
"""

import sys
import urllib.parse
import xml.etree.ElementTree as ET

from bep import events

OK_STATUSES = {"PASSED", "FLAKY"}


def uri_to_path(uri):
    if uri.startswith("file://"):
        return urllib.parse.unquote(urllib.parse.urlparse(uri).path)
    return None  # e.g. bytestream:// with --remote_download_minimal: not readable here


def count_cases(xml_path):
    """Returns (passed names, failed names, skipped) or None when the file is missing or
    unreadable."""
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError):
        return None
    passed, failed, skipped = [], [], 0
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        if case.get("classname"):
            name = case.get("classname") + "." + name
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(name)
        elif (case.find("skipped") is not None or case.get("status") == "notrun"
              or case.get("result") in ("skipped", "suppressed")):
            skipped += 1
        else:
            passed.append(name)
    return passed, failed, skipped


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = {}  # (label, run, shard) -> (attempt, status, xml uri) of the last attempt
    earlier = {}  # (label, run, shard) -> [(attempt, status, xml uri)] of the other attempts
    flaky_marked = set()  # targets tagged "flaky" (the flaky marker)
    summaries = {}  # label -> overall status
    test_targets = set()  # every test target the patterns matched (run or not)
    broken = set()  # targets that failed to build (or were aborted)
    for event in events(argv[1]):
        ident = event.get("id", {})
        if "testResult" in ident:
            tid = ident["testResult"]
            key = (tid["label"], tid.get("run", 1), tid.get("shard", 1))
            attempt = tid.get("attempt", 1)
            payload = event.get("testResult", {})
            xml = next((o.get("uri") for o in payload.get("testActionOutput", [])
                        if o.get("name") == "test.xml"), None)
            this = (attempt, payload.get("status", "NO_STATUS"), xml)
            if key not in results or attempt >= results[key][0]:
                if key in results:
                    earlier.setdefault(key, []).append(results[key])
                results[key] = this
            else:
                earlier.setdefault(key, []).append(this)
        elif "testSummary" in ident:
            label = ident["testSummary"]["label"]
            summaries[label] = event.get("testSummary", {}).get("overallStatus", "NO_STATUS")
        elif "targetConfigured" in ident and "testSize" in event.get("configured", {}):
            test_targets.add(ident["targetConfigured"]["label"])
            if "flaky" in event["configured"].get("tag", []):
                flaky_marked.add(ident["targetConfigured"]["label"])
        elif "targetCompleted" in ident:
            if not event.get("completed", {}).get("success", False):
                broken.add(ident["targetCompleted"]["label"])

    passed = failed = skipped = 0
    failures = []
    flakes = []
    for (label, run, shard), (attempt, status, uri) in sorted(results.items()):
        where = label + (" (shard %d)" % shard if any(
            k[0] == label and k[2] != 1 for k in results) else "")
        # Cases that failed in an earlier attempt of a shard whose last attempt passed.
        retried = []
        for _, earlier_status, earlier_uri in sorted(earlier.get((label, run, shard), [])):
            if earlier_status in OK_STATUSES or status not in OK_STATUSES:
                continue
            got = count_cases(uri_to_path(earlier_uri)) if earlier_uri else None
            names = (got[1] if got else []) or ["(%s, no failing case in its test.xml)" %
                                                  earlier_status]
            retried.extend(n for n in names if n not in retried)
        if retried:
            marked = label in flaky_marked
            verdict = "FLAKY" if marked else "FAILED (passed only on retry, not marked flaky)"
            flakes.extend("  %s %s: %s" % (verdict, where, name) for name in retried)
            if not marked:
                failed += len(retried)
        counted = count_cases(uri_to_path(uri)) if uri and uri_to_path(uri) else None
        if counted is None:
            if status in OK_STATUSES:
                passed += 1
            else:
                failed += 1
                failures.append("%s: %s (no test.xml)" % (where, status))
            continue
        p, f, s = counted
        if retried and label not in flaky_marked:
            p = [name for name in p if name not in retried]  # counted as failed above
        passed, skipped = passed + len(p), skipped + s
        failed += len(f)
        failures.extend("%s: %s" % (where, name) for name in f)
        if status not in OK_STATUSES and not f:
            failed += 1
            failures.append("%s: %s, although every case in test.xml passed" % (where, status))

    # Tests that never ran: a summary that says so, or a test target that failed to build. (A
    # test left out by --test_tag_filters has neither.)
    ran = {label for (label, _, _) in results}
    for label in sorted((set(summaries) | (test_targets & broken)) - ran):
        status = summaries.get(label, "FAILED_TO_BUILD")
        if status not in OK_STATUSES:
            failed += 1
            failures.append("%s: %s" % (label, status))

    for line in flakes:
        print(line)
    for line in failures:
        print("  FAILED " + line)
    if skipped:
        print("  (%d skipped/disabled test case(s) not counted)" % skipped)
    print("RESULT %d %d" % (passed, failed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
