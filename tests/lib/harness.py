"""Test and demo harness: real mosquitto, real gpsfake/gpsd, the real daemons.

Everything runs on loopback with free ports, under one run directory, and is
stopped when the Run is closed (also on exceptions and signals). Waiting is done
by connecting or polling what a user would poll (the HTTP API, the device's
socket), never by fixed sleeps.

Used by tests/integration/*.py and tests/demo.py, so the demo shows exactly what
the tests check.

Security (issue 6): every Run provisions a fleet PKI in its run directory with
`linecrew provision`, runs mosquitto on the generated TLS-only configuration
(client certificates, identity = user name = client id, per-device ACL), and
starts the gateway and the devices with their TLS keys. The API needs a token:
the Run makes an admin token and api()/cli() send it unless told otherwise.
While the device daemon does not know the TLS keys yet (`linecrew-device -h`
lists no mqtt_cafile), devices use the generated loopback-only development
listener (plain, user name = client id, same ACL) and the gateway accepts
their untagged messages (auth_unsigned_devices, a transition switch).
"""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, os.environ.get("LINECREW_BUILD", "build"), "bin")
SHARED = os.path.abspath(os.environ.get("LINECREW_SHARED", os.path.join(ROOT, "..", "shared")))
ZONES = os.path.join(ROOT, "maps", "zones", "demo-hohhot.geojson")
# Run under checks (issue 8): LINECREW_WRAP is a command line put before every
# linecrew-gateway / linecrew-device the harness starts ("valgrind --leak-check=full
# ..."); LINECREW_WAIT_SCALE multiplies every wait_for timeout (a daemon under
# valgrind starts ~20x slower).
WRAP = os.environ.get("LINECREW_WRAP", "").split()
WAIT_SCALE = float(os.environ.get("LINECREW_WAIT_SCALE", "1"))
_DEVICE_TLS = None


def device_tls():
    """True when linecrew-device takes the TLS and message-authentication keys."""
    global _DEVICE_TLS
    if _DEVICE_TLS is None:
        r = subprocess.run([os.path.join(BIN, "linecrew-device"), "-h"], capture_output=True,
                           text=True, timeout=10)
        _DEVICE_TLS = "mqtt_cafile" in (r.stdout + r.stderr)
    return _DEVICE_TLS


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, timeout=20.0, what="condition", interval=0.05):
    """Poll pred() until it returns a true value; return it, or raise TimeoutError."""
    end = time.monotonic() + timeout * WAIT_SCALE
    last_exc = None
    while time.monotonic() < end:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # the thing polled may not be up yet
            last_exc = e
        time.sleep(interval)
    raise TimeoutError("timed out after %.0f s waiting for %s%s" % (
        timeout, what, (": last error %r" % last_exc) if last_exc else ""))


class Proc:
    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name, self.argv, self.log_path = name, argv, log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  env=env, cwd=cwd, start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout * WAIT_SCALE)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.log.close()
        return self.p.returncode

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Run:
    """One isolated world: a run directory, a broker, a gateway, devices, gpsfakes."""

    def __init__(self, name, keep=None, verbose=False, secure=True):
        """secure=False: the pre-issue-6 relaxed world (anonymous plain broker,
        gateway mqtt_plain_dev, no message authentication) for load generators
        that play thousands of unprovisioned units; the API still needs
        run.token. Tests and the demo use the secure default."""
        self.secure = secure
        base = os.path.join(ROOT, "build", "run")
        os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=base)
        # mosquitto started as root drops to its own user: let it reach its files
        os.chmod(self.dir, 0o755)
        self.procs = []
        self.verbose = verbose
        self.keep = keep if keep is not None else bool(os.environ.get("LINECREW_KEEP"))
        self.mqtt_port = None       # the TLS listener
        self.mqtt_dev_port = None   # the loopback-only development listener
        self.http_port = None
        self.devices = {}
        self.pki = self.path("pki")
        self.token = None
        atexit.register(self.close)
        self.linecrew("provision", "init", "--pki", self.pki)

    # ---- lifecycle ----
    def path(self, *p):
        return os.path.join(self.dir, *p)

    def spawn(self, name, argv, **kw):
        if WRAP and os.path.basename(argv[0]) in ("linecrew-gateway", "linecrew-device"):
            argv = WRAP + list(argv)
        pr = Proc(name, argv, self.path(name + ".log"), **kw)
        self.procs.append(pr)
        return pr

    def close(self, failed=False):
        if failed:  # a later close (atexit) must not remove what a failure kept
            self.keep = True
        for pr in reversed(self.procs):
            pr.stop()
        self.procs = []
        if not self.keep and not failed:
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        out = []
        for pr in self.procs:
            out.append("----- %s (%s)\n%s" % (pr.name, pr.log_path, pr.text()[-4000:]))
        return "\n".join(out)

    # ---- PKI ----
    def linecrew(self, *args, check=True):
        """A local `linecrew` command (provision, token, audit)."""
        r = subprocess.run([os.path.join(BIN, "linecrew")] + list(args), capture_output=True,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError("linecrew %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def provision(self, dev, *extra):
        """Issue dev's identity (if new) and let the broker know it."""
        if not os.path.exists(os.path.join(self.pki, "devices", dev, "device.crt")) or extra:
            self.linecrew("provision", "device", dev, "--pki", self.pki, "--mqtt-port",
                          str(self.mqtt_port or 8883), *extra)
            if getattr(self, "broker", None) is not None:
                self.reload_broker()

    def revoke(self, dev):
        self.linecrew("provision", "revoke", dev, "--pki", self.pki)
        self.reload_broker()

    def write_broker_conf(self):
        args = ["provision", "broker", "--pki", self.pki, "--out", self.dir,
                "--port", str(self.mqtt_port), "--persist", self.path("mosquitto"),
                "--max-queued", "10000"]
        if self.mqtt_dev_port:
            args += ["--dev-plain-port", str(self.mqtt_dev_port)]
        self.linecrew(*args)

    def reload_broker(self):
        """Regenerate the ACL and make mosquitto re-read it (SIGHUP); wait for it.
        The relaxed world's broker has no ACL and a configuration of its own,
        which the product's generated one must not replace."""
        if not self.secure:
            return
        self.write_broker_conf()
        self.broker.p.send_signal(signal.SIGHUP)
        # mosquitto re-reads the ACL in its main loop right after the signal and
        # says nothing at the generated log level, and a denied subscription
        # still gets a SUBACK: there is nothing to poll. The usual ids (below)
        # are provisioned before the broker starts, so only tests that add a
        # unit later pass here.
        time.sleep(0.5)

    def tls_args(self, ident):
        """mosquitto_pub/sub arguments to connect as ident (a device id or 'gateway')."""
        if ident == "gateway":
            crt, key = self.path("pki", "gateway.crt"), self.path("pki", "gateway.key")
        else:
            d = self.path("pki", "devices", ident)
            crt, key = os.path.join(d, "device.crt"), os.path.join(d, "device.key")
        return ["-h", "localhost", "-p", str(self.mqtt_port), "--cafile",
                self.path("pki", "ca.crt"), "--cert", crt, "--key", key]

    # ---- broker ----
    def start_broker(self):
        self.mqtt_port = free_port()
        self.mqtt_dev_port = None if device_tls() else free_port()
        if not self.secure:
            return self._start_relaxed_broker()
        os.makedirs(self.path("mosquitto"), exist_ok=True)
        for dev in ("dev-01", "dev-02", "dev-03"):  # the ids the tests and the demo use
            self.provision(dev)
        if os.geteuid() == 0:  # the broker saves its persistence as user mosquitto
            try:
                import pwd
                pw = pwd.getpwnam("mosquitto")
                os.chown(self.path("mosquitto"), pw.pw_uid, pw.pw_gid)
            except KeyError:
                pass
        conf = self.path("mosquitto.conf")
        self.write_broker_conf()    # the product's own generated configuration
        self.broker = self.spawn("mosquitto", ["/usr/sbin/mosquitto", "-c", conf])
        wait_for(lambda: self._can_connect(self.mqtt_port), 10, "mosquitto to listen")
        return self.mqtt_port

    def _start_relaxed_broker(self):
        self.mqtt_dev_port = self.mqtt_port
        os.makedirs(self.path("mosquitto"), exist_ok=True)
        if os.geteuid() == 0:
            try:
                import pwd
                pw = pwd.getpwnam("mosquitto")
                os.chown(self.path("mosquitto"), pw.pw_uid, pw.pw_gid)
            except KeyError:
                pass
        conf = self.path("mosquitto.conf")
        with open(conf, "w") as f:
            f.write("# generated by tests/lib/harness.py (secure=False): RELAXED, plain\n"
                    "listener %d 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"
                    "persistence true\npersistence_location %s/\nautosave_interval 1\n"
                    "max_queued_messages 10000\nmax_inflight_messages 20\nlog_dest stderr\n"
                    "log_type error\nlog_type warning\nlog_type notice\n"
                    % (self.mqtt_port, self.path("mosquitto")))
        self.broker = self.spawn("mosquitto", ["/usr/sbin/mosquitto", "-c", conf])
        wait_for(lambda: self._can_connect(self.mqtt_port), 10, "mosquitto to listen")
        return self.mqtt_port

    @staticmethod
    def _can_connect(port):
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    # ---- gateway ----
    def start_gateway(self, extra="", strict=None):
        """strict: refuse untagged device messages (default: when the devices can tag)."""
        strict = device_tls() if strict is None else strict
        self.http_port = self.http_port or free_port()
        conf = self.path("gateway.conf")
        if self.token is None:
            self.token = self.linecrew("token", "add", "harness-admin", "--role", "admin",
                                       "--db", self.path("gateway.db")).stdout.strip()
        if not self.secure:
            extra = "mqtt_host 127.0.0.1\nmqtt_port %d\nmqtt_plain_dev yes\n%s" % (
                self.mqtt_port, extra)
        with open(conf, "w") as f:
            if not self.secure:
                f.write("# generated by tests/lib/harness.py (secure=False): RELAXED\n"
                        "db %s\nhttp_bind 127.0.0.1\nhttp_port %d\nzones %s\nresend_s 2\n%s"
                        % (self.path("gateway.db"), self.http_port, ZONES, extra))
            else:
                f.write("# generated by tests/lib/harness.py\n"
                        "db %s\nhttp_bind 127.0.0.1\nhttp_port %d\n"
                        "mqtt_host localhost\nmqtt_port %d\nzones %s\nresend_s 2\n"
                        "mqtt_cafile %s\nmqtt_certfile %s\nmqtt_keyfile %s\npki %s\n%s%s"
                        % (self.path("gateway.db"), self.http_port, self.mqtt_port, ZONES,
                           self.path("pki", "ca.crt"), self.path("pki", "gateway.crt"),
                           self.path("pki", "gateway.key"), self.pki,
                           "" if strict else "auth_unsigned_devices yes\n", extra))
        self.gateway = self.spawn("gateway", [os.path.join(BIN, "linecrew-gateway"), "-d",
                                              "-f", conf])
        wait_for(lambda: self.api("GET", "/api/v1/health")[0] == 200, 15, "gateway health")
        wait_for(lambda: self.api("GET", "/api/v1/health")[1].get("mqtt") == "connected",
                 15, "gateway to connect to mosquitto")
        return self.gateway

    def url(self):
        return "http://127.0.0.1:%d" % self.http_port

    def add_token(self, name, role, dept=None):
        """A new API token of role (and department); returns the secret."""
        args = ["token", "add", name, "--role", role, "--db", self.path("gateway.db")]
        if dept:
            args += ["--dept", dept]
        return self.linecrew(*args).stdout.strip()

    def api(self, method, path, body=None, raw=None, token=True):
        """HTTP call as the Run's admin (token=True), another token (a string) or
        without one (None); returns (status, parsed JSON or text)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": "application/json"}
        tok = self.token if token is True else token
        if tok:
            headers["Authorization"] = "Bearer " + tok
        req = urllib.request.Request(self.url() + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                txt = r.read().decode()
                code = r.status
        except urllib.error.HTTPError as e:
            txt = e.read().decode()
            code = e.code
        try:
            return code, json.loads(txt)
        except ValueError:
            return code, txt

    def cli(self, *args, check=True, token=True):
        env = dict(os.environ)
        env.pop("LINECREW_TOKEN", None)
        tok = self.token if token is True else token
        if tok:
            env["LINECREW_TOKEN"] = tok
        r = subprocess.run([os.path.join(BIN, "linecrew"), "-u", self.url()] + list(args),
                           capture_output=True, text=True, timeout=60, env=env)
        if check and r.returncode != 0:
            raise RuntimeError("linecrew %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def order(self, oid):
        code, o = self.api("GET", "/api/v1/orders/" + oid)
        if code != 200:
            raise RuntimeError("GET order %s: %d %s" % (oid, code, o))
        return o

    def wait_timeline(self, oid, kind, timeout=30):
        return wait_for(lambda: any(e["kind"] == kind for e in self.order(oid)["timeline"])
                        and self.order(oid), timeout, "%s to reach %s" % (oid, kind))

    # ---- devices ----
    def start_device(self, dev, gpsd_port=None, extra=""):
        gpsd_port = gpsd_port or free_port()
        conf = self.path("device-%s.conf" % dev)
        sock = self.path("%s.sock" % dev)
        self.provision(dev)
        bundle = os.path.join(self.pki, "devices", dev)
        if device_tls() and self.secure:
            link = ("mqtt_host localhost\nmqtt_port %d\nmqtt_cafile %s\nmqtt_certfile %s\n"
                    "mqtt_keyfile %s\ngateway_pubkey %s\n" % (
                        self.mqtt_port, os.path.join(bundle, "ca.crt"),
                        os.path.join(bundle, "device.crt"), os.path.join(bundle, "device.key"),
                        os.path.join(bundle, "gateway.pub")))
        else:
            # the relaxed world, or a device without TLS support: the loopback
            # development listener, which the device must be told it is using
            link = "mqtt_host 127.0.0.1\nmqtt_port %d\n%s" % (
                self.mqtt_dev_port, "mqtt_plain_dev yes\n" if device_tls() else "")
        with open(conf, "w") as f:
            f.write("# generated by tests/lib/harness.py\n"
                    "id %s\n%s"
                    "gpsd_host 127.0.0.1\ngpsd_port %d\njournal %s\nctl_socket %s\n"
                    "arrive_dwell_s 5\narrive_min_fixes 5\npos_interval_s 2\nresend_s 2\n%s"
                    % (dev, link, gpsd_port, self.path("%s.db" % dev), sock, extra))
        pr = self.spawn("device-" + dev, [os.path.join(BIN, "linecrew-device"), "-f", conf, "run"])
        self.devices[dev] = {"conf": conf, "gpsd_port": gpsd_port, "proc": pr}
        wait_for(lambda: self.devcmd(dev, "status", check=False).returncode == 0, 15,
                 "device %s control socket" % dev)
        return pr

    def devcmd(self, dev, *args, check=True):
        r = subprocess.run([os.path.join(BIN, "linecrew-device"), "-f",
                            self.devices[dev]["conf"]] + list(args),
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError("linecrew-device %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def start_gpsfake(self, dev, log, cycle=0.1, linger=600):
        """Replay an NMEA log to dev's gpsd port. The replay does not wait for the
        unit: gpsfake writes into its pty from the start and gpsd opens the pty
        only when a client WATCHes, so the first sentences may be lost. Fine for
        the long tracks the callers drive; a test that must see every sentence of
        a short capture gates the replay (test_real_gps.start_gated_gpsfake)."""
        port = self.devices[dev]["gpsd_port"]
        return self.spawn("gpsfake-" + dev, ["gpsfake", "-1", "-q", "-P", str(port),
                                             "-W", str(linger), "-c", str(cycle), log])

    def mqtt_pub(self, topic, payload, qos=1, as_id=None, check=True):
        """Publish over TLS as as_id (default: the device the topic names, i.e.
        someone holding that unit's key); returns the mosquitto_pub result."""
        if as_id is None:
            parts = topic.split("/")
            as_id = parts[3] if len(parts) > 3 else "gateway"
        if as_id != "gateway":
            self.provision(as_id)
        return subprocess.run(["mosquitto_pub"] + self.tls_args(as_id) +
                              ["-q", str(qos), "-t", topic, "-m", payload],
                              check=check, timeout=10, capture_output=True, text=True)


def mac_key(run, dev):
    """The MAC key unit dev shares with the gateway, derived as common/crypto.c
    does (ECDH of the unit's key and the gateway's public key, HKDF-SHA-256 with
    the device id as context) with openssl: tests use it to reach the checks
    that sit behind a valid MAC."""
    import hashlib
    import hmac
    b = os.path.join(run.pki, "devices", dev)
    z = subprocess.run(["openssl", "pkeyutl", "-derive", "-inkey", os.path.join(b, "device.key"),
                        "-peerkey", os.path.join(b, "gateway.pub")],
                       capture_output=True, check=True).stdout
    prk = hmac.new(b"linecrew-mac-v1", z, hashlib.sha256).digest()
    return hmac.new(prk, dev.encode() + b"\x01", hashlib.sha256).digest()


def seal_mac(key, body):
    """body (compact JSON text) with its "mac" member appended, as proto/auth.c frames it."""
    import hashlib
    import hmac
    return body[:-1] + ',"mac":"%s"}' % hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def run_checks(t, name, scenario, what="integration run", **kw):
    """scenario(t, run) on a new Run(name, **kw), its checks on the Tap t. An
    exception is one failed check "<what> completed" with its traceback and the
    daemons' logs; after any failure the run's folder is kept and named.
    Returns t.done(), the test's exit status."""
    run = Run(name, **kw)
    ok = False
    try:
        scenario(t, run)
        ok = t.failed == 0
    except Exception as e:  # report, keep the logs
        t.check(False, what + " completed", "%s\n%s\n%s" % (
            e, traceback.format_exc(), run.logs()))
    finally:
        if not ok and t.failed:
            print("# logs kept in " + run.dir)
        run.close(failed=not ok)
    return t.done()


class Tap:
    """Minimal TAP output: tests/run counts the 'ok' / 'not ok' lines."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, cond, name, detail=""):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, name), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s%s" % (self.n, name, ("\n# " + str(detail).replace("\n", "\n# ")) if detail else ""), flush=True)
        return cond

    def eq(self, got, want, name):
        return self.check(got == want, name, "got %r, want %r" % (got, want))

    def done(self):
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0
