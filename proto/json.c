/*
 * json.c: strict JSON reading shared by the protocol decoders and the gateway's
 * HTTP API (the pj_* functions of proto.h).
 *
 * cJSON builds the tree, but cJSON alone is lenient: it accepts raw control
 * characters inside strings, numbers such as "01" or "1.", duplicate keys and
 * trailing garbage, and it silently truncates a string at an escaped NUL. So
 * pj_parse first scans the bytes itself (strings, numbers, nesting depth) on a
 * private copy, rewrites each "\u0000" escape to "\u0001" (same length) so the
 * NUL survives as a control character that pj_str reports with the field's
 * name, then lets cJSON parse the copy and checks the tree for duplicate keys.
 *
 * The field readers check one member each and describe a failure in struct
 * proto_error as "<path>.<key>: <what is wrong>". This file does no I/O, keeps
 * no state and does not log; cJSON allocates through its global hooks.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "proto.h"

/* Build "<path>.<key>" (or just one of them) into out; truncates silently. */
static void
pj_path(char *out, size_t cap, const char *path, const char *key)
{
	int	 have_path = path != NULL && path[0] != '\0';
	int	 have_key = key != NULL && key[0] != '\0';

	if (have_path && have_key)
		snprintf(out, cap, "%s.%s", path, key);
	else if (have_path)
		snprintf(out, cap, "%s", path);
	else if (have_key)
		snprintf(out, cap, "%s", key);
	else
		out[0] = '\0';
}

/*
 * Fill err (when not NULL) with code, the field path built from path and key,
 * and a message "<field>: <fmt...>". With neither path nor key the message
 * starts with "payload: ", since the whole payload is at fault.
 */
void
pj_seterr(struct proto_error *err, enum proto_err code, const char *path,
    const char *key, const char *fmt, ...)
{
	va_list	 ap;
	int	 off;

	if (err == NULL)
		return;
	err->code = code;
	pj_path(err->field, sizeof(err->field), path, key);
	/* field is shorter than msg, so the prefix always fits */
	off = snprintf(err->msg, sizeof(err->msg), "%s: ",
	    err->field[0] != '\0' ? err->field : "payload");
	if (off < 0 || (size_t)off >= sizeof(err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg + off, sizeof(err->msg) - (size_t)off, fmt, ap);
	va_end(ap);
}

/* ---- the byte scan before cJSON ---- */

static int
pj_isdigit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
pj_ishex(unsigned char c)
{
	return pj_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * Check one number at s[*i] against RFC 8259's grammar
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and that no number character
 * follows it. Advances *i past it. Returns 0 or -1.
 */
static int
pj_scan_number(const unsigned char *s, size_t len, size_t *i)
{
	size_t	 p = *i;

	if (p < len && s[p] == '-')
		p++;
	if (p >= len || !pj_isdigit(s[p]))
		return -1;
	if (s[p] == '0')
		p++;
	else
		while (p < len && pj_isdigit(s[p]))
			p++;
	if (p < len && s[p] == '.') {
		p++;
		if (p >= len || !pj_isdigit(s[p]))
			return -1;
		while (p < len && pj_isdigit(s[p]))
			p++;
	}
	if (p < len && (s[p] == 'e' || s[p] == 'E')) {
		p++;
		if (p < len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= len || !pj_isdigit(s[p]))
			return -1;
		while (p < len && pj_isdigit(s[p]))
			p++;
	}
	if (p < len && (pj_isdigit(s[p]) || s[p] == '.' || s[p] == 'e' ||
	    s[p] == 'E' || s[p] == '+' || s[p] == '-'))
		return -1;
	*i = p;
	return 0;
}

/* ---- exact reading of plain decimals (the position fast path, codec.c) ---- */

/* The correctly rounded double of m / 10^k (m != 0), as strtod gives it;
 * 0 when not sure (then the caller declines). */
static int
dec_ratio(uint64_t m, int k, double *out)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

	if (m <= (uint64_t)PJ_INT_LIMIT && k <= 22) {
		/* both exact doubles: one IEEE division rounds correctly (Clinger) */
		*out = (double)m / p10[k];
		return 1;
	}
#ifdef __SIZEOF_INT128__
	if (k >= 1) {
		/*
		 * m has more digits than a double holds (a GPS position divided
		 * by 60 prints 17): exact integer division instead. q = floor(m *
		 * 2^s / 10^k) with s chosen so q has 54 or 55 bits, brought to 54
		 * (53 bits of mantissa and the rounding bit) keeping what falls
		 * off as "sticky", then rounded to nearest, ties to even. 10^22 <
		 * 2^74, so m << s has at most 54 + 74 = 128 bits.
		 */
		__extension__ typedef unsigned __int128 u128;
		u128 d = 1, n;
		uint64_t q, r;
		int s, bm = 64 - __builtin_clzll(m), bd = 0;

		for (int i = 0; i < k; i++)
			d *= 10;
		for (n = d; n != 0; n >>= 1)
			bd++;
		if ((s = 54 - bm + bd) < 0)
			return 0;
		n = (u128)m << s;
		q = (uint64_t)(n / d);
		r = n % d != 0;
		if (q >= (1ULL << 54)) {
			r |= q & 1;
			q >>= 1;
			s--;
		}
		/* q in [2^53, 2^54): mantissa q >> 1, rounding bit q & 1 */
		if ((q & 1) && (r != 0 || (q & 2)))
			q += 2;
		*out = ldexp((double)(q >> 1), 1 - s);
		return 1;
	}
#endif
	return 0;
}

/* pj_read_dec (proto.h): -?(0|[1-9][0-9]*)(.[0-9]+)? with at most 19
 * significant digits and 22 decimals, not followed by an exponent or a digit. */
size_t
pj_read_dec(const char *s, size_t len, double *out)
{
	const char	*p = s, *end = s + len;
	uint64_t	 m = 0;
	int		 neg = 0, nd = 0, k = 0;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || !pj_isdigit((unsigned char)*p))
		return 0;
	if (*p == '0')
		p++;
	else
		for (; p < end && pj_isdigit((unsigned char)*p); p++) {
			if (++nd > 19)
				return 0;
			m = m * 10 + (uint64_t)(*p - '0');
		}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !pj_isdigit((unsigned char)*p))
			return 0;
		for (; p < end && pj_isdigit((unsigned char)*p); p++) {
			if (++k > 22 || (m != 0 || *p != '0' ? ++nd : 0) > 19)
				return 0;
			m = m * 10 + (uint64_t)(*p - '0');
		}
	}
	if (p < end && (*p == 'e' || *p == 'E' || pj_isdigit((unsigned char)*p)))
		return 0;
	if (m == 0)
		*out = 0.0;
	else if (!dec_ratio(m, k, out))
		return 0;
	if (neg)
		*out = -*out;
	return (size_t)(p - s);
}

/*
 * Scan the private copy s (len bytes): strings without raw control bytes,
 * well-formed numbers, depth at most PJ_DEPTH_MAX. Rewrites "\u0000" escapes to
 * "\u0001". The rest of the grammar is left to cJSON.
 */
static enum proto_err
pj_scan(unsigned char *s, size_t len, struct proto_error *err)
{
	size_t	 i = 0;
	int	 depth = 0;

	while (i < len) {
		unsigned char c = s[i];

		if (c == '"') {
			size_t start = i;

			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] < 0x20) {
					pj_seterr(err, PROTO_E_JSON, "", "", "raw control "
					    "character 0x%02x inside a string at byte %zu",
					    s[i], i);
					return PROTO_E_JSON;
				}
				if (s[i] != '\\')
					continue;
				if (i + 1 >= len)
					break;
				if (s[i + 1] != 'u') {
					i++;
					continue;
				}
				if (i + 5 >= len || !pj_ishex(s[i + 2]) || !pj_ishex(s[i + 3]) ||
				    !pj_ishex(s[i + 4]) || !pj_ishex(s[i + 5])) {
					pj_seterr(err, PROTO_E_JSON, "", "",
					    "bad \\u escape at byte %zu", i);
					return PROTO_E_JSON;
				}
				if (memcmp(s + i + 2, "0000", 4) == 0)
					s[i + 5] = '1';
				i += 5;
			}
			if (i >= len) {
				pj_seterr(err, PROTO_E_JSON, "", "",
				    "unterminated string starting at byte %zu", start);
				return PROTO_E_JSON;
			}
			i++;
		} else if (c == '{' || c == '[') {
			if (++depth > PJ_DEPTH_MAX) {
				pj_seterr(err, PROTO_E_JSON, "", "",
				    "nested deeper than %d levels at byte %zu", PJ_DEPTH_MAX, i);
				return PROTO_E_JSON;
			}
			i++;
		} else if (c == '}' || c == ']') {
			if (depth > 0)
				depth--;
			i++;
		} else if (c == '-' || pj_isdigit(c)) {
			size_t start = i;

			if (pj_scan_number(s, len, &i) == -1) {
				pj_seterr(err, PROTO_E_JSON, "", "",
				    "malformed number at byte %zu", start);
				return PROTO_E_JSON;
			}
		} else if (c == '\0') {
			pj_seterr(err, PROTO_E_JSON, "", "", "NUL byte at byte %zu", i);
			return PROTO_E_JSON;
		} else {
			i++;
		}
	}
	return PROTO_OK;
}

/* PROTO_E_JSON naming the first object member whose key repeats, recursively. */
static enum proto_err
pj_dupkeys(const cJSON *node, const char *path, struct proto_error *err)
{
	const cJSON	*a, *b;
	char		 sub[sizeof(err->field)];
	int		 idx = 0;

	for (a = node->child; a != NULL; a = a->next, idx++) {
		if (cJSON_IsObject(node)) {
			for (b = a->next; b != NULL; b = b->next)
				if (a->string != NULL && b->string != NULL &&
				    strcmp(a->string, b->string) == 0) {
					pj_seterr(err, PROTO_E_JSON, path, a->string,
					    "key appears more than once");
					return PROTO_E_JSON;
				}
		}
		if (!cJSON_IsObject(a) && !cJSON_IsArray(a))
			continue;
		/* the path only for members we descend into: building it for
		 * every scalar cost more than the parse (issue 9's profile) */
		if (cJSON_IsObject(node))
			pj_path(sub, sizeof(sub), path, a->string);
		else
			snprintf(sub, sizeof(sub), "%s[%d]", path, idx);
		if (pj_dupkeys(a, sub, err) != PROTO_OK)
			return PROTO_E_JSON;
	}
	return PROTO_OK;
}

/*
 * Strict parse of len bytes into a tree the caller frees with cJSON_Delete;
 * see proto.h for every refusal. Works on a private copy (malloc'd, freed here),
 * so buf need not be NUL-terminated and is never written.
 */
enum proto_err
pj_parse(const void *buf, size_t len, size_t max, struct cJSON **out,
    struct proto_error *err)
{
	unsigned char	*copy;
	const char	*end = NULL;
	cJSON		*root;
	enum proto_err	 rc;

	*out = NULL;
	if (len == 0 || buf == NULL) {
		pj_seterr(err, PROTO_E_SIZE, "", "", "empty");
		return PROTO_E_SIZE;
	}
	if (len > max) {
		pj_seterr(err, PROTO_E_SIZE, "", "", "%zu bytes is over the limit of %zu",
		    len, max);
		return PROTO_E_SIZE;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		pj_seterr(err, PROTO_E_NOMEM, "", "", "out of memory");
		return PROTO_E_NOMEM;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	if ((rc = pj_scan(copy, len, err)) != PROTO_OK) {
		free(copy);
		return rc;
	}
	root = cJSON_ParseWithLengthOpts((const char *)copy, len, &end, 0);
	if (root == NULL) {
		/* cJSON reports the failure position through its own global;
		 * we do not read it, so as not to depend on shared state. */
		pj_seterr(err, PROTO_E_JSON, "", "", "not valid JSON");
		free(copy);
		return PROTO_E_JSON;
	}
	while (end != NULL && end < (const char *)copy + len &&
	    (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end == NULL || end != (const char *)copy + len) {
		pj_seterr(err, PROTO_E_JSON, "", "", "trailing data after the JSON value"
		    " at byte %td", end != NULL ? end - (const char *)copy : (ptrdiff_t)0);
		rc = PROTO_E_JSON;
	} else if (!cJSON_IsObject(root)) {
		pj_seterr(err, PROTO_E_JSON, "", "", "must be a JSON object");
		rc = PROTO_E_JSON;
	} else {
		rc = pj_dupkeys(root, "", err);
	}
	free(copy);
	if (rc != PROTO_OK) {
		cJSON_Delete(root);
		return rc;
	}
	*out = root;
	return PROTO_OK;
}

/* ---- field readers ---- */

/*
 * The member key of obj, or NULL when absent or JSON null. Fills err with
 * PROTO_E_MISSING when required and not there; *rc says whether to go on.
 */
static const cJSON *
pj_get(const struct cJSON *obj, const char *path, const char *key, int required,
    enum proto_err *rc, struct proto_error *err)
{
	const cJSON	*it = NULL;

	*rc = PROTO_OK;
	if (cJSON_IsObject(obj))
		it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (it == NULL || cJSON_IsNull(it)) {
		if (required) {
			pj_seterr(err, PROTO_E_MISSING, path, key, "is required");
			*rc = PROTO_E_MISSING;
		}
		return NULL;
	}
	return it;
}

/*
 * Offset of the first invalid UTF-8 sequence in s, or -1 when s is
 * well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
 */
static long
pj_utf8_bad(const unsigned char *s)
{
	const unsigned char	*p = s;

	while (*p != '\0') {
		unsigned char	 c = p[0];
		int		 n, k;
		unsigned long	 cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			return p - s;
		for (k = 1; k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return p - s;
			cp = (cp << 6) | (p[k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return p - s;
		p += n + 1;
	}
	return -1;
}

/* Copy the string value it into out (cap bytes) after the checks of proto.h;
 * out is untouched on failure. */
enum proto_err
pj_strval(const struct cJSON *it, const char *path, char *out, size_t cap,
    struct proto_error *err)
{
	size_t	 n, i;
	long	 bad;

	if (it == NULL || cJSON_IsNull(it)) {
		pj_seterr(err, PROTO_E_MISSING, path, NULL, "is required");
		return PROTO_E_MISSING;
	}
	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		pj_seterr(err, PROTO_E_WRONGTYPE, path, NULL, "must be a string");
		return PROTO_E_WRONGTYPE;
	}
	n = strlen(it->valuestring);
	if (cap == 0 || n >= cap) {
		pj_seterr(err, PROTO_E_RANGE, path, NULL,
		    "must be at most %zu bytes (is %zu)", cap > 0 ? cap - 1 : 0, n);
		return PROTO_E_RANGE;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)it->valuestring[i];

		if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
			pj_seterr(err, PROTO_E_RANGE, path, NULL, "must not contain NUL or "
			    "control characters (found 0x%02x at byte %zu)", c, i);
			return PROTO_E_RANGE;
		}
	}
	if ((bad = pj_utf8_bad((const unsigned char *)it->valuestring)) >= 0) {
		pj_seterr(err, PROTO_E_RANGE, path, NULL,
		    "must be valid UTF-8 (bad byte at %ld)", bad);
		return PROTO_E_RANGE;
	}
	memcpy(out, it->valuestring, n + 1);
	return PROTO_OK;
}

/* pj_strval on the member key of obj; absent/null handled as proto.h says. */
enum proto_err
pj_str(const struct cJSON *obj, const char *path, const char *key, int required,
    char *out, size_t cap, struct proto_error *err)
{
	const cJSON	*it;
	enum proto_err	 rc;
	char		 full[sizeof(err->field)];

	if ((it = pj_get(obj, path, key, required, &rc, err)) == NULL)
		return rc;
	pj_path(full, sizeof(full), path, key);
	return pj_strval(it, full, out, cap, err);
}

/* An integral member in [min, max] and within +-2^53 into *out; *out is
 * untouched unless PROTO_OK with a value. */
enum proto_err
pj_int(const struct cJSON *obj, const char *path, const char *key, int required,
    int64_t min, int64_t max, int64_t *out, struct proto_error *err)
{
	const cJSON	*it;
	enum proto_err	 rc;
	double		 d;
	int64_t		 v;

	if ((it = pj_get(obj, path, key, required, &rc, err)) == NULL)
		return rc;
	if (!cJSON_IsNumber(it)) {
		pj_seterr(err, PROTO_E_WRONGTYPE, path, key, "must be an integer");
		return PROTO_E_WRONGTYPE;
	}
	d = it->valuedouble;
	if (!isfinite(d) || d < -(double)PJ_INT_LIMIT || d > (double)PJ_INT_LIMIT) {
		pj_seterr(err, PROTO_E_RANGE, path, key,
		    "must be an integer in [%lld, %lld]", (long long)min, (long long)max);
		return PROTO_E_RANGE;
	}
	if (d != floor(d)) {
		pj_seterr(err, PROTO_E_WRONGTYPE, path, key,
		    "must be an integer, not a fraction");
		return PROTO_E_WRONGTYPE;
	}
	v = (int64_t)d;
	if (v < min || v > max) {
		pj_seterr(err, PROTO_E_RANGE, path, key,
		    "must be an integer in [%lld, %lld]", (long long)min, (long long)max);
		return PROTO_E_RANGE;
	}
	*out = v;
	return PROTO_OK;
}

/* A finite number member in [min, max] into *out. */
enum proto_err
pj_num(const struct cJSON *obj, const char *path, const char *key, int required,
    double min, double max, double *out, struct proto_error *err)
{
	const cJSON	*it;
	enum proto_err	 rc;
	double		 d;

	if ((it = pj_get(obj, path, key, required, &rc, err)) == NULL)
		return rc;
	if (!cJSON_IsNumber(it)) {
		pj_seterr(err, PROTO_E_WRONGTYPE, path, key, "must be a number");
		return PROTO_E_WRONGTYPE;
	}
	d = it->valuedouble;
	if (!isfinite(d) || d < min || d > max) {
		pj_seterr(err, PROTO_E_RANGE, path, key,
		    "must be a number in [%.10g, %.10g]", min, max);
		return PROTO_E_RANGE;
	}
	*out = d;
	return PROTO_OK;
}

/* A true/false member into *out as 1/0. */
enum proto_err
pj_bool(const struct cJSON *obj, const char *path, const char *key, int required,
    int *out, struct proto_error *err)
{
	const cJSON	*it;
	enum proto_err	 rc;

	if ((it = pj_get(obj, path, key, required, &rc, err)) == NULL)
		return rc;
	if (!cJSON_IsBool(it)) {
		pj_seterr(err, PROTO_E_WRONGTYPE, path, key, "must be true or false");
		return PROTO_E_WRONGTYPE;
	}
	*out = cJSON_IsTrue(it) ? 1 : 0;
	return PROTO_OK;
}

/* The object member key into *out (borrowed from obj's tree, not owned). */
enum proto_err
pj_obj(const struct cJSON *obj, const char *path, const char *key, int required,
    const struct cJSON **out, struct proto_error *err)
{
	const cJSON	*it;
	enum proto_err	 rc;

	*out = NULL;
	if ((it = pj_get(obj, path, key, required, &rc, err)) == NULL)
		return rc;
	if (!cJSON_IsObject(it)) {
		pj_seterr(err, PROTO_E_WRONGTYPE, path, key, "must be an object");
		return PROTO_E_WRONGTYPE;
	}
	*out = it;
	return PROTO_OK;
}
