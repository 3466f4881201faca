#!/usr/bin/python3
"""The benchmark driver (tests/bench/run) on tiny sizes: correctness only.

Runs the dispatch, storm and HTTP parts against the real mosquitto and gateway
with a few devices and orders, and checks that the driver reports no lost or
doubled order (it reads the gateway's database read-only), that every part
produced its rows and that the table was written. Never asserts a timing:
figures belong to `make bench`. It builds
that one helper (build/bench/bench_mqtt) when missing, SKIPPED if it cannot.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

ROOT = harness.ROOT


def main():
    tap = harness.Tap()
    build = os.environ.get("LINECREW_BUILD", "build")
    sim = os.path.join(ROOT, build, "bench", "bench_mqtt")
    if not os.access(sim, os.X_OK):
        r = subprocess.run(["make", "--no-print-directory", "B=" + build,
                            os.path.join(build, "bench", "bench_mqtt")],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
        if r.returncode != 0 or not os.access(sim, os.X_OK):
            print("ok 1 # SKIPPED: %s not built (%s)" % (sim, r.stderr[-300:].strip()))
            return 0
    out = os.path.join(ROOT, build, "bench-smoke-results.txt")
    env = dict(os.environ, LINECREW_BUILD=build, LINECREW_BENCH_ONLY="dispatch,storm,http",
               LINECREW_BENCH_RUNS="3", LINECREW_BENCH_ORDERS="20",
               LINECREW_BENCH_STORM_ORDERS="60", LINECREW_BENCH_STORM_DEVICES="12",
               LINECREW_BENCH_HTTP_SECONDS="1", LINECREW_BENCH_OUT=out)
    r = subprocess.run([os.path.join(ROOT, "tests", "bench", "run")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    tap.eq(r.returncode, 0, "driver exits 0 (no order lost or doubled)")
    tap.check("FAIL:" not in r.stdout, "no FAIL line", r.stdout[-2000:] + r.stderr[-2000:])
    text = open(out).read() if os.path.exists(out) else ""
    tap.check(text == r.stdout, "the table on stdout is the one written to the file")
    names = [l.split()[0] for l in text.splitlines()[2:] if l.strip()]
    for want in ("dispatch_to_ack", "storm_60_orders_12_devs", "http_get_order",
                 "http_list_open_100_of_60"):
        tap.check(want in names, "table has rows of %s" % want, text)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
