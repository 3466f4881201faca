/*
 * test_proto_topic.c: the topic scheme, id syntax and enumeration names of
 * proto/topic.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

static void
test_topic_build_and_parse(void **state)
{
	static const struct {
		enum proto_topic kind;
		const char	*want;
	} cases[] = {
		{ PROTO_T_ORDER, "linecrew/v1/dev/dev-01/order" },
		{ PROTO_T_EVENT, "linecrew/v1/dev/dev-01/event" },
		{ PROTO_T_POS, "linecrew/v1/dev/dev-01/pos" },
		{ PROTO_T_PRESENCE, "linecrew/v1/dev/dev-01/presence" },
	};
	char		 buf[PROTO_TOPIC_MAX], dev[PROTO_DEV_MAX];
	enum proto_topic kind;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(proto_topic(buf, sizeof(buf), "dev-01", cases[i].kind),
		    PROTO_OK);
		assert_string_equal(buf, cases[i].want);
		kind = (enum proto_topic)-1;
		assert_int_equal(proto_topic_parse(buf, dev, &kind), PROTO_OK);
		assert_string_equal(dev, "dev-01");
		assert_int_equal(kind, cases[i].kind);
	}
}

static void
test_topic_longest_dev_fits(void **state)
{
	char		 dev32[33], buf[PROTO_TOPIC_MAX], dev[PROTO_DEV_MAX];
	enum proto_topic kind;

	(void)state;
	memset(dev32, 'Z', 32);
	dev32[32] = '\0';
	assert_int_equal(proto_topic(buf, sizeof(buf), dev32, PROTO_T_PRESENCE), PROTO_OK);
	assert_int_equal(proto_topic_parse(buf, dev, &kind), PROTO_OK);
	assert_string_equal(dev, dev32);
	assert_int_equal(kind, PROTO_T_PRESENCE);
}

static void
test_topic_bad_dev(void **state)
{
	char		 dev33[34], buf[PROTO_TOPIC_MAX];
	const char	*bad[] = { "a/b", "+", "#", "", "dev 1", "dev.1", "$SYS", "dév", NULL };
	size_t		 i;

	(void)state;
	memset(dev33, 'a', 33);
	dev33[33] = '\0';
	bad[sizeof(bad) / sizeof(bad[0]) - 1] = dev33;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		assert_int_equal(proto_topic(buf, sizeof(buf), bad[i], PROTO_T_EVENT),
		    PROTO_E_RANGE);
		assert_string_equal(buf, "");
		assert_false(proto_valid_dev(bad[i]));
	}
	assert_int_equal(proto_topic(buf, sizeof(buf), NULL, PROTO_T_EVENT), PROTO_E_RANGE);
	assert_int_equal(proto_topic(buf, sizeof(buf), "dev-01", (enum proto_topic)7),
	    PROTO_E_RANGE);
}

static void
test_topic_small_buffer(void **state)
{
	char	 buf[PROTO_TOPIC_MAX];
	size_t	 need = strlen("linecrew/v1/dev/d1/event") + 1, cap;

	(void)state;
	for (cap = 0; cap < need; cap++) {
		memset(buf, 'x', sizeof(buf));
		assert_int_equal(proto_topic(buf, cap, "d1", PROTO_T_EVENT), PROTO_E_BUFFER);
		if (cap > 0)
			assert_string_equal(buf, "");
	}
	assert_int_equal(proto_topic(buf, need, "d1", PROTO_T_EVENT), PROTO_OK);
	assert_string_equal(buf, "linecrew/v1/dev/d1/event");
}

static void
test_topic_parse_rejects(void **state)
{
	const char *bad[] = {
		"linecrew/v1/dev/+/event",		/* subscription pattern */
		"linecrew/v1/dev/#",
		"linecrew/v1/dev/a/b/event",		/* dev with a slash */
		"linecrew/v1/dev//event",		/* empty dev */
		"linecrew/v1/dev/dev-01/events",	/* unknown kind */
		"linecrew/v1/dev/dev-01/event/",	/* extra level */
		"linecrew/v1/dev/dev-01",
		"linecrew/v2/dev/dev-01/event",		/* other version */
		"Linecrew/v1/dev/dev-01/event",
		"/linecrew/v1/dev/dev-01/event",
		"linecrew/v1/dev/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/event",	/* 33 chars */
		"linecrew/v1/dev/dev 01/event",
		"",
	};
	char		 dev[PROTO_DEV_MAX];
	enum proto_topic kind = PROTO_T_POS;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(dev, 'x', sizeof(dev));
		assert_int_equal(proto_topic_parse(bad[i], dev, &kind), PROTO_E_TOPIC);
		assert_string_equal(dev, "");
		assert_int_equal(kind, PROTO_T_POS);
	}
	assert_int_equal(proto_topic_parse(NULL, dev, &kind), PROTO_E_TOPIC);
}

static void
test_topic_patterns(void **state)
{
	(void)state;
	assert_string_equal(proto_topic_pattern(PROTO_T_ORDER), "linecrew/v1/dev/+/order");
	assert_string_equal(proto_topic_pattern(PROTO_T_EVENT), "linecrew/v1/dev/+/event");
	assert_string_equal(proto_topic_pattern(PROTO_T_POS), "linecrew/v1/dev/+/pos");
	assert_string_equal(proto_topic_pattern(PROTO_T_PRESENCE),
	    "linecrew/v1/dev/+/presence");
	assert_null(proto_topic_pattern((enum proto_topic)4));
	assert_null(proto_topic_pattern((enum proto_topic)-1));
}

static void
test_valid_id(void **state)
{
	char	 id39[40], id40[41];

	(void)state;
	memset(id39, '9', 39);
	id39[39] = '\0';
	memset(id40, '9', 40);
	id40[40] = '\0';
	assert_true(proto_valid_id("LC-20261125-0001"));
	assert_true(proto_valid_id("m.1:2_x-Y"));
	assert_true(proto_valid_id(id39));
	assert_false(proto_valid_id(id40));
	assert_false(proto_valid_id(""));
	assert_false(proto_valid_id(NULL));
	assert_false(proto_valid_id("a b"));
	assert_false(proto_valid_id("a/b"));
	assert_false(proto_valid_id("a\"b"));
	assert_false(proto_valid_id("订单"));
	assert_true(proto_valid_dev("dev_01-A"));
	assert_false(proto_valid_dev("dev:01"));
	assert_false(proto_valid_dev("dev.01"));
}

static void
test_enum_names(void **state)
{
	enum proto_zone		 z;
	enum proto_crs		 c;
	enum proto_delay_reason	 r;
	int			 i;
	const char		*zones[] = { "urban", "rural", "remote" };
	const char		*crss[] = { "wgs84", "gcj02", "bd09" };
	const char		*delays[] = { "weather", "road", "materials", "upstream",
				    "customer_absent", "safety", "other" };
	const char		*evs[] = { "hello", "delivered", "accept", "arrive",
				    "progress", "delay", "complete" };
	const char		*downs[] = { "order", "cancel", "ack", "sync" };

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_string_equal(proto_zone_name((enum proto_zone)i), zones[i]);
		assert_int_equal(proto_zone_parse(zones[i], &z), 0);
		assert_int_equal(z, i);
		assert_string_equal(proto_crs_name((enum proto_crs)i), crss[i]);
		assert_int_equal(proto_crs_parse(crss[i], &c), 0);
		assert_int_equal(c, i);
	}
	for (i = 0; i < PROTO_DELAY_NREASONS; i++) {
		assert_string_equal(proto_delay_name((enum proto_delay_reason)i), delays[i]);
		assert_int_equal(proto_delay_parse(delays[i], &r), 0);
		assert_int_equal(r, i);
	}
	for (i = 0; i < 7; i++)
		assert_string_equal(proto_ev_type_name((enum proto_ev_type)i), evs[i]);
	for (i = 0; i < 4; i++)
		assert_string_equal(proto_down_type_name((enum proto_down_type)i), downs[i]);

	z = PROTO_ZONE_RURAL;
	assert_int_equal(proto_zone_parse("Urban", &z), -1);
	assert_int_equal(proto_zone_parse("", &z), -1);
	assert_int_equal(proto_zone_parse(NULL, &z), -1);
	assert_int_equal(z, PROTO_ZONE_RURAL);
	assert_int_equal(proto_crs_parse("WGS84", &c), -1);
	assert_int_equal(proto_delay_parse("rain", &r), -1);
	assert_null(proto_zone_name((enum proto_zone)3));
	assert_null(proto_crs_name((enum proto_crs)-1));
	assert_null(proto_delay_name((enum proto_delay_reason)PROTO_DELAY_NREASONS));
	assert_null(proto_ev_type_name((enum proto_ev_type)7));
	assert_null(proto_down_type_name((enum proto_down_type)5));
}

static void
test_strerror(void **state)
{
	int	 e;

	(void)state;
	for (e = PROTO_OK; e <= PROTO_E_TOPIC; e++) {
		assert_non_null(proto_strerror((enum proto_err)e));
		assert_true(strlen(proto_strerror((enum proto_err)e)) > 0);
	}
	assert_string_equal(proto_strerror(PROTO_OK), "no error");
	assert_string_equal(proto_strerror((enum proto_err)99), "unknown error");
	assert_string_equal(proto_strerror((enum proto_err)-1), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_build_and_parse),
		cmocka_unit_test(test_topic_longest_dev_fits),
		cmocka_unit_test(test_topic_bad_dev),
		cmocka_unit_test(test_topic_small_buffer),
		cmocka_unit_test(test_topic_parse_rejects),
		cmocka_unit_test(test_topic_patterns),
		cmocka_unit_test(test_valid_id),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests_name("proto_topic", tests, NULL, NULL);
}
