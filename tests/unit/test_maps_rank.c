/*
 * test_maps_rank.c: which crew to send (maps/rank.c).
 *
 * Named places, WGS-84, GeoNames cities15000 (as in ../shared/data/maps/places):
 * Hohhot 40.81056 N 111.65222 E, Baotou 40.65222 N 109.82222 E, Jining (Ulanqab)
 * 41.0275 N 113.10583 E; the fault site and the depot are the demo's (Hohhot,
 * maps/zones/demo-hohhot.geojson, urban core). Great-circle distances from the
 * site for the sanity checks (haversine, R = 6371.0088 km, computed separately
 * in Python): Baotou 163.8 km, Jining 115.7 km, the depot 5.9 km.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "maps.h"

#define SITE_LAT	40.842
#define SITE_LON	111.750
#define DEPOT_LAT	40.815
#define DEPOT_LON	111.690
#define NOW_MS		1764000000000LL		/* 2025-11-24T16:00:00Z */
#define MIN_MS		60000LL
#define URBAN_LIMIT_MS	(60 * MIN_MS)

enum { C_DEPOT, C_BAOTOU, C_JINING, C_OFF, C_BUSY, C_FINISHING, C_DEPOT_STALE, C_NOPOS,
	C_TOO_OLD, NCREWS };

static void
crews_init(struct maps_crew *c)
{
	static const struct { double lat, lon; int64_t age_ms; enum maps_crew_state st; } d[] = {
		[C_DEPOT] = { DEPOT_LAT, DEPOT_LON, 1 * MIN_MS, MAPS_CREW_FREE },
		[C_BAOTOU] = { 40.65222, 109.82222, 1 * MIN_MS, MAPS_CREW_FREE },
		[C_JINING] = { 41.0275, 113.10583, 1 * MIN_MS, MAPS_CREW_FREE },
		[C_OFF] = { SITE_LAT, SITE_LON, 0, MAPS_CREW_OFF },
		[C_BUSY] = { SITE_LAT, SITE_LON, 0, MAPS_CREW_BUSY },
		[C_FINISHING] = { SITE_LAT, SITE_LON, 1 * MIN_MS, MAPS_CREW_FINISHING },
		[C_DEPOT_STALE] = { DEPOT_LAT, DEPOT_LON, 50 * MIN_MS, MAPS_CREW_FREE },
		[C_NOPOS] = { NAN, NAN, 0, MAPS_CREW_FREE },
		[C_TOO_OLD] = { DEPOT_LAT, DEPOT_LON, 180 * MIN_MS, MAPS_CREW_FINISHING },
	};

	for (int i = 0; i < NCREWS; i++) {
		c[i].lat = d[i].lat;
		c[i].lon = d[i].lon;
		c[i].pos_ms = NOW_MS - d[i].age_ms;
		c[i].state = d[i].st;
		c[i].free_at_ms = d[i].st == MAPS_CREW_FINISHING ? NOW_MS + 20 * MIN_MS : 0;
	}
}

static void
test_rank_named_places(void **state)
{
	struct maps_crew c[NCREWS];
	struct maps_rank r[NCREWS];
	struct maps_rank_params p;
	char err[128];
	static const size_t want[] = { C_DEPOT, C_FINISHING, C_DEPOT_STALE, C_JINING,
	    C_BAOTOU, C_NOPOS, C_TOO_OLD };
	static const enum maps_reach reach[] = { MAPS_REACH_YES, MAPS_REACH_YES,
	    MAPS_REACH_MAYBE, MAPS_REACH_NO, MAPS_REACH_NO, MAPS_REACH_UNKNOWN,
	    MAPS_REACH_UNKNOWN };
	double d, v = 30.0 / 3.6;
	long n;

	(void)state;
	crews_init(c);
	maps_rank_defaults(&p);
	n = maps_rank_crews(SITE_LAT, SITE_LON, MAPS_ZONE_URBAN, NOW_MS, NOW_MS + URBAN_LIMIT_MS,
	    c, NCREWS, &p, r, NCREWS, err, sizeof(err));
	assert_int_equal(n, 7);		/* off duty and busy are not offered */
	for (long i = 0; i < n; i++) {
		if (r[i].crew != want[i] || r[i].reach != reach[i]) {
			print_error("rank %ld: crew %zu (%s, eta %.1f / %.1f min), want crew %zu (%s)\n",
			    i, r[i].crew, maps_reach_name(r[i].reach), r[i].eta_s / 60,
			    r[i].eta_hi_s / 60, want[i], maps_reach_name(reach[i]));
			fail();
		}
	}
	/* the depot: 5 min setup + 5.9 km x 1.3 at 30 km/h; one minute old: +333 m */
	d = maps_haversine_m(DEPOT_LAT, DEPOT_LON, SITE_LAT, SITE_LON);
	assert_true(d > 5500 && d < 6300);
	assert_true(fabs(r[0].dist_m - d) < 1e-6);
	assert_true(fabs(r[0].eta_s - (300 + d * 1.3 / v)) < 1e-6);
	assert_true(fabs(r[0].eta_hi_s - r[0].eta_s - (60 * 20 / 3.6) * 1.3 / v) < 1e-6);
	assert_true(r[0].arrive_ms == NOW_MS + (int64_t)llround(r[0].eta_s * 1000));
	/* finishing at the site: 20 min wait + setup, no travel */
	assert_true(fabs(r[1].eta_s - (20 * 60 + 300)) < 1e-6);
	/* the same depot, 50 min old: same nominal ETA, 16.7 km of doubt */
	assert_true(r[2].eta_s == r[0].eta_s);
	assert_true(fabs(r[2].eta_hi_s - r[2].eta_s - (50 * 60 * 20 / 3.6) * 1.3 / v) < 1e-6);
	/* Jining nearer than Baotou */
	assert_true(fabs(r[3].dist_m - 115745) < 100);
	assert_true(fabs(r[4].dist_m - 163760) < 100);
	assert_true(isnan(r[5].dist_m) && isnan(r[6].eta_s) && r[6].arrive_ms == INT64_MAX);

	/* rural speed 60 km/h and a 120 min limit */
	n = maps_rank_crews(SITE_LAT, SITE_LON, MAPS_ZONE_RURAL, NOW_MS, NOW_MS + 120 * MIN_MS,
	    c, NCREWS, &p, r, NCREWS, err, sizeof(err));
	assert_int_equal(n, 7);
	assert_true(fabs(r[0].eta_s - (300 + d * 1.3 / (60 / 3.6))) < 1e-6);
	for (long i = 0; i < n; i++) {
		if (r[i].crew == C_JINING) {
			/* 300 s + 115.7 km x 1.3 / 60 km/h = 2.6 h: late */
			assert_int_equal(r[i].reach, MAPS_REACH_NO);
		}
	}
}

/* Equal ETAs keep the caller's order; a finishing crew already free waits nothing. */
static void
test_rank_ties_and_waits(void **state)
{
	struct maps_crew c[3];
	struct maps_rank r[3];
	struct maps_rank_params p;

	(void)state;
	maps_rank_defaults(&p);
	for (int i = 0; i < 3; i++) {
		c[i].lat = DEPOT_LAT;
		c[i].lon = DEPOT_LON;
		c[i].pos_ms = NOW_MS;
		c[i].state = MAPS_CREW_FREE;
		c[i].free_at_ms = 0;
	}
	c[1].state = MAPS_CREW_FINISHING;
	c[1].free_at_ms = NOW_MS - 1000;	/* already done */
	c[0].pos_ms = NOW_MS + 5000;		/* a device clock ahead: fresh, not negative age */
	assert_int_equal(maps_rank_crews(SITE_LAT, SITE_LON, MAPS_ZONE_URBAN, NOW_MS,
	    NOW_MS + URBAN_LIMIT_MS, c, 3, &p, r, 3, NULL, 0), 3);
	assert_int_equal(r[0].crew, 0);
	assert_int_equal(r[1].crew, 1);
	assert_int_equal(r[2].crew, 2);
	assert_true(r[0].eta_hi_s == r[2].eta_hi_s && r[1].eta_s == r[2].eta_s);
	/* no crews: nothing, no error */
	assert_int_equal(maps_rank_crews(SITE_LAT, SITE_LON, MAPS_ZONE_URBAN, NOW_MS, NOW_MS,
	    NULL, 0, &p, NULL, 0, NULL, 0), 0);
}

static void
rank_bad(struct maps_rank_params *p, double lat, enum maps_zone zone, size_t cap,
    const char *want)
{
	struct maps_crew c[2] = { { DEPOT_LAT, DEPOT_LON, NOW_MS, 0, MAPS_CREW_FREE },
	    { DEPOT_LAT, DEPOT_LON, NOW_MS, 0, MAPS_CREW_FREE } };
	struct maps_rank r[2];
	char err[128] = "";

	if (maps_rank_crews(lat, SITE_LON, zone, NOW_MS, NOW_MS, c, 2, p, r, cap, err,
	    sizeof(err)) != -1 || strstr(err, want) == NULL) {
		print_error("got \"%s\", want -1 naming \"%s\"\n", err, want);
		fail();
	}
}

static void
test_rank_bad_params(void **state)
{
	struct maps_rank_params p;

	(void)state;
	maps_rank_defaults(&p);
	rank_bad(&p, NAN, MAPS_ZONE_URBAN, 2, "site");
	rank_bad(&p, 91, MAPS_ZONE_URBAN, 2, "site");
	rank_bad(&p, SITE_LAT, (enum maps_zone)7, 2, "zone");
	rank_bad(&p, SITE_LAT, MAPS_ZONE_URBAN, 1, "out: room for 1");
	p.speed_kmh[MAPS_ZONE_REMOTE] = 0;
	rank_bad(&p, SITE_LAT, MAPS_ZONE_URBAN, 2, "speed_kmh[remote]");
	maps_rank_defaults(&p);
	p.detour = 0.9;
	rank_bad(&p, SITE_LAT, MAPS_ZONE_URBAN, 2, "detour");
	maps_rank_defaults(&p);
	p.setup_s = NAN;
	rank_bad(&p, SITE_LAT, MAPS_ZONE_URBAN, 2, "setup_s");
	maps_rank_defaults(&p);
	p.drift_kmh = -1;
	rank_bad(&p, SITE_LAT, MAPS_ZONE_URBAN, 2, "drift");
	maps_rank_defaults(&p);
	p.max_pos_age_s = 0;
	rank_bad(&p, SITE_LAT, MAPS_ZONE_URBAN, 2, "max_pos_age_s");
	assert_string_equal(maps_reach_name(MAPS_REACH_MAYBE), "maybe");
	assert_string_equal(maps_reach_name((enum maps_reach)9), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rank_named_places),
		cmocka_unit_test(test_rank_ties_and_waits),
		cmocka_unit_test(test_rank_bad_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
