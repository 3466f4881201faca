#!/usr/bin/env python3
"""test_hostile_files: the malformed-input catalogue of the config files of both
daemons and of the zone files (issue 8).

Config: every bad line makes `linecrew-gateway -n -f FILE` and
`linecrew-device -f FILE -n` exit non-zero with "FILE:LINE: KEY: ...", and
creates no database or journal. Zones: every bad file makes
`linecrew-zones check FILE` exit 1 with a message naming the file and the
JSON path. A good file of each kind passes (the control). No daemon serves
here; the daemons' live input is in test_hostile_http.py / test_hostile_mqtt.py.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

GW = os.path.join(harness.BIN, "linecrew-gateway")
DEV = os.path.join(harness.BIN, "linecrew-device")
ZT = os.path.join(harness.BIN, "linecrew-zones")


def run(argv):
    r = subprocess.run(argv, capture_output=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


GW_CASES = [  # (name, bad line, what the message must name)
    ("port out of range", "http_port 99999", "http_port"),
    ("port not a number", "http_port eighty", "http_port"),
    ("negative interval", "resend_s -1", "resend_s"),
    ("unknown key", "http_prot 8080", "http_prot"),
    ("bool that is not one", "mqtt_plain_dev maybe", "mqtt_plain_dev"),
    ("unterminated quote", 'db "/tmp/x.db', ""),
    ("huge line", "zones " + "z" * 5000, ""),
    ("invalid UTF-8 key", "h\xfft\xfep_port 1", ""),
    ("missing argument", "http_port", "http_port"),
    ("too many arguments", "http_port 1 2", "http_port"),
    ("integer overflow", "http_port 99999999999999999999999", "http_port"),
    ("NUL byte in the line", "http_port 80\x0080", ""),
]
DEV_CASES = [
    ("port not a number", "mqtt_port abc", "mqtt_port"),
    ("dwell out of range", "arrive_dwell_s 99999", "arrive_dwell_s"),
    ("speed as text", "arrive_max_speed_mps fast", "arrive_max_speed_mps"),
    ("unknown key", "gpsd_hots 127.0.0.1", "gpsd_hots"),
    ("window 0", "send_window 0", "send_window"),
    ("huge line", "journal " + "j" * 5000, ""),
]

RING = [[111.6, 40.8], [111.8, 40.8], [111.8, 40.9], [111.6, 40.9], [111.6, 40.8]]


def feature(zone="urban", name="a", geom=None):
    return {"type": "Feature", "properties": {"zone": zone, "name": name},
            "geometry": geom if geom is not None else {"type": "Polygon", "coordinates": [RING]}}


def fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


ZONE_CASES = [  # (name, file bytes, JSON path the message must name or "")
    ("unknown zone", fc(feature(zone="urbn")), "features[0].properties.zone"),
    ("zone as a number", fc(feature(zone=1)), "features[0].properties.zone"),
    ("latitude out of range", fc(feature(geom={"type": "Polygon", "coordinates": [
        [[111.6, 40.8], [111.8, 95.0], [111.8, 40.9], [111.6, 40.8]]]})), "features[0].geometry"),
    ("ring of two points", fc(feature(geom={"type": "Polygon", "coordinates": [
        [[111.6, 40.8], [111.6, 40.8]]]})), "features[0].geometry"),
    ("coordinate as a string", fc(feature(geom={"type": "Polygon", "coordinates": [
        [["111.6", 40.8], [111.8, 40.8], [111.8, 40.9], [111.6, 40.8]]]})), "features[0].geometry"),
    ("unknown geometry type", fc(feature(geom={"type": "Circle", "coordinates": [111, 40]})),
     "features[0].geometry"),
    ("no features member", {"type": "FeatureCollection"}, "features"),
    ("features not an array", {"type": "FeatureCollection", "features": {}}, "features"),
    ("root an array", [1, 2], ""),
    ("truncated file", json.dumps(fc(feature()))[:60], ""),
    ("deeply nested", '{"type":"FeatureCollection","features":' + "[" * 5000 + "]" * 5000 + "}", ""),
    ("invalid UTF-8 name", json.dumps(fc(feature(name="X"))).replace('"X"', '"\udcff"'), ""),
    ("empty file", "", ""),
]


def main():
    t = harness.Tap()
    d = tempfile.mkdtemp(prefix="hostile-files-", dir=os.path.join(harness.ROOT, "build"))
    db = os.path.join(d, "gateway.db")
    journal = os.path.join(d, "device.db")
    gw_base = "db %s\nzones %s\nmqtt_host 127.0.0.1\nmqtt_plain_dev yes\n" % (db, harness.ZONES)
    dev_base = "id dev-01\njournal %s\nmqtt_plain_dev yes\n" % journal

    def conf(base, bad, name):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write((base + "# a comment\n").encode() + bad.encode("latin-1", "replace") + b"\n")
        return p, base.count("\n") + 2

    for daemon, argv, base, cases, out in (
            ("gateway", lambda p: [GW, "-n", "-f", p], gw_base, GW_CASES, db),
            ("device", lambda p: [DEV, "-f", p, "-n"], dev_base, DEV_CASES, journal)):
        p, _ = conf(base, "", "%s-good.conf" % daemon)
        rc, msg = run(argv(p))
        t.check(rc == 0 and "configuration OK" in msg, "%s: a good file passes -n" % daemon, msg)
        for i, (name, bad, key) in enumerate(cases):
            p, line = conf(base, bad, "%s-%d.conf" % (daemon, i))
            rc, msg = run(argv(p))
            where = "%s:%d:" % (p, line)
            good = rc != 0 and where in msg and (key == "" or (where + " " + key) in msg)
            t.check(good, "%s config, %s: exit %d, \"%s%s\"" % (
                daemon, name, rc, where.replace(d + "/", ""), (" " + key) if key else ""), msg[-400:])
        t.check(not os.path.exists(out), "%s: no bad file created or changed its store" % daemon)

    zp = os.path.join(d, "zones-good.geojson")
    with open(zp, "w") as f:
        json.dump(fc(feature()), f)
    rc, msg = run([ZT, "check", zp])
    t.check(rc == 0, "zones: a good file passes check", msg)
    for i, (name, doc, path) in enumerate(ZONE_CASES):
        zp = os.path.join(d, "zones-%d.geojson" % i)
        with open(zp, "wb") as f:
            f.write(doc.encode("utf-8", "surrogateescape") if isinstance(doc, str)
                    else json.dumps(doc).encode())
        rc, msg = run([ZT, "check", zp])
        good = rc == 1 and zp in msg and (path == "" or path in msg) and "Sanitizer" not in msg
        t.check(good, "zone file, %s: exit 1 naming the file%s" % (
            name, (" and " + path) if path else ""), "exit %d: %s" % (rc, msg[-400:]))
    print("# catalogue: gateway config %d, device config %d, zone files %d cases" % (
        len(GW_CASES), len(DEV_CASES), len(ZONE_CASES)))
    if t.failed == 0:
        import shutil
        shutil.rmtree(d, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
