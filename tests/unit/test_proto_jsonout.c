/*
 * test_proto_jsonout.c: pj_print and pj_fmt_num (proto/jsonout.c), the JSON
 * printer of answers, timeline details and the live stream.
 *
 * Exact text where the form matters (integers, times, escapes, null for what
 * JSON cannot carry), and for everything else the property that counts: the
 * text parses back (cJSON) to a tree equal to the one printed, numbers
 * bit-exact, which cJSON's own printer does not promise (15 digits when they
 * come back "close enough").
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cJSON.h>

#include "proto.h"

static void
expect_text(const cJSON *j, const char *want)
{
	char *s = pj_print(j);

	assert_non_null(s);
	assert_string_equal(s, want);
	cJSON_free(s);
}

static void
expect_num(double v, const char *want)
{
	char buf[PJ_NUM_MAX];

	assert_int_equal(pj_fmt_num(buf, v), strlen(want));
	assert_string_equal(buf, want);
}

static void
test_numbers_exact(void **state)
{
	(void)state;
	expect_num(0, "0");
	expect_num(-0.0, "0");
	expect_num(7, "7");
	expect_num(-42, "-42");
	expect_num(1796447395123.0, "1796447395123");		/* an epoch-ms time */
	expect_num(-1796447395123.0, "-1796447395123");
	expect_num(9007199254740991.0, "9007199254740991");	/* 2^53 - 1 */
	expect_num(0.5, "0.5");
	expect_num(0.1, "0.1");
	expect_num(111.7497, "111.7497");
	expect_num(-12000.25, "-12000.25");
	expect_num(1.0 / 3.0, "0.3333333333333333");		/* 16 digits suffice */
	expect_num(0.1 + 0.2, "0.30000000000000004");		/* 17 needed */
	expect_num(1e300, "1e+300");				/* beyond 2^53: %g form */
}

/* Every printed number reads back to the very same double. */
static void
test_numbers_round_trip(void **state)
{
	char buf[PJ_NUM_MAX];
	uint64_t x = 88172645463325252ULL;
	double v;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		switch (i % 4) {
		case 0:		/* any finite double */
			memcpy(&v, &x, sizeof(v));
			if (!isfinite(v))
				continue;
			break;
		case 1:		/* a latitude */
			v = (double)(x % 180000000000ULL) / 1e9 - 90.0;
			break;
		case 2:		/* a time in ms */
			v = (double)(x % 4000000000000ULL);
			break;
		default:	/* minutes as a fraction */
			v = (double)(int64_t)(x % 100000) / 60000.0;
			break;
		}
		pj_fmt_num(buf, v);
		assert_true(strtod(buf, NULL) == v);
		assert_null(strchr(buf, ','));
	}
}

static void
test_literals_and_escapes(void **state)
{
	cJSON *j = cJSON_CreateObject();

	(void)state;
	cJSON_AddNullToObject(j, "n");
	cJSON_AddTrueToObject(j, "t");
	cJSON_AddFalseToObject(j, "f");
	cJSON_AddNumberToObject(j, "nan", NAN);
	cJSON_AddNumberToObject(j, "inf", -INFINITY);
	cJSON_AddStringToObject(j, "s", "a\"b\\c\n\t\r\b\f\x01\x1f/ 东风路");
	cJSON_AddRawToObject(j, "raw", "[1,2]");
	cJSON_AddItemToObject(j, "e", cJSON_CreateObject());
	cJSON_AddItemToObject(j, "a", cJSON_CreateArray());
	cJSON_AddStringToObject(j, "k\"ey", "");
	expect_text(j, "{\"n\":null,\"t\":true,\"f\":false,\"nan\":null,\"inf\":null,"
	    "\"s\":\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f/ 东风路\",\"raw\":[1,2],"
	    "\"e\":{},\"a\":[],\"k\\\"ey\":\"\"}");
	cJSON_Delete(j);
	j = cJSON_CreateArray();
	expect_text(j, "[]");
	cJSON_AddItemToArray(j, cJSON_CreateNumber(1796447395000.0));
	cJSON_AddItemToArray(j, cJSON_CreateString("x"));
	expect_text(j, "[1796447395000,\"x\"]");
	cJSON_Delete(j);
	assert_null(pj_print(NULL));
}

/* A nested tree of every kind prints to text that parses back equal. */
static void
test_tree_round_trip(void **state)
{
	cJSON *j = cJSON_CreateObject(), *a, *o, *back;
	char *s, key[16];

	(void)state;
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		o = cJSON_AddObjectToObject(j, key);
		cJSON_AddNumberToObject(o, "at_ms", 1796447395000.0 + i);
		cJSON_AddNumberToObject(o, "lat", 40.84237166666667 + i / 7.0);
		cJSON_AddNumberToObject(o, "min", i / 60000.0);
		cJSON_AddStringToObject(o, "text", i % 2 ? "第十九条 \"quoted\"\n" : "");
		cJSON_AddBoolToObject(o, "ok", i % 3 == 0);
		a = cJSON_AddArrayToObject(o, "list");
		for (int k = 0; k < i % 5; k++)
			cJSON_AddItemToArray(a, cJSON_CreateNumber(k * 0.1));
	}
	s = pj_print(j);
	assert_non_null(s);
	back = cJSON_Parse(s);
	assert_non_null(back);
	assert_true(cJSON_Compare(j, back, 1));
	/* bit-exact numbers, not cJSON_Compare's epsilon */
	for (o = j->child, a = back->child; o != NULL; o = o->next, a = a->next)
		assert_true(cJSON_GetObjectItem(o, "lat")->valuedouble ==
		    cJSON_GetObjectItem(a, "lat")->valuedouble);
	cJSON_Delete(back);
	cJSON_free(s);
	cJSON_Delete(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers_exact),
		cmocka_unit_test(test_numbers_round_trip),
		cmocka_unit_test(test_literals_and_escapes),
		cmocka_unit_test(test_tree_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
