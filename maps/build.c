/*
 * build.c: zone files from administrative boundaries, by the operator's rules.
 *
 * Does: parses a rule file (format in maps.h and README "linecrew-zones"),
 * reads an administrative FeatureCollection (e.g. DataV county polygons, in
 * GCJ-02), classifies each unit as urban / rural / remote by adcode, exact
 * name, name suffix or the default, and writes a WGS-84 zone FeatureCollection
 * that maps_zones_parse reads, converting every vertex.
 * Does not: read or write files (linecrew-zones does), repair geometry (rings
 * are copied vertex by vertex; the loader checks them), or merge units.
 *
 * Why precedence instead of "first line wins": a rule file grows by operators
 * adding exceptions ("152921 is remote") to general rules ("旗 is rural");
 * with a fixed precedence (adcode > name > longest suffix > default) the order
 * of lines never changes the result, and a duplicate is an error, so two
 * operators' edits cannot quietly override each other.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "grow.h"
#include "maps.h"

#define RULES_MAX_LINE_B	4096
#define RULES_MAX_WORDS		10000
#define RULES_MAX_WORD_B	128
#define BUILD_MAX_INPUT_B	(256u * 1024 * 1024)

enum rkind { R_SUFFIX, R_NAME, R_ADCODE };

struct rule {
	enum rkind	 kind;
	enum maps_zone	 zone;
	char		*word;		/* suffix or name; NULL for adcode */
	long		 adcode;
	int		 line;
};

struct maps_rules {
	struct rule	*r;
	size_t		 n, cap;
	int		 has_default;
	enum maps_zone	 def;
	char		 file[256];
};

static enum maps_err rfail(char *, size_t, enum maps_err, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static enum maps_err
rfail(char *err, size_t errcap, enum maps_err e, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errcap > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* Free a rule set; NULL is fine. */
void
maps_rules_free(struct maps_rules *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		free(rs->r[i].word);
	free(rs->r);
	free(rs);
}

/* 1 when w is exactly six ASCII digits. */
static int
is_adcode(const char *w)
{
	size_t i;

	for (i = 0; w[i] != '\0'; i++)
		if (!isdigit((unsigned char)w[i]))
			return 0;
	return i == 6;
}

/* Add one rule word; checks duplicates of the same kind. */
static enum maps_err
rules_add(struct maps_rules *rs, enum rkind kind, enum maps_zone zone, const char *w,
    int line, char *err, size_t errcap)
{
	const char *f = rs->file;
	struct rule nr = { kind, zone, NULL, 0, line };

	if (strlen(w) >= RULES_MAX_WORD_B)
		return rfail(err, errcap, MAPS_E_RULE, "%s:%d: word longer than %d bytes",
		    f, line, RULES_MAX_WORD_B - 1);
	if (kind == R_ADCODE) {
		if (!is_adcode(w))
			return rfail(err, errcap, MAPS_E_RULE,
			    "%s:%d: \"%s\" is not a 6-digit adcode", f, line, w);
		nr.adcode = strtol(w, NULL, 10);
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *o = &rs->r[i];

		if (o->kind != kind)
			continue;
		if (kind == R_ADCODE ? o->adcode == nr.adcode : strcmp(o->word, w) == 0)
			return rfail(err, errcap, MAPS_E_RULE,
			    "%s:%d: \"%s\" is already listed on line %d", f, line, w, o->line);
	}
	if (rs->n >= RULES_MAX_WORDS)
		return rfail(err, errcap, MAPS_E_RULE, "%s:%d: more than %d rule words",
		    f, line, RULES_MAX_WORDS);
	if (grow(&rs->r, &rs->cap, rs->n + 1, sizeof(*rs->r), 32) == -1)
		return rfail(err, errcap, MAPS_E_NOMEM, "%s:%d: out of memory", f, line);
	if (kind != R_ADCODE && (nr.word = strdup(w)) == NULL)
		return rfail(err, errcap, MAPS_E_NOMEM, "%s:%d: out of memory", f, line);
	rs->r[rs->n++] = nr;
	return MAPS_OK;
}

/* Split line (modified in place) into at most cap words at blanks. */
static size_t
split(char *line, char **w, size_t cap)
{
	size_t n = 0;
	char *p = line;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		if (n == cap)
			return cap + 1;
		w[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	return n;
}

static enum maps_err
rules_line(struct maps_rules *rs, char *line, int ln, char *err, size_t errcap)
{
	char *w[256], *hash;
	size_t n, i;
	enum maps_zone zone;
	enum rkind kind;
	enum maps_err e;
	const char *f = rs->file;

	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	n = split(line, w, sizeof(w) / sizeof(w[0]));
	if (n == 0)
		return MAPS_OK;
	if (n > sizeof(w) / sizeof(w[0]))
		return rfail(err, errcap, MAPS_E_RULE, "%s:%d: more than %zu words on a line",
		    f, ln, sizeof(w) / sizeof(w[0]) - 1);
	if (strcmp(w[0], "default") == 0) {
		if (n != 2 || maps_zone_parse(w[1], &zone) == -1)
			return rfail(err, errcap, MAPS_E_RULE,
			    "%s:%d: expected \"default urban|rural|remote\"", f, ln);
		if (rs->has_default)
			return rfail(err, errcap, MAPS_E_RULE, "%s:%d: a second default", f, ln);
		rs->has_default = 1;
		rs->def = zone;
		return MAPS_OK;
	}
	if (maps_zone_parse(w[0], &zone) == -1)
		return rfail(err, errcap, MAPS_E_RULE,
		    "%s:%d: \"%s\": a line starts with urban, rural, remote or default",
		    f, ln, w[0]);
	if (n < 2)
		return rfail(err, errcap, MAPS_E_RULE,
		    "%s:%d: expected \"%s suffix|name|adcode WORD ...\"", f, ln, w[0]);
	if (strcmp(w[1], "suffix") == 0)
		kind = R_SUFFIX;
	else if (strcmp(w[1], "name") == 0)
		kind = R_NAME;
	else if (strcmp(w[1], "adcode") == 0)
		kind = R_ADCODE;
	else
		return rfail(err, errcap, MAPS_E_RULE,
		    "%s:%d: \"%s\": the match is suffix, name or adcode", f, ln, w[1]);
	if (n < 3)
		return rfail(err, errcap, MAPS_E_RULE, "%s:%d: %s %s: no words listed",
		    f, ln, w[0], w[1]);
	for (i = 2; i < n; i++)
		if ((e = rules_add(rs, kind, zone, w[i], ln, err, errcap)) != MAPS_OK)
			return e;
	return MAPS_OK;
}

/*
 * Parse a rule file's text (len bytes, need not be NUL-terminated). Errors are
 * "file:line: message" (file "rules" when NULL). On error *out is NULL.
 */
enum maps_err
maps_rules_parse(const char *text, size_t len, const char *file,
    struct maps_rules **out, char *err, size_t errcap)
{
	struct maps_rules *rs;
	char line[RULES_MAX_LINE_B];
	size_t at = 0;
	int ln = 0;
	enum maps_err e;

	*out = NULL;
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return rfail(err, errcap, MAPS_E_NOMEM, "rules: out of memory");
	snprintf(rs->file, sizeof(rs->file), "%s", file != NULL ? file : "rules");
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = (nl != NULL ? (size_t)(nl - text) : len) - at;

		ln++;
		if (n >= sizeof(line)) {
			e = rfail(err, errcap, MAPS_E_RULE, "%s:%d: line longer than %d bytes",
			    rs->file, ln, RULES_MAX_LINE_B - 1);
			goto bad;
		}
		if (memchr(text + at, '\0', n) != NULL) {
			e = rfail(err, errcap, MAPS_E_RULE, "%s:%d: a NUL byte", rs->file, ln);
			goto bad;
		}
		memcpy(line, text + at, n);
		line[n] = '\0';
		if ((e = rules_line(rs, line, ln, err, errcap)) != MAPS_OK)
			goto bad;
		at += n + 1;
	}
	if (rs->n == 0 && !rs->has_default) {
		e = rfail(err, errcap, MAPS_E_RULE, "%s: no rules", rs->file);
		goto bad;
	}
	*out = rs;
	return MAPS_OK;
bad:
	maps_rules_free(rs);
	return e;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/*
 * The rule deciding (name, adcode): index into rs->r, or -1 for the default,
 * or -2 when nothing applies. adcode < 0: the unit has none.
 */
static long
rules_match(const struct maps_rules *rs, const char *name, long adcode)
{
	long best = -1;
	size_t bestlen = 0, i;

	for (i = 0; i < rs->n; i++)
		if (rs->r[i].kind == R_ADCODE && rs->r[i].adcode == adcode)
			return (long)i;
	for (i = 0; i < rs->n; i++)
		if (rs->r[i].kind == R_NAME && strcmp(rs->r[i].word, name) == 0)
			return (long)i;
	for (i = 0; i < rs->n; i++) {
		size_t l;

		if (rs->r[i].kind != R_SUFFIX || !ends_with(name, rs->r[i].word))
			continue;
		if ((l = strlen(rs->r[i].word)) > bestlen) {
			bestlen = l;
			best = (long)i;
		}
	}
	if (best >= 0)
		return best;
	return rs->has_default ? -1 : -2;
}

struct bctx {
	enum maps_crs	 crs;
	struct maps_buf	*out;
	char		*err;
	size_t		 errcap;
	size_t		 vertices;
};

/* Write one ring, converted; path names it in errors. */
static enum maps_err
build_ring(struct bctx *c, const cJSON *jr, const char *path)
{
	const cJSON *jp;
	size_t n = 0;

	if (!cJSON_IsArray(jr) || jr->child == NULL)
		return rfail(c->err, c->errcap, MAPS_E_GEOMETRY,
		    "%s: not a non-empty array of positions", path);
	maps_buf_put(c->out, "[", 1);
	for (jp = jr->child; jp != NULL; jp = jp->next, n++) {
		const cJSON *jx = cJSON_IsArray(jp) ? jp->child : NULL;
		const cJSON *jy = jx != NULL ? jx->next : NULL;
		double lat, lon;

		if (!cJSON_IsNumber(jx) || !cJSON_IsNumber(jy))
			return rfail(c->err, c->errcap, MAPS_E_GEOMETRY,
			    "%s[%zu]: not a [lon, lat] pair", path, n);
		lon = jx->valuedouble;
		lat = jy->valuedouble;
		if (!isfinite(lon) || !isfinite(lat) || fabs(lon) > 180.0 || fabs(lat) > 90.0)
			return rfail(c->err, c->errcap, MAPS_E_RANGE,
			    "%s[%zu]: [%g, %g] is not a longitude, latitude", path, n, lon, lat);
		maps_convert(c->crs, MAPS_WGS84, lat, lon, &lat, &lon);
		maps_buf_printf(c->out, "%s[%.7f,%.7f]", n ? "," : "", lon, lat);
		c->vertices++;
	}
	maps_buf_put(c->out, "]", 1);
	return MAPS_OK;
}

/* Write a polygon (array of rings). */
static enum maps_err
build_polygon(struct bctx *c, const cJSON *jpoly, const char *path)
{
	char rpath[128];
	const cJSON *jr;
	size_t ri = 0;
	enum maps_err e;

	if (!cJSON_IsArray(jpoly) || jpoly->child == NULL)
		return rfail(c->err, c->errcap, MAPS_E_GEOMETRY,
		    "%s: a polygon must be a non-empty array of rings", path);
	maps_buf_put(c->out, "[", 1);
	for (jr = jpoly->child; jr != NULL; jr = jr->next, ri++) {
		snprintf(rpath, sizeof(rpath), "%s[%zu]", path, ri);
		if (ri > 0)
			maps_buf_put(c->out, ",", 1);
		if ((e = build_ring(c, jr, rpath)) != MAPS_OK)
			return e;
	}
	maps_buf_put(c->out, "]", 1);
	return MAPS_OK;
}

static enum maps_err
build_geometry(struct bctx *c, const cJSON *jg, size_t fi)
{
	char path[96], ppath[112];
	const cJSON *jt = cJSON_GetObjectItemCaseSensitive(jg, "type");
	const cJSON *jc = cJSON_GetObjectItemCaseSensitive(jg, "coordinates");
	const cJSON *jp;
	size_t pi = 0;
	enum maps_err e;

	if (!cJSON_IsObject(jg))
		return rfail(c->err, c->errcap, MAPS_E_GEOMETRY,
		    "features[%zu].geometry: missing or not an object", fi);
	snprintf(path, sizeof(path), "features[%zu].geometry.coordinates", fi);
	if (!cJSON_IsArray(jc))
		return rfail(c->err, c->errcap, MAPS_E_GEOMETRY, "%s: missing or not an array",
		    path);
	if (cJSON_IsString(jt) && strcmp(jt->valuestring, "Polygon") == 0) {
		maps_buf_printf(c->out, "{\"type\":\"Polygon\",\"coordinates\":");
		if ((e = build_polygon(c, jc, path)) != MAPS_OK)
			return e;
	} else if (cJSON_IsString(jt) && strcmp(jt->valuestring, "MultiPolygon") == 0) {
		if (jc->child == NULL)
			return rfail(c->err, c->errcap, MAPS_E_GEOMETRY, "%s: no polygons", path);
		maps_buf_printf(c->out, "{\"type\":\"MultiPolygon\",\"coordinates\":[");
		for (jp = jc->child; jp != NULL; jp = jp->next, pi++) {
			snprintf(ppath, sizeof(ppath), "%s[%zu]", path, pi);
			if (pi > 0)
				maps_buf_put(c->out, ",", 1);
			if ((e = build_polygon(c, jp, ppath)) != MAPS_OK)
				return e;
		}
		maps_buf_put(c->out, "]", 1);
	} else
		return rfail(c->err, c->errcap, MAPS_E_GEOMETRY,
		    "features[%zu].geometry.type: not \"Polygon\" or \"MultiPolygon\"", fi);
	maps_buf_put(c->out, "}", 1);
	return MAPS_OK;
}

/* properties.adcode as a number or a string of 6 digits; -1 with an error. */
static long
feature_adcode(const cJSON *props, size_t fi, char *err, size_t errcap)
{
	const cJSON *ja = cJSON_GetObjectItemCaseSensitive(props, "adcode");

	if (cJSON_IsNumber(ja) && ja->valuedouble >= 100000 && ja->valuedouble <= 999999 &&
	    ja->valuedouble == floor(ja->valuedouble))
		return (long)ja->valuedouble;
	if (cJSON_IsString(ja) && is_adcode(ja->valuestring))
		return strtol(ja->valuestring, NULL, 10);
	rfail(err, errcap, MAPS_E_PROPERTY,
	    "features[%zu].properties.adcode: missing or not a 6-digit code", fi);
	return -1;
}

/*
 * Build the zone file (contract in maps.h). Everything is appended to out;
 * MAPS_E_FULL when out's cap is reached.
 */
enum maps_err
maps_build(const char *json, size_t len, enum maps_crs crs, const struct maps_rules *rs,
    struct maps_buf *out, struct maps_build_stats *st, char *err, size_t errcap)
{
	struct bctx c = { crs, out, err, errcap, 0 };
	struct maps_build_stats local;
	unsigned char *used = NULL;
	const cJSON *jt, *jfs, *jf;
	cJSON *root;
	size_t fi = 0;
	enum maps_err e = MAPS_OK;

	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (json == NULL || len > BUILD_MAX_INPUT_B)
		return rfail(err, errcap, MAPS_E_JSON, "document: missing or over %u bytes",
		    BUILD_MAX_INPUT_B);
	if ((root = cJSON_ParseWithLength(json, len)) == NULL)
		return rfail(err, errcap, MAPS_E_JSON, "document: not JSON");
	jt = cJSON_GetObjectItemCaseSensitive(root, "type");
	jfs = cJSON_GetObjectItemCaseSensitive(root, "features");
	if (!cJSON_IsString(jt) || strcmp(jt->valuestring, "FeatureCollection") != 0) {
		e = rfail(err, errcap, MAPS_E_JSON, "type: not \"FeatureCollection\"");
		goto done;
	}
	if (!cJSON_IsArray(jfs) || jfs->child == NULL) {
		e = rfail(err, errcap, MAPS_E_JSON, "features: missing, empty or not an array");
		goto done;
	}
	if (rs->n > 0 && (used = calloc(rs->n, 1)) == NULL) {
		e = rfail(err, errcap, MAPS_E_NOMEM, "rules: out of memory");
		goto done;
	}
	maps_buf_printf(out, "{\"type\":\"FeatureCollection\",\"features\":[\n");
	for (jf = jfs->child; jf != NULL; jf = jf->next, fi++) {
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(jf, "properties");
		const cJSON *jn = cJSON_GetObjectItemCaseSensitive(props, "name");
		enum maps_zone zone;
		long adcode, ri;
		char rule[RULES_MAX_WORD_B + 16];

		if (!cJSON_IsObject(props)) {
			e = rfail(err, errcap, MAPS_E_PROPERTY,
			    "features[%zu].properties: missing or not an object", fi);
			goto done;
		}
		if (!cJSON_IsString(jn) || jn->valuestring[0] == '\0') {
			e = rfail(err, errcap, MAPS_E_PROPERTY,
			    "features[%zu].properties.name: missing or not a non-empty string", fi);
			goto done;
		}
		if ((adcode = feature_adcode(props, fi, err, errcap)) < 0) {
			e = MAPS_E_PROPERTY;
			goto done;
		}
		ri = rules_match(rs, jn->valuestring, adcode);
		if (ri == -2) {
			e = rfail(err, errcap, MAPS_E_RULE,
			    "features[%zu] (%ld %s): no rule matches and the rules have no default",
			    fi, adcode, jn->valuestring);
			goto done;
		}
		if (ri == -1) {
			zone = rs->def;
			snprintf(rule, sizeof(rule), "default");
			st->by_default++;
		} else {
			const struct rule *r = &rs->r[ri];

			zone = r->zone;
			used[ri] = 1;
			if (r->kind == R_ADCODE)
				snprintf(rule, sizeof(rule), "adcode %ld", r->adcode);
			else
				snprintf(rule, sizeof(rule), "%s %s",
				    r->kind == R_NAME ? "name" : "suffix", r->word);
		}
		maps_buf_printf(out, "%s{\"type\":\"Feature\",\"properties\":{\"zone\":\"%s\","
		    "\"name\":", fi ? ",\n" : "", maps_zone_name(zone));
		maps_buf_json(out, jn->valuestring);
		maps_buf_printf(out, ",\"adcode\":%ld,\"rule\":", adcode);
		maps_buf_json(out, rule);
		maps_buf_put(out, "},\"geometry\":", 13);
		if ((e = build_geometry(&c, cJSON_GetObjectItemCaseSensitive(jf, "geometry"),
		    fi)) != MAPS_OK)
			goto done;
		maps_buf_put(out, "}", 1);
		st->features++;
		st->by_zone[zone]++;
	}
	maps_buf_printf(out, "\n]}\n");
	st->vertices = c.vertices;
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->r[i];

		if (used[i] || r->kind == R_SUFFIX)
			continue;	/* a suffix may legitimately match nothing here */
		if (r->kind == R_ADCODE)
			e = rfail(err, errcap, MAPS_E_RULE,
			    "%s:%d: adcode %ld matches no feature", rs->file, r->line, r->adcode);
		else
			e = rfail(err, errcap, MAPS_E_RULE,
			    "%s:%d: name \"%s\" matches no feature", rs->file, r->line, r->word);
		goto done;
	}
	if (out->full)
		e = rfail(err, errcap, MAPS_E_FULL, "output: over its %zu byte cap", out->max);
done:
	free(used);
	cJSON_Delete(root);
	return e;
}
