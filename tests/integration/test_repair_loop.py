#!/usr/bin/env python3
"""The repair loop end to end through a real mosquitto, real gpsfake/gpsd, SQLite and
both daemons: record -> review -> push -> device ack -> GPS arrival -> delay ->
complete -> callback due -> callback outcome; plus the refusals around it."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402
import nmea_track  # noqa: E402

SITE = (40.8420, 111.7500)      # a street in Xincheng district, Hohhot (urban)
DEPOT = (40.8395, 111.7470)     # the crew's depot, ~370 m away


def kinds(o):
    return [e["kind"] for e in o["timeline"]]


def stage(o, name):
    return next((s for s in o["sla"] if s["stage"] == name), None)


def scenario(t, run):
    run.start_broker()
    run.start_gateway()
    run.cli("crew", "add", "crew-north", "--device", "dev-01", "--name", "Xincheng repair team")
    run.cli("crew", "add", "crew-south", "--device", "dev-02", "--name", "Saihan repair team")
    run.start_device("dev-01")

    # --- bad input over HTTP: 400 naming the field, nothing stored
    before = len(run.api("GET", "/api/v1/orders?state=all")[1]["orders"])
    code, b = run.api("POST", "/api/v1/orders",
                      {"category": 2, "address": "x", "site": {"lat": "40.8", "lon": 111.7}})
    t.eq(code, 400, "order with a string latitude is refused with 400")
    t.eq(b.get("error", {}).get("field"), "site.lat", "the error names site.lat")
    code, b = run.api("POST", "/api/v1/orders", raw=b"{\"category\": 2, \"address\": ")
    t.eq(code, 400, "truncated JSON is refused with 400")
    code, b = run.api("POST", "/api/v1/orders",
                      {"category": 99, "address": "x", "site": {"lat": 40.8, "lon": 111.7}})
    t.check(code == 400 and b["error"]["field"] == "category", "category 99 is refused naming category", b)
    code, b = run.api("POST", "/api/v1/orders", raw=b"{\"pad\":\"" + b"a" * 70000 + b"\"}")
    t.eq(code, 413, "a 70 KB body is refused with 413")
    after = len(run.api("GET", "/api/v1/orders?state=all")[1]["orders"])
    t.eq(after, before, "no refused order was stored")

    # --- an agent records a repair order
    r = run.cli("order", "create", "--category", "2", "--address",
                "新城区 海拉尔东路 12 号 (Hailar East Rd 12)", "--site", "%f,%f" % SITE,
                "--customer", "王女士", "--phone", "13800000000",
                "--summary", "whole building dark since 08:40")
    oid = r.stdout.strip()
    o = run.order(oid)
    t.eq(o["state"], "recorded", "new order is recorded")
    t.eq(o["zone"], "urban", "site in Hohhot's core is in the urban zone")
    t.eq(kinds(o)[:1], ["recorded"], "timeline starts with recorded")
    t.check(stage(o, "review") and stage(o, "review")["verdict"] == "pending",
            "review stage is pending before review")

    # --- the supervisor dispatches it; the device stores and acks it
    run.cli("review", oid, "--dispatch", "crew-north")
    o = run.wait_timeline(oid, "delivered", 20)
    t.check(o["delivered_ms"] >= o["dispatched_ms"], "delivered after dispatched")
    t.eq(stage(o, "review")["verdict"], "met", "review within 3 min is met")
    ar = stage(o, "arrival")
    t.eq(ar["due_ms"] - o["dispatched_ms"], 60 * 60000, "urban arrival due 60 min after dispatch")
    t.eq(stage(o, "completion")["due_ms"] - o["dispatched_ms"], 12 * 3600000,
         "completion due 12 h after dispatch")
    st = json.loads(run.devcmd("dev-01", "orders", "--json").stdout)
    t.check(any(x.get("id") == oid for x in st.get("orders", [])), "device holds the order", st)

    # --- GPS: the crew drives from the depot and parks at the site
    track = nmea_track.write(run.path("dev-01.nmea"), DEPOT, SITE, speed=12, wait=3,
                             dwell=120, dt=0.3)
    run.start_gpsfake("dev-01", track, cycle=0.1)
    o = run.wait_timeline(oid, "arrived", 90)
    t.eq(o["arrive_method"], "gps", "arrival detected by GPS")
    t.eq(stage(o, "arrival")["verdict"], "met", "arrival verdict met (urban, within 60 min)")
    ev = next(e for e in o["timeline"] if e["kind"] == "arrived")
    d = ev.get("detail") or {}
    t.check(isinstance(d.get("track"), list) and len(d["track"]) >= 5,
            "arrival carries a track window of >= 5 fixes", d)
    t.check(d.get("dist_m") is not None and d["dist_m"] <= 150 + 50,
            "arrival distance within the geofence", d)
    t.check(ev["at_ms"] <= ev["rx_ms"], "arrival time is when it happened (device), not later")

    # --- a delay report and progress, then completion
    r = run.devcmd("dev-01", "delay", oid, "--reason", "materials", "--eta", "90",
                   "waiting for a 100 A fuse from stores")
    t.eq(r.returncode, 0, "crew reports a delay with a coded reason")
    o = run.wait_timeline(oid, "delay", 20)
    t.eq((o.get("delay") or {}).get("reason"), "materials", "order shows the delay reason")
    r = run.devcmd("dev-01", "delay", oid, "--reason", "gremlins", check=False)
    t.check(r.returncode == 1 and "reason" in (r.stdout + r.stderr),
            "an unknown delay reason is refused naming the field", r.stdout + r.stderr)
    run.devcmd("dev-01", "progress", oid, "fuse replaced, testing the line")
    run.wait_timeline(oid, "progress", 20)
    run.devcmd("dev-01", "complete", oid, "replaced blown 100 A fuse on pole 17")
    o = run.wait_timeline(oid, "callback_due", 20)
    t.eq(o["state"], "completed", "order is completed")
    t.eq(stage(o, "completion")["verdict"], "met", "completion within 12 h is met")
    comp = next(e for e in o["timeline"] if e["kind"] == "completed")
    t.eq(o["callback_due_ms"] - comp["rx_ms"], 10 * 60000,
         "callback due 10 min after the gateway learned of completion")
    code, cb = run.api("GET", "/api/v1/callbacks")
    t.check(any(x["id"] == oid for x in cb["callbacks"]), "order is on the callback desk")

    # --- the agent calls back
    run.cli("callback", oid, "--outcome", "restored_satisfied", "--rating", "5")
    o = run.order(oid)
    t.eq(o["state"], "closed", "callback closes the order")
    t.eq(stage(o, "callback")["verdict"], "met", "callback within 10 min is met")
    t.eq(o["rating"], 5, "rating recorded")
    code, cb = run.api("GET", "/api/v1/callbacks")
    t.check(not any(x["id"] == oid for x in cb["callbacks"]), "callback left the desk")
    want = ["recorded", "dispatched", "delivered", "arrived", "delay", "progress",
            "completed", "callback_due", "callback"]
    got = [k for k in kinds(o) if k in want]
    t.eq(got, want, "timeline has every stage in order")

    # --- not dispatched: duplicates and customer-internal faults
    dup = run.cli("order", "create", "--category", "2", "--address", "same building again",
                  "--site", "%f,%f" % SITE).stdout.strip()
    run.cli("review", dup, "--decline", "duplicate", "--duplicate-of", oid)
    o2 = run.order(dup)
    t.eq(o2["state"], "declined", "a duplicate is declined")
    t.check("dispatched" not in kinds(o2), "a declined order is never dispatched")
    internal = run.cli("order", "create", "--category", "7", "--address", "customer's own breaker",
                       "--site", "%f,%f" % SITE).stdout.strip()
    r = run.cli("review", internal, "--dispatch", "crew-north", check=False)
    t.check(r.returncode == 1 and "409" in r.stderr,
            "a customer-internal fault cannot be dispatched (409)", r.stderr)
    r = run.cli("review", oid, "--dispatch", "crew-north", check=False)
    t.check(r.returncode == 1, "reviewing a closed order again is refused", r.stderr)

    # --- a broker PUBACK is not delivery: dev-02 is not running
    o3 = run.cli("order", "create", "--category", "5", "--address", "Saihan, fuse box",
                 "--site", "40.8080,111.7040").stdout.strip()
    run.cli("review", o3, "--dispatch", "crew-south")
    time.sleep(1.5)  # give a wrong implementation the chance to mark it delivered
    t.eq(run.order(o3)["state"], "dispatched", "not delivered while the device is away")
    run.start_device("dev-02")
    o = run.wait_timeline(o3, "delivered", 20)
    t.eq(o["state"], "delivered", "delivered once the device itself acked")

    # --- hostile MQTT input: the gateway logs, drops, keeps serving
    run.mqtt_pub("linecrew/v1/dev/dev-01/event", "this is not json")
    run.mqtt_pub("linecrew/v1/dev/dev-01/event", "{" + "\"a\":1," * 5000 + "\"b\":2}")
    forged = {"v": 1, "type": "complete", "dev": "dev-02", "seq": 999, "eid": "dev-02:999",
              "order_id": oid, "at": int(time.time() * 1000)}
    run.mqtt_pub("linecrew/v1/dev/dev-02/event", json.dumps(forged))
    harness.wait_for(lambda: "security" in run.gateway.text(), 10, "a security log line")
    t.check(run.gateway.alive(), "gateway survives malformed and forged events")
    t.eq(run.api("GET", "/api/v1/health")[0], 200, "gateway still answers")
    o = run.order(oid)
    t.eq(kinds(o).count("completed"), 1, "a forged event from another device changed nothing")



def main():
    t = harness.Tap()
    return harness.run_checks(t, "loop", scenario)


if __name__ == "__main__":
    sys.exit(main())
