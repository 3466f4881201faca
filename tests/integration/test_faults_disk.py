#!/usr/bin/env python3
"""Faults F8 and F9: the gateway's disk full, and its database locked by
another process; the API refuses what it cannot store and recovers by itself.

Disk full: the gateway's database lives on a small tmpfs the test mounts
(root; otherwise the test-only fault VFS's full=PATH plays the full disk). A
filler file takes the rest of the space; orders are then posted until the API
answers 503. Every order answered 201 is stored (also after a SIGKILL and
restart), none answered 503 is, nothing else than 201/503 comes back. Then the
filler goes and, without a restart, new orders are accepted and a dispatched
one completes through a simulated unit. The seconds from freeing space to the
first 201 are printed.

Locked: python's sqlite3 holds BEGIN EXCLUSIVE on the gateway's database for
LOCK_S seconds (longer than the gateway's 5 s busy timeout) while orders are
posted: each is answered 201 (the wait was enough) or 503, never anything
else; afterwards every 201 is stored, no 503 is, integrity_check is ok, and
the next order is accepted."""
import os
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import faults  # noqa: E402
import harness  # noqa: E402

DEV, CREW = "fd01", "crew-fd01"
LOCK_S = 12 if faults.full() else 7


def post_until_503(api, tag, want_503, limit):
    """Posts orders; returns (ids answered 201, addresses answered 503, other codes)."""
    ok_ids, refused, other = [], [], {}
    for i in range(limit):
        addr = "%s %d" % (tag, i)
        r = api.call("POST", "/api/v1/orders", {"category": 2, "address": addr,
                                                "site": faults.SITE})
        if r and r[0] == 201:
            ok_ids.append(r[1]["id"])
        elif r and r[0] == 503:
            refused.append(addr)
            if len(refused) >= want_503:
                break
        else:
            k = r[0] if r else None
            other[k] = other.get(k, 0) + 1
    return ok_ids, refused, other


def stored(run, ids, addrs):
    db = faults.db_ro(run)
    try:
        have = {r[0] for r in db.execute("SELECT id FROM orders")}
        addr = {r[0] for r in db.execute("SELECT address FROM orders")}
    finally:
        db.close()
    return [i for i in ids if i not in have], [a for a in addrs if a in addr]


def dispatch_and_finish(t, run, sim, api, name):
    r = api.call("POST", "/api/v1/orders", {"category": 2, "address": name + " final",
                                            "site": faults.SITE})
    oid = r[1]["id"]
    r = api.call("POST", "/api/v1/orders/%s/review" % oid, {"action": "dispatch", "crew": CREW})
    t.eq(r[0] if r else None, 200, "%s: dispatch answered 200" % name)
    faults.wait_settled(run, [sim], [oid], 60)
    return oid


def disk_full(t, run, sim, api, disk, mounted):
    filler = os.path.join(disk, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        # Only the tmpfs is filled: without it the fault VFS's full= needs the
        # file to exist, and filling the real disk would hurt everything else.
        # Unbuffered writes: a buffered file keeps the part a full disk refused
        # and raises ENOSPC again when it is closed.
        chunk = b"\0" * 65536
        while mounted:
            try:
                if os.write(fd, chunk) <= 0:
                    break
            except OSError:
                break
    finally:
        os.close(fd)
    if mounted:         # leave a little room: some orders fit, then the disk is full
        os.truncate(filler, max(0, os.path.getsize(filler) - 256 * 1024))
    ok_ids, refused, other = post_until_503(api, "full", 20, 5000)
    t.check(len(refused) >= 1, "disk full: the API answers 503", (len(ok_ids), other))
    t.eq(other, {}, "disk full: nothing but 201 or 503 answered")
    lost, leaked = stored(run, ok_ids, refused)
    t.eq(lost, [], "disk full: every order answered 201 is stored")
    t.eq(leaked, [], "disk full: no order answered 503 is stored")
    t.check(run.gateway.alive(), "disk full: the gateway keeps running")
    os.unlink(filler)
    t0 = time.monotonic()
    first = harness.wait_for(lambda: api.call("POST", "/api/v1/orders", {
        "category": 2, "address": "after full", "site": faults.SITE}), 30, "an answer")
    while first[0] != 201 and time.monotonic() - t0 < 30:
        time.sleep(0.05)
        first = api.call("POST", "/api/v1/orders", {"category": 2, "address": "after full",
                                                    "site": faults.SITE}) or (None,)
    resume = time.monotonic() - t0
    t.eq(first[0], 201, "disk full: orders accepted again once space returns, no restart")
    oid = dispatch_and_finish(t, run, sim, api, "disk full")
    back = faults.restart_gateway(run)
    lost, _ = stored(run, ok_ids + [first[1]["id"], oid], [])
    t.eq(lost, [], "disk full: every accepted order is there after a SIGKILL and restart")
    t.check(faults.integrity(run) == "ok", "disk full: integrity_check ok")
    print("# result disk full (%s): accepted %d, refused 503 %d, orders lost %d, "
          "503s stored %d, resume after space freed %.2f s, restart %.2f s" % (
              "tmpfs" if mounted else "fault VFS full=", len(ok_ids), len(refused),
              len(lost), len(leaked), resume, back), flush=True)
    return len(lost)


def locked(t, run, sim, api):
    con = sqlite3.connect(run.path("gateway.db"), isolation_level=None, timeout=30,
                          check_same_thread=False)
    con.execute("BEGIN EXCLUSIVE")
    held = threading.Event()

    def hold():
        held.set()
        time.sleep(LOCK_S)
        con.execute("ROLLBACK")

    th = threading.Thread(target=hold)
    t0 = time.monotonic()
    th.start()
    held.wait()
    ok_ids, refused, other = [], [], {}
    waits = []
    i = 0
    while th.is_alive():
        i += 1
        addr = "locked %d" % i
        s = time.monotonic()
        r = api.call("POST", "/api/v1/orders", {"category": 2, "address": addr,
                                                "site": faults.SITE}, )
        waits.append(time.monotonic() - s)
        if r and r[0] == 201:
            ok_ids.append(r[1]["id"])
        elif r and r[0] == 503:
            refused.append(addr)
        else:
            k = r[0] if r else None
            other[k] = other.get(k, 0) + 1
    th.join()
    con.close()
    released = time.monotonic()
    r = api.call("POST", "/api/v1/orders", {"category": 2, "address": "after lock",
                                            "site": faults.SITE})
    resume = time.monotonic() - released
    t.eq(r[0] if r else None, 201, "locked: the next order after the release is accepted")
    t.eq(other, {}, "locked: nothing but 201 or 503 answered while locked")
    t.check(len(refused) >= 1, "locked: a lock past the busy timeout answers 503",
            (len(ok_ids), len(refused)))
    lost, leaked = stored(run, ok_ids + [r[1]["id"]], refused)
    t.eq(lost, [], "locked: every order answered 201 is stored")
    t.eq(leaked, [], "locked: no order answered 503 is stored")
    oid = dispatch_and_finish(t, run, sim, api, "locked")
    t.check(faults.integrity(run) == "ok", "locked: integrity_check ok")
    print("# result database locked %d s: accepted %d, refused 503 %d, orders lost %d, "
          "503s stored %d, longest wait %.2f s, resume %.2f s after release (%s)" % (
              LOCK_S, len(ok_ids), len(refused), len(lost), len(leaked), max(waits),
              resume, oid), flush=True)
    return len(lost)


def main():
    t = harness.Tap()
    run = harness.Run("faults-disk", secure=False)
    disk = run.path("disk")
    os.makedirs(disk)
    mounted = False
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", disk],
                                 capture_output=True).returncode == 0
    if mounted:
        os.symlink(os.path.join(disk, "gateway.db"), run.path("gateway.db"))
    else:
        print("# no mount here: the fault VFS's full=PATH plays the full disk")
        os.environ["LINECREW_FAULT_VFS"] = "full=%s" % os.path.join(disk, "filler")
    sim = None
    ok = False
    try:
        run.start_broker()
        run.start_gateway()
        faults.make_crews(run, [DEV])
        sim = faults.SimDevice(run.mqtt_port, DEV)
        sim.start()
        api = faults.Api(run)
        dispatch_and_finish(t, run, sim, api, "before")
        lost = disk_full(t, run, sim, api, disk, mounted)
        lost += locked(t, run, sim, faults.Api(run))    # a new connection: the old
        # one went with the gateway the disk test restarted
        acc = faults.account(run, [], [], [sim])
        acc["orders_lost"] += lost
        faults.report(t, "disk full and locked", {**acc, "orders_not_completed": 0})
        ok = t.failed == 0
    except Exception as e:
        t.check(False, "disk run completed", "%s\n%s" % (e, run.logs()))
    finally:
        os.environ.pop("LINECREW_FAULT_VFS", None)
        if sim:
            sim.stop = True
        for pr in reversed(run.procs):
            pr.stop()
        if mounted:
            subprocess.run(["umount", "-l", disk], capture_output=True)
        if not ok:
            print("# logs kept in " + run.dir)
        run.close(failed=not ok)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
