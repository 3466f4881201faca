#!/usr/bin/env python3
"""The supervisor's and dispatcher's tools through the real parts: mosquitto, the
gateway, three devices each fed by its own gpsfake.

Three crews parked at depots at different distances from a fault site (generated
NMEA tracks): the ranking puts them nearest first with their reach flags; the
order is dispatched to one crew and reassigned to another: the first device ends
with it cancelled, the second gets it delivered and its GPS arrival closes the
arrival stage, which still counts from the first dispatch. Three reports close
together form one outage cluster and a far one stays alone; linking declines the
duplicates in one action. The map is served as well-formed SVG naming the zones
and the orders."""
import json
import math
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402
import nmea_track  # noqa: E402

SITE = (40.8420, 111.7500)               # Hohhot urban core
DEPOT_B = (40.8470, 111.7530)            # ~0.6 km: nearest, drives to the site later
DEPOT_A = (40.8600, 111.7500)            # ~2 km
DEPOT_C = (41.2400, 111.7500)            # ~44 km: cannot make the 60 min limit
NEAR = (40.8150, 111.6900)               # three reports about one line fault, ~6 km away
FAR = (40.7700, 111.6000)                # and one far from all of them


def metres(a, b):
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def create(run, where, address):
    code, o = run.api("POST", "/api/v1/orders", {
        "category": 2, "address": address,
        "site": {"lat": where[0], "lon": where[1], "crs": "wgs84"}})
    if code != 201:
        raise RuntimeError("create order: %d %s" % (code, o))
    return o["id"]


def dev_orders(run, dev):
    return {x["id"]: x for x in json.loads(run.devcmd(dev, "orders", "--json").stdout)["orders"]}


def stage(o, name):
    return next(s for s in o["sla"] if s["stage"] == name)


def scenario(t, run):
    run.start_broker()
    run.start_gateway()
    crews = {"crew-a": ("dev-a", DEPOT_A), "crew-b": ("dev-b", DEPOT_B),
             "crew-c": ("dev-c", DEPOT_C)}
    for crew, (dev, depot) in crews.items():
        run.cli("crew", "add", crew, "--device", dev)
        run.start_device(dev)
        if crew == "crew-b":   # parked, then drives to the site once it has the order
            track = nmea_track.write(run.path(dev + ".nmea"), depot, SITE, speed=12,
                                     wait=45, dwell=300, dt=0.3, name="crew-b")
        else:
            track = nmea_track.write(run.path(dev + ".nmea"), depot, depot, speed=1,
                                     wait=0, dwell=600, dt=0.3, name=crew + " parked")
        run.start_gpsfake(dev, track, cycle=0.1)

    def positions():
        cs = run.api("GET", "/api/v1/crews")[1]["crews"]
        return all(c.get("pos") for c in cs) and cs
    harness.wait_for(positions, 30, "every crew's first position")

    # --- which crew: nearest first, with reach flags
    oid = create(run, SITE, "新城区 海拉尔东路 12 号")
    code, cand = run.api("GET", "/api/v1/orders/%s/candidates" % oid)
    t.eq(code, 200, "candidates answered")
    ranked = [c["crew"] for c in cand.get("candidates", [])]
    t.eq(ranked, ["crew-b", "crew-a", "crew-c"], "crews ranked nearest first")
    by = {c["crew"]: c for c in cand.get("candidates", [])}
    t.eq([by[c]["reach"] for c in ranked], ["yes", "yes", "no"],
         "reach flags: the two near crews make the 60 min limit, the far one does not")
    t.check(by["crew-b"]["dist_m"] < by["crew-a"]["dist_m"] < by["crew-c"]["dist_m"],
            "distances ascend", by)
    t.check(abs(by["crew-a"]["dist_m"] - metres(DEPOT_A, SITE)) < 60,
            "crew-a's distance is from its depot's GPS position", by["crew-a"])
    t.check(all(c["pos_age_s"] is not None and c["pos_age_s"] < 120 for c in by.values()),
            "every candidate shows the age of its position", by)
    t.eq(cand.get("due_from"), "now", "an order not yet dispatched is ranked against now + limit")
    out = run.cli("candidates", oid).stdout
    t.check(out.find("crew-b") < out.find("crew-a") < out.find("crew-c") and "no" in out,
            "linecrew candidates prints the ranking", out)
    out = run.cli("review", oid).stdout
    t.check("crew-b" in out and "reach" in out, "linecrew review ID without an action shows it",
            out)
    t.eq(run.api("GET", "/api/v1/orders/LC-19990101-0001/candidates")[0], 404,
         "candidates of an unknown order: 404")

    # --- dispatch to crew-a, then reassign to crew-b
    run.cli("review", oid, "--dispatch", "crew-a")
    o = run.wait_timeline(oid, "delivered", 30)
    t0 = o["dispatched_ms"]
    due0 = stage(o, "arrival")["due_ms"]
    code, cand = run.api("GET", "/api/v1/orders/%s/candidates" % oid)
    t.eq(cand.get("current_crew"), "crew-a", "a dispatched order names its crew")
    t.check("crew-a" not in [c["crew"] for c in cand.get("candidates", [])],
            "the crew holding the order is not a candidate", cand)
    t.eq(cand.get("arrive_due_ms"), due0, "ranked against the order's own deadline")
    code, b = run.api("POST", "/api/v1/orders/%s/reassign" % oid, {"crew": "crew-a"})
    t.eq(code, 409, "reassigning to the same crew: 409")
    code, b = run.api("POST", "/api/v1/orders/%s/reassign" % oid, {"crew": "nobody"})
    t.eq((code, b.get("error", {}).get("field")), (404, "crew"), "unknown crew: 404 naming crew")
    code, b = run.api("POST", "/api/v1/orders/%s/reassign" % oid, {"crew": "crew-b", "x": 1})
    t.eq((code, b.get("error", {}).get("field")), (400, "x"), "unknown field: 400 naming it")
    t.eq(run.order(oid)["crew"], "crew-a", "refused requests changed nothing")
    r = run.cli("reassign", oid, "--to", "crew-b", "--note", "crew-a is needed elsewhere")
    t.check("crew-b" in r.stdout, "linecrew reassign", r.stdout)
    o = run.order(oid)
    t.check((o["crew"], o["device"]) == ("crew-b", "dev-b") and
            o["state"] in ("dispatched", "delivered"),
            "the order is with crew-b, dispatched (or already delivered)", o["state"])
    t.eq(o["dispatched_ms"], t0, "the dispatch time is kept")
    t.eq(stage(o, "arrival")["due_ms"], due0, "the arrival deadline does not restart")
    ent = [e for e in o["timeline"] if e["kind"] == "reassigned"]
    t.check(len(ent) == 1 and ent[0]["detail"].get("from_crew") == "crew-a" and
            ent[0]["detail"].get("arrive_by_ms") == due0, "one reassigned entry", ent)
    harness.wait_for(lambda: dev_orders(run, "dev-a").get(oid, {}).get("state") == "cancelled",
                     30, "dev-a to cancel the order")
    t.check(True, "crew-a's device ends with the order cancelled")
    harness.wait_for(lambda: oid in dev_orders(run, "dev-b"), 30, "dev-b to hold the order")
    o = harness.wait_for(lambda: run.order(oid)["state"] != "dispatched" and run.order(oid),
                         30, "dev-b's delivered")
    t.check(o["delivered_ms"] and o["delivered_ms"] >= ent[0]["at_ms"] - 1000,
            "delivered by crew-b's device", o["state"])
    r = run.devcmd("dev-a", "accept", oid, check=False)
    o = run.order(oid)
    t.check(o["accepted_ms"] is None and o["crew"] == "crew-b",
            "crew-a can no longer act on the order", (r.stdout, r.stderr, o["accepted_ms"]))
    o = run.wait_timeline(oid, "arrived", 120)
    t.eq((o["arrive_method"], stage(o, "arrival")["verdict"]), ("gps", "met"),
         "crew-b's GPS arrival closes the arrival stage")
    t.eq(stage(o, "arrival")["start_ms"], t0, "arrival counted from the first dispatch")
    arr = next(e for e in o["timeline"] if e["kind"] == "arrived")
    t.eq(arr["actor"], "dev-b", "the arrival came from crew-b's device")

    # --- outage clusters: three close reports, one far
    near = [create(run, (NEAR[0] + d, NEAR[1] + d), "锡林南路 %d 号" % i)
            for i, d in enumerate((0.0, 0.0008, 0.0016))]
    far = create(run, FAR, "far away")
    code, cl = run.api("GET", "/api/v1/clusters?radius_m=300&window_min=60")
    t.eq(code, 200, "clusters answered")
    groups = [sorted(x["id"] for x in c["orders"]) for c in cl.get("clusters", [])]
    t.eq(groups, [sorted(near)], "one cluster: the three close reports; the far one alone")
    t.eq(run.api("GET", "/api/v1/clusters?radius_m=0")[1].get("error", {}).get("field"),
         "radius_m", "a bad radius is refused naming radius_m")
    out = run.cli("clusters", "--radius", "300").stdout
    t.check(all(i in out for i in near) and far not in out.split("single")[0],
            "linecrew clusters lists the cluster", out)
    code, b = run.api("POST", "/api/v1/orders/%s/link" % near[0],
                      {"duplicates": [near[1], "LC-19990101-0009"]})
    t.eq((code, b.get("error", {}).get("field")), (400, "duplicates[1]"),
         "linking an unknown order: 400 naming duplicates[1]")
    t.eq(run.order(near[1])["state"], "recorded", "and nothing was declined")
    r = run.cli("link", near[0], near[1], near[2])
    for d in near[1:]:
        o = run.order(d)
        t.eq((o["state"], o["decline_reason"], o["duplicate_of"], o["linked"]),
             ("declined", "duplicate", near[0], True), "%s declined as a linked duplicate" % d)
    t.eq(run.order(near[0])["state"], "recorded", "the original stays to be dispatched")
    code, cl = run.api("GET", "/api/v1/clusters?radius_m=300&window_min=60")
    t.eq(cl.get("clusters"), [], "after linking, no cluster is left")

    # --- the map
    code, svg = run.api("GET", "/api/v1/map.svg")
    t.eq(code, 200, "map.svg served")
    try:
        root = ET.fromstring(svg.encode())
        t.eq(root.tag, "{http://www.w3.org/2000/svg}svg", "map.svg is well-formed SVG")
    except ET.ParseError as e:
        t.check(False, "map.svg is well-formed XML", e)
    t.check("Hohhot urban core" in svg and "Hohhot surrounding area" in svg,
            "the map names the zones", svg[:300])
    t.check(all(i in svg for i in [oid, near[0], far]), "the map shows the open orders")
    t.check(all(c in svg for c in crews), "the map shows the crews")
    path = run.path("board.svg")
    run.cli("map", "-o", path)
    with open(path, encoding="utf-8") as f:
        t.check(ET.fromstring(f.read().encode()) is not None, "linecrew map -o writes the SVG")


def main():
    t = harness.Tap()
    return harness.run_checks(t, "dispatch", scenario)


if __name__ == "__main__":
    sys.exit(main())
