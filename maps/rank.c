/*
 * rank.c: which crew can reach a fault site first.
 *
 * Does: for each crew on duty and free (or finishing soon), an estimated time of
 * arrival from its last good position: wait until free + setup + straight
 * distance x detour factor / speed of the site's zone class; and a pessimistic
 * ETA that adds how far the crew may have moved since that position was taken
 * (age x drift speed, capped). Crews are sorted by the pessimistic ETA, so a
 * fresh position beats an equally near stale one, and each is marked against
 * the order's arrival deadline: yes (even pessimistically), maybe, no, unknown.
 * Does not: route on roads (the detour factor stands in for them), know about
 * crews' other orders beyond their state, or choose: the supervisor does.
 *
 * Why the haversine and not Vincenty: ranking needs an order and minutes, the
 * sphere's 0.5 % is far below the detour factor's own uncertainty, and it is
 * ~10x cheaper for 5,000 crews.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "maps.h"

#define RANK_MAX_SPEED_KMH	300.0
#define RANK_MAX_DETOUR		5.0

static long
rank_fail(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static long
rank_fail(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errcap > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Fill p with the defaults documented in maps.h. */
void
maps_rank_defaults(struct maps_rank_params *p)
{
	p->speed_kmh[MAPS_ZONE_URBAN] = 30.0;
	p->speed_kmh[MAPS_ZONE_RURAL] = 60.0;
	p->speed_kmh[MAPS_ZONE_REMOTE] = 40.0;	/* gravel and grassland tracks */
	p->detour = 1.3;
	p->setup_s = 300.0;
	p->drift_kmh = 20.0;
	p->drift_max_m = 20000.0;
	p->max_pos_age_s = 7200.0;
}

/* "yes", "maybe", "no", "unknown"; "?" outside the enum. */
const char *
maps_reach_name(enum maps_reach r)
{
	switch (r) {
	case MAPS_REACH_YES:		return "yes";
	case MAPS_REACH_MAYBE:		return "maybe";
	case MAPS_REACH_NO:		return "no";
	case MAPS_REACH_UNKNOWN:	return "unknown";
	}
	return "?";
}

static int
rank_cmp(const void *a, const void *b)
{
	const struct maps_rank *x = a, *y = b;
	int ux = x->reach == MAPS_REACH_UNKNOWN, uy = y->reach == MAPS_REACH_UNKNOWN;

	if (ux != uy)
		return ux - uy;
	if (!ux) {
		if (x->eta_hi_s != y->eta_hi_s)
			return x->eta_hi_s < y->eta_hi_s ? -1 : 1;
		if (x->eta_s != y->eta_s)
			return x->eta_s < y->eta_s ? -1 : 1;
	}
	return x->crew < y->crew ? -1 : x->crew > y->crew;
}

static int
param_ok(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

/* Rank crews (contract in maps.h). */
long
maps_rank_crews(double site_lat, double site_lon, enum maps_zone zone, int64_t now_ms,
    int64_t due_ms, const struct maps_crew *crews, size_t n,
    const struct maps_rank_params *p, struct maps_rank *out, size_t cap,
    char *err, size_t errcap)
{
	double speed_mps, drift_mps;
	size_t k = 0;

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if ((unsigned)zone > MAPS_ZONE_REMOTE)
		return rank_fail(err, errcap, "zone: not urban, rural or remote");
	if (!param_ok(site_lat, -90, 90) || !param_ok(site_lon, -180, 180))
		return rank_fail(err, errcap, "site: not a latitude, longitude");
	for (int z = 0; z < 3; z++)
		if (!param_ok(p->speed_kmh[z], 1e-3, RANK_MAX_SPEED_KMH))
			return rank_fail(err, errcap, "speed_kmh[%s]: must be in (0, %g]",
			    maps_zone_name((enum maps_zone)z), RANK_MAX_SPEED_KMH);
	if (!param_ok(p->detour, 1.0, RANK_MAX_DETOUR))
		return rank_fail(err, errcap, "detour: must be in [1, %g]", RANK_MAX_DETOUR);
	if (!param_ok(p->setup_s, 0, 86400))
		return rank_fail(err, errcap, "setup_s: must be in [0, 86400]");
	if (!param_ok(p->drift_kmh, 0, RANK_MAX_SPEED_KMH) || !param_ok(p->drift_max_m, 0, 1e6))
		return rank_fail(err, errcap, "drift_kmh/drift_max_m: out of range");
	if (!param_ok(p->max_pos_age_s, 1e-3, 30 * 86400.0))
		return rank_fail(err, errcap, "max_pos_age_s: must be in (0, 30 days]");
	if (n > 0 && (crews == NULL || out == NULL))
		return rank_fail(err, errcap, "crews: NULL");
	if (cap < n)
		return rank_fail(err, errcap, "out: room for %zu, need one per crew (%zu)",
		    cap, n);

	speed_mps = p->speed_kmh[zone] / 3.6;
	drift_mps = p->drift_kmh / 3.6;
	for (size_t i = 0; i < n; i++) {
		const struct maps_crew *c = &crews[i];
		struct maps_rank *r;
		double age_s, wait_s = 0, travel, unc_m;

		if (c->state != MAPS_CREW_FREE && c->state != MAPS_CREW_FINISHING)
			continue;
		r = &out[k++];
		r->crew = i;
		if (c->state == MAPS_CREW_FINISHING && c->free_at_ms > now_ms)
			wait_s = (double)(c->free_at_ms - now_ms) / 1000.0;
		age_s = (double)(now_ms - c->pos_ms) / 1000.0;
		if (age_s < 0)
			age_s = 0;	/* a device clock ahead of ours: treat as fresh */
		r->dist_m = maps_haversine_m(c->lat, c->lon, site_lat, site_lon);
		if (!isfinite(r->dist_m) || age_s > p->max_pos_age_s) {
			r->dist_m = NAN;
			r->eta_s = r->eta_hi_s = NAN;
			r->arrive_ms = INT64_MAX;
			r->reach = MAPS_REACH_UNKNOWN;
			continue;
		}
		unc_m = fmin(age_s * drift_mps, p->drift_max_m);
		travel = r->dist_m * p->detour / speed_mps;
		r->eta_s = wait_s + p->setup_s + travel;
		r->eta_hi_s = r->eta_s + unc_m * p->detour / speed_mps;
		r->arrive_ms = now_ms + (int64_t)llround(r->eta_s * 1000.0);
		if ((double)now_ms + r->eta_hi_s * 1000.0 <= (double)due_ms)
			r->reach = MAPS_REACH_YES;
		else if ((double)now_ms + r->eta_s * 1000.0 <= (double)due_ms)
			r->reach = MAPS_REACH_MAYBE;
		else
			r->reach = MAPS_REACH_NO;
	}
	if (k > 1)
		qsort(out, k, sizeof(*out), rank_cmp);
	return (long)k;
}
