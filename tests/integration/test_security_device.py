#!/usr/bin/env python3
"""Issue 6 on the device's side, with the real daemons on the generated TLS
configuration: the unit acts only on gateway messages whose MAC checks, whose
counter moves forward and whose send time is near its clock; everything it
sends is tagged (evidence signed, the rest MACed) and the gateway accepts it
in strict mode.

Forged messages are built the way an attacker holding the gateway's broker
identity (or the broker itself) would: with the right topic and identity but
without the MAC key, or with a valid MAC over a stale or replayed counter (the
test derives the key with openssl, as tests/integration/test_security_fleet.py
does, to reach the checks behind the MAC)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

SITE = (40.8420, 111.7500)


def push(oid, n, tx, msg_id=None):
    now = int(time.time() * 1000)
    return json.dumps({
        "v": 1, "type": "order", "msg_id": msg_id or (oid + ".1"), "at": now, "n": n, "tx": tx,
        "order": {"id": oid, "category": 2, "category_name": "线路故障停电",
                  "summary": "forged", "address": "nowhere", "customer": "", "phone": "",
                  "site": {"lat": SITE[0], "lon": SITE[1]}, "radius_m": 150, "zone": "urban",
                  "zone_name": "x", "created_ms": now, "dispatched_ms": now,
                  "arrive_by_ms": now + 3600000, "complete_by_ms": now + 43200000}},
        separators=(",", ":"), ensure_ascii=False)


def scenario(t, run):
    run.start_broker()
    run.start_gateway()
    run.cli("crew", "add", "crew-north", "--device", "dev-01")
    run.start_device("dev-01")
    dev_log = run.devices["dev-01"]["proc"]
    t.check("messages authenticated" in dev_log.text(),
            "the unit runs with message authentication")
    t.check("untagged" not in run.gateway.text(),
            "the gateway is strict: no untagged messages accepted")

    # a genuine order, end to end: sealed push, sealed delivered/complete
    oid = run.cli("order", "create", "--category", "2", "--address", "Hailar East Rd 12",
                  "--site", "%f,%f" % SITE).stdout.strip()
    run.cli("review", oid, "--dispatch", "crew-north")
    run.wait_timeline(oid, "delivered", 20)
    t.check(True, "an authenticated push is stored and acknowledged by the unit")
    run.devcmd("dev-01", "complete", oid, "fuse replaced")
    o = run.wait_timeline(oid, "completed", 20)
    t.eq(o["state"], "completed", "a signed completion is accepted by the strict gateway")
    db = run.path("gateway.db")
    sig = subprocess.run(["sqlite3", db, "SELECT payload FROM device_events WHERE "
                          "type = 'complete' AND order_id = '%s'" % oid],
                         capture_output=True, text=True).stdout
    t.check('"sig":"' in sig, "the stored completion keeps the unit's signature", sig[:200])

    def holds(x):
        st = json.loads(run.devcmd("dev-01", "orders", "--json").stdout)
        return any(o.get("id") == x for o in st["orders"])

    def refusals():
        return dev_log.text().count("security: mqtt:")

    topic = "linecrew/v1/dev/dev-01/order"
    now = int(time.time() * 1000)
    base = refusals()
    # 1. no tag at all
    run.mqtt_pub(topic, push("LC-FORGED-1", now * 1000 + 5, now), as_id="gateway")
    # 2. a MAC made with the wrong key
    body = push("LC-FORGED-2", now * 1000 + 6, now)
    run.mqtt_pub(topic, body[:-1] + ',"mac":"%s"}' % ("ab" * 32), as_id="gateway")
    key = harness.mac_key(run, "dev-01")
    # 3. a valid MAC, but a counter that does not move forward (a replay)
    body = push("LC-FORGED-3", 1, now)
    run.mqtt_pub(topic, harness.seal_mac(key, body), as_id="gateway")
    # 4. a valid MAC and a fresh counter, but sent two hours ago
    body = push("LC-FORGED-4", (now + 10000) * 1000, now - 2 * 3600 * 1000)
    run.mqtt_pub(topic, harness.seal_mac(key, body), as_id="gateway")
    harness.wait_for(lambda: refusals() >= base + 4, 15, "four refusals on the unit")
    text = dev_log.text()
    t.check("found none" in text, "an untagged order is refused by the unit")
    t.check("forged or altered" in text, "an order with a bad MAC is refused by the unit")
    t.check("replayed" in text, "a replayed counter is refused by the unit")
    t.check("from our clock" in text, "a stale send time is refused by the unit")
    t.check(not any(holds("LC-FORGED-%d" % i) for i in range(1, 5)),
            "no forged order reached the unit's journal")
    # 5. the control: the same key, a fresh counter and time: accepted
    body = push("LC-GENUINE-5", (int(time.time() * 1000) + 60000) * 1000,
                int(time.time() * 1000))
    run.mqtt_pub(topic, harness.seal_mac(key, body), as_id="gateway")
    harness.wait_for(lambda: holds("LC-GENUINE-5"), 15, "the correctly sealed push")
    t.check(True, "a correctly sealed push is accepted (the checks are not blanket refusals)")
    t.check(run.devices["dev-01"]["proc"].alive(), "the unit survives the attacks")


def main():
    t = harness.Tap()
    return harness.run_checks(t, "secdev", scenario, "device security run")


if __name__ == "__main__":
    sys.exit(main())
