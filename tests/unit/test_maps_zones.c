/*
 * test_maps_zones.c: GeoJSON zone files and point lookup (maps/zones.c).
 *
 * Groups: synthetic geometry (holes, MultiPolygon, ring orientation, grid
 * edges, overlap priority, unclosed rings); malformed documents, each checking
 * the error code and that the message names the JSON path; the project's demo
 * file; and real DataV county polygons of Inner Mongolia (GCJ-02) read in place
 * from $LINECREW_SHARED/data/maps (default ../shared, relative to the repo
 * root where the tests run), skipped with a clear line when absent.
 *
 * Synthetic documents use MAPS_WGS84 so their coordinates are used unchanged.
 */
#include <sys/stat.h>

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

#include "maps.h"

#define DEMO_FILE	"maps/zones/demo-hohhot.geojson"
#define ERRCAP		256

/* Parse s (WGS-84); asserts success. */
static struct maps_zones *
parse_ok(const char *s)
{
	struct maps_zones *z = NULL;
	char err[ERRCAP];
	enum maps_err e = maps_zones_parse(s, strlen(s), MAPS_WGS84, &z, err, sizeof(err));

	if (e != MAPS_OK) {
		print_error("unexpected error %s: %s\n", maps_strerror(e), err);
		fail();
	}
	assert_non_null(z);
	return z;
}

/* Parse s and expect code want with a message containing path. */
static void
parse_bad(const char *s, enum maps_err want, const char *path)
{
	struct maps_zones *z = (struct maps_zones *)1;
	char err[ERRCAP] = "";
	enum maps_err e = maps_zones_parse(s, strlen(s), MAPS_WGS84, &z, err, sizeof(err));

	if (e != want || strstr(err, path) == NULL) {
		print_error("doc %s\n  got %d (%s) \"%s\", want %d naming \"%s\"\n",
		    s, e, maps_strerror(e), err, want, path);
		fail();
	}
	assert_null(z);
}

/* Zone and feature index at (lat, lon), default remote; -1 feature when none. */
static int
feature_at(const struct maps_zones *z, double lat, double lon)
{
	struct maps_zone_hit h;
	int r = maps_zones_lookup(z, lat, lon, MAPS_ZONE_REMOTE, &h);

	assert_int_equal(r, h.feature >= 0);
	if (r == 0) {
		assert_int_equal(h.zone, MAPS_ZONE_REMOTE);
		assert_string_equal(h.name, "default");
	}
	return h.feature;
}

#define FEATURE(zone, name, geom) \
	"{\"type\":\"Feature\",\"properties\":{\"zone\":\"" zone "\",\"name\":\"" \
	name "\"},\"geometry\":" geom "}"
#define FC(...) "{\"type\":\"FeatureCollection\",\"features\":[" __VA_ARGS__ "]}"
#define SQUARE(x0, y0, x1, y1) \
	"[[" #x0 "," #y0 "],[" #x1 "," #y0 "],[" #x1 "," #y1 "],[" #x0 "," #y1 "],[" #x0 "," #y0 "]]"
#define SQUARE_CW(x0, y0, x1, y1) \
	"[[" #x0 "," #y0 "],[" #x0 "," #y1 "],[" #x1 "," #y1 "],[" #x1 "," #y0 "],[" #x0 "," #y0 "]]"
#define POLY(...) "{\"type\":\"Polygon\",\"coordinates\":[" __VA_ARGS__ "]}"
#define MPOLY(...) "{\"type\":\"MultiPolygon\",\"coordinates\":[" __VA_ARGS__ "]}"

static void
test_hole(void **state)
{
	struct maps_zones *z;
	struct maps_zone_hit h;

	(void)state;
	z = parse_ok(FC(FEATURE("rural", "ring", POLY(SQUARE(0, 0, 10, 10) ","
	    SQUARE(4, 4, 6, 6)))));
	assert_int_equal(maps_zones_count(z), 1);
	assert_int_equal(maps_zones_lookup(z, 2, 2, MAPS_ZONE_URBAN, &h), 1);
	assert_int_equal(h.zone, MAPS_ZONE_RURAL);
	assert_string_equal(h.name, "ring");
	assert_int_equal(h.feature, 0);
	/* in the hole: not inside, the default applies */
	assert_int_equal(maps_zones_lookup(z, 5, 5, MAPS_ZONE_URBAN, &h), 0);
	assert_int_equal(h.zone, MAPS_ZONE_URBAN);
	assert_int_equal(h.feature, -1);
	assert_string_equal(h.name, "default");
	assert_int_equal(feature_at(z, 5, 3.9), 0);	/* just left of the hole */
	assert_int_equal(feature_at(z, 5, 6.1), 0);
	assert_int_equal(feature_at(z, 11, 5), -1);	/* outside everything */
	assert_int_equal(feature_at(z, -0.1, 5), -1);
	assert_int_equal(feature_at(z, NAN, 5), -1);
	assert_int_equal(feature_at(z, 5, INFINITY), -1);
	maps_zones_free(z);
}

static void
test_multipolygon(void **state)
{
	struct maps_zones *z;

	(void)state;
	z = parse_ok(FC(
	    FEATURE("urban", "first", POLY(SQUARE(50, 50, 51, 51))) ","
	    FEATURE("remote", "two islands", MPOLY(
		"[" SQUARE(0, 0, 1, 1) "],"
		"[" SQUARE(20, 20, 30, 30) "," SQUARE(24, 24, 26, 26) "]"))));
	assert_int_equal(maps_zones_count(z), 2);
	assert_int_equal(feature_at(z, 0.5, 0.5), 1);
	assert_int_equal(feature_at(z, 21, 21), 1);
	assert_int_equal(feature_at(z, 25, 25), -1);	/* hole of the second part */
	assert_int_equal(feature_at(z, 10, 10), -1);	/* between the parts */
	assert_int_equal(feature_at(z, 50.5, 50.5), 0);
	maps_zones_free(z);
}

/* Shells and holes in either orientation give the same answers. */
static void
test_orientation(void **state)
{
	const char *docs[] = {
		FC(FEATURE("urban", "a", POLY(SQUARE(0, 0, 10, 10) "," SQUARE_CW(4, 4, 6, 6)))),
		FC(FEATURE("urban", "a", POLY(SQUARE_CW(0, 0, 10, 10) "," SQUARE(4, 4, 6, 6)))),
		FC(FEATURE("urban", "a", POLY(SQUARE_CW(0, 0, 10, 10) "," SQUARE_CW(4, 4, 6, 6)))),
		FC(FEATURE("urban", "a", POLY(SQUARE(0, 0, 10, 10) "," SQUARE(4, 4, 6, 6)))),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct maps_zones *z = parse_ok(docs[i]);

		assert_int_equal(feature_at(z, 1, 1), 0);
		assert_int_equal(feature_at(z, 9.9, 9.9), 0);
		assert_int_equal(feature_at(z, 5, 5), -1);
		assert_int_equal(feature_at(z, 10.1, 5), -1);
		maps_zones_free(z);
	}
}

/*
 * Many polygons so the grid has many cells; points in the last row and column
 * (the far side of the grid), on a triangle's slanted edge side, and just
 * beyond the extent.
 */
static void
test_grid_edges(void **state)
{
	char *doc;
	size_t cap = 1 << 16, len = 0;
	struct maps_zones *z;
	int n;

	(void)state;
	doc = malloc(cap);
	assert_non_null(doc);
	len = (size_t)snprintf(doc, cap, "{\"type\":\"FeatureCollection\",\"features\":[");
	/* 10 x 10 unit squares with 0.5 gaps, from (100, 30) */
	for (int i = 0; i < 100; i++) {
		double x = 100 + (i % 10) * 1.5, y = 30 + (i / 10) * 1.5;

		n = snprintf(doc + len, cap - len,
		    "%s{\"type\":\"Feature\",\"properties\":{\"zone\":\"%s\",\"name\":\"sq%d\"},"
		    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[%g,%g],[%g,%g],"
		    "[%g,%g],[%g,%g]]]}}", i ? "," : "", i % 2 ? "rural" : "urban", i,
		    x, y, x + 1, y, x + 1, y + 1, x, y + 1);
		assert_true(n > 0 && (size_t)n < cap - len);
		len += (size_t)n;
	}
	n = snprintf(doc + len, cap - len, "]}");
	assert_true(n > 0 && (size_t)n < cap - len);
	z = parse_ok(doc);
	free(doc);
	assert_int_equal(maps_zones_count(z), 100);
	assert_int_equal(feature_at(z, 30.5, 100.5), 0);
	assert_int_equal(feature_at(z, 30.5, 101.25), -1);	/* a gap */
	/* far corner: square 99 spans 113.5..114.5 E, 43.5..44.5 N */
	assert_int_equal(feature_at(z, 44.4999, 114.4999), 99);
	assert_int_equal(feature_at(z, 44.5001, 114.4999), -1);
	assert_int_equal(feature_at(z, 44.4999, 114.5001), -1);
	assert_int_equal(feature_at(z, 30.0001, 114.4999), 9);
	assert_int_equal(feature_at(z, 44.4999, 100.0001), 90);
	assert_int_equal(feature_at(z, 29.9999, 100.0001), -1);
	/* every square's centre finds its own feature */
	for (int i = 0; i < 100; i++)
		assert_int_equal(feature_at(z, 30.5 + (i / 10) * 1.5,
		    100.5 + (i % 10) * 1.5), i);
	maps_zones_free(z);

	/* a triangle: the bounding box holds the point, the polygon does not */
	z = parse_ok(FC(FEATURE("urban", "tri", POLY("[[0,0],[10,0],[0,10],[0,0]]"))));
	assert_int_equal(feature_at(z, 4, 4), 0);
	assert_int_equal(feature_at(z, 6, 6), -1);
	maps_zones_free(z);
}

/* Where polygons overlap, the feature listed first wins. */
static void
test_overlap_priority(void **state)
{
	struct maps_zones *z;
	struct maps_zone_hit h;

	(void)state;
	z = parse_ok(FC(FEATURE("urban", "town", POLY(SQUARE(4, 4, 6, 6))) ","
	    FEATURE("rural", "county", POLY(SQUARE(0, 0, 10, 10)))));
	assert_int_equal(maps_zones_lookup(z, 5, 5, MAPS_ZONE_REMOTE, &h), 1);
	assert_int_equal(h.zone, MAPS_ZONE_URBAN);
	assert_string_equal(h.name, "town");
	assert_int_equal(feature_at(z, 1, 1), 1);
	maps_zones_free(z);

	z = parse_ok(FC(FEATURE("rural", "county", POLY(SQUARE(0, 0, 10, 10))) ","
	    FEATURE("urban", "town", POLY(SQUARE(4, 4, 6, 6)))));
	assert_int_equal(maps_zones_lookup(z, 5, 5, MAPS_ZONE_REMOTE, &h), 1);
	assert_int_equal(h.zone, MAPS_ZONE_RURAL);
	assert_string_equal(h.name, "county");
	maps_zones_free(z);
}

/* Decision: an unclosed ring is accepted and closed implicitly (zones.c). */
static void
test_unclosed_ring(void **state)
{
	struct maps_zones *z;

	(void)state;
	z = parse_ok(FC(FEATURE("urban", "open", POLY("[[0,0],[10,0],[10,10],[0,10]]"))));
	assert_int_equal(feature_at(z, 5, 5), 0);
	assert_int_equal(feature_at(z, 5, 10.5), -1);
	maps_zones_free(z);
	/* 3 positions, unclosed: the smallest valid ring */
	z = parse_ok(FC(FEATURE("urban", "tri", POLY("[[0,0],[10,0],[0,10]]"))));
	assert_int_equal(feature_at(z, 1, 1), 0);
	maps_zones_free(z);
	/* extra members (altitude, foreign keys) are ignored */
	z = parse_ok("{\"type\":\"FeatureCollection\",\"crs_note\":\"x\",\"features\":["
	    "{\"type\":\"Feature\",\"id\":7,\"properties\":{\"zone\":\"remote\","
	    "\"name\":\"z\",\"extra\":[1]},\"geometry\":{\"type\":\"Polygon\","
	    "\"coordinates\":[[[0,0,100],[10,0,100],[10,10,100],[0,0,100]]]}}]}");
	assert_int_equal(feature_at(z, 1, 5), 0);
	maps_zones_free(z);
}

static void
test_malformed(void **state)
{
	(void)state;
	parse_bad("not json {", MAPS_E_JSON, "document: not JSON");
	parse_bad("", MAPS_E_JSON, "document");
	parse_bad(FC(FEATURE("urban", "a", POLY(SQUARE(0, 0, 1, 1)))) " x", MAPS_E_JSON,
	    "document: data after");
	parse_bad("[]", MAPS_E_JSON, "type");
	parse_bad("{\"type\":\"Feature\"}", MAPS_E_JSON, "type");
	parse_bad("{\"type\":\"FeatureCollection\"}", MAPS_E_JSON, "features");
	parse_bad("{\"type\":\"FeatureCollection\",\"features\":{}}", MAPS_E_JSON, "features");
	parse_bad(FC(), MAPS_E_JSON, "features");
	parse_bad(FC("1"), MAPS_E_JSON, "features[0]: not an object");
	parse_bad(FC("{\"type\":\"Thing\"}"), MAPS_E_JSON, "features[0].type");

	/* bad coordinates */
	parse_bad(FC(FEATURE("urban", "a", POLY("[[0,0],[1,0],[1,\"x\"],[0,0]]"))),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates[0][2]: not a [lon, lat] pair");
	parse_bad(FC(FEATURE("urban", "a", POLY("[[0,0],[1],[1,1],[0,0]]"))),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates[0][1]: not a [lon, lat] pair");
	parse_bad(FC(FEATURE("urban", "a", POLY("[[0,0],[1,0],[1,1],5]"))),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates[0][3]: not a [lon, lat] pair");
	parse_bad(FC(FEATURE("urban", "ok", POLY(SQUARE(0, 0, 1, 1))) ","
	    FEATURE("urban", "a", MPOLY("[" SQUARE(0, 0, 1, 1) "],"
	    "[" SQUARE(2, 2, 3, 3) ",[[0,0],[1,0],null,[0,0]]]"))),
	    MAPS_E_GEOMETRY, "features[1].geometry.coordinates[1][1][2]: not a [lon, lat] pair");
	parse_bad(FC(FEATURE("urban", "a", POLY("[[0,0],[1,0],[1,95],[0,0]]"))),
	    MAPS_E_RANGE, "features[0].geometry.coordinates[0][2]: latitude");
	parse_bad(FC(FEATURE("urban", "a", POLY("[[0,0],[181,0],[1,1],[0,0]]"))),
	    MAPS_E_RANGE, "features[0].geometry.coordinates[0][1]: longitude");
	parse_bad(FC(FEATURE("urban", "a", POLY("[[0,0],[1e999,0],[1,1],[0,0]]"))),
	    MAPS_E_RANGE, "features[0].geometry.coordinates[0][1]");
	/* too few positions, closed or not */
	parse_bad(FC(FEATURE("urban", "a", POLY("[[0,0],[1,0],[0,0]]"))),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates[0]: a ring needs");
	parse_bad(FC(FEATURE("urban", "a", POLY("[[0,0],[1,0]]"))),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates[0]: a ring needs");
	parse_bad(FC(FEATURE("urban", "a", POLY(SQUARE(0, 0, 9, 9) ",[]"))),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates[1]: a ring needs");
	parse_bad(FC(FEATURE("urban", "a", POLY(""))),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates: a polygon");
	parse_bad(FC(FEATURE("urban", "a", POLY("7"))),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates[0]: not an array");
	parse_bad(FC(FEATURE("urban", "a", MPOLY(""))),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates: a MultiPolygon");
	parse_bad(FC(FEATURE("urban", "a", MPOLY("[]"))),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates[0]: a polygon");

	/* geometry */
	parse_bad(FC(FEATURE("urban", "a", "null")),
	    MAPS_E_GEOMETRY, "features[0].geometry: missing");
	parse_bad(FC(FEATURE("urban", "a", "{\"type\":\"Point\",\"coordinates\":[1,2]}")),
	    MAPS_E_GEOMETRY, "features[0].geometry.type");
	parse_bad(FC(FEATURE("urban", "a", "{\"type\":\"Polygon\"}")),
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates: missing");

	/* properties */
	parse_bad(FC(FEATURE("suburban", "a", POLY(SQUARE(0, 0, 1, 1)))),
	    MAPS_E_PROPERTY, "features[0].properties.zone: \"suburban\"");
	parse_bad(FC(FEATURE("Urban", "a", POLY(SQUARE(0, 0, 1, 1)))),
	    MAPS_E_PROPERTY, "features[0].properties.zone");
	parse_bad(FC("{\"type\":\"Feature\",\"properties\":{\"name\":\"a\"},\"geometry\":"
	    POLY(SQUARE(0, 0, 1, 1)) "}"),
	    MAPS_E_PROPERTY, "features[0].properties.zone: missing");
	parse_bad(FC(FEATURE("urban", "ok", POLY(SQUARE(0, 0, 1, 1))) ","
	    "{\"type\":\"Feature\",\"properties\":{\"zone\":\"rural\"},\"geometry\":"
	    POLY(SQUARE(0, 0, 1, 1)) "}"),
	    MAPS_E_PROPERTY, "features[1].properties.name: missing");
	parse_bad(FC("{\"type\":\"Feature\",\"properties\":{\"zone\":\"rural\",\"name\":3},"
	    "\"geometry\":" POLY(SQUARE(0, 0, 1, 1)) "}"),
	    MAPS_E_PROPERTY, "features[0].properties.name");
	parse_bad(FC(FEATURE("urban", "", POLY(SQUARE(0, 0, 1, 1)))),
	    MAPS_E_PROPERTY, "features[0].properties.name");
	parse_bad(FC("{\"type\":\"Feature\",\"geometry\":" POLY(SQUARE(0, 0, 1, 1)) "}"),
	    MAPS_E_PROPERTY, "features[0].properties: missing");
}

/* Every prefix of a valid document fails cleanly (ASan watches), and small or
 * absent error buffers are honoured. */
static void
test_truncated_and_buffers(void **state)
{
	const char *doc = FC(FEATURE("urban", "a", MPOLY("[" SQUARE(0, 0, 9, 9) ","
	    SQUARE(4, 4, 6, 6) "]")) "," FEATURE("rural", "b", POLY(SQUARE(1, 1, 2, 2))));
	size_t n = strlen(doc);
	struct maps_zones *z;
	char small[8];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		char err[ERRCAP];

		z = (struct maps_zones *)1;
		assert_int_not_equal(maps_zones_parse(doc, i, MAPS_WGS84, &z, err,
		    sizeof(err)), MAPS_OK);
		assert_null(z);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(maps_zones_parse(doc, n, MAPS_WGS84, &z, NULL, 0), MAPS_OK);
	maps_zones_free(z);
	assert_int_equal(maps_zones_parse("x", 1, MAPS_WGS84, &z, NULL, 0), MAPS_E_JSON);
	assert_int_equal(maps_zones_parse("x", 1, MAPS_WGS84, &z, small, sizeof(small)),
	    MAPS_E_JSON);
	assert_true(strlen(small) == sizeof(small) - 1);
	assert_int_equal(maps_zones_parse(NULL, 0, MAPS_WGS84, &z, NULL, 0), MAPS_E_JSON);
	maps_zones_free(NULL);
	assert_int_equal(maps_zones_count(NULL), 0);
}

static void
test_load_errors(void **state)
{
	struct maps_zones *z = NULL;
	char err[ERRCAP];

	(void)state;
	assert_int_equal(maps_zones_load("/nonexistent/zones.geojson", MAPS_WGS84, &z,
	    err, sizeof(err)), MAPS_E_IO);
	assert_null(z);
	assert_non_null(strstr(err, "/nonexistent/zones.geojson: cannot open"));
	assert_int_equal(maps_zones_load("maps", MAPS_WGS84, &z, err, sizeof(err)),
	    MAPS_E_IO);
	assert_non_null(strstr(err, "maps: "));
}

static void
test_names(void **state)
{
	enum maps_zone zn = MAPS_ZONE_URBAN;

	(void)state;
	assert_string_equal(maps_zone_name(MAPS_ZONE_URBAN), "urban");
	assert_string_equal(maps_zone_name(MAPS_ZONE_RURAL), "rural");
	assert_string_equal(maps_zone_name(MAPS_ZONE_REMOTE), "remote");
	assert_int_equal(maps_zone_parse("remote", &zn), 0);
	assert_int_equal(zn, MAPS_ZONE_REMOTE);
	assert_int_equal(maps_zone_parse("city", &zn), -1);
	assert_int_equal(maps_zone_parse(NULL, &zn), -1);
	assert_int_equal(zn, MAPS_ZONE_REMOTE);
	for (int e = MAPS_OK; e <= MAPS_E_RANGE; e++)
		assert_non_null(maps_strerror((enum maps_err)e));
}

static void
test_demo_file(void **state)
{
	struct maps_zones *z = NULL;
	struct maps_zone_hit h;
	char err[ERRCAP];
	enum maps_err e;

	(void)state;
	e = maps_zones_load(DEMO_FILE, MAPS_WGS84, &z, err, sizeof(err));
	if (e != MAPS_OK) {
		print_error("%s\n", err);
		fail();
	}
	assert_int_equal(maps_zones_count(z), 3);
	/* the demo fault site and the depot */
	assert_int_equal(maps_zones_lookup(z, 40.842, 111.750, MAPS_ZONE_REMOTE, &h), 1);
	assert_int_equal(h.zone, MAPS_ZONE_URBAN);
	assert_string_equal(h.name, "Hohhot urban core 呼和浩特城区");
	assert_int_equal(maps_zones_lookup(z, 40.815, 111.690, MAPS_ZONE_REMOTE, &h), 1);
	assert_int_equal(h.zone, MAPS_ZONE_URBAN);
	/* the rural ring around it, and its hole is the urban core */
	assert_int_equal(maps_zones_lookup(z, 40.5, 111.2, MAPS_ZONE_URBAN, &h), 1);
	assert_int_equal(h.zone, MAPS_ZONE_RURAL);
	assert_int_equal(h.feature, 1);
	/* the Badain Jaran desert, Alxa */
	assert_int_equal(maps_zones_lookup(z, 40.0, 102.0, MAPS_ZONE_URBAN, &h), 1);
	assert_int_equal(h.zone, MAPS_ZONE_REMOTE);
	/* Beijing is in none */
	assert_int_equal(maps_zones_lookup(z, 39.9, 116.4, MAPS_ZONE_RURAL, &h), 0);
	assert_int_equal(h.zone, MAPS_ZONE_RURAL);
	maps_zones_free(z);
}

/* ---- real data: DataV county polygons, GCJ-02 ---- */

/* Read a whole file into a NUL-terminated buffer; NULL on failure. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Column i (0-based) of a delimited line into out; -1 when absent. */
static int
column(const char *line, char delim, int i, char *out, size_t cap)
{
	const char *p = line, *q;

	for (; i > 0; i--) {
		if ((p = strchr(p, delim)) == NULL)
			return -1;
		p++;
	}
	q = p;
	while (*q != '\0' && *q != delim && *q != '\n' && *q != '\r')
		q++;
	if ((size_t)(q - p) >= cap)
		return -1;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return 0;
}

static double
column_double(const char *line, char delim, int i)
{
	char buf[64], *end;
	double v;

	if (column(line, delim, i, buf, sizeof(buf)) == -1 || buf[0] == '\0')
		return NAN;
	v = strtod(buf, &end);
	return *end == '\0' ? v : NAN;
}

static long
column_long(const char *line, char delim, int i)
{
	char buf[32], *end;
	long v;

	if (column(line, delim, i, buf, sizeof(buf)) == -1 || buf[0] == '\0')
		return -1;
	v = strtol(buf, &end, 10);
	return *end == '\0' ? v : -1;
}

#define COUNTIES	"/datav/150000_counties_merged.json"
#define CENTERS		"/places/datav_150000_admin_centers_gcj02.csv"
#define GEONAMES	"/places/geonames_cities15000_inner_mongolia_2013.tsv"
#define N_COUNTIES	103
#define QUIRK_EJIN_HORO	150627	/* its DataV centre lies in 150603 Kangbashi */
#define KANGBASHI	150603

static void
test_real_datav_counties(void **state)
{
	const char *shared = getenv("LINECREW_SHARED");
	char dir[512], path[640], err[ERRCAP], *text, *json, *csv, *tsv, *line;
	size_t len, tlen;
	cJSON *root, *jf;
	long adcodes[N_COUNTIES];
	struct maps_zones *z = NULL;
	struct maps_zone_hit h;
	enum maps_err e;
	int fi = 0, n_qu = 0, n_qi = 0, n_other = 0, jagdaqi = 0;
	struct stat st;

	(void)state;
	if (shared == NULL || shared[0] == '\0')
		shared = "../shared";
	snprintf(dir, sizeof(dir), "%s/data/maps", shared);
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		printf("SKIPPED: %s not present\n", dir);
		skip();
	}

	/* Add "zone" by the name's suffix: 区 urban; 旗, 县, 市 rural. */
	snprintf(path, sizeof(path), "%s%s", dir, COUNTIES);
	text = slurp(path, &len);
	assert_non_null(text);
	root = cJSON_ParseWithLength(text, len);
	free(text);
	assert_non_null(root);
	cJSON_ArrayForEach(jf, cJSON_GetObjectItemCaseSensitive(root, "features")) {
		cJSON *props = cJSON_GetObjectItemCaseSensitive(jf, "properties");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(props, "name");
		const cJSON *adcode = cJSON_GetObjectItemCaseSensitive(props, "adcode");
		const char *zone;

		assert_true(fi < N_COUNTIES);
		assert_true(cJSON_IsString(name) && cJSON_IsNumber(adcode));
		adcodes[fi++] = (long)adcode->valuedouble;
		if (ends_with(name->valuestring, "区"))
			zone = "urban";
		else if (ends_with(name->valuestring, "旗") ||
		    ends_with(name->valuestring, "县") || ends_with(name->valuestring, "市"))
			zone = "rural";
		else
			zone = "remote";
		assert_non_null(cJSON_AddStringToObject(props, "zone", zone));
	}
	assert_int_equal(fi, N_COUNTIES);
	json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	assert_non_null(json);
	e = maps_zones_parse(json, strlen(json), MAPS_GCJ02, &z, err, sizeof(err));
	cJSON_free(json);
	if (e != MAPS_OK) {
		print_error("%s\n", err);
		fail();
	}
	assert_int_equal(maps_zones_count(z), N_COUNTIES);

	/* Each county seat (DataV "center", GCJ-02, converted to WGS-84) lies in
	 * its own county: 区 urban, 旗 rural, except the documented quirk. */
	snprintf(path, sizeof(path), "%s%s", dir, CENTERS);
	csv = slurp(path, &len);
	assert_non_null(csv);
	for (line = strchr(csv, '\n'); line != NULL && line[1] != '\0';
	    line = strchr(line, '\n')) {
		char name[128], level[32];
		long code;
		double glat, glon, lat, lon;

		line++;
		code = column_long(line, ',', 0);
		assert_int_equal(column(line, ',', 1, name, sizeof(name)), 0);
		assert_int_equal(column(line, ',', 2, level, sizeof(level)), 0);
		if (strcmp(level, "district") != 0)
			continue;	/* the 12 prefectures */
		glon = column_double(line, ',', 4);
		glat = column_double(line, ',', 5);
		assert_true(isfinite(glat) && isfinite(glon));
		maps_gcj02_to_wgs84(glat, glon, &lat, &lon);
		if (maps_zones_lookup(z, lat, lon, MAPS_ZONE_REMOTE, &h) != 1) {
			print_error("%ld %s: centre %.6f,%.6f in no county\n", code, name, lat, lon);
			fail();
		}
		if (code == QUIRK_EJIN_HORO) {
			assert_int_equal(adcodes[h.feature], KANGBASHI);
			assert_int_equal(h.zone, MAPS_ZONE_URBAN);
			continue;
		}
		if (adcodes[h.feature] != code) {
			print_error("%ld %s: centre lands in %ld %s\n", code, name,
			    adcodes[h.feature], h.name);
			fail();
		}
		assert_string_equal(h.name, name);
		if (ends_with(name, "区")) {
			assert_int_equal(h.zone, MAPS_ZONE_URBAN);
			n_qu++;
		} else if (ends_with(name, "旗")) {
			assert_int_equal(h.zone, MAPS_ZONE_RURAL);
			n_qi++;
		} else {
			assert_int_equal(h.zone, MAPS_ZONE_RURAL);
			n_other++;
		}
	}
	free(csv);
	/* README: 23 区, 52 旗 (48 + 3 自治旗 + 1 联合旗, one the quirk), 28 县 and 县级市 */
	assert_int_equal(n_qu, 23);
	assert_int_equal(n_qi, 51);
	assert_int_equal(n_other, 28);

	/* Jagdaqi (GeoNames, WGS-84): administered by Heilongjiang, in no polygon. */
	snprintf(path, sizeof(path), "%s%s", dir, GEONAMES);
	tsv = slurp(path, &tlen);
	assert_non_null(tsv);
	for (line = tsv; line != NULL && *line != '\0'; line = strchr(line, '\n')) {
		char name[64];

		if (*line == '\n')
			line++;
		if (column(line, '\t', 1, name, sizeof(name)) == -1 ||
		    strcmp(name, "Jagdaqi") != 0)
			continue;
		assert_int_equal(maps_zones_lookup(z, column_double(line, '\t', 4),
		    column_double(line, '\t', 5), MAPS_ZONE_RURAL, &h), 0);
		assert_int_equal(h.feature, -1);
		jagdaqi = 1;
	}
	free(tsv);
	assert_int_equal(jagdaqi, 1);
	maps_zones_free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hole),
		cmocka_unit_test(test_multipolygon),
		cmocka_unit_test(test_orientation),
		cmocka_unit_test(test_grid_edges),
		cmocka_unit_test(test_overlap_priority),
		cmocka_unit_test(test_unclosed_ring),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated_and_buffers),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_demo_file),
		cmocka_unit_test(test_real_datav_counties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
