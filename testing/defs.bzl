"""mp_cc_test: the one way MarketPipe declares a test.

Markers play the role of pytest markers. Each one expands into Bazel tags, size, sharding and
flakiness in this single place (after envoy_cc_test), so BUILD files stay declarative and
`--test_tag_filters=<marker>` selects tests.
"""

load("@rules_cc//cc:defs.bzl", "cc_test")

# marker -> what it sets. Sizes are ordered so a test with several markers gets the largest.
_MARKERS = {
    "unit": struct(tags = ["unit"], size = "small", sharded = True, flaky = False),
    "integration": struct(tags = ["integration", "exclusive"], size = "medium", sharded = False, flaky = False),
    "slow": struct(tags = ["slow"], size = "large", sharded = False, flaky = False),
    "flaky": struct(tags = ["flaky"], size = None, sharded = False, flaky = True),
}

_SIZES = ["small", "medium", "large", "enormous"]

# Unit tests are split into this many shards unless the test says otherwise: one per core of
# the machines we run on. The test main balances cases across them (see async_test_main.cc).
DEFAULT_UNIT_SHARDS = 2

ALLOWED_MARKERS = sorted(_MARKERS.keys())

def _check_markers(name, markers):
    if not markers:
        fail("mp_cc_test(name = \"%s\"): markers is required; allowed markers: %s" %
             (name, ", ".join(ALLOWED_MARKERS)))
    for marker in markers:
        if marker not in _MARKERS:
            fail("mp_cc_test(name = \"%s\"): unknown marker \"%s\"; allowed markers: %s" %
                 (name, marker, ", ".join(ALLOWED_MARKERS)))
    if "unit" in markers and "integration" in markers:
        fail("mp_cc_test(name = \"%s\"): a test is either \"unit\" or \"integration\", not both" % name)

def mp_cc_test(
        name,
        markers = None,
        srcs = [],
        deps = [],
        tags = [],
        size = None,
        shard_count = None,
        main = "//testing:async_test_main",
        **kwargs):
    """Declares a C++ test linked with the MarketPipe test main.

    Args:
      name: test name.
      markers: non-empty list drawn from "unit", "integration", "slow", "flaky".
      srcs: test sources.
      deps: extra dependencies (GoogleTest and the test main are added here).
      tags: extra tags, added to those the markers set.
      size: overrides the size the markers imply.
      shard_count: overrides the shard count ("unit" tests default to DEFAULT_UNIT_SHARDS).
      main: the gtest main to link; only the kit's own tests change it.
      **kwargs: passed to cc_test.
    """
    _check_markers(name, markers)

    all_tags = []
    implied_size = "small"
    sharded = False
    flaky = False
    for marker in markers:
        spec = _MARKERS[marker]
        for tag in spec.tags:
            if tag not in all_tags:
                all_tags.append(tag)
        if spec.size and _SIZES.index(spec.size) > _SIZES.index(implied_size):
            implied_size = spec.size
        sharded = sharded or spec.sharded
        flaky = flaky or spec.flaky
    for tag in tags:
        if tag not in all_tags:
            all_tags.append(tag)

    if shard_count == None and sharded:
        shard_count = DEFAULT_UNIT_SHARDS

    all_deps = list(deps)
    for dep in [main, "@com_google_googletest//:gtest"]:
        if dep and dep not in all_deps:
            all_deps.append(dep)
    cc_test(
        name = name,
        srcs = srcs,
        deps = all_deps,
        tags = all_tags,
        size = size or implied_size,
        shard_count = shard_count,
        flaky = flaky,
        **kwargs
    )
