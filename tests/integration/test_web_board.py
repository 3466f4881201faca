#!/usr/bin/env python3
"""The web board end to end in a real browser (issue 7): headless Debian chromium driven by
playwright-core (tests/web/board_flow.js, installed by `make` into build/web-test/) against
the real gateway, the real TLS broker, a real device and gpsfake.

A dispatcher and a supervisor log in through the login page; an agent records an order by
the API and it appears on both boards live; the supervisor reviews and dispatches it by
clicking on the board; the crew accepts on the device and gpsfake drives it from its depot
to the site, so the arrival is the device's own GPS decision (method "gps"), and the
boards mark it arrived without a reload; an agent logs in in a second browser context and
the callback appears on the desk when the device completes: the time from the completion
command to the row (a MutationObserver timestamp in the page, same machine clock) is
printed, not asserted; the agent records the outcome by clicking; the order is closed.
The order page and the reports page are opened; the wrong roles get the forbidden page
and 403 from the other role's API. Screenshots go to build/test-artifacts/web/."""
import json
import os
import shutil
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402
import nmea_track  # noqa: E402

SITE = (40.8420, 111.7500)      # a street in Xincheng district, Hohhot (urban)
DEPOT = (40.8400, 111.7480)     # the crew's depot, ~280 m away: about 30 s of driving
CHROMIUM = "/usr/bin/chromium"
NODE_MODULES = os.path.join(harness.ROOT, "build", "web-test", "node_modules")
DRIVER = os.path.join(harness.ROOT, "tests", "web", "board_flow.js")
ARTIFACTS = os.path.join(harness.ROOT, "build", "test-artifacts", "web")
DRIVER_MAX_S = 240                # the flow takes about a minute


def skip_reason():
    if not os.access(CHROMIUM, os.X_OK):
        return "no %s (Debian package chromium; `make deps` installs it)" % CHROMIUM
    if shutil.which("node") is None:
        return "no node on PATH (`make deps` installs nodejs)"
    return None


def scenario(t, run):
    run.start_broker()
    run.start_gateway()
    run.cli("crew", "add", "crew-north", "--device", "dev-01", "--name", "新城抢修一班",
            "--branch", "新城供电所")
    run.cli("crew", "add", "crew-south", "--device", "dev-02", "--name", "赛罕抢修二班",
            "--branch", "赛罕供电所")
    run.start_device("dev-01")
    tokens = {role: run.add_token("web-" + role, role)
              for role in ("dispatcher", "supervisor", "agent")}

    # The crew waits at the depot, drives to the site and parks there; gpsfake
    # replays in real time, so the fixes are as honest as a receiver's.
    track = nmea_track.write(run.path("dev-01.nmea"), DEPOT, SITE, speed=10, wait=6,
                             dwell=900, dt=0.3)
    run.start_gpsfake("dev-01", track, cycle=0.1)

    os.makedirs(ARTIFACTS, exist_ok=True)
    cfg = {"url": run.url(), "tokens": tokens, "crew": "crew-north", "site": list(SITE),
           "artifacts": ARTIFACTS, "chromium": CHROMIUM,
           "device_cmd": [os.path.join(harness.BIN, "linecrew-device"), "-f",
                          run.devices["dev-01"]["conf"]]}
    cfg_path = run.path("web.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    # The driver's lines are relayed as they come (a hung step still shows what
    # passed before it); a watchdog ends a driver that outlives DRIVER_MAX_S.
    p = subprocess.Popen(["node", DRIVER, cfg_path], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=env, cwd=harness.ROOT)
    watchdog = threading.Timer(DRIVER_MAX_S * harness.WAIT_SCALE, p.kill)
    watchdog.start()
    result, checks = {}, 0
    try:
        for line in p.stdout:
            line = line.rstrip("\n")
            if line.startswith("CHECK "):
                c = json.loads(line[6:])
                checks += 1
                t.check(c["ok"], "browser: " + c["name"], c.get("detail") or "")
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
            elif line.startswith("INFO "):
                print("# " + line[5:], flush=True)
            elif line.strip():
                print("# " + line, flush=True)
        p.wait()
    finally:
        watchdog.cancel()
    t.check(checks >= 20 and p.returncode == 0, "the browser driver ran every step",
            "exit %d, %d checks" % (p.returncode, checks))

    oid = result.get("order")
    if oid:
        o = run.order(oid)
        t.eq(o["state"], "closed", "the order is closed after the outcome clicked on the desk")
        t.eq(o["callback_outcome"], "restored_satisfied", "the outcome clicked was recorded")
        t.eq(o["rating"], 5, "the rating clicked was recorded")
        t.eq(o["arrive_method"], "gps", "the arrival was the device's GPS decision")
        review = [e for e in o["timeline"] if e["kind"] == "dispatched"]
        t.check(review and review[0]["actor"] == "supervisor",
                "the dispatch was the supervisor's (clicked on the board)", review)
    if result.get("latency_ms") is not None:
        print("completion->callback in browser: %d ms" % result["latency_ms"])
    for name in ("board", "desk", "order", "reports", "forbidden"):
        pth = result.get("screenshots", {}).get(name)
        t.check(pth and os.path.getsize(pth) > 10000, "screenshot %s saved" % name, pth)
        if pth:
            print("# screenshot: %s" % os.path.relpath(pth, harness.ROOT))


def main():
    t = harness.Tap()
    why = skip_reason()
    if why:
        print("# SKIPPED: %s" % why)
        t.check(True, "web board test SKIPPED: %s" % why)
        return t.done()
    if not os.path.isdir(os.path.join(NODE_MODULES, "playwright-core")):
        t.check(False, "playwright-core is installed in build/web-test",
                "run `make web-test-deps` (make test does it first)")
        return t.done()
    return harness.run_checks(t, "web", scenario, "web board run")


if __name__ == "__main__":
    sys.exit(main())
