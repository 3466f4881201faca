/*
 * admin.c: the operator's local commands of `linecrew` (README "Security"):
 *
 *   linecrew provision init|device|revoke|broker|list --pki DIR ...
 *   linecrew token add NAME --role ROLE [--dept DEPARTMENT] --db FILE
 *   linecrew audit verify --db FILE --pki DIR
 *
 * They work on files of the gateway's host (the PKI directory, the database),
 * never over the API: whoever runs them already holds those files, and the API
 * cannot hand out its own first admin token. Tokens are printed once and
 * stored only as SHA-256. `audit verify` re-computes the hash chain from the
 * rows and checks every stored device signature against the device's
 * certificate; it reports the first broken link and exits 1.
 *
 * This file does not talk to the broker: after `revoke` the operator runs
 * `provision broker` again and sends mosquitto SIGHUP (the gateway refuses
 * the revoked device's messages at once by itself).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "gateway.h"
#include "pki.h"

#define ADMIN_ERR_MAX	512
#define ADMIN_TOKEN_BYTES 32	/* 256 bits of secret */

static const char *
opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static const char *
need(int argc, char **argv, const char *name)
{
	const char *v = opt(argc, argv, name);

	if (v == NULL) {
		fprintf(stderr, "linecrew: %s is required\n", name);
		exit(2);
	}
	return v;
}

static long
num(const char *s, const char *what, long lo, long hi)
{
	char *end;
	long v;

	if (s == NULL)
		return lo - 1;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "linecrew: %s: must be an integer in [%ld, %ld]\n", what, lo, hi);
		exit(2);
	}
	return v;
}

static int64_t
wall_ms(void)
{
	return clock_wall(clock_system());
}

static int
done(int rc, const char *err)
{
	if (rc == -1) {
		fprintf(stderr, "linecrew: %s\n", err);
		return 1;
	}
	return 0;
}

static void
list_cb(void *arg, const char *dev, int revoked)
{
	(void)arg;
	printf("%-32s %s\n", dev, revoked ? "revoked" : "active");
}

static int
cmd_provision(int argc, char **argv)
{
	char err[ADMIN_ERR_MAX] = "";
	const char *pki;

	if (argc < 1)
		return -1;
	pki = need(argc, argv, "--pki");
	if (strcmp(argv[0], "init") == 0) {
		if (done(provision_init(pki, wall_ms(), err, sizeof(err)), err))
			return 1;
		printf("fleet CA, gateway and broker identities created in %s\n", pki);
		return 0;
	}
	if (strcmp(argv[0], "device") == 0 && argc >= 2) {
		const char *host = opt(argc, argv, "--mqtt-host");
		long port = opt(argc, argv, "--mqtt-port") ?
		    num(opt(argc, argv, "--mqtt-port"), "--mqtt-port", 1, 65535) : 8883;
		long days = opt(argc, argv, "--days") ?
		    num(opt(argc, argv, "--days"), "--days", 1, 36500) : 0;
		/* --from-ms: start of validity (re-issuing with a date agreed
		 * beforehand; the tests make expired certificates with it). */
		int64_t from = opt(argc, argv, "--from-ms") ?
		    num(opt(argc, argv, "--from-ms"), "--from-ms", 1, 4102444800000L) :
		    wall_ms();

		if (done(provision_device(pki, argv[1], host ? host : "127.0.0.1", (int)port,
		    from, (int)days, err, sizeof(err)), err))
			return 1;
		printf("device %s: bundle in %s/devices/%s\n", argv[1], pki, argv[1]);
		return 0;
	}
	if (strcmp(argv[0], "revoke") == 0 && argc >= 2) {
		if (done(provision_revoke(pki, argv[1], err, sizeof(err)), err))
			return 1;
		printf("device %s revoked: run `linecrew provision broker` again and send "
		    "mosquitto SIGHUP\n", argv[1]);
		return 0;
	}
	if (strcmp(argv[0], "broker") == 0) {
		struct provision_broker b;

		memset(&b, 0, sizeof(b));
		b.port = (int)num(need(argc, argv, "--port"), "--port", 1, 65535);
		b.bind = opt(argc, argv, "--bind");
		b.persist_dir = need(argc, argv, "--persist");
		if (opt(argc, argv, "--dev-plain-port"))
			b.dev_plain_port = (int)num(opt(argc, argv, "--dev-plain-port"),
			    "--dev-plain-port", 1, 65535);
		if (opt(argc, argv, "--max-queued"))
			b.max_queued = (int)num(opt(argc, argv, "--max-queued"), "--max-queued",
			    1, 10000000);
		if (done(provision_broker(pki, need(argc, argv, "--out"), &b, err, sizeof(err)),
		    err))
			return 1;
		printf("mosquitto.conf and acl written to %s\n", need(argc, argv, "--out"));
		return 0;
	}
	if (strcmp(argv[0], "list") == 0)
		return done(provision_devices(pki, list_cb, NULL, err, sizeof(err)), err);
	return -1;
}

int
admin_role_valid(const char *role)
{
	static const char *const roles[] = { "agent", "supervisor", "dispatcher",
		"department", "admin" };

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(role, roles[i]) == 0)
			return 1;
	return 0;
}

void
admin_token_hash(const char *secret, char out[STORE_HASH_HEX])
{
	unsigned char h[CRYPTO_SHA256_LEN];

	crypto_sha256(secret, strlen(secret), h);
	crypto_hex(h, sizeof(h), out);
}

static int
cmd_token(int argc, char **argv)
{
	unsigned char raw[ADMIN_TOKEN_BYTES];
	char secret[2 * ADMIN_TOKEN_BYTES + 8], hex[2 * ADMIN_TOKEN_BYTES + 1];
	struct crypto *c;
	struct store *st;
	struct token t;
	const char *role, *dept;
	int rc;

	if (argc < 2 || strcmp(argv[0], "add") != 0)
		return -1;
	memset(&t, 0, sizeof(t));
	if (strlen(argv[1]) == 0 || strlen(argv[1]) >= sizeof(t.name)) {
		fprintf(stderr, "linecrew: NAME: 1..%zu bytes\n", sizeof(t.name) - 1);
		return 2;
	}
	role = need(argc, argv, "--role");
	if (!admin_role_valid(role)) {
		fprintf(stderr, "linecrew: --role: agent, supervisor, dispatcher, department "
		    "or admin\n");
		return 2;
	}
	dept = opt(argc, argv, "--dept");
	if ((strcmp(role, "department") == 0) != (dept != NULL)) {
		fprintf(stderr, "linecrew: --dept: given with --role department, and only then\n");
		return 2;
	}
	snprintf(t.name, sizeof(t.name), "%s", argv[1]);
	snprintf(t.role, sizeof(t.role), "%s", role);
	snprintf(t.dept, sizeof(t.dept), "%s", dept ? dept : "");
	if ((c = crypto_new("linecrew-token")) == NULL || crypto_random(c, raw, sizeof(raw))) {
		fprintf(stderr, "linecrew: cannot seed the random generator\n");
		crypto_free(c);
		return 1;
	}
	crypto_free(c);
	crypto_hex(raw, sizeof(raw), hex);
	snprintf(secret, sizeof(secret), "lct_%s", hex);
	admin_token_hash(secret, t.hash);
	if ((st = store_open(need(argc, argv, "--db"))) == NULL) {
		fprintf(stderr, "linecrew: cannot open %s\n", need(argc, argv, "--db"));
		return 1;
	}
	rc = store_token_add(st, &t, wall_ms());
	store_close(st);
	if (rc != 1) {
		fprintf(stderr, "linecrew: token %s: %s\n", t.name, rc == 0 ?
		    "a token of that name exists already" : "not stored");
		return 1;
	}
	/* The only time the secret is shown; the database has its hash. */
	printf("%s\n", secret);
	return 0;
}

/* ---- audit verify ---- */

#define AUDIT_KEYS_MAX	256

struct audit_ctx {
	const char	*pki;
	char		 prev[STORE_HASH_HEX];
	int64_t		 rows, sigs, unsigned_evidence;
	int		 broken;
	char		 why[ADMIN_ERR_MAX];
	int		 nkeys;
	char		 kdev[AUDIT_KEYS_MAX][PROTO_DEV_MAX];
	struct crypto_key *key[AUDIT_KEYS_MAX];
};

static struct crypto_key *
audit_key(struct audit_ctx *a, const char *dev, char *err, size_t cap)
{
	char crt[GW_PATH_MAX], cn[PROTO_DEV_MAX + 8];
	struct crypto_key *k;

	for (int i = 0; i < a->nkeys; i++)
		if (strcmp(a->kdev[i], dev) == 0)
			return a->key[i];
	snprintf(crt, sizeof(crt), "%s/devices/%s/device.crt", a->pki, dev);
	/* evidence outlives certificates: an expired one still checks old signatures */
	if (pki_check_key_evidence(a->pki, crt, cn, sizeof(cn), &k, err, cap) == -1)
		return NULL;
	if (strcmp(cn, dev) != 0) {
		snprintf(err, cap, "device.crt of %.32s: certificate is for %.32s", dev, cn);
		crypto_key_free(k);
		return NULL;
	}
	if (a->nkeys < AUDIT_KEYS_MAX) {
		snprintf(a->kdev[a->nkeys], PROTO_DEV_MAX, "%s", dev);
		a->key[a->nkeys++] = k;
	}
	return k;
}

static int
is_evidence(const char *type)
{
	return !strcmp(type, "arrive") || !strcmp(type, "complete") || !strcmp(type, "delay");
}

static int
audit_row(const struct store_audit_row *r, void *arg)
{
	struct audit_ctx *a = arg;
	char h[STORE_HASH_HEX], err[ADMIN_ERR_MAX] = "";

	a->rows++;
	if (!r->found) {
		snprintf(a->why, sizeof(a->why), "row %lld (%s %s): the row it covers is gone",
		    (long long)r->n, r->tbl, r->ref);
		return 1;
	}
	store_chain_hash(a->prev, r->canon.buf, r->canon.len, h);
	if (r->canon.overflow || strcmp(h, r->hash) != 0) {
		snprintf(a->why, sizeof(a->why), "row %lld (%s %s): hash does not match: the "
		    "row or an earlier link was edited", (long long)r->n, r->tbl, r->ref);
		return 1;
	}
	memcpy(a->prev, r->hash, sizeof(a->prev));
	if (strcmp(r->tbl, "device_events") == 0 && is_evidence(r->type) &&
	    strcmp(r->status, "applied") == 0) {
		unsigned char tag[PROTO_SIG_MAX];
		size_t bodylen, taglen;
		struct proto_error pe;
		enum proto_auth alg;
		struct crypto_key *k;
		char *body = malloc(r->payload_len + 1);

		if (body == NULL)
			return -1;
		if (proto_auth_split(r->payload, r->payload_len, body, r->payload_len + 1,
		    &bodylen, &alg, tag, &taglen, &pe) != PROTO_OK || alg == PROTO_AUTH_MAC) {
			free(body);
			snprintf(a->why, sizeof(a->why), "row %lld (event %s): evidence tag "
			    "malformed", (long long)r->n, r->ref);
			return 1;
		}
		if (alg == PROTO_AUTH_NONE) {
			a->unsigned_evidence++;
			free(body);
			return 0;
		}
		if ((k = audit_key(a, r->dev, err, sizeof(err))) == NULL) {
			free(body);
			snprintf(a->why, sizeof(a->why), "row %lld (event %s): no key to check "
			    "it: %.200s", (long long)r->n, r->ref, err);
			return 1;
		}
		if (crypto_verify(k, body, bodylen, tag, taglen) == -1) {
			free(body);
			snprintf(a->why, sizeof(a->why), "row %lld (event %s): the signature of "
			    "%s does not verify", (long long)r->n, r->ref, r->dev);
			return 1;
		}
		free(body);
		a->sigs++;
	}
	return 0;
}

static int
cmd_audit(int argc, char **argv)
{
	struct audit_ctx *a;
	struct store *st;
	int64_t ntl, nev, nau;
	int rc = 0;

	if (argc < 1 || strcmp(argv[0], "verify") != 0)
		return -1;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return 1;
	a->pki = need(argc, argv, "--pki");
	if ((st = store_open(need(argc, argv, "--db"))) == NULL) {
		fprintf(stderr, "linecrew: cannot open %s\n", need(argc, argv, "--db"));
		free(a);
		return 1;
	}
	if (store_audit_walk(st, audit_row, a) == -1) {
		fprintf(stderr, "linecrew: audit: cannot read the database\n");
		rc = 1;
	} else if (a->why[0] != '\0') {
		printf("audit: BROKEN at %s\n", a->why);
		rc = 1;
	} else {
		ntl = store_count(st, "timeline");
		nev = store_count(st, "device_events");
		nau = store_count(st, "audit");
		if (ntl < 0 || nev < 0 || nau != ntl + nev) {
			printf("audit: BROKEN: %lld timeline entries and %lld device events but "
			    "%lld links: rows were added outside the chain\n", (long long)ntl,
			    (long long)nev, (long long)nau);
			rc = 1;
		} else
			printf("audit: OK: %lld links intact, %lld device signatures verified, "
			    "%lld evidence events unsigned; head %s\n", (long long)a->rows,
			    (long long)a->sigs, (long long)a->unsigned_evidence,
			    a->prev[0] ? a->prev : "(empty)");
	}
	store_close(st);
	for (int i = 0; i < a->nkeys; i++)
		crypto_key_free(a->key[i]);
	free(a);
	return rc;
}

int
admin_main(int argc, char **argv)
{
	int rc = -1;

	if (argc < 1)
		return -1;
	if (strcmp(argv[0], "provision") == 0)
		rc = cmd_provision(argc - 1, argv + 1);
	else if (strcmp(argv[0], "token") == 0)
		rc = cmd_token(argc - 1, argv + 1);
	else if (strcmp(argv[0], "audit") == 0)
		rc = cmd_audit(argc - 1, argv + 1);
	return rc;
}
