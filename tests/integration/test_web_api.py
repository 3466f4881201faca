#!/usr/bin/env python3
"""The web board's gateway side (issue 7) through the real parts: a real TLS mosquitto, the
gateway and one real device. Sessions (login, cookie, CSRF), the live stream (every change of
an order live with its id; a resume with Last-Event-ID gets exactly the missed entries; a
far-behind resume is reset; a department sees only its orders), the pages (login redirect,
role gate, security headers, ETag), /metrics as Prometheus text, /healthz, alerts and their
acknowledgement, an order's track and messages, the report as CSV, and bad input to the new
routes."""
import http.client
import json
import os
import re
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

SITE = (40.8420, 111.7500)      # Xincheng district, Hohhot: urban
MIN = 60000
REPLAY_MAX = 5                  # stream_replay_max of this run


class Web:
    """Plain http.client calls with optional cookie, bearer and extra headers."""

    def __init__(self, run):
        self.port = run.http_port

    def call(self, method, path, body=None, cookie=None, token=None, headers=None):
        h = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            h["Content-Type"] = "application/json"
        if cookie:
            h["Cookie"] = "lc_session=" + cookie
        if token:
            h["Authorization"] = "Bearer " + token
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, parsed

    def login(self, secret):
        st, hd, b = self.call("POST", "/api/v1/session", {"token": secret})
        m = re.match(r"lc_session=([0-9a-f]{64});", hd.get("set-cookie", ""))
        return st, hd, b, (m.group(1) if m else None)


class Stream:
    """An SSE client on a raw socket: reads events as a browser's EventSource would."""

    def __init__(self, port, cookie=None, token=None, last_id=None, query=""):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        h = "GET /api/v1/stream%s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n" % query
        if cookie:
            h += "Cookie: lc_session=%s\r\n" % cookie
        if token:
            h += "Authorization: Bearer %s\r\n" % token
        if last_id is not None:
            h += "Last-Event-ID: %s\r\n" % last_id
        self.s.sendall((h + "\r\n").encode())
        self.f = self.s.makefile("rb")
        self.status = int(self.f.readline().split()[1])
        self.headers = {}
        while True:
            line = self.f.readline().decode().rstrip("\r\n")
            if not line:
                break
            k, v = line.split(":", 1)
            self.headers[k.strip().lower()] = v.strip()
        self.chunk_left = 0
        self.body = ""

    def _line(self):
        """One line of the chunked body."""
        while "\n" not in self.body:
            size = int(self.f.readline().strip(), 16)
            if size == 0:
                raise EOFError("stream ended")
            self.body += self.f.read(size).decode()
            self.f.readline()
        line, self.body = self.body.split("\n", 1)
        return line

    def event(self, timeout=20):
        """The next event as (id or None, name, data) ; comments are skipped."""
        self.s.settimeout(timeout)
        eid, name, data = None, "message", []
        while True:
            line = self._line()
            if line == "":
                if data:
                    return eid, name, json.loads("\n".join(data))
                eid, name, data = None, "message", []
                continue
            if line.startswith(":"):
                continue
            k, _, v = line.partition(": ")
            if k == "id":
                eid = int(v)
            elif k == "event":
                name = v
            elif k == "data":
                data.append(v)

    def until(self, pred, timeout=30, what="event"):
        got = []
        end = time.time() + timeout * harness.WAIT_SCALE
        while time.time() < end:
            ev = self.event(timeout=max(0.1, end - time.time()))
            got.append(ev)
            if pred(ev):
                return got
        raise TimeoutError("no %s; got %r" % (what, [(e[0], e[1]) for e in got]))

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def timeline_rows(run, after):
    db = sqlite3.connect("file:%s?mode=ro" % run.path("gateway.db"), uri=True)
    try:
        return db.execute("SELECT rowid, order_id, seq, kind FROM timeline WHERE rowid > ?"
                          " ORDER BY rowid", (after,)).fetchall()
    finally:
        db.close()


def metrics(web):
    st, hd, text = web.call("GET", "/metrics")
    return st, hd, text


def scenario(t, run):
    streams = []
    try:
        run.start_broker()
        run.start_gateway("test_clock yes\nstream_replay_max %d\n" % REPLAY_MAX)
        run.cli("crew", "add", "crew-north", "--device", "dev-01", "--branch", "Xincheng")
        run.start_device("dev-01")
        web = Web(run)
        disp = run.add_token("disp", "dispatcher")
        agent = run.add_token("agent", "agent")
        dept = run.add_token("mkt", "department", "市场营销部")

        # --- sessions
        st, hd, b, dcookie = web.login(disp)
        t.check(st == 200 and dcookie and b["role"] == "dispatcher" and len(b["csrf"]) == 32,
                "login: 200, a session cookie, the role and a CSRF token", (st, hd, b))
        sc = hd.get("set-cookie", "")
        t.check("HttpOnly" in sc and "SameSite=Strict" in sc and "Path=/" in sc and
                "Max-Age=43200" in sc, "the cookie is HttpOnly, SameSite=Strict, 12 h", sc)
        csrf = b["csrf"]
        st, _, b = web.call("GET", "/api/v1/session", cookie=dcookie)
        t.check(st == 200 and b["name"] == "disp" and b["csrf"] == csrf,
                "GET /api/v1/session with the cookie", b)
        st, _, b = web.call("POST", "/api/v1/session", {"token": "not-a-token"})
        t.eq(st, 401, "login with a bad token: 401")
        st, _, b = web.call("POST", "/api/v1/session", {"tokn": disp})
        t.check(st == 400 and b["error"]["field"] == "tokn", "malformed login body: 400 naming "
                "the field", b)
        st, _, b = web.call("POST", "/api/v1/session", {"token": 5})
        t.check(st == 400 and b["error"]["field"] == "token", "login token not a string: 400",
                b)
        st, _, b = web.call("GET", "/api/v1/session", cookie="0" * 64)
        t.eq(st, 401, "an unknown session cookie: 401")
        outage = {"name": "检修", "site": {"lat": 41.5, "lon": 112.5}, "radius_m": 10,
                  "start_ms": 1, "end_ms": 2}
        st, _, b = web.call("POST", "/api/v1/outages", outage, cookie=dcookie)
        t.check(st == 403 and b["error"]["field"] == "X-CSRF-Token",
                "a write with the cookie but no X-CSRF-Token: 403 naming it", b)
        st, _, b = web.call("POST", "/api/v1/outages", outage, cookie=dcookie,
                            headers={"X-CSRF-Token": "0" * 32})
        t.eq(st, 403, "a write with another CSRF token: 403")
        st, _, b = web.call("POST", "/api/v1/outages", outage, cookie=dcookie,
                            headers={"X-CSRF-Token": csrf})
        t.eq(st, 201, "a write with the session's CSRF token: accepted")

        # --- the live stream: an order's life, live, with ids
        s1 = Stream(run.http_port, cookie=dcookie)
        streams.append(s1)
        t.check(s1.status == 200 and s1.headers.get("content-type", "").startswith(
            "text/event-stream"), "the stream answers text/event-stream", s1.headers)
        _, name, hello = s1.event()
        t.check(name == "hello" and hello["role"] == "dispatcher" and
                hello["resume_from"] is None and isinstance(hello["last_id"], int),
                "first event: hello with last_id, no resume point", hello)
        st, o = run.api("POST", "/api/v1/orders", {"category": 2, "address": "海拉尔东路 12 号",
                                                    "customer": "王女士", "phone": "13800000001",
                                                    "site": {"lat": SITE[0], "lon": SITE[1]}},
                        token=agent)
        oid = o["id"]
        run.api("POST", "/api/v1/orders/%s/review" % oid,
                {"action": "dispatch", "crew": "crew-north"})
        got = s1.until(lambda e: e[1] == "timeline" and e[2]["order_id"] == oid and
                       e[2]["kind"] == "delivered", 30, "delivered of the order")
        tl = [e for e in got if e[1] == "timeline" and e[2]["order_id"] == oid]
        t.eq([e[2]["kind"] for e in tl], ["recorded", "dispatched", "delivered"],
             "recorded, dispatched, delivered arrive live in order")
        t.check(all(e[0] == e[2]["id"] for e in tl) and
                all(b2[0] > a[0] for a, b2 in zip(tl, tl[1:])),
                "each carries its timeline id, increasing", [e[0] for e in tl])
        br = tl[-1][2]["order"]
        t.check(br["id"] == oid and br["state"] == "delivered" and br["customer"] is None and
                br["deadline_stage"] == "arrival" and br["crew_name"] == "crew-north",
                "the order brief: current state, contact redacted for a dispatcher, deadline, "
                "crew name", br)
        run.devcmd("dev-01", "accept", oid)
        got = s1.until(lambda e: e[1] == "timeline" and e[2]["kind"] == "accepted", 30,
                       "accepted")
        last = got[-1][0]
        s1.close()

        # --- disconnected: more changes; the resume gets exactly the missed entries
        run.devcmd("dev-01", "progress", oid, "on the pole")
        run.wait_timeline(oid, "progress", 20)
        st, o2 = run.api("POST", "/api/v1/orders", {"category": 1, "address": "新华大街 1 号",
                                                     "site": {"lat": SITE[0], "lon": SITE[1]}},
                         token=agent)
        missed = timeline_rows(run, last)
        t.check(1 <= len(missed) <= REPLAY_MAX, "some entries were missed", missed)
        s2 = Stream(run.http_port, cookie=dcookie, last_id=last)
        streams.append(s2)
        _, name, hello = s2.event()
        t.check(name == "hello" and hello["resume_from"] == last, "hello names the resume "
                "point", hello)
        got = s2.until(lambda e: e[0] == missed[-1][0], 20, "the last missed entry")
        ids = [e[0] for e in got if e[1] == "timeline"]
        t.eq(ids, [m[0] for m in missed], "the resume replays exactly the missed entries: no "
             "gap, no repeat")
        t.eq([(e[2]["order_id"], e[2]["seq"], e[2]["kind"]) for e in got if e[1] == "timeline"],
             [(m[1], m[2], m[3]) for m in missed], "with their order, seq and kind")
        s2.close()
        s3 = Stream(run.http_port, token=run.token, query="?after=%d" % last)
        streams.append(s3)
        s3.event()
        got = s3.until(lambda e: e[0] == missed[-1][0], 20, "the last missed entry (?after)")
        t.eq([e[0] for e in got if e[1] == "timeline"], [m[0] for m in missed],
             "?after=N with a bearer token resumes the same way")
        s3.close()

        # --- far behind: reset
        s4 = Stream(run.http_port, cookie=dcookie, last_id=0)
        streams.append(s4)
        _, n1, h1 = s4.event()
        _, n2, r = s4.event()
        t.check(n1 == "hello" and h1["resume_from"] is None and n2 == "reset" and
                r["reason"] == "too_old", "a resume more than stream_replay_max behind gets "
                "a reset", (n1, h1, n2, r))
        s4.close()
        s5 = Stream(run.http_port, cookie=dcookie, last_id=10 ** 9)
        streams.append(s5)
        s5.event()
        _, n2, r = s5.event()
        t.check(n2 == "reset" and r["reason"] == "unknown_id", "a resume point ahead of the "
                "newest entry gets a reset", r)
        s5.close()

        # --- bad input to the stream
        st, _, b = web.call("GET", "/api/v1/stream?after=x", cookie=dcookie)
        t.check(st == 400 and b["error"]["field"] == "after", "?after=x: 400 naming after", b)
        st, _, b = web.call("GET", "/api/v1/stream", cookie=dcookie,
                            headers={"Last-Event-ID": "-3"})
        t.check(st == 400 and b["error"]["field"] == "Last-Event-ID",
                "Last-Event-ID -3: 400 naming it", b)
        st, _, b = web.call("GET", "/api/v1/stream")
        t.eq(st, 401, "the stream needs a session or a token")

        # --- a department sees only its orders
        st, _, b, mcookie = web.login(dept)
        t.check(st == 200 and b["dept"] == "市场营销部", "a department logs in", b)
        s6 = Stream(run.http_port, cookie=mcookie)
        streams.append(s6)
        s6.event()
        run.api("POST", "/api/v1/orders", {"category": 1, "address": "别处",
                                           "site": {"lat": SITE[0], "lon": SITE[1]}},
                token=agent)
        st, c = run.api("POST", "/api/v1/orders", {"type": "complaint", "category": 29,
                                                    "address": "营业厅"}, token=agent)
        cid = c["id"]
        run.api("POST", "/api/v1/orders/%s/review" % cid,
                {"action": "forward", "dept": "市场营销部"})
        got = s6.until(lambda e: e[1] == "timeline" and e[2]["kind"] == "forwarded", 20,
                       "the forwarded complaint")
        t.check(all(e[2]["order_id"] == cid for e in got if e[1] == "timeline"),
                "the department's stream holds only its order", [(e[0], e[2].get("order_id"))
                                                                  for e in got])
        t.check(got[-1][2]["order"]["customer"] is not None, "a department sees the contact "
                "data of its own order", got[-1][2]["order"])
        s6.close()

        # --- Prefer: return=minimal (RFC 7240): the write's answer is the order's id
        # and state, with Preference-Applied; without it, the whole order
        sup = run.add_token("sup2", "supervisor")
        mins = []
        for prefer in ("return=minimal", None):
            _, c2 = run.api("POST", "/api/v1/orders", {"type": "complaint", "category": 29,
                                                       "address": "营业厅"}, token=agent)
            st, hd, b = web.call("POST", "/api/v1/orders/%s/review" % c2["id"],
                                 {"action": "forward", "dept": "市场营销部"}, token=sup,
                                 headers={"Prefer": prefer} if prefer else None)
            _, full = run.api("GET", "/api/v1/orders/%s" % c2["id"])
            mins.append((st, hd.get("preference-applied"), b, full))
        (st, pa, b, full), (st2, pa2, b2, full2) = mins
        t.check(st == 200 and pa == "return=minimal" and b == {"id": full["id"],
                "state": full["state"]} and full["state"] == "forwarded" and
                any(e["kind"] == "forwarded" for e in full["timeline"]),
                "Prefer: return=minimal: 200 {id, state}, Preference-Applied, the write done",
                (st, pa, b, full.get("state")))
        t.check(st2 == 200 and pa2 is None and b2.get("id") == full2["id"] and
                "timeline" in b2 and b2["state"] == "forwarded",
                "without Prefer: the whole order and its timeline", (st2, pa2, sorted(b2)))
        st, hd, b = web.call("GET", "/api/v1/orders/%s" % full["id"], token=sup,
                             headers={"Prefer": "return=minimal"})
        t.check(st == 200 and hd.get("preference-applied") is None and "timeline" in b,
                "Prefer: return=minimal on a GET: the whole order still (reads are not "
                "writes)", (st, hd.get("preference-applied"), sorted(b or {})))

        # --- pages
        st, hd, _ = web.call("GET", "/board")
        t.check(st == 303 and hd.get("location") == "/login?next=/board",
                "no cookie: 303 to /login?next=/board", (st, hd))
        st, _, _, acookie = web.login(agent)
        st, hd, body = web.call("GET", "/board", cookie=acookie)
        t.check(st == 403 and 'data-error="forbidden"' in body and "403" in body,
                "an agent on /board: the 403 page", (st, body))
        st, hd, body = web.call("GET", "/board", cookie=dcookie)
        csp = hd.get("content-security-policy", "")
        t.check(st == 200 and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
                and hd.get("x-content-type-options") == "nosniff" and
                hd.get("x-frame-options") == "DENY" and hd.get("referrer-policy") ==
                "same-origin" and hd.get("content-type", "").startswith("text/html"),
                "a dispatcher on /board: 200 with CSP and the security headers", hd)
        st, hd, _ = web.call("GET", "/", cookie=acookie)
        t.check(st == 303 and hd.get("location") == "/desk", "/ sends an agent to /desk", hd)
        st, hd, _ = web.call("GET", "/login")
        t.eq(st, 200, "/login is public")
        st, hd, css = web.call("GET", "/static/app.css")
        etag = hd.get("etag")
        t.check(st == 200 and etag and hd.get("cache-control") == "no-cache" and
                hd.get("content-type", "").startswith("text/css"), "an asset with an ETag",
                hd)
        st, hd, body = web.call("GET", "/static/app.css", headers={"If-None-Match": etag})
        t.check(st == 304 and body == "", "If-None-Match: 304, no body", (st, body))
        st, _, _ = web.call("GET", "/static/../gateway.db")
        t.eq(st, 404, "no path out of the assets")
        st, _, _ = web.call("GET", "/order/%s" % oid, cookie=acookie)
        t.eq(st, 200, "the order page for any role")

        st, hd, svg = web.call("GET", "/api/v1/map.svg", cookie=dcookie)
        t.check(st == 200 and ('data-order="%s"' % oid) in svg, "the map's order markers "
                "carry data-order", (st, svg[:300]))

        # --- alerts on the test clock
        code, _ = run.api("POST", "/api/v1/test/clock", {"advance_ms": 49 * MIN})
        st, _, b = web.call("GET", "/api/v1/alerts", token=disp)
        mine = [a for a in b["alerts"] if a["order_id"] == oid]
        t.check(st == 200 and mine and mine[0]["kind"] == "warning" and
                mine[0]["stage"] == "arrival" and mine[0]["due_ms"] and
                mine[0]["order"]["id"] == oid, "the arrival warning is an alert", b)
        seq = mine[0]["seq"]
        st, _, b = web.call("GET", "/api/v1/alerts", token=agent)
        t.eq(st, 403, "an agent may not read the alerts")
        st, _, b = web.call("POST", "/api/v1/alerts/ack", {"order_id": oid, "seq": seq,
                                                           "note": "called the crew"},
                            cookie=dcookie, headers={"X-CSRF-Token": csrf})
        t.check(st == 200 and b["ack"] == {"order_id": oid, "seq": seq, "kind": "warning",
                                           "stage": "arrival"}, "the alert is acknowledged", b)
        st, _, b = web.call("POST", "/api/v1/alerts/ack", {"order_id": oid, "seq": seq},
                            cookie=dcookie, headers={"X-CSRF-Token": csrf})
        t.eq(st, 409, "a second acknowledgement: 409")
        st, _, b = web.call("POST", "/api/v1/alerts/ack", {"order_id": oid, "seq": 1},
                            token=disp)
        t.check(st == 404 and b["error"]["field"] == "seq", "no alert with that seq: 404 "
                "naming seq", b)
        st, _, b = web.call("POST", "/api/v1/alerts/ack", {"order_id": oid, "seq": "x"},
                            token=disp)
        t.check(st == 400 and b["error"]["field"] == "seq", "seq not a number: 400", b)
        st, _, b = web.call("GET", "/api/v1/alerts", token=disp)
        t.check(not [a for a in b["alerts"] if a["order_id"] == oid and a["seq"] == seq],
                "the acknowledged alert left the list", b)
        o = run.order(oid)
        ack = [e for e in o["timeline"] if e["kind"] == "alert_ack"]
        t.check(len(ack) == 1 and ack[0]["detail"]["by"] == "disp" and
                ack[0]["detail"]["note"] == "called the crew", "alert_ack is on the timeline",
                ack)

        # --- track, messages, callbacks, stats as CSV
        st, _, b = web.call("GET", "/api/v1/orders/%s/track" % oid, token=disp)
        t.check(st == 200 and b["order_id"] == oid and isinstance(b["points"], list) and
                b["truncated"] is False, "the order's track", b)
        st, _, b = web.call("GET", "/api/v1/orders/%s/messages" % oid, token=disp)
        t.check(st == 200 and any(u["type"] == "delivered" for u in b["uplink"]) and
                any(d["kind"] == "order" and d["acked_ms"] for d in b["downlink"]),
                "the order's messages: delivered up, the acked push down", b)
        st, _, b = web.call("GET", "/api/v1/orders/LC-20990101-0001/track", token=disp)
        t.eq(st, 404, "the track of an unknown order: 404")
        run.devcmd("dev-01", "complete", oid, "fuse replaced")
        run.wait_timeline(oid, "callback_due", 20)
        st, _, b = web.call("GET", "/api/v1/callbacks", token=agent)
        cb = [x for x in b["callbacks"] if x["id"] == oid]
        t.check(cb and cb[0]["completion_note"] == "fuse replaced" and
                cb[0]["phone"] == "13800000001", "a callback with the completion note and "
                "the phone", cb)
        now = run.api("POST", "/api/v1/test/clock", {"advance_ms": 0})[1]["now_ms"]
        st, hd, body = web.call("GET", "/api/v1/stats?from_ms=%d&to_ms=%d&by=type&format=csv"
                                % (now - 24 * 60 * MIN, now + MIN), token=disp)
        lines = body.strip().splitlines() if isinstance(body, str) else []
        t.check(st == 200 and hd.get("content-type", "").startswith("text/csv") and
                lines[0].startswith("type,label,orders,") and lines[-1].startswith("total,"),
                "the report as CSV", (st, hd, body))
        st, _, b = web.call("GET", "/api/v1/stats?from_ms=1&to_ms=2&format=xml", token=disp)
        t.check(st == 400 and b["error"]["field"] == "format", "format=xml: 400", b)

        # --- metrics
        st, hd, text = metrics(web)
        series = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|'
                            r'\\.)*",?)*\})? [-+0-9.eE]+(Inf)?$')
        bad = [ln for ln in text.splitlines() if ln and not ln.startswith("#") and
               not series.match(ln)]
        t.check(st == 200 and hd.get("content-type", "").startswith("text/plain; version=0.0.4")
                and not bad, "/metrics is Prometheus text: every line a comment or a sample",
                bad[:5])

        def value(txt, name):
            m = re.search(r"^%s (\S+)$" % re.escape(name), txt, re.M)
            return float(m.group(1)) if m else None
        t.check(value(text, 'linecrew_orders{state="completed"}') is not None and
                value(text, "linecrew_devices_online") == 1 and
                value(text, "linecrew_mqtt_connected") == 1 and
                value(text, "linecrew_dispatch_ack_seconds_count") >= 1 and
                value(text, "process_resident_memory_bytes") > 0,
                "orders by state, devices online, mqtt, dispatch acks, RSS", text[:3000])
        rec = value(text, 'linecrew_orders{state="recorded"}')
        run.api("POST", "/api/v1/orders", {"category": 1, "address": "x",
                                           "site": {"lat": SITE[0], "lon": SITE[1]}},
                token=agent)
        harness.wait_for(lambda: value(metrics(web)[2], 'linecrew_orders{state="recorded"}')
                         == rec + 1, 15, "the recorded count to move")
        t.check(True, "the orders count moves after an order")

        # --- health
        st, _, b = web.call("GET", "/healthz")
        t.check(st == 200 and b == {"status": "ok", "store": "ok", "mqtt": "connected"},
                "/healthz: 200 ok", b)
        run.broker.stop()
        harness.wait_for(lambda: web.call("GET", "/healthz")[0] == 503, 20,
                         "healthz to fail without the broker")
        st, _, b = web.call("GET", "/healthz")
        t.check(st == 503 and b["mqtt"] == "disconnected" and b["store"] == "ok",
                "/healthz: 503 naming the broker when it is down", b)
        st, _, b = web.call("DELETE", "/api/v1/session", cookie=dcookie,
                            headers={"X-CSRF-Token": csrf})
        t.eq(st, 200, "logout")
        st, _, b = web.call("GET", "/api/v1/session", cookie=dcookie)
        t.eq(st, 401, "the session is gone after logout")
        t.check(run.gateway.alive(), "the gateway is still running")
    finally:
        for s in streams:
            s.close()


def main():
    t = harness.Tap()
    return harness.run_checks(t, "web", scenario)


if __name__ == "__main__":
    sys.exit(main())
