#!/usr/bin/env python3
"""test_hostile_http: the malformed-input catalogue of the HTTP API (issue 8).

A real gateway (real mosquitto, SQLite) gets one hostile request per case:
deeply nested JSON, huge strings, wrong types, numbers out of range, invalid
UTF-8, unknown fields, missing fields, truncated bodies, duplicate ids and
orders that do not exist. Each case asserts the status code, that the error
names the field (error.field, and the message starts with it) where there is
one, that the gateway still serves, and that the stored data (orders with
their timelines, crews, outages) did not change. Prints the number of cases.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

SITE = {"lat": 40.8420, "lon": 111.7500}
GOOD = {"category": 2, "address": "新城区 海拉尔东路 12 号", "site": SITE}


def body(**kw):
    b = dict(GOOD)
    for k, v in kw.items():
        if v is None:
            b.pop(k, None)
        else:
            b[k] = v
    return json.dumps(b, ensure_ascii=False).encode()


def nested(depth, leaf=b"1"):
    return b"[" * depth + leaf + b"]" * depth


def snapshot(run, oid):
    orders = run.api("GET", "/api/v1/orders?state=all&limit=1000")[1]
    return (json.dumps(orders, sort_keys=True), json.dumps(run.order(oid), sort_keys=True),
            json.dumps(run.api("GET", "/api/v1/crews")[1], sort_keys=True),
            json.dumps(run.api("GET", "/api/v1/outages")[1], sort_keys=True))


def main():
    t = harness.Tap()
    run = harness.Run("hostile-http")
    ok = False
    try:
        run.start_broker()
        run.start_gateway()
        run.cli("crew", "add", "crew-north", "--device", "dev-01", "--name", "Xincheng")
        code, o = run.api("POST", "/api/v1/orders", json.loads(body()))
        t.eq(code, 201, "a good order is accepted (the one the cases must not change)")
        oid = o["id"]
        code, o2 = run.api("POST", "/api/v1/orders", json.loads(body()))
        code, _ = run.api("POST", "/api/v1/orders/%s/review" % oid,
                          {"action": "dispatch", "crew": "crew-north"})
        t.eq(code, 200, "the order is dispatched")
        before = snapshot(run, oid)
        O = "/api/v1/orders"
        # (name, method, path, raw body, status, field or None)
        cases = [
            # deeply nested JSON
            ("10,000-deep array", "POST", O, b'{"category":' + nested(10000) + b'}', 400, None),
            ("900-deep array in site.lat", "POST", O,
             body(site={"lat": json.loads(nested(900).decode()), "lon": 111.7}), 400, None),
            ("20-deep array in site.lat", "POST", O,
             body(site={"lat": json.loads(nested(20).decode()), "lon": 111.7}), 400, "site.lat"),
            ("nested object as address", "POST", O, body(address={"a": {"b": {"c": 1}}}), 400, "address"),
            # huge strings
            ("address of 600 bytes", "POST", O, body(address="x" * 600), 400, "address"),
            ("summary of 60,000 bytes", "POST", O, body(summary="長" * 20000), 400, "summary"),
            ("body of 70 KB", "POST", O, b'{"pad":"' + b"a" * 70000 + b'"}', 413, None),
            ("crew name of 10 kB", "POST", "/api/v1/crews",
             json.dumps({"id": "crew-x", "name": "n" * 10000, "device": "dev-09"}).encode(), 400, "name"),
            # wrong types
            ("category as a string", "POST", O, body(category="2"), 400, "category"),
            ("site.lat as a string", "POST", O, body(site={"lat": "40.8", "lon": 111.7}), 400, "site.lat"),
            ("site as an array", "POST", O, body(site=[40.8, 111.7]), 400, "site"),
            ("arrears as a string", "POST", O, body(arrears="yes"), 400, "arrears"),
            ("type as a number", "POST", O, body(type=1), 400, "type"),
            ("category 1.5", "POST", O, body(category=1.5), 400, "category"),
            ("root is an array", "POST", O, b'[1,2,3]', 400, None),
            ("review action as null", "POST", O + "/%s/review" % oid, b'{"action":null}', 400, "action"),
            # numbers out of range
            ("category 99", "POST", O, body(category=99), 400, "category"),
            ("category -1", "POST", O, body(category=-1), 400, "category"),
            ("site.lat 91", "POST", O, body(site={"lat": 91, "lon": 111.7}), 400, "site.lat"),
            ("site.lon -180.5", "POST", O, body(site={"lat": 40, "lon": -180.5}), 400, "site.lon"),
            ("radius_m 1e308", "POST", O, body(radius_m=1e308), 400, "radius_m"),
            ("radius_m 1e400 (infinite)", "POST", O,
             body()[:-1] + b',"radius_m":1e400}', 400, "radius_m"),
            ("call_ended_ms 2^63", "POST", O, body()[:-1] + b',"call_ended_ms":9223372036854775808}',
             400, "call_ended_ms"),
            ("ring_ms negative", "POST", O, body(ring_ms=-5), 400, "ring_ms"),
            ("outage radius 0", "POST", "/api/v1/outages", json.dumps(
                {"name": "x", "site": SITE, "radius_m": 0, "start_ms": 1, "end_ms": 2}).encode(),
             400, "radius_m"),
            ("limit=0 in the query", "GET", O + "?limit=0", None, 400, "limit"),
            # invalid UTF-8 and control characters
            ("address with invalid UTF-8", "POST", O,
             b'{"category":2,"address":"\xff\xfe\xc0\xaf","site":{"lat":40.8,"lon":111.7}}', 400, "address"),
            ("summary with a truncated UTF-8 sequence", "POST", O,
             body()[:-1] + b',"summary":"\xe6\x96"}', 400, "summary"),
            ("address with an escaped NUL", "POST", O, body(address="a\u0000b"), 400, "address"),
            ("customer with a lone surrogate", "POST", O,
             body()[:-1] + b',"customer":"\\ud800"}', 400, None),
            # unknown fields
            ("unknown field categry", "POST", O, body(categry=2), 400, "categry"),
            ("unknown field site.alt", "POST", O,
             body(site={"lat": 40.8, "lon": 111.7, "alt": 5}), 400, "site.alt"),
            ("unknown field in a review", "POST", O + "/%s/review" % oid,
             b'{"action":"dispatch","crew":"crew-north","force":true}', 400, "force"),
            # missing fields
            ("no address", "POST", O, body(address=None), 400, "address"),
            ("no category", "POST", O, body(category=None), 400, "category"),
            ("no site for a repair", "POST", O, body(site=None), 400, "site"),
            ("site without lon", "POST", O, body(site={"lat": 40.8}), 400, "site.lon"),
            ("crew without device", "POST", "/api/v1/crews", b'{"id":"crew-y","name":"y"}', 400, "device"),
            # truncated and empty bodies
            ("truncated body", "POST", O, body()[:25], 400, None),
            ("body cut inside a string", "POST", O, b'{"category":2,"address":"abc', 400, None),
            ("empty body", "POST", O, b"", 400, None),
            ("trailing garbage", "POST", O, body() + b" x", 400, None),
            # duplicate ids
            ("duplicate key category", "POST", O, b'{"category":2,"category":99,"address":"x",'
             b'"site":{"lat":40.8,"lon":111.7}}', 400, "category"),
            ("dispatching a dispatched order again", "POST", O + "/%s/review" % oid,
             b'{"action":"dispatch","crew":"crew-north"}', 409, None),
            ("link listing the same duplicate twice", "POST", O + "/%s/link" % oid,
             json.dumps({"duplicates": [o2["id"], o2["id"]]}).encode(), 400, "duplicates[1]"),
            ("link an order to itself", "POST", O + "/%s/link" % oid,
             json.dumps({"duplicates": [oid]}).encode(), 400, "duplicates[0]"),
            # orders that do not exist
            ("GET an order that does not exist", "GET", O + "/LC-19700101-9999", None, 404, None),
            ("review an order that does not exist", "POST", O + "/LC-19700101-9999/review",
             b'{"action":"dispatch","crew":"crew-north"}', 404, None),
            ("callback on an order that does not exist", "POST", O + "/LC-19700101-9999/callback",
             b'{"outcome":"restored_satisfied","rating":5}', 404, None),
            ("an order id with a path escape", "GET", O + "/..%2f..%2fetc", None, 404, None),
            ("an order id of 200 characters", "GET", O + "/" + "A" * 200, None, 404, None),
            ("dispatch to a crew that does not exist", "POST", O + "/%s/review" % o2["id"],
             b'{"action":"dispatch","crew":"crew-nope"}', None, "crew"),
        ]
        for name, method, path, raw, want, field in cases:
            if method == "GET":
                code, b = run.api("GET", path)
            else:
                code, b = run.api(method, path, raw=raw)
            err = b.get("error", {}) if isinstance(b, dict) else {}
            good = (code == want) if want is not None else (400 <= code < 500)
            if good and field is not None:
                good = err.get("field") == field and str(err.get("message", "")).startswith(field)
            if good:
                good = bool(err.get("message")) and err.get("status") == code
            t.check(good, "%s: %d%s" % (name, want or code, " naming %s" % field if field else ""),
                    "got %d %r" % (code, b if len(str(b)) < 400 else str(b)[:400]))
            t.check(run.gateway.alive() and run.api("GET", "/api/v1/health")[0] == 200,
                    "%s: the gateway still serves" % name)
            t.check(snapshot(run, oid) == before, "%s: stored data unchanged" % name)
        print("# HTTP catalogue: %d cases" % len(cases))
        ok = t.failed == 0
    except Exception as e:
        t.check(False, "unexpected exception", repr(e))
        print(run.logs())
    finally:
        run.close(failed=not ok)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
