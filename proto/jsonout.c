/*
 * jsonout.c: compact JSON text of a cJSON tree (pj_print) and the one way
 * numbers are written (pj_fmt_num), shared by both daemons.
 *
 * cJSON_PrintUnformatted writes every number that does not fit an int (an
 * epoch-ms time always) with "%1.15g", reads it back with sscanf and, when
 * that is not close enough, writes it again with "%1.17g": some 8,000
 * instructions per time, and an order's answer carries dozens of them. In the
 * storm benchmark (issue 9) printing answers cost more than the SQL of the
 * dispatch they answer. Here an integral value within +-2^53 (where doubles
 * are exact) is written as an integer directly, and any other finite value
 * with the fewest of 15, 16 or 17 significant digits that read back to exactly
 * the same double, so the text is both short and lossless. NaN and the
 * infinities, which JSON cannot carry, are written as null, as cJSON does.
 *
 * Strings are escaped as cJSON escapes them (quote, backslash, the short
 * escapes, \u00XX for other control characters; UTF-8 passes through), and
 * raw items are copied as they are. No I/O, no state; the text is allocated
 * with cJSON_malloc so callers free it with cJSON_free like cJSON's own.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "proto.h"

#define PJ_EXACT_INT	9007199254740992.0	/* 2^53 */

/* Writes v (finite) into buf (>= PJ_NUM_MAX bytes); returns the length. */
size_t
pj_fmt_num(char *buf, double v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u;
	int prec, n, neg;

	if (v == trunc(v) && fabs(v) < PJ_EXACT_INT) {
		neg = v < 0;
		u = (uint64_t)(neg ? -v : v);
		do {
			*--p = (char)('0' + u % 10);
			u /= 10;
		} while (u != 0);
		if (neg)
			*--p = '-';
		n = (int)(tmp + sizeof(tmp) - p);
		memcpy(buf, p, (size_t)n);
		buf[n] = '\0';
		return (size_t)n;
	}
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, PJ_NUM_MAX, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* a process that set LC_NUMERIC may print a decimal comma: JSON wants '.' */
	for (p = buf; *p != '\0'; p++)
		if (*p == ',')
			*p = '.';
	return n < 0 ? 0 : (size_t)n;
}

struct out {
	char	*buf;
	size_t	 len, cap;
	int	 oom;
};

static char *
room(struct out *o, size_t n)
{
	char *nb;
	size_t cap;

	if (o->oom)
		return NULL;
	if (o->len + n + 1 > o->cap) {
		for (cap = o->cap ? o->cap : 256; cap < o->len + n + 1; cap *= 2)
			;
		if ((nb = cJSON_malloc(cap)) == NULL) {
			o->oom = 1;
			return NULL;
		}
		if (o->len)
			memcpy(nb, o->buf, o->len);
		cJSON_free(o->buf);
		o->buf = nb;
		o->cap = cap;
	}
	return o->buf + o->len;
}

static void
put_c(struct out *o, char c)
{
	if (o->len + 2 <= o->cap)
		o->buf[o->len++] = c;
	else {
		char *p = room(o, 1);

		if (p != NULL) {
			*p = c;
			o->len++;
		}
	}
}

static void
put(struct out *o, const char *s, size_t n)
{
	char *p = room(o, n);

	if (p != NULL) {
		memcpy(p, s, n);
		o->len += n;
	}
}

/* One pass: room for the worst case (every byte a \u00XX escape) first. */
static void
put_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)(s != NULL ? s : "");
	char *p;

	if ((p = room(o, 6 * strlen((const char *)u) + 2)) == NULL)
		return;
	*p++ = '"';
	for (; *u != '\0'; u++) {
		if (*u >= 0x20 && *u != '"' && *u != '\\') {
			*p++ = (char)*u;
			continue;
		}
		*p++ = '\\';
		switch (*u) {
		case '"': case '\\':
			*p++ = (char)*u;
			break;
		case '\b':
			*p++ = 'b';
			break;
		case '\f':
			*p++ = 'f';
			break;
		case '\n':
			*p++ = 'n';
			break;
		case '\r':
			*p++ = 'r';
			break;
		case '\t':
			*p++ = 't';
			break;
		default:
			*p++ = 'u';
			*p++ = '0';
			*p++ = '0';
			*p++ = hex[*u >> 4];
			*p++ = hex[*u & 15];
			break;
		}
	}
	*p++ = '"';
	o->len = (size_t)(p - o->buf);
}

static void
put_item(struct out *o, const cJSON *it, int depth)
{
	char num[PJ_NUM_MAX];
	const cJSON *c;

	if (depth > PJ_PRINT_DEPTH_MAX) {	/* only a tree built in a loop gets here */
		o->oom = 1;
		return;
	}
	switch (it->type & 0xff) {
	case cJSON_False:
		put(o, "false", 5);
		break;
	case cJSON_True:
		put(o, "true", 4);
		break;
	case cJSON_NULL:
		put(o, "null", 4);
		break;
	case cJSON_Number:
		if (!isfinite(it->valuedouble))
			put(o, "null", 4);
		else
			put(o, num, pj_fmt_num(num, it->valuedouble));
		break;
	case cJSON_Raw:
		if (it->valuestring == NULL)
			o->oom = 1;
		else
			put(o, it->valuestring, strlen(it->valuestring));
		break;
	case cJSON_String:
		put_str(o, it->valuestring);
		break;
	case cJSON_Array:
	case cJSON_Object:
		put_c(o, (it->type & 0xff) == cJSON_Array ? '[' : '{');
		for (c = it->child; c != NULL; c = c->next) {
			if (c != it->child)
				put_c(o, ',');
			if ((it->type & 0xff) == cJSON_Object) {
				put_str(o, c->string);
				put_c(o, ':');
			}
			put_item(o, c, depth + 1);
		}
		put_c(o, (it->type & 0xff) == cJSON_Array ? ']' : '}');
		break;
	default:	/* cJSON_Invalid */
		o->oom = 1;
		break;
	}
}

char *
pj_print(const cJSON *item)
{
	struct out o = { NULL, 0, 0, 0 };

	if (item == NULL)
		return NULL;
	put_item(&o, item, 0);
	if (room(&o, 0) == NULL) {
		cJSON_free(o.buf);
		return NULL;
	}
	o.buf[o.len] = '\0';
	return o.buf;
}
