"""mp_fuzz_target: one libFuzzer target, its seed corpus, and the corpus replayed as a unit test.

    mp_fuzz_target(name = "price", srcs = ["price_fuzzer.cc"], deps = ["//marketpipe/core:price"])

declares
  :price_fuzzer              the fuzzer. Under --config=fuzz (clang 14, libFuzzer, ASan+UBSan)
                             libFuzzer's main; otherwise a plain main that runs the files and
                             directories given as arguments once each (a crasher replays anywhere).
  :price_fuzzer_corpus_test  an mp_cc_test ("unit") that feeds every file of corpus/price/ (the
                             seeds and each crasher ever found, kept as regression inputs) to
                             LLVMFuzzerTestOneInput, in `bazel test //...` with gcc.
`tools/fuzz/fuzz price [SECONDS]` runs the fuzzer.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library")
load("//testing:defs.bzl", "mp_cc_test")

def mp_fuzz_target(name, srcs, deps = []):
    """Declares <name>_fuzzer and <name>_fuzzer_corpus_test.

    Args:
      name: the target's short name; its corpus lives in corpus/<name>/.
      srcs: sources defining LLVMFuzzerTestOneInput.
      deps: what they test.
    """
    lib = name + "_fuzzer_lib"
    cc_library(
        name = lib,
        testonly = True,
        srcs = srcs,
        deps = deps,
        # LLVMFuzzerTestOneInput is called from a main linked after it.
        alwayslink = True,
    )
    cc_binary(
        name = name + "_fuzzer",
        testonly = True,
        linkopts = select({
            "//marketpipe/fuzz:libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = [":" + lib] + select({
            "//marketpipe/fuzz:libfuzzer": [],
            "//conditions:default": ["//marketpipe/fuzz:replay_main"],
        }),
    )
    mp_cc_test(
        name = name + "_fuzzer_corpus_test",
        data = native.glob(["corpus/%s/**" % name]),
        local_defines = ["MP_FUZZ_CORPUS=\\\"marketpipe/fuzz/corpus/%s\\\"" % name],
        markers = ["unit"],
        shard_count = 1,
        srcs = ["//marketpipe/fuzz:corpus_test.cc"],
        deps = [":" + lib],
    )
