"""Generate an NMEA 0183 track for gpsfake: a crew driving from a depot to a site.

The project's own track generator (the demo and the integration tests use it; the
real receiver logs in ../shared/data/nmea are used separately). It writes one
epoch every `dt` seconds of GPS time, each epoch as $GPRMC, $GPGGA and $GPGSA with
valid checksums. Replay it with `gpsfake -c dt/3` so that GPS time and wall-clock
time advance together: the fixes are as honest as a real receiver's.

    python3 nmea_track.py OUT.log --from 40.8380,111.7450 --to 40.8420,111.7500 \
        --speed 12 --wait 8 --dwell 120 --dt 0.3

Legs: `wait` seconds standing at the depot, the drive at `speed` m/s along the
straight line (with a little lateral noise), then `dwell` seconds parked at the
site with the jitter of a stationary receiver (a few metres).
"""
import argparse
import datetime as dt_
import math
import random

R = 6371008.8


def _cksum(body):
    c = 0
    for ch in body.encode("ascii"):
        c ^= ch
    return "%02X" % c


def _sentence(body):
    return "$%s*%s\r\n" % (body, _cksum(body))


def _nmea_lat(lat):
    h = "N" if lat >= 0 else "S"
    lat = abs(lat)
    d = int(lat)
    return "%02d%07.4f" % (d, (lat - d) * 60), h


def _nmea_lon(lon):
    h = "E" if lon >= 0 else "W"
    lon = abs(lon)
    d = int(lon)
    return "%03d%07.4f" % (d, (lon - d) * 60), h


def _move(lat, lon, north_m, east_m):
    return (lat + math.degrees(north_m / R),
            lon + math.degrees(east_m / (R * math.cos(math.radians(lat)))))


def _dist(a, b):
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(math.sqrt(h))


def epochs(start, end, speed, wait, dwell, dt, seed=1):
    """Yield (seconds since start, lat, lon, speed m/s, course deg)."""
    rnd = random.Random(seed)
    t = 0.0
    while t < wait:
        n, e = rnd.gauss(0, 1.5), rnd.gauss(0, 1.5)
        yield (t,) + _move(start[0], start[1], n, e) + (0.0, 0.0)
        t += dt
    total = _dist(start, end)
    course = math.degrees(math.atan2(
        math.radians(end[1] - start[1]) * math.cos(math.radians(start[0])),
        math.radians(end[0] - start[0]))) % 360
    s = 0.0
    while s < total:
        f = s / total
        lat = start[0] + (end[0] - start[0]) * f
        lon = start[1] + (end[1] - start[1]) * f
        lat, lon = _move(lat, lon, rnd.gauss(0, 2), rnd.gauss(0, 2))
        yield (t, lat, lon, speed, course)
        t += dt
        s += speed * dt
    t_end = t + dwell
    while t < t_end:
        n, e = rnd.gauss(0, 2.0), rnd.gauss(0, 2.0)
        yield (t,) + _move(end[0], end[1], n, e) + (0.0, 0.0)
        t += dt


def write(path, start, end, speed=12.0, wait=8.0, dwell=120.0, dt=0.3, t0=None,
          name="linecrew demo track"):
    t0 = t0 or dt_.datetime.now(dt_.timezone.utc)
    with open(path, "w", newline="") as f:
        f.write("# Name: %s\n# Generator: tests/lib/nmea_track.py (Linecrew)\n" % name)
        f.write("# From: %.6f,%.6f To: %.6f,%.6f Speed: %.1f m/s\n"
                % (start[0], start[1], end[0], end[1], speed))
        for sec, lat, lon, v, crs in epochs(start, end, speed, wait, dwell, dt):
            ts = t0 + dt_.timedelta(seconds=sec)
            hms = ts.strftime("%H%M%S") + (".%02d" % (ts.microsecond // 10000))
            dmy = ts.strftime("%d%m%y")
            la, lah = _nmea_lat(lat)
            lo, loh = _nmea_lon(lon)
            kn = v / 0.514444
            f.write(_sentence("GPRMC,%s,A,%s,%s,%s,%s,%.1f,%.1f,%s,,,A"
                              % (hms, la, lah, lo, loh, kn, crs, dmy)))
            f.write(_sentence("GPGGA,%s,%s,%s,%s,%s,1,09,0.9,1063.0,M,-16.0,M,,"
                              % (hms, la, lah, lo, loh)))
            f.write(_sentence("GPGSA,A,3,02,05,07,09,13,15,18,20,27,,,,1.6,0.9,1.3"))
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--from", dest="start", required=True)
    ap.add_argument("--to", dest="end", required=True)
    ap.add_argument("--speed", type=float, default=12.0)
    ap.add_argument("--wait", type=float, default=8.0)
    ap.add_argument("--dwell", type=float, default=120.0)
    ap.add_argument("--dt", type=float, default=0.3)
    a = ap.parse_args()
    p = lambda s: tuple(float(x) for x in s.split(","))
    write(a.out, p(a.start), p(a.end), a.speed, a.wait, a.dwell, a.dt)


if __name__ == "__main__":
    main()
