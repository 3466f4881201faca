/*
 * test_maps_build.c: zone rules and the zone builder (maps/build.c), and the
 * project's Inner Mongolia rule file on the real DataV county boundaries.
 *
 * Groups: rule-file parsing (every error names file:line), precedence
 * independent of line order, vertex conversion GCJ-02 -> WGS-84, malformed
 * administrative documents (errors name the JSON path), the output cap; and
 * the real data, read in place from $LINECREW_SHARED/data/maps (default
 * ../shared), skipped with a clear line when absent: every 区 seat urban,
 * every 旗 seat rural except the three Alxa banners listed remote, the remote
 * NOAA stations there remote, Jagdaqi in no polygon.
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

#include "maps.h"

#define RULE_FILE	"maps/zones/inner-mongolia.rules"
#define ERRCAP		512
#define OUT_CAP		(64u * 1024 * 1024)

static struct maps_rules *
rules_ok(const char *text)
{
	struct maps_rules *rs = NULL;
	char err[ERRCAP];

	if (maps_rules_parse(text, strlen(text), "t.rules", &rs, err, sizeof(err)) != MAPS_OK) {
		print_error("rules: %s\n", err);
		fail();
	}
	return rs;
}

static void
rules_bad(const char *text, const char *want)
{
	struct maps_rules *rs = (struct maps_rules *)1;
	char err[ERRCAP] = "";
	enum maps_err e = maps_rules_parse(text, strlen(text), "t.rules", &rs, err, sizeof(err));

	if (e != MAPS_E_RULE || strstr(err, want) == NULL) {
		print_error("rules \"%s\": got %d \"%s\", want MAPS_E_RULE naming \"%s\"\n",
		    text, e, err, want);
		fail();
	}
	assert_null(rs);
}

static void
test_rules_errors(void **state)
{
	(void)state;
	rules_bad("urbane suffix 区\n", "t.rules:1: \"urbane\"");
	rules_bad("# ok\nurban prefix 区\n", "t.rules:2: \"prefix\"");
	rules_bad("urban suffix\n", "t.rules:1: urban suffix: no words");
	rules_bad("urban\n", "t.rules:1: expected");
	rules_bad("remote adcode 15292\n", "t.rules:1: \"15292\" is not a 6-digit adcode");
	rules_bad("remote adcode 15292x\n", "not a 6-digit adcode");
	rules_bad("urban suffix 区\nrural suffix 旗 区\n", "t.rules:2: \"区\" is already listed on line 1");
	rules_bad("remote adcode 152921\nurban adcode 152921\n", "t.rules:2: \"152921\" is already listed");
	rules_bad("default rural\ndefault urban\n", "t.rules:2: a second default");
	rules_bad("default city\n", "t.rules:1: expected \"default");
	rules_bad("default\n", "t.rules:1:");
	rules_bad("# nothing\n\n", "t.rules: no rules");
	rules_bad("", "no rules");
	/* a NUL byte inside a line */
	{
		struct maps_rules *rs;
		char err[ERRCAP];

		assert_int_equal(maps_rules_parse("urban suffix \0区\n", 17, NULL, &rs, err,
		    sizeof(err)), MAPS_E_RULE);
		assert_non_null(strstr(err, "rules:1: a NUL byte"));
	}
}

#define ADMIN_FEATURE(name, adcode, geom) \
	"{\"type\":\"Feature\",\"properties\":{\"name\":\"" name "\",\"adcode\":" adcode \
	"},\"geometry\":" geom "}"
#define ADMIN(...) "{\"type\":\"FeatureCollection\",\"features\":[" __VA_ARGS__ "]}"
#define SQ(x, y) "{\"type\":\"Polygon\",\"coordinates\":[[[" #x "," #y "],[" #x ".1," #y \
	"],[" #x ".1," #y ".1],[" #x "," #y ".1],[" #x "," #y "]]]}"

/* Build doc with rules text (GCJ-02); returns the loaded output, stats filled. */
static struct maps_zones *
build_ok(const char *doc, const char *rules, struct maps_build_stats *st)
{
	struct maps_rules *rs = rules_ok(rules);
	struct maps_buf out;
	struct maps_zones *z = NULL;
	char err[ERRCAP];

	maps_buf_init(&out, OUT_CAP);
	if (maps_build(doc, strlen(doc), MAPS_GCJ02, rs, &out, st, err, sizeof(err)) != MAPS_OK) {
		print_error("build: %s\n", err);
		fail();
	}
	if (maps_zones_parse(out.p, out.len, MAPS_WGS84, &z, err, sizeof(err)) != MAPS_OK) {
		print_error("output does not load: %s\n%s\n", err, out.p);
		fail();
	}
	maps_buf_free(&out);
	maps_rules_free(rs);
	return z;
}

static void
build_bad(const char *doc, const char *rules, enum maps_err want, const char *msg)
{
	struct maps_rules *rs = rules_ok(rules);
	struct maps_buf out;
	char err[ERRCAP] = "";
	enum maps_err e;

	maps_buf_init(&out, OUT_CAP);
	e = maps_build(doc, strlen(doc), MAPS_GCJ02, rs, &out, NULL, err, sizeof(err));
	if (e != want || strstr(err, msg) == NULL) {
		print_error("got %d \"%s\", want %d naming \"%s\"\n", e, err, want, msg);
		fail();
	}
	maps_buf_free(&out);
	maps_rules_free(rs);
}

/* The zone of feature i: look up its square's centre (converted like the vertices). */
static enum maps_zone
zone_of(const struct maps_zones *z, double glat, double glon, const char **name)
{
	struct maps_zone_hit h;
	double lat, lon;

	maps_gcj02_to_wgs84(glat, glon, &lat, &lon);
	assert_int_equal(maps_zones_lookup(z, lat, lon, MAPS_ZONE_URBAN, &h), 1);
	*name = h.name;
	return h.zone;
}

/* adcode > name > longest suffix > default, whatever the order of the lines. */
static void
test_precedence(void **state)
{
	static const char *doc = ADMIN(
	    ADMIN_FEATURE("新城区", "150102", SQ(111, 40)) ","
	    ADMIN_FEATURE("康巴什区", "150603", SQ(112, 40)) ","
	    ADMIN_FEATURE("鄂温克族自治旗", "150724", SQ(113, 40)) ","
	    ADMIN_FEATURE("阿拉善左旗", "\"152921\"", SQ(114, 40)) ","
	    ADMIN_FEATURE("某某镇", "150999", SQ(115, 40)));
	static const char *orders[] = {
	    "urban suffix 区\nrural suffix 旗\nremote suffix 自治旗\nrural name 康巴什区\n"
	    "urban adcode 152921\ndefault remote\n",
	    "default remote\nurban adcode 152921\nrural name 康巴什区\nremote suffix 自治旗\n"
	    "rural suffix 旗\nurban suffix 区   # trailing comment\n",
	};
	struct maps_build_stats st;
	const char *name;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct maps_zones *z = build_ok(doc, orders[i], &st);

		assert_int_equal(zone_of(z, 40.05, 111.05, &name), MAPS_ZONE_URBAN);
		assert_string_equal(name, "新城区");
		assert_int_equal(zone_of(z, 40.05, 112.05, &name), MAPS_ZONE_RURAL);	/* name */
		assert_int_equal(zone_of(z, 40.05, 113.05, &name), MAPS_ZONE_REMOTE);	/* 自治旗 */
		assert_int_equal(zone_of(z, 40.05, 114.05, &name), MAPS_ZONE_URBAN);	/* adcode */
		assert_int_equal(zone_of(z, 40.05, 115.05, &name), MAPS_ZONE_REMOTE);	/* default */
		assert_int_equal(st.features, 5);
		assert_int_equal(st.vertices, 25);
		assert_int_equal(st.by_default, 1);
		assert_int_equal(st.by_zone[MAPS_ZONE_URBAN], 2);
		assert_int_equal(st.by_zone[MAPS_ZONE_RURAL], 1);
		assert_int_equal(st.by_zone[MAPS_ZONE_REMOTE], 2);
		maps_zones_free(z);
	}
}

/* Every vertex is converted GCJ-02 -> WGS-84 and written to 1e-7 degrees. */
static void
test_vertices_converted(void **state)
{
	static const char *doc = ADMIN(ADMIN_FEATURE("回民区", "150103",
	    "{\"type\":\"MultiPolygon\",\"coordinates\":[[[[111.6,40.8],[111.7,40.8],"
	    "[111.7,40.9],[111.6,40.9],[111.6,40.8]],[[111.64,40.84],[111.66,40.84],"
	    "[111.66,40.86],[111.64,40.84]]],[[[112,41],[112.1,41],[112,41.1],[112,41]]]]}"));
	static const double gcj[][2] = { { 111.6, 40.8 }, { 111.7, 40.8 }, { 111.7, 40.9 },
	    { 111.6, 40.9 } };
	struct maps_zones *z;
	const double *xy;
	size_t n, nr;
	enum maps_zone zn;
	const char *name;

	(void)state;
	z = build_ok(doc, "urban suffix 区\n", NULL);
	assert_int_equal(maps_zones_polygons(z), 2);
	assert_int_equal(maps_zones_polygon(z, 0, &zn, &name, &nr), 0);
	assert_int_equal(nr, 2);	/* the hole survives */
	assert_int_equal(maps_zones_ring(z, 0, 0, &xy, &n), 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < 4; i++) {
		double lat, lon;

		maps_gcj02_to_wgs84(gcj[i][1], gcj[i][0], &lat, &lon);
		assert_true(fabs(xy[2 * i] - lon) <= 0.6e-7);
		assert_true(fabs(xy[2 * i + 1] - lat) <= 0.6e-7);
		/* and the shift is real: hundreds of metres west */
		assert_true(gcj[i][0] - xy[2 * i] > 0.005);
	}
	assert_int_equal(maps_zones_ring(z, 0, 2, &xy, &n), -1);
	assert_int_equal(maps_zones_polygon(z, 2, &zn, &name, &nr), -1);
	maps_zones_free(z);
}

static void
test_build_errors(void **state)
{
	const char *r = "urban suffix 区\ndefault rural\n";

	(void)state;
	build_bad("[1]", r, MAPS_E_JSON, "type: not \"FeatureCollection\"");
	build_bad("{\"type\":\"FeatureCollection\",\"features\":[]}", r, MAPS_E_JSON, "features");
	build_bad("{\"type\":\"Feature", r, MAPS_E_JSON, "not JSON");
	build_bad(ADMIN("{\"type\":\"Feature\",\"geometry\":" SQ(1, 1) "}"), r,
	    MAPS_E_PROPERTY, "features[0].properties: missing");
	build_bad(ADMIN(ADMIN_FEATURE("a区", "150102", SQ(1, 1)) ","
	    "{\"type\":\"Feature\",\"properties\":{\"adcode\":150103},\"geometry\":" SQ(1, 1) "}"),
	    r, MAPS_E_PROPERTY, "features[1].properties.name");
	build_bad(ADMIN(ADMIN_FEATURE("a区", "1501", SQ(1, 1))), r, MAPS_E_PROPERTY,
	    "features[0].properties.adcode");
	build_bad(ADMIN(ADMIN_FEATURE("a区", "150102.5", SQ(1, 1))), r, MAPS_E_PROPERTY,
	    "features[0].properties.adcode");
	build_bad(ADMIN(ADMIN_FEATURE("a区", "150102", "{\"type\":\"Point\",\"coordinates\":[1,1]}")),
	    r, MAPS_E_GEOMETRY, "features[0].geometry.type");
	build_bad(ADMIN(ADMIN_FEATURE("a区", "150102", "{\"type\":\"Polygon\",\"coordinates\":"
	    "[[[1,1],[2,1],[2,\"x\"]]]}")), r, MAPS_E_GEOMETRY,
	    "features[0].geometry.coordinates[0][2]: not a [lon, lat] pair");
	build_bad(ADMIN(ADMIN_FEATURE("a区", "150102", "{\"type\":\"MultiPolygon\",\"coordinates\":"
	    "[[[[1,1],[2,1],[2,2]]],[[[1,1],[200,1],[2,2]]]]}")), r, MAPS_E_RANGE,
	    "features[0].geometry.coordinates[1][0][1]");
	build_bad(ADMIN(ADMIN_FEATURE("a区", "150102", "{\"type\":\"Polygon\"}")), r,
	    MAPS_E_GEOMETRY, "features[0].geometry.coordinates: missing");
	/* no default and no matching rule */
	build_bad(ADMIN(ADMIN_FEATURE("b镇", "150102", SQ(1, 1))), "urban suffix 区\n",
	    MAPS_E_RULE, "features[0] (150102 b镇): no rule matches");
	/* a listed adcode or name that matches nothing is a typo, not silence */
	build_bad(ADMIN(ADMIN_FEATURE("a区", "150102", SQ(1, 1))),
	    "urban suffix 区\nremote adcode 152921\n", MAPS_E_RULE,
	    "t.rules:2: adcode 152921 matches no feature");
	build_bad(ADMIN(ADMIN_FEATURE("a区", "150102", SQ(1, 1))),
	    "urban suffix 区\nremote name 额济纳旗\n", MAPS_E_RULE,
	    "t.rules:2: name \"额济纳旗\" matches no feature");
}

/* The output cap: a fixed buffer too small reports MAPS_E_FULL, never a cut file as OK. */
static void
test_output_cap(void **state)
{
	const char *doc = ADMIN(ADMIN_FEATURE("a区", "150102", SQ(111, 40)));
	struct maps_rules *rs;
	struct maps_buf out;
	char mem[100], err[ERRCAP];

	(void)state;
	rs = rules_ok("urban suffix 区\n");
	maps_buf_fixed(&out, mem, sizeof(mem));
	assert_int_equal(maps_build(doc, strlen(doc), MAPS_GCJ02, rs, &out, NULL, err,
	    sizeof(err)), MAPS_E_FULL);
	assert_non_null(strstr(err, "output"));
	assert_true(out.len < sizeof(mem) && mem[out.len] == '\0');
	maps_buf_init(&out, 300);
	assert_int_equal(maps_build(doc, strlen(doc), MAPS_GCJ02, rs, &out, NULL, err,
	    sizeof(err)), MAPS_E_FULL);
	maps_buf_free(&out);
	maps_rules_free(rs);
}

/* ---- real data ---- */

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

/* Field i (0-based) of a delimited line, quotes stripped; -1 when absent. */
static int
field(const char *line, char delim, int i, char *out, size_t cap)
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
	if (*p == '"' && q > p + 1 && q[-1] == '"') {
		p++;
		q--;
	}
	if ((size_t)(q - p) >= cap)
		return -1;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return 0;
}

static double
field_double(const char *line, char delim, int i)
{
	char buf[64], *end;
	double v;

	if (field(line, delim, i, buf, sizeof(buf)) == -1 || buf[0] == '\0')
		return NAN;
	v = strtod(buf, &end);
	return *end == '\0' ? v : NAN;
}

#define COUNTIES	"/datav/150000_counties_merged.json"
#define CENTERS		"/places/datav_150000_admin_centers_gcj02.csv"
#define GEONAMES	"/places/geonames_cities15000_inner_mongolia_2013.tsv"
#define NOAA		"/places/noaa_isd_stations_inner_mongolia.csv"
#define QUIRK_EJIN_HORO	150627	/* its DataV centre lies in 150603 Kangbashi */

static int
is_alxa(long code)
{
	return code == 152921 || code == 152922 || code == 152923;
}

static void
test_real_inner_mongolia(void **state)
{
	const char *shared = getenv("LINECREW_SHARED");
	char dir[512], path[640], err[ERRCAP], *admin, *rtext, *csv, *line;
	size_t alen, rlen, clen;
	struct maps_rules *rs;
	struct maps_buf out;
	struct maps_build_stats st;
	struct maps_zones *z = NULL;
	struct maps_zone_hit h;
	int n_qu = 0, n_qi = 0, n_remote = 0, n_other = 0, n_stations = 0, jagdaqi = 0;
	struct stat sb;

	(void)state;
	if (shared == NULL || shared[0] == '\0')
		shared = "../shared";
	snprintf(dir, sizeof(dir), "%s/data/maps", shared);
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		printf("SKIPPED: %s not present\n", dir);
		skip();
	}
	snprintf(path, sizeof(path), "%s%s", dir, COUNTIES);
	admin = slurp(path, &alen);
	assert_non_null(admin);
	rtext = slurp(RULE_FILE, &rlen);
	assert_non_null(rtext);
	assert_int_equal(maps_rules_parse(rtext, rlen, RULE_FILE, &rs, err, sizeof(err)), MAPS_OK);
	maps_buf_init(&out, OUT_CAP);
	if (maps_build(admin, alen, MAPS_GCJ02, rs, &out, &st, err, sizeof(err)) != MAPS_OK) {
		print_error("%s\n", err);
		fail();
	}
	free(admin);
	free(rtext);
	maps_rules_free(rs);
	/* README of the data: 103 units, 28,628 vertices; 23 区, 3 Alxa banners */
	assert_int_equal(st.features, 103);
	assert_int_equal(st.vertices, 28628);
	assert_int_equal(st.by_zone[MAPS_ZONE_URBAN], 23);
	assert_int_equal(st.by_zone[MAPS_ZONE_REMOTE], 3);
	assert_int_equal(st.by_zone[MAPS_ZONE_RURAL], 77);
	assert_int_equal(st.by_default, 0);
	assert_int_equal(maps_zones_parse(out.p, out.len, MAPS_WGS84, &z, err, sizeof(err)),
	    MAPS_OK);
	maps_buf_free(&out);

	/* Each seat (DataV "center", GCJ-02 -> WGS-84) in its own unit and class. */
	snprintf(path, sizeof(path), "%s%s", dir, CENTERS);
	csv = slurp(path, &clen);
	assert_non_null(csv);
	for (line = strchr(csv, '\n'); line != NULL && line[1] != '\0'; line = strchr(line, '\n')) {
		char name[128], level[32];
		long code;
		double lat, lon;

		line++;
		code = (long)field_double(line, ',', 0);
		assert_int_equal(field(line, ',', 1, name, sizeof(name)), 0);
		assert_int_equal(field(line, ',', 2, level, sizeof(level)), 0);
		if (strcmp(level, "district") != 0)
			continue;
		maps_gcj02_to_wgs84(field_double(line, ',', 5), field_double(line, ',', 4),
		    &lat, &lon);
		assert_int_equal(maps_zones_lookup(z, lat, lon, MAPS_ZONE_URBAN, &h), 1);
		if (code == QUIRK_EJIN_HORO) {
			assert_string_equal(h.name, "康巴什区");
			assert_int_equal(h.zone, MAPS_ZONE_URBAN);
			continue;
		}
		if (strcmp(h.name, name) != 0) {
			print_error("%ld %s: seat lands in %s\n", code, name, h.name);
			fail();
		}
		if (is_alxa(code)) {
			assert_int_equal(h.zone, MAPS_ZONE_REMOTE);
			n_remote++;
		} else if (ends_with(name, "区")) {
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
	assert_int_equal(n_qu, 23);
	assert_int_equal(n_qi, 48);	/* 52 banners less the quirk, less Alxa Left, Right, Ejin */
	assert_int_equal(n_remote, 3);
	assert_int_equal(n_other, 28);

	/* NOAA stations in the Alxa desert (WGS-84) are remote. */
	snprintf(path, sizeof(path), "%s%s", dir, NOAA);
	csv = slurp(path, &clen);
	assert_non_null(csv);
	for (line = csv; line != NULL && *line != '\0'; line = strchr(line, '\n')) {
		char name[64];

		if (*line == '\n')
			line++;
		if (field(line, ',', 2, name, sizeof(name)) == -1)
			continue;
		if (strcmp(name, "EJIN QI") != 0 && strcmp(name, "GUAIZIHU") != 0 &&
		    strcmp(name, "BAYAN MOD") != 0)
			continue;
		assert_int_equal(maps_zones_lookup(z, field_double(line, ',', 6),
		    field_double(line, ',', 7), MAPS_ZONE_URBAN, &h), 1);
		assert_int_equal(h.zone, MAPS_ZONE_REMOTE);
		n_stations++;
	}
	free(csv);
	assert_int_equal(n_stations, 3);

	/* Jagdaqi (GeoNames, WGS-84): Heilongjiang's enclave, in no polygon; Hohhot urban. */
	snprintf(path, sizeof(path), "%s%s", dir, GEONAMES);
	csv = slurp(path, &clen);
	assert_non_null(csv);
	for (line = csv; line != NULL && *line != '\0'; line = strchr(line, '\n')) {
		char name[64];
		double lat, lon;

		if (*line == '\n')
			line++;
		if (field(line, '\t', 1, name, sizeof(name)) == -1)
			continue;
		lat = field_double(line, '\t', 4);
		lon = field_double(line, '\t', 5);
		if (strcmp(name, "Jagdaqi") == 0) {
			assert_int_equal(maps_zones_lookup(z, lat, lon, MAPS_ZONE_RURAL, &h), 0);
			jagdaqi = 1;
		} else if (strcmp(name, "Hohhot") == 0) {
			assert_int_equal(maps_zones_lookup(z, lat, lon, MAPS_ZONE_RURAL, &h), 1);
			assert_int_equal(h.zone, MAPS_ZONE_URBAN);
			assert_string_equal(h.name, "回民区");
		}
	}
	free(csv);
	assert_int_equal(jagdaqi, 1);

	/* The index answers exactly as the full scan, on a dense grid over the province. */
	for (double lat = 37.3; lat <= 53.4; lat += 0.05) {
		for (double lon = 97.1; lon <= 126.1; lon += 0.05) {
			struct maps_zone_hit a, b;

			assert_int_equal(maps_zones_lookup(z, lat, lon, MAPS_ZONE_RURAL, &a),
			    maps_zones_lookup_scan(z, lat, lon, MAPS_ZONE_RURAL, &b));
			assert_int_equal(a.feature, b.feature);
		}
	}
	maps_zones_free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_errors),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_vertices_converted),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_real_inner_mongolia),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
