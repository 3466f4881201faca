/*
 * test_common_msgauth.c: the message authentication policy end to end between a
 * "gateway" and two "devices" on real keys: MAC and signature round trips, a
 * forged MAC, a message altered after signing, another device's key, a missing
 * or wrong kind of tag, an unknown (revoked) peer, and the cache after forget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "msgauth.h"

static struct crypto *C;
static struct crypto_key *GW, *D1, *D2;
static int d1_revoked;

/* The gateway knows every device's public key; a device knows the gateway's. */
static struct crypto_key *
gw_peer(void *arg, const char *peer)
{
	(void)arg;
	if (!strcmp(peer, "dev-01"))
		return d1_revoked ? NULL : D1;
	if (!strcmp(peer, "dev-02"))
		return D2;
	return NULL;
}

static struct crypto_key *
dev_peer(void *arg, const char *peer)
{
	(void)arg;
	return !strcmp(peer, "linecrew-gateway") ? GW : NULL;
}

static int
setup(void **state)
{
	char err[128];

	(void)state;
	C = crypto_new("t");
	if (crypto_keygen(C, &GW, err, sizeof(err)) || crypto_keygen(C, &D1, err, sizeof(err)) ||
	    crypto_keygen(C, &D2, err, sizeof(err)))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	crypto_key_free(GW);
	crypto_key_free(D1);
	crypto_key_free(D2);
	crypto_free(C);
	return 0;
}

static void
test_policy(void **state)
{
	(void)state;
	assert_int_equal(msgauth_policy_event(PROTO_EV_ARRIVE), PROTO_AUTH_SIG);
	assert_int_equal(msgauth_policy_event(PROTO_EV_COMPLETE), PROTO_AUTH_SIG);
	assert_int_equal(msgauth_policy_event(PROTO_EV_DELAY), PROTO_AUTH_SIG);
	assert_int_equal(msgauth_policy_event(PROTO_EV_DELIVERED), PROTO_AUTH_MAC);
	assert_int_equal(msgauth_policy_event(PROTO_EV_HELLO), PROTO_AUTH_MAC);
}

static void
test_mac_both_ways(void **state)
{
	struct msgauth *gw = msgauth_new(C, GW, gw_peer, NULL);
	struct msgauth *d1 = msgauth_new(C, D1, dev_peer, NULL);
	struct msgauth *d2 = msgauth_new(C, D2, dev_peer, NULL);
	const char *body = "{\"v\":1,\"type\":\"ack\",\"to\":\"dev-01\",\"n\":5,\"at\":1}";
	char out[1024], back[1024], err[256];
	size_t n, bl;

	(void)state;
	/* gateway -> dev-01 */
	assert_int_equal(msgauth_seal(gw, "dev-01", "dev-01", PROTO_AUTH_MAC, body, strlen(body),
	    out, sizeof(out), &n, err, sizeof(err)), 0);
	assert_int_equal(msgauth_open(d1, "linecrew-gateway", "dev-01", PROTO_AUTH_MAC, out, n,
	    back, sizeof(back), &bl, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(bl, strlen(body));
	assert_memory_equal(back, body, bl);
	/* dev-02 cannot read it as addressed to itself (other key) */
	assert_int_equal(msgauth_open(d2, "linecrew-gateway", "dev-02", PROTO_AUTH_MAC, out, n,
	    back, sizeof(back), &bl, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "forged or altered"));
	/* dev-01 -> gateway, and a flipped byte */
	assert_int_equal(msgauth_seal(d1, "linecrew-gateway", "dev-01", PROTO_AUTH_MAC, body,
	    strlen(body), out, sizeof(out), &n, err, sizeof(err)), 0);
	assert_int_equal(msgauth_open(gw, "dev-01", "dev-01", PROTO_AUTH_MAC, out, n, back,
	    sizeof(back), &bl, NULL, NULL, err, sizeof(err)), 0);
	out[20] ^= 1;
	assert_int_equal(msgauth_open(gw, "dev-01", "dev-01", PROTO_AUTH_MAC, out, n, back,
	    sizeof(back), &bl, NULL, NULL, err, sizeof(err)), -1);
	/* dev-02 claiming to be dev-01 */
	assert_int_equal(msgauth_seal(d2, "linecrew-gateway", "dev-01", PROTO_AUTH_MAC, body,
	    strlen(body), out, sizeof(out), &n, err, sizeof(err)), 0);
	assert_int_equal(msgauth_open(gw, "dev-01", "dev-01", PROTO_AUTH_MAC, out, n, back,
	    sizeof(back), &bl, NULL, NULL, err, sizeof(err)), -1);
	msgauth_free(gw);
	msgauth_free(d1);
	msgauth_free(d2);
}

static void
test_signature_evidence(void **state)
{
	struct msgauth *gw = msgauth_new(C, GW, gw_peer, NULL);
	struct msgauth *d1 = msgauth_new(C, D1, dev_peer, NULL);
	const char *body = "{\"v\":1,\"type\":\"arrive\",\"dev\":\"dev-01\",\"seq\":9,"
	    "\"eid\":\"dev-01:9\",\"order_id\":\"LC-1\",\"at\":1795597424000}";
	unsigned char sig[CRYPTO_SIG_MAX];
	char out[1024], back[1024], err[256];
	size_t n, bl, sl;

	(void)state;
	assert_int_equal(msgauth_seal(d1, "linecrew-gateway", "dev-01", PROTO_AUTH_SIG, body,
	    strlen(body), out, sizeof(out), &n, err, sizeof(err)), 0);
	assert_int_equal(msgauth_open(gw, "dev-01", "dev-01", PROTO_AUTH_SIG, out, n, back,
	    sizeof(back), &bl, sig, &sl, err, sizeof(err)), 0);
	/* the kept signature verifies against the device's key alone (third party) */
	assert_int_equal(crypto_verify(D1, back, bl, sig, sl), 0);
	assert_int_equal(crypto_verify(D2, back, bl, sig, sl), -1);
	/* a MAC where a signature is required is refused */
	assert_int_equal(msgauth_open(gw, "dev-01", "dev-01", PROTO_AUTH_MAC, out, n, back,
	    sizeof(back), &bl, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expected a mac tag, found sig"));
	/* no tag at all */
	assert_int_equal(msgauth_open(gw, "dev-01", "dev-01", PROTO_AUTH_SIG, body, strlen(body),
	    back, sizeof(back), &bl, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "found none"));
	/* revoked: the key lookup fails, so does the check */
	d1_revoked = 1;
	assert_int_equal(msgauth_open(gw, "dev-01", "dev-01", PROTO_AUTH_SIG, out, n, back,
	    sizeof(back), &bl, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown or revoked"));
	/* a cached MAC key survives until forgotten */
	d1_revoked = 0;
	assert_int_equal(msgauth_seal(gw, "dev-01", "dev-01", PROTO_AUTH_MAC, body, strlen(body),
	    out, sizeof(out), &n, err, sizeof(err)), 0);
	d1_revoked = 1;
	msgauth_forget(gw, "dev-01");
	assert_int_equal(msgauth_seal(gw, "dev-01", "dev-01", PROTO_AUTH_MAC, body, strlen(body),
	    out, sizeof(out), &n, err, sizeof(err)), -1);
	d1_revoked = 0;
	msgauth_free(gw);
	msgauth_free(d1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_mac_both_ways),
		cmocka_unit_test(test_signature_evidence),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
