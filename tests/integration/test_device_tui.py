#!/usr/bin/env python3
"""The crew's screen (`linecrew-device screen`) driven through tmux: keys sent
with send-keys, what the screen shows read with capture-pane, and the effect
checked at the gateway.

A real broker, gateway and device; one order dispatched to the crew. The test
presses A (accept), P + text (progress), D + 3 + minutes (delay: materials),
R + N (arrival cancelled on the confirmation), R + Y (arrival by hand), an
unknown key, C + Y (complete), and reads the screen after each: the order's
address, customer and symptom, the deadlines, the feedback line, the sending
state. Each action must then be on the order's timeline at the gateway."""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

DEV, CREW = "dev-tui", "crew-tui"


class Screen:
    def __init__(self, run, conf):
        self.sock = run.path("tmux.sock")
        self.tmux = ["tmux", "-S", self.sock]
        subprocess.run(self.tmux + ["-f", "/dev/null", "new-session", "-d", "-s", "crew",
                                    "-x", "100", "-y", "30",
                                    "env TERM=screen LANG=C.UTF-8 %s -f %s screen" % (
                                        os.path.join(harness.BIN, "linecrew-device"), conf)],
                       check=True, timeout=10)

    def text(self):
        r = subprocess.run(self.tmux + ["capture-pane", "-p", "-t", "crew"],
                           capture_output=True, text=True, timeout=10)
        return r.stdout

    def keys(self, *k):
        subprocess.run(self.tmux + ["send-keys", "-t", "crew"] + list(k), check=True, timeout=10)

    def wait(self, needle, timeout=15):
        """Wait until the screen shows needle; return the screen's text."""
        def seen():
            s = self.text()
            return s if needle in s else None
        return harness.wait_for(seen, timeout, "the screen to show %r" % needle)

    def close(self):
        subprocess.run(self.tmux + ["kill-server"], capture_output=True, timeout=10)


def main():
    t = harness.Tap()
    if shutil.which("tmux") is None:
        print("# SKIPPED: tmux not installed")
        t.check(True, "tmux screen # SKIP tmux not installed")
        return t.done()
    run = harness.Run("devtui")
    scr = None
    ok = False
    try:
        run.start_broker()
        run.start_gateway()
        run.cli("crew", "add", CREW, "--device", DEV)
        # ask for a delay reason a full day ahead: this order's 12 h limit is
        # then already "near", so the prompt shows from the start
        run.start_device(DEV, extra="delay_prompt_min 1440\n")
        scr = Screen(run, run.devices[DEV]["conf"])
        t.check("NO OPEN ORDER" in scr.wait("NO OPEN ORDER"), "no order: the screen says so")
        oid = run.cli("order", "create", "--category", "2", "--address", "Dongfeng Road 12",
                      "--site", "40.8423,111.7497", "--customer", "Wang", "--phone",
                      "13800000000", "--summary", "whole building dark").stdout.strip()
        run.cli("review", oid, "--dispatch", CREW)
        s = scr.wait(oid, 30)
        for what in ("Dongfeng Road 12", "Wang", "13800000000", "whole building dark",
                     "Arrive by", "Finish by", "NOT YET ACCEPTED", "GATEWAY: CONNECTED",
                     "GPS: NO RECEIVER", "distance unknown"):
            t.check(what in s, "order on screen: %s" % what, s)

        scr.keys("a")
        s = scr.wait("Accepted order")
        t.check("sent to the gateway" in s and "Event      %s:" % DEV in s,
                "A: feedback says accepted, names the event, sent", s)
        run.wait_timeline(oid, "accepted", 20)
        t.check(True, "A: the gateway has the acceptance")
        t.check("ACCEPTED" in scr.wait(", ACCEPTED"), "A: the order shows accepted")

        scr.keys("p")
        scr.wait("Progress (Enter")
        scr.keys("-l", "pole 12 fuse blown")
        scr.keys("Enter")
        s = scr.wait("Progress on order")
        t.check("pole 12 fuse blown" in s, "P: feedback repeats the report", s)
        o = run.wait_timeline(oid, "progress", 20)
        t.check(any((e.get("detail") or {}).get("note") == "pole 12 fuse blown"
                    for e in o["timeline"]), "P: the gateway has the report")

        t.check("DELAY REASON NEEDED: press D" in scr.wait("DELAY REASON NEEDED"),
                "the screen asks for a delay reason as the completion limit nears")
        st = run.devcmd(DEV, "status").stdout
        t.check("DELAY REASON NEEDED" in st and "linecrew-device delay %s" % oid in st,
                "status asks for it too, with the command", st)
        scr.keys("d")
        scr.wait("3 materials")
        scr.keys("3")
        scr.wait("how many minutes")
        scr.keys("-l", "90")
        scr.keys("Enter")
        scr.wait("Note (Enter")
        scr.keys("Enter")
        s = scr.wait("Delay on order")
        t.check("materials" in s, "D: feedback names the reason", s)
        o = run.wait_timeline(oid, "delay", 20)
        t.check((o.get("delay") or {}).get("reason") == "materials", "D: the gateway has the delay",
                o.get("delay"))
        t.check("Delay reported" in scr.wait("Delay reported"), "D: the screen shows it")
        t.check("DELAY REASON NEEDED" not in scr.text() and "DELAY REASON NEEDED" not in
                run.devcmd(DEV, "status").stdout, "D: the prompt is gone once reported")

        scr.keys("r")
        scr.wait("Declare ARRIVED")
        scr.keys("n")
        s = scr.wait("arrival NOT recorded")
        t.check("arrived" not in [e["kind"] for e in run.order(oid)["timeline"]],
                "R then N: nothing recorded")
        scr.keys("r")
        scr.wait("Declare ARRIVED")
        scr.keys("y")
        s = scr.wait("declared by hand")
        t.check("not verified" in s, "R then Y: feedback says manual, not verified", s)
        o = run.wait_timeline(oid, "arrived", 20)
        t.eq(o["arrive_method"], "manual", "R: the gateway records a manual arrival")
        t.check("ON SITE" in scr.wait("ON SITE"), "R: the order shows on site")

        scr.keys("x")
        t.check("That key does nothing" in scr.wait("That key does nothing"),
                "an unknown key gets an answer too")

        scr.keys("c")
        scr.wait("COMPLETE, power restored?")
        scr.keys("y")
        s = scr.wait("recorded as done")
        run.wait_timeline(oid, "completed", 20)
        t.check(True, "C then Y: the gateway has the completion")
        scr.wait("NO OPEN ORDER")
        s = scr.wait("everything recorded is at the gateway")
        t.check(True, "sending state: nothing waiting once the gateway confirmed")

        # the daemon goes away: the screen says so instead of pretending
        run.devices[DEV]["proc"].stop()
        s = scr.wait("NOT ANSWERING")
        t.check(True, "daemon stopped: the screen says nothing can be recorded")
        scr.keys("q")
        harness.wait_for(lambda: "crew" not in subprocess.run(
            scr.tmux + ["list-sessions"], capture_output=True, text=True).stdout, 10,
            "the screen to quit on Q")
        t.check(True, "Q quits")
        ok = t.failed == 0
    except Exception as e:
        t.check(False, "screen run completed", "%s\n%s\n%s" % (e, scr.text() if scr else "",
                                                              run.logs()))
    finally:
        if scr is not None:
            scr.close()
        if not ok:
            print("# logs kept in " + run.dir)
        run.close(failed=not ok)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
