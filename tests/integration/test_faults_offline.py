#!/usr/bin/env python3
"""Fault F10: a unit offline for hours while more orders go to it than the
broker queues; on reconnect it gets every one, once.

The broker keeps at most QUEUE messages per session (max_queued_messages,
mosquitto drops the rest silently); a simulated unit (tests/lib/faults.py)
disconnects, and NORDERS orders are dispatched to its crew, more than QUEUE;
then the gateway's test clock moves 6 hours on (virtual time: deadlines pass,
breaches are written, delay requests go out to the unit too). The unit comes
back: its hello, the gateway's sync and the outbox's resends must bring every
order; the unit acknowledges each push, then accepts, arrives and completes
each order once. Checks: every order dispatched reached the unit and is
completed, every event stored once (seq 1..N), no effect twice, the outbox
drained; the broker's drop notices are counted and printed."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import faults  # noqa: E402
import harness  # noqa: E402

DEV = "fo01"
if faults.full():
    NORDERS, QUEUE = 2000, 1000
else:
    NORDERS, QUEUE = 150, 20
HOURS = 6


def main():
    t = harness.Tap()
    print("# %d orders to a unit offline for %d h of test clock, broker queue %d" % (
        NORDERS, HOURS, QUEUE))
    run = harness.Run("faults-offline", secure=False)
    sim = None
    ok = False
    try:
        run.start_broker()
        faults.restart_broker(run, faults.set_conf("max_queued_messages", QUEUE), down_s=0)
        run.start_gateway(extra="test_clock yes\n")
        crews = faults.make_crews(run, [DEV])
        sim = faults.SimDevice(run.mqtt_port, DEV)
        sim.start()
        harness.wait_for(lambda: sim.connects and not sim.unacked(), 15, "the unit's hello acked")
        sim.offline = True
        time.sleep(0.3)     # its loop sees the flag within 50 ms and hangs up
        storm = faults.Storm(run, crews, NORDERS, tag="offline")
        storm.go()
        code, clk = run.api("POST", "/api/v1/test/clock", {"advance_ms": HOURS * 3600 * 1000})
        t.eq(code, 200, "the test clock moved %d h on" % HOURS)
        time.sleep(3)       # resends pile up at the broker while the unit is away
        t.check(not sim.orders, "nothing reached the unit while it was offline")
        t0 = time.monotonic()
        sim.offline = False
        faults.wait_settled(run, [sim], storm.dispatched, 600 if faults.full() else 120)
        took = time.monotonic() - t0
        drops = run.broker.text().count("dropped")
        for pr in run.procs:
            if pr.name == "mosquitto" and pr is not run.broker:
                drops += pr.text().count("dropped")
        t.check(faults.integrity(run) == "ok", "integrity_check ok")
        acc = faults.account(run, storm.accepted, storm.dispatched, [sim])
        faults.report(t, "unit offline %d h" % HOURS, acc,
                      ", broker drop notices %d, caught up in %.1f s, timeline entries "
                      "written by the clock %s" % (drops, took, clk.get("entries")))
        ok = t.failed == 0
    except Exception as e:
        t.check(False, "offline run completed", "%s\n%s" % (e, run.logs()))
    finally:
        if sim:
            sim.stop = True
        if not ok:
            print("# logs kept in " + run.dir)
        run.close(failed=not ok)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
