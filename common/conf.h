/*
 * conf.h: the config file reader both daemons use (mosquitto.conf style).
 *
 *     # comment
 *     keyword arg [arg ...]
 *
 * Keywords are looked up in a table sorted by name (bsearch). Numbers are
 * range-checked. Arguments may be double-quoted to contain spaces. Errors come
 * back as "file:line: message" in the caller's buffer; nothing is logged here.
 */
#ifndef LC_CONF_H
#define LC_CONF_H

#include <stddef.h>

enum conf_type {
	CONF_STR,	/* char[size] at off */
	CONF_INT,	/* int at off, in [min, max] */
	CONF_INT64,	/* int64_t at off, in [min, max] */
	CONF_DOUBLE,	/* double at off, in [min, max] */
	CONF_BOOL,	/* int at off: yes/no, true/false, on/off, 1/0 */
	CONF_FUNC,	/* fn(dst, argc, argv, err, errcap) for repeated or structured lines */
};

typedef int (*conf_fn)(void *dst, int argc, char **argv, char *err, size_t errcap);

struct conf_key {
	const char     *name;
	enum conf_type	type;
	size_t		off;
	size_t		size;	/* CONF_STR: buffer size */
	double		min, max;
	const char     *def;	/* default as text, applied by conf_defaults(); NULL = none */
	conf_fn		fn;
	const char     *help;	/* one line, for the README table and -h */
};

#define CONF_MAX_ARGS	16
#define CONF_LINE_MAX	4096

/* Apply every key's default to dst. Returns 0, or -1 with err set (a bad table). */
int	conf_defaults(const struct conf_key *keys, size_t nkeys, void *dst,
	    char *err, size_t errcap);
/* Read path into dst. keys must be sorted by name. Returns 0 or -1 with err set
 * to "path:line: message". Unknown keywords are errors. */
int	conf_load(const char *path, const struct conf_key *keys, size_t nkeys,
	    void *dst, char *err, size_t errcap);
/* Apply one "keyword args" line (also used for -o key=value overrides). */
int	conf_line(const char *line, const struct conf_key *keys, size_t nkeys,
	    void *dst, char *err, size_t errcap);
/* Print the table as "key  default  range  meaning" lines (for -h and the README). */
void	conf_usage(const struct conf_key *keys, size_t nkeys);

#endif
