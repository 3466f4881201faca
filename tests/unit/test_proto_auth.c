/*
 * test_proto_auth.c: framing of the authentication tag: join/split round trips
 * for MAC and signature, payloads without a tag, and malformed tags (bad hex,
 * upper case, wrong length, not last), each refused naming "mac" or "sig".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

static void
roundtrip(const char *body, enum proto_auth alg, size_t taglen)
{
	unsigned char tag[PROTO_SIG_MAX], got[PROTO_SIG_MAX];
	char out[PROTO_MAX_PAYLOAD + 1], back[PROTO_MAX_PAYLOAD + 1];
	struct proto_error e;
	enum proto_auth a;
	size_t n, bl, tl, i;

	for (i = 0; i < taglen; i++)
		tag[i] = (unsigned char)(i * 37 + 11);
	assert_int_equal(proto_auth_join(body, strlen(body), alg, tag, taglen, out,
	    sizeof(out), &n), PROTO_OK);
	assert_int_equal(strlen(out), n);
	assert_int_equal(proto_auth_split(out, n, back, sizeof(back), &bl, &a, got, &tl, &e),
	    PROTO_OK);
	assert_int_equal(a, alg);
	assert_int_equal(tl, taglen);
	assert_memory_equal(got, tag, taglen);
	assert_int_equal(bl, strlen(body));
	assert_memory_equal(back, body, bl);
}

static void
test_roundtrip(void **state)
{
	(void)state;
	roundtrip("{\"v\":1,\"type\":\"ack\",\"eids\":[\"dev-01:1\"]}", PROTO_AUTH_MAC, 32);
	roundtrip("{\"v\":1,\"type\":\"arrive\",\"note\":\"\\\"mac\\\":\\\"00\\\"\"}",
	    PROTO_AUTH_SIG, 71);
	roundtrip("{}", PROTO_AUTH_MAC, 32);
	roundtrip("{\"a\":1}", PROTO_AUTH_SIG, 8);
}

static void
test_no_tag(void **state)
{
	const char *p = "{\"v\":1,\"type\":\"pos\",\"note\":\"abc\"}";
	char back[256];
	unsigned char tag[PROTO_SIG_MAX];
	struct proto_error e;
	enum proto_auth a;
	size_t bl, tl;

	(void)state;
	assert_int_equal(proto_auth_split(p, strlen(p), back, sizeof(back), &bl, &a, tag, &tl,
	    &e), PROTO_OK);
	assert_int_equal(a, PROTO_AUTH_NONE);
	assert_string_equal(back, p);
	assert_int_equal(tl, 0);
}

static void
expect_bad(const char *p, const char *field)
{
	char back[512];
	unsigned char tag[PROTO_SIG_MAX];
	struct proto_error e;
	enum proto_auth a;
	size_t bl, tl;

	assert_int_equal(proto_auth_split(p, strlen(p), back, sizeof(back), &bl, &a, tag, &tl,
	    &e), PROTO_E_RANGE);
	assert_string_equal(e.field, field);
	assert_true(strncmp(e.msg, field, strlen(field)) == 0);
}

static void
test_malformed(void **state)
{
	(void)state;
	/* too short for a MAC */
	expect_bad("{\"v\":1,\"mac\":\"abcd\"}", "mac");
	/* odd length signature */
	expect_bad("{\"v\":1,\"sig\":\"0123456789abcdef0\"}", "sig");
	/* a tag key right after '{' but with more before it is impossible; a tag that is
	 * not preceded by ',' or the opening brace is not the last member */
	expect_bad("{\"v\":1 \"mac\":\"000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f\"}", "mac");
}

static void
test_not_a_tag(void **state)
{
	/* upper-case hex is not ours: the member is not recognised as a tag at all,
	 * so the message travels untagged and the daemon's policy refuses it */
	const char *p = "{\"v\":1,\"mac\":\"ABCDEF\"}";
	char back[256];
	unsigned char tag[PROTO_SIG_MAX];
	struct proto_error e;
	enum proto_auth a;
	size_t bl, tl;

	(void)state;
	assert_int_equal(proto_auth_split(p, strlen(p), back, sizeof(back), &bl, &a, tag, &tl,
	    &e), PROTO_OK);
	assert_int_equal(a, PROTO_AUTH_NONE);
}

static void
test_join_limits(void **state)
{
	static char big[PROTO_MAX_PAYLOAD + 1];
	unsigned char tag[32] = { 0 };
	char out[PROTO_MAX_PAYLOAD + 200];
	size_t n;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '{';
	big[PROTO_MAX_PAYLOAD - 40] = '}';
	big[PROTO_MAX_PAYLOAD - 39] = '\0';
	assert_int_equal(proto_auth_join(big, strlen(big), PROTO_AUTH_MAC, tag, 32, out,
	    sizeof(out), &n), PROTO_E_BUFFER);
	assert_int_equal(proto_auth_join("{}", 2, PROTO_AUTH_MAC, tag, 31, out, sizeof(out),
	    &n), PROTO_E_RANGE);
	assert_int_equal(proto_auth_join("{}", 2, PROTO_AUTH_MAC, tag, 32, out, 10, &n),
	    PROTO_E_BUFFER);
	assert_int_equal(proto_auth_join("[1]", 3, PROTO_AUTH_MAC, tag, 32, out, sizeof(out),
	    &n), PROTO_E_RANGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_no_tag),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_not_a_tag),
		cmocka_unit_test(test_join_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
