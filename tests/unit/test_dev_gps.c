/*
 * test_dev_gps.c: turning gpsd 3.22 TPV reports into fixes (gps_fix_from_tpv):
 * a field is used only when gpsd marks it set and it is finite; no-fix reports
 * and implausible values are told apart. The values are those gpsd 3.22 emits
 * for the bu353s4 and meinberg-gps164 logs in ../shared/data/nmea/.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../device/device.h"

static struct gps_data_t g;

/* What libgps leaves after an empty TPV: every double NaN, nothing set. */
static int
setup(void **state)
{
	struct gps_fix_t *x = &g.fix;

	(void)state;
	memset(&g, 0, sizeof(g));
	x->ept = x->latitude = x->epy = x->longitude = x->epx = x->altitude = NAN;
	x->altHAE = x->altMSL = x->epv = x->track = x->epd = x->speed = x->eps = NAN;
	x->climb = x->epc = x->eph = x->sep = NAN;
	return 0;
}

/* bu353s4.log, a 3D fix with every error estimate (time shifted by gpsd 3.22). */
static void
bu353s4(void)
{
	g.set = STATUS_SET | MODE_SET | TIME_SET | LATLON_SET | ALTITUDE_SET | HERR_SET |
	    SPEED_SET | TRACK_SET;
	g.fix.mode = MODE_3D;
	g.fix.time.tv_sec = 2039310441;		/* 2034-08-16T03:07:21Z */
	g.fix.time.tv_nsec = 500000000;
	g.fix.latitude = -37.784793333;
	g.fix.longitude = 175.314890000;
	g.fix.altHAE = 83.8;
	g.fix.altMSL = 60.1;
	g.fix.epx = 9.484;
	g.fix.epy = 12.791;
	g.fix.eph = 20.9;
	g.fix.speed = 0.458;
	g.fix.track = 181.39;
}

static void
test_full_3d_fix(void **state)
{
	struct proto_fix f;

	(void)state;
	bu353s4();
	assert_int_equal(gps_fix_from_tpv(&g, &f), 1);
	assert_int_equal(f.mode, 3);
	assert_int_equal(f.t_ms, 2039310441500LL);
	assert_true(f.lat == -37.784793333 && f.lon == 175.314890000);
	assert_true(f.eph_m == 20.9);
	assert_true(f.speed_mps == 0.458);
	assert_true(f.track_deg == 181.39);
	assert_true(f.alt_m == 60.1);
}

static void
test_eph_from_axes(void **state)
{
	struct proto_fix f;

	(void)state;
	bu353s4();
	g.fix.eph = NAN;	/* no eph: the axis errors combined */
	assert_int_equal(gps_fix_from_tpv(&g, &f), 1);
	assert_true(fabs(f.eph_m - sqrt(9.484 * 9.484 + 12.791 * 12.791)) < 1e-9);
	g.fix.epy = NAN;	/* one axis unknown: no estimate at all */
	g.set &= ~HERR_SET;
	assert_int_equal(gps_fix_from_tpv(&g, &f), 1);
	assert_true(isnan(f.eph_m));
}

static void
test_rmc_only_2d(void **state)
{
	struct proto_fix f;

	(void)state;
	/* meinberg-gps164.log: RMC only, mode 2, no altitude, no error estimate */
	g.set = STATUS_SET | MODE_SET | TIME_SET | LATLON_SET | SPEED_SET | TRACK_SET;
	g.fix.mode = MODE_2D;
	g.fix.time.tv_sec = 1702937396;
	g.fix.latitude = 47.7035;
	g.fix.longitude = 12.0125;
	g.fix.speed = 0;
	g.fix.track = 0;
	assert_int_equal(gps_fix_from_tpv(&g, &f), 1);
	assert_int_equal(f.mode, 2);
	assert_true(isnan(f.eph_m));
	assert_true(isnan(f.alt_m));
	assert_true(f.speed_mps == 0);
}

static void
test_set_bits_rule(void **state)
{
	struct proto_fix f;

	(void)state;
	bu353s4();
	/* values present in the struct but not marked set are not used */
	g.set &= ~(TIME_SET | SPEED_SET | TRACK_SET | ALTITUDE_SET);
	assert_int_equal(gps_fix_from_tpv(&g, &f), 1);
	assert_int_equal(f.t_ms, 0);
	assert_true(isnan(f.speed_mps) && isnan(f.track_deg) && isnan(f.alt_m));
	/* a GGA-only TPV has no time */
	g.fix.time.tv_sec = 0;
	g.set |= TIME_SET;
	assert_int_equal(gps_fix_from_tpv(&g, &f), 1);
	assert_int_equal(f.t_ms, 0);
}

static void
test_no_fix(void **state)
{
	struct proto_fix f;

	(void)state;
	/* {"class":"TPV","mode":1} */
	g.set = STATUS_SET | MODE_SET;
	g.fix.mode = MODE_NO_FIX;
	assert_int_equal(gps_fix_from_tpv(&g, &f), 0);
	/* a stale position with mode 1 is still no fix */
	bu353s4();
	g.fix.mode = MODE_NO_FIX;
	assert_int_equal(gps_fix_from_tpv(&g, &f), 0);
	/* mode not reported */
	bu353s4();
	g.set &= ~MODE_SET;
	assert_int_equal(gps_fix_from_tpv(&g, &f), 0);
	/* mode 2 without a position */
	bu353s4();
	g.set &= ~LATLON_SET;
	assert_int_equal(gps_fix_from_tpv(&g, &f), 0);
}

static void
test_implausible(void **state)
{
	struct proto_fix f;

	(void)state;
	bu353s4();
	g.fix.latitude = NAN;
	assert_int_equal(gps_fix_from_tpv(&g, &f), -1);
	bu353s4();
	g.fix.latitude = 91;
	assert_int_equal(gps_fix_from_tpv(&g, &f), -1);
	bu353s4();
	g.fix.longitude = -180.5;
	assert_int_equal(gps_fix_from_tpv(&g, &f), -1);
	bu353s4();
	g.fix.latitude = g.fix.longitude = 0;
	assert_int_equal(gps_fix_from_tpv(&g, &f), -1);
	bu353s4();
	g.fix.speed = 400;	/* 1440 km/h */
	assert_int_equal(gps_fix_from_tpv(&g, &f), -1);
	/* absurd optional values are dropped, the fix kept */
	bu353s4();
	g.fix.eph = 5e6;
	g.fix.epx = g.fix.epy = NAN;
	g.fix.track = 720;
	g.fix.altMSL = NAN;
	g.fix.altHAE = INFINITY;
	assert_int_equal(gps_fix_from_tpv(&g, &f), 1);
	assert_true(isnan(f.eph_m) && isnan(f.track_deg) && isnan(f.alt_m));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_full_3d_fix, setup),
		cmocka_unit_test_setup(test_eph_from_axes, setup),
		cmocka_unit_test_setup(test_rmc_only_2d, setup),
		cmocka_unit_test_setup(test_set_bits_rule, setup),
		cmocka_unit_test_setup(test_no_fix, setup),
		cmocka_unit_test_setup(test_implausible, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
