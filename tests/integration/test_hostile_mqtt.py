#!/usr/bin/env python3
"""Malformed-input catalogue for the MQTT interface (issue 8), through the real
broker on the generated TLS configuration and the real gateway and unit.

Every case is published with a real identity (the broker's ACL lets a unit
write only its own topics, so that is what an attacker or a broken unit can
do) and asserts: the daemon logs a line that names the field (or the reason),
it keeps serving, and nothing stored changes (orders, timeline, device events
read from the gateway's database; the unit's journal of orders)."""
import json
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

SITE = (40.8420, 111.7500)


def ev(dev, seq, typ, oid=None, **kw):
    e = {"v": 1, "type": typ, "dev": dev, "seq": seq, "eid": "%s:%d" % (dev, seq),
         "at": int(time.time() * 1000)}
    if oid:
        e["order_id"] = oid
    e.update(kw)
    return json.dumps(e, separators=(",", ":"), ensure_ascii=False)


def snapshot(run):
    db = sqlite3.connect("file:%s?mode=ro" % run.path("gateway.db"), uri=True, timeout=10)
    try:
        return tuple(db.execute(q).fetchone()[0] for q in (
            "SELECT count(*) || ':' || group_concat(state) FROM orders",
            "SELECT count(*) FROM timeline",
            # a refused event is kept as refused (and acked, so the sender
            # stops resending); what must not change is what was applied. The
            # real unit's hello is left out: publishing with its identity kicks
            # it off, and it says hello again when it is back.
            "SELECT count(*) FROM device_events WHERE status != 'refused'"
            " AND type != 'hello'"))
    finally:
        db.close()


def scenario(t, run):
    run.start_broker()
    run.start_gateway()
    run.cli("crew", "add", "crew-a", "--device", "dev-01")
    run.cli("crew", "add", "crew-b", "--device", "dev-02")
    run.start_device("dev-01")
    oid = run.cli("order", "create", "--category", "2", "--address", "x",
                  "--site", "%f,%f" % SITE).stdout.strip()
    run.cli("review", oid, "--dispatch", "crew-a")
    run.wait_timeline(oid, "delivered", 20)
    k2 = harness.mac_key(run, "dev-02")

    sealed = harness.seal_mac

    big = '{"v":1,"type":"progress","note":"%s"}' % ("x" * 20000)
    deep = "[" * 100 + "]" * 100
    ET, PT, ST = ("linecrew/v1/dev/dev-01/event", "linecrew/v1/dev/dev-01/pos",
                  "linecrew/v1/dev/dev-01/presence")
    cases = [
        # (name, topic, payload bytes, as identity, words the log line must hold)
        ("not JSON", ET, b"this is not json", "dev-01", ["event dropped"]),
        ("truncated JSON", ET, b'{"v":1,"type":"accept","dev":"dev-01"', "dev-01",
         ["event dropped"]),
        ("oversized payload", ET, big.encode(), "dev-01", ["20", "bytes", "dropped"]),
        ("deeply nested", ET, deep.encode(), "dev-01", ["event dropped"]),
        ("a number as a string", ET, ev("dev-01", 7, "accept", oid).replace(
            '"seq":7', '"seq":"7"').encode(), "dev-01", ["seq"]),
        ("a missing event id", ET, json.dumps({"v": 1, "type": "accept", "dev": "dev-01",
                                               "seq": 8, "at": 1, "order_id": oid}).encode(),
         "dev-01", ["eid"]),
        ("latitude out of range", ET, ev("dev-01", 9, "accept", oid,
                                         fix={"lat": 91, "lon": 111, "mode": 3}).encode(),
         "dev-01", ["fix.lat"]),
        ("unknown type", ET, ev("dev-01", 10, "teleport", oid).encode(), "dev-01", ["type"]),
        ("wrong version", ET, ev("dev-01", 11, "accept", oid).replace('"v":1', '"v":2')
         .encode(), "dev-01", ["v:"]),
        ("duplicate keys", ET, ev("dev-01", 12, "accept", oid).replace(
            '"type":"accept"', '"type":"accept","type":"complete"').encode(), "dev-01",
         ["event dropped"]),
        ("invalid UTF-8", ET, ev("dev-01", 13, "progress", oid, note="AB").encode()
         .replace(b"AB", b"A\xff\xfeB"), "dev-01", ["note"]),
        ("escaped NUL", ET, ev("dev-01", 14, "progress", oid, note="a\u0000b").encode(),
         "dev-01", ["note"]),
        ("event id not its own", ET, ev("dev-01", 15, "accept", oid).replace(
            '"eid":"dev-01:15"', '"eid":"dev-01:99"').encode(), "dev-01", ["eid"]),
        ("untagged (strict gateway)", ET, ev("dev-01", 16, "accept", oid).encode(),
         "dev-01", ["refused", "found none"]),
        ("an order that does not exist", "linecrew/v1/dev/dev-02/event",
         sealed(k2, ev("dev-02", 1, "progress", "LC-NOPE-1", note="hi")).encode(),
         "dev-02", ["LC-NOPE-1"]),
        ("another unit's order", "linecrew/v1/dev/dev-02/event",
         sealed(k2, ev("dev-02", 2, "accept", oid)).encode(), "dev-02", ["dev-02", oid]),
        ("a position out of range", PT, json.dumps(
            {"v": 1, "type": "pos", "dev": "dev-01", "at": 1,
             "fix": {"lat": 12, "lon": 200, "mode": 3}}).encode(), "dev-01",
         ["position dropped", "fix.lon"]),
        ("presence without a device", ST, b'{"v":1,"type":"presence","online":true,"at":1}',
         "dev-01", ["presence dropped", "dev"]),
    ]
    for name, topic, payload, ident, words in cases:
        before_db = snapshot(run)
        before = run.gateway.text()
        args = ["mosquitto_pub"] + run.tls_args(ident) + ["-q", "1", "-t", topic, "-s"]
        # Publishing as dev-01 takes over the running unit's client id; the unit
        # reconnects and may take it back before our PUBACK ("connection was
        # lost"): publish again then (a repeat is logged and dropped the same way).
        for attempt in range(5):
            if subprocess.run(args, input=payload, timeout=10).returncode == 0:
                break
            time.sleep(0.2 * (attempt + 1))
        else:
            raise RuntimeError("mosquitto_pub as %s failed 5 times" % ident)

        def logged():
            new = run.gateway.text()[len(before):]
            lines = [l for l in new.splitlines()
                     if any(w in l for w in ("dropped", "refused", "security"))]
            return lines and all(any(w in l for l in lines) for w in words) and lines
        try:
            lines = harness.wait_for(logged, 10, "the gateway's log line for " + name)
        except TimeoutError:
            lines = None
        t.check(bool(lines), "MQTT %s: logged naming %s" % (name, "/".join(words)),
                run.gateway.text()[len(before):][-600:])
        t.check(run.gateway.alive() and run.api("GET", "/api/v1/health")[0] == 200,
                "MQTT %s: the gateway keeps serving" % name)
        t.eq(snapshot(run), before_db, "MQTT %s: nothing stored changed" % name)

    # the unit's side: garbage on its order topic, as the gateway's identity.
    # Publishing with dev-01's own identity above took over its client id
    # (a clean session), so first let the unit reconnect and subscribe again.
    def settled():
        st = json.loads(run.devcmd("dev-01", "status", "--json").stdout)
        return st["mqtt"]["connected"] and st["mqtt"]["connects"]
    n0 = harness.wait_for(settled, 20, "the unit to reconnect")
    time.sleep(0.5)
    harness.wait_for(lambda: settled() == n0, 10, "the unit's link to settle")
    held = run.devcmd("dev-01", "orders", "--json").stdout
    dlog = run.devices["dev-01"]["proc"]
    for name, payload in (("not JSON", b"garbage"), ("empty object", b"{}"),
                          ("oversized", b"{" + b" " * 20000 + b"}")):
        before = dlog.text()
        subprocess.run(["mosquitto_pub"] + run.tls_args("gateway") +
                       ["-q", "1", "-t", "linecrew/v1/dev/dev-01/order", "-s"],
                       input=payload, check=True, timeout=10)
        harness.wait_for(lambda: any(w in dlog.text()[len(before):]
                                     for w in ("refused", "dropped")), 10,
                         "the unit's log line for " + name)
        t.check(True, "unit: %s on the order topic is refused and logged" % name)
    t.check(dlog.alive(), "the unit keeps running")
    t.eq(json.loads(run.devcmd("dev-01", "orders", "--json").stdout),
         json.loads(held), "the unit's orders did not change")


def main():
    t = harness.Tap()
    return harness.run_checks(t, "hostmqtt", scenario, "MQTT catalogue run")


if __name__ == "__main__":
    sys.exit(main())
