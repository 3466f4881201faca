/*
 * fuzz_conf.c: libFuzzer target for the config reader both daemons use
 * (common/conf.c): conf_load on a file holding the input, and conf_line on
 * each of its lines (the path -o key=value overrides take), against a key
 * table with every value type (string, int, int64, double, bool, function).
 *
 * Any file must load or give one "file:line: message" error, never overflow
 * the caller's struct or a buffer. It does not exercise the daemons' own
 * CONF_FUNC callbacks (calendar, profile lines); their bad lines are in
 * tests/integration/test_hostile_config.py.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cfg {
	char	name[16];
	int	port;
	int64_t	big;
	double	ratio;
	int	flag;
	int	calls;
	char	last[24];
	char	guard[8];	/* stays zero: a string must not run into it */
};

static int
crew_fn(void *dst, int argc, char **argv, char *err, size_t cap)
{
	struct cfg *c = dst;

	if (argc < 1 || argc > 3) {
		snprintf(err, cap, "crew: expects 1 to 3 words");
		return -1;
	}
	c->calls++;
	snprintf(c->last, sizeof(c->last), "%s", argv[argc - 1]);
	return 0;
}

static const struct conf_key keys[] = {	/* sorted by name */
	{ "big", CONF_INT64, offsetof(struct cfg, big), 0, -1e15, 1e15, "0", NULL, "int64" },
	{ "crew", CONF_FUNC, 0, 0, 0, 0, NULL, crew_fn, "function" },
	{ "flag", CONF_BOOL, offsetof(struct cfg, flag), 0, 0, 1, "no", NULL, "bool" },
	{ "name", CONF_STR, offsetof(struct cfg, name), sizeof(((struct cfg *)0)->name), 0, 0,
	  "x", NULL, "string" },
	{ "port", CONF_INT, offsetof(struct cfg, port), 0, 1, 65535, "1883", NULL, "int" },
	{ "ratio", CONF_DOUBLE, offsetof(struct cfg, ratio), 0, -1, 1, "0.5", NULL, "double" },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char path[64];

static void
guard(const struct cfg *c)
{
	static const char zero[8];

	if (memcmp(c->guard, zero, sizeof(zero)) != 0 || memchr(c->name, '\0', sizeof(c->name)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	char err[256], line[CONF_LINE_MAX + 16];
	FILE *f;
	size_t i, start;

	if (size > 64 * 1024)
		return 0;
	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz_conf.%d", (int)getpid());
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	memset(&c, 0, sizeof(c));
	if (conf_defaults(keys, NKEYS, &c, err, sizeof(err)) == -1)
		abort();
	if (conf_load(path, keys, NKEYS, &c, err, sizeof(err)) == -1 &&
	    strncmp(err, path, strlen(path)) != 0)
		abort();	/* an error that does not name the file */
	guard(&c);
	for (start = 0, i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i - start < sizeof(line)) {
			memcpy(line, data + start, i - start);
			line[i - start] = '\0';
			if (conf_line(line, keys, NKEYS, &c, err, sizeof(err)) == -1 && err[0] == '\0')
				abort();
			guard(&c);
		}
		start = i + 1;
	}
	return 0;
}
