/*
 * order.c: the operations on repair orders, each one store transaction.
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
		text = cJSON_PrintUnformatted(j);
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

int
order_settle(struct gw *gw, struct order *o)
{
	struct sla_result r[SLA_NSTAGES];
	int64_t now = clock_wall(gw->clock);

	sla_eval(o, gw->clock, r);
	for (int i = 0; i < SLA_NSTAGES; i++) {
		cJSON *j;

		if (r[i].verdict != SLA_BREACHED || (o->breached & (1u << i)))
			continue;
		if ((j = cJSON_CreateObject()) == NULL)
			return -1;
		cJSON_AddStringToObject(j, "stage", sla_stage_name(r[i].stage));
		cJSON_AddNumberToObject(j, "limit_min", (double)r[i].limit_ms / MS_PER_MIN);
		json_time(j, "due_ms", r[i].due_ms);
		json_time(j, "done_ms", r[i].done_ms);
		/* How late: at completion when done, else as of this check. */
		cJSON_AddNumberToObject(j, "late_min",
		    (double)((r[i].done_ms ? r[i].done_ms : now) - r[i].due_ms) / MS_PER_MIN);
		if (tl_add(gw, o->id, "breach", r[i].due_ms, now, "gateway", j) == -1)
			return -1;
		o->breached |= 1u << i;
		log_info("order %s: %s deadline breached (due %lld, limit %lld min)", o->id,
		    sla_stage_name(r[i].stage), (long long)r[i].due_ms,
		    (long long)(r[i].limit_ms / MS_PER_MIN));
	}
	o->next_due_ms = sla_state_open(o->state) ? sla_next_due(r, &o->next_stage) : 0;
	if (o->next_due_ms == 0)
		o->next_stage = SLA_REVIEW;
	return 0;
}

/* Settle, write the order row and commit; roll back on any failure. */
static enum gw_status
finish(struct gw *gw, struct order *o, struct gw_err *err)
{
	check_invariant(o);
	if (order_settle(gw, o) == -1 || store_order_update(gw->store, o) == -1 ||
	    store_commit(gw->store) == -1) {
		store_rollback(gw->store);
		if (err)
			seterr(err, GW_E_STORE, NULL, "the store cannot write; nothing was accepted");
		return GW_E_STORE;
	}
	return GW_OK;
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

enum gw_status
order_create(struct gw *gw, const struct order_input *in, struct order *o, struct gw_err *err)
{
	struct maps_zone_hit hit;
	int64_t now = clock_wall(gw->clock);
	int inside = 0;
	cJSON *j;

	if (in->category < 1 || in->category > 7) {
		seterr(err, GW_E_BAD, "category", "category: must be an integer in [1, 7]");
		return GW_E_BAD;
	}
	if (isnan(in->lat) || in->lat < -90 || in->lat > 90) {
		seterr(err, GW_E_BAD, "site.lat", "site.lat: must be a number in [-90, 90]");
		return GW_E_BAD;
	}
	if (isnan(in->lon) || in->lon < -180 || in->lon > 180) {
		seterr(err, GW_E_BAD, "site.lon", "site.lon: must be a number in [-180, 180]");
		return GW_E_BAD;
	}
	if (in->address[0] == '\0') {
		seterr(err, GW_E_BAD, "address", "address: must not be empty");
		return GW_E_BAD;
	}
	memset(o, 0, sizeof(*o));
	o->category = in->category;
	o->state = ORD_RECORDED;
	memcpy(o->summary, in->summary, sizeof(o->summary));
	memcpy(o->address, in->address, sizeof(o->address));
	memcpy(o->customer, in->customer, sizeof(o->customer));
	memcpy(o->phone, in->phone, sizeof(o->phone));
	o->in_lat = in->lat;
	o->in_lon = in->lon;
	o->in_crs = in->crs;
	maps_convert(in->crs, MAPS_WGS84, in->lat, in->lon, &o->lat, &o->lon);
	o->radius_m = in->radius_m > 0 ? in->radius_m : gw->conf->radius_m;
	if (gw->zones)
		inside = maps_zones_lookup(gw->zones, o->lat, o->lon, gw->zone_default, &hit);
	if (inside) {
		o->zone = hit.zone;
		snprintf(o->zone_name, sizeof(o->zone_name), "%s", hit.name);
	} else {
		o->zone = gw->zone_default;
		snprintf(o->zone_name, sizeof(o->zone_name), "default");
	}
	if (!inside && gw->zones) {
		log_warnx("order site %.6f,%.6f is outside every zone polygon: zone %s applies",
		    o->lat, o->lon, maps_zone_name(o->zone));
	}
	o->call_ended_ms = in->call_ended_ms;
	o->created_ms = now;
	sla_profile_for(&gw->conf->limits, o->category, o->zone, &o->lim);

	if (store_begin(gw->store) == -1)
		return store_failed(gw, err);
	if (store_order_next_id(gw->store, now, o->id, sizeof(o->id)) == -1 ||
	    store_order_insert(gw->store, o) == -1)
		return store_failed(gw, err);
	if ((j = cJSON_CreateObject()) == NULL)
		return store_failed(gw, err);
	cJSON_AddNumberToObject(j, "category", o->category);
	cJSON_AddStringToObject(j, "category_name", sla_category_name(o->category));
	cJSON_AddStringToObject(j, "address", o->address);
	cJSON_AddStringToObject(j, "zone", maps_zone_name(o->zone));
	cJSON_AddStringToObject(j, "zone_name", o->zone_name);
	cJSON_AddBoolToObject(j, "zone_default", !inside);
	cJSON_AddNumberToObject(j, "arrive_limit_min", o->lim.arrive_min);
	cJSON_AddNumberToObject(j, "complete_limit_min", o->lim.complete_min);
	if (o->category == CATEGORY_CUSTOMER)
		cJSON_AddStringToObject(j, "note", "customer-internal fault: not dispatched");
	if (tl_add(gw, o->id, "recorded", now, now, "agent", j) == -1)
		return store_failed(gw, err);
	if (finish(gw, o, err) != GW_OK)
		return GW_E_STORE;
	log_info("order %s recorded: category %d, zone %s (%s)", o->id, o->category,
	    maps_zone_name(o->zone), o->zone_name);
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
	o->breached &= 1u << SLA_REVIEW;
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

static enum gw_status
review_decline(struct gw *gw, struct order *o, const struct review_input *in, int64_t now,
    struct gw_err *err)
{
	static const char *const reasons[] = { "duplicate", "planned_outage",
		"customer_internal" };
	struct order *dup = NULL;
	enum order_state to;
	size_t i;
	cJSON *j;
	int rc;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(in->reason, reasons[i]) == 0)
			break;
	if (i == sizeof(reasons) / sizeof(reasons[0])) {
		store_rollback(gw->store);
		seterr(err, GW_E_BAD, "reason", "reason: must be one of duplicate, "
		    "planned_outage, customer_internal");
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
	o->state = to;
	if (o->reviewed_ms == 0)
		o->reviewed_ms = now;
	memcpy(o->decline_reason, in->reason, sizeof(o->decline_reason));
	memcpy(o->duplicate_of, in->duplicate_of, sizeof(o->duplicate_of));
	memcpy(o->review_note, in->note, sizeof(o->review_note));
	if ((j = cJSON_CreateObject()) == NULL)
		return store_failed(gw, err);
	cJSON_AddStringToObject(j, "reason", in->reason);
	if (in->duplicate_of[0])
		cJSON_AddStringToObject(j, "duplicate_of", in->duplicate_of);
	if (in->note[0])
		cJSON_AddStringToObject(j, "note", in->note);
	if (tl_add(gw, o->id, "declined", now, now, "supervisor", j) == -1)
		return store_failed(gw, err);
	if (finish(gw, o, err) != GW_OK)
		return GW_E_STORE;
	log_info("order %s declined: %s", o->id, in->reason);
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

/* The timeline detail of an arrival: the evidence and the verdict. */
static cJSON *
arrive_detail(const struct order *o, const struct proto_event *ev, int applied)
{
	cJSON *j = cJSON_CreateObject(), *track;
	int64_t limit = o->lim.arrive_min * MS_PER_MIN;
	int on_time;

	if (j == NULL)
		return NULL;
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
		on_time = ev->at_ms - o->dispatched_ms <= limit;
		cJSON_AddNumberToObject(j, "minutes", minutes(o->dispatched_ms, ev->at_ms));
		cJSON_AddStringToObject(j, "verdict", on_time ? "on time" : "late");
	}
	cJSON_AddBoolToObject(j, "applied", applied);
	return j;
}

static cJSON *
complete_detail(const struct order *o, const struct proto_event *ev, int applied)
{
	cJSON *j = cJSON_CreateObject();
	int64_t limit = o->lim.complete_min * MS_PER_MIN;

	if (j == NULL)
		return NULL;
	if (ev->note[0])
		cJSON_AddStringToObject(j, "note", ev->note);
	cJSON_AddNumberToObject(j, "limit_min", o->lim.complete_min);
	if (o->dispatched_ms) {
		cJSON_AddNumberToObject(j, "minutes", minutes(o->dispatched_ms, ev->at_ms));
		cJSON_AddStringToObject(j, "verdict",
		    ev->at_ms - o->dispatched_ms <= limit ? "on time" : "late");
	}
	cJSON_AddBoolToObject(j, "arrival_recorded", o->arrived_ms != 0);
	if (ev->has_fix)
		cJSON_AddItemToObject(j, "fix", fix_json(&ev->fix));
	cJSON_AddBoolToObject(j, "applied", applied);
	return j;
}

/* Apply ev to o (loaded, assigned to ev->dev) inside the transaction.
 * *status gets "applied" (state changed) or "recorded" (timeline only). */
static int
apply_event(struct gw *gw, struct order *o, const struct proto_event *ev, int64_t rx,
    const char **status)
{
	enum order_state to;
	enum order_action act;
	const char *kind = proto_ev_type_name(ev->type);
	int ok = 0, rc;
	cJSON *j = NULL;

	*status = "recorded";
	switch (ev->type) {
	case PROTO_EV_DELIVERED:
		if (ev->msg_id[0]) {
			struct outbox_row *r = malloc(sizeof(*r));

			if (r == NULL)
				return -1;
			rc = store_outbox_get(gw->store, ev->msg_id, r);
			if (rc == 1 && (strcmp(r->dev, ev->dev) != 0 ||
			    strcmp(r->order_id, o->id) != 0))
				rc = 2;
			free(r);
			if (rc == -1)
				return -1;
			if (rc == 1 && store_outbox_ack(gw->store, ev->msg_id, rx) == -1)
				return -1;
			if (rc != 1)
				log_warnx("device %s: delivered %s names unknown push %s",
				    ev->dev, o->id, ev->msg_id);
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
		if ((j = arrive_detail(o, ev, ok)) == NULL)
			return -1;
		if (ok) {
			o->state = to;
			o->arrived_ms = ev->at_ms;
			snprintf(o->arrive_method, sizeof(o->arrive_method), "%s",
			    ev->method == PROTO_ARRIVE_GPS ? "gps" : "manual");
			log_info("order %s: crew arrived (%s) after %.1f min, limit %d min",
			    o->id, o->arrive_method, minutes(o->dispatched_ms, ev->at_ms),
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
		if ((j = complete_detail(o, ev, ok)) == NULL)
			return -1;
		if (tl_add(gw, o->id, "completed", ev->at_ms, rx, ev->dev, j) == -1)
			return -1;
		if (!ok)
			return 0;
		o->state = to;
		o->completed_ms = ev->at_ms;
		o->completed_rx_ms = rx;
		o->callback_due_ms = rx + o->lim.callback_min * MS_PER_MIN;
		*status = "applied";
		if ((j = cJSON_CreateObject()) == NULL)
			return -1;
		cJSON_AddNumberToObject(j, "due_ms", (double)o->callback_due_ms);
		cJSON_AddNumberToObject(j, "limit_min", o->lim.callback_min);
		log_info("order %s completed; callback due in %d min", o->id,
		    o->lim.callback_min);
		return tl_add(gw, o->id, "callback_due", rx, rx, "gateway", j);
	case PROTO_EV_HELLO:
	default:
		return 0;
	}
	if (ok)
		*status = "applied";
	return tl_add(gw, o->id, kind, ev->at_ms, rx, ev->dev, j);
}

enum ev_disposition
order_event(struct gw *gw, const char *topic_dev, const struct proto_event *ev,
    const void *payload, size_t len, int64_t rx_ms)
{
	struct device dv;
	struct order *o;
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
	if ((o = malloc(sizeof(*o))) == NULL) {
		store_rollback(gw->store);
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
	if (apply_event(gw, o, ev, rx_ms, &status) == -1 ||
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
		unsigned before;

		if (store_begin(gw->store) == -1)
			goto out;
		if (store_order_get(gw->store, d->ids[i], o) != 1) {
			store_rollback(gw->store);
			goto out;
		}
		before = o->breached;
		if (finish(gw, o, NULL) != GW_OK)
			goto out;
		total += __builtin_popcount(o->breached & ~before);
	}
	ret = total;
out:
	free(d);
	free(o);
	return ret;
}
