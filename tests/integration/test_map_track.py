#!/usr/bin/env python3
"""One order's map, GET /api/v1/map.svg?order=ID, through the real parts: mosquitto,
the gateway, a device fed by gpsfake replaying the generated Hohhot track from the
depot to the site, so the positions of the order's way exist in the store. The SVG
parses as XML and holds the crew's track as a polyline of >= 2 points inside the
viewBox, the site's geofence circle, the order marker, the arrival mark and the
crew; an unknown order is 404 naming it, a malformed one 400; a department
(another department's or its own order) is refused as before (the map is the
dispatchers'). Its words: English by default, Chinese with lang=zh (legend,
tooltips, titles; times still Asia/Shanghai, as 北京时间), a bad lang 400 naming
lang. The pictures are saved to build/test-artifacts/map/ (and as PNG when
rsvg-convert is installed) for review."""
import os
import shutil
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402
import nmea_track  # noqa: E402

SITE = (40.8420, 111.7500)      # a street in Xincheng district, Hohhot (urban)
DEPOT = (40.8370, 111.7440)     # the crew's depot, ~750 m south-west
W, H = 900, 700
NS = "{http://www.w3.org/2000/svg}"
ARTIFACTS = os.path.join(harness.ROOT, "build", "test-artifacts", "map")


def points(poly):
    out = []
    for pair in poly.get("points", "").split():
        x, y = pair.split(",")
        out.append((float(x), float(y)))
    return out


def save(name, svg):
    os.makedirs(ARTIFACTS, exist_ok=True)
    out = os.path.join(ARTIFACTS, name)
    with open(out, "w", encoding="utf-8") as f:
        f.write(svg)
    print("# map: %s" % os.path.relpath(out, harness.ROOT))
    if shutil.which("rsvg-convert"):
        png = out[:-4] + ".png"
        subprocess.run(["rsvg-convert", "-o", png, out], check=True)
        print("# map: %s" % os.path.relpath(png, harness.ROOT))


def legend(root):
    g = next((g for g in root.iter(NS + "g") if g.get("id") == "legend"), None)
    return [x.text for x in g.iter(NS + "text")] if g is not None else []


def scenario(t, run):
    run.start_broker()
    run.start_gateway()
    disp = run.add_token("disp", "dispatcher")
    dept = run.add_token("mkt", "department", "市场营销部")
    run.cli("crew", "add", "crew-north", "--device", "dev-01", "--name", "Xincheng repair team")
    run.start_device("dev-01")
    oid = run.cli("order", "create", "--category", "2", "--address", "新城区 海拉尔东路 12 号",
                  "--site", "%f,%f" % SITE).stdout.strip()
    run.cli("review", oid, "--dispatch", "crew-north")
    run.wait_timeline(oid, "delivered", 20)
    track = nmea_track.write(run.path("dev-01.nmea"), DEPOT, SITE, speed=15, wait=3,
                             dwell=120, dt=0.3)
    run.start_gpsfake("dev-01", track, cycle=0.1)
    o = run.wait_timeline(oid, "arrived", 120)
    t.eq(o["arrive_method"], "gps", "the crew arrived by GPS")
    harness.wait_for(lambda: len(run.api("GET", "/api/v1/orders/%s/track" % oid)[1]
                                 .get("points", [])) >= 5, 30, "positions stored for the order")
    n_track = len(run.api("GET", "/api/v1/orders/%s/track" % oid)[1]["points"])

    code, svg = run.api("GET", "/api/v1/map.svg?order=%s&width=%d&height=%d"
                        % (urllib.parse.quote(oid), W, H), token=disp)
    t.eq(code, 200, "map.svg?order= for a dispatcher: 200")
    save("order-track.svg", svg)
    root = ET.fromstring(svg.encode())
    t.eq(root.tag, NS + "svg", "the answer parses as an SVG document")
    vb = [float(v) for v in root.get("viewBox").split()]
    t.eq(vb, [0, 0, W, H], "the viewBox is the requested size")
    polys = [p for p in root.iter(NS + "polyline") if p.get("class") == "track"]
    t.eq(len(polys), 1, "one track polyline")
    pts = points(polys[0]) if polys else []
    t.check(len(pts) >= 2, "the track has >= 2 points (%d positions stored)" % n_track, pts)
    t.check(all(0 <= x <= W and 0 <= y <= H for x, y in pts),
            "every track point is inside the viewBox", pts)
    title = polys[0].find(NS + "title").text if polys else ""
    t.check("%d positions" % n_track in title and "Asia/Shanghai" in title,
            "the track's tooltip counts the stored positions, times in Asia/Shanghai", title)
    fence = [c for c in root.iter(NS + "circle") if c.get("class") == "geofence"]
    t.check(len(fence) == 1 and float(fence[0].get("r")) > 1, "the site's geofence circle",
            [c.attrib for c in fence])
    t.check(any(c.get("data-order") == oid and c.get("class") != "dim"
                for c in root.iter(NS + "circle")), "the order's marker in full, data-order")
    crews = [g for g in root.iter(NS + "g") if g.get("data-crew") == "crew-north"]
    t.eq(len(crews), 1, "the crew's marker, data-crew")
    classes = {g.get("class") for g in root.iter(NS + "g")}
    t.check({"track-start", "track-end", "arrival"} <= classes,
            "start, end and arrival marks", classes)
    arr = next((g for g in root.iter(NS + "g") if g.get("class") == "arrival"), None)
    t.check(arr is not None and "gps" in arr.find(NS + "title").text,
            "the arrival mark is the GPS fix", arr is not None and arr.find(NS + "title").text)
    t.check(float(fence[0].get("r")) < W / 2 if fence else False,
            "framed on the order, not the province")
    t.check("overdue" in legend(root) and "geofence" in legend(root),
            "no lang: the legend in English", legend(root))

    # --- the same map in Chinese: the same drawing, the words from the zh tables
    code, zsvg = run.api("GET", "/api/v1/map.svg?order=%s&width=%d&height=%d&lang=zh"
                         % (urllib.parse.quote(oid), W, H), token=disp)
    t.eq(code, 200, "map.svg?order=&lang=zh: 200")
    save("order-track-zh.svg", zsvg)
    zroot = ET.fromstring(zsvg.encode("utf-8"))    # raises on bad XML or UTF-8
    words = legend(zroot)
    t.check({"已超时", "城区", "轨迹", "电子围栏"} <= set(words) and "overdue" not in words,
            "lang=zh: the legend in Chinese", words)
    t.eq([e.tag for e in zroot.iter()], [e.tag for e in root.iter()],
         "lang=zh: the same elements as in English, only the words differ")
    zpoly = [p for p in zroot.iter(NS + "polyline") if p.get("class") == "track"]
    ztitle = zpoly[0].find(NS + "title").text if zpoly else ""
    t.check("%d 个定位点" % n_track in ztitle and "北京时间" in ztitle,
            "lang=zh: the track's tooltip in Chinese, times in Asia/Shanghai", ztitle)
    zarr = next((g for g in zroot.iter(NS + "g") if g.get("class") == "arrival"), None)
    t.check(zarr is not None and "GPS 核验" in zarr.find(NS + "title").text,
            "lang=zh: the arrival mark says GPS-verified in Chinese",
            zarr is not None and zarr.find(NS + "title").text)
    code, esvg = run.api("GET", "/api/v1/map.svg?order=%s&width=%d&height=%d&lang=en"
                         % (urllib.parse.quote(oid), W, H), token=disp)
    t.check(code == 200 and legend(ET.fromstring(esvg.encode())) == legend(root),
            "lang=en: the default's English legend")
    code, bsvg = run.api("GET", "/api/v1/map.svg?lang=zh", token=disp)
    t.check(code == 200 and "班组 · 位置时效" in legend(ET.fromstring(bsvg.encode("utf-8"))),
            "the board's map in Chinese too", code)
    for bad in ("fr", "ZH", "zh-CN", ""):
        code, b = run.api("GET", "/api/v1/map.svg?order=%s&lang=%s"
                          % (urllib.parse.quote(oid), bad), token=disp)
        t.check(code == 400 and b["error"]["field"] == "lang",
                "lang=%r: 400 naming lang" % bad, b)

    # --- refusals
    code, b = run.api("GET", "/api/v1/map.svg?order=LC-19990101-0001", token=disp)
    t.check(code == 404 and "LC-19990101-0001" in b["error"]["message"],
            "an unknown order: 404 naming it", b)
    code, b = run.api("GET", "/api/v1/map.svg?order=%3Cx%3E", token=disp)
    t.check(code == 400 and b["error"]["field"] == "order", "a malformed id: 400 naming order", b)
    code, b = run.api("GET", "/api/v1/map.svg?order=%s" % oid, token=dept)
    t.check(code == 403 and oid not in str(b),
            "a department token (the order is another's): refused, nothing of the order", b)
    code, _ = run.api("GET", "/api/v1/map.svg", token=dept)
    t.eq(code, 403, "the board's map stays the dispatchers' (department 403)")
    code, svg = run.api("GET", "/api/v1/map.svg", token=disp)
    t.check(code == 200 and "data-order=\"%s\"" % oid in svg,
            "map.svg without ?order= is the board's map as before")
    t.check(run.gateway.alive(), "the gateway keeps serving")


def main():
    t = harness.Tap()
    return harness.run_checks(t, "maptrack", scenario, "map track run")


if __name__ == "__main__":
    sys.exit(main())
