#!/usr/bin/env python3
"""A long offline spell with more events than the broker would queue, and the
device catches up.

The broker here is started with max_queued_messages 20 (the shared harness
uses 10000), far fewer than the events of a spell. Two spells:
  1. the gateway is down while the device, still connected to the broker,
     journals 150 progress reports: the broker would queue at most 20 for the
     gateway's persistent session; the device keeps each event until the
     gateway's application ack and has at most send_window (1) out at once, so
     the broker never drops one and none can overtake another;
  2. the broker is down (the unit has no network) while the crew records 150
     more: they wait in the journal and go out, oldest first, on reconnect.
The gateway ends with seq 1..N of the device exactly once, every report once
and in order, and the device's journal with nothing unacked.
Prints "# result ..." with the counts."""
import json
import os
import signal
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

DEV, CREW = "dev-off", "crew-off"
SPELL = 150
QUEUE = 20


def restart_broker(run, queue=None):
    """Start the harness's broker again on the same configuration (whatever
    listeners and security the harness set up), with its queue limit cut to
    queue when given. Call it with the broker stopped."""
    conf = run.path("mosquitto.conf")
    if queue is not None:
        with open(conf) as f:
            lines = [ln for ln in f.read().splitlines()
                     if not ln.strip().startswith("max_queued_messages")]
        lines.append("max_queued_messages %d" % queue)
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
    run.broker = run.spawn("mosquitto", ["/usr/sbin/mosquitto", "-c", conf])
    harness.wait_for(lambda: run._can_connect(run.mqtt_port), 10, "mosquitto to listen")


def status(run):
    return json.loads(run.devcmd(DEV, "status", "--json").stdout)


def scenario(t, run):
    run.start_broker()
    run.start_gateway()
    run.cli("crew", "add", CREW, "--device", DEV)
    run.start_device(DEV)
    # every identity is provisioned: now the broker that queues little
    run.broker.stop()
    restart_broker(run, QUEUE)
    oid = run.cli("order", "create", "--category", "2", "--address", "offline site",
                  "--site", "40.8423,111.7497").stdout.strip()
    run.cli("review", oid, "--dispatch", CREW)
    run.wait_timeline(oid, "delivered", 30)
    run.devcmd(DEV, "accept", oid)
    harness.wait_for(lambda: status(run)["journal"]["unacked"] == 0, 30, "accept acked")

    # spell 1: the gateway is away; the broker cannot queue all of it
    run.gateway.stop(signal.SIGKILL)
    sent_now = 0
    for i in range(SPELL):
        r = run.devcmd(DEV, "progress", oid, "gw-away-%03d" % i)
        sent_now += "sent to the gateway" in r.stdout
    # the device keeps at most send_window (default 1) events out
    # unacknowledged, fewer than the broker queues: the rest wait in the
    # journal, so the broker has nothing to drop and none can overtake
    t.check(0 < sent_now <= 16 < QUEUE, "spell 1: %d events out while the gateway is "
            "away, within the send window; the rest wait in the journal" % sent_now)
    t.check(status(run)["journal"]["unacked"] >= SPELL,
            "spell 1: every report waits in the journal for the gateway's ack")
    run.start_gateway()
    harness.wait_for(lambda: status(run)["journal"]["unacked"] == 0, 120,
                     "the device to catch up after spell 1")
    t.check(True, "spell 1: caught up, nothing unacked")

    # spell 2: no network at all
    run.broker.stop(signal.SIGKILL)
    for i in range(SPELL):
        r = run.devcmd(DEV, "progress", oid, "offline-%03d" % i)
        if i == 0:
            t.check("saved on this unit" in r.stdout,
                    "spell 2: the crew is told the report is saved and waits", r.stdout)
    t.check(status(run)["journal"]["unacked"] == SPELL, "spell 2: %d reports journaled" % SPELL)
    restart_broker(run)
    harness.wait_for(lambda: status(run)["journal"]["unacked"] == 0, 120,
                     "the device to catch up after spell 2")
    t.check(True, "spell 2: caught up, nothing unacked")

    db = sqlite3.connect("file:%s?mode=ro" % run.path("gateway.db"), uri=True)
    seqs = [r[0] for r in db.execute("SELECT seq FROM device_events WHERE dev = ? ORDER BY seq",
                                     (DEV,))]
    db.close()
    n = max(seqs)
    t.eq(seqs, list(range(1, n + 1)), "gateway holds seq 1..%d of the device, each once" % n)
    tl = run.order(oid)["timeline"]
    notes = [(e.get("detail") or {}).get("note") for e in tl if e["kind"] == "progress"]
    want = ["gw-away-%03d" % i for i in range(SPELL)] + ["offline-%03d" % i for i in range(SPELL)]
    t.eq(notes, want, "all %d reports on the timeline exactly once, in order" % len(want))
    dropped = "dropped" in run.broker.text() or any(
        "dropped" in p.text() for p in run.procs if p.name == "mosquitto")
    print("# result %d events over two offline spells, broker queue %d%s; gateway holds "
          "%d device events, %d progress reports" % (2 * SPELL, QUEUE,
                                                    " (broker logged drops)" if dropped else "",
                                                    len(seqs), len(notes)))


def main():
    t = harness.Tap()
    return harness.run_checks(t, "devoffline", scenario, "offline run")


if __name__ == "__main__":
    sys.exit(main())
