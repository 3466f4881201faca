"""Shared parts of the fault tests (tests/integration/test_faults_*.py, issue 8).

* Mqtt: a minimal MQTT 3.1.1 client (CONNECT with a persistent session,
  SUBSCRIBE, PUBLISH QoS 0/1, PUBACK, PINGREQ) on a plain socket, standard
  library only, so one Python process can play dozens of devices.
* SimDevice: a unit that answers on the wire like linecrew-device does
  (proto/PROTOCOL.md): every order push, cancel and delay request gets a
  `delivered` naming its msg_id; a new order is then accepted, arrived at (by
  hand) and completed; events are numbered gap-free from 1, kept until the
  gateway's `ack` lists them and sent one at a time, oldest first, again after
  `resend_s` without an ack (send window 1, as the real device's default); a
  `hello` with the open orders goes after every (re)connect. It keeps its
  journal in memory: the fault tests kill the gateway and the broker, not the
  units (test_device_kill.py kills the real device).
* Storm: the dispatcher side, over the HTTP API with retries across gateway
  restarts. An order counts as *accepted* only when the API answered 201.
* Accounting: reads the gateway's database read-only and reports orders lost,
  events lost and effects applied twice, the figures every fault test prints.
The world is harness.Run(secure=False): the relaxed plain broker the harness
offers to load generators that play unprovisioned units.
"""
import http.client
import json
import os
import select
import signal
import socket
import sqlite3
import struct
import threading
import time

import harness

SITE = {"lat": 40.8423, "lon": 111.7497}


def full():
    """True for `make test-faults` (LINECREW_FAULTS=full): the long versions."""
    return os.environ.get("LINECREW_FAULTS", "") == "full"


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------- MQTT ----
def _rl(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _s(x):
    b = x.encode() if isinstance(x, str) else x
    return struct.pack("!H", len(b)) + b


class Mqtt:
    """One MQTT 3.1.1 session. Not thread-safe: one owner thread."""

    def __init__(self, port, client_id, clean=False, keepalive=60):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pid = 0
        flags = 0x02 if clean else 0x00
        vh = _s("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive)
        self._send(0x10, vh + _s(client_id))
        t, body = self.read(5)
        if t != 0x20 or len(body) < 2 or body[1] != 0:
            raise OSError("CONNACK refused: %r %r" % (t, body))
        self.session_present = body[0] & 1
        self.last_tx = time.monotonic()

    def _send(self, first, body):
        self.sock.sendall(bytes([first]) + _rl(len(body)) + body)
        self.last_tx = time.monotonic()

    def _next_pid(self):
        self.pid = self.pid % 65535 + 1
        return self.pid

    def subscribe(self, topic, qos=1):
        self._send(0x82, struct.pack("!H", self._next_pid()) + _s(topic) + bytes([qos]))

    def publish(self, topic, payload, qos=1):
        if isinstance(payload, str):
            payload = payload.encode()
        if qos:
            self._send(0x30 | (qos << 1), _s(topic) + struct.pack("!H", self._next_pid()) + payload)
        else:
            self._send(0x30, _s(topic) + payload)

    def ping(self):
        self._send(0xC0, b"")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _packet(self):
        """One whole packet from the buffer, or None."""
        if len(self.buf) < 2:
            return None
        n, mult, i = 0, 1, 1
        while True:
            if i >= len(self.buf):
                return None
            b = self.buf[i]
            n += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        if len(self.buf) < i + n:
            return None
        t, body = self.buf[0], self.buf[i:i + n]
        self.buf = self.buf[i + n:]
        return t, body

    def read(self, timeout):
        """The next packet (type byte, body) within timeout s, or (None, None).
        Raises OSError when the connection is gone."""
        end = time.monotonic() + timeout
        while True:
            p = self._packet()
            if p:
                return p
            left = end - time.monotonic()
            if left <= 0:
                return None, None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None, None
            d = self.sock.recv(65536)
            if not d:
                raise OSError("connection closed")
            self.buf += d

    def incoming(self, timeout):
        """Next application message (topic, payload) with PUBACK sent, or None."""
        t, body = self.read(timeout)
        if t is None:
            return None
        if t >> 4 == 3:
            qos = (t >> 1) & 3
            tl = struct.unpack("!H", body[:2])[0]
            topic = body[2:2 + tl].decode()
            off = 2 + tl
            if qos:
                pid = body[off:off + 2]
                off += 2
                self._send(0x40, pid)
            return topic, body[off:]
        return ("", None)   # CONNACK/SUBACK/PUBACK/PINGRESP: nothing to do


# ---------------------------------------------------------- sim device ----
class SimDevice(threading.Thread):
    def __init__(self, port, dev, resend_s=1.0):
        super().__init__(daemon=True)
        self.port, self.dev, self.resend_s = port, dev, resend_s
        self.t_order = "linecrew/v1/dev/%s/order" % dev
        self.t_event = "linecrew/v1/dev/%s/event" % dev
        self.lock = threading.Lock()
        self.seq = 0
        self.journal = []           # unacked events, oldest first: (eid, payload)
        self.all_eids = []          # every event ever made (the device's record)
        self.orders = {}            # order id -> pushes received
        self.done = set()           # orders completed here
        self.cancelled = set()
        self.wire_dups = 0          # pushes of an order already held
        self.down_msgs = 0
        self.offline = False        # set by a test: stay disconnected
        self.stop = False
        self.connects = 0
        self.sent_at = None

    # journal ------------------------------------------------------------
    def _event(self, typ, order_id=None, **kw):
        self.seq += 1
        eid = "%s:%d" % (self.dev, self.seq)
        e = {"v": 1, "type": typ, "dev": self.dev, "seq": self.seq, "eid": eid,
             "at": now_ms()}
        if order_id is not None:
            e["order_id"] = order_id
        e.update(kw)
        self.journal.append((eid, json.dumps(e, separators=(",", ":"))))
        self.all_eids.append(eid)

    def _down(self, payload):
        try:
            m = json.loads(payload)
        except ValueError:
            return
        self.down_msgs += 1
        t = m.get("type")
        if t == "order":
            oid = m["order"]["id"]
            new = oid not in self.orders
            self.orders[oid] = self.orders.get(oid, 0) + 1
            if not new:
                self.wire_dups += 1
            self._event("delivered", oid, msg_id=m["msg_id"])
            if new and oid not in self.cancelled:
                self._event("accept", oid)
                self._event("arrive", oid, method="manual", note="sim: by hand")
                self._event("complete", oid, note="sim: done")
                self.done.add(oid)
        elif t in ("cancel", "delay_request"):
            if t == "cancel":
                self.cancelled.add(m["order_id"])
            self._event("delivered", m["order_id"], msg_id=m["msg_id"])
        elif t == "ack":
            acked = set(m.get("eids", []))
            if self.journal and self.journal[0][0] in acked:
                self.sent_at = None
            self.journal = [x for x in self.journal if x[0] not in acked]

    def open_orders(self):
        return [o for o in self.orders if o not in self.done and o not in self.cancelled][:64]

    def unacked(self):
        with self.lock:
            return len(self.journal)

    # the loop -------------------------------------------------------------
    def run(self):
        while not self.stop:
            if self.offline:
                time.sleep(0.1)
                continue
            try:
                c = Mqtt(self.port, self.dev)
            except OSError:
                time.sleep(0.2)
                continue
            self.connects += 1
            try:
                c.subscribe(self.t_order, 1)
                with self.lock:
                    self._event("hello", open=self.open_orders())
                    self.sent_at = None
                while not self.stop and not self.offline:
                    with self.lock:
                        if self.journal and (self.sent_at is None or
                                             time.monotonic() - self.sent_at > self.resend_s):
                            c.publish(self.t_event, self.journal[0][1], 1)
                            self.sent_at = time.monotonic()
                    if time.monotonic() - c.last_tx > 20:
                        c.ping()
                    m = c.incoming(0.05)
                    if m and m[1] is not None and m[0] == self.t_order:
                        with self.lock:
                            self._down(m[1])
            except OSError:
                pass
            c.close()
            time.sleep(0.1)


# --------------------------------------------------------------- storm ----
class Api:
    """The dispatcher's HTTP client, keep-alive, retried across restarts."""

    def __init__(self, run):
        self.run = run
        self.c = None

    def call(self, method, path, body=None, tries=200):
        """(status, JSON) of the first answer; None when no answer came
        (connection refused or cut: the request may or may not have been
        handled)."""
        data = json.dumps(body) if body is not None else None
        hdr = {"Content-Type": "application/json", "Authorization": "Bearer " + self.run.token}
        try:
            if self.c is None:
                self.c = http.client.HTTPConnection("127.0.0.1", self.run.http_port, timeout=15)
            self.c.request(method, path, body=data, headers=hdr)
            r = self.c.getresponse()
            txt = r.read().decode()
            try:
                return r.status, json.loads(txt)
            except ValueError:
                return r.status, txt
        except (OSError, http.client.HTTPException):
            if self.c is not None:
                self.c.close()
            self.c = None
            return None


class Storm:
    """Creates and dispatches orders to crews round-robin, retrying over
    restarts. accepted: ids answered 201; dispatched: ids answered 200 to the
    review (or found dispatched after an unanswered review)."""

    def __init__(self, run, crews, n, tag="storm", rate=0):
        self.run, self.crews, self.n, self.tag = run, crews, n, tag
        self.rate = rate            # orders per second at most; 0: as fast as taken
        self.api = Api(run)
        self.accepted, self.dispatched = [], []
        self.unanswered = 0         # requests without an answer (gateway killed)
        self.status = {}            # HTTP status -> count
        self.thread = threading.Thread(target=self.go, daemon=True)

    def _retry(self, method, path, body):
        while True:
            r = self.api.call(method, path, body)
            if r is not None:
                self.status[r[0]] = self.status.get(r[0], 0) + 1
                if r[0] != 503:
                    return r
            else:
                self.unanswered += 1
            time.sleep(0.05)

    def go(self):
        t0 = time.monotonic()
        for i in range(self.n):
            if self.rate:
                ahead = t0 + i / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            crew = self.crews[i % len(self.crews)]
            code, o = self._retry("POST", "/api/v1/orders", {
                "category": 2, "address": "%s order %d" % (self.tag, i), "site": SITE})
            if code != 201:
                raise RuntimeError("create: %s %s" % (code, o))
            oid = o["id"]
            self.accepted.append(oid)
            while True:
                code, o = self._retry("POST", "/api/v1/orders/%s/review" % oid,
                                      {"action": "dispatch", "crew": crew})
                if code == 200:
                    break
                # 409: an earlier review whose answer was lost did commit
                code2, o2 = self._retry("GET", "/api/v1/orders/" + oid, None)
                if code2 == 200 and o2["state"] != "recorded":
                    break
                if code not in (409,):
                    raise RuntimeError("review %s: %s %s" % (oid, code, o))
            self.dispatched.append(oid)

    def start(self):
        self.thread.start()
        return self

    def running(self):
        return self.thread.is_alive()


def make_crews(run, devs):
    api = Api(run)
    for d in devs:
        r = api.call("POST", "/api/v1/crews", {"id": "crew-" + d, "name": "Crew " + d,
                                               "device": d})
        if r is None or r[0] not in (200, 201):
            raise RuntimeError("crew %s: %r" % (d, r))
    return ["crew-" + d for d in devs]


# ------------------------------------------------------------- restarts ----
def restart_gateway(run):
    """SIGKILL the gateway and start it again on the same config and database;
    returns seconds from the new process's start to serving (health 200 and
    connected to the broker)."""
    run.gateway.stop(signal.SIGKILL)
    t0 = time.monotonic()
    run.start_gateway()
    return time.monotonic() - t0


def restart_broker(run, edit=None, down_s=0.3):
    """SIGKILL mosquitto, optionally edit its config (a function lines -> lines),
    start it again on the same port and persistence."""
    run.broker.stop(signal.SIGKILL)
    conf = run.path("mosquitto.conf")
    if edit is not None:
        with open(conf) as f:
            lines = f.read().splitlines()
        with open(conf, "w") as f:
            f.write("\n".join(edit(lines)) + "\n")
    time.sleep(down_s)  # the link is down for a moment, as in a real crash
    run.broker = run.spawn("mosquitto", ["/usr/sbin/mosquitto", "-c", conf])
    harness.wait_for(lambda: run._can_connect(run.mqtt_port), 10, "mosquitto back")


def set_conf(key, value):
    def edit(lines):
        return [ln for ln in lines if not ln.strip().startswith(key + " ")] + \
            ["%s %s" % (key, value)]
    return edit


# ----------------------------------------------------------- accounting ----
def db_ro(run, path=None):
    return sqlite3.connect("file:%s?mode=ro" % (path or run.path("gateway.db")), uri=True,
                           timeout=30)


def integrity(run, path=None):
    db = db_ro(run, path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def wait_settled(run, sims, orders, timeout):
    """Until every order is completed at the gateway, every unit's journal is
    empty and no outbox row waits for an ack."""
    def settled():
        if any(s.unacked() for s in sims):
            return False
        db = db_ro(run)
        try:
            q = "SELECT count(*) FROM orders WHERE state='completed' AND id IN (%s)" % \
                ",".join("?" * len(orders))
            done = db.execute(q, orders).fetchone()[0] if orders else 0
            pend = db.execute("SELECT count(*) FROM outbox WHERE acked_ms IS NULL").fetchone()[0]
        finally:
            db.close()
        return done == len(orders) and pend == 0
    harness.wait_for(settled, timeout, "orders completed, journals and outbox drained", 0.25)


def account(run, storm_accepted, dispatched, sims):
    """The figures: a dict with orders_lost, events_lost, dup_effects and the
    details behind them. Reads the database read-only."""
    db = db_ro(run)
    try:
        have = {r[0]: r[1] for r in db.execute("SELECT id, state FROM orders")}
        tl = {}
        for oid, kind in db.execute("SELECT order_id, kind FROM timeline"):
            tl.setdefault(oid, {}).setdefault(kind, 0)
            tl[oid][kind] += 1
        ev = {}
        for dev, seq, eid in db.execute("SELECT dev, seq, eid FROM device_events"):
            ev.setdefault(dev, []).append(seq)
        stored = {r[0] for r in db.execute("SELECT eid FROM device_events")}
        unacked = db.execute("SELECT count(*) FROM outbox WHERE acked_ms IS NULL").fetchone()[0]
    finally:
        db.close()
    lost_orders = [o for o in storm_accepted if o not in have]
    not_done = [o for o in dispatched if have.get(o) != "completed"]
    made = [e for s in sims for e in s.all_eids]
    lost_events = [e for e in made if e not in stored]
    dup = 0
    dup_detail = []
    for o in dispatched:
        for k in ("recorded", "dispatched", "delivered", "accepted", "arrived", "completed"):
            n = tl.get(o, {}).get(k, 0)
            if n > 1:
                dup += n - 1
                dup_detail.append((o, k, n))
    gaps = []
    for dev, seqs in ev.items():
        seqs.sort()
        if seqs != list(range(1, len(seqs) + 1)):
            gaps.append(dev)
    on_device = {o for s in sims for o in s.orders}
    never_on_device = [o for o in dispatched if o not in on_device]
    return {"orders_lost": len(lost_orders) + len(never_on_device),
            "orders_not_completed": len(not_done),
            "events_lost": len(lost_events), "dup_effects": dup,
            "seq_gaps": gaps, "outbox_unacked": unacked,
            "wire_dups": sum(s.wire_dups for s in sims),
            "detail": {"lost_orders": lost_orders[:5], "never_on_device": never_on_device[:5],
                       "not_done": not_done[:5], "lost_events": lost_events[:5],
                       "dups": dup_detail[:5]}}


def report(t, name, acc, extra=""):
    """TAP checks for the three figures and the # result line."""
    t.eq(acc["orders_lost"], 0, "%s: no accepted order lost" % name)
    t.eq(acc["events_lost"], 0, "%s: no device event lost" % name)
    t.eq(acc["dup_effects"], 0, "%s: no effect applied twice" % name)
    t.eq(acc["orders_not_completed"], 0, "%s: every dispatched order completed" % name)
    t.eq(acc["seq_gaps"], [], "%s: every unit's events stored seq 1..N, once" % name)
    if acc["orders_lost"] or acc["events_lost"] or acc["dup_effects"] or \
            acc["orders_not_completed"]:
        print("# detail %s" % json.dumps(acc["detail"]))
    print("# result %s: orders lost %d, events lost %d, effects applied twice %d, "
          "wire duplicates %d%s" % (name, acc["orders_lost"], acc["events_lost"],
                                    acc["dup_effects"], acc["wire_dups"], extra), flush=True)


def recov(times):
    if not times:
        return "n/a"
    s = sorted(times)
    return "min %.2f s, median %.2f s, max %.2f s over %d restarts" % (
        s[0], s[len(s) // 2], s[-1], len(s))
