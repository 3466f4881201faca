#!/usr/bin/env python3
"""Arrival detected from real receiver logs (gpsd's regression captures in
../shared/data/nmea, read in place) replayed through gpsfake into real gpsd, and
no arrival from logs with no fix or with cold-boot garbage.

The site of each positive case is placed on that log's own track: the median of
the fixes Debian's gpsd 3.22 reported for it (the .gpsd-3.22.json companion)."""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

NMEA = os.path.join(harness.SHARED, "data", "nmea")

# (log, expect arrival, site or None = median of the log's own fixes)
CASES = [
    ("haicom-305N.log", True, None),        # walking, eph falls from 400 m to ~21 m
    ("bu353s4.log", True, None),            # stationary, southern/eastern hemisphere
    ("eXplorist110.log", False, (37.37, -122.03)),   # never gets a fix
    ("gp-320fw-2019-04-07-coldboot.log", False, (40.84, 111.75)),  # garbage, far away
]


def median_fix(log):
    pts = []
    with open(os.path.join(NMEA, log + ".gpsd-3.22.json")) as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("class") == "TPV" and r.get("mode", 0) >= 2 and "lat" in r:
                pts.append((r["lat"], r["lon"]))
    return statistics.median(p[0] for p in pts), statistics.median(p[1] for p in pts)


def main():
    t = harness.Tap()
    if not os.path.isdir(NMEA):
        print("# SKIPPED: %s not present (real receiver logs are read in place from ../shared)" % NMEA)
        t.check(True, "real receiver logs # SKIP ../shared/data/nmea not present")
        return t.done()
    run = harness.Run("realgps")
    ok = False
    try:
        run.start_broker()
        run.start_gateway()
        orders = {}
        for i, (log, expect, site) in enumerate(CASES):
            dev = "dev-r%d" % i
            crew = "crew-r%d" % i
            run.cli("crew", "add", crew, "--device", dev)
            run.start_device(dev)
            lat, lon = site or median_fix(log)
            oid = run.cli("order", "create", "--category", "2", "--address",
                          "site on the track of " + log, "--site", "%.7f,%.7f" % (lat, lon),
                          "--radius", "50").stdout.strip()
            run.cli("review", oid, "--dispatch", crew)
            run.wait_timeline(oid, "delivered", 20)
            orders[log] = (dev, oid, expect)
        gf = {}
        for log, (dev, oid, expect) in orders.items():
            gf[log] = run.start_gpsfake(dev, os.path.join(NMEA, log), cycle=0.1, linger=2)
        for log, (dev, oid, expect) in orders.items():
            if expect:
                o = run.wait_timeline(oid, "arrived", 120)
                t.eq(o["arrive_method"], "gps", "%s: arrival detected by GPS from the real log" % log)
                ev = next(e for e in o["timeline"] if e["kind"] == "arrived")
                tr = (ev.get("detail") or {}).get("track") or []
                t.check(len(tr) >= 5, "%s: arrival evidence holds the deciding fixes" % log, ev)
        for log, (dev, oid, expect) in orders.items():
            if not expect:
                harness.wait_for(lambda: not gf[log].alive(), 120, "gpsfake to finish " + log)
                o = run.order(oid)
                t.check("arrived" not in [e["kind"] for e in o["timeline"]],
                        "%s: no arrival without a good fix at the site" % log)
                t.check(run.devices[dev]["proc"].alive(), "%s: device survives the log" % log)
        ok = t.failed == 0
    except Exception as e:
        t.check(False, "real-GPS run completed", "%s\n%s" % (e, run.logs()))
    finally:
        if not ok:
            print("# logs kept in " + run.dir)
        run.close(failed=not ok)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
