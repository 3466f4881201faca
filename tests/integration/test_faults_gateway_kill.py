#!/usr/bin/env python3
"""Fault F1: the gateway SIGKILLed every few seconds during a storm of orders
to many units, and nothing is lost or done twice.

A storm of orders is created and dispatched over the HTTP API to crews whose
units are simulated (tests/lib/faults.py: libproto-correct JSON on the wire,
journal, gap-free events, send window 1, hello on reconnect); each unit
acknowledges every push, then accepts, arrives and completes each new order.
Meanwhile the gateway is SIGKILLed every KILL_S (+-1 s jitter, seeded) and
started again on the same database. At the end the gateway's database is read
read-only: every order answered 201 is there, every dispatched one reached a
unit and is completed, every event a unit made is stored once (seq 1..N per
unit), no timeline kind (dispatched, delivered, accepted, arrived, completed)
is there twice, nothing waits in the outbox, integrity_check says ok.
Prints "# result ..." and the restart-to-serving times (not asserted).
Short version in `make test`; LINECREW_FAULTS=full (make test-faults) runs
the issue's size."""
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import faults  # noqa: E402
import harness  # noqa: E402

if faults.full():
    NORDERS, NDEV, KILL_S, RATE = 5000, 50, 2.0, 200
else:
    NORDERS, NDEV, KILL_S, RATE = 800, 12, 2.0, 100


def main():
    t = harness.Tap()
    seed = int(os.environ.get("LINECREW_SEED") or random.SystemRandom().randrange(1 << 30))
    print("# seed %d, %d orders at %d/s, %d units, kill every %.1f s" % (
        seed, NORDERS, RATE, NDEV, KILL_S))
    rnd = random.Random(seed)
    run = harness.Run("faults-gwkill", secure=False)
    sims = []
    ok = False
    try:
        run.start_broker()
        run.start_gateway()
        devs = ["fk%02d" % i for i in range(NDEV)]
        crews = faults.make_crews(run, devs)
        sims = [faults.SimDevice(run.mqtt_port, d) for d in devs]
        for s in sims:
            s.start()
        storm = faults.Storm(run, crews, NORDERS, rate=RATE).start()
        restarts = []
        t_start = time.monotonic()
        while storm.running():
            time.sleep(max(0.2, KILL_S + rnd.uniform(-1, 1)))
            if not storm.running():
                break
            restarts.append(faults.restart_gateway(run))
            t.check(faults.integrity(run) == "ok", "integrity_check ok after restart %d" %
                    len(restarts))
        # one kill after the last order, while the units are still catching up
        restarts.append(faults.restart_gateway(run))
        faults.wait_settled(run, sims, storm.dispatched, 300 if faults.full() else 120)
        took = time.monotonic() - t_start
        t.check(len(restarts) >= 2, "the gateway was killed during the storm", restarts)
        t.eq(len(storm.accepted), NORDERS, "every order of the storm was accepted")
        t.check(faults.integrity(run) == "ok", "integrity_check ok at the end")
        acc = faults.account(run, storm.accepted, storm.dispatched, sims)
        faults.report(t, "gateway kill", acc,
                      ", restarts %d, unanswered requests %d, %.0f s" % (
                          len(restarts), storm.unanswered, took))
        print("# recovery (restart to serving) %s" % faults.recov(restarts))
        ok = t.failed == 0
    except Exception as e:
        t.check(False, "gateway kill run completed", "%s\n%s" % (e, run.logs()))
    finally:
        for s in sims:
            s.stop = True
        if not ok:
            print("# logs kept in " + run.dir)
        run.close(failed=not ok)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
