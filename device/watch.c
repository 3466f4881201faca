/*
 * watch.c: keeps one arrival detector (arrival.c) per order the device holds
 * open, feeds them every usable fix, and turns a detection into an ARRIVE event
 * (journaled first, then sent, by mqtt_event).
 *
 * It does not judge fixes itself (arrival.c does) and does not read gpsd
 * (gps.c calls watch_fix). Detectors live in struct device; they are rebuilt
 * from the journal after every order change, keeping the dwell of orders that
 * stay open. A restart starts every dwell afresh, which only delays arrival.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"

static void
params(const struct device *d, struct arrival_params *p)
{
	p->dwell_ms = (int64_t)d->conf.arrive_dwell_s * 1000;
	p->min_fixes = d->conf.arrive_min_fixes;
	p->max_eph_m = d->conf.arrive_max_eph_m;
	p->max_speed_mps = d->conf.arrive_max_speed_mps;
	p->exit_margin_m = d->conf.arrive_exit_margin_m;
	p->max_fix_age_ms = (int64_t)d->conf.arrive_max_fix_age_s * 1000;
}

void
watch_sync(struct device *d)
{
	char ids[WATCH_MAX][PROTO_ID_MAX];
	struct arrival *next;
	struct arrival_params p;
	struct jorder *o;
	int n, i, k, nnext = 0, kept;

	if ((n = journal_open_orders(d->journal, ids, WATCH_MAX)) < 0)
		return;		/* logged; keep the detectors we have */
	next = calloc(WATCH_MAX, sizeof(*next));
	o = malloc(sizeof(*o));
	if (next == NULL || o == NULL) {
		log_warn("watch: allocation");
		free(next);
		free(o);
		return;
	}
	params(d, &p);
	for (i = 0; i < n; i++) {
		for (kept = 0, k = 0; k < d->nwatch && !kept; k++) {
			if (strcmp(d->watch[k].order_id, ids[i]) == 0 &&
			    d->watch[k].state != ARRIVAL_ARRIVED) {
				next[nnext++] = d->watch[k];
				kept = 1;
			}
		}
		if (kept)
			continue;
		if (journal_order_get(d->journal, ids[i], o) != 1 || o->state != JO_OPEN)
			continue;	/* arrived already: nothing to detect */
		arrival_init(&next[nnext], o->order.id, o->order.site_lat, o->order.site_lon,
		    o->order.radius_m, &p, d->clock);
		/* a fix timed before the order was recorded cannot be evidence of
		 * going there; the slack allows for the gateway's and our clocks */
		next[nnext++].not_before_ms = o->order.created_ms - GPS_CLOCK_SLACK_MS;
		log_debug("watch: order %s: site %.6f, %.6f, radius %.0f m", o->order.id,
		    o->order.site_lat, o->order.site_lon, o->order.radius_m);
	}
	memcpy(d->watch, next, (size_t)nnext * sizeof(*next));
	d->nwatch = nnext;
	free(next);
	free(o);
}

static void
report(struct device *d, struct arrival *a, const struct proto_fix *fix,
    const struct arrival_evidence *ev)
{
	struct proto_event *e;
	int sent;

	log_info("arrived at order %s by GPS: %.0f m from site, dwell %lld s, %d fixes",
	    a->order_id, ev->dist_m, (long long)(ev->dwell_ms / 1000), ev->nfixes);
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		log_warn("watch: calloc");
		return;
	}
	e->type = PROTO_EV_ARRIVE;
	snprintf(e->order_id, sizeof(e->order_id), "%s", a->order_id);
	e->method = PROTO_ARRIVE_GPS;
	e->has_fix = 1;
	e->fix = *fix;
	e->dist_m = ev->dist_m;
	e->dwell_ms = ev->dwell_ms;
	e->ntrack = ev->ntrack;
	memcpy(e->track, ev->track, sizeof(e->track));
	if (mqtt_event(d, e, &sent) == -1) {
		/* Not stored: watch again, so the arrival is found and stored later. */
		log_warnx("order %s: arrival not journaled; detecting again", a->order_id);
		int64_t nb = a->not_before_ms;

		arrival_init(a, a->order_id, a->site_lat, a->site_lon, a->radius_m, &a->p,
		    a->clock);
		a->not_before_ms = nb;
	}
	free(e);
}

/* The gap rule needs a clock only while some detector counts a dwell; an idle
 * unit must not wake every second for nothing. */
static void
tick_arm(struct device *d)
{
	int i, inside = 0;

	for (i = 0; i < d->nwatch; i++)
		inside |= d->watch[i].state == ARRIVAL_INSIDE;
	if (inside && !loop_timer_armed(&d->tick_timer))
		loop_timer_start(d->loop, &d->tick_timer, WATCH_TICK_MS, WATCH_TICK_MS);
	else if (!inside && loop_timer_armed(&d->tick_timer))
		loop_timer_stop(d->loop, &d->tick_timer);
}

void
watch_fix(struct device *d, const struct proto_fix *fix)
{
	struct arrival_evidence *ev;
	enum arrival_verdict v;
	int i, any = 0;

	if (d->nwatch == 0)
		return;
	if ((ev = malloc(sizeof(*ev))) == NULL) {
		log_warn("watch: malloc");
		return;
	}
	for (i = 0; i < d->nwatch; i++) {
		struct arrival *a = &d->watch[i];

		if (arrival_feed(a, fix, &v, ev)) {
			report(d, a, fix, ev);
			any = 1;
		} else if (v == ARRIVAL_V_EARLY) {
			d->gpsc.r_before_order++;
			log_debug("watch: order %s: fix timed before the order existed: ignored",
			    a->order_id);
		} else
			log_debug("watch: order %s: %s, %.0f m, %s", a->order_id,
			    v == ARRIVAL_V_COUNTED ? "counted" : v == ARRIVAL_V_BAND ? "band" :
			    v == ARRIVAL_V_POOR ? "poor" : v == ARRIVAL_V_REPEAT ? "repeat" :
			    v == ARRIVAL_V_OUTSIDE ? "outside" : "ignored", a->last_dist_m,
			    arrival_state_name(a->state));
	}
	free(ev);
	if (any)
		watch_sync(d);
	tick_arm(d);
}

void
watch_tick(struct device *d)
{
	int i;

	for (i = 0; i < d->nwatch; i++)
		arrival_tick(&d->watch[i]);
	tick_arm(d);
}

int
watch_manual(struct device *d, const char *order_id, const struct proto_fix *fix,
    struct arrival_evidence *ev)
{
	int i;

	for (i = 0; i < d->nwatch; i++) {
		if (strcmp(d->watch[i].order_id, order_id) == 0) {
			arrival_manual(&d->watch[i], fix, ev);
			return 0;
		}
	}
	memset(ev, 0, sizeof(*ev));
	ev->dist_m = NAN;
	return -1;
}
