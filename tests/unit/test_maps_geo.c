/*
 * test_maps_geo.c: distances and the geofence (maps/geo.c).
 *
 * Reference values are GeographicLib's (C. F. F. Karney, "Algorithms for
 * geodesics", J. Geodesy 2013), exact to a few nanometres on WGS-84:
 *  - JFK (40.6, -73.8) to LHR (51.6, -0.5): 5551759.400319 m, the example in
 *    GeographicLib's Geodesic documentation ("5551.76 km");
 *  - Wellington (-41.32, 174.81) to Salamanca (40.96, -5.50): 19959679.267 m,
 *    GeographicLib documentation's nearly antipodal example;
 *  - the others computed with GeographicLib 2.1.2's GeodSolve (Debian 12
 *    geographiclib-tools), "GeodSolve -i -p 6", on the GeoNames coordinates of
 *    Hohhot and Baotou and on two ~100 m pairs at the demo fault site.
 * Vincenty's own 1975 test lines are on the Bessel and International
 * ellipsoids, not WGS-84, so they cannot check this code directly.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "maps.h"

/* Tolerances, metres. */
#define TOL_VINCENTY_M	0.001	/* Vincenty vs Karney: sub-millimetre */
#define TOL_SHORT_M	0.0001	/* ~100 m lines */

static void
near(double got, double want, double tol, const char *what)
{
	if (!(fabs(got - want) <= tol)) {
		print_error("%s: got %.6f want %.6f (tolerance %g)\n", what, got, want, tol);
		fail();
	}
}

static void
test_reference_lines(void **state)
{
	(void)state;
	near(maps_distance_m(40.6, -73.8, 51.6, -0.5), 5551759.400319,
	    TOL_VINCENTY_M, "JFK-LHR");
	near(maps_distance_m(51.6, -0.5, 40.6, -73.8), 5551759.400319,
	    TOL_VINCENTY_M, "LHR-JFK (symmetry)");
	/* GeoNames Hohhot 40.81056 111.65222, Baotou 40.65222 109.82222 */
	near(maps_distance_m(40.81056, 111.65222, 40.65222, 109.82222), 155584.591475,
	    TOL_VINCENTY_M, "Hohhot-Baotou");
	/* demo fault site to the demo depot */
	near(maps_distance_m(40.842, 111.750, 40.815, 111.690), 5882.658494,
	    TOL_VINCENTY_M, "site-depot");
	near(maps_distance_m(40.842, 111.75, 40.8429, 111.75), 99.945777,
	    TOL_SHORT_M, "100 m north");
	near(maps_distance_m(40.842, 111.75, 40.842, 111.751186), 100.022233,
	    TOL_SHORT_M, "100 m east");
	/* Along the equator the geodesic is the equator: a * pi / 180 per degree. */
	near(maps_distance_m(0, 0, 0, 1), 6378137.0 * M_PI / 180.0, 1e-6, "equator 1 deg");
	/* Pole to pole: twice the WGS-84 meridian quadrant, 10001965.729 m. */
	near(maps_distance_m(90, 0, -90, 0), 2 * 10001965.729, TOL_VINCENTY_M,
	    "pole to pole");
	/* Longitudes wrap: 179.9 to -179.9 is 0.2 degrees of longitude (1e-5 m:
	 * 359.8 is not exact in binary). */
	near(maps_distance_m(0, 179.9, 0, -179.9), 0.2 * 6378137.0 * M_PI / 180.0, 1e-5,
	    "antimeridian");
	assert_true(maps_distance_m(40.842, 111.75, 40.842, 111.75) == 0.0);
}

/* Nearly antipodal: Vincenty may not converge; the fallback keeps 0.5 %. */
static void
test_antipodal(void **state)
{
	double d;

	(void)state;
	d = maps_distance_m(-41.32, 174.81, 40.96, -5.50);
	near(d, 19959679.267, 19959679.267 * 0.005, "Wellington-Salamanca");
	/* GeodSolve: 0 0 -> 0.5 179.7 = 19944127.420750 m */
	d = maps_distance_m(0, 0, 0.5, 179.7);
	near(d, 19944127.420750, 19944127.420750 * 0.005, "near antipode");
	d = maps_distance_m(0, 0, 0, 180);
	assert_true(isfinite(d));
	near(d, 20003931.458625, 20003931.458625 * 0.005, "exact antipode");
}

static void
test_haversine(void **state)
{
	double e, s;

	(void)state;
	near(maps_haversine_m(0, 0, 0, 1), 6371008.8 * M_PI / 180.0, 1e-6, "sphere 1 deg");
	e = maps_distance_m(40.81056, 111.65222, 40.65222, 109.82222);
	s = maps_haversine_m(40.81056, 111.65222, 40.65222, 109.82222);
	near(s, e, e * 0.005, "haversine within 0.5 % of the ellipsoid");
	assert_true(maps_haversine_m(0, 0, 0, 0) == 0.0);
}

static void
test_bad_input(void **state)
{
	(void)state;
	assert_true(isnan(maps_distance_m(91, 0, 0, 0)));
	assert_true(isnan(maps_distance_m(0, 0, -90.5, 0)));
	assert_true(isnan(maps_distance_m(NAN, 0, 0, 0)));
	assert_true(isnan(maps_distance_m(0, INFINITY, 0, 0)));
	assert_true(isnan(maps_haversine_m(0, 0, 95, 0)));
	assert_true(isnan(maps_haversine_m(0, 0, 0, NAN)));
}

static void
test_within(void **state)
{
	double d = -1;
	/* The fix is 99.945777 m due north of the site (GeodSolve, above). */
	const double slat = 40.842, slon = 111.75, flat = 40.8429, flon = 111.75;

	(void)state;
	assert_int_equal(maps_within(slat, slon, 150, flat, flon, NAN, &d), 1);
	near(d, 99.945777, TOL_SHORT_M, "dist_m");
	assert_int_equal(maps_within(slat, slon, 99.9, flat, flon, NAN, &d), 0);
	assert_int_equal(maps_within(slat, slon, 100.0, flat, flon, NAN, NULL), 1);
	/* eph widens the fence */
	assert_int_equal(maps_within(slat, slon, 50, flat, flon, 49.0, NULL), 0);
	assert_int_equal(maps_within(slat, slon, 50, flat, flon, 50.0, NULL), 1);
	assert_int_equal(maps_within(slat, slon, 50, flat, flon, 0.0, NULL), 0);
	/* negative eph never shrinks it; NaN and infinite eph widen nothing */
	assert_int_equal(maps_within(slat, slon, 100, flat, flon, -50.0, NULL), 1);
	assert_int_equal(maps_within(slat, slon, 50, flat, flon, NAN, NULL), 0);
	assert_int_equal(maps_within(slat, slon, 50, flat, flon, INFINITY, NULL), 0);
	/* the site itself */
	assert_int_equal(maps_within(slat, slon, 0, slat, slon, NAN, &d), 1);
	assert_true(d == 0.0);
	/* bad input: never inside, distance NaN */
	assert_int_equal(maps_within(slat, slon, 100, NAN, flon, 10, &d), 0);
	assert_true(isnan(d));
	assert_int_equal(maps_within(95, slon, 1e9, flat, flon, 10, &d), 0);
	assert_int_equal(maps_within(slat, slon, NAN, flat, flon, 10, &d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_lines),
		cmocka_unit_test(test_antipodal),
		cmocka_unit_test(test_haversine),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_within),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
