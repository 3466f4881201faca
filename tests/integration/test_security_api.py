#!/usr/bin/env python3
"""The API's people side of issue 6 through a real gateway: a department token
sees only the orders forwarded to its department, in lists as in single
answers; and the API served over HTTPS (libmicrohttpd with GnuTLS) with a
certificate of the fleet CA answers a TLS client and refuses plain HTTP."""
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402


def scenario(t, run):
    run.start_broker()
    run.start_gateway()
    ids = {}
    for dept, cat in (("市场营销部", 29), ("生产技术部", 18)):
        code, c = run.api("POST", "/api/v1/orders", {"type": "complaint", "category": cat,
                                                      "address": "营业厅", "customer": "李先生",
                                                      "phone": "13900000000"})
        assert code == 201, c
        code, c = run.api("POST", "/api/v1/orders/%s/review" % c["id"],
                          {"action": "forward", "dept": dept})
        assert code == 200, c
        ids[dept] = c["id"]
    mkt = run.add_token("mkt", "department", dept="市场营销部")
    code, lst = run.api("GET", "/api/v1/orders?state=all", token=mkt)
    got = sorted(o["id"] for o in lst.get("orders", []))
    t.eq(code, 200, "a department may list orders")
    t.eq(got, [ids["市场营销部"]], "the list holds only the department's own order")
    code, _ = run.api("GET", "/api/v1/orders/" + ids["生产技术部"], token=mkt)
    t.eq(code, 404, "another department's order is not found for it")
    code, o = run.api("GET", "/api/v1/orders/" + ids["市场营销部"], token=mkt)
    t.check(code == 200 and o.get("phone") == "13900000000",
            "its own order, with the contact it must call back", o)
    disp = run.add_token("disp", "dispatcher")
    code, lst = run.api("GET", "/api/v1/orders?state=all", token=disp)
    t.check(code == 200 and all(o.get("customer") is None and o.get("phone") is None
                                for o in lst["orders"]) and len(lst["orders"]) == 2,
            "a dispatcher lists every order without contact data", lst)

    # HTTPS: the same gateway configuration plus the API's own certificate
    port = harness.free_port()
    conf = run.path("gateway-https.conf")
    with open(run.path("gateway.conf")) as f:
        base = [l for l in f if not l.startswith(("http_port", "db "))]
    # a consistent copy (the live file's newest commits may sit in its WAL)
    src = sqlite3.connect(run.path("gateway.db"))
    dst = sqlite3.connect(run.path("gateway-https.db"))
    src.backup(dst)
    src.close()
    dst.close()
    with open(conf, "w") as f:
        f.writelines(base)
        f.write("db %s\nhttp_port %d\nhttp_tls_cert %s\nhttp_tls_key %s\n" % (
            run.path("gateway-https.db"), port, os.path.join(run.pki, "broker.crt"),
            os.path.join(run.pki, "broker.key")))
    gw2 = run.spawn("gateway-https", [os.path.join(harness.BIN, "linecrew-gateway"), "-d",
                                      "-f", conf])

    def https_health():
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            "--cacert", os.path.join(run.pki, "ca.crt"),
                            "https://localhost:%d/api/v1/health" % port],
                           capture_output=True, text=True, timeout=10)
        return r.stdout == "200"
    harness.wait_for(https_health, 15, "the HTTPS API")
    t.check(True, "the API answers over HTTPS with a certificate of the fleet CA")
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "--cacert", os.path.join(run.pki, "ca.crt"), "-H",
                        "Authorization: Bearer " + mkt,
                        "https://localhost:%d/api/v1/orders" % port],
                       capture_output=True, text=True, timeout=10)
    t.eq(r.stdout, "200", "a token works over HTTPS")
    r = subprocess.run(["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                        "http://localhost:%d/api/v1/health" % port],
                       capture_output=True, text=True, timeout=15)
    t.check(r.stdout != "200", "plain HTTP to the HTTPS port gets no answer", r.stdout)
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "https://localhost:%d/api/v1/health" % port],
                       capture_output=True, text=True, timeout=10)
    t.check(r.stdout != "200", "a client that does not trust the fleet CA is refused")
    t.check(gw2.alive(), "the HTTPS gateway survives the plain-HTTP attempt")


def main():
    t = harness.Tap()
    return harness.run_checks(t, "secapi", scenario, "API security run")


if __name__ == "__main__":
    sys.exit(main())
