/*
 * bench_maps_zones.c: zone lookup with the grid index against the plain
 * point-in-polygon scan (the baseline, same points, same run), and the other
 * per-order computations of maps/: ranking 5,000 crews, clustering 5,000
 * reports, the board's SVG.
 *
 * Data: the real DataV county boundaries of Inner Mongolia (GCJ-02, converted
 * on load by the project's rule file) read in place from
 * $LINECREW_SHARED/data/maps (default ../shared; "SKIPPED" when absent), and a
 * synthetic set of 2,000 polygons of 1,000 vertices each (2,000,000 vertices)
 * over the same box. Points are pseudo-random (fixed seed) in the box.
 *
 * Output (tests/bench/run's contract): per benchmark one line
 *     BENCH <name> <metric> <unit> <min> <median> <max> [baseline <name> <min> <median> <max>]
 * over LINECREW_BENCH_RUNS repetitions (default 5), then a readable table. The
 * index and the scan must agree on every point: if not, "FAIL:" and exit 1.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maps.h"

#define MAXRUNS		50
#define NPOINTS		20000
#define NSYN_POLY	2000
#define NSYN_VERT	1000
#define NCREWS		5000
#define NREPORTS	5000
#define BOX_LAT0	37.4
#define BOX_LAT1	53.3
#define BOX_LON0	97.2
#define BOX_LON1	126.0

static int runs = 5, failed;
static char table[8192];
static size_t tlen;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t seed = 12345;

static double
unif(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(seed >> 11) / (double)(1ULL << 53);
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stat3 {
	double min, med, max;
};

static struct stat3
stats(double *v, int n)
{
	struct stat3 s;

	qsort(v, (size_t)n, sizeof(*v), dcmp);
	s.min = v[0];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.max = v[n - 1];
	return s;
}

static void
report(const char *name, const char *metric, const char *unit, struct stat3 a,
    const char *bname, const struct stat3 *b)
{
	int n;

	printf("BENCH %s %s %s %.4g %.4g %.4g", name, metric, unit, a.min, a.med, a.max);
	if (b != NULL)
		printf(" baseline %s %.4g %.4g %.4g", bname, b->min, b->med, b->max);
	printf("\n");
	n = snprintf(table + tlen, sizeof(table) - tlen, "%-22s %-16s %9.3g %9.3g %9.3g %-4s",
	    name, metric, a.min, a.med, a.max, unit);
	if (n > 0 && (size_t)n < sizeof(table) - tlen)
		tlen += (size_t)n;
	if (b != NULL) {
		n = snprintf(table + tlen, sizeof(table) - tlen,
		    "   %-5s %9.3g %9.3g %9.3g  (x%.0f)", bname, b->min, b->med, b->max,
		    b->med / a.med);
		if (n > 0 && (size_t)n < sizeof(table) - tlen)
			tlen += (size_t)n;
	}
	if (tlen + 1 < sizeof(table))
		table[tlen++] = '\n';
}

/* Index vs scan on pts; ns per point for each, over runs. */
static void
bench_lookup(const char *name, const struct maps_zones *z, const double *pts, size_t n)
{
	double ti[MAXRUNS], ts[MAXRUNS];
	struct stat3 a, b;
	size_t hits = 0;

	for (size_t i = 0; i < n; i++) {
		struct maps_zone_hit h1, h2;

		hits += (size_t)maps_zones_lookup(z, pts[2 * i], pts[2 * i + 1], MAPS_ZONE_RURAL, &h1);
		maps_zones_lookup_scan(z, pts[2 * i], pts[2 * i + 1], MAPS_ZONE_RURAL, &h2);
		if (h1.feature != h2.feature) {
			printf("FAIL: %s: index says feature %d, scan %d at %.6f,%.6f\n", name,
			    h1.feature, h2.feature, pts[2 * i], pts[2 * i + 1]);
			failed = 1;
			return;
		}
	}
	for (int r = 0; r < runs; r++) {
		struct maps_zone_hit h;
		volatile size_t sink = 0;
		double t0 = now_s();

		for (size_t i = 0; i < n; i++)
			sink += (size_t)maps_zones_lookup(z, pts[2 * i], pts[2 * i + 1],
			    MAPS_ZONE_RURAL, &h);
		ti[r] = (now_s() - t0) / (double)n * 1e9;
		t0 = now_s();
		for (size_t i = 0; i < n; i++)
			sink += (size_t)maps_zones_lookup_scan(z, pts[2 * i], pts[2 * i + 1],
			    MAPS_ZONE_RURAL, &h);
		ts[r] = (now_s() - t0) / (double)n * 1e9;
		(void)sink;
	}
	a = stats(ti, runs);
	b = stats(ts, runs);
	report(name, "lookup_per_point", "ns", a, "scan", &b);
	printf("# %s: %zu polygons, %zu of %zu points inside one\n", name,
	    maps_zones_polygons(z), hits, n);
}

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

/* The real counties through the builder and the project's rules; NULL when absent. */
static struct maps_zones *
real_zones(void)
{
	const char *shared = getenv("LINECREW_SHARED");
	char path[600], err[512];
	char *admin, *rtext;
	size_t alen, rlen;
	struct maps_rules *rs = NULL;
	struct maps_buf out;
	struct maps_zones *z = NULL;

	if (shared == NULL || shared[0] == '\0')
		shared = "../shared";
	snprintf(path, sizeof(path), "%s/data/maps/datav/150000_counties_merged.json", shared);
	if ((admin = slurp(path, &alen)) == NULL) {
		printf("# SKIPPED: %s not present: real county lookups not measured\n", path);
		return NULL;
	}
	if ((rtext = slurp("maps/zones/inner-mongolia.rules", &rlen)) == NULL ||
	    maps_rules_parse(rtext, rlen, "inner-mongolia.rules", &rs, err, sizeof(err)) != MAPS_OK) {
		printf("FAIL: maps/zones/inner-mongolia.rules: cannot read (run from the repo root)\n");
		failed = 1;
		free(admin);
		free(rtext);
		return NULL;
	}
	maps_buf_init(&out, 64u << 20);
	if (maps_build(admin, alen, MAPS_GCJ02, rs, &out, NULL, err, sizeof(err)) != MAPS_OK ||
	    maps_zones_parse(out.p, out.len, MAPS_WGS84, &z, err, sizeof(err)) != MAPS_OK) {
		printf("FAIL: real counties: %s\n", err);
		failed = 1;
	}
	maps_buf_free(&out);
	maps_rules_free(rs);
	free(admin);
	free(rtext);
	return z;
}

/* 2,000 jittered 1000-gons on a 50 x 40 grid over the box, some overlapping. */
static struct maps_zones *
synthetic_zones(void)
{
	struct maps_buf b;
	struct maps_zones *z = NULL;
	char err[256];
	const int cols = 50, rows = NSYN_POLY / 50;
	double cw = (BOX_LON1 - BOX_LON0) / cols, ch = (BOX_LAT1 - BOX_LAT0) / rows;

	maps_buf_init(&b, 256u << 20);
	maps_buf_printf(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
	for (int i = 0; i < NSYN_POLY; i++) {
		double cx = BOX_LON0 + (i % cols + 0.5) * cw, cy = BOX_LAT0 + (i / cols + 0.5) * ch;

		maps_buf_printf(&b, "%s{\"type\":\"Feature\",\"properties\":{\"zone\":\"%s\","
		    "\"name\":\"syn%d\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[",
		    i ? "," : "", i % 3 == 0 ? "urban" : "rural", i);
		for (int k = 0; k < NSYN_VERT; k++) {
			double a = 2 * M_PI * k / NSYN_VERT, r = 0.45 + 0.2 * unif();

			maps_buf_printf(&b, "%s[%.6f,%.6f]", k ? "," : "", cx + r * cw * cos(a),
			    cy + r * ch * sin(a));
		}
		maps_buf_printf(&b, "]]}}");
	}
	maps_buf_printf(&b, "]}");
	if (b.full || maps_zones_parse(b.p, b.len, MAPS_WGS84, &z, err, sizeof(err)) != MAPS_OK) {
		printf("FAIL: synthetic zones: %s\n", b.full ? "buffer cap" : err);
		failed = 1;
	}
	maps_buf_free(&b);
	return z;
}

static void
bench_rank(void)
{
	struct maps_crew *c = malloc(NCREWS * sizeof(*c));
	struct maps_rank *r = malloc(NCREWS * sizeof(*r));
	struct maps_rank_params p;
	double t[MAXRUNS];
	const int64_t now = 1764000000000LL;
	long n = 0;

	if (c == NULL || r == NULL) {
		printf("FAIL: out of memory\n");
		failed = 1;
		free(c);
		free(r);
		return;
	}
	maps_rank_defaults(&p);
	for (int i = 0; i < NCREWS; i++) {
		c[i].lat = BOX_LAT0 + unif() * (BOX_LAT1 - BOX_LAT0);
		c[i].lon = BOX_LON0 + unif() * (BOX_LON1 - BOX_LON0);
		c[i].pos_ms = now - (int64_t)(unif() * 3 * 3600e3);
		c[i].state = (enum maps_crew_state)(i % 4);
		c[i].free_at_ms = now + (int64_t)(unif() * 3600e3);
	}
	for (int k = 0; k < runs; k++) {
		double t0 = now_s();

		for (int rep = 0; rep < 10; rep++)
			n = maps_rank_crews(40.842, 111.750, MAPS_ZONE_URBAN, now, now + 3600000, c,
			    NCREWS, &p, r, NCREWS, NULL, 0);
		t[k] = (now_s() - t0) / 10 * 1e6;
	}
	if (n != NCREWS / 2) {
		printf("FAIL: rank: %ld eligible crews, want %d\n", n, NCREWS / 2);
		failed = 1;
	}
	report("rank_5000_crews", "rank_per_order", "us", stats(t, runs), NULL, NULL);
	free(c);
	free(r);
}

static void
bench_cluster(void)
{
	struct maps_report *rep = malloc(NREPORTS * sizeof(*rep));
	int *ids = malloc(NREPORTS * sizeof(*ids));
	double t[MAXRUNS];
	long k = 0;

	if (rep == NULL || ids == NULL) {
		printf("FAIL: out of memory\n");
		failed = 1;
		free(rep);
		free(ids);
		return;
	}
	/* a busy evening in Hohhot: 5,000 open reports in 30 x 30 km over 12 h */
	for (int i = 0; i < NREPORTS; i++) {
		rep[i].lat = 40.70 + unif() * 0.27;
		rep[i].lon = 111.50 + unif() * 0.36;
		rep[i].at_ms = 1764000000000LL + (int64_t)(unif() * 12 * 3600e3);
	}
	for (int r = 0; r < runs; r++) {
		double t0 = now_s();

		k = maps_cluster(rep, NREPORTS, 300, 30 * 60000, ids, NULL, 0);
		t[r] = (now_s() - t0) * 1e6;
	}
	report("cluster_5000_reports", "cluster_all", "us", stats(t, runs), NULL, NULL);
	printf("# cluster_5000_reports: radius 300 m, window 30 min: %ld clusters\n", k);
	free(rep);
	free(ids);
}

static void
bench_svg(const struct maps_zones *z, const char *name)
{
	struct maps_svg_opts o;
	double t[MAXRUNS];
	size_t bytes = 0;

	maps_svg_defaults(&o);
	for (int r = 0; r < runs; r++) {
		struct maps_buf b;
		double t0 = now_s();

		maps_buf_init(&b, 64u << 20);
		if (maps_svg_render(&b, &o, z, NULL, 0, NULL, 0, 0) != MAPS_OK) {
			printf("FAIL: %s: svg render\n", name);
			failed = 1;
		}
		t[r] = (now_s() - t0) * 1e3;
		bytes = b.len;
		maps_buf_free(&b);
	}
	report(name, "svg_render", "ms", stats(t, runs), NULL, NULL);
	printf("# %s: %zu bytes of SVG at 1000 x 800, tolerance 0.75 px\n", name, bytes);
}

int
main(void)
{
	const char *e = getenv("LINECREW_BENCH_RUNS");
	double *pts = malloc(NPOINTS * 2 * sizeof(*pts));
	struct maps_zones *z;

	if (e != NULL && atoi(e) >= 3)	/* NOLINT: a bench knob, not input */
		runs = atoi(e) > MAXRUNS ? MAXRUNS : atoi(e);
	if (pts == NULL)
		return 1;
	for (size_t i = 0; i < NPOINTS; i++) {
		pts[2 * i] = BOX_LAT0 + unif() * (BOX_LAT1 - BOX_LAT0);
		pts[2 * i + 1] = BOX_LON0 + unif() * (BOX_LON1 - BOX_LON0);
	}
	printf("# maps benchmark: %d runs, min / median / max\n", runs);
	if ((z = real_zones()) != NULL) {
		bench_lookup("zones_real_counties", z, pts, NPOINTS);
		bench_svg(z, "svg_real_counties");
		maps_zones_free(z);
	}
	if ((z = synthetic_zones()) != NULL) {
		bench_lookup("zones_synthetic_2000x1000", z, pts, NPOINTS);
		maps_zones_free(z);
	}
	bench_rank();
	bench_cluster();
	free(pts);
	printf("\n%-22s %-16s %9s %9s %9s %-4s   %-5s %9s %9s %9s\n%s", "benchmark", "metric",
	    "min", "median", "max", "unit", "base", "min", "median", "max", table);
	return failed;
}
