#!/usr/bin/env python3
"""Issue 6 against the real broker on the generated TLS configuration and a real
gateway: the attacks of README "Security", each with its expected result.

The units here are played by this test with their provisioned keys (openssl
signs with the device's ECDSA key and derives the ECDH MAC key exactly as the
daemons do), so the gateway's checks are exercised in strict mode, whatever
the device daemon does. Attacks:
  - device A subscribes to B's order topic, publishes on B's event topic, uses
    B's client id: refused by the broker (ACL, identity = certificate);
  - the order push carries a MAC under the unit's key and a counter;
  - a forged event (no tag, a bad MAC, re-signed with another unit's key) is
    refused; a replayed signed arrival has exactly one effect;
  - an expired certificate cannot connect; a revoked unit is refused by the
    gateway at once and by the broker after the ACL reload;
  - the API refuses a missing, bad or wrong-role token, hides contact data from
    roles that do not need it; a canary customer name is in no log or file
    outside the databases;
  - `linecrew audit verify` passes, then catches an edited timeline row.
"""
import glob
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

CANARY = "CANARY-Zhang-Wei-7781"
CANARY_PHONE = "13977778881"


def bundle(run, dev, name):
    return os.path.join(run.pki, "devices", dev, name)


def mac_key(run, dev):
    return harness.mac_key(run, dev)


def seal_mac(run, dev, body):
    tag = hmac.new(mac_key(run, dev), body.encode(), hashlib.sha256).hexdigest()
    return body[:-1] + ',"mac":"%s"}' % tag


def seal_sig(run, key_dev, body):
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", bundle(run, key_dev, "device.key")],
                         input=body.encode(), capture_output=True, check=True).stdout
    return body[:-1] + ',"sig":"%s"}' % sig.hex()


def event(dev, seq, typ, oid=None, **kw):
    e = {"v": 1, "type": typ, "dev": dev, "seq": seq, "eid": "%s:%d" % (dev, seq),
         "at": int(time.time() * 1000)}
    if oid:
        e["order_id"] = oid
    e.update(kw)
    return json.dumps(e, separators=(",", ":"), ensure_ascii=False)


def sub_once(run, ident, topic, timeout=10):
    """Start a subscriber as ident; returns the Popen (stdout: one message)."""
    return subprocess.Popen(["mosquitto_sub"] + run.tls_args(ident) +
                            ["-q", "1", "-t", topic, "-C", "1", "-W", str(timeout)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def scenario(t, run):
    for d in ("dev-a", "dev-b", "dev-x", "dev-y"):
        run.provision(d)
    run.start_broker()
    run.start_gateway(strict=True)
    run.cli("crew", "add", "crew-a", "--device", "dev-a")
    run.cli("crew", "add", "crew-b", "--device", "dev-b")
    sup = run.add_token("sup1", "supervisor")
    agent = run.add_token("agent1", "agent")
    disp = run.add_token("disp1", "dispatcher")

    # ---- API tokens and roles
    t.eq(run.api("GET", "/api/v1/orders", token=None)[0], 401, "no token: 401")
    t.eq(run.api("GET", "/api/v1/orders", token="lct_" + "0" * 64)[0], 401, "bad token: 401")
    c, o = run.api("POST", "/api/v1/orders", {"category": 2, "address": "Xincheng 12",
                   "site": {"lat": 40.842, "lon": 111.75}, "customer": CANARY,
                   "phone": CANARY_PHONE}, token=agent)
    t.eq(c, 201, "an agent records an order")
    oid = o["id"]
    c, _ = run.api("POST", "/api/v1/orders/%s/review" % oid,
                   {"action": "dispatch", "crew": "crew-b"}, token=agent)
    t.eq(c, 403, "an agent may not dispatch: 403")
    t.eq(run.api("GET", "/api/v1/orders/" + oid, token=disp)[1].get("customer"), None,
         "a dispatcher does not see the customer's name")
    t.eq(run.api("GET", "/api/v1/orders/" + oid, token=agent)[1].get("customer"), CANARY,
         "an agent sees it (the callback)")
    r = run.cli("order", "list", token=None, check=False)
    t.check(r.returncode == 1 and "token" in r.stderr, "the CLI without a token is refused",
            r.stderr)

    # ---- broker: A = dev-x (provisioned, running nowhere), B = dev-b
    # (mosquitto grants the SUBACK and then never delivers: judged by delivery)
    spy = sub_once(run, "dev-x", "linecrew/v1/dev/dev-b/order", timeout=6)
    pushed = sub_once(run, "dev-b", "linecrew/v1/dev/dev-b/order")
    harness.wait_for(lambda: run.broker.text().count(" as dev-x ") >= 1 and
                     run.broker.text().count(" as dev-b ") >= 1, 10, "both subscribers")
    c, _ = run.api("POST", "/api/v1/orders/%s/review" % oid,
                   {"action": "dispatch", "crew": "crew-b"}, token=sup)
    t.eq(c, 200, "the supervisor dispatches to crew-b")
    out, _ = pushed.communicate(timeout=15)
    push = out.strip()
    t.check('"mac":"' in push and '"n":' in push, "the order push carries a MAC and a counter",
            push[:200])
    spied, _ = spy.communicate(timeout=15)
    t.eq(spied.strip(), "", "dev-x, subscribed to dev-b's order topic, received nothing")
    body = push[:push.rfind(',"mac":"')] + "}"
    t.eq(push[push.rfind('"mac":"') + 7:-2],
         hmac.new(mac_key(run, "dev-b"), body.encode(), hashlib.sha256).hexdigest(),
         "the push's MAC is dev-b's key over the body")
    msg_id = json.loads(body)["msg_id"]

    # dev-x publishes as dev-b: the ACL drops it before the gateway sees it
    run.mqtt_pub("linecrew/v1/dev/dev-b/event",
                 seal_mac(run, "dev-x", event("dev-b", 1, "delivered", oid, msg_id=msg_id)),
                 as_id="dev-x", check=False)
    # dev-x claims dev-b's client id: the certificate's name wins
    subprocess.run(["mosquitto_pub"] + run.tls_args("dev-x") +
                   ["-i", "dev-b", "-t", "linecrew/v1/dev/dev-x/pos", "-m", "{}"],
                   capture_output=True, timeout=10)
    harness.wait_for(lambda: run.broker.text().count(" as dev-x ") >= 3, 10,
                     "dev-x's connections")
    t.check(" as dev-b " not in "".join(l for l in run.broker.text().splitlines()
                                          if "dev-x" in l),
            "a client id override is ignored (connected as dev-x)")
    t.eq(run.order(oid)["state"], "dispatched", "nothing dev-x sent moved dev-b's order")

    # ---- the real dev-b: delivered (MAC), then a signed arrival
    run.mqtt_pub("linecrew/v1/dev/dev-b/event",
                 seal_mac(run, "dev-b", event("dev-b", 1, "delivered", oid, msg_id=msg_id)))
    run.wait_timeline(oid, "delivered", 15)
    t.check(True, "a MAC'd delivered event from dev-b is applied")
    # untagged and bad-MAC events are refused
    run.mqtt_pub("linecrew/v1/dev/dev-b/event", event("dev-b", 2, "accept", oid))
    bad = seal_mac(run, "dev-b", event("dev-b", 2, "accept", oid))
    bad = bad[:-4] + ("0" if bad[-4] != "0" else "1") + bad[-3:]
    run.mqtt_pub("linecrew/v1/dev/dev-b/event", bad)
    harness.wait_for(lambda: run.gateway.text().count("security") >= 2, 10, "security lines")
    t.check("dev-b: accept refused" in run.gateway.text(),
            "an event without its tag or with a bad MAC is refused and logged")
    arrive = seal_sig(run, "dev-b", event("dev-b", 3, "arrive", oid, method="manual"))
    for _ in range(3):  # the original, then two replays
        run.mqtt_pub("linecrew/v1/dev/dev-b/event", arrive)
    o = run.wait_timeline(oid, "arrived", 15)
    resigned = seal_sig(run, "dev-y", event("dev-b", 4, "complete", oid, note="forged"))
    run.mqtt_pub("linecrew/v1/dev/dev-b/event", resigned)
    harness.wait_for(lambda: "complete refused" in run.gateway.text(), 10,
                     "the re-signed completion refused")
    t.check("sig: not a valid signature" in run.gateway.text(),
            "an event re-signed with another unit's key is refused")
    time.sleep(1)
    o = run.order(oid)
    t.eq([e["kind"] for e in o["timeline"]].count("arrived"), 1,
         "a replayed arrival has exactly one effect")
    t.eq(o["state"], "arrived", "the re-signed completion changed nothing")
    db = sqlite3.connect("file:%s?mode=ro" % run.path("gateway.db"), uri=True, timeout=10)
    stored = db.execute("SELECT payload FROM device_events WHERE eid = 'dev-b:3'").fetchone()
    t.check(stored and '"sig":"' in stored[0], "the arrival is stored with its signature")
    db.close()

    # ---- expired and revoked identities
    run.linecrew("provision", "device", "dev-old", "--pki", run.pki, "--days", "1",
                 "--from-ms", str(int(time.time() * 1000) - 10 * 86400 * 1000))
    run.reload_broker()
    r = run.mqtt_pub("linecrew/v1/dev/dev-old/pos", "{}", as_id="dev-old", check=False)
    t.check(r.returncode != 0, "an expired certificate cannot connect", r.stderr)
    run.revoke("dev-b")
    run.mqtt_pub("linecrew/v1/dev/dev-b/event",
                 seal_sig(run, "dev-b", event("dev-b", 5, "complete", oid, note="done")),
                 check=False)
    time.sleep(1)
    t.eq(run.order(oid)["state"], "arrived", "a revoked unit's completion changes nothing")
    spy = sub_once(run, "dev-b", "linecrew/v1/dev/dev-b/order", timeout=6)
    c, o2 = run.api("POST", "/api/v1/orders", {"category": 2, "address": "Xincheng 14",
                    "site": {"lat": 40.842, "lon": 111.75}}, token=agent)
    run.api("POST", "/api/v1/orders/%s/review" % o2["id"],
            {"action": "dispatch", "crew": "crew-b"}, token=sup)
    spied, _ = spy.communicate(timeout=15)
    t.eq(spied.strip(), "", "after the ACL reload the revoked unit receives no order")

    # ---- canary: in no log or file outside the databases
    leaks = []
    for f in glob.glob(os.path.join(run.dir, "**", "*"), recursive=True):
        if os.path.isdir(f) or ".db" in os.path.basename(f):
            continue
        with open(f, "rb") as fh:
            data = fh.read()
        if CANARY.encode() in data or CANARY_PHONE.encode() in data:
            leaks.append(f)
    t.eq(leaks, [], "the canary customer is in no log or file outside the databases")

    # ---- audit chain
    r = run.linecrew("audit", "verify", "--db", run.path("gateway.db"), "--pki", run.pki,
                     check=False)
    t.check(r.returncode == 0 and "signatures verified" in r.stdout and
            " 0 device signatures" not in r.stdout, "audit verify: chain and signatures OK",
            r.stdout + r.stderr)
    db = sqlite3.connect(run.path("gateway.db"), timeout=10)
    db.executescript("DROP TRIGGER timeline_no_update;"
                     "UPDATE timeline SET at_ms = at_ms - 3600000 "
                     "WHERE order_id = '%s' AND kind = 'arrived';" % oid)
    db.close()
    r = run.linecrew("audit", "verify", "--db", run.path("gateway.db"), "--pki", run.pki,
                     check=False)
    t.check(r.returncode == 1 and "BROKEN" in r.stdout and oid in r.stdout,
            "audit verify names the edited row", r.stdout + r.stderr)


def main():
    t = harness.Tap()
    return harness.run_checks(t, "security", scenario, "security run")


if __name__ == "__main__":
    sys.exit(main())
