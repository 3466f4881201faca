#!/usr/bin/env python3
"""The SLA engine on virtual time through the real daemons (issue 3): a repair is
dispatched to a real device over a real mosquitto, then the gateway's test-only clock
(`test_clock yes`, POST /api/v1/test/clock) is moved forward and the gateway must show the
80 % warning, the arrival breach, the 12 h completion breach and the flag asking the crew
for a delay reason -- as timeline events and in the order's stages. Also: a complaint
forwarded to a department gets a working-day deadline from the calendar file and the
department's result makes a callback due; a report inside a registered planned outage is
answered and not dispatched; the compliance report comes as JSON and as CSV."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

SITE = (40.8420, 111.7500)      # Xincheng district, Hohhot: urban, 60 min
MIN = 60000


def kinds(o):
    return [e["kind"] for e in o["timeline"]]


def stage(o, name):
    return next(s for s in o["sla"] if s["stage"] == name)


def scenario(t, run):
    run.start_broker()
    run.start_gateway("test_clock yes\ncalendar %s\n" %
                      os.path.join(harness.ROOT, "gateway", "data", "calendar.conf"))
    run.cli("crew", "add", "crew-north", "--device", "dev-01", "--branch", "Xincheng")
    run.start_device("dev-01")

    # --- a repair, dispatched and delivered to the real device
    oid = run.cli("order", "create", "--category", "2", "--address", "海拉尔东路 12 号",
                  "--site", "%f,%f" % SITE).stdout.strip()
    run.cli("review", oid, "--dispatch", "crew-north")
    o = run.wait_timeline(oid, "delivered", 20)
    t.eq(o["profile"], "default", "the profile in force is recorded on the order")
    t.eq(stage(o, "arrival")["limit_min"], 60, "urban arrival limit 60 min")
    t.eq(o["next_stage"], "arrival", "next: the arrival stage")
    t.eq(o["next_due_ms"], stage(o, "arrival")["warn_ms"], "next due is the 80 % warning")

    # --- 49 min later: the warning
    code, b = run.api("POST", "/api/v1/test/clock", {"advance_ms": 49 * MIN})
    t.eq(code, 200, "the test clock moves")
    o = run.order(oid)
    w = [e for e in o["timeline"] if e["kind"] == "warning"]
    t.check(len(w) == 1 and w[0]["detail"]["stage"] == "arrival",
            "warning at 80 % of the arrival time", kinds(o))
    t.check(stage(o, "arrival")["warned"] and stage(o, "arrival")["verdict"] == "pending",
            "arrival warned, still pending")

    # --- past 60 min: the arrival breach
    run.api("POST", "/api/v1/test/clock", {"advance_ms": 12 * MIN})
    o = run.order(oid)
    t.eq(stage(o, "arrival")["verdict"], "breached", "arrival breached at 61 min")
    t.check(any(e["kind"] == "breach" and e["detail"]["stage"] == "arrival"
                for e in o["timeline"]), "a breach event for the arrival")
    t.check("delay_requested" not in kinds(o), "no delay request before 12 h")

    # --- past 12 h: completion breach and the request for a delay reason
    run.api("POST", "/api/v1/test/clock", {"advance_ms": 9 * 60 * MIN})
    o = run.order(oid)
    t.check(any(e["kind"] == "warning" and e["detail"]["stage"] == "completion"
                for e in o["timeline"]), "warning at 80 % of the 12 h completion limit")
    t.eq(stage(o, "completion")["verdict"], "pending", "completion pending at 10 h")
    run.api("POST", "/api/v1/test/clock", {"advance_ms": 2 * 60 * MIN})
    o = run.order(oid)
    t.eq(stage(o, "completion")["verdict"], "breached", "completion breached after 12 h")
    t.check(o["delay_requested_ms"] is not None, "the order is flagged: delay reason requested")
    req = [e for e in o["timeline"] if e["kind"] == "delay_requested"]
    t.check(len(req) == 1 and req[0]["detail"]["device"] == "dev-01",
            "one delay_requested event naming the crew's device", req)
    t.check(bool(req) and req[0]["detail"].get("msg_id"),
            "the request is pushed to the unit (an outbox message)", req)

    def asked():
        st = json.loads(run.devcmd("dev-01", "orders", "--json").stdout)
        return any(x.get("id") == oid and x.get("delay_due") for x in st["orders"])
    harness.wait_for(asked, 20, "the unit to prompt the crew for a delay reason")
    t.check(True, "the crew's unit prompts for a delay reason on the gateway's request")
    run.devcmd("dev-01", "delay", oid, "--reason", "materials", "--eta", "120",
               "transformer on order from stores")
    o = run.wait_timeline(oid, "delay", 20)
    t.eq((o.get("delay") or {}).get("reason"), "materials", "the crew's reason reaches the order")
    t.check(not asked(), "the unit stops prompting once a reason is sent")
    run.api("POST", "/api/v1/test/clock", {"advance_ms": 60 * MIN})
    o = run.order(oid)
    t.eq(kinds(o).count("delay_requested"), 1, "the request is made once")
    t.eq(kinds(o).count("breach"), 2, "one breach event per stage")
    t.check(run.gateway.alive(), "gateway alive after the clock moves")

    # --- a complaint goes to a department, with a working-day deadline
    code, c = run.api("POST", "/api/v1/orders",
                      {"type": "complaint", "category": 2, "address": "x"})
    t.check(code == 400 and c["error"]["field"] == "category",
            "a category of another type is refused naming category", c)
    code, c = run.api("POST", "/api/v1/orders",
                      {"type": "complaint", "category": 29, "address": "营业厅"})
    t.check(code == 201 and c["grade"] == "important", "complaint 29 is important", c)
    cid = c["id"]
    code, c = run.api("POST", "/api/v1/orders/%s/review" % cid,
                      {"action": "dispatch", "crew": "crew-north"})
    t.eq(code, 409, "a complaint is not dispatched to a crew")
    code, c = run.api("POST", "/api/v1/orders/%s/review" % cid,
                      {"action": "forward", "dept": "市场营销部"})
    t.check(code == 200 and c["state"] == "forwarded" and c["handle_due_ms"],
            "forwarded to a department with a due time", c)
    t.eq(stage(c, "handling")["limit_wd"], 10, "complaint: 10 working days")
    code, c = run.api("POST", "/api/v1/orders/%s/result" % cid, {"result": "已致歉并整改"})
    t.check(code == 200 and c["state"] == "completed" and c["callback_due_ms"],
            "the department's result ends handling; callback due", c)
    t.eq(stage(c, "handling")["verdict"], "met", "handling met")

    # --- planned outage: hit is answered, not dispatched
    now = run.api("POST", "/api/v1/test/clock", {"advance_ms": 0})[1]["now_ms"]
    code, b = run.api("POST", "/api/v1/outages",
                      {"name": "东风路10kV检修", "site": {"lat": SITE[0], "lon": SITE[1]},
                       "radius_m": 800, "start_ms": now - 60 * MIN, "end_ms": now + 60 * MIN})
    t.eq(code, 201, "planned outage registered")
    code, b = run.api("GET", "/api/v1/outages?lat=%f&lon=%f&at_ms=%d" % (SITE[0], SITE[1], now))
    t.eq(len(b["outages"]), 1, "the outage is found by place and time")
    code, p = run.api("POST", "/api/v1/orders", {"category": 2, "address": "同一小区",
                                                  "site": {"lat": SITE[0], "lon": SITE[1]}})
    t.check(code == 201 and p["state"] == "declined" and p["decline_reason"] == "planned_outage",
            "a report inside the outage is answered, not dispatched", p)

    # --- statistics: JSON and CSV
    frm = now - 14 * 60 * MIN
    code, s = run.api("GET", "/api/v1/stats?from_ms=%d&to_ms=%d&by=type" % (frm, now + MIN))
    rep = next(g for g in s["groups"] if g["key"] == "repair")
    t.check(rep["orders"] == 2 and rep["arrival_on_time_rate"] == 0.0 and rep["breaches"] == 2,
            "stats: repairs, on-time arrival 0 %, 2 breaches", rep)
    nxt = time.strftime("%Y-%m-%d", time.gmtime((now + 32 * 3600 * 1000) / 1000))
    prv = time.strftime("%Y-%m-%d", time.gmtime((now - 16 * 3600 * 1000) / 1000))
    r = run.cli("report", "--from", prv, "--to", nxt, "--by", "type", "--csv")
    lines = r.stdout.strip().splitlines()
    t.check(lines[0].startswith("type,label,orders,") and any(l.startswith("repair,") for l in lines)
            and lines[-1].startswith("total,"), "linecrew report --csv", r.stdout)


def main():
    t = harness.Tap()
    return harness.run_checks(t, "sla", scenario)


if __name__ == "__main__":
    sys.exit(main())
