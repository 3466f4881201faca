/*
 * order.c: the operations on orders of every business type, each one store
 * transaction: intake (taxonomy check, the 第十五条 (四) intake rules:
 * planned outage, arrears, customer-internal, queries answered on the call),
 * review (dispatch a repair, forward the others to a department, decline or
 * link a duplicate), device events, department results, callbacks,
 * archiving, the planned-outage registry, and the SLA tick (warnings,
 * breaches, the 12 h delay-reason flag).
 *
 * Every state change, its timeline entry and (for a dispatch) its outbox row
 * are written in one BEGIN IMMEDIATE .. COMMIT, so a crash leaves either all of
 * them or none. The rules of which change is allowed come from sla.c's
 * transition table; the verdicts, breach entries and the next deadline are
 * recomputed by order_settle() before every commit.
 *
 * This module does not speak HTTP or MQTT: http.c parses requests into the
 * *_input structures and mqtt.c decodes device events; after a commit they
 * publish the outbox rows written here (mqtt_flush).
 */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "gateway.h"
#include "grow.h"
#include "log.h"

#define MS_PER_MIN		60000LL
#define TICK_BATCH		256	/* orders settled per SLA tick */
#define CATEGORY_CUSTOMER	7	/* customer-internal fault: never dispatched */

static void
seterr(struct gw_err *err, enum gw_status st, const char *field, const char *fmt, ...)
    LC_PRINTF(4, 5);

static void
seterr(struct gw_err *err, enum gw_status st, const char *field, const char *fmt, ...)
{
	va_list ap;

	err->status = st;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static void
check_invariant(const struct order *o)
{
	/* A broken invariant is a bug in this file, never bad input. */
	assert(sla_order_valid(o));
	(void)o;
}

/* Add a number, or null when v is NaN. */
static void
json_num(cJSON *obj, const char *key, double v)
{
	if (isnan(v))
		cJSON_AddNullToObject(obj, key);
	else
		cJSON_AddNumberToObject(obj, key, v);
}

/* Add a time, or null when 0 (unknown). */
static void
json_time(cJSON *obj, const char *key, int64_t v)
{
	if (v == 0)
		cJSON_AddNullToObject(obj, key);
	else
		cJSON_AddNumberToObject(obj, key, (double)v);
}

static cJSON *
fix_json(const struct proto_fix *f)
{
	cJSON *j = cJSON_CreateObject();

	if (j == NULL)
		return NULL;
	json_time(j, "t_ms", f->t_ms);
	cJSON_AddNumberToObject(j, "lat", f->lat);
	cJSON_AddNumberToObject(j, "lon", f->lon);
	cJSON_AddNumberToObject(j, "mode", f->mode);
	json_num(j, "eph_m", f->eph_m);
	json_num(j, "speed_mps", f->speed_mps);
	return j;
}

/* Append a timeline entry whose detail is j (consumed, may be NULL). */
static int
tl_add(struct gw *gw, const char *order_id, const char *kind, int64_t at_ms, int64_t rx_ms,
    const char *actor, cJSON *j)
{
	char *text = NULL;
	int rc;

	if (j != NULL) {
		text = pj_print(j);
		cJSON_Delete(j);
		if (text == NULL) {
			log_warnx("order %s: timeline %s: out of memory", order_id, kind);
			return -1;
		}
		if (strlen(text) >= GW_DETAIL_MAX) {
			log_warnx("order %s: timeline %s: detail too large", order_id, kind);
			cJSON_free(text);
			return -1;
		}
	}
	rc = store_tl_append(gw->store, order_id, kind, at_ms, rx_ms, actor, text, NULL);
	cJSON_free(text);
	return rc;
}

/* Write a warning or breach entry for stage r of o. */
static int
stage_entry(struct gw *gw, struct order *o, const struct sla_result *r, const char *kind,
    int64_t at, int64_t now)
{
	cJSON *j;

	if ((j = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddStringToObject(j, "stage", sla_stage_name(r->stage));
	if (r->limit_ms)
		cJSON_AddNumberToObject(j, "limit_min", (double)r->limit_ms / MS_PER_MIN);
	json_time(j, "due_ms", r->due_ms);
	json_time(j, "done_ms", r->done_ms);
	if (strcmp(kind, "breach") == 0)
		/* How late: at completion when done, else as of this check. */
		cJSON_AddNumberToObject(j, "late_min",
		    (double)((r->done_ms ? r->done_ms : now) - r->due_ms) / MS_PER_MIN);
	else {
		cJSON_AddNumberToObject(j, "pct", o->lim.warn_pct);
		cJSON_AddNumberToObject(j, "left_min", (double)(r->due_ms - now) / MS_PER_MIN);
	}
	return tl_add(gw, o->id, kind, at, now, "gateway", j);
}

/* A repair at its completion limit without a delay reason: flag it and ask the
 * crew for one (第十九条 repair item 5). The request is on the timeline and in
 * the order's delay_requested_ms; the device sees it when proto gains a
 * downlink message for it (README "Watching"). */
static int push_notice(struct gw *, const struct order *, const char *,
    enum proto_down_type, const char *, int64_t, char[PROTO_ID_MAX]);

static int
request_delay_reason(struct gw *gw, struct order *o, const struct sla_result *r, int64_t now)
{
	char msg_id[PROTO_ID_MAX] = "";
	cJSON *j;

	if (o->type != TYPE_REPAIR || o->delay_reason[0] || o->delay_requested_ms ||
	    r->done_ms)
		return 0;
	if ((j = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddStringToObject(j, "why", "completion limit reached without completion or a "
	    "delay reason");
	cJSON_AddNumberToObject(j, "limit_min", o->lim.complete_min);
	cJSON_AddStringToObject(j, "crew", o->crew);
	cJSON_AddStringToObject(j, "device", o->device);
	/* Ask the crew's unit itself (delay_request, acknowledged like a push and
	 * resent until then), unless the order is not on a unit any more. */
	if (o->device[0] && sla_state_on_device(o->state) &&
	    push_notice(gw, o, o->device, PROTO_DOWN_DELAY_REQUEST, "completion_limit", now,
	    msg_id) == -1) {
		cJSON_Delete(j);
		return -1;
	}
	if (msg_id[0])
		cJSON_AddStringToObject(j, "msg_id", msg_id);
	if (tl_add(gw, o->id, "delay_requested", now, now, "gateway", j) == -1)
		return -1;
	o->delay_requested_ms = now;
	log_warnx("order %s: %d min without completion and no delay reason: flagged, a "
	    "reason is requested from crew %s", o->id, o->lim.complete_min, o->crew);
	return 0;
}

int
order_settle(struct gw *gw, struct order *o)
{
	struct sla_result r[SLA_NSTAGES];
	int64_t now = clock_wall(gw->clock);
	int64_t nd;

	sla_eval(o, gw->clock, r);
	for (int i = 0; i < SLA_NSTAGES; i++) {
		unsigned bit = 1u << i;

		if (r[i].verdict == SLA_PENDING && r[i].warn_ms && now >= r[i].warn_ms &&
		    !(o->warned & bit) && !(o->breached & bit)) {
			if (stage_entry(gw, o, &r[i], "warning", r[i].warn_ms, now) == -1)
				return -1;
			o->warned |= bit;
			log_info("order %s: %s deadline in %.0f min", o->id,
			    sla_stage_name(r[i].stage), (double)(r[i].due_ms - now) / MS_PER_MIN);
		}
		if (r[i].verdict != SLA_BREACHED || (o->breached & bit))
			continue;
		if (stage_entry(gw, o, &r[i], "breach", r[i].due_ms, now) == -1)
			return -1;
		o->breached |= bit;
		o->warned |= bit;
		log_info("order %s: %s deadline breached (due %lld)", o->id,
		    sla_stage_name(r[i].stage), (long long)r[i].due_ms);
		if (i == SLA_COMPLETION && request_delay_reason(gw, o, &r[i], now) == -1)
			return -1;
	}
	o->next_due_ms = sla_next_due(r, o->warned, &o->next_stage);
	/* A finished order whose shift is still running waits in the index for
	 * the shift's end: then the archive clock may start (archive_check). */
	if (o->finished_ms && o->archive_start_ms == 0 && o->shift_end_ms > now &&
	    o->lim.archive_min) {
		nd = o->shift_end_ms;
		if (o->next_due_ms == 0 || nd < o->next_due_ms) {
			o->next_due_ms = nd;
			o->next_stage = SLA_ARCHIVE;
		}
	}
	if (o->next_due_ms == 0)
		o->next_stage = SLA_REVIEW;
	return 0;
}

/* Order ids collected from a store scan, to be reloaded and rewritten after
 * the scan (a statement cannot be stepped while its rows are updated). */
struct id_list {
	char	(*ids)[PROTO_ID_MAX];
	int	n;
	size_t	cap;
};

/* Append id; 0, or 1 (stop the scan) when memory runs out. */
static int
id_list_push(struct id_list *l, const char *id)
{
	if (grow(&l->ids, &l->cap, (size_t)l->n + 1, PROTO_ID_MAX, 64) == -1)
		return 1;
	memcpy(l->ids[l->n++], id, PROTO_ID_MAX);
	return 0;
}

struct shift_scan {
	struct id_list	l;
	int64_t		last_finish;
};

static int
collect_shift(const struct order *o, void *arg)
{
	struct shift_scan *sc = arg;

	if (o->finished_ms > sc->last_finish)
		sc->last_finish = o->finished_ms;
	if (o->archive_start_ms != 0)
		return 0;
	return id_list_push(&sc->l, o->id);
}

/* Every order the scan yields (store callbacks take a void *). */
static int
collect_all(const struct order *o, void *arg)
{
	return id_list_push(arg, o->id);
}

/* o has finished: when every order of its type in its shift has, and the
 * shift is over, the archive clock of all of them starts at the later of the
 * shift's end and the last finish. Inside the caller's transaction, after o's
 * row is written; may rewrite o's row (the caller reloads it). 0 / -1. */
static int
archive_check(struct gw *gw, const struct order *o)
{
	struct shift_scan sc = { 0 };
	struct order *x;
	int64_t now = clock_wall(gw->clock), start;
	int n, rc = -1;

	if (o->lim.archive_min == 0 || o->shift_ms == 0 || o->shift_end_ms > now)
		return 0;
	if ((n = store_shift_unfinished(gw->store, o->type, o->shift_ms)) != 0)
		return n < 0 ? -1 : 0;
	if ((x = malloc(sizeof(*x))) == NULL)
		return -1;
	if (store_order_shift(gw->store, o->type, o->shift_ms, collect_shift, &sc) == -1)
		goto out;
	start = sc.last_finish > o->shift_end_ms ? sc.last_finish : o->shift_end_ms;
	for (int i = 0; i < sc.l.n; i++) {
		if (store_order_get(gw->store, sc.l.ids[i], x) != 1)
			goto out;
		x->archive_start_ms = start;
		if (order_settle(gw, x) == -1 || store_order_update(gw->store, x) == -1)
			goto out;
	}
	if (sc.l.n)
		log_info("shift of %s orders from %lld: all %d finished, archive due by %lld",
		    taxonomy_type_name(o->type), (long long)o->shift_ms, sc.l.n,
		    (long long)(start + o->lim.archive_min * MS_PER_MIN));
	rc = 0;
out:
	free(sc.l.ids);
	free(x);
	return rc;
}

/* Settle, write the order row, start the shift's archive clock when it is the
 * last to finish, and commit; roll back on any failure. */
static enum gw_status
finish(struct gw *gw, struct order *o, struct gw_err *err)
{
	check_invariant(o);
	if (order_settle(gw, o) == -1 || store_order_update(gw->store, o) == -1)
		goto fail;
	if (o->finished_ms && o->archive_start_ms == 0) {
		if (archive_check(gw, o) == -1 || store_order_get(gw->store, o->id, o) != 1)
			goto fail;
	}
	if (store_commit(gw->store) == -1)
		goto fail;
	return GW_OK;
fail:
	store_rollback(gw->store);
	if (err)
		seterr(err, GW_E_STORE, NULL, "the store cannot write; nothing was accepted");
	return GW_E_STORE;
}

static enum gw_status
store_failed(struct gw *gw, struct gw_err *err)
{
	store_rollback(gw->store);
	seterr(err, GW_E_STORE, NULL, "the store cannot write; nothing was accepted");
	return GW_E_STORE;
}

const char *
order_crs_name(enum maps_crs c)
{
	switch (c) {
	case MAPS_GCJ02:
		return "gcj02";
	case MAPS_BD09:
		return "bd09";
	case MAPS_WGS84:
	default:
		return "wgs84";
	}
}

int
order_crs_parse(const char *s, enum maps_crs *out)
{
	static const enum maps_crs all[] = { MAPS_WGS84, MAPS_GCJ02, MAPS_BD09 };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, order_crs_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -1;
}

struct outage_find {
	double	lat, lon;
	struct outage *out;
	int	found;
};

static int
outage_hit(const struct outage *ot, void *arg)
{
	struct outage_find *f = arg;

	if (!maps_within(ot->lat, ot->lon, ot->radius_m, f->lat, f->lon, 0, NULL))
		return 0;
	*f->out = *ot;
	f->found = 1;
	return 1;
}

int
order_outage_find(struct gw *gw, double lat, double lon, int64_t at_ms, struct outage *out)
{
	struct outage_find f = { lat, lon, out, 0 };

	if (store_outage_list(gw->store, at_ms, outage_hit, &f) == -1)
		return -1;
	return f.found;
}

enum gw_status
order_outage_add(struct gw *gw, struct outage *ot, struct gw_err *err)
{
	if (ot->name[0] == '\0') {
		seterr(err, GW_E_BAD, "name", "name: must not be empty");
		return GW_E_BAD;
	}
	if (isnan(ot->lat) || ot->lat < -90 || ot->lat > 90) {
		seterr(err, GW_E_BAD, "site.lat", "site.lat: must be a number in [-90, 90]");
		return GW_E_BAD;
	}
	if (isnan(ot->lon) || ot->lon < -180 || ot->lon > 180) {
		seterr(err, GW_E_BAD, "site.lon", "site.lon: must be a number in [-180, 180]");
		return GW_E_BAD;
	}
	if (!(ot->radius_m >= 1 && ot->radius_m <= 100000)) {
		seterr(err, GW_E_BAD, "radius_m", "radius_m: must be a number in [1, 100000]");
		return GW_E_BAD;
	}
	if (ot->start_ms <= 0 || ot->end_ms <= ot->start_ms) {
		seterr(err, GW_E_BAD, "end_ms", "end_ms: must be after start_ms");
		return GW_E_BAD;
	}
	ot->created_ms = clock_wall(gw->clock);
	if (store_begin(gw->store) == -1 || store_outage_add(gw->store, ot) == -1 ||
	    store_commit(gw->store) == -1)
		return store_failed(gw, err);
	log_info("planned outage %d registered: %s, %.0f m around %.6f,%.6f", ot->id, ot->name,
	    ot->radius_m, ot->lat, ot->lon);
	return GW_OK;
}

/* An intake rule of 第十五条 (四) decides a repair report: answered with the
 * reason, not dispatched. Sets the order declined at intake (no review). */
static void
intake_decline(struct order *o, const char *reason, int64_t now)
{
	o->state = ORD_DECLINED;
	snprintf(o->decline_reason, sizeof(o->decline_reason), "%s", reason);
	o->finished_ms = now;
}

enum gw_status
order_create(struct gw *gw, const struct order_input *in, struct order *o, struct gw_err *err)
{
	const struct tx_category *cat = taxonomy_category(in->category);
	struct maps_zone_hit hit;
	struct outage ot;
	int64_t now = clock_wall(gw->clock);
	int inside = 0, rc;
	const char *outcome = NULL;
	cJSON *j;

	if ((unsigned)in->type >= TYPE_N) {
		seterr(err, GW_E_BAD, "type", "type: unknown business type");
		return GW_E_BAD;
	}
	if (cat == NULL) {
		seterr(err, GW_E_BAD, "category", "category: must be an integer in [1, %d]",
		    TAXONOMY_NCATEGORIES);
		return GW_E_BAD;
	}
	if (cat->type != in->type) {
		seterr(err, GW_E_BAD, "category", "category: %d (%s) is a %s category, not %s",
		    cat->id, cat->en, taxonomy_type_name(cat->type), taxonomy_type_name(in->type));
		return GW_E_BAD;
	}
	if (in->type == TYPE_REPAIR && !in->has_site) {
		seterr(err, GW_E_BAD, "site", "site: is required for a repair");
		return GW_E_BAD;
	}
	if (in->has_site && (isnan(in->lat) || in->lat < -90 || in->lat > 90)) {
		seterr(err, GW_E_BAD, "site.lat", "site.lat: must be a number in [-90, 90]");
		return GW_E_BAD;
	}
	if (in->has_site && (isnan(in->lon) || in->lon < -180 || in->lon > 180)) {
		seterr(err, GW_E_BAD, "site.lon", "site.lon: must be a number in [-180, 180]");
		return GW_E_BAD;
	}
	if (in->address[0] == '\0') {
		seterr(err, GW_E_BAD, "address", "address: must not be empty");
		return GW_E_BAD;
	}
	if ((in->ring_ms != 0) != (in->answered_ms != 0) ||
	    (in->ring_ms && in->answered_ms < in->ring_ms)) {
		seterr(err, GW_E_BAD, "answered_ms", "answered_ms: give ring_ms and answered_ms "
		    "together, answered_ms not before ring_ms");
		return GW_E_BAD;
	}
	if (in->arrears && in->type != TYPE_REPAIR) {
		seterr(err, GW_E_BAD, "arrears", "arrears: only a repair report can be an "
		    "arrears disconnection");
		return GW_E_BAD;
	}
	memset(o, 0, sizeof(*o));
	o->type = in->type;
	o->category = in->category;
	o->grade = cat->grade;
	o->state = ORD_RECORDED;
	memcpy(o->summary, in->summary, sizeof(o->summary));
	memcpy(o->address, in->address, sizeof(o->address));
	memcpy(o->customer, in->customer, sizeof(o->customer));
	memcpy(o->phone, in->phone, sizeof(o->phone));
	o->in_crs = in->crs;
	if (in->has_site) {
		o->in_lat = in->lat;
		o->in_lon = in->lon;
		maps_convert(in->crs, MAPS_WGS84, in->lat, in->lon, &o->lat, &o->lon);
	}
	o->radius_m = in->radius_m > 0 ? in->radius_m : gw->conf->radius_m;
	if (gw->zones && in->has_site)
		inside = maps_zones_lookup(gw->zones, o->lat, o->lon, gw->zone_default, &hit);
	if (inside) {
		o->zone = hit.zone;
		snprintf(o->zone_name, sizeof(o->zone_name), "%s", hit.name);
	} else {
		o->zone = gw->zone_default;
		snprintf(o->zone_name, sizeof(o->zone_name), "%s",
		    in->has_site ? "default" : "no site");
	}
	if (!inside && gw->zones && in->has_site) {
		log_warnx("order site %.6f,%.6f is outside every zone polygon: zone %s applies",
		    o->lat, o->lon, maps_zone_name(o->zone));
	}
	o->ring_ms = in->ring_ms;
	o->answered_ms = in->answered_ms;
	o->call_ended_ms = in->call_ended_ms;
	o->created_ms = now;
	sla_profile_for(gw->limits, o->type, o->category, o->zone, &o->lim);
	calendar_shift(&gw->conf->shifts, now, &o->shift_ms, &o->shift_end_ms);

	if (store_begin(gw->store) == -1)
		return store_failed(gw, err);
	/* The intake rules of 第十五条 (四) for repair reports. */
	memset(&ot, 0, sizeof(ot));
	if (o->type == TYPE_REPAIR && o->category == CATEGORY_CUSTOMER) {
		intake_decline(o, "customer_internal", now);
		outcome = "advice given: the fault is inside the customer's installation";
	} else if (o->type == TYPE_REPAIR && in->arrears) {
		intake_decline(o, "arrears", now);
		outcome = "answered: arrears disconnection; power returns within 24 h of payment";
	} else if (o->type == TYPE_REPAIR) {
		if ((rc = order_outage_find(gw, o->lat, o->lon, now, &ot)) == -1)
			return store_failed(gw, err);
		if (rc == 1) {
			intake_decline(o, "planned_outage", now);
			o->outage_id = ot.id;
			outcome = "answered: inside a planned outage";
		}
	} else if (o->type == TYPE_QUERY) {
		/* A query is answered on the call: done at intake (第十九条). */
		o->state = ORD_CLOSED;
		o->finished_ms = now;
		outcome = "answered on the call";
	}
	if (store_order_next_id(gw->store, now, o->id, sizeof(o->id)) == -1 ||
	    store_order_insert(gw->store, o) == -1)
		return store_failed(gw, err);
	if ((j = cJSON_CreateObject()) == NULL)
		return store_failed(gw, err);
	cJSON_AddStringToObject(j, "type", taxonomy_type_name(o->type));
	cJSON_AddNumberToObject(j, "category", o->category);
	cJSON_AddStringToObject(j, "category_name", sla_category_name(o->category));
	if (o->grade)
		cJSON_AddStringToObject(j, "grade", taxonomy_grade_name(o->grade));
	cJSON_AddStringToObject(j, "address", o->address);
	cJSON_AddStringToObject(j, "profile", o->lim.name);
	if (o->type == TYPE_REPAIR) {
		cJSON_AddStringToObject(j, "zone", maps_zone_name(o->zone));
		cJSON_AddStringToObject(j, "zone_name", o->zone_name);
		cJSON_AddBoolToObject(j, "zone_default", !inside);
		cJSON_AddNumberToObject(j, "arrive_limit_min", o->lim.arrive_min);
		cJSON_AddNumberToObject(j, "complete_limit_min", o->lim.complete_min);
	} else if (o->lim.handle_wd)
		cJSON_AddNumberToObject(j, "handle_limit_wd", o->lim.handle_wd);
	if (tl_add(gw, o->id, "recorded", now, now, "agent", j) == -1)
		return store_failed(gw, err);
	if (outcome != NULL) {
		if ((j = cJSON_CreateObject()) == NULL)
			return store_failed(gw, err);
		if (o->decline_reason[0])
			cJSON_AddStringToObject(j, "reason", o->decline_reason);
		cJSON_AddStringToObject(j, "outcome", outcome);
		if (o->outage_id) {
			cJSON_AddNumberToObject(j, "outage", ot.id);
			cJSON_AddStringToObject(j, "outage_name", ot.name);
			cJSON_AddNumberToObject(j, "outage_end_ms", (double)ot.end_ms);
		}
		cJSON_AddBoolToObject(j, "dispatched", 0);
		if (tl_add(gw, o->id, o->state == ORD_DECLINED ? "declined" : "answered", now, now,
		    "agent", j) == -1)
			return store_failed(gw, err);
	}
	if (finish(gw, o, err) != GW_OK)
		return GW_E_STORE;
	log_info("order %s recorded: %s category %d, zone %s (%s)%s%s", o->id,
	    taxonomy_type_name(o->type), o->category, maps_zone_name(o->zone), o->zone_name,
	    outcome ? ": " : "", outcome ? outcome : "");
	return GW_OK;
}

static enum proto_zone
to_proto_zone(enum maps_zone z)
{
	switch (z) {
	case MAPS_ZONE_URBAN:
		return PROTO_ZONE_URBAN;
	case MAPS_ZONE_REMOTE:
		return PROTO_ZONE_REMOTE;
	case MAPS_ZONE_RURAL:
	default:
		return PROTO_ZONE_RURAL;
	}
}

/* Write a new outbox row pushing o to its device. Inside a transaction. */
static int
push_order(struct gw *gw, const struct order *o, int64_t now, char msg_id[PROTO_ID_MAX])
{
	struct proto_down *d;
	struct outbox_row *r;
	struct proto_order *po;
	size_t len;
	int n, rc = -1;
	enum proto_err pe;

	if ((n = store_outbox_count_order(gw->store, o->id)) < 0)
		return -1;
	d = calloc(1, sizeof(*d));
	r = calloc(1, sizeof(*r));
	if (d == NULL || r == NULL) {
		log_warn("order %s: push", o->id);
		goto out;
	}
	d->type = PROTO_DOWN_ORDER;
	{
		char mid[PROTO_ID_MAX + 16];
		int w = snprintf(mid, sizeof(mid), "%s.%d", o->id, n + 1);

		if (w < 0 || (size_t)w >= sizeof(d->msg_id)) {
			log_warnx("order %s: push id too long", o->id);
			goto out;
		}
		memcpy(d->msg_id, mid, (size_t)w + 1);
	}
	d->at_ms = now;
	po = &d->order;
	memcpy(po->id, o->id, sizeof(po->id));
	po->category = o->category;
	snprintf(po->category_name, sizeof(po->category_name), "%s",
	    sla_category_name(o->category));
	memcpy(po->summary, o->summary, sizeof(po->summary));
	memcpy(po->address, o->address, sizeof(po->address));
	memcpy(po->customer, o->customer, sizeof(po->customer));
	memcpy(po->phone, o->phone, sizeof(po->phone));
	po->site_lat = o->lat;
	po->site_lon = o->lon;
	po->radius_m = o->radius_m;
	po->zone = to_proto_zone(o->zone);
	memcpy(po->zone_name, o->zone_name, sizeof(po->zone_name));
	po->created_ms = o->created_ms;
	po->dispatched_ms = o->dispatched_ms;
	po->arrive_by_ms = o->dispatched_ms + o->lim.arrive_min * MS_PER_MIN;
	po->complete_by_ms = o->dispatched_ms + o->lim.complete_min * MS_PER_MIN;
	if ((pe = proto_encode_down(d, r->payload, sizeof(r->payload), &len)) != PROTO_OK) {
		log_warnx("order %s: cannot encode the push: %s", o->id, proto_strerror(pe));
		goto out;
	}
	memcpy(r->msg_id, d->msg_id, sizeof(r->msg_id));
	memcpy(r->dev, o->device, sizeof(r->dev));
	memcpy(r->order_id, o->id, sizeof(r->order_id));
	snprintf(r->kind, sizeof(r->kind), "%s", proto_down_type_name(PROTO_DOWN_ORDER));
	r->created_ms = now;
	if (store_outbox_add(gw->store, r) == -1)
		goto out;
	memcpy(msg_id, d->msg_id, PROTO_ID_MAX);
	rc = 0;
out:
	free(d);
	free(r);
	return rc;
}

static enum gw_status
review_dispatch(struct gw *gw, struct order *o, const struct review_input *in, int64_t now,
    char msg_id[PROTO_ID_MAX], struct gw_err *err)
{
	struct crew c;
	enum order_state to;
	cJSON *j;
	int rc;

	if (o->type != TYPE_REPAIR) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, "action", "order %s is a %s: forward it to a department "
		    "(action forward), crews take repairs only", o->id, taxonomy_type_name(o->type));
		return GW_E_CONFLICT;
	}
	if (o->category == CATEGORY_CUSTOMER) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, "action", "a customer-internal fault (category 7) is "
		    "not dispatched: guide the customer or decline it as customer_internal");
		return GW_E_CONFLICT;
	}
	if (!sla_transition(o->state, ACT_DISPATCH, &to)) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, "action", "order %s is %s: it cannot be dispatched",
		    o->id, order_state_name(o->state));
		return GW_E_CONFLICT;
	}
	if ((rc = store_crew_get(gw->store, in->crew, &c)) == -1)
		return store_failed(gw, err);
	if (rc == 0) {
		store_rollback(gw->store);
		seterr(err, GW_E_NOTFOUND, "crew", "crew: no crew \"%s\"", in->crew);
		return GW_E_NOTFOUND;
	}
	/* A new round (first dispatch, or again after a reopen): the device-side
	 * times of a previous round stay on the timeline, not on the order. */
	o->state = to;
	if (o->reviewed_ms == 0)
		o->reviewed_ms = now;
	o->dispatched_ms = now;
	memcpy(o->crew, c.id, sizeof(o->crew));
	memcpy(o->device, c.device, sizeof(o->device));
	o->delivered_ms = o->accepted_ms = o->arrived_ms = 0;
	o->arrive_method[0] = '\0';
	o->completed_ms = o->completed_rx_ms = o->callback_due_ms = o->callback_ms = 0;
	o->callback_outcome[0] = o->callback_note[0] = '\0';
	o->rating = 0;
	o->callback_attempts = 0;
	o->delay_reason[0] = o->delay_text[0] = '\0';
	o->delay_eta_ms = o->delay_at_ms = 0;
	o->breached &= (1u << SLA_ANSWER) | (1u << SLA_RECORD) | (1u << SLA_REVIEW);
	o->warned &= (1u << SLA_ANSWER) | (1u << SLA_RECORD) | (1u << SLA_REVIEW);
	o->late = 0;
	o->delay_requested_ms = 0;
	memcpy(o->review_note, in->note, sizeof(o->review_note));

	if (push_order(gw, o, now, msg_id) == -1)
		return store_failed(gw, err);
	if ((j = cJSON_CreateObject()) == NULL)
		return store_failed(gw, err);
	cJSON_AddStringToObject(j, "crew", o->crew);
	cJSON_AddStringToObject(j, "device", o->device);
	cJSON_AddStringToObject(j, "msg_id", msg_id);
	cJSON_AddStringToObject(j, "zone", maps_zone_name(o->zone));
	cJSON_AddNumberToObject(j, "arrive_limit_min", o->lim.arrive_min);
	cJSON_AddNumberToObject(j, "arrive_by_ms",
	    (double)(now + o->lim.arrive_min * MS_PER_MIN));
	cJSON_AddNumberToObject(j, "complete_by_ms",
	    (double)(now + o->lim.complete_min * MS_PER_MIN));
	if (in->note[0])
		cJSON_AddStringToObject(j, "note", in->note);
	if (tl_add(gw, o->id, "dispatched", now, now, "supervisor", j) == -1)
		return store_failed(gw, err);
	if (finish(gw, o, err) != GW_OK)
		return GW_E_STORE;
	log_info("order %s dispatched to crew %s (device %s), push %s", o->id, o->crew,
	    o->device, msg_id);
	return GW_OK;
}

/* A repeated report of a fault still being handled is linked: no second
 * dispatch, and its caller gets their own callback when the original is
 * completed (link_done). Once the original is completed there is nothing to
 * wait for: a plain decline. */
static int
can_link(const struct order *orig)
{
	return orig->duplicate_of[0] == '\0' && sla_state_open(orig->state) &&
	    orig->state != ORD_COMPLETED;
}

/* Decline o (checked: ACT_DECLINE allowed) for in's reason, linked or not, and
 * write its "declined" entry; the caller settles and commits. 0 / -1. */
static int
decline_write(struct gw *gw, struct order *o, const struct review_input *in, int linked,
    int64_t now)
{
	enum order_state to;
	cJSON *j;

	if (!sla_transition(o->state, ACT_DECLINE, &to))
		return -1;
	o->linked = linked;
	o->finished_ms = linked ? 0 : now;
	o->state = to;
	if (o->reviewed_ms == 0)
		o->reviewed_ms = now;
	memcpy(o->decline_reason, in->reason, sizeof(o->decline_reason));
	memcpy(o->duplicate_of, in->duplicate_of, sizeof(o->duplicate_of));
	memcpy(o->review_note, in->note, sizeof(o->review_note));
	if ((j = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddStringToObject(j, "reason", in->reason);
	if (in->duplicate_of[0])
		cJSON_AddStringToObject(j, "duplicate_of", in->duplicate_of);
	if (linked)
		cJSON_AddBoolToObject(j, "linked", 1);
	if (strcmp(in->reason, "customer_internal") == 0)
		cJSON_AddStringToObject(j, "outcome", "advice given");
	if (in->note[0])
		cJSON_AddStringToObject(j, "note", in->note);
	return tl_add(gw, o->id, "declined", now, now, "supervisor", j);
}

static enum gw_status
review_decline(struct gw *gw, struct order *o, const struct review_input *in, int64_t now,
    struct gw_err *err)
{
	static const char *const reasons[] = { "duplicate", "planned_outage", "arrears",
		"customer_internal" };
	struct order *dup = NULL;
	enum order_state to;
	size_t i;
	int rc, linked = 0;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(in->reason, reasons[i]) == 0)
			break;
	if (i == sizeof(reasons) / sizeof(reasons[0])) {
		store_rollback(gw->store);
		seterr(err, GW_E_BAD, "reason", "reason: must be one of duplicate, "
		    "planned_outage, arrears, customer_internal");
		return GW_E_BAD;
	}
	if (!sla_transition(o->state, ACT_DECLINE, &to)) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, "action", "order %s is %s: it cannot be declined",
		    o->id, order_state_name(o->state));
		return GW_E_CONFLICT;
	}
	if (in->duplicate_of[0]) {
		if (strcmp(in->duplicate_of, o->id) == 0) {
			store_rollback(gw->store);
			seterr(err, GW_E_BAD, "duplicate_of",
			    "duplicate_of: an order cannot duplicate itself");
			return GW_E_BAD;
		}
		if ((dup = malloc(sizeof(*dup))) == NULL)
			return store_failed(gw, err);
		rc = store_order_get(gw->store, in->duplicate_of, dup);
		/* A repeated report of a fault still being handled is linked: no
		 * second dispatch, and its caller gets their own callback when the
		 * original is completed. Once the original is completed there is
		 * nothing to wait for: a plain decline. */
		linked = rc == 1 && strcmp(in->reason, "duplicate") == 0 && can_link(dup);
		free(dup);
		if (rc == -1)
			return store_failed(gw, err);
		if (rc == 0) {
			store_rollback(gw->store);
			seterr(err, GW_E_BAD, "duplicate_of", "duplicate_of: no order \"%s\"",
			    in->duplicate_of);
			return GW_E_BAD;
		}
	}
	if (decline_write(gw, o, in, linked, now) == -1)
		return store_failed(gw, err);
	if (finish(gw, o, err) != GW_OK)
		return GW_E_STORE;
	log_info("order %s declined: %s", o->id, in->reason);
	return GW_OK;
}

static enum gw_status
review_forward(struct gw *gw, struct order *o, const struct review_input *in, int64_t now,
    struct gw_err *err)
{
	enum order_state to;
	cJSON *j;

	if (o->type == TYPE_REPAIR || o->type == TYPE_QUERY) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, "action", "order %s is a %s: %s", o->id,
		    taxonomy_type_name(o->type), o->type == TYPE_REPAIR ?
		    "dispatch it to a crew" : "a query is answered at intake");
		return GW_E_CONFLICT;
	}
	if (!sla_transition(o->state, ACT_FORWARD, &to)) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, "action", "order %s is %s: it cannot be forwarded",
		    o->id, order_state_name(o->state));
		return GW_E_CONFLICT;
	}
	o->state = to;
	if (o->reviewed_ms == 0)
		o->reviewed_ms = now;
	o->forwarded_ms = now;
	memcpy(o->dept, in->dept, sizeof(o->dept));
	/* The working-day deadline is fixed now, on the calendar in force. */
	o->handle_due_ms = calendar_add_workdays(gw->cal, now, o->lim.handle_wd);
	if (o->handle_due_ms <= now)
		o->handle_due_ms = now + MS_PER_MIN * 60 * 24;
	o->completed_ms = o->completed_rx_ms = o->callback_due_ms = o->callback_ms = 0;
	o->callback_outcome[0] = o->callback_note[0] = o->result[0] = '\0';
	o->rating = 0;
	o->callback_attempts = 0;
	o->breached &= (1u << SLA_ANSWER) | (1u << SLA_RECORD) | (1u << SLA_REVIEW);
	o->warned &= (1u << SLA_ANSWER) | (1u << SLA_RECORD) | (1u << SLA_REVIEW);
	memcpy(o->review_note, in->note, sizeof(o->review_note));
	if ((j = cJSON_CreateObject()) == NULL)
		return store_failed(gw, err);
	cJSON_AddStringToObject(j, "dept", o->dept);
	cJSON_AddNumberToObject(j, "handle_limit_wd", o->lim.handle_wd);
	cJSON_AddNumberToObject(j, "handle_due_ms", (double)o->handle_due_ms);
	if (gw->cal == NULL)
		cJSON_AddStringToObject(j, "calendar", "none: Monday..Friday");
	if (in->note[0])
		cJSON_AddStringToObject(j, "note", in->note);
	if (tl_add(gw, o->id, "forwarded", now, now, "supervisor", j) == -1)
		return store_failed(gw, err);
	if (finish(gw, o, err) != GW_OK)
		return GW_E_STORE;
	log_info("order %s forwarded to %s, result due by %lld", o->id, o->dept,
	    (long long)o->handle_due_ms);
	return GW_OK;
}

enum gw_status
order_review(struct gw *gw, const char *id, const struct review_input *in, struct order *o,
    char msg_id[PROTO_ID_MAX], struct gw_err *err)
{
	int64_t now = clock_wall(gw->clock);
	int rc;

	msg_id[0] = '\0';
	if (store_begin(gw->store) == -1)
		return store_failed(gw, err);
	if ((rc = store_order_get(gw->store, id, o)) == -1)
		return store_failed(gw, err);
	if (rc == 0) {
		store_rollback(gw->store);
		seterr(err, GW_E_NOTFOUND, NULL, "no order \"%s\"", id);
		return GW_E_NOTFOUND;
	}
	if (in->dispatch && in->dept[0])
		return review_forward(gw, o, in, now, err);
	if (in->dispatch)
		return review_dispatch(gw, o, in, now, msg_id, err);
	return review_decline(gw, o, in, now, err);
}

enum gw_status
order_callback(struct gw *gw, const char *id, const struct callback_input *in, struct order *o,
    struct gw_err *err)
{
	int64_t now = clock_wall(gw->clock);
	enum order_state to;
	enum order_action act;
	int rc, unreachable, reopen;
	cJSON *j;

	unreachable = strcmp(in->outcome, "unreachable") == 0;
	reopen = strcmp(in->outcome, "not_restored") == 0;
	if (!unreachable && !reopen && strcmp(in->outcome, "restored_satisfied") != 0 &&
	    strcmp(in->outcome, "restored_unsatisfied") != 0) {
		seterr(err, GW_E_BAD, "outcome", "outcome: must be one of restored_satisfied, "
		    "restored_unsatisfied, not_restored, unreachable");
		return GW_E_BAD;
	}
	if (in->rating < 0 || in->rating > 5) {
		seterr(err, GW_E_BAD, "rating", "rating: must be an integer in [1, 5]");
		return GW_E_BAD;
	}
	if (store_begin(gw->store) == -1)
		return store_failed(gw, err);
	if ((rc = store_order_get(gw->store, id, o)) == -1)
		return store_failed(gw, err);
	if (rc == 0) {
		store_rollback(gw->store);
		seterr(err, GW_E_NOTFOUND, NULL, "no order \"%s\"", id);
		return GW_E_NOTFOUND;
	}
	act = reopen ? ACT_CALLBACK_REOPEN : ACT_CALLBACK_CLOSE;
	if (!sla_transition(o->state, act, &to)) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, "outcome", "order %s is %s: no callback is due",
		    o->id, order_state_name(o->state));
		return GW_E_CONFLICT;
	}
	if ((j = cJSON_CreateObject()) == NULL)
		return store_failed(gw, err);
	cJSON_AddStringToObject(j, "outcome", in->outcome);
	if (in->rating)
		cJSON_AddNumberToObject(j, "rating", in->rating);
	if (in->note[0])
		cJSON_AddStringToObject(j, "note", in->note);
	cJSON_AddNumberToObject(j, "attempt", o->callback_attempts + 1);
	if (tl_add(gw, o->id, "callback", now, now, "agent", j) == -1)
		return store_failed(gw, err);
	o->callback_attempts++;
	if (!unreachable) {
		o->state = to;
		o->callback_ms = now;
		if (to == ORD_CLOSED)
			o->finished_ms = now;
		memcpy(o->callback_outcome, in->outcome, sizeof(o->callback_outcome));
		o->rating = in->rating;
		memcpy(o->callback_note, in->note, sizeof(o->callback_note));
	}
	if (reopen) {
		if ((j = cJSON_CreateObject()) == NULL)
			return store_failed(gw, err);
		cJSON_AddStringToObject(j, "why", "callback: power not restored");
		if (tl_add(gw, o->id, "reopened", now, now, "agent", j) == -1)
			return store_failed(gw, err);
	}
	if (finish(gw, o, err) != GW_OK)
		return GW_E_STORE;
	log_info("order %s callback: %s", o->id, in->outcome);
	return GW_OK;
}

enum gw_status
order_result(struct gw *gw, const char *id, const struct result_input *in, struct order *o,
    struct gw_err *err)
{
	int64_t now = clock_wall(gw->clock), at;
	enum order_state to;
	cJSON *j;
	int rc;

	if (in->text[0] == '\0') {
		seterr(err, GW_E_BAD, "result", "result: must not be empty");
		return GW_E_BAD;
	}
	if (in->at_ms > now) {
		seterr(err, GW_E_BAD, "at_ms", "at_ms: must not be in the future");
		return GW_E_BAD;
	}
	if (store_begin(gw->store) == -1)
		return store_failed(gw, err);
	if ((rc = store_order_get(gw->store, id, o)) == -1)
		return store_failed(gw, err);
	if (rc == 0) {
		store_rollback(gw->store);
		seterr(err, GW_E_NOTFOUND, NULL, "no order \"%s\"", id);
		return GW_E_NOTFOUND;
	}
	if (!sla_transition(o->state, ACT_RESULT, &to)) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, "result", "order %s is %s: only a forwarded order takes "
		    "a department's result", o->id, order_state_name(o->state));
		return GW_E_CONFLICT;
	}
	at = in->at_ms ? in->at_ms : now;
	if (at < o->forwarded_ms) {
		store_rollback(gw->store);
		seterr(err, GW_E_BAD, "at_ms", "at_ms: before the order was forwarded");
		return GW_E_BAD;
	}
	o->state = to;
	o->completed_ms = at;
	o->completed_rx_ms = now;
	o->callback_due_ms = now + o->lim.callback_min * MS_PER_MIN;
	memcpy(o->result, in->text, sizeof(o->result));
	if (in->dept[0])
		memcpy(o->dept, in->dept, sizeof(o->dept));
	if (o->handle_due_ms && now > o->handle_due_ms && at <= o->handle_due_ms)
		o->late |= 1u << SLA_HANDLING;
	if ((j = cJSON_CreateObject()) == NULL)
		return store_failed(gw, err);
	cJSON_AddStringToObject(j, "dept", o->dept);
	cJSON_AddStringToObject(j, "result", o->result);
	cJSON_AddStringToObject(j, "verdict", at <= o->handle_due_ms ? "on time" : "late");
	if (o->late & (1u << SLA_HANDLING))
		cJSON_AddBoolToObject(j, "late_evidence", 1);
	if (tl_add(gw, o->id, "result", at, now, "department", j) == -1)
		return store_failed(gw, err);
	if ((j = cJSON_CreateObject()) == NULL)
		return store_failed(gw, err);
	cJSON_AddNumberToObject(j, "due_ms", (double)o->callback_due_ms);
	cJSON_AddNumberToObject(j, "limit_min", o->lim.callback_min);
	if (tl_add(gw, o->id, "callback_due", now, now, "gateway", j) == -1)
		return store_failed(gw, err);
	if (finish(gw, o, err) != GW_OK)
		return GW_E_STORE;
	log_info("order %s: result from %s; callback due in %d min", o->id, o->dept,
	    o->lim.callback_min);
	return GW_OK;
}

enum gw_status
order_archive(struct gw *gw, enum order_type type, int64_t shift_ms, int *count,
    struct gw_err *err)
{
	struct id_list sc = { 0 };
	struct order *o;
	int64_t now = clock_wall(gw->clock);
	int n = 0, pending = 0, total = 0;
	enum gw_status st = GW_E_STORE;

	*count = 0;
	if ((o = malloc(sizeof(*o))) == NULL)
		return store_failed(gw, err);
	if (store_begin(gw->store) == -1)
		goto fail;
	/* collect_shift lists only the orders whose archive clock has not
	 * started; here we want the started ones: scan them all. */
	if (store_order_shift(gw->store, type, shift_ms, collect_all, &sc) == -1)
		goto fail;
	for (int i = 0; i < sc.n; i++) {
		if (store_order_get(gw->store, sc.ids[i], o) != 1)
			goto fail;
		total++;
		if (o->archived_ms)
			continue;
		if (o->archive_start_ms == 0) {
			pending++;
			continue;
		}
		o->archived_ms = now;
		if (tl_add(gw, o->id, "archived", now, now, "agent", NULL) == -1 ||
		    order_settle(gw, o) == -1 || store_order_update(gw->store, o) == -1)
			goto fail;
		n++;
	}
	if (total == 0) {
		store_rollback(gw->store);
		seterr(err, GW_E_NOTFOUND, "shift_ms", "shift_ms: no %s orders in that shift",
		    taxonomy_type_name(type));
		st = GW_E_NOTFOUND;
		goto out;
	}
	if (pending) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, "shift_ms", "shift_ms: %d of the shift's %s orders "
		    "are not finished, or the shift is not over", pending,
		    taxonomy_type_name(type));
		st = GW_E_CONFLICT;
		goto out;
	}
	if (store_commit(gw->store) == -1)
		goto fail;
	*count = n;
	log_info("archived %d %s orders of the shift from %lld", n, taxonomy_type_name(type),
	    (long long)shift_ms);
	st = GW_OK;
	goto out;
fail:
	store_rollback(gw->store);
	seterr(err, GW_E_STORE, NULL, "the store cannot write; nothing was accepted");
out:
	free(sc.ids);
	free(o);
	return st;
}

/* Record a device event that is refused, so it is acked once and not again
 * evaluated, and say why in the log. */
static enum ev_disposition
refuse(struct gw *gw, const struct proto_event *ev, const void *payload, size_t len,
    int64_t rx_ms, const char *why)
{
	log_security("device %s: event %s (%s, order %s) refused: %s", ev->dev, ev->eid,
	    proto_ev_type_name(ev->type), ev->order_id[0] ? ev->order_id : "-", why);
	if (store_event_insert(gw->store, ev->eid, ev->dev, ev->seq, ev->order_id,
	    proto_ev_type_name(ev->type), ev->at_ms, rx_ms, "refused", payload, len) == -1 ||
	    store_commit(gw->store) == -1) {
		store_rollback(gw->store);
		return EV_RETRY;
	}
	return EV_REFUSED;
}

static double
minutes(int64_t from, int64_t to)
{
	return (double)(to - from) / MS_PER_MIN;
}

#define EV_AHEAD_MAX_MS		60000LL		/* a device clock ahead of ours by more is not believed */
#define EV_GPS_SKEW_MAX_MS	300000LL	/* device vs GPS time disagreement worth noting */

/* When an arrival or completion happened, for the verdict: the device's event
 * time, checked against our receive time (never in the future) and the
 * dispatch (never before it); a GPS fix time far from it is noted, not used
 * (receivers' time can jump; the device's clock is NTP-set). Notes go to j. */
static int64_t
event_time(const struct order *o, const struct proto_event *ev, int64_t rx, cJSON *j)
{
	int64_t t = ev->at_ms;

	if (t > rx + EV_AHEAD_MAX_MS) {
		cJSON_AddStringToObject(j, "time_check", "device clock ahead: receive time used");
		t = rx;
	}
	if (o->dispatched_ms && t < o->dispatched_ms) {
		cJSON_AddStringToObject(j, "time_check", "before the dispatch: dispatch time used");
		t = o->dispatched_ms;
	}
	if (ev->has_fix && ev->fix.t_ms &&
	    llabs(ev->fix.t_ms - ev->at_ms) > EV_GPS_SKEW_MAX_MS)
		cJSON_AddNumberToObject(j, "gps_time_skew_s",
		    (double)(ev->fix.t_ms - ev->at_ms) / 1000.0);
	cJSON_AddNumberToObject(j, "event_ms", (double)t);
	return t;
}

/* Evidence of a stage done at t (on time) that reached us at rx after its due
 * time: it closes the stage, marked as late evidence. */
static int
late_evidence(const struct order *o, int64_t limit_min, int64_t t, int64_t rx, cJSON *j)
{
	int64_t due = o->dispatched_ms + limit_min * MS_PER_MIN;

	if (o->dispatched_ms == 0 || rx <= due || t > due)
		return 0;
	cJSON_AddBoolToObject(j, "late_evidence", 1);
	return 1;
}

/* The timeline detail of an arrival: the evidence and the verdict. */
static cJSON *
arrive_detail(const struct order *o, const struct proto_event *ev, int64_t t, int applied,
    cJSON *j)
{
	cJSON *track;
	int64_t limit = o->lim.arrive_min * MS_PER_MIN;
	int on_time;

	cJSON_AddStringToObject(j, "method", ev->method == PROTO_ARRIVE_GPS ? "gps" : "manual");
	json_num(j, "dist_m", ev->dist_m);
	cJSON_AddNumberToObject(j, "dwell_ms", (double)ev->dwell_ms);
	if (ev->has_fix)
		cJSON_AddItemToObject(j, "fix", fix_json(&ev->fix));
	else
		cJSON_AddNullToObject(j, "fix");
	if ((track = cJSON_AddArrayToObject(j, "track")) != NULL)
		for (int i = 0; i < ev->ntrack && i < PROTO_TRACK_MAX; i++)
			cJSON_AddItemToArray(track, fix_json(&ev->track[i]));
	if (ev->note[0])
		cJSON_AddStringToObject(j, "note", ev->note);
	cJSON_AddStringToObject(j, "zone", maps_zone_name(o->zone));
	cJSON_AddStringToObject(j, "zone_name", o->zone_name);
	cJSON_AddNumberToObject(j, "limit_min", o->lim.arrive_min);
	if (o->dispatched_ms) {
		on_time = t - o->dispatched_ms <= limit;
		cJSON_AddNumberToObject(j, "minutes", minutes(o->dispatched_ms, t));
		cJSON_AddStringToObject(j, "verdict", on_time ? "on time" : "late");
	}
	cJSON_AddBoolToObject(j, "applied", applied);
	return j;
}

static cJSON *
complete_detail(const struct order *o, const struct proto_event *ev, int64_t t, int applied,
    cJSON *j)
{
	int64_t limit = o->lim.complete_min * MS_PER_MIN;

	if (ev->note[0])
		cJSON_AddStringToObject(j, "note", ev->note);
	cJSON_AddNumberToObject(j, "limit_min", o->lim.complete_min);
	if (o->dispatched_ms) {
		cJSON_AddNumberToObject(j, "minutes", minutes(o->dispatched_ms, t));
		cJSON_AddStringToObject(j, "verdict",
		    t - o->dispatched_ms <= limit ? "on time" : "late");
	}
	cJSON_AddBoolToObject(j, "arrival_recorded", o->arrived_ms != 0);
	if (ev->has_fix)
		cJSON_AddItemToObject(j, "fix", fix_json(&ev->fix));
	cJSON_AddBoolToObject(j, "applied", applied);
	return j;
}

/* The original o is completed: every duplicate linked to it becomes
 * completed too, each with its own callback due. Inside the transaction. */
static int
link_done(struct gw *gw, const struct order *o, int64_t rx)
{
	struct id_list l = { 0 };
	struct order *d;
	enum order_state to;
	int rc = -1;
	cJSON *j;

	if ((d = malloc(sizeof(*d))) == NULL)
		return -1;
	if (store_order_linked(gw->store, o->id, collect_all, &l) == -1)
		goto out;
	for (int i = 0; i < l.n; i++) {
		if (store_order_get(gw->store, l.ids[i], d) != 1)
			goto out;
		if (!sla_transition(d->state, ACT_LINK_DONE, &to))
			continue;
		d->state = to;
		d->completed_ms = o->completed_ms;
		d->completed_rx_ms = rx;
		d->callback_due_ms = rx + d->lim.callback_min * MS_PER_MIN;
		if ((j = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddStringToObject(j, "original", o->id);
		cJSON_AddNumberToObject(j, "due_ms", (double)d->callback_due_ms);
		cJSON_AddNumberToObject(j, "limit_min", d->lim.callback_min);
		if (tl_add(gw, d->id, "callback_due", rx, rx, "gateway", j) == -1)
			goto out;
		check_invariant(d);
		if (order_settle(gw, d) == -1 || store_order_update(gw->store, d) == -1)
			goto out;
		log_info("order %s: its original %s is completed; callback due", d->id, o->id);
	}
	rc = 0;
out:
	free(l.ids);
	free(d);
	return rc;
}

/* Apply ev to o (loaded, assigned to ev->dev) inside the transaction.
 * *status gets "applied" (state changed) or "recorded" (timeline only). */
static int
apply_event(struct gw *gw, struct order *o, const struct proto_event *ev, int64_t rx,
    const struct outbox_row *push, const char **status)
{
	enum order_state to;
	enum order_action act;
	const char *kind = proto_ev_type_name(ev->type);
	int ok = 0, rc, notice = 0;
	int64_t t;
	cJSON *j = NULL;

	*status = "recorded";
	switch (ev->type) {
	case PROTO_EV_DELIVERED:
		if (ev->msg_id[0]) {
			rc = push != NULL;
			if (rc == 1 && (strcmp(push->dev, ev->dev) != 0 ||
			    strcmp(push->order_id, o->id) != 0))
				rc = 2;
			/* the ack of a notice (delay request) settles only its row */
			notice = rc == 1 &&
			    strcmp(push->kind, proto_down_type_name(PROTO_DOWN_ORDER)) != 0;
			if (rc == 1 && store_outbox_ack(gw->store, ev->msg_id, rx) == -1)
				return -1;
			if (rc == 1 && !notice && push->acked_ms == 0)
				metrics_push_acked(gw, rx - push->created_ms);
			if (rc != 1)
				log_warnx("device %s: delivered %s names unknown push %s",
				    ev->dev, o->id, ev->msg_id);
			if (notice)
				return 0;
		}
		if (!sla_transition(o->state, ACT_DELIVERED, &to))
			return 0;	/* a re-push delivered again: the ack is the record */
		o->state = to;
		o->delivered_ms = ev->at_ms;
		*status = "applied";
		if ((j = cJSON_CreateObject()) == NULL)
			return -1;
		cJSON_AddStringToObject(j, "msg_id", ev->msg_id);
		cJSON_AddNumberToObject(j, "ack_ms", (double)(rx - o->dispatched_ms));
		log_info("order %s delivered to %s (%lld ms after dispatch)", o->id, ev->dev,
		    (long long)(rx - o->dispatched_ms));
		return tl_add(gw, o->id, "delivered", ev->at_ms, rx, ev->dev, j);
	case PROTO_EV_ACCEPT:
		if ((ok = sla_transition(o->state, ACT_ACCEPT, &to))) {
			o->state = to;
			o->accepted_ms = ev->at_ms;
		}
		if ((j = cJSON_CreateObject()) == NULL)
			return -1;
		if (ev->note[0])
			cJSON_AddStringToObject(j, "note", ev->note);
		cJSON_AddBoolToObject(j, "applied", ok);
		kind = "accepted";
		break;
	case PROTO_EV_ARRIVE:
		act = ACT_ARRIVE;
		ok = sla_transition(o->state, act, &to);
		if ((j = cJSON_CreateObject()) == NULL)
			return -1;
		t = event_time(o, ev, rx, j);
		arrive_detail(o, ev, t, ok, j);
		if (ok) {
			if (late_evidence(o, o->lim.arrive_min, t, rx, j))
				o->late |= 1u << SLA_ARRIVAL;
			o->state = to;
			o->arrived_ms = t;
			snprintf(o->arrive_method, sizeof(o->arrive_method), "%s",
			    ev->method == PROTO_ARRIVE_GPS ? "gps" : "manual");
			log_info("order %s: crew arrived (%s) after %.1f min, limit %d min",
			    o->id, o->arrive_method, minutes(o->dispatched_ms, t),
			    o->lim.arrive_min);
		}
		kind = "arrived";
		break;
	case PROTO_EV_PROGRESS:
		if ((j = cJSON_CreateObject()) == NULL)
			return -1;
		cJSON_AddStringToObject(j, "note", ev->note);
		if (ev->has_fix)
			cJSON_AddItemToObject(j, "fix", fix_json(&ev->fix));
		kind = "progress";
		ok = 1;
		break;
	case PROTO_EV_DELAY:
		if ((j = cJSON_CreateObject()) == NULL)
			return -1;
		cJSON_AddStringToObject(j, "reason", proto_delay_name(ev->reason));
		cJSON_AddStringToObject(j, "text", ev->note);
		json_time(j, "eta_ms", ev->eta_ms);
		ok = sla_state_on_device(o->state);
		if (ok) {
			snprintf(o->delay_reason, sizeof(o->delay_reason), "%s",
			    proto_delay_name(ev->reason));
			memcpy(o->delay_text, ev->note, sizeof(o->delay_text));
			o->delay_eta_ms = ev->eta_ms;
			o->delay_at_ms = ev->at_ms;
			log_info("order %s: crew reports a delay: %s", o->id, o->delay_reason);
		}
		cJSON_AddBoolToObject(j, "applied", ok);
		kind = "delay";
		break;
	case PROTO_EV_COMPLETE:
		ok = sla_transition(o->state, ACT_COMPLETE, &to);
		if ((j = cJSON_CreateObject()) == NULL)
			return -1;
		t = event_time(o, ev, rx, j);
		complete_detail(o, ev, t, ok, j);
		if (ok && late_evidence(o, o->lim.complete_min, t, rx, j))
			o->late |= 1u << SLA_COMPLETION;
		if (ok && o->arrived_ms == 0 &&
		    late_evidence(o, o->lim.arrive_min, t, rx, j))
			o->late |= 1u << SLA_ARRIVAL;
		if (tl_add(gw, o->id, "completed", t, rx, ev->dev, j) == -1)
			return -1;
		if (!ok)
			return 0;
		o->state = to;
		o->completed_ms = t;
		o->completed_rx_ms = rx;
		o->callback_due_ms = rx + o->lim.callback_min * MS_PER_MIN;
		*status = "applied";
		if ((j = cJSON_CreateObject()) == NULL)
			return -1;
		cJSON_AddNumberToObject(j, "due_ms", (double)o->callback_due_ms);
		cJSON_AddNumberToObject(j, "limit_min", o->lim.callback_min);
		log_info("order %s completed; callback due in %d min", o->id,
		    o->lim.callback_min);
		if (tl_add(gw, o->id, "callback_due", rx, rx, "gateway", j) == -1)
			return -1;
		return link_done(gw, o, rx);
	case PROTO_EV_HELLO:
	default:
		return 0;
	}
	if (ok)
		*status = "applied";
	return tl_add(gw, o->id, kind, ev->at_ms, rx, ev->dev, j);
}

/*
 * A device's "delivered" naming one of our cancel messages: the device has
 * withdrawn the order. The order may now belong to another device (it was
 * reassigned), so this is checked before the device's right to the order:
 * the cancel's outbox row is acked, the event recorded, and nothing is
 * applied to the order. Returns 1 handled (committed), 0 not a cancel ack,
 * -1 store error (rolled back: the device resends).
 */
static int
cancel_acked(struct gw *gw, const struct proto_event *ev, const struct outbox_row *push,
    const void *payload, size_t len, int64_t rx_ms)
{
	if (push == NULL ||
	    strcmp(push->kind, proto_down_type_name(PROTO_DOWN_CANCEL)) != 0 ||
	    strcmp(push->dev, ev->dev) != 0 || strcmp(push->order_id, ev->order_id) != 0)
		return 0;
	if (store_outbox_ack(gw->store, ev->msg_id, rx_ms) == -1 ||
	    store_event_insert(gw->store, ev->eid, ev->dev, ev->seq, ev->order_id,
	    proto_ev_type_name(ev->type), ev->at_ms, rx_ms, "recorded", payload, len) == -1 ||
	    store_commit(gw->store) == -1) {
		store_rollback(gw->store);
		return -1;
	}
	log_info("device %s: cancel %s of order %s acknowledged", ev->dev, ev->msg_id,
	    ev->order_id);
	return 1;
}

enum ev_disposition
order_event(struct gw *gw, const char *topic_dev, const struct proto_event *ev,
    const void *payload, size_t len, int64_t rx_ms)
{
	struct device dv;
	struct order *o;
	struct outbox_row *push = NULL;
	const char *status = "applied";
	int rc;
	enum ev_disposition disp = EV_RETRY;

	if (strcmp(topic_dev, ev->dev) != 0) {
		/* Not recorded: an event id is "<dev>:<seq>" of the device that
		 * claims it; storing a foreign claim would let one device block
		 * another's future event ids. */
		log_security("device %s: event %s claims device %s: refused", topic_dev,
		    ev->eid, ev->dev);
		return EV_REFUSED;
	}
	if (store_begin(gw->store) == -1)
		return EV_RETRY;
	if ((rc = store_event_seen(gw->store, ev->eid)) != 0) {
		store_rollback(gw->store);
		return rc == 1 ? EV_DUPLICATE : EV_RETRY;
	}
	if ((rc = store_device_get(gw->store, ev->dev, &dv)) == -1) {
		store_rollback(gw->store);
		return EV_RETRY;
	}
	if (rc == 0)
		return refuse(gw, ev, payload, len, rx_ms, "unknown device");
	if (ev->type == PROTO_EV_HELLO) {
		if (store_event_insert(gw->store, ev->eid, ev->dev, ev->seq, NULL, "hello",
		    ev->at_ms, rx_ms, "applied", payload, len) == -1 ||
		    store_commit(gw->store) == -1) {
			store_rollback(gw->store);
			return EV_RETRY;
		}
		return EV_APPLIED;
	}
	/* the push a "delivered" names, read once for the two uses below */
	if (ev->type == PROTO_EV_DELIVERED && ev->msg_id[0]) {
		if ((push = malloc(sizeof(*push))) == NULL ||
		    (rc = store_outbox_get(gw->store, ev->msg_id, push)) == -1) {
			store_rollback(gw->store);
			free(push);
			return EV_RETRY;
		}
		if (rc == 0) {
			free(push);
			push = NULL;
		}
	}
	if ((rc = cancel_acked(gw, ev, push, payload, len, rx_ms)) != 0) {
		free(push);
		return rc == 1 ? EV_APPLIED : EV_RETRY;
	}
	if ((o = malloc(sizeof(*o))) == NULL) {
		store_rollback(gw->store);
		free(push);
		return EV_RETRY;
	}
	if ((rc = store_order_get(gw->store, ev->order_id, o)) == -1) {
		store_rollback(gw->store);
		goto out;
	}
	if (rc == 0) {
		disp = refuse(gw, ev, payload, len, rx_ms, "unknown order");
		goto out;
	}
	if (strcmp(o->device, ev->dev) != 0) {
		disp = refuse(gw, ev, payload, len, rx_ms, "order not assigned to this device");
		goto out;
	}
	if (apply_event(gw, o, ev, rx_ms, push, &status) == -1 ||
	    store_event_insert(gw->store, ev->eid, ev->dev, ev->seq, ev->order_id,
	    proto_ev_type_name(ev->type), ev->at_ms, rx_ms, status, payload, len) == -1) {
		store_rollback(gw->store);
		goto out;
	}
	if (finish(gw, o, NULL) != GW_OK)
		goto out;
	log_debug("device %s: event %s (%s, order %s) %s", ev->dev, ev->eid,
	    proto_ev_type_name(ev->type), ev->order_id, status);
	disp = EV_APPLIED;
out:
	free(o);
	free(push);
	return disp;
}

struct reconcile {
	char	(*open)[PROTO_ID_MAX];
	int	n;
	char	pending[PROTO_OPEN_MAX][PROTO_ID_MAX];
	int	npending;
};

static int
collect_open(const struct order *o, void *arg)
{
	struct reconcile *rc = arg;

	if (rc->n >= PROTO_OPEN_MAX)
		return 1;
	memcpy(rc->open[rc->n++], o->id, PROTO_ID_MAX);
	return 0;
}

static int
collect_pending(const struct outbox_row *r, void *arg)
{
	struct reconcile *rc = arg;

	if (rc->npending >= PROTO_OPEN_MAX)
		return 1;
	memcpy(rc->pending[rc->npending++], r->order_id, PROTO_ID_MAX);
	return 0;
}

static int
listed(char (*ids)[PROTO_ID_MAX], int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

/* Pending outbox rows of one order, or the cancels of one device. */
struct pending_rows {
	const char	*order_id;	/* rows of this order; NULL: cancel rows */
	char		msg_id[PROTO_OPEN_MAX][PROTO_ID_MAX];
	char		order[PROTO_OPEN_MAX][PROTO_ID_MAX];
	int		n;
};

static int
collect_rows(const struct outbox_row *r, void *arg)
{
	struct pending_rows *p = arg;

	if (p->order_id != NULL ? strcmp(r->order_id, p->order_id) != 0 :
	    strcmp(r->kind, proto_down_type_name(PROTO_DOWN_CANCEL)) != 0)
		return 0;
	if (p->n >= PROTO_OPEN_MAX)
		return 1;
	memcpy(p->msg_id[p->n], r->msg_id, PROTO_ID_MAX);
	memcpy(p->order[p->n++], r->order_id, PROTO_ID_MAX);
	return 0;
}

/*
 * The hello/sync backstop of a cancel: the sync we answer lists dev's open
 * orders, and the device withdraws every order it holds that is not listed,
 * so a pending cancel of an order not (any more) on dev is settled by it.
 * Inside the caller's transaction. 0 / -1.
 */
static int
cancels_settled(struct gw *gw, const char *dev, char (*open)[PROTO_ID_MAX], int nopen,
    int64_t now)
{
	struct pending_rows *p = calloc(1, sizeof(*p));
	int rc = -1;

	if (p == NULL)
		return -1;
	if (store_outbox_pending(gw->store, dev, INT64_MAX, collect_rows, p) == -1)
		goto out;
	for (int i = 0; i < p->n; i++) {
		if (listed(open, nopen, p->order[i]))
			continue;
		if (store_outbox_ack(gw->store, p->msg_id[i], now) == -1)
			goto out;
		log_info("device %s: cancel %s of order %s settled by the sync", dev,
		    p->msg_id[i], p->order[i]);
	}
	rc = 0;
out:
	free(p);
	return rc;
}

int
order_reconcile(struct gw *gw, const struct proto_event *hello,
    char open[PROTO_OPEN_MAX][PROTO_ID_MAX], int *nopen)
{
	struct reconcile *rc;
	struct order *o;
	int64_t now = clock_wall(gw->clock);
	char msg_id[PROTO_ID_MAX];
	int ret = -1;

	*nopen = 0;
	rc = calloc(1, sizeof(*rc));
	o = malloc(sizeof(*o));
	if (rc == NULL || o == NULL)
		goto out;
	rc->open = open;
	if (store_begin(gw->store) == -1)
		goto out;
	if (store_order_on_device(gw->store, hello->dev, collect_open, rc) == -1 ||
	    store_outbox_pending(gw->store, hello->dev, INT64_MAX, collect_pending, rc) == -1)
		goto fail;
	for (int i = 0; i < rc->n; i++) {
		if (listed((char (*)[PROTO_ID_MAX])hello->open, hello->nopen, open[i]) ||
		    listed(rc->pending, rc->npending, open[i]))
			continue;
		if (store_order_get(gw->store, open[i], o) != 1 ||
		    push_order(gw, o, now, msg_id) == -1)
			goto fail;
		log_info("device %s does not hold open order %s: pushed again as %s",
		    hello->dev, o->id, msg_id);
	}
	if (cancels_settled(gw, hello->dev, open, rc->n, now) == -1)
		goto fail;
	if (store_commit(gw->store) == -1)
		goto fail;
	*nopen = rc->n;
	ret = 0;
	goto out;
fail:
	store_rollback(gw->store);
out:
	free(rc);
	free(o);
	return ret;
}

struct due_ids {
	char	ids[TICK_BATCH][PROTO_ID_MAX];
	int	n;
};

static int
collect_due(const struct order *o, void *arg)
{
	struct due_ids *d = arg;

	memcpy(d->ids[d->n++], o->id, PROTO_ID_MAX);
	return d->n >= TICK_BATCH;
}

int
order_sla_tick(struct gw *gw)
{
	struct due_ids *d;
	struct order *o;
	int64_t now = clock_wall(gw->clock);
	int total = 0, ret = -1;

	d = calloc(1, sizeof(*d));
	o = malloc(sizeof(*o));
	if (d == NULL || o == NULL)
		goto out;
	/* Collect first: settling moves next_due_ms, the key of the scan. */
	if (store_order_due(gw->store, now, TICK_BATCH, collect_due, d) == -1)
		goto out;
	for (int i = 0; i < d->n; i++) {
		unsigned before, before_w;

		if (store_begin(gw->store) == -1)
			goto out;
		if (store_order_get(gw->store, d->ids[i], o) != 1) {
			store_rollback(gw->store);
			goto out;
		}
		before = o->breached;
		before_w = o->warned;
		if (finish(gw, o, NULL) != GW_OK)
			goto out;
		total += __builtin_popcount(o->breached & ~before) +
		    __builtin_popcount(o->warned & ~before_w & ~o->breached);
	}
	ret = total;
out:
	free(d);
	free(o);
	return ret;
}

/* ---- reassignment and linking (the supervisor's board, README "Dispatch tools") ---- */

/* Write an outbox row of a notice about o to device dev: a cancel withdrawing
 * it, or a request for a delay reason. Inside a transaction. */
static int
push_notice(struct gw *gw, const struct order *o, const char *dev,
    enum proto_down_type type, const char *reason, int64_t now, char msg_id[PROTO_ID_MAX])
{
	struct proto_down *d;
	struct outbox_row *r;
	size_t len;
	int n, w, rc = -1;
	enum proto_err pe;

	if ((n = store_outbox_count_order(gw->store, o->id)) < 0)
		return -1;
	d = calloc(1, sizeof(*d));
	r = calloc(1, sizeof(*r));
	if (d == NULL || r == NULL) {
		log_warn("order %s: cancel", o->id);
		goto out;
	}
	d->type = type;
	w = snprintf(d->msg_id, sizeof(d->msg_id), "%s.%s%d", o->id,
	    type == PROTO_DOWN_CANCEL ? "c" : "d", n + 1);
	if (w < 0 || (size_t)w >= sizeof(d->msg_id)) {
		log_warnx("order %s: notice id too long", o->id);
		goto out;
	}
	d->at_ms = now;
	memcpy(d->order_id, o->id, sizeof(d->order_id));
	snprintf(d->reason, sizeof(d->reason), "%s", reason);
	if ((pe = proto_encode_down(d, r->payload, sizeof(r->payload), &len)) != PROTO_OK) {
		log_warnx("order %s: cannot encode the %s: %s", o->id,
		    proto_down_type_name(type), proto_strerror(pe));
		goto out;
	}
	memcpy(r->msg_id, d->msg_id, sizeof(r->msg_id));
	snprintf(r->dev, sizeof(r->dev), "%s", dev);
	memcpy(r->order_id, o->id, sizeof(r->order_id));
	snprintf(r->kind, sizeof(r->kind), "%s", proto_down_type_name(type));
	r->created_ms = now;
	if (store_outbox_add(gw->store, r) == -1)
		goto out;
	memcpy(msg_id, d->msg_id, PROTO_ID_MAX);
	rc = 0;
out:
	free(d);
	free(r);
	return rc;
}

/*
 * Reassignment keeps the customer's clock: arrival and completion still count
 * from the first dispatch (the customer has waited since then, and a supervisor
 * must not be able to reset a deadline by moving the order), so dispatched_ms
 * stays and the new device gets the same arrive_by / complete_by. An order whose
 * crew has arrived is not reassigned: its arrival is judged; a new crew on site
 * is a progress note, not a new dispatch.
 */
enum gw_status
order_reassign(struct gw *gw, const char *id, const char *crew, const char *note,
    struct order *o, char cancel_dev[PROTO_DEV_MAX], struct gw_err *err)
{
	struct pending_rows *p = NULL;
	struct crew c;
	int64_t now = clock_wall(gw->clock);
	char from_crew[GW_CREW_MAX], cancel_id[PROTO_ID_MAX], push_id[PROTO_ID_MAX];
	cJSON *j;
	int rc;

	cancel_dev[0] = '\0';
	if (store_begin(gw->store) == -1)
		return store_failed(gw, err);
	if ((rc = store_order_get(gw->store, id, o)) == -1)
		return store_failed(gw, err);
	if (rc == 0) {
		store_rollback(gw->store);
		seterr(err, GW_E_NOTFOUND, NULL, "no order \"%s\"", id);
		return GW_E_NOTFOUND;
	}
	if (o->type != TYPE_REPAIR || !(o->state == ORD_DISPATCHED ||
	    o->state == ORD_DELIVERED || o->state == ORD_ACCEPTED)) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, NULL, "order %s is %s: only a repair dispatched to a "
		    "crew that has not arrived yet can be reassigned", o->id,
		    order_state_name(o->state));
		return GW_E_CONFLICT;
	}
	if ((rc = store_crew_get(gw->store, crew, &c)) == -1)
		return store_failed(gw, err);
	if (rc == 0) {
		store_rollback(gw->store);
		seterr(err, GW_E_NOTFOUND, "crew", "crew: no crew \"%s\"", crew);
		return GW_E_NOTFOUND;
	}
	if (strcmp(c.id, o->crew) == 0 || strcmp(c.device, o->device) == 0) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, "crew", "crew: order %s is already with crew %s "
		    "(device %s)", o->id, o->crew, o->device);
		return GW_E_CONFLICT;
	}
	/* Pushes of this order still pending (to the old device, or older
	 * cancels) are superseded: a late push must not reopen it there. */
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return store_failed(gw, err);
	p->order_id = o->id;
	if (store_outbox_pending(gw->store, NULL, INT64_MAX, collect_rows, p) == -1)
		goto fail;
	for (int i = 0; i < p->n; i++)
		if (store_outbox_ack(gw->store, p->msg_id[i], now) == -1)
			goto fail;
	if (push_notice(gw, o, o->device, PROTO_DOWN_CANCEL, "reassigned", now, cancel_id) == -1)
		goto fail;
	memcpy(cancel_dev, o->device, PROTO_DEV_MAX);
	memcpy(from_crew, o->crew, sizeof(from_crew));
	o->state = ORD_DISPATCHED;
	memcpy(o->crew, c.id, sizeof(o->crew));
	memcpy(o->device, c.device, sizeof(o->device));
	o->delivered_ms = o->accepted_ms = 0;
	o->delay_reason[0] = o->delay_text[0] = '\0';
	o->delay_eta_ms = o->delay_at_ms = 0;
	if (push_order(gw, o, now, push_id) == -1)
		goto fail;
	if ((j = cJSON_CreateObject()) == NULL)
		goto fail;
	cJSON_AddStringToObject(j, "from_crew", from_crew);
	cJSON_AddStringToObject(j, "from_device", cancel_dev);
	cJSON_AddStringToObject(j, "crew", o->crew);
	cJSON_AddStringToObject(j, "device", o->device);
	cJSON_AddStringToObject(j, "cancel_msg_id", cancel_id);
	cJSON_AddStringToObject(j, "msg_id", push_id);
	cJSON_AddNumberToObject(j, "arrive_by_ms",
	    (double)(o->dispatched_ms + o->lim.arrive_min * MS_PER_MIN));
	cJSON_AddNumberToObject(j, "complete_by_ms",
	    (double)(o->dispatched_ms + o->lim.complete_min * MS_PER_MIN));
	if (note != NULL && note[0])
		cJSON_AddStringToObject(j, "note", note);
	if (tl_add(gw, o->id, "reassigned", now, now, "supervisor", j) == -1)
		goto fail;
	free(p);
	p = NULL;
	if (finish(gw, o, err) != GW_OK)
		return GW_E_STORE;
	log_info("order %s reassigned from crew %s (device %s, cancel %s) to crew %s "
	    "(device %s, push %s)", o->id, from_crew, cancel_dev, cancel_id, o->crew,
	    o->device, push_id);
	return GW_OK;
fail:
	free(p);
	cancel_dev[0] = '\0';
	return store_failed(gw, err);
}

enum gw_status
order_link(struct gw *gw, const char *id, char (*dups)[PROTO_ID_MAX], int n, const char *note,
    struct order *o, struct gw_err *err)
{
	struct order *d;
	struct review_input in;
	enum order_state to;
	int64_t now = clock_wall(gw->clock);
	char field[32];
	cJSON *j;
	int rc, linked;

	if (n < 1) {
		seterr(err, GW_E_BAD, "duplicates", "duplicates: at least one order id");
		return GW_E_BAD;
	}
	if ((d = malloc(sizeof(*d))) == NULL) {
		seterr(err, GW_E_STORE, NULL, "out of memory");
		return GW_E_STORE;
	}
	if (store_begin(gw->store) == -1)
		goto store;
	if ((rc = store_order_get(gw->store, id, o)) == -1)
		goto store;
	if (rc == 0) {
		store_rollback(gw->store);
		seterr(err, GW_E_NOTFOUND, NULL, "no order \"%s\"", id);
		goto out;
	}
	if (o->type != TYPE_REPAIR || o->duplicate_of[0] || !sla_state_open(o->state)) {
		store_rollback(gw->store);
		seterr(err, GW_E_CONFLICT, NULL, "order %s (%s, %s) cannot be the original: it "
		    "must be an open repair that is not itself a duplicate", o->id,
		    taxonomy_type_name(o->type), order_state_name(o->state));
		goto out;
	}
	linked = can_link(o);
	memset(&in, 0, sizeof(in));
	snprintf(in.reason, sizeof(in.reason), "duplicate");
	memcpy(in.duplicate_of, o->id, sizeof(in.duplicate_of));
	if (note != NULL)
		snprintf(in.note, sizeof(in.note), "%s", note);
	for (int i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "duplicates[%d]", i);
		for (int k = 0; k < i; k++)
			if (strcmp(dups[k], dups[i]) == 0) {
				store_rollback(gw->store);
				seterr(err, GW_E_BAD, field, "%s: \"%s\" is listed twice", field,
				    dups[i]);
				goto out;
			}
		if (strcmp(dups[i], o->id) == 0) {
			store_rollback(gw->store);
			seterr(err, GW_E_BAD, field, "%s: an order cannot duplicate itself", field);
			goto out;
		}
		if ((rc = store_order_get(gw->store, dups[i], d)) == -1)
			goto store;
		if (rc == 0) {
			store_rollback(gw->store);
			seterr(err, GW_E_BAD, field, "%s: no order \"%s\"", field, dups[i]);
			goto out;
		}
		if (d->type != TYPE_REPAIR || !sla_transition(d->state, ACT_DECLINE, &to)) {
			store_rollback(gw->store);
			seterr(err, GW_E_CONFLICT, field, "%s: order %s (%s, %s) cannot be declined",
			    field, d->id, taxonomy_type_name(d->type), order_state_name(d->state));
			goto out;
		}
		if (decline_write(gw, d, &in, linked, now) == -1)
			goto store;
		check_invariant(d);
		if (order_settle(gw, d) == -1 || store_order_update(gw->store, d) == -1)
			goto store;
	}
	if ((j = cJSON_CreateObject()) == NULL)
		goto store;
	{
		cJSON *arr = cJSON_AddArrayToObject(j, "duplicates");

		for (int i = 0; i < n && arr != NULL; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(dups[i]));
	}
	cJSON_AddBoolToObject(j, "linked", linked);
	if (note != NULL && note[0])
		cJSON_AddStringToObject(j, "note", note);
	if (tl_add(gw, o->id, "linked", now, now, "supervisor", j) == -1)
		goto store;
	free(d);
	if (finish(gw, o, err) != GW_OK)
		return GW_E_STORE;
	log_info("order %s: %d duplicate(s) declined%s", o->id, n, linked ? " and linked" : "");
	return GW_OK;
store:
	store_rollback(gw->store);
	seterr(err, GW_E_STORE, NULL, "the store cannot write; nothing was accepted");
out:
	free(d);
	return err->status;
}
