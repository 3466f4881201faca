/*
 * test_common_conf.c: the config reader: defaults, every value type, ranges,
 * quoting, and the "file:line: message" errors for bad lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

struct cfg {
	char	name[16];
	int	port;
	int64_t	big;
	double	ratio;
	int	flag;
	int	crews;
	char	lastcrew[32];
};

static int
crew_fn(void *dst, int argc, char **argv, char *err, size_t cap)
{
	struct cfg *c = dst;

	if (argc != 2) {
		snprintf(err, cap, "crew: expects ID DEVICE");
		return -1;
	}
	c->crews++;
	snprintf(c->lastcrew, sizeof(c->lastcrew), "%s/%s", argv[0], argv[1]);
	return 0;
}

static const struct conf_key keys[] = {
	{ "big", CONF_INT64, offsetof(struct cfg, big), 0, 0, 1e15, "5000000000", NULL, "" },
	{ "crew", CONF_FUNC, 0, 0, 0, 0, NULL, crew_fn, "" },
	{ "flag", CONF_BOOL, offsetof(struct cfg, flag), 0, 0, 0, "no", NULL, "" },
	{ "name", CONF_STR, offsetof(struct cfg, name), 16, 0, 0, "gw", NULL, "" },
	{ "port", CONF_INT, offsetof(struct cfg, port), 0, 1, 65535, "8595", NULL, "" },
	{ "ratio", CONF_DOUBLE, offsetof(struct cfg, ratio), 0, 0, 1, "0.5", NULL, "" },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char *
tmpfile_with(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/lc-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_defaults(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(conf_defaults(keys, NKEYS, &c, err, sizeof(err)), 0);
	assert_string_equal(c.name, "gw");
	assert_int_equal(c.port, 8595);
	assert_true(c.big == 5000000000LL);
	assert_true(c.ratio == 0.5);
	assert_int_equal(c.flag, 0);
}

static void
test_load_values(void **state)
{
	struct cfg c;
	char err[256];
	char *p = tmpfile_with("# comment\n\nname \"a b\"\nport 1883  # trailing\n"
	    "flag yes\nratio 0.25\ncrew c1 dev-01\ncrew c2 dev-02\n");

	(void)state;
	memset(&c, 0, sizeof(c));
	conf_defaults(keys, NKEYS, &c, err, sizeof(err));
	assert_int_equal(conf_load(p, keys, NKEYS, &c, err, sizeof(err)), 0);
	assert_string_equal(c.name, "a b");
	assert_int_equal(c.port, 1883);
	assert_int_equal(c.flag, 1);
	assert_true(c.ratio == 0.25);
	assert_int_equal(c.crews, 2);
	assert_string_equal(c.lastcrew, "c2/dev-02");
	unlink(p);
}

static void
expect_error(const char *text, const char *want)
{
	struct cfg c;
	char err[256];
	char *p = tmpfile_with(text);

	memset(&c, 0, sizeof(c));
	assert_int_equal(conf_load(p, keys, NKEYS, &c, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_non_null(strstr(err, p));	/* names the file */
	unlink(p);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("port 0\n", ":1: port: 0 is out of range [1, 65535]");
	expect_error("\nport 80x\n", ":2: port: \"80x\" is not an integer");
	expect_error("bogus 1\n", ":1: bogus: unknown keyword");
	expect_error("name \"unterminated\n", ":1: unterminated or misplaced quote");
	expect_error("name waytoolongforthisfield\n", "name: value longer than 15 bytes");
	expect_error("ratio nan\n", "ratio: \"nan\" is not a number");
	expect_error("ratio 2\n", "ratio: 2 is out of range");
	expect_error("flag maybe\n", "flag: \"maybe\" is not yes/no");
	expect_error("port 1 2\n", "port: expects exactly one value, got 2");
	expect_error("crew onlyone\n", "crew: expects ID DEVICE");
}

static void
test_unsorted_table(void **state)
{
	static const struct conf_key bad[] = {
		{ "b", CONF_INT, 0, 0, 0, 1, "0", NULL, "" },
		{ "a", CONF_INT, 0, 0, 0, 1, "0", NULL, "" },
	};
	int dst[2];
	char err[128];

	(void)state;
	assert_int_equal(conf_defaults(bad, 2, dst, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not sorted"));
}

static void
test_missing_file(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	assert_int_equal(conf_load("/nonexistent/x.conf", keys, NKEYS, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x.conf"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_load_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unsorted_table),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
