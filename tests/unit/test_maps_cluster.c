/*
 * test_maps_cluster.c: outage clusters (maps/cluster.c).
 *
 * Hand-made cases in Hohhot (a street of calls, a chain longer than the
 * radius, the same place hours later), errors naming the report, and a
 * property test: on pseudo-random reports (fixed seed) in a town, across cell
 * boundaries and at 53 N (Mohe, near the province's north), the grid finds
 * exactly the clusters of a brute-force O(n^2) pairwise linkage.
 */
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

#define T0_MS		1764000000000LL
#define MIN_MS		60000LL
#define M_PER_DEG_LAT	111195.0	/* on the mean sphere */

/* (lat, lon) moved north by dn metres and east by de metres (small offsets). */
static struct maps_report
at(double lat, double lon, double dn, double de, int64_t min)
{
	struct maps_report r;

	r.lat = lat + dn / M_PER_DEG_LAT;
	r.lon = lon + de / (M_PER_DEG_LAT * cos(lat * M_PI / 180));
	r.at_ms = T0_MS + min * MIN_MS;
	return r;
}

static void
test_cluster_street(void **state)
{
	const double lat = 40.842, lon = 111.750;	/* the demo site, Hohhot */
	struct maps_report r[] = {
		at(lat, lon, 0, 0, 0),
		at(lat, lon, 0, 150, 3),	/* same street, 150 m, 3 min */
		at(lat, lon, 5000, 0, 2),	/* 5 km north: another outage */
		at(lat, lon, 0, 300, 9),	/* chain: 150 m from #1, 300 m from #0 */
		at(lat, lon, 0, 20, 240),	/* same place, 4 h later */
		at(lat, lon, 5000, 120, 10),	/* joins #2 */
	};
	int ids[6];

	(void)state;
	assert_int_equal(maps_cluster(r, 6, 200, 30 * MIN_MS, ids, NULL, 0), 3);
	/* numbered by first report: {0,1,3} 0, {2,5} 1, {4} 2 */
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 0);
	assert_int_equal(ids[3], 0);
	assert_int_equal(ids[2], 1);
	assert_int_equal(ids[5], 1);
	assert_int_equal(ids[4], 2);
	/* a radius below 150 m breaks the chain */
	assert_int_equal(maps_cluster(r, 6, 100, 30 * MIN_MS, ids, NULL, 0), 6);
	/* a window of 2 min splits #0 and #1 (3 min apart) */
	assert_int_equal(maps_cluster(r, 6, 200, 2 * MIN_MS, ids, NULL, 0), 6);
	/* a day-long window joins the late call too */
	assert_int_equal(maps_cluster(r, 6, 200, 24 * 60 * MIN_MS, ids, NULL, 0), 2);
	assert_int_equal(ids[4], 0);
	/* zero window: only simultaneous reports link */
	r[1].at_ms = r[0].at_ms;
	assert_int_equal(maps_cluster(r, 6, 200, 0, ids, NULL, 0), 5);
	assert_int_equal(ids[1], 0);
	assert_int_equal(maps_cluster(r, 0, 200, 0, ids, NULL, 0), 0);
}

static void
cluster_bad(const struct maps_report *r, size_t n, double radius, int64_t win,
    const char *want)
{
	int ids[4];
	char err[128] = "";

	if (maps_cluster(r, n, radius, win, ids, err, sizeof(err)) != -1 ||
	    strstr(err, want) == NULL) {
		print_error("got \"%s\", want -1 naming \"%s\"\n", err, want);
		fail();
	}
}

static void
test_cluster_errors(void **state)
{
	struct maps_report r[2] = { { 40.8, 111.7, T0_MS }, { 40.8, 111.7, T0_MS } };

	(void)state;
	cluster_bad(r, 2, 0, 0, "radius_m");
	cluster_bad(r, 2, NAN, 0, "radius_m");
	cluster_bad(r, 2, 200001, 0, "radius_m");
	cluster_bad(r, 2, 200, -1, "window_ms");
	r[1].lat = NAN;
	cluster_bad(r, 2, 200, 0, "reports[1].lat");
	r[1].lat = 40;
	r[1].lon = 181;
	cluster_bad(r, 2, 200, 0, "reports[1].lon");
	cluster_bad(NULL, 2, 200, 0, "reports");
}

/* Brute force: link every pair, union-find by smallest index, number the same way. */
static long
brute(const struct maps_report *r, size_t n, double radius, int64_t win, int *ids)
{
	size_t *par = malloc(n * sizeof(*par));
	long k = 0;

	assert_non_null(par);
	for (size_t i = 0; i < n; i++)
		par[i] = i;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			int64_t dt = r[i].at_ms - r[j].at_ms;
			size_t a = i, b = j;

			if ((dt < 0 ? -dt : dt) > win ||
			    maps_haversine_m(r[i].lat, r[i].lon, r[j].lat, r[j].lon) > radius)
				continue;
			while (par[a] != a)
				a = par[a];
			while (par[b] != b)
				b = par[b];
			if (a < b)
				par[b] = a;
			else if (b < a)
				par[a] = b;
		}
	}
	for (size_t i = 0; i < n; i++) {
		size_t a = i;

		while (par[a] != a)
			a = par[a];
		ids[i] = a == i ? (int)k++ : ids[a];
	}
	free(par);
	return k;
}

static uint64_t
lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 11;
}

static double
unif(uint64_t *s)
{
	return (double)lcg(s) / (double)(1ULL << 53);
}

static void
test_cluster_matches_brute_force(void **state)
{
	static const struct { double lat, lon, span_deg, radius; } towns[] = {
		{ 40.80, 111.60, 0.15, 300 },	/* Hohhot */
		{ 52.95, 122.50, 0.10, 500 },	/* Mohe, 53 N: narrow longitude degrees */
		{ 39.60, 109.70, 0.02, 50 },	/* Ordos, dense */
	};
	const size_t n = 1500;
	struct maps_report *r = malloc(n * sizeof(*r));
	int *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b));
	uint64_t seed = 42;

	(void)state;
	assert_true(r != NULL && a != NULL && b != NULL);
	for (size_t t = 0; t < sizeof(towns) / sizeof(towns[0]); t++) {
		long ka, kb;

		for (size_t i = 0; i < n; i++) {
			r[i].lat = towns[t].lat + unif(&seed) * towns[t].span_deg;
			r[i].lon = towns[t].lon + unif(&seed) * towns[t].span_deg;
			r[i].at_ms = T0_MS + (int64_t)(unif(&seed) * 6 * 60) * MIN_MS;
		}
		ka = maps_cluster(r, n, towns[t].radius, 20 * MIN_MS, a, NULL, 0);
		kb = brute(r, n, towns[t].radius, 20 * MIN_MS, b);
		assert_int_equal(ka, kb);
		assert_true(ka > 1 && (size_t)ka < n);	/* the case is not trivial */
		assert_memory_equal(a, b, n * sizeof(*a));
	}
	free(r);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster_street),
		cmocka_unit_test(test_cluster_errors),
		cmocka_unit_test(test_cluster_matches_brute_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
