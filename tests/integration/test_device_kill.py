#!/usr/bin/env python3
"""Never lose an event: a scripted shift with the device process and the broker
SIGKILLed at random points, and the gateway ends with every event exactly once,
in order.

The shift: three orders dispatched to one crew; for each, accept, five progress
reports, a coded delay, a manual arrival, another progress report and the
completion. Before each crew command a seeded random draw may SIGKILL the
device (a power cut; it is restarted, as the unit boots again), SIGKILL the
broker (restarted on the same port and persistence directory), or SIGKILL the
device while the command is in flight. Every command whose answer said "ok"
(what the crew saw confirmed) is recorded with its event id.

At the end the world is made whole again and, once the device has no unacked
event, the gateway's SQLite database is read READ-ONLY:
  * device_events of the device hold seq 1..N exactly, each once (the eid is
    the primary key, so a duplicate would show as a gap in count vs max);
  * every confirmed event id is there (nothing confirmed was lost);
  * per order, the timeline holds accepted / arrived / completed exactly once
    and the progress notes exactly once each, in the order the crew sent them.
Prints "# result events confirmed N, lost L, duplicated D, kills K".
The seed is printed; LINECREW_SEED=... reproduces a run."""
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

DEV, CREW = "dev-k", "crew-k"
NORDERS = 3


class World:
    def __init__(self, run):
        self.run = run
        self.kills = {"device": 0, "broker": 0, "device_in_flight": 0}

    def device_up(self):
        d = self.run.devices.get(DEV)
        return d is not None and d["proc"].alive()

    def start_device(self):
        old = self.run.devices.get(DEV)
        gpsd_port = old["gpsd_port"] if old else None
        # the same config, journal and socket: the unit boots again
        self.run.start_device(DEV, gpsd_port=gpsd_port)

    def kill_device(self):
        self.run.devices[DEV]["proc"].stop(signal.SIGKILL)
        self.kills["device"] += 1

    def kill_broker(self):
        self.run.broker.stop(signal.SIGKILL)
        self.kills["broker"] += 1
        self.run.broker = self.run.spawn("mosquitto", ["/usr/sbin/mosquitto", "-c",
                                                       self.run.path("mosquitto.conf")])
        harness.wait_for(lambda: self.run._can_connect(self.run.mqtt_port), 10, "mosquitto back")


def eid_of(out):
    m = re.search(r"Event\s+(%s:\d+)" % DEV, out)
    return m.group(1) if m else None


def main():
    t = harness.Tap()
    seed = int(os.environ.get("LINECREW_SEED") or random.SystemRandom().randrange(1 << 30))
    print("# seed %d" % seed)
    rnd = random.Random(seed)
    run = harness.Run("devkill")
    w = World(run)
    ok = False
    try:
        run.start_broker()
        run.start_gateway()
        run.cli("crew", "add", CREW, "--device", DEV)
        w.start_device()
        oids = []
        for i in range(NORDERS):
            oid = run.cli("order", "create", "--category", "2", "--address",
                          "kill test site %d" % i, "--site", "40.8423,111.7497").stdout.strip()
            run.cli("review", oid, "--dispatch", CREW)
            oids.append(oid)
        for oid in oids:
            run.wait_timeline(oid, "delivered", 30)

        script = []
        for k, oid in enumerate(oids):
            script.append((oid, "accept", ["accept", oid]))
            for p in range(5):
                script.append((oid, "progress", ["progress", oid, "step-%d-%d" % (k, p)]))
            script.append((oid, "delay", ["delay", oid, "--reason", "materials", "--eta", "60",
                                          "waiting for a fuse"]))
            script.append((oid, "arrive", ["arrive", oid, "--note", "no fix under the bridge"]))
            script.append((oid, "progress", ["progress", oid, "step-%d-5" % k]))
            script.append((oid, "complete", ["complete", oid, "fuse replaced"]))

        confirmed = []      # (eid, oid, kind, note)
        for oid, kind, argv in script:
            attempt = 0
            while True:
                attempt += 1
                if kind == "progress":
                    # each press its own text: a press whose answer was lost
                    # to a power cut may be stored, and is a real report too
                    argv = argv[:2] + ["%s#%d" % (argv[2].split("#")[0], attempt)]
                if not w.device_up():
                    w.start_device()
                r = rnd.random()
                if r < 0.12:
                    w.kill_device()
                    continue
                if r < 0.22:
                    w.kill_broker()
                in_flight = r < 0.30
                if in_flight:
                    # the power goes while the command is being handled
                    timer = threading.Timer(rnd.uniform(0.0, 0.03), w.kill_device)
                    timer.start()
                res = run.devcmd(DEV, *argv, check=False)
                if in_flight:
                    timer.join()
                    w.kills["device_in_flight"] += 1
                    w.kills["device"] -= 1
                if res.returncode == 0:
                    eid = eid_of(res.stdout)
                    t.check(eid is not None, "%s %s: the answer names the event id" %
                            (kind, oid), res.stdout)
                    confirmed.append((eid, oid, kind, argv[-1] if kind == "progress" else ""))
                    break
                # not confirmed: the crew presses again. The journal may hold
                # the first attempt (power cut after the commit, before the
                # answer); a second press of accept/arrive/complete is then
                # refused as already recorded, which also ends the step.
                if not w.device_up():
                    continue
                if res.returncode == 1 and ("already" in res.stderr):
                    break
                if res.returncode == 2:
                    continue
                t.check(False, "%s %s: unexpected refusal" % (kind, oid), res.stderr)
                break

        # make the world whole again and wait for the journal to drain
        if not w.device_up():
            w.start_device()
        harness.wait_for(lambda: json.loads(run.devcmd(DEV, "status", "--json").stdout)
                         ["journal"]["unacked"] == 0, 90, "the device's journal to drain")
        for oid in oids:
            run.wait_timeline(oid, "completed", 30)

        db = sqlite3.connect("file:%s?mode=ro" % run.path("gateway.db"), uri=True)
        rows = db.execute("SELECT eid, seq, type, order_id FROM device_events WHERE dev = ?"
                          " ORDER BY seq", (DEV,)).fetchall()
        db.close()
        seqs = [r[1] for r in rows]
        n = max(seqs) if seqs else 0
        t.eq(seqs, list(range(1, n + 1)), "gateway holds device seq 1..%d, each once, no gap" % n)
        stored = {r[0] for r in rows}
        lost = [c for c in confirmed if c[0] not in stored]
        t.eq(lost, [], "every event confirmed on the unit reached the gateway")
        dup_effects = 0
        for oid in oids:
            tl = run.order(oid)["timeline"]
            kinds = [e["kind"] for e in tl]
            for k in ("accepted", "arrived", "completed"):
                t.eq(kinds.count(k), 1, "%s: %s exactly once" % (oid, k))
                dup_effects += max(0, kinds.count(k) - 1)
            notes = [(e.get("detail") or {}).get("note") for e in tl if e["kind"] == "progress"]
            want = [c[3] for c in confirmed if c[1] == oid and c[2] == "progress"]
            # unconfirmed presses (power cut before the answer) may be there
            # too; every confirmed one must be there once, in the order sent
            got = [x for x in notes if x in want]
            t.eq(got, want, "%s: progress reports exactly once each, in order" % oid)
            dup_effects += len(got) - len(set(got))
            t.check(kinds.index("accepted") < kinds.index("arrived") < kinds.index("completed"),
                    "%s: accepted, arrived, completed in that order" % oid, kinds)
        t.check(sum(w.kills.values()) > 0, "the run did kill something", w.kills)
        print("# result events confirmed %d, stored %d, lost %d, duplicated effects %d, "
              "kills %s" % (len(confirmed), len(rows), len(lost), dup_effects, json.dumps(w.kills)))
        ok = t.failed == 0
    except Exception as e:
        t.check(False, "kill run completed", "%s\n%s" % (e, run.logs()))
    finally:
        if not ok:
            print("# logs kept in " + run.dir)
        run.close(failed=not ok)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
