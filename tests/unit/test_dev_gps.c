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

#define NOW_MS		1795000000000LL		/* the device clock, 2026-11-18 */
#define HOHHOT_LAT	40.8423
#define HOHHOT_LON	111.7497

static struct proto_fix
pfix(double north_m, int64_t t_ms, double eph)
{
	struct proto_fix f;

	memset(&f, 0, sizeof(f));
	f.t_ms = t_ms;
	f.lat = HOHHOT_LAT + north_m / 111132.0;
	f.lon = HOHHOT_LON;
	f.mode = 3;
	f.eph_m = eph;
	f.speed_mps = f.track_deg = f.alt_m = NAN;
	return f;
}

/* GPS time against the device clock: a little skew is fine, the future, the
 * long past and gpsd's 1024-week rollover dates (both ways) are not. */
static void
test_plausible_time(void **state)
{
	struct gps_check c;
	struct proto_fix f;

	(void)state;
	memset(&c, 0, sizeof(c));
	f = pfix(0, NOW_MS - 1500, 5);
	assert_int_equal(gps_plausible(&c, &f, 0, NOW_MS), GPS_PLAUSIBLE);
	f = pfix(0, NOW_MS + 60000, 5);		/* a minute ahead: within the slack */
	assert_int_equal(gps_plausible(&c, &f, 1000, NOW_MS), GPS_PLAUSIBLE);
	f = pfix(0, NOW_MS + GPS_CLOCK_SLACK_MS + 1000, 5);
	assert_int_equal(gps_plausible(&c, &f, 2000, NOW_MS), GPS_R_FUTURE);
	f = pfix(0, NOW_MS - 3 * 24 * 3600 * 1000LL, 5);	/* haicom-305N as gpsd 3.22 dates it */
	assert_int_equal(gps_plausible(&c, &f, 3000, NOW_MS), GPS_R_STALE);
	f = pfix(0, NOW_MS - GPS_ROLLOVER_MS + 3600000, 5);	/* a receiver 1024 weeks behind */
	assert_int_equal(gps_plausible(&c, &f, 4000, NOW_MS), GPS_R_ROLLOVER);
	f = pfix(0, NOW_MS + GPS_ROLLOVER_MS - 86400000, 5);	/* gpsd's guess: 1024 weeks ahead */
	assert_int_equal(gps_plausible(&c, &f, 5000, NOW_MS), GPS_R_ROLLOVER);
	f = pfix(0, 2039310441500LL, 5);	/* bu353s4.log as gpsd 3.22 dates it: 2034 */
	assert_int_equal(gps_plausible(&c, &f, 6000, 1795000000000LL), GPS_R_FUTURE);
	f = pfix(0, 0, 5);			/* no GPS time (GGA only): not judged on time */
	assert_int_equal(gps_plausible(&c, &f, 7000, NOW_MS), GPS_PLAUSIBLE);
}

/* A position jump faster than a vehicle is rejected; after a few fixes that
 * agree with each other at the new place, the unit really moved. */
static void
test_plausible_jump(void **state)
{
	struct gps_check c;
	struct proto_fix f;
	int64_t t = NOW_MS, m = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	f = pfix(0, t, 5);
	assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_PLAUSIBLE);
	/* 30 m/s for 10 s: a car on a highway */
	t += 10000, m += 10000;
	f = pfix(300, t, 5);
	assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_PLAUSIBLE);
	/* 5 km in one second: multipath or a glitch */
	t += 1000, m += 1000;
	f = pfix(5300, t, 5);
	assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_R_JUMP);
	/* back on track: fine, judged against the last plausible fix */
	t += 1000, m += 1000;
	f = pfix(340, t, 5);
	assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_PLAUSIBLE);
	/* the stated errors are allowed for: 150 m in a second with eph 80 m */
	t += 1000, m += 1000;
	f = pfix(490, t, 80);
	assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_PLAUSIBLE);
	/* a replay faster than real time: judged on the GPS interval */
	t += 10000, m += 1000;
	f = pfix(790, t, 5);
	assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_PLAUSIBLE);
	/* the unit was carried 50 km (a wrong first fix, a ferry): three fixes
	 * that agree with each other there, and the third is accepted */
	t += 1000, m += 1000;
	f = pfix(50000, t, 5);
	assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_R_JUMP);
	t += 1000, m += 1000;
	f = pfix(50001, t, 5);
	assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_R_JUMP);
	t += 1000, m += 1000;
	f = pfix(50002, t, 5);
	assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_PLAUSIBLE);
	t += 1000, m += 1000;
	f = pfix(50003, t, 5);
	assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_PLAUSIBLE);
	/* scattered outliers that disagree with each other never re-anchor */
	for (int i = 0; i < 10; i++) {
		t += 1000, m += 1000;
		f = pfix(i % 2 ? 90000 : -90000, t, 5);
		assert_int_equal(gps_plausible(&c, &f, m, NOW_MS), GPS_R_JUMP);
	}
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
		cmocka_unit_test(test_plausible_time),
		cmocka_unit_test(test_plausible_jump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
