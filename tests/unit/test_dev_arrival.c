/*
 * test_dev_arrival.c: the arrival detector (device/arrival.c) on a virtual
 * clock: no gpsd, no sleeping. Fixes are placed by metres north of a site in
 * Hohhot; the detector measures them with maps_distance_m.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../device/device.h"
#include "maps.h"

#define SITE_LAT	40.842300	/* a street corner in Hohhot's Xincheng district */
#define SITE_LON	111.749700
#define RADIUS_M	150.0
#define EPH_M		10.0		/* a typical good fix */
#define T0_MS		1795000000000LL	/* GPS time of the first fix */

static struct vclock vc;
static struct arrival a;
static int64_t gps_t;

static const struct arrival_params params = {
	.dwell_ms = 30000, .min_fixes = 5, .max_eph_m = 50, .max_speed_mps = 3,
	.exit_margin_m = 30, .max_fix_age_ms = 10000,
};

static int
setup(void **state)
{
	(void)state;
	vclock_init(&vc, T0_MS);
	gps_t = T0_MS;
	arrival_init(&a, "LC-20261125-0001", SITE_LAT, SITE_LON, RADIUS_M, &params, &vc.clock);
	return 0;
}

/* A fix north_m metres north of the site (negative: south). */
static struct proto_fix
fix_at(double north_m, double eph, double speed, int mode)
{
	struct proto_fix f;

	memset(&f, 0, sizeof(f));
	f.t_ms = gps_t;
	f.lat = SITE_LAT + north_m / 111132.0;	/* metres per degree of latitude near 41 N */
	f.lon = SITE_LON;
	f.mode = mode;
	f.eph_m = eph;
	f.speed_mps = speed;
	f.track_deg = NAN;
	f.alt_m = NAN;
	return f;
}

/* One second passes, then the receiver reports a fix there. */
static int
step(double north_m, double eph, double speed, int mode, enum arrival_verdict *v,
    struct arrival_evidence *ev)
{
	struct proto_fix f;

	vclock_advance(&vc, 1000);
	gps_t += 1000;
	f = fix_at(north_m, eph, speed, mode);
	return arrival_feed(&a, &f, v, ev);
}

static void
test_fix_placement(void **state)
{
	struct proto_fix f = fix_at(100, EPH_M, 0, 3);

	(void)state;
	/* the helper's metres are the detector's metres, within 0.5 m */
	assert_true(fabs(maps_distance_m(SITE_LAT, SITE_LON, f.lat, f.lon) - 100) < 0.5);
}

static void
test_drive_in_and_stop(void **state)
{
	struct arrival_evidence ev;
	enum arrival_verdict v;
	int i, arrivals = 0, arrived_at = -1;

	(void)state;
	/* driving in from 2 km north at 15 m/s: fast fixes inside never count */
	for (double n = 2000; n > 20; n -= 15) {
		assert_int_equal(step(n, EPH_M, 15, 3, &v, &ev), 0);
		if (n <= RADIUS_M)
			assert_int_equal(v, ARRIVAL_V_POOR);
	}
	assert_int_equal(a.state, ARRIVAL_OUTSIDE);
	/* stopped 20 m from the site for 60 s */
	for (i = 0; i < 60; i++) {
		if (step(20, EPH_M, 0.2, 3, &v, &ev)) {
			arrivals++;
			arrived_at = i;
		}
	}
	assert_int_equal(arrivals, 1);
	assert_int_equal(arrived_at, 30);	/* the first stopped fix starts the dwell */
	assert_int_equal(a.state, ARRIVAL_ARRIVED);
	assert_int_equal(ev.dwell_ms, 30000);
	assert_int_equal(ev.nfixes, 31);
	assert_int_equal(ev.ntrack, PROTO_TRACK_MAX);
	assert_true(fabs(ev.dist_m - 20) < 1);
	/* the track window holds the last counted fixes, oldest first */
	assert_true(ev.track[0].t_ms < ev.track[PROTO_TRACK_MAX - 1].t_ms);
	assert_int_equal(ev.track[PROTO_TRACK_MAX - 1].t_ms, gps_t - 29000);
	/* arrived once: further fixes change nothing */
	assert_int_equal(step(20, EPH_M, 0, 3, &v, &ev), 0);
	assert_int_equal(v, ARRIVAL_V_DONE);
}

static void
test_single_crossing(void **state)
{
	enum arrival_verdict v;
	int i;

	(void)state;
	/* one good fix inside, then away again: the dwell resets */
	assert_int_equal(step(400, EPH_M, 1, 3, &v, NULL), 0);
	assert_int_equal(step(100, EPH_M, 1, 3, &v, NULL), 0);
	assert_int_equal(v, ARRIVAL_V_COUNTED);
	assert_int_equal(a.state, ARRIVAL_INSIDE);
	assert_int_equal(step(400, EPH_M, 1, 3, &v, NULL), 0);
	assert_int_equal(v, ARRIVAL_V_OUTSIDE);
	assert_int_equal(a.state, ARRIVAL_OUTSIDE);
	for (i = 0; i < 120; i++)
		assert_int_equal(step(400, EPH_M, 0, 3, &v, NULL), 0);
	assert_int_equal(a.state, ARRIVAL_OUTSIDE);
}

static void
test_hysteresis_band(void **state)
{
	enum arrival_verdict v;
	int i;

	(void)state;
	/* only ever in the band (radius + eph < d <= ... + margin): never inside */
	for (i = 0; i < 60; i++) {
		assert_int_equal(step(175, EPH_M, 0, 3, &v, NULL), 0);
		assert_int_equal(v, ARRIVAL_V_BAND);
	}
	assert_int_equal(a.state, ARRIVAL_OUTSIDE);

	/* in, then wandering in the band: no reset, but no count either */
	assert_int_equal(step(140, EPH_M, 0, 3, &v, NULL), 0);
	assert_int_equal(a.state, ARRIVAL_INSIDE);
	for (i = 0; i < 40; i++)
		assert_int_equal(step(i % 2 ? 165 : 185, EPH_M, 0, 3, &v, NULL), 0);
	assert_int_equal(a.state, ARRIVAL_INSIDE);
	assert_int_equal(a.ev.nfixes, 1);
	/* dwell long past; it arrives on the fifth counted fix */
	for (i = 0; i < 3; i++)
		assert_int_equal(step(140, EPH_M, 0, 3, &v, NULL), 0);
	assert_int_equal(step(140, EPH_M, 0, 3, &v, NULL), 1);
	/* just beyond the band resets */
	setup(NULL);
	step(100, EPH_M, 0, 3, &v, NULL);
	step(195, EPH_M, 0, 3, &v, NULL);
	assert_int_equal(v, ARRIVAL_V_OUTSIDE);
	assert_int_equal(a.state, ARRIVAL_OUTSIDE);
}

static void
test_eph(void **state)
{
	enum arrival_verdict v;
	int i;

	(void)state;
	/* 190 m out with a stated error of 45 m: the fence widens to 195 m */
	assert_int_equal(step(190, 45, 0, 3, &v, NULL), 0);
	assert_int_equal(v, ARRIVAL_V_COUNTED);
	/* error above arrive_max_eph_m: inside the widened fence, but not counted */
	setup(NULL);
	for (i = 0; i < 60; i++) {
		assert_int_equal(step(100, 80, 0, 3, &v, NULL), 0);
		assert_int_equal(v, ARRIVAL_V_POOR);
	}
	assert_int_equal(a.state, ARRIVAL_OUTSIDE);
	/* the big error widens the band too: 250 m is inside 150 + 80 + 30 */
	step(250, 80, 0, 3, &v, NULL);
	assert_int_equal(v, ARRIVAL_V_BAND);
	/* unknown error: a 3D fix counts, a 2D one does not */
	setup(NULL);
	step(50, NAN, 0, 2, &v, NULL);
	assert_int_equal(v, ARRIVAL_V_POOR);
	step(50, NAN, 0, 3, &v, NULL);
	assert_int_equal(v, ARRIVAL_V_COUNTED);
}

static void
test_fast_inside(void **state)
{
	enum arrival_verdict v;
	int i;

	(void)state;
	for (i = 0; i < 90; i++) {
		assert_int_equal(step(30, EPH_M, 8, 3, &v, NULL), 0);
		assert_int_equal(v, ARRIVAL_V_POOR);
	}
	assert_int_equal(a.state, ARRIVAL_OUTSIDE);
	/* unknown speed is not "fast" */
	step(30, EPH_M, NAN, 3, &v, NULL);
	assert_int_equal(v, ARRIVAL_V_COUNTED);
}

static void
test_gap_and_nofix(void **state)
{
	struct proto_fix nofix;
	enum arrival_verdict v;
	int i;

	(void)state;
	for (i = 0; i < 20; i++)
		assert_int_equal(step(20, EPH_M, 0, 3, &v, NULL), 0);
	/* a mode-1 report mid-dwell is ignored, not a reset */
	memset(&nofix, 0, sizeof(nofix));
	nofix.mode = 1;
	nofix.lat = nofix.lon = NAN;
	assert_int_equal(arrival_feed(&a, &nofix, &v, NULL), 0);
	assert_int_equal(v, ARRIVAL_V_NOFIX);
	assert_int_equal(a.state, ARRIVAL_INSIDE);
	/* a mode-2 report with NaN position is no fix either */
	nofix.mode = 2;
	assert_int_equal(arrival_feed(&a, &nofix, &v, NULL), 0);
	assert_int_equal(v, ARRIVAL_V_NOFIX);
	assert_int_equal(a.ev.nfixes, 20);
	/* 10 s without a fix is tolerated, 11 s is a gap */
	vclock_advance(&vc, 10000);
	arrival_tick(&a);
	assert_int_equal(a.state, ARRIVAL_INSIDE);
	vclock_advance(&vc, 1000);
	arrival_tick(&a);
	assert_int_equal(a.state, ARRIVAL_OUTSIDE);
	/* the dwell starts again: no arrival before 30 s more */
	for (i = 0; i < 30; i++)
		assert_int_equal(step(20, EPH_M, 0, 3, &v, NULL), 0);
	assert_int_equal(step(20, EPH_M, 0, 3, &v, NULL), 1);

	/* the gap rule also applies when the next fix arrives before any tick */
	setup(NULL);
	for (i = 0; i < 20; i++)
		step(20, EPH_M, 0, 3, &v, NULL);
	vclock_advance(&vc, 15000);
	gps_t += 15000;
	for (i = 0; i < 25; i++)
		assert_int_equal(step(20, EPH_M, 0, 3, &v, NULL), 0);
	assert_int_equal(a.state, ARRIVAL_INSIDE);
}

static void
test_same_epoch_counts_once(void **state)
{
	struct proto_fix f;
	enum arrival_verdict v;
	int i;

	(void)state;
	/* gpsd sends several TPVs per epoch: each epoch is one observation */
	for (i = 0; i < 40; i++) {
		vclock_advance(&vc, 1000);
		gps_t += 1000;
		f = fix_at(20, EPH_M, 0, 3);
		if (arrival_feed(&a, &f, &v, NULL))
			break;
		assert_int_equal(v, ARRIVAL_V_COUNTED);
		f.t_ms = 0;	/* an untimed report (GGA only) right after it */
		assert_int_equal(arrival_feed(&a, &f, &v, NULL), 0);
		assert_int_equal(v, ARRIVAL_V_REPEAT);
		f.t_ms = gps_t;
		assert_int_equal(arrival_feed(&a, &f, &v, NULL), 0);
		assert_int_equal(v, ARRIVAL_V_REPEAT);
	}
	assert_int_equal(i, 30);
	assert_int_equal(a.ev.nfixes, 31);
	/* the dwell is met at 30 s, but with one fix per 10 s only 4 distinct
	 * fixes by then: arrival waits for the fifth */
	setup(NULL);
	for (i = 0; i < 4; i++) {
		vclock_advance(&vc, 10000);
		gps_t += 10000;
		f = fix_at(20, EPH_M, 0, 3);
		assert_int_equal(arrival_feed(&a, &f, &v, NULL), 0);
		assert_int_equal(arrival_feed(&a, &f, &v, NULL), 0);
	}
	assert_int_equal(a.ev.nfixes, 4);
	assert_int_equal(a.state, ARRIVAL_INSIDE);
	vclock_advance(&vc, 1000);
	gps_t += 1000;
	f = fix_at(20, EPH_M, 0, 3);
	assert_int_equal(arrival_feed(&a, &f, &v, NULL), 1);
}

static void
test_manual(void **state)
{
	struct arrival_evidence ev;
	struct proto_fix f;
	enum arrival_verdict v;
	int i;

	(void)state;
	/* declared by hand 60 m out, with no dwell: recorded, and GPS then stays quiet */
	step(400, EPH_M, 0, 3, &v, NULL);
	f = fix_at(60, EPH_M, 0, 3);
	assert_int_equal(arrival_manual(&a, &f, &ev), 1);
	assert_int_equal(a.state, ARRIVAL_ARRIVED);
	assert_true(fabs(ev.dist_m - 60) < 1);
	assert_int_equal(ev.dwell_ms, 0);
	for (i = 0; i < 60; i++) {
		assert_int_equal(step(20, EPH_M, 0, 3, &v, NULL), 0);
		assert_int_equal(v, ARRIVAL_V_DONE);
	}
	assert_int_equal(arrival_manual(&a, NULL, &ev), 0);
	assert_true(isnan(ev.dist_m));

	/* declared while inside: the evidence so far goes with it */
	setup(NULL);
	for (i = 0; i < 8; i++)
		step(20, EPH_M, 0, 3, &v, NULL);
	assert_int_equal(arrival_manual(&a, NULL, &ev), 1);
	assert_int_equal(ev.nfixes, 8);
	assert_int_equal(ev.dwell_ms, 7000);
	assert_true(isnan(ev.dist_m));
}

/* Fixes timed before the order existed are no evidence: they neither count nor
 * reset; once the fixes are current, arrival is decided as usual. */
static void
test_fix_before_order(void **state)
{
	struct arrival_evidence ev;
	enum arrival_verdict v;
	int i, arrivals = 0;

	(void)state;
	a.not_before_ms = gps_t + 3600 * 1000LL;	/* the order is an hour younger */
	for (i = 0; i < 60; i++) {
		assert_int_equal(step(20, EPH_M, 0.2, 3, &v, &ev), 0);
		assert_int_equal(v, ARRIVAL_V_EARLY);
	}
	assert_int_equal(a.state, ARRIVAL_OUTSIDE);
	gps_t = a.not_before_ms;	/* the receiver's clock is right again */
	for (i = 0; i < 40; i++)
		arrivals += step(20, EPH_M, 0.2, 3, &v, &ev);
	assert_int_equal(arrivals, 1);
	assert_true(ev.track[0].t_ms >= a.not_before_ms);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fix_placement, setup),
		cmocka_unit_test_setup(test_drive_in_and_stop, setup),
		cmocka_unit_test_setup(test_single_crossing, setup),
		cmocka_unit_test_setup(test_hysteresis_band, setup),
		cmocka_unit_test_setup(test_eph, setup),
		cmocka_unit_test_setup(test_fast_inside, setup),
		cmocka_unit_test_setup(test_gap_and_nofix, setup),
		cmocka_unit_test_setup(test_same_epoch_counts_once, setup),
		cmocka_unit_test_setup(test_manual, setup),
		cmocka_unit_test_setup(test_fix_before_order, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
