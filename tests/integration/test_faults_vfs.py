#!/usr/bin/env python3
"""Fault F6: SQLite writes failing at the N-th call, for every N across one
order's life, and the state is always exactly the committed one.

The gateway runs on the test-only fault VFS (common/faultvfs.c, enabled by
LINECREW_FAULT_VFS): counting starts when the test creates the arm file, and
the N-th write then fails (SQLITE_FULL). For each N the gateway is started
fresh (SIGKILL, same database) and one order lives its whole life: created and
dispatched over HTTP (retried while the API answers 503), delivered, accepted,
arrived at and completed by a simulated unit (tests/lib/faults.py) that resends
until the gateway acks. After each N:
  * the previous order reads the same through the restarted gateway as it did
    before the SIGKILL (what was answered is what was committed);
  * the API answered only 200/201/503, never anything else;
  * the order is completed with each timeline kind once, the unit's events are
    stored seq 1..N once, the outbox is drained, integrity_check is ok.
The loop ends at the first N whose fault never fired: the life has fewer
writes. Then two "sticky" runs: from the N-th write on every write fails until
the arm file is removed; the API answers 503 meanwhile and the loop completes
after. The short version (make test) tries a spread of N; LINECREW_FAULTS=full
tries every N."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import faults  # noqa: E402
import harness  # noqa: E402

DEV, CREW = "fv01", "crew-fv01"


def main():
    t = harness.Tap()
    run = harness.Run("faults-vfs", secure=False)
    arm = run.path("fault.arm")
    sim = None
    ok = False
    try:
        run.start_broker()
        run.start_gateway()
        faults.make_crews(run, [DEV])
        sim = faults.SimDevice(run.mqtt_port, DEV)
        sim.start()
        api = faults.Api(run)
        prev = None
        statuses = {}
        tried, fired_n, recovery = [], [], []
        life_no = 0

        def life(sticky_wait=None):
            """One order's life; returns its id. sticky_wait: a function run
            once the fault fired, before the arm file goes."""
            nonlocal life_no
            life_no += 1
            while True:
                r = api.call("POST", "/api/v1/orders", {
                    "category": 2, "address": "vfs life %d" % life_no, "site": faults.SITE})
                if r:
                    statuses[r[0]] = statuses.get(r[0], 0) + 1
                if r and r[0] == 201:
                    oid = r[1]["id"]
                    break
                if sticky_wait and r and r[0] == 503:
                    sticky_wait()
                    sticky_wait = None
                time.sleep(0.1)
            while True:
                r = api.call("POST", "/api/v1/orders/%s/review" % oid,
                             {"action": "dispatch", "crew": CREW})
                if r:
                    statuses[r[0]] = statuses.get(r[0], 0) + 1
                if r and r[0] == 200:
                    break
                if r and r[0] == 409 and run.order(oid)["state"] != "recorded":
                    break
                if sticky_wait and r and r[0] == 503:
                    sticky_wait()
                    sticky_wait = None
                time.sleep(0.1)
            if sticky_wait:     # the fault fired on a device event or tick
                harness.wait_for(lambda: "faultvfs: write" in run.gateway.text()[mark:], 30,
                                 "the sticky fault to fire")
                sticky_wait()
            faults.wait_settled(run, [sim], [oid], 60)
            return oid

        def snapshot(oid):
            o = run.order(oid)
            return (o["state"], [(e["seq"], e["kind"]) for e in o["timeline"]])

        if faults.full():
            ns = range(1, 100000)
        else:
            ns = [1, 2, 3, 4, 6, 9, 13, 19, 28, 41, 60, 90, 135, 200, 300, 450, 700]
        for n in ns:
            if os.path.exists(arm):
                os.unlink(arm)
            before = snapshot(prev) if prev else None
            os.environ["LINECREW_FAULT_VFS"] = "write=%d,arm=%s" % (n, arm)
            mark = len(run.gateway.text())
            recovery.append(faults.restart_gateway(run))
            mark = len(run.gateway.text())
            if prev:
                t.eq(snapshot(prev), before, "write %d: the last order reads the same after "
                     "a SIGKILL and restart" % n)
            with open(arm, "w"):
                pass
            oid = life()
            fired = "faultvfs: write %d fails" % n in run.gateway.text()[mark:]
            tried.append(n)
            if fired:
                fired_n.append(n)
            acc = faults.account(run, [oid], [oid], [sim])
            t.check(acc["orders_lost"] == acc["events_lost"] == acc["dup_effects"] ==
                    acc["orders_not_completed"] == 0 and not acc["seq_gaps"],
                    "write %d%s: the order's life completed once, nothing lost" % (
                        n, "" if fired else " (never reached)"), json.dumps(acc))
            t.check(faults.integrity(run) == "ok", "write %d: integrity_check ok" % n)
            prev = oid
            if not fired:
                break
        t.check(len(fired_n) >= 3, "faults fired during the lives", tried)
        t.check(set(statuses) <= {200, 201, 503}, "the API answered only 200, 201 or 503",
                statuses)

        # sticky: every write from the N-th on fails until the arm file goes
        for n in (2, 7):
            if os.path.exists(arm):
                os.unlink(arm)
            os.environ["LINECREW_FAULT_VFS"] = "write=%d,sticky,arm=%s" % (n, arm)
            recovery.append(faults.restart_gateway(run))
            mark = len(run.gateway.text())
            with open(arm, "w"):
                pass
            seen = {}

            def clear():
                time.sleep(1.0)
                r = api.call("POST", "/api/v1/orders", {
                    "category": 2, "address": "vfs refused", "site": faults.SITE})
                seen["while"] = r[0] if r else None
                os.unlink(arm)

            oid = life(clear)
            t.eq(seen.get("while"), 503, "sticky write %d: a new order is refused with 503 "
                 "while writes fail" % n)
            db = faults.db_ro(run)
            refused = db.execute("SELECT count(*) FROM orders WHERE address='vfs refused'"
                                 ).fetchone()[0]
            db.close()
            t.eq(refused, 0, "sticky write %d: the refused order is not stored" % n)
            acc = faults.account(run, [oid], [oid], [sim])
            t.check(acc["orders_lost"] == acc["events_lost"] == acc["dup_effects"] ==
                    acc["orders_not_completed"] == 0, "sticky write %d: the loop completes "
                    "after the fault clears" % n, json.dumps(acc))
        os.environ.pop("LINECREW_FAULT_VFS", None)
        acc = faults.account(run, [], [], [sim])
        faults.report(t, "write faults", {**acc, "orders_not_completed": 0},
                      ", N tried %d (fired %d, last N %d), sticky 2" % (
                          len(tried), len(fired_n), tried[-1]))
        print("# recovery (restart to serving) %s" % faults.recov(recovery))
        ok = t.failed == 0
    except Exception as e:
        t.check(False, "write fault run completed", "%s\n%s" % (e, run.logs()))
    finally:
        os.environ.pop("LINECREW_FAULT_VFS", None)
        if sim:
            sim.stop = True
        if not ok:
            print("# logs kept in " + run.dir)
        run.close(failed=not ok)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
