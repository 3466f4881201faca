/*
 * arrival.c: decides that a crew has arrived at an order's site from a stream
 * of GPS fixes. A pure state machine: no I/O, no logging, no globals; time is
 * the injected clock's monotonic reading, so tests drive it on virtual time.
 *
 * It does not read gpsd (gps.c does), does not store or send anything (watch.c
 * journals the ARRIVE event), and knows one order only (watch.c keeps one
 * detector per open order).
 *
 * Why not "first fix inside the radius": a single fix can cross the line while
 * a car drives past, or jump there on multipath. Arrival needs the crew to
 * stay: a dwell time AND a number of distinct good fixes inside, each with a
 * small enough stated error and a walking speed.
 *
 *                 good fix inside r + eph
 *     +---------+ ------------------------> +--------+  dwell >= D and   +---------+
 *     | OUTSIDE |                           | INSIDE | -- n >= N ------> | ARRIVED |
 *     +---------+ <------------------------ +--------+   (reported once) +---------+
 *          ^      fix beyond r + eph + margin,   |  ^                         ^
 *          |      or no fix for > max age        |  | counted fix, band fix,  |
 *          |                                     +--+ poor fix, no-fix report |
 *          +---------------- manual arrival (crew) ---------------------------+
 *
 * r = the site's radius, eph = the fix's stated horizontal error (0 if unknown),
 * margin = arrive_exit_margin_m, D = arrive_dwell_s, N = arrive_min_fixes.
 *
 * Transition table (what one fix does, by where it falls):
 *
 *   fix                                  OUTSIDE        INSIDE              ARRIVED
 *   ----------------------------------   ------------   -----------------   -------
 *   mode < 2 / no position (NOFIX)       stay           stay (no reset)     stay
 *   GPS time < not_before (EARLY)        stay           stay (no reset)     stay
 *   gap since last fix > max age         -              -> OUTSIDE, then    stay
 *                                                       the fix is judged
 *   dist > r + eph + margin (OUTSIDE)    stay           -> OUTSIDE          stay
 *   r + eph < dist <= ... + margin (BAND) stay          stay, not counted   stay
 *   dist <= r + eph, poor (POOR)         stay           stay, not counted   stay
 *   dist <= r + eph, good, same epoch    -              stay, not counted   stay
 *   dist <= r + eph, good (COUNTED)      -> INSIDE,     count; if dwell>=D  stay
 *                                        dwell starts   and n>=N: ARRIVED
 *
 * "good" = (eph known and <= arrive_max_eph_m, or eph unknown and a 3D fix)
 *          and (speed unknown or <= arrive_max_speed_mps).
 * "same epoch" = gpsd sends several TPV reports per epoch (one per sentence);
 *          a fix with the GPS time of the last counted one (or, with no time,
 *          within ARRIVAL_SAME_EPOCH_MS of it) is not a new observation.
 *
 * Invariants (checked in debug builds after every step):
 *   OUTSIDE: no fixes counted, no track.
 *   INSIDE:  1 <= nfixes, ntrack = min(nfixes, PROTO_TRACK_MAX), since <= now.
 *   ARRIVED: final; nothing changes it.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "maps.h"

#define ARRIVAL_SAME_EPOCH_MS	500	/* untimed reports this close are one epoch */

const char *
arrival_state_name(enum arrival_state s)
{
	switch (s) {
	case ARRIVAL_OUTSIDE:	return "outside";
	case ARRIVAL_INSIDE:	return "inside";
	case ARRIVAL_ARRIVED:	return "arrived";
	}
	return "?";
}

static void
check(const struct arrival *a, int64_t now)
{
#ifndef NDEBUG
	switch (a->state) {
	case ARRIVAL_OUTSIDE:
		assert(a->ev.nfixes == 0 && a->ev.ntrack == 0);
		break;
	case ARRIVAL_INSIDE:
		assert(a->ev.nfixes >= 1);
		assert(a->ev.ntrack == (a->ev.nfixes < PROTO_TRACK_MAX ?
		    a->ev.nfixes : PROTO_TRACK_MAX));
		assert(a->since_ms <= now);
		break;
	case ARRIVAL_ARRIVED:
		break;
	}
#else
	(void)a;
	(void)now;
#endif
}

static void
reset(struct arrival *a)
{
	a->state = ARRIVAL_OUTSIDE;
	a->since_ms = 0;
	a->counted_mono_ms = 0;
	a->counted_t_ms = 0;
	memset(&a->ev, 0, sizeof(a->ev));
	a->ev.dist_m = NAN;
}

void
arrival_init(struct arrival *a, const char *order_id, double site_lat, double site_lon,
    double radius_m, const struct arrival_params *p, const struct lc_clock *clock)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->order_id, sizeof(a->order_id), "%s", order_id);
	a->site_lat = site_lat;
	a->site_lon = site_lon;
	a->radius_m = radius_m > 0 ? radius_m : 0;
	a->p = *p;
	a->clock = clock;
	a->last_fix_ms = -1;
	a->last_dist_m = NAN;
	reset(a);
}

static int
usable(const struct proto_fix *f)
{
	return f != NULL && f->mode >= 2 && isfinite(f->lat) && isfinite(f->lon) &&
	    fabs(f->lat) <= 90 && fabs(f->lon) <= 180;
}

static int
good(const struct arrival *a, const struct proto_fix *f)
{
	int eph_ok, speed_ok;

	if (isfinite(f->eph_m) && f->eph_m >= 0)
		eph_ok = f->eph_m <= a->p.max_eph_m;
	else
		eph_ok = f->mode >= 3;
	speed_ok = !isfinite(f->speed_mps) || f->speed_mps <= a->p.max_speed_mps;
	return eph_ok && speed_ok;
}

static int
same_epoch(const struct arrival *a, const struct proto_fix *f, int64_t now)
{
	if (f->t_ms != 0 && a->counted_t_ms != 0)
		return f->t_ms == a->counted_t_ms;
	return now - a->counted_mono_ms < ARRIVAL_SAME_EPOCH_MS;
}

static void
count(struct arrival *a, const struct proto_fix *f, double dist, int64_t now)
{
	struct arrival_evidence *ev = &a->ev;

	if (ev->ntrack == PROTO_TRACK_MAX) {
		memmove(&ev->track[0], &ev->track[1],
		    (PROTO_TRACK_MAX - 1) * sizeof(ev->track[0]));
		ev->ntrack--;
	}
	ev->track[ev->ntrack++] = *f;
	ev->nfixes++;
	ev->dist_m = dist;
	a->counted_t_ms = f->t_ms;
	a->counted_mono_ms = now;
}

static void
gap_rule(struct arrival *a, int64_t now)
{
	if (a->state == ARRIVAL_INSIDE && a->last_fix_ms >= 0 &&
	    now - a->last_fix_ms > a->p.max_fix_age_ms)
		reset(a);
}

int
arrival_feed(struct arrival *a, const struct proto_fix *fix, enum arrival_verdict *verdict,
    struct arrival_evidence *out)
{
	enum arrival_verdict v;
	int64_t now = clock_mono(a->clock);
	double eph, dist = NAN, outer;
	int arrived = 0;

	if (a->state == ARRIVAL_ARRIVED) {
		v = ARRIVAL_V_DONE;
		goto done;
	}
	if (!usable(fix)) {
		v = ARRIVAL_V_NOFIX;
		goto done;
	}
	if (fix->t_ms != 0 && a->not_before_ms != 0 && fix->t_ms < a->not_before_ms) {
		v = ARRIVAL_V_EARLY;	/* a replayed or mis-dated fix: not this order's */
		goto done;
	}
	gap_rule(a, now);
	a->last_fix_ms = now;

	eph = isfinite(fix->eph_m) && fix->eph_m >= 0 ? fix->eph_m : NAN;
	if (!maps_within(a->site_lat, a->site_lon, a->radius_m, fix->lat, fix->lon, eph,
	    &dist)) {
		a->last_dist_m = dist;
		outer = a->radius_m + (isfinite(eph) ? eph : 0) + a->p.exit_margin_m;
		if (!(dist <= outer)) {		/* NaN distance counts as outside */
			reset(a);
			v = ARRIVAL_V_OUTSIDE;
		} else
			v = ARRIVAL_V_BAND;
		goto done;
	}
	a->last_dist_m = dist;
	if (!good(a, fix)) {
		v = ARRIVAL_V_POOR;
		goto done;
	}
	if (a->state == ARRIVAL_OUTSIDE) {
		a->state = ARRIVAL_INSIDE;
		a->since_ms = now;
	} else if (same_epoch(a, fix, now)) {
		v = ARRIVAL_V_REPEAT;
		goto done;
	}
	count(a, fix, dist, now);
	v = ARRIVAL_V_COUNTED;
	if (now - a->since_ms >= a->p.dwell_ms && a->ev.nfixes >= a->p.min_fixes) {
		a->ev.dwell_ms = now - a->since_ms;
		a->state = ARRIVAL_ARRIVED;
		if (out != NULL)
			*out = a->ev;
		arrived = 1;
	}
done:
	check(a, now);
	if (verdict != NULL)
		*verdict = v;
	return arrived;
}

void
arrival_tick(struct arrival *a)
{
	int64_t now = clock_mono(a->clock);

	gap_rule(a, now);
	check(a, now);
}

int
arrival_manual(struct arrival *a, const struct proto_fix *fix, struct arrival_evidence *out)
{
	int64_t now = clock_mono(a->clock);
	struct arrival_evidence ev = a->ev;
	int changed = a->state != ARRIVAL_ARRIVED;

	if (a->state == ARRIVAL_INSIDE)
		ev.dwell_ms = now - a->since_ms;
	else if (a->state == ARRIVAL_OUTSIDE)
		ev.dwell_ms = 0;
	ev.dist_m = usable(fix) ?
	    maps_distance_m(a->site_lat, a->site_lon, fix->lat, fix->lon) : NAN;
	a->state = ARRIVAL_ARRIVED;
	a->ev = ev;
	if (out != NULL)
		*out = ev;
	return changed;
}
