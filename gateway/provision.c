/*
 * provision.c: the fleet's identities (CA, gateway, broker, devices) and the
 * mosquitto configuration generated from them. Used by `linecrew provision`,
 * by the demo and by the tests, so what runs is what is generated here.
 *
 * Does not talk to the broker or the gateway: after a revocation the operator
 * (or the demo/test harness) makes mosquitto re-read its ACL with SIGHUP, and
 * the gateway consults provision_is_revoked() for every device event.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "pki.h"
#include "proto.h"
#include "gateway.h"

#define PROVISION_FILE_MAX	(256 * 1024)
#define PROVISION_PATH_MAX	1024

static int
fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
path(char *buf, const char *a, const char *b, const char *c)
{
	int n = snprintf(buf, PROVISION_PATH_MAX, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");

	return n > 0 && n < PROVISION_PATH_MAX ? 0 : -1;
}

/* Write data to p: new file, fsync, rename. */
static int
put(const char *p, const char *data, size_t len, int mode, char *err, size_t cap)
{
	char tmp[PROVISION_PATH_MAX + 8];
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.new", p);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
		return fail(err, cap, "%s: %s", tmp, strerror(errno));
	ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	ok = ok && fchmodat(AT_FDCWD, tmp, (mode_t)mode, 0) == 0;
	if (!ok || rename(tmp, p) != 0) {
		int e = errno;

		unlink(tmp);
		return fail(err, cap, "%s: %s", p, strerror(e));
	}
	return 0;
}

/* Read a whole small file into a malloc'd NUL-terminated buffer. */
static char *
slurp(const char *p, size_t *len)
{
	char *buf;
	FILE *f;
	size_t n;

	if ((f = fopen(p, "r")) == NULL)
		return NULL;
	if ((buf = malloc(PROVISION_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, PROVISION_FILE_MAX, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int
copy(const char *from, const char *to, int mode, char *err, size_t cap)
{
	size_t n;
	char *b = slurp(from, &n);
	int rc;

	if (b == NULL)
		return fail(err, cap, "%s: %s", from, strerror(errno));
	rc = put(to, b, n, mode, err, cap);
	free(b);
	return rc;
}

/* The broker drops to user mosquitto when started as root: let it read its key. */
static void
give_to_broker(const char *p)
{
	struct passwd *pw;

	if (geteuid() != 0 || (pw = getpwnam("mosquitto")) == NULL)
		return;
	if (chown(p, pw->pw_uid, pw->pw_gid) != 0)
		return;	/* the broker will say it cannot read the file */
}

static uint64_t
next_serial(const char *pki, char *err, size_t cap)
{
	char p[PROVISION_PATH_MAX], num[32];
	char *b;
	uint64_t s = 1;

	if (path(p, pki, "serial", NULL) == -1)
		return 0;
	if ((b = slurp(p, NULL)) != NULL) {
		s = strtoull(b, NULL, 10) + 1;
		free(b);
	}
	snprintf(num, sizeof(num), "%llu\n", (unsigned long long)s);
	if (put(p, num, strlen(num), 0644, err, cap) == -1)
		return 0;
	return s;
}

static int
identity(struct crypto *c, const char *pki, const char *keyp, const char *crtp, const char *cn,
    enum pki_kind kind, int64_t now, int days, struct crypto_key **keep, char *err, size_t cap)
{
	struct crypto_key *k;
	uint64_t serial;
	int rc;

	if ((serial = next_serial(pki, err, cap)) == 0)
		return -1;
	if (crypto_keygen(c, &k, err, cap) == -1)
		return -1;
	rc = crypto_key_save(k, 1, keyp, err, cap);
	if (rc == 0)
		rc = pki_issue(c, pki, k, cn, kind, serial, days, now, crtp, err, cap);
	if (rc == 0 && keep != NULL)
		*keep = k;
	else
		crypto_key_free(k);
	return rc;
}

int
provision_init(const char *pki, int64_t now, char *err, size_t cap)
{
	char kp[PROVISION_PATH_MAX], cp[PROVISION_PATH_MAX], dp[PROVISION_PATH_MAX];
	struct crypto *c = crypto_new("linecrew-provision");
	struct crypto_key *gw = NULL;
	int rc = -1;

	if (c == NULL)
		return fail(err, cap, "provision: cannot seed the random generator");
	if (mkdir(pki, 0700) != 0 && errno != EEXIST) {
		fail(err, cap, "%s: %s", pki, strerror(errno));
		goto out;
	}
	/* The CA lives in the PKI directory itself. */
	if (pki_ca_create(c, pki, "Linecrew fleet CA", PROVISION_CA_DAYS, now, err, cap) == -1)
		goto out;
	if (path(kp, pki, "gateway.key", NULL) || path(cp, pki, "gateway.crt", NULL) ||
	    identity(c, pki, kp, cp, PROVISION_GATEWAY_CN, PKI_CLIENT, now, PROVISION_CERT_DAYS, &gw,
	    err, cap))
		goto out;
	if (path(kp, pki, "gateway.pub", NULL) || crypto_key_save(gw, 0, kp, err, cap))
		goto out;
	if (path(kp, pki, "broker.key", NULL) || path(cp, pki, "broker.crt", NULL) ||
	    identity(c, pki, kp, cp, PROVISION_BROKER_CN, PKI_SERVER, now, PROVISION_CERT_DAYS,
	    NULL, err, cap))
		goto out;
	give_to_broker(kp);
	if (path(dp, pki, "devices", NULL) || (mkdir(dp, 0700) != 0 && errno != EEXIST)) {
		fail(err, cap, "%s: %s", dp, strerror(errno));
		goto out;
	}
	if (path(kp, pki, "revoked", NULL) || put(kp, "", 0, 0644, err, cap))
		goto out;
	/* The broker (as user mosquitto) must reach ca.crt and broker.*: 0711 lets
	 * it traverse without listing; keys stay 0600. */
	chmod(pki, 0711);
	rc = 0;
out:
	crypto_key_free(gw);
	crypto_free(c);
	return rc;
}

int
provision_is_revoked(const char *pki, const char *dev)
{
	char p[PROVISION_PATH_MAX], *b, *line, *nl;
	size_t dl = strlen(dev);
	int found = 0;

	if (path(p, pki, "revoked", NULL) == -1 || (b = slurp(p, NULL)) == NULL)
		return errno == ENOENT ? 0 : -1;
	for (line = b; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line) - 1;
		if ((size_t)(nl - line) == dl && strncmp(line, dev, dl) == 0)
			found = 1;
		if (nl[0] == '\0' || nl[1] == '\0')
			break;
	}
	free(b);
	return found;
}

int
provision_device(const char *pki, const char *dev, const char *mqtt_host, int mqtt_port,
    int64_t now, int days, char *err, size_t cap)
{
	char dir[PROVISION_PATH_MAX], kp[PROVISION_PATH_MAX], cp[PROVISION_PATH_MAX];
	char from[PROVISION_PATH_MAX], conf[2048];
	struct crypto *c;
	int rc = -1, n;

	if (!proto_valid_dev(dev))
		return fail(err, cap, "device: \"%s\" is not a valid device id "
		    "(1-32 of A-Z a-z 0-9 _ -)", dev);
	if (!strcmp(dev, PROVISION_GATEWAY_CN) || !strcmp(dev, PROVISION_BROKER_CN))
		return fail(err, cap, "device: \"%s\" is a reserved identity", dev);
	if (provision_is_revoked(pki, dev) == 1)
		return fail(err, cap, "device: %s is revoked; give the unit a new id", dev);
	if ((c = crypto_new("linecrew-provision")) == NULL)
		return fail(err, cap, "provision: cannot seed the random generator");
	if (path(dir, pki, "devices", dev) == -1) {
		fail(err, cap, "device: path too long");
		goto out;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fail(err, cap, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (path(kp, dir, "device.key", NULL) || path(cp, dir, "device.crt", NULL) ||
	    identity(c, pki, kp, cp, dev, PKI_CLIENT, now, days > 0 ? days : PROVISION_CERT_DAYS,
	    NULL, err, cap))
		goto out;
	if (path(from, pki, "ca.crt", NULL) || path(kp, dir, "ca.crt", NULL) ||
	    copy(from, kp, 0644, err, cap))
		goto out;
	if (path(from, pki, "gateway.pub", NULL) || path(kp, dir, "gateway.pub", NULL) ||
	    copy(from, kp, 0644, err, cap))
		goto out;
	n = snprintf(conf, sizeof(conf),
	    "# linecrew-device configuration made by `linecrew provision device %s`.\n"
	    "# Install this directory on the unit (e.g. /etc/linecrew/) and keep device.key\n"
	    "# readable by the daemon only.\n"
	    "id %s\n"
	    "mqtt_host %s\n"
	    "mqtt_port %d\n"
	    "mqtt_cafile ca.crt\n"
	    "mqtt_certfile device.crt\n"
	    "mqtt_keyfile device.key\n"
	    "gateway_pubkey gateway.pub\n",
	    dev, dev, mqtt_host, mqtt_port);
	if (n < 0 || (size_t)n >= sizeof(conf) || path(kp, dir, "device.conf", NULL) ||
	    put(kp, conf, (size_t)n, 0644, err, cap))
		goto out;
	rc = 0;
out:
	crypto_free(c);
	return rc;
}

int
provision_revoke(const char *pki, const char *dev, char *err, size_t cap)
{
	char p[PROVISION_PATH_MAX], dir[PROVISION_PATH_MAX], *b, *nb;
	struct stat st;
	size_t n = 0;	/* slurp leaves it unset when there is no list yet */
	int r;

	if (!proto_valid_dev(dev))
		return fail(err, cap, "device: \"%s\" is not a valid device id", dev);
	if (path(dir, pki, "devices", dev) == -1 || stat(dir, &st) != 0)
		return fail(err, cap, "device: %s was never provisioned here", dev);
	if ((r = provision_is_revoked(pki, dev)) == 1)
		return 0;
	if (r == -1 || path(p, pki, "revoked", NULL) == -1)
		return fail(err, cap, "%s/revoked: cannot read", pki);
	if ((b = slurp(p, &n)) == NULL && errno != ENOENT)
		return fail(err, cap, "%s: %s", p, strerror(errno));
	if ((nb = malloc(n + strlen(dev) + 2)) == NULL) {
		free(b);
		return fail(err, cap, "revoke: out of memory");
	}
	snprintf(nb, n + strlen(dev) + 2, "%s%s\n", b ? b : "", dev);
	free(b);
	r = put(p, nb, strlen(nb), 0644, err, cap);
	free(nb);
	return r;
}

static int
namecmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
provision_devices(const char *pki, void (*cb)(void *, const char *, int), void *arg,
    char *err, size_t cap)
{
	char dir[PROVISION_PATH_MAX];
	struct dirent **ents;
	int i, n;

	if (path(dir, pki, "devices", NULL) == -1)
		return fail(err, cap, "%s: path too long", pki);
	if ((n = scandir(dir, &ents, NULL, namecmp)) < 0)
		return fail(err, cap, "%s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		if (proto_valid_dev(ents[i]->d_name))
			cb(arg, ents[i]->d_name, provision_is_revoked(pki, ents[i]->d_name) == 1);
		free(ents[i]);
	}
	free(ents);
	return 0;
}

struct acl {
	char	*buf;
	size_t	 len, cap;
	int	 oom;
};

static void
acl_add(struct acl *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
acl_add(struct acl *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(a->buf + a->len, a->cap - a->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			a->oom = 1;
			return;
		}
		if ((size_t)n < a->cap - a->len) {
			a->len += (size_t)n;
			return;
		}
		if (a->cap >= PROVISION_FILE_MAX * 64) {
			a->oom = 1;
			return;
		}
		char *nb = realloc(a->buf, a->cap * 2);

		if (nb == NULL) {
			a->oom = 1;
			return;
		}
		a->buf = nb;
		a->cap *= 2;
	}
}

static void
acl_device(void *arg, const char *dev, int revoked)
{
	struct acl *a = arg;

	if (revoked) {
		acl_add(a, "# %s: revoked, no access\n\n", dev);
		return;
	}
	acl_add(a, "user %s\n"
	    "topic read linecrew/v1/dev/%s/order\n"
	    "topic write linecrew/v1/dev/%s/event\n"
	    "topic write linecrew/v1/dev/%s/pos\n"
	    "topic write linecrew/v1/dev/%s/presence\n\n", dev, dev, dev, dev, dev);
}

int
provision_broker(const char *pki, const char *out, const struct provision_broker *b,
    char *err, size_t cap)
{
	char p[PROVISION_PATH_MAX], aclp[PROVISION_PATH_MAX], conf[4096];
	struct acl a = { NULL, 0, 4096, 0 };
	int n, rc;

	if ((a.buf = malloc(a.cap)) == NULL)
		return fail(err, cap, "broker: out of memory");
	a.buf[0] = '\0';
	acl_add(&a, "# ACL generated by linecrew provision from %s/devices; do not edit.\n"
	    "# User names are certificate common names (use_identity_as_username).\n\n"
	    "user %s\n"
	    "topic write linecrew/v1/dev/+/order\n"
	    "topic read linecrew/v1/dev/+/event\n"
	    "topic read linecrew/v1/dev/+/pos\n"
	    "topic read linecrew/v1/dev/+/presence\n\n", pki, PROVISION_GATEWAY_CN);
	if (provision_devices(pki, acl_device, &a, err, cap) == -1) {
		free(a.buf);
		return -1;
	}
	if (a.oom) {
		free(a.buf);
		return fail(err, cap, "broker: ACL too large");
	}
	if (path(aclp, out, "acl", NULL) == -1 || put(aclp, a.buf, a.len, 0644, err, cap)) {
		free(a.buf);
		return -1;
	}
	free(a.buf);
	n = snprintf(conf, sizeof(conf),
	    "# mosquitto configuration generated by linecrew provision; do not edit.\n"
	    "# TLS only: every client presents a certificate of the fleet CA; its common\n"
	    "# name is the user name, and the user name is the client id, so one unit\n"
	    "# cannot take over another's session. The ACL gives each identity its topics.\n"
	    "per_listener_settings true\n"
	    "set_tcp_nodelay true\n"
	    "# Persistence is saved every second: a PUBACK is still no proof of delivery\n"
	    "# (the gateway waits for the device's own ack), but a broker restart loses\n"
	    "# at most the last second of queued messages.\n"
	    "persistence true\n"
	    "persistence_location %s/\n"
	    "autosave_interval 1\n"
	    "# Per-client queue for a unit that is away: beyond it messages are dropped,\n"
	    "# which the gateway's outbox and the reconnect reconcile repair.\n"
	    "max_queued_messages %d\n"
	    "max_inflight_messages 20\n"
	    "log_dest stderr\n"
	    "log_type error\nlog_type warning\nlog_type notice\n\n"
	    "listener %d %s\n"
	    "allow_anonymous false\n"
	    "acl_file %s\n"
	    "cafile %s/ca.crt\n"
	    "certfile %s/broker.crt\n"
	    "keyfile %s/broker.key\n"
	    "require_certificate true\n"
	    "use_identity_as_username true\n"
	    "use_username_as_clientid true\n"
	    "tls_version tlsv1.2\n",
	    b->persist_dir, b->max_queued > 0 ? b->max_queued : 1000, b->port,
	    b->bind ? b->bind : "127.0.0.1", aclp, pki, pki, pki);
	if (n < 0 || (size_t)n >= sizeof(conf))
		return fail(err, cap, "broker: configuration too long");
	if (b->dev_plain_port > 0) {
		int m = snprintf(conf + n, sizeof(conf) - (size_t)n,
		    "\n# DEVELOPMENT ONLY (--dev-plain-port): a plain listener on loopback with\n"
		    "# the same ACL. The user name here is only claimed, not proven: anyone on\n"
		    "# this host can claim any identity. Never in production.\n"
		    "listener %d 127.0.0.1\n"
		    "allow_anonymous true\n"
		    "acl_file %s\n", b->dev_plain_port, aclp);

		if (m < 0 || (size_t)m >= sizeof(conf) - (size_t)n)
			return fail(err, cap, "broker: configuration too long");
		n += m;
	}
	if (path(p, out, "mosquitto.conf", NULL) == -1)
		return fail(err, cap, "%s: path too long", out);
	rc = put(p, conf, (size_t)n, 0644, err, cap);
	return rc;
}
