/*
 * conf.c: "keyword arg ..." config files, checked against a sorted key table.
 *
 * Owns nothing beyond the call: lines are read into a stack buffer, split in
 * place (double quotes group words; backslash escapes a quote inside them),
 * and stored into the caller's struct at each key's offset.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static void
seterr(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

static int
keycmp(const void *k, const void *e)
{
	return strcmp((const char *)k, ((const struct conf_key *)e)->name);
}

/* Split line in place into argv. Returns argc, or -1 on an unterminated quote. */
static int
split(char *s, char **argv, int max)
{
	int argc = 0;

	for (;;) {
		char *w;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			return argc;
		if (argc == max)
			return -2;
		if (*s == '"') {
			char *d;

			w = d = ++s;
			while (*s != '"') {
				if (*s == '\0')
					return -1;
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				*d++ = *s++;
			}
			s++;
			*d = '\0';
			if (*s != '\0' && *s != ' ' && *s != '\t')
				return -1;
		} else {
			w = s;
			while (*s != '\0' && *s != ' ' && *s != '\t')
				s++;
		}
		argv[argc++] = w;
		if (*s != '\0')
			*s++ = '\0';
	}
}

static int
set_value(const struct conf_key *k, void *dst, int argc, char **argv, char *err, size_t cap)
{
	char *base = dst, *end;
	const char *v;
	double d;
	long long ll;

	if (k->type == CONF_FUNC)
		return k->fn(dst, argc, argv, err, cap);
	if (argc != 1) {
		seterr(err, cap, "%s: expects exactly one value, got %d", k->name, argc);
		return -1;
	}
	v = argv[0];
	switch (k->type) {
	case CONF_STR:
		if (strlen(v) >= k->size) {
			seterr(err, cap, "%s: value longer than %zu bytes", k->name, k->size - 1);
			return -1;
		}
		memcpy(base + k->off, v, strlen(v) + 1);
		return 0;
	case CONF_INT:
	case CONF_INT64:
		errno = 0;
		ll = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0') {
			seterr(err, cap, "%s: \"%s\" is not an integer", k->name, v);
			return -1;
		}
		if ((double)ll < k->min || (double)ll > k->max) {
			seterr(err, cap, "%s: %lld is out of range [%.0f, %.0f]", k->name, ll,
			    k->min, k->max);
			return -1;
		}
		if (k->type == CONF_INT)
			*(int *)(void *)(base + k->off) = (int)ll;
		else
			*(int64_t *)(void *)(base + k->off) = (int64_t)ll;
		return 0;
	case CONF_DOUBLE:
		errno = 0;
		d = strtod(v, &end);
		if (errno != 0 || end == v || *end != '\0' || !isfinite(d)) {
			seterr(err, cap, "%s: \"%s\" is not a number", k->name, v);
			return -1;
		}
		if (d < k->min || d > k->max) {
			seterr(err, cap, "%s: %g is out of range [%g, %g]", k->name, d,
			    k->min, k->max);
			return -1;
		}
		*(double *)(void *)(base + k->off) = d;
		return 0;
	case CONF_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") ||
		    !strcmp(v, "1"))
			*(int *)(void *)(base + k->off) = 1;
		else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") ||
		    !strcmp(v, "0"))
			*(int *)(void *)(base + k->off) = 0;
		else {
			seterr(err, cap, "%s: \"%s\" is not yes/no", k->name, v);
			return -1;
		}
		return 0;
	case CONF_FUNC:
		break;
	}
	seterr(err, cap, "%s: bad key type", k->name);
	return -1;
}

int
conf_defaults(const struct conf_key *keys, size_t nkeys, void *dst, char *err, size_t errcap)
{
	size_t i;

	for (i = 0; i < nkeys; i++) {
		char buf[CONF_LINE_MAX];
		char *argv[1];

		if (i > 0 && strcmp(keys[i - 1].name, keys[i].name) >= 0) {
			seterr(err, errcap, "config table not sorted at \"%s\"", keys[i].name);
			return -1;
		}
		if (keys[i].def == NULL || keys[i].type == CONF_FUNC)
			continue;
		snprintf(buf, sizeof(buf), "%s", keys[i].def);
		argv[0] = buf;
		if (set_value(&keys[i], dst, 1, argv, err, errcap) == -1)
			return -1;
	}
	return 0;
}

int
conf_line(const char *line, const struct conf_key *keys, size_t nkeys, void *dst,
    char *err, size_t errcap)
{
	char buf[CONF_LINE_MAX];
	char *argv[CONF_MAX_ARGS + 1];
	const struct conf_key *k;
	size_t len = strlen(line);
	int argc;

	if (len >= sizeof(buf)) {
		seterr(err, errcap, "line longer than %d bytes", CONF_LINE_MAX - 1);
		return -1;
	}
	memcpy(buf, line, len + 1);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	argc = split(buf, argv, CONF_MAX_ARGS + 1);
	if (argc == -1) {
		seterr(err, errcap, "unterminated or misplaced quote");
		return -1;
	}
	if (argc == -2) {
		seterr(err, errcap, "more than %d arguments", CONF_MAX_ARGS);
		return -1;
	}
	if (argc == 0)
		return 0;
	k = bsearch(argv[0], keys, nkeys, sizeof(*keys), keycmp);
	if (k == NULL) {
		seterr(err, errcap, "%s: unknown keyword", argv[0]);
		return -1;
	}
	return set_value(k, dst, argc - 1, argv + 1, err, errcap);
}

/* Read one line (with its '\n') into line, at most cap - 1 bytes, NUL-terminated.
 * Returns the bytes read, 0 at end of file; *nul = 1 when the line held a NUL
 * byte (fgets cannot tell: strlen would stop there and hide the rest). */
static size_t
read_line(FILE *f, char *line, size_t cap, int *nul)
{
	size_t n = 0;
	int c;

	while (n < cap - 1 && (c = getc(f)) != EOF) {
		if (c == '\0')
			*nul = 1;
		line[n++] = (char)c;
		if (c == '\n')
			break;
	}
	line[n] = '\0';
	return n;
}

int
conf_load(const char *path, const struct conf_key *keys, size_t nkeys, void *dst,
    char *err, size_t errcap)
{
	char line[CONF_LINE_MAX + 1], msg[512];
	FILE *f;
	int lineno = 0;

	if ((f = fopen(path, "r")) == NULL) {
		seterr(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		int nul = 0;
		size_t len = read_line(f, line, sizeof(line), &nul);

		if (len == 0)
			break;
		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			seterr(err, errcap, "%s:%d: line longer than %d bytes", path, lineno,
			    CONF_LINE_MAX - 1);
			fclose(f);
			return -1;
		}
		if (nul) {
			seterr(err, errcap, "%s:%d: NUL byte in line", path, lineno);
			fclose(f);
			return -1;
		}
		if (conf_line(line, keys, nkeys, dst, msg, sizeof(msg)) == -1) {
			seterr(err, errcap, "%s:%d: %s", path, lineno, msg);
			fclose(f);
			return -1;
		}
	}
	if (ferror(f)) {
		seterr(err, errcap, "%s: read error", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

void
conf_usage(const struct conf_key *keys, size_t nkeys)
{
	size_t i;

	printf("%-24s %-22s %-18s %s\n", "key", "default", "range", "meaning");
	for (i = 0; i < nkeys; i++) {
		char range[40] = "";

		if (keys[i].type == CONF_INT || keys[i].type == CONF_INT64 ||
		    keys[i].type == CONF_DOUBLE)
			snprintf(range, sizeof(range), "%g..%g", keys[i].min, keys[i].max);
		else if (keys[i].type == CONF_BOOL)
			snprintf(range, sizeof(range), "yes/no");
		printf("%-24s %-22s %-18s %s\n", keys[i].name,
		    keys[i].def ? keys[i].def : "-", range, keys[i].help ? keys[i].help : "");
	}
}
