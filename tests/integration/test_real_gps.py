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
The per-capture outcome is printed as "# result ..." lines.

Every replay is GATED on its unit watching gpsd. gpsfake does not wait for a
client: it writes the log into its pty as soon as its gpsd is up, and gpsd
(without -n) opens that pty only on a client's WATCH, dropping what was
written before, and never for a WATCH that came before gpsfake added the pty.
The units are started long before the replays (the orders must exist first),
so their gpsd reconnect timer (device/gps.c) has backed off to 8..30 s between
attempts: a short capture (bu353s4: 10 s) could be over before its unit
connected, and a unit that connected in the instant before the pty was added
got nothing. So gpsfake runs single-stepped (-i: each sentence waits for a
line on its stdin) behind a FIFO gate, with gpsd -n (the pty is open from the
moment gpsfake adds it, whatever the order of the WATCH), and the test opens
the gate only when both sides show the unit watching: gpsd's own log (-D 3)
says it opened the pty and answered a WATCH, and the unit's status says it is
connected to gpsd. Sentence 1 is written after that, so the unit sees the
whole capture, however late it connected."""
import datetime
import json
import math
import os
import re
import statistics
import sys
import time

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


def gpsd_reports(log):
    """How many TPV reports gpsd 3.22 makes of the whole log (its .gpsd-3.22.json)."""
    n = 0
    with open(os.path.join(NMEA, log + ".gpsd-3.22.json")) as f:
        for line in f:
            try:
                n += json.loads(line).get("class") == "TPV"
            except ValueError:
                continue
    return n


def dist_m(lat1, lon1, lat2, lon2):
    """Haversine; enough to check a few tens of metres."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


# ---- gated replay ----

# sh runs gpsfake single-stepped (-i: before each sentence it reads a line from
# its stdin), its stdin a pipe from a subshell that blocks reading the gate
# FIFO ($0) and, once the test writes a line there, answers every prompt
# (yes ""). gpsfake starts its gpsd at once, so the unit can connect and
# WATCH, but writes nothing into the pty before the gate opens.
GATED_GPSFAKE = '{ read -r go < "$0" && exec yes ""; } | exec gpsfake "$@"'
GATE_TIMEOUT = 90   # s: the unit retries gpsd at most 30 s apart (GPS_RETRY_MAX_MS)
WATCH_ANSWER = re.compile(r'=> client\(\d+\): \{"class":"DEVICES".*\{"class":"WATCH","enable":true')


def start_gated_gpsfake(run, dev, log, cycle, linger):
    """gpsfake replaying log to dev's gpsd port, holding sentence 1 until
    open_gate(). Its gpsd runs with -n: it opens the pty as soon as gpsfake
    adds it, whether the unit's WATCH came before or after (without -n a
    WATCH that arrives before the add never gets the pty opened); and with
    -D 3, so its log (in gpsfake's) says when it opened the pty and answered
    a client's WATCH."""
    port = run.devices[dev]["gpsd_port"]
    gate = run.path("gate-%s" % dev)
    os.mkfifo(gate)
    proc = run.spawn("gpsfake-" + dev, ["sh", "-c", GATED_GPSFAKE, gate, "-1", "-i", "-n",
                                        "-q", "-P", str(port), "-W", str(linger),
                                        "-c", str(cycle), "-D", "3", log])
    return proc, gate


def gpsd_state(proc):
    """What gpsd's log says before the gate opens: (the pty is open: gpsd
    "activated GPS" after gpsfake's "+/dev/pts/N", gpsd answered a client's
    WATCH with DEVICES and WATCH enabled)."""
    text = proc.text()
    added = text.find("<= control(")
    return (added >= 0 and "activated GPS" in text[added:],
            WATCH_ANSWER.search(text) is not None)


def open_gate(gate):
    """Let the replay begin; False while the gate's reader is not there yet."""
    try:
        fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:     # ENXIO: no reader yet
        return False
    try:
        os.write(fd, b"go\n")
    finally:
        os.close(fd)
    return True


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
        o["gf"], o["gate"] = start_gated_gpsfake(run, o["dev"], path, o["cycle"], linger=2)
        o["gf_t0"] = time.monotonic()
    # Each replay begins only once gpsd reads its pty and its unit watches
    # gpsd: gpsd's log says it opened the pty and answered a WATCH (the unit
    # is that gpsd's only client), and the unit says it is connected. Gates
    # open as units get there, in any order; the timeout is for that event,
    # the replay itself is never timed against the unit.
    waiting = list(orders)

    def release():
        for o in list(waiting):
            if gpsd_state(o["gf"]) != (True, True):
                continue
            st = json.loads(run.devcmd(o["dev"], "status", "--json").stdout)
            if not st["gps"]["connected"] or not open_gate(o["gate"]):
                continue
            waiting.remove(o)
            print("# gate %s %-34s unit watching gpsd %.1f s after gpsfake started: replay "
                  "released" % (o["dev"], o["log"], time.monotonic() - o["gf_t0"]), flush=True)
        return not waiting
    try:
        harness.wait_for(release, GATE_TIMEOUT, "every unit to watch its gpsd", interval=0.2)
    except TimeoutError as e:
        def why(o):
            pty_open, watched = gpsd_state(o["gf"])
            return "%s (%s): gpsd %s the pty, %s a WATCH; gpsfake %s" % (
                o["dev"], o["log"], "opened" if pty_open else "has not opened",
                "answered" if watched else "has not answered",
                "running" if o["gf"].alive() else "exited")
        raise TimeoutError("%s; still waiting: %s" % (e, ", ".join(why(o) for o in waiting)))
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
            # "no arrival" means something only if the unit saw the capture:
            # the gated replay starts with the unit watching, so it gets every
            # report gpsd makes of the log (re-stamping changes no count)
            whole = gpsd_reports(o["log"])
            t.check(gps["reports"] >= whole, "%s: the unit got the whole replay (%d reports, "
                    "gpsd makes %d of the log)" % (name, gps["reports"], whole), gps)
            if o["how"] == "asis" and o["log"] in ("haicom-305N.log", "bu353s4.log"):
                # A TPV that carries no time yet (gpsd reports GGA-only epochs
                # so) cannot be judged by its date and may count as good: the
                # check is on the dated ones.
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
