#!/usr/bin/env python3
"""test_ops_files: what an operator installs (issue 7, "Operations").

- gateway/gateway.conf.sample and device/device.conf.sample name every key of
  their daemon's table (read from the binary's own `-h`), once each, every
  `#key value` line carries the table's default, and no line names a key the
  table lacks: the samples cannot drift from the code.
- Both pass check mode. The device sample passes as it is (-n opens no file).
  The gateway's -n also loads the calendar and the zone file it names
  (/etc/linecrew/..., absent on a build machine), so the source sample is
  checked with those two paths pointed at the tree's calendar and demo zones;
  the certificates and keys are not opened by -n (README "Running as a service").
- `log` / `log_level`: a bad word fails -n naming the key; `log stderr` without
  -d is refused at start (a daemon has no stderr).
- `make install DESTDIR=...` puts every file where README says, keeps an
  operator's /etc file, PREFIX=/usr puts the units in /lib/systemd/system; an
  install into a temporary PREFIX and SYSCONFDIR gives a gateway that passes -n
  on its installed config, and units that pass `systemd-analyze verify` (SKIPPED
  when systemd-analyze is not installed).
- The gateway and the device run on sample-derived configs (paths into the run
  directory, TLS from `linecrew provision`, the harness's broker): with `log
  auto` in the foreground they log to stderr; with `log syslog` their lines
  reach syslog. /dev/log is the test's own socket inside a private mount
  namespace (unshare, needs root: SKIPPED otherwise); the gateway without -d
  and `log auto` daemonises and logs to syslog too, and is stopped by the pid
  its syslog lines carry.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

ROOT = harness.ROOT
GW = os.path.join(harness.BIN, "linecrew-gateway")
DEV = os.path.join(harness.BIN, "linecrew-device")
GW_SAMPLE = os.path.join(ROOT, "gateway", "gateway.conf.sample")
DEV_SAMPLE = os.path.join(ROOT, "device", "device.conf.sample")
CALENDAR = os.path.join(ROOT, "gateway", "data", "calendar.conf")
BINS = ("linecrew-gateway", "linecrew-device", "linecrew", "linecrew-zones")
UNITS = ("linecrew-gateway.service", "linecrew-device.service", "linecrew-broker.service")

t = harness.Tap()


def run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, timeout=kw.pop("timeout", 120), **kw)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def key_table(binary):
    """{key: default or None} from `binary -h` (conf_usage: key at column 0,
    default at column 25, blank or '-' when there is none)."""
    rc, out, _ = run([binary, "-h"])
    keys = {}
    for line in out.splitlines():
        m = re.match(r"([a-z][a-z0-9_]*) ", line)
        if not m or m.group(1) == "key":
            continue
        d = line[25:].split()[0] if len(line) > 25 and line[25] != " " else None
        keys[m.group(1)] = None if d in (None, "-") else d
    return keys


def sample_settings(path):
    """[(key, value, active)] of the `key value` and `#key value` lines."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"(#?)([a-z][a-z0-9_]*)(?:\s+(.*?))?\s*$", line)
            if m:
                out.append((m.group(2), m.group(3) or "", m.group(1) == ""))
    return out


def check_sample(name, binary, sample):
    table = key_table(binary)
    t.check(len(table) > 20, "%s: -h lists the keyword table (%d keys)" % (name, len(table)))
    settings = sample_settings(sample)
    seen = {}
    for k, v, active in settings:
        seen.setdefault(k, []).append((v, active))
    missing = sorted(set(table) - set(seen))
    t.check(not missing, "%s: every key of the table is in the sample" % name,
            "missing: %s" % " ".join(missing))
    unknown = sorted(set(seen) - set(table))
    t.check(not unknown, "%s: the sample names no key the table lacks" % name,
            "unknown: %s" % " ".join(unknown))
    twice = sorted(k for k, v in seen.items() if len(v) > 1)
    t.check(not twice, "%s: each key once" % name, "twice: %s" % " ".join(twice))
    wrong = ["%s %s (table: %s)" % (k, v, table.get(k)) for k, v, active in settings
             if not active and k in table and table[k] is not None and v.split()[0] != table[k]]
    t.check(not wrong, "%s: every commented-out key shows the table's default" % name,
            "; ".join(wrong))


def rewrite(src, dst, subs, extra=""):
    with open(src, encoding="utf-8") as f:
        text = f.read()
    for a, b in subs:
        if a.startswith("^"):
            text, n = re.subn(a, b, text, flags=re.M)
        else:
            n = text.count(a)
            text = text.replace(a, b)
        if n == 0:
            raise RuntimeError("%s: nothing to rewrite for %r" % (src, a))
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text + extra)
    return dst


def make_install(*args):
    """make install of the binaries under test: -o keeps make from rebuilding them
    (under LINECREW_BUILD=build/asan a rebuild would mix in plain objects)."""
    b = os.environ.get("LINECREW_BUILD", "build")
    keep = []
    for name in BINS:
        keep += ["-o", "%s/bin/%s" % (b, name)]
    return run(["make", "--no-print-directory", "-C", ROOT, "B=" + b] + keep + ["install"] +
               list(args), timeout=600)


# ---- samples: keys, defaults, check mode ---------------------------------------

check_sample("gateway", GW, GW_SAMPLE)
check_sample("device", DEV, DEV_SAMPLE)

rc, out, err = run([DEV, "-n", "-f", DEV_SAMPLE])
t.check(rc == 0 and "configuration OK" in out, "device: the sample as it is passes -n",
        out + err)

tmp = tempfile.mkdtemp(prefix="ops-", dir=os.path.join(ROOT, "build"))
gw_checked = rewrite(GW_SAMPLE, os.path.join(tmp, "gateway.conf"), [
    ("calendar /etc/linecrew/calendar.conf", "calendar " + CALENDAR),
    ("zones /etc/linecrew/zones.geojson", "zones " + harness.ZONES)])
rc, out, err = run([GW, "-n", "-f", gw_checked])
t.check(rc == 0 and "configuration OK" in out,
        "gateway: the sample passes -n (calendar and zones at the tree's files; "
        "certificate paths left as they are, -n does not open them)", out + err)

for name, binary, base in (("gateway", GW, gw_checked), ("device", DEV, DEV_SAMPLE)):
    for bad, key in (("log journal", "log"), ("log_level trace", "log_level")):
        p = os.path.join(tmp, "%s-bad-%s.conf" % (name, key))
        with open(base, encoding="utf-8") as f:
            text = f.read()
        with open(p, "w", encoding="utf-8") as f:
            f.write(text + bad + "\n")
        argv = [binary, "-n", "-f", p] if name == "gateway" else [binary, "-f", p, "-n"]
        rc, out, err = run(argv)
        t.check(rc != 0 and ("%s:" % key) in err and "must be" in err,
                "%s: `%s` fails -n naming %s" % (name, bad, key), out + err)

p = rewrite(gw_checked, os.path.join(tmp, "gateway-stderr.conf"),
            [("^log syslog$", "log stderr")])
rc, out, err = run([GW, "-f", p])
t.check(rc != 0 and "log stderr: only in the foreground (-d)" in err,
        "gateway: `log stderr` without -d is refused at start", out + err)

# ---- make install ------------------------------------------------------------------

dest = os.path.join(tmp, "dest")
rc, out, err = make_install("DESTDIR=" + dest)
t.check(rc == 0, "make install DESTDIR=... succeeds", out + err)
want = ["usr/local/bin/" + b for b in BINS] + \
       ["usr/local/lib/systemd/system/" + u for u in UNITS] + \
       ["usr/local/lib/sysusers.d/linecrew.conf"] + \
       ["usr/local/share/doc/linecrew/" + f for f in
        ("gateway.conf.sample", "device.conf.sample", "calendar.conf", "README.md")] + \
       ["etc/linecrew/" + f for f in ("gateway.conf", "device.conf", "calendar.conf")]
absent = [w for w in want if not os.path.isfile(os.path.join(dest, w))]
t.check(not absent, "install: every file where README says", "absent: %s" % absent)
for b in BINS:
    t.check(os.access(os.path.join(dest, "usr/local/bin", b), os.X_OK), "install: %s executable" % b)
with open(os.path.join(dest, "usr/local/lib/systemd/system/linecrew-gateway.service")) as f:
    unit = f.read()
t.check("ExecStart=/usr/local/bin/linecrew-gateway -d -f /etc/linecrew/gateway.conf" in unit
        and dest not in unit, "install: the gateway unit runs the installed path, not DESTDIR")
with open(os.path.join(dest, "usr/local/lib/sysusers.d/linecrew.conf")) as f:
    t.check(f.read().startswith("u linecrew "), "install: sysusers.d creates the linecrew user")
with open(os.path.join(dest, "usr/local/share/doc/linecrew/gateway.conf.sample"), "rb") as f, \
        open(GW_SAMPLE, "rb") as g:
    t.check(f.read() == g.read(), "install: the doc copy of the sample is the sample")

mine = os.path.join(dest, "etc/linecrew/gateway.conf")
with open(mine, "a") as f:
    f.write("# the operator's edit\n")
rc, out, err = make_install("DESTDIR=" + dest)
with open(mine) as f:
    t.check(rc == 0 and f.read().endswith("# the operator's edit\n") and "exists, kept" in out,
            "install again: the operator's /etc/linecrew/gateway.conf is kept", out + err)

usr = os.path.join(tmp, "dest-usr")
rc, out, err = make_install("DESTDIR=" + usr, "PREFIX=/usr")
p = os.path.join(usr, "lib/systemd/system/linecrew-device.service")
ok = rc == 0 and os.path.isfile(p)
if ok:
    with open(p) as f:
        ok = "ExecStart=/usr/bin/linecrew-device -f /etc/linecrew/device.conf run" in f.read()
t.check(ok and os.path.isfile(os.path.join(usr, "usr/bin/linecrew-gateway")),
        "install PREFIX=/usr: binaries in /usr/bin, units in /lib/systemd/system", out + err)

# A real tree: PREFIX and SYSCONFDIR in the temporary directory, so the
# installed units' commands exist and the installed config names installed files.
prefix, etc = os.path.join(tmp, "p", "usr"), os.path.join(tmp, "p", "etc")
rc, out, err = make_install("PREFIX=" + prefix, "SYSCONFDIR=" + etc)
t.check(rc == 0, "make install PREFIX=<tmp> SYSCONFDIR=<tmp> succeeds", out + err)
shutil.copy(harness.ZONES, os.path.join(etc, "linecrew", "zones.geojson"))
rc, out, err = run([os.path.join(prefix, "bin", "linecrew-gateway"), "-n", "-f",
                    os.path.join(etc, "linecrew", "gateway.conf")])
t.check(rc == 0 and "configuration OK" in out,
        "the installed gateway passes -n on the installed config (installed calendar, "
        "a zone file put where the config says)", out + err)
rc, out, err = run([os.path.join(prefix, "bin", "linecrew-device"), "-f",
                    os.path.join(etc, "linecrew", "device.conf"), "-n"])
t.check(rc == 0 and "configuration OK" in out,
        "the installed device passes -n on the installed config", out + err)

sa = shutil.which("systemd-analyze")
if sa is None:
    print("# SKIPPED: systemd-analyze verify (systemd-analyze is not installed); "
          "the rest of this test ran", flush=True)
else:
    units = [os.path.join(prefix, "lib", "systemd", "system", u) for u in UNITS]
    rc, out, err = run([sa, "verify", "--man=no"] + units)
    t.check(rc == 0 and not err.strip(), "systemd-analyze verify: the three installed units",
            out + err)

# ---- logs: stderr in the foreground, syslog when asked or daemonised ----------------

r = harness.Run("ops")
failed = False
gw_pid = None
try:
    r.start_broker()
    r.provision("crew-0001")
    state = r.path("state")
    os.makedirs(state)
    r.http_port = harness.free_port()
    gw_subs = [("/var/lib/linecrew/", state + "/"),
               ("/etc/linecrew/https.crt", os.path.join(r.pki, "broker.crt")),
               ("/etc/linecrew/https.key", os.path.join(r.pki, "broker.key")),
               ("/etc/linecrew/pki", r.pki),
               ("calendar /etc/linecrew/calendar.conf", "calendar " + CALENDAR),
               ("zones /etc/linecrew/zones.geojson", "zones " + harness.ZONES),
               ("http_bind 0.0.0.0", "http_bind 127.0.0.1\nhttp_port %d" % r.http_port),
               ("#mqtt_host 127.0.0.1", "mqtt_host localhost"),
               ("mqtt_port 8883", "mqtt_port %d" % r.mqtt_port)]
    bundle = os.path.join(r.pki, "devices", "crew-0001")
    dev_subs = [("mqtt_host broker.example", "mqtt_host localhost"),
                ("mqtt_port 8883", "mqtt_port %d" % r.mqtt_port),
                ("#journal /var/lib/linecrew/device.db",
                 "journal " + os.path.join(state, "device.db")),
                ("#ctl_socket /run/linecrew/device.sock",
                 "ctl_socket " + r.path("device.sock")),
                ("#gpsd_port 2947", "gpsd_port %d" % harness.free_port())]

    def gw_conf(log):
        return rewrite(GW_SAMPLE, r.path("gateway-%s.conf" % log),
                       gw_subs + [("^log syslog$", "log " + log)])

    def dev_conf(log):
        # in the bundle's folder: the sample's relative key names are the bundle's files
        return rewrite(DEV_SAMPLE, os.path.join(bundle, "device-%s.conf" % log),
                       dev_subs + [("^log syslog$", "log " + log)])

    started = "started: db "   # "linecrew-gateway VERSION started: db ..."
    dev_started = "device crew-0001: journal "

    # stderr: -d / run in the foreground with `log auto`
    g = r.spawn("gateway-fg", [GW, "-d", "-f", gw_conf("auto")])
    harness.wait_for(lambda: started in g.text() or not g.alive(), 20, "the gateway's start line")
    line = next((x for x in g.text().splitlines() if started in x), "")
    t.check(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} gateway ", line) is not None,
            "gateway -d, log auto: the start line on stderr with its timestamp", g.text()[-2000:])
    harness.wait_for(lambda: "authenticated end to end" in g.text(), 20, "the gateway's MQTT link")
    g.stop()
    t.check("stopping on signal" in g.text(), "gateway -d: its stop on SIGTERM is on stderr")
    d = r.spawn("device-fg", [DEV, "-f", dev_conf("auto"), "run"])
    harness.wait_for(lambda: dev_started in d.text() or not d.alive(), 20, "the device's start line")
    t.check(dev_started in d.text(), "device run, log auto: the start line on stderr",
            d.text()[-2000:])
    d.stop()

    # syslog: needs root for a private mount namespace with our own /dev/log
    ns_ok = os.geteuid() == 0 and shutil.which("unshare") is not None
    if ns_ok:
        probe = run(["unshare", "--mount", "--propagation", "private", "true"])
        ns_ok = probe[0] == 0
    if not ns_ok:
        print("# SKIPPED: syslog part (needs root and unshare for a private /dev/log); "
              "the stderr part above ran", flush=True)
    else:
        sock_path = r.path("devlog")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(0.2)
        ns = """set -e
mount -t tmpfs -o mode=755 linecrew-test-dev /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9
ln -s "$1" /dev/log
shift
exec "$@"
"""
        got = []

        def syslog_has(text):
            try:
                while True:
                    got.append(sock.recv(65536).decode("utf-8", "replace"))
            except socket.timeout:
                pass
            return any(text in m for m in got)

        def in_ns(argv):
            return ["unshare", "--mount", "--propagation", "private", "sh", "-c", ns, "sh",
                    sock_path] + argv

        g = r.spawn("gateway-syslog", in_ns([GW, "-d", "-f", gw_conf("syslog")]))
        harness.wait_for(lambda: syslog_has(started) or not g.alive(), 20,
                         "the gateway's start line in syslog")
        msg = next((m for m in got if started in m), "")
        t.check(re.match(r"<30>.* gateway\[\d+\]: linecrew-gateway ", msg) is not None,
                "gateway -d, log syslog: the start line reaches syslog (daemon.info, pid)",
                "\n".join(got)[-2000:])
        t.check(started not in g.text(), "gateway -d, log syslog: not on stderr", g.text()[-1000:])
        g.stop()
        t.check(syslog_has("stopping on signal"), "gateway, log syslog: its stop is in syslog")

        del got[:]
        d = r.spawn("device-syslog", in_ns([DEV, "-f", dev_conf("syslog"), "run"]))
        harness.wait_for(lambda: syslog_has(dev_started) or not d.alive(), 20,
                         "the device's start line in syslog")
        msg = next((m for m in got if dev_started in m), "")
        t.check(re.match(r"<30>.* device\[\d+\]: ", msg) is not None and
                dev_started not in d.text(), "device run, log syslog: the start line in syslog "
                "only", "\n".join(got)[-2000:] + d.text()[-1000:])
        d.stop()

        # without -d: `log auto` daemonises, and syslog is where the lines go
        del got[:]
        rc, out, err = run(in_ns([GW, "-f", gw_conf("auto")]), timeout=30)
        harness.wait_for(lambda: syslog_has(started), 20, "the daemonised gateway's start line")
        msg = next((m for m in got if started in m), "")
        m = re.search(r" gateway\[(\d+)\]: ", msg)
        gw_pid = int(m.group(1)) if m else None
        t.check(rc == 0 and gw_pid is not None and started not in err,
                "gateway without -d, log auto: daemonised, the start line in syslog",
                "\n".join(got)[-2000:] + err)
        if gw_pid:
            os.kill(gw_pid, signal.SIGTERM)
            harness.wait_for(lambda: syslog_has("stopping on signal"), 20,
                             "the daemonised gateway to stop")
            harness.wait_for(lambda: not os.path.exists("/proc/%d" % gw_pid), 20,
                             "the daemonised gateway to exit")
            gw_pid = None
        sock.close()
except Exception as e:  # noqa: BLE001 - report, keep the run directory
    failed = True
    t.check(False, "ops run", "%r\n%s" % (e, r.logs()))
finally:
    if gw_pid:
        try:
            os.kill(gw_pid, signal.SIGKILL)
        except OSError:
            pass
    r.close(failed=failed or t.failed > 0)
    if t.failed == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("# kept: %s %s" % (tmp, r.dir))
sys.exit(t.done())
