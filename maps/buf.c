/*
 * buf.c: the growable text buffer with a hard cap that the zone builder and
 * the SVG writer append to.
 *
 * Does: printf-style and raw appends, XML and JSON string escaping; grows by
 * doubling up to the caller's cap, or writes into a caller array that never
 * grows. The first append that would pass the cap marks the buffer full and
 * appends nothing more, so a writer can emit everything and check once.
 * Does not: any I/O; shrink; allow a cut-off text to look complete (callers
 * must check maps_buf_full-ness through the return values or ->full).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps.h"

#define BUF_FIRST_B	4096

/* A malloc'd buffer that may grow to max bytes (text plus its NUL). Allocates lazily. */
void
maps_buf_init(struct maps_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	b->owned = 1;
}

/* A caller array of cap bytes (cap >= 1); the buffer never frees or grows it. */
void
maps_buf_fixed(struct maps_buf *b, char *mem, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->p = mem;
	b->cap = cap;
	b->max = cap;
	if (cap > 0)
		mem[0] = '\0';
	else
		b->full = 1;
}

/* Free an owned buffer's memory; the struct may be reused after maps_buf_init. */
void
maps_buf_free(struct maps_buf *b)
{
	if (b->owned)
		free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Room for need more bytes plus the NUL; 0, or -1 (and full) past the cap. */
static int
buf_room(struct maps_buf *b, size_t need)
{
	size_t ncap;
	char *np;

	if (b->full)
		return -1;
	if (need >= b->max - b->len || b->len >= b->max) {
		b->full = 1;
		return -1;
	}
	if (b->len + need + 1 <= b->cap)
		return 0;
	if (!b->owned) {
		b->full = 1;
		return -1;
	}
	ncap = b->cap ? b->cap : BUF_FIRST_B;
	while (ncap < b->len + need + 1)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if (ncap > b->max)
		ncap = b->max;
	if ((np = realloc(b->p, ncap)) == NULL) {
		b->full = 1;
		return -1;
	}
	b->p = np;
	b->cap = ncap;
	return 0;
}

/* Append n bytes of s. 0, or -1 when the cap (or memory) is reached. */
int
maps_buf_put(struct maps_buf *b, const char *s, size_t n)
{
	if (buf_room(b, n) == -1)
		return -1;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Append a formatted string. 0, or -1 when the cap (or memory) is reached. */
int
maps_buf_printf(struct maps_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->full = 1;
		return -1;
	}
	if ((size_t)n < sizeof(small))
		return maps_buf_put(b, small, (size_t)n);
	if (buf_room(b, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* Append s with the five XML special characters as entities. */
int
maps_buf_xml(struct maps_buf *b, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *ent = NULL;

		switch (*s) {
		case '&':	ent = "&amp;"; break;
		case '<':	ent = "&lt;"; break;
		case '>':	ent = "&gt;"; break;
		case '"':	ent = "&quot;"; break;
		case '\'':	ent = "&#39;"; break;
		default:
			/* XML 1.0 forbids most control characters even as entities. */
			if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
				ent = "?";
			break;
		}
		if (ent == NULL)
			continue;
		if (maps_buf_put(b, run, (size_t)(s - run)) == -1 ||
		    maps_buf_put(b, ent, strlen(ent)) == -1)
			return -1;
		run = s + 1;
	}
	return maps_buf_put(b, run, (size_t)(s - run));
}

/* Append s as a quoted JSON string; bytes >= 0x80 pass through (UTF-8). */
int
maps_buf_json(struct maps_buf *b, const char *s)
{
	const char *run = s;

	if (maps_buf_put(b, "\"", 1) == -1)
		return -1;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		if (maps_buf_put(b, run, (size_t)(s - run)) == -1 ||
		    maps_buf_put(b, esc, strlen(esc)) == -1)
			return -1;
		run = s + 1;
	}
	if (maps_buf_put(b, run, (size_t)(s - run)) == -1)
		return -1;
	return maps_buf_put(b, "\"", 1);
}
