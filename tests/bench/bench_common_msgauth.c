/*
 * bench_common_msgauth.c: the cost per message of the end-to-end
 * authentication policy (common/msgauth.c), on a realistic payload:
 *
 *   sign      ECDSA P-256 / SHA-256 seal of an arrival event (the device)
 *   verify    its check with the device's public key (the gateway)
 *   mac       HMAC-SHA-256 seal of an order push (key cached, as in the daemons)
 *   check     its check
 *   derive    the first MAC to a new peer: ECDH + HKDF, then cached
 *
 * Prints the BENCH contract of tests/bench/run (min / median / max of
 * LINECREW_BENCH_RUNS repetitions, default 5, of N messages each, in
 * microseconds per message) and exits 0; a tag that does not verify prints
 * FAIL and exits 1. Does not measure JSON encoding or MQTT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "msgauth.h"

#define N_SIG		300	/* signatures per repetition */
#define N_MAC		20000	/* MACs per repetition */
#define N_DERIVE	200	/* new peers per repetition */
#define RUNS_MAX	50

static struct crypto_key *peer_pub;

static struct crypto_key *
peer(void *arg, const char *dev)
{
	(void)arg;
	(void)dev;
	return peer_pub;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *name, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp);
	printf("BENCH msgauth_%s per_message us %.4g %.4g %.4g\n", name, v[0], v[n / 2],
	    v[n - 1]);
}

int
main(void)
{
	static const char arrive[] =
	    "{\"v\":1,\"type\":\"arrive\",\"dev\":\"dev-01\",\"seq\":17,\"eid\":\"dev-01:17\","
	    "\"at\":1795600000000,\"order_id\":\"LC-20261125-0001\",\"method\":\"gps\","
	    "\"dist\":23.5,\"dwell\":31000,\"track\":[{\"lat\":40.84201,\"lon\":111.75003,"
	    "\"eph\":4.2,\"speed\":0.3,\"t\":1795599970000,\"mode\":3},{\"lat\":40.84203,"
	    "\"lon\":111.75001,\"eph\":4.1,\"speed\":0.2,\"t\":1795599980000,\"mode\":3},"
	    "{\"lat\":40.84202,\"lon\":111.75002,\"eph\":4.0,\"speed\":0.1,"
	    "\"t\":1795599990000,\"mode\":3}]}";
	static const char order[] =
	    "{\"v\":1,\"type\":\"order\",\"msg_id\":\"push.1795600000000.1\",\"at\":1795600000000,"
	    "\"n\":1795600000000001,\"tx\":1795600000000,\"order\":{\"id\":\"LC-20261125-0001\","
	    "\"category\":2,\"category_name\":\"线路故障停电\",\"summary\":\"whole building dark\","
	    "\"address\":\"新城区 海拉尔东路 12 号\",\"customer\":\"王女士\",\"phone\":\"13800000000\","
	    "\"site\":{\"lat\":40.842,\"lon\":111.75},\"radius_m\":150,\"zone\":\"urban\","
	    "\"zone_name\":\"Hohhot urban core\",\"created_ms\":1795599000000,"
	    "\"dispatched_ms\":1795600000000,\"arrive_by_ms\":1795603600000,"
	    "\"complete_by_ms\":1795643200000}}";
	char out[PROTO_MAX_PAYLOAD + 1], body[PROTO_MAX_PAYLOAD + 1], err[256], dev[32];
	double sign[RUNS_MAX], ver[RUNS_MAX], mac[RUNS_MAX], chk[RUNS_MAX], der[RUNS_MAX];
	struct crypto *c = crypto_new("bench-msgauth");
	struct crypto_key *gw, *dv;
	struct msgauth *mg, *md;
	size_t len, blen;
	const char *e = getenv("LINECREW_BENCH_RUNS");
	int runs = e && atoi(e) > 0 ? atoi(e) : 5, fail = 0;

	if (runs > RUNS_MAX)
		runs = RUNS_MAX;
	if (c == NULL || crypto_keygen(c, &gw, err, sizeof(err)) ||
	    crypto_keygen(c, &dv, err, sizeof(err))) {
		printf("FAIL: keys: %s\n", err);
		return 1;
	}
	/* Both ends in one process: each side's "peer" is the other's key. */
	peer_pub = dv;
	mg = msgauth_new(c, gw, peer, NULL);
	md = msgauth_new(c, dv, peer, NULL);
	for (int r = 0; r < runs; r++) {
		double t0 = now_us();

		for (int i = 0; i < N_SIG; i++)
			if (msgauth_seal(md, "linecrew-gateway", "dev-01", PROTO_AUTH_SIG, arrive,
			    strlen(arrive), out, sizeof(out), &len, err, sizeof(err)))
				fail = 1;
		sign[r] = (now_us() - t0) / N_SIG;
		t0 = now_us();
		for (int i = 0; i < N_SIG; i++)
			if (msgauth_open(mg, "dev-01", "dev-01", PROTO_AUTH_SIG, out, len, body,
			    sizeof(body), &blen, NULL, NULL, err, sizeof(err)))
				fail = 1;
		ver[r] = (now_us() - t0) / N_SIG;
		t0 = now_us();
		for (int i = 0; i < N_MAC; i++)
			if (msgauth_seal(mg, "dev-01", "dev-01", PROTO_AUTH_MAC, order,
			    strlen(order), out, sizeof(out), &len, err, sizeof(err)))
				fail = 1;
		mac[r] = (now_us() - t0) / N_MAC;
		t0 = now_us();
		for (int i = 0; i < N_MAC; i++)
			if (msgauth_open(mg, "dev-01", "dev-01", PROTO_AUTH_MAC, out, len, body,
			    sizeof(body), &blen, NULL, NULL, err, sizeof(err)))
				fail = 1;
		chk[r] = (now_us() - t0) / N_MAC;
		t0 = now_us();
		for (int i = 0; i < N_DERIVE; i++) {
			snprintf(dev, sizeof(dev), "d%d-%d", r, i);
			if (msgauth_seal(mg, dev, dev, PROTO_AUTH_MAC, order, strlen(order), out,
			    sizeof(out), &len, err, sizeof(err)))
				fail = 1;
		}
		der[r] = (now_us() - t0) / N_DERIVE;
	}
	if (fail) {
		printf("FAIL: a tag did not seal or verify: %s\n", err);
		return 1;
	}
	report("sign_ecdsa_p256", sign, runs);
	report("verify_ecdsa_p256", ver, runs);
	report("mac_hmac_sha256", mac, runs);
	report("check_hmac_sha256", chk, runs);
	report("derive_ecdh_hkdf", der, runs);
	msgauth_free(mg);
	msgauth_free(md);
	crypto_key_free(gw);
	crypto_key_free(dv);
	crypto_free(c);
	return 0;
}
