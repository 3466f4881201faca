#!/usr/bin/env python3
"""linecrew-zones end to end: build a WGS-84 zone file from the real DataV
county boundaries (GCJ-02, read in place from ../shared) with the project's rule
file, check it, look up named places, draw it; a bad rule file and a rule that
matches nothing fail with the file:line named and leave no output behind."""
import os
import subprocess
import sys
import tempfile
import xml.dom.minidom

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

TOOL = os.path.join(harness.BIN, "linecrew-zones")
ADMIN = os.path.join(harness.SHARED, "data", "maps", "datav", "150000_counties_merged.json")
RULES = os.path.join(harness.ROOT, "maps", "zones", "inner-mongolia.rules")

# (what, "lat,lon", --point-crs, expected output line)
LOOKUPS = [
    ("Hohhot (GeoNames, WGS-84)", "40.81056,111.65222", "wgs84", "urban (回民区)"),
    ("新城区 seat (DataV centre, GCJ-02)", "40.818311,111.670801", "gcj02", "urban (新城区)"),
    ("Xilin Hot (GeoNames)", "43.96667,116.03333", "wgs84", "rural (锡林浩特市)"),
    ("EJIN QI station (NOAA)", "41.950,101.067", "wgs84", "remote (额济纳旗)"),
    ("BAYAN MOD station (NOAA)", "40.750,104.500", "wgs84", "remote (阿拉善左旗)"),
    ("Jagdaqi (GeoNames): Heilongjiang's enclave", "50.41667,124.11667", "wgs84",
     "outside every zone: default rural"),
]


def run(*args):
    return subprocess.run([TOOL] + list(args), capture_output=True, text=True, timeout=60)


def main():
    t = harness.Tap()
    if not os.path.isfile(ADMIN):
        print("# SKIPPED: %s not present (real boundaries are read in place from ../shared)" % ADMIN)
        t.check(True, "real boundaries # SKIP not present")
        return t.done()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "zones.geojson")
        r = run("build", "--from", ADMIN, "--crs", "gcj02", "--rule", RULES, "-o", out)
        t.eq(r.returncode, 0, "build exits 0 (%s)" % r.stderr.strip())
        t.check("103 zones (23 urban, 77 rural, 3 remote; 0 by the default rule), "
                "28628 vertices GCJ-02 -> WGS-84" in r.stdout, "build summary", r.stdout)
        t.check(not os.path.exists(out + ".tmp"), "no temporary file left")
        r = run("check", out)
        t.check(r.returncode == 0 and "103 zones, 109 polygons, OK" in r.stdout, "check", r.stdout + r.stderr)
        for what, pt, crs, want in LOOKUPS:
            r = run("lookup", out, pt, "--point-crs", crs)
            t.eq(r.stdout.strip(), want, "lookup %s" % what)
        svg = os.path.join(d, "zones.svg")
        r = run("svg", out, "-o", svg)
        t.eq(r.returncode, 0, "svg exits 0")
        doc = xml.dom.minidom.parse(svg)
        paths = doc.getElementsByTagName("path")
        names = {p.getElementsByTagName("title")[0].firstChild.data.rsplit(" (", 1)[0] for p in paths}
        # 109 polygons; parts smaller than the 0.75 px tolerance (islands of
        # multi-part units) are not drawn, but every unit is
        t.check(100 <= len(paths) <= 109, "svg: parsed as XML, one path per visible polygon",
                len(paths))
        t.eq(len(names), 103, "svg: every unit drawn")

        bad = os.path.join(d, "bad.rules")
        with open(bad, "w") as f:
            f.write("urban suffix 区\nrural sufix 旗\n")
        out2 = os.path.join(d, "never.geojson")
        r = run("build", "--from", ADMIN, "--crs", "gcj02", "--rule", bad, "-o", out2)
        t.check(r.returncode == 1 and bad + ":2: \"sufix\"" in r.stderr, "bad rule names file:line", r.stderr)
        t.check(not os.path.exists(out2), "no output after a bad rule file")
        with open(bad, "w") as f:
            f.write("urban suffix 区\nrural suffix 旗 县 市\nremote adcode 152921 159999\n")
        r = run("build", "--from", ADMIN, "--crs", "gcj02", "--rule", bad, "-o", out2)
        t.check(r.returncode == 1 and "adcode 159999 matches no feature" in r.stderr
                and bad + ":3:" in r.stderr, "a listed adcode matching nothing is an error", r.stderr)
        t.check(not os.path.exists(out2), "no output after an unmatched rule")
        r = run("build", "--from", ADMIN, "--rule", RULES, "-o", out2)
        t.eq(r.returncode, 2, "--crs is required (usage)")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
