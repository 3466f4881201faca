"""test_fuzz_short: the short fuzz run of `make test` (issue 8, hostile input).

Runs tests/fuzz/run: every libFuzzer target (tests/fuzz/fuzz_*.c, built by
`make fuzz-build` into build/fuzz with ASan + UBSan) replays its seed corpus
and every stored crash input (tests/fuzz/regress/), then fuzzes for
FUZZ_SHORT_SECONDS (default 10) seconds. Prints the runner's TAP lines and
the executions per target. `make fuzz` is the long run.
"""
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    env = dict(os.environ)
    env["FUZZ_SECONDS"] = os.environ.get("FUZZ_SHORT_SECONDS", "20")
    # a fixed seed and count: the same inputs on every CI run (see tests/fuzz/run)
    env["FUZZ_RUNS"] = os.environ.get("FUZZ_SHORT_RUNS", "40000")
    env.pop("FUZZ_ARTIFACTS", None)     # findings of the short run stay in build/
    r = subprocess.run([os.path.join(ROOT, "tests", "fuzz", "run")], cwd=ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(r.stdout)
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
