#!/usr/bin/env python3
"""Arrival from real receiver logs (gpsd's regression captures in
../shared/data/nmea, read in place) replayed through gpsfake into real gpsd.

The captures are old: their dates are 2007..2019, and gpsd 3.22 dates them
1024 weeks later (haicom-305N: 2026-11-22, bu353s4: 2034). The device rejects
fixes whose GPS time is far from its own clock (future, long past, rollover)
or before the order existed, so replayed as they are they can never decide an
arrival. Each positive case therefore replays a RE-STAMPED copy written into
the test's run directory (never into the repo): every date and time-of-day
field moved by one whole-second offset so the capture starts now, every other
byte unchanged, checksums recomputed. The positions, errors, speeds and
sentence order stay the receiver's own output.

Cases:
  * sites on the tracks of four captures (the median of the fixes gpsd 3.22
    reported, the .gpsd-3.22.json companion): arrival by GPS, the deciding
    fixes inside the radius widened by their error;
  * a site 2 km off a capture's track: no arrival;
  * the no-fix and the cold-boot-garbage logs: no arrival;
  * two captures replayed UNMODIFIED, site on the track: no arrival, and the
    device counts the stale / rollover-dated fixes as rejected.
The per-capture outcome is printed as "# result ..." lines."""
import datetime
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

NMEA = os.path.join(harness.SHARED, "data", "nmea")
RADIUS_M = 50

# (log, how to replay, site, expect arrival, gpsfake cycle s). site None = on the
# track (median fix); ("off", m) = that many metres north of the median.
CASES = [
    ("haicom-305N.log", "restamp", None, True, 0.1),     # walking, eph 400 m -> 21 m
    ("bu353s4.log", "restamp", None, True, 0.1),         # stationary, 37 S 175 E
    ("skytraq-dgps.log", "restamp", None, True, 0.05),   # DGPS, eph ~6 m
    ("telit-he910.log", "restamp", None, True, 0.05),    # a modem's receiver, 190 fixes
    ("skytraq-dgps.log", "restamp", ("off", 2000), False, 0.05),   # site off the track
    ("eXplorist110.log", "asis", (37.37, -122.03), False, 0.1),    # never gets a fix
    ("gp-320fw-2019-04-07-coldboot.log", "asis", (40.84, 111.75), False, 0.1),  # garbage
    ("haicom-305N.log", "asis", None, False, 0.1),       # dated 3 days ago by gpsd: stale
    ("bu353s4.log", "asis", None, False, 0.1),           # dated 2034 by gpsd: future
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


def dist_m(lat1, lon1, lat2, lon2):
    """Haversine; enough to check a few tens of metres."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


# ---- re-stamping ----

TIME_FIELD = {"GGA": 1, "GLL": 5, "GNS": 1, "GBS": 1, "GST": 1, "RMC": 1, "ZDA": 1,
              "PSTI030": 2}
DATE6_FIELD = {"RMC": 9, "PSTI030": 12}     # ddmmyy


def _checksum(body):
    c = 0
    for b in body:
        c ^= b
    return c


def _tod(s):
    """'095255.810' -> (seconds of day, '.810'), or None."""
    if len(s) < 6 or not s[:6].isdigit():
        return None
    h, m, sec = int(s[0:2]), int(s[2:4]), int(s[4:6])
    if h > 23 or m > 59 or sec > 60:
        return None
    return h * 3600 + m * 60 + sec, s[6:]


def _sentence(line):
    """The fields of an NMEA line (checksum or not), or None."""
    if not line.startswith(b"$"):
        return None
    body = line[1:line.rindex(b"*")] if b"*" in line else line[1:]
    try:
        fields = body.decode("ascii").split(",")
    except UnicodeDecodeError:
        return None
    if fields[0] == "PSTI" and len(fields) > 12 and fields[1] == "030":
        fields[0] = "..PSTI030"     # SkyTraq's proprietary fix: time [2], date [12]
    elif len(fields[0]) != 5:
        return None
    return fields


def _first_datetime(lines):
    for line in lines:
        f = _sentence(line.rstrip(b"\r\n"))
        if f is None:
            continue
        kind = f[0][2:]
        try:
            if kind == "RMC" and len(f) > 9 and _tod(f[1]) and len(f[9]) == 6:
                d = datetime.date(2000 + int(f[9][4:6]) if int(f[9][4:6]) < 80
                                  else 1900 + int(f[9][4:6]), int(f[9][2:4]), int(f[9][0:2]))
            elif kind == "ZDA" and len(f) > 4 and _tod(f[1]) and f[4].isdigit():
                d = datetime.date(int(f[4]), int(f[3]), int(f[2]))
            else:
                continue
        except ValueError:
            continue
        sod = _tod(f[1])[0]
        return datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc) + \
            datetime.timedelta(seconds=sod)
    return None


def restamp(src, dst, start):
    """Copy NMEA log src to dst with every date/time moved by one whole-second
    offset so its first dated sentence is at start (aware UTC datetime). Only the
    time-of-day and date fields and the checksum of a changed sentence change.
    Returns the number of sentences re-stamped."""
    with open(src, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    first = _first_datetime(lines)
    if first is None:
        raise ValueError("%s: no dated sentence to re-stamp from" % src)
    offset = datetime.timedelta(seconds=round((start - first).total_seconds()))
    out, n = [], 0
    cur_date = first.date()     # the date a time-only sentence belongs to
    for line in lines:
        eol = line[len(line.rstrip(b"\r\n")):]
        f = _sentence(line.rstrip(b"\r\n"))
        kind = f[0][2:] if f else None
        idx = TIME_FIELD.get(kind)
        if f is None or idx is None or len(f) <= idx or _tod(f[idx]) is None:
            out.append(line)
            continue
        sod, frac = _tod(f[idx])
        day = cur_date
        di = DATE6_FIELD.get(kind)
        if di is not None and len(f) > di and len(f[di]) == 6 and f[di].isdigit():
            yy = int(f[di][4:6])
            day = datetime.date(2000 + yy if yy < 80 else 1900 + yy, int(f[di][2:4]),
                                int(f[di][0:2]))
        elif kind == "ZDA" and len(f) > 4 and f[4].isdigit():
            day = datetime.date(int(f[4]), int(f[3]), int(f[2]))
        cur_date = day
        t = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc) + \
            datetime.timedelta(seconds=sod) + offset
        f[idx] = t.strftime("%H%M%S") + frac
        if di is not None and len(f) > di and len(f[di]) == 6 and f[di].isdigit():
            f[di] = t.strftime("%d%m%y")
        elif kind == "ZDA" and len(f) > 4 and f[4].isdigit():
            f[2], f[3], f[4] = t.strftime("%d"), t.strftime("%m"), t.strftime("%Y")
        if kind == "PSTI030":
            f[0] = "PSTI"
        body = ",".join(f).encode("ascii")
        had_sum = b"*" in line
        out.append(b"$" + body + (b"*%02X" % _checksum(body) if had_sum else b"") + eol)
        n += 1
    with open(dst, "wb") as f:
        f.writelines(out)
    return n


def scenario(t, run):
    run.start_broker()
    run.start_gateway()
    orders = []
    for i, (log, how, site, expect, cycle) in enumerate(CASES):
        dev = "dev-r%d" % i
        crew = "crew-r%d" % i
        run.cli("crew", "add", crew, "--device", dev)
        run.start_device(dev)
        if site is None or site[0] == "off":
            lat, lon = median_fix(log)
            if site is not None:
                lat += site[1] / 111132.0
        else:
            lat, lon = site
        oid = run.cli("order", "create", "--category", "2", "--address",
                      "%s (%s)" % (log, how), "--site", "%.7f,%.7f" % (lat, lon),
                      "--radius", str(RADIUS_M)).stdout.strip()
        run.cli("review", oid, "--dispatch", crew)
        run.wait_timeline(oid, "delivered", 20)
        orders.append(dict(log=log, how=how, dev=dev, oid=oid, expect=expect,
                           lat=lat, lon=lon, cycle=cycle))
    # re-stamp after the orders exist: the copies start now
    start = datetime.datetime.now(datetime.timezone.utc)
    for o in orders:
        src = os.path.join(NMEA, o["log"])
        if o["how"] == "restamp":
            path = run.path("restamped-%s-%s" % (o["dev"], o["log"]))
            n = restamp(src, path, start)
            t.check(n > 0, "%s: re-stamped copy written (%d sentences)" % (o["log"], n))
        else:
            path = src
        o["gf"] = run.start_gpsfake(o["dev"], path, cycle=o["cycle"], linger=2)
    for o in orders:
        name = "%s (%s%s)" % (o["log"], o["how"], ", site off track" if
                              o["how"] == "restamp" and not o["expect"] else "")
        if o["expect"]:
            od = run.wait_timeline(o["oid"], "arrived", 180)
            ev = next(e for e in od["timeline"] if e["kind"] == "arrived")
            det = ev.get("detail") or {}
            tr = det.get("track") or []
            t.eq(od["arrive_method"], "gps", "%s: arrival detected by GPS" % name)
            t.check(len(tr) >= 5, "%s: the evidence holds the deciding fixes" % name, ev)
            far = [f for f in tr if dist_m(o["lat"], o["lon"], f["lat"], f["lon"]) >
                   RADIUS_M + f.get("eph", 0) + 1]
            t.check(not far, "%s: every deciding fix inside the radius + its error" % name,
                    far)
            dist = det.get("dist_m", det.get("dist"))
            print("# result %-40s arrival by GPS, %d deciding fixes, %s from the site, "
                  "dwell %.0f s" % (name, len(tr), "%.0f m" % dist if dist is not None
                                    else "? m", det.get("dwell_ms", 0) / 1000))
        else:
            harness.wait_for(lambda: not o["gf"].alive(), 240, "gpsfake to finish " + o["log"])
            od = run.order(o["oid"])
            st = json.loads(run.devcmd(o["dev"], "status", "--json").stdout)
            gps = st["gps"]
            t.check("arrived" not in [e["kind"] for e in od["timeline"]],
                    "%s: no arrival" % name, gps)
            t.check(run.devices[o["dev"]]["proc"].alive(), "%s: device survives the log" % name)
            if o["how"] == "asis" and o["log"] in ("haicom-305N.log", "bu353s4.log"):
                # A TPV that carries no time yet (gpsd reports GGA-only epochs
                # so) cannot be judged by its date and may count as good; how
                # many of them the unit sees depends on when it connected.
                dated = sum(gps["rejects"].get(k, 0) for k in ("future", "stale", "rollover"))
                t.check(dated > 0 and dated >= gps["good"],
                        "%s: stale/rollover-dated fixes rejected and counted" % name, gps)
            print("# result %-40s no arrival; gps reports %d, good %d, no-fix %d, "
                  "rejected %d (%s)" % (name, gps["reports"], gps["good"], gps["nofix"],
                                        gps["rejected"], json.dumps(gps.get("rejects", {}))))


def main():
    t = harness.Tap()
    if not os.path.isdir(NMEA):
        print("# SKIPPED: %s not present (real receiver logs are read in place from ../shared)" % NMEA)
        t.check(True, "real receiver logs # SKIP ../shared/data/nmea not present")
        return t.done()
    return harness.run_checks(t, "realgps", scenario, "real-GPS run")


if __name__ == "__main__":
    sys.exit(main())
