#!/usr/bin/env python3
"""Positions while offline: the device keeps a thinned track in its journal and
sends it on reconnect, the current position first, then the backlog oldest
first; the gateway's live position stays the newest.

A crew on an order drives 900 m (our NMEA track generator, replayed in real
time by gpsfake into gpsd) while the broker is down. The device keeps a point
per 50 m moved (or per pos_parked_s). The broker comes back on the same port:
the backlog drains, and the gateway's positions table (read READ-ONLY) gets
the newest position first, then the backlog in time order; the crew's position
in the API is the newest one, not the last backlog point received."""
import json
import os
import signal
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402
import nmea_track  # noqa: E402

DEV, CREW = "dev-pos", "crew-pos"
DEPOT = (40.8300, 111.7400)
END = (40.8381, 111.7400)       # 900 m north


def status(run):
    return json.loads(run.devcmd(DEV, "status", "--json").stdout)


def scenario(t, run):
    run.start_broker()
    run.start_gateway()
    run.cli("crew", "add", CREW, "--device", DEV)
    run.start_device(DEV, extra="pos_parked_s 30\n")
    oid = run.cli("order", "create", "--category", "2", "--address", "far site",
                  "--site", "40.9000,111.8000").stdout.strip()
    run.cli("review", oid, "--dispatch", CREW)
    run.wait_timeline(oid, "delivered", 30)

    run.broker.stop(signal.SIGKILL)
    harness.wait_for(lambda: not status(run)["mqtt"]["connected"], 20, "the device to notice")
    track = nmea_track.write(run.path("drive.nmea"), DEPOT, END, speed=20, wait=2,
                             dwell=4, dt=0.3)
    gf = run.start_gpsfake(DEV, track, cycle=0.1, linger=1)
    harness.wait_for(lambda: not gf.alive(), 180, "the drive to end")
    st = status(run)
    kept = st["journal"]["track_backlog"]
    t.check(12 <= kept <= 25, "offline: a thinned track kept (%d points for 900 m, "
            "one per 50 m)" % kept, st)

    run.broker = run.spawn("mosquitto", ["/usr/sbin/mosquitto", "-c",
                                         run.path("mosquitto.conf")])
    harness.wait_for(lambda: status(run)["journal"]["track_backlog"] == 0, 60,
                     "the backlog to drain")
    t.check(True, "reconnected: the backlog is sent and the journal's track emptied")
    harness.wait_for(lambda: sqlite3.connect("file:%s?mode=ro" % run.path("gateway.db"),
                                             uri=True).execute(
        "SELECT count(*) FROM positions WHERE dev = ?", (DEV,)).fetchone()[0] >= kept + 1,
        30, "the gateway to store the backlog")
    db = sqlite3.connect("file:%s?mode=ro" % run.path("gateway.db"), uri=True)
    rows = db.execute("SELECT at_ms, lat FROM positions WHERE dev = ? ORDER BY rowid",
                      (DEV,)).fetchall()
    db.close()
    # the rows after the reconnect: the first is the current position
    after = rows[-(kept + 1):]
    first, backlog = after[0], after[1:]
    t.check(all(first[0] >= b[0] for b in backlog),
            "on reconnect the newest position came first", after[:3])
    t.eq([b[0] for b in backlog], sorted(b[0] for b in backlog),
         "then the backlog, oldest first")
    t.check(backlog[0][1] < backlog[-1][1], "the backlog follows the drive north", backlog)
    code, crews = run.api("GET", "/api/v1/crews")
    pos = next(c for c in crews["crews"] if c["id"] == CREW)["pos"]
    t.check(pos is not None and pos["at_ms"] == max(r[0] for r in rows),
            "the gateway's live position is the newest, not the last backlog point",
            (pos, max(r[0] for r in rows)))
    print("# result offline drive 900 m: %d track points kept, %d positions at the gateway"
          % (kept, len(rows)))


def main():
    t = harness.Tap()
    return harness.run_checks(t, "devpos", scenario, "positions run")


if __name__ == "__main__":
    sys.exit(main())
