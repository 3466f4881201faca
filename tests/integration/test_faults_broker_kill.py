#!/usr/bin/env python3
"""Fault F2: mosquitto SIGKILLed and restarted during a storm, and nothing is
lost or done twice end to end.

The same storm as test_faults_gateway_kill.py (simulated units, orders created
and dispatched over HTTP), but the broker is SIGKILLed every KILL_S (seeded
jitter) and started again on the same port and persistence directory, twice:
once saving its state every second (`autosave_interval 1`, the harness's) and
once with mosquitto's default `autosave_interval 1800`, where a kill loses
every queued message and every session since start. Whatever the broker
loses, the gateway's outbox (resend until the unit's `delivered`), the units'
journals (resend until the gateway's `ack`) and hello/sync on reconnect must
make up for it. Checks and "# result" lines as in the gateway kill test; the
time from each broker restart until the gateway is connected again is printed
(not asserted)."""
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import faults  # noqa: E402
import harness  # noqa: E402

if faults.full():
    NORDERS, NDEV, KILL_S, RATE = 3000, 50, 5.0, 200
else:
    NORDERS, NDEV, KILL_S, RATE = 400, 10, 2.0, 100


def phase(t, run, rnd, autosave, base):
    devs = ["fb%s%02d" % (base, i) for i in range(NDEV)]
    crews = faults.make_crews(run, devs)
    sims = [faults.SimDevice(run.mqtt_port, d) for d in devs]
    for s in sims:
        s.start()
    try:
        faults.restart_broker(run, faults.set_conf("autosave_interval", autosave))
        storm = faults.Storm(run, crews, NORDERS, tag="broker-%s" % autosave, rate=RATE).start()
        kills, back = 0, []
        while storm.running():
            time.sleep(max(0.3, KILL_S + rnd.uniform(-1, 1)))
            faults.restart_broker(run)
            kills += 1
            t0 = time.monotonic()
            harness.wait_for(lambda: run.api("GET", "/api/v1/health")[1].get("mqtt") ==
                             "connected", 30, "the gateway to reconnect")
            back.append(time.monotonic() - t0)
        faults.wait_settled(run, sims, storm.dispatched, 300 if faults.full() else 120)
        t.check(kills >= 1, "autosave %s: the broker was killed during the storm" % autosave)
        t.check(faults.integrity(run) == "ok", "autosave %s: integrity_check ok" % autosave)
        acc = faults.account(run, storm.accepted, storm.dispatched, sims)
        faults.report(t, "broker kill (autosave_interval %s)" % autosave, acc,
                      ", broker kills %d, unanswered requests %d" % (kills, storm.unanswered))
        print("# gateway reconnected after broker restart: %s" % faults.recov(back))
    finally:
        for s in sims:
            s.stop = True


def main():
    t = harness.Tap()
    seed = int(os.environ.get("LINECREW_SEED") or random.SystemRandom().randrange(1 << 30))
    print("# seed %d, %d orders at %d/s per phase, %d units, kill every %.1f s" % (
        seed, NORDERS, RATE, NDEV, KILL_S))
    rnd = random.Random(seed)

    def scenario(t, run):
        run.start_broker()
        run.start_gateway()
        phase(t, run, rnd, 1, "a")
        phase(t, run, rnd, 1800, "b")

    return harness.run_checks(t, "faults-brkill", scenario, "broker kill run", secure=False)


if __name__ == "__main__":
    sys.exit(main())
