/*
 * ctl.c: the crew's commands. The daemon serves a unix stream socket (owner
 * only, mode 0600); `linecrew-device status|orders|accept|arrive|progress|
 * delay|complete` connect to it, send one request line and print the answer.
 *
 * Request: one JSON object on one line of at most CTL_LINE_MAX bytes:
 *     {"cmd":"delay","order":"LC-1","reason":"road","eta_min":90,"text":"..."}
 * Answer: "ok\n" and lines for a person (or one JSON document when the request
 * has "json":true), or "error: <field>: <reason>\n"; then the server closes.
 *
 * A crew action is journaled (and so survives anything) before the answer says
 * "ok", and only then published: the answer tells whether it already went to
 * the gateway or waits in the journal for the network.
 *
 * It does not decide arrival (a manual arrival stops the detector through
 * watch_manual and is recorded as method "manual": declared, unverified).
 * Clients are served from the one loop without blocking: at most
 * CTL_CLIENTS_MAX at once, each dropped after CTL_TIMEOUT_MS.
 */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "maps.h"
#include "mqttc.h"

#define CTL_ETA_MAX_MIN		(7 * 24 * 60)	/* a delay estimate beyond a week is a typo */
#define CTL_ORDERS_MAX		50		/* orders listed by "orders" */
#define CTL_CLIENT_WAIT_MS	10000		/* the command waits this long for an answer */
#define CTL_WORDS_MAX		256		/* words of free text on the command line */

/* ---- server ---- */

struct ctl_conn {
	int		fd;		/* -1: free slot */
	char		in[CTL_LINE_MAX + 1];
	size_t		nin;
	char	       *out;		/* the answer, NULL while reading */
	size_t		nout, off;
	int64_t		deadline;	/* monotonic ms */
};

struct ctl {
	int		lfd;
	char		path[DEV_SOCK_MAX];
	struct ctl_conn	c[CTL_CLIENTS_MAX];
	struct loop_timer timer;
	struct device  *d;
};

/* An answer being written; never overflows, marks truncation. */
struct out {
	char	*p;
	size_t	 cap, len;
};

static void out_printf(struct out *o, const char *fmt, ...) LC_PRINTF(2, 3);

static void
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len + 1 >= o->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->len += (size_t)n < o->cap - o->len ? (size_t)n : o->cap - o->len - 1;
}

static int
refuse(struct out *o, const char *field, const char *fmt, ...) LC_PRINTF(3, 4);

static int
refuse(struct out *o, const char *field, const char *fmt, ...)
{
	char msg[PROTO_TEXT_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->len = 0;
	o->p[0] = '\0';
	out_printf(o, "error: %s: %s\n", field, msg);
	return -1;
}

static const char *
when(int64_t ms, char *buf, size_t cap)
{
	if (ms <= 0)
		return "-";
	return clock_fmt_local(ms, buf, cap);
}

/* "23 m" or "10.8 km": a lineman reads metres near the site, km far away. */
static const char *
distance(double m, char *buf, size_t cap)
{
	if (!isfinite(m))
		snprintf(buf, cap, "unknown distance");
	else if (m < 1000)
		snprintf(buf, cap, "%.0f m", m);
	else
		snprintf(buf, cap, "%.1f km", m / 1000);
	return buf;
}

static void
fix_line(struct out *o, const char *label, int has_fix, const struct proto_fix *f,
    const struct proto_order *site)
{
	char dist[32];

	if (!has_fix) {
		out_printf(o, "  %-10s no GPS fix\n", label);
		return;
	}
	out_printf(o, "  %-10s %.6f, %.6f", label, f->lat, f->lon);
	if (isfinite(f->eph_m))
		out_printf(o, " (+-%.0f m)", f->eph_m);
	if (site != NULL)
		out_printf(o, ", %s from the site", distance(maps_distance_m(site->site_lat,
		    site->site_lon, f->lat, f->lon), dist, sizeof(dist)));
	out_printf(o, "\n");
}

static void
order_lines(struct out *o, const struct jorder *jo)
{
	const struct proto_order *p = &jo->order;
	char t1[CLOCK_FMT_MAX];

	out_printf(o, "  %-10s %s (%s)\n", "Order", p->id, journal_state_name(jo->state));
	if (p->category_name[0])
		out_printf(o, "  %-10s %s\n", "Fault", p->category_name);
	out_printf(o, "  %-10s %s\n", "Address", p->address[0] ? p->address : "-");
	if (p->customer[0] || p->phone[0])
		out_printf(o, "  %-10s %s %s\n", "Customer", p->customer, p->phone);
	out_printf(o, "  %-10s %s\n", "Arrive by", when(p->arrive_by_ms, t1, sizeof(t1)));
	out_printf(o, "  %-10s %s\n", "Finish by", when(p->complete_by_ms, t1, sizeof(t1)));
}

static void
event_line(struct out *o, const struct proto_event *e, int sent)
{
	char t[CLOCK_FMT_MAX];

	out_printf(o, "  %-10s %s\n", "Time", clock_fmt_local(e->at_ms, t, sizeof(t)));
	out_printf(o, "  %-10s %s, %s\n", "Event", e->eid, sent ?
	    "sent to the gateway" :
	    "saved on this unit; it goes to the gateway when the network is back");
}

/* Load the order named in the request, refusing unknown and finished ones. */
static int
req_order(struct device *d, const cJSON *req, struct jorder *jo, struct out *o)
{
	struct proto_error err;
	char id[PROTO_ID_MAX];
	int rc;

	if (pj_str(req, "", "order", 1, id, sizeof(id), &err) != PROTO_OK)
		return refuse(o, "order", "%s", "the order id is missing or too long");
	if (!proto_valid_id(id))
		return refuse(o, "order", "\"%s\" is not an order id", id);
	if ((rc = journal_order_get(d->journal, id, jo)) == -1)
		return refuse(o, "order", "cannot read %s from the journal", id);
	if (rc == 0)
		return refuse(o, "order", "no order %s on this unit (see: linecrew-device orders)",
		    id);
	if (jo->state == JO_CANCELLED)
		return refuse(o, "order", "%s was withdrawn by the dispatcher; nothing recorded",
		    id);
	if (jo->state == JO_COMPLETED)
		return refuse(o, "order", "%s is already completed; nothing recorded", id);
	return 0;
}

static int
req_text(const cJSON *req, const char *key, int required, char *text, struct out *o)
{
	struct proto_error err;

	text[0] = '\0';
	if (pj_str(req, "", key, required, text, PROTO_TEXT_MAX, &err) != PROTO_OK)
		return refuse(o, "text", "%s", err.code == PROTO_E_MISSING ?
		    "required" : "must be at most 511 bytes of text");
	if (required && text[0] == '\0')
		return refuse(o, "text", "%s", "required");
	return 0;
}

/* Journal, then send, then answer. */
static int
commit(struct device *d, struct proto_event *e, int *sent, struct out *o)
{
	e->has_fix = gps_last_fix(d, &e->fix);
	e->at_ms = clock_wall(d->clock);
	if (mqtt_event(d, e, sent) == -1)
		return refuse(o, "journal", "%s",
		    "could not save it on this unit (storage error); NOT recorded, try again");
	return 0;
}

static int
do_accept(struct device *d, const cJSON *req, struct out *o)
{
	struct proto_event e;
	struct jorder jo;
	int sent;

	if (req_order(d, req, &jo, o) == -1)
		return -1;
	if (jo.accepted)
		return refuse(o, "order", "%s is already accepted", jo.order.id);
	memset(&e, 0, sizeof(e));
	e.type = PROTO_EV_ACCEPT;
	snprintf(e.order_id, sizeof(e.order_id), "%s", jo.order.id);
	if (commit(d, &e, &sent, o) == -1)
		return -1;
	out_printf(o, "ok\nAccepted order %s: on the way.\n", jo.order.id);
	event_line(o, &e, sent);
	order_lines(o, &jo);
	return 0;
}

static int
do_arrive(struct device *d, const cJSON *req, struct out *o)
{
	struct arrival_evidence ev;
	struct proto_event *e;
	struct jorder jo;
	char note[PROTO_TEXT_MAX];
	int sent;

	if (req_order(d, req, &jo, o) == -1 || req_text(req, "text", 0, note, o) == -1)
		return -1;
	if (jo.state == JO_ARRIVED)
		return refuse(o, "order", "arrival at %s is already recorded", jo.order.id);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return refuse(o, "request", "%s", "out of memory");
	e->type = PROTO_EV_ARRIVE;
	e->method = PROTO_ARRIVE_MANUAL;
	snprintf(e->order_id, sizeof(e->order_id), "%s", jo.order.id);
	snprintf(e->note, sizeof(e->note), "%s", note);
	e->has_fix = gps_last_fix(d, &e->fix);
	watch_manual(d, jo.order.id, e->has_fix ? &e->fix : NULL, &ev);
	e->dist_m = e->has_fix ? maps_distance_m(jo.order.site_lat, jo.order.site_lon,
	    e->fix.lat, e->fix.lon) : NAN;
	e->dwell_ms = ev.dwell_ms;
	e->ntrack = ev.ntrack;
	memcpy(e->track, ev.track, sizeof(e->track));
	if (commit(d, e, &sent, o) == -1) {
		watch_sync(d);		/* not recorded: keep detecting */
		free(e);
		return -1;
	}
	jo.state = JO_ARRIVED;
	out_printf(o, "ok\nArrival at order %s recorded, declared by hand (not verified "
	    "by GPS).\n", jo.order.id);
	event_line(o, e, sent);
	fix_line(o, "Position", e->has_fix, &e->fix, &jo.order);
	order_lines(o, &jo);
	free(e);
	watch_sync(d);
	return 0;
}

static int
do_progress(struct device *d, const cJSON *req, struct out *o)
{
	struct proto_event e;
	struct jorder jo;
	int sent;

	memset(&e, 0, sizeof(e));
	if (req_order(d, req, &jo, o) == -1 || req_text(req, "text", 1, e.note, o) == -1)
		return -1;
	e.type = PROTO_EV_PROGRESS;
	snprintf(e.order_id, sizeof(e.order_id), "%s", jo.order.id);
	if (commit(d, &e, &sent, o) == -1)
		return -1;
	out_printf(o, "ok\nProgress on order %s recorded: %s\n", jo.order.id, e.note);
	event_line(o, &e, sent);
	order_lines(o, &jo);
	return 0;
}

static int
do_delay(struct device *d, const cJSON *req, struct out *o)
{
	struct proto_error err;
	struct proto_event e;
	struct jorder jo;
	char reason[PROTO_NAME_MAX], list[256] = "", t[CLOCK_FMT_MAX];
	enum proto_delay_reason r;
	int64_t eta_min = 0;
	int i, sent;

	memset(&e, 0, sizeof(e));
	if (req_order(d, req, &jo, o) == -1 || req_text(req, "text", 0, e.note, o) == -1)
		return -1;
	for (i = 0; i < PROTO_DELAY_NREASONS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
		    i ? ", " : "", proto_delay_name((enum proto_delay_reason)i));
	if (pj_str(req, "", "reason", 1, reason, sizeof(reason), &err) != PROTO_OK ||
	    proto_delay_parse(reason, &r) == -1)
		return refuse(o, "reason", "must be one of %s", list);
	if (r == PROTO_DELAY_OTHER && e.note[0] == '\0')
		return refuse(o, "text", "%s", "reason \"other\" needs a text saying why");
	if (pj_int(req, "", "eta_min", 0, 1, CTL_ETA_MAX_MIN, &eta_min, &err) != PROTO_OK)
		return refuse(o, "eta", "must be whole minutes from now, 1 to %d",
		    CTL_ETA_MAX_MIN);
	e.type = PROTO_EV_DELAY;
	e.reason = r;
	snprintf(e.order_id, sizeof(e.order_id), "%s", jo.order.id);
	e.has_fix = gps_last_fix(d, &e.fix);
	e.at_ms = clock_wall(d->clock);
	e.eta_ms = eta_min > 0 ? e.at_ms + eta_min * 60000 : 0;
	if (mqtt_event(d, &e, &sent) == -1)
		return refuse(o, "journal", "%s",
		    "could not save it on this unit (storage error); NOT recorded, try again");
	out_printf(o, "ok\nDelay on order %s recorded: %s%s%s.\n", jo.order.id,
	    proto_delay_name(r), e.note[0] ? ", " : "", e.note);
	event_line(o, &e, sent);
	if (e.eta_ms)
		out_printf(o, "  %-10s %s (in %lld min)\n", "New ETA",
		    clock_fmt_local(e.eta_ms, t, sizeof(t)), (long long)eta_min);
	order_lines(o, &jo);
	return 0;
}

static int
do_complete(struct device *d, const cJSON *req, struct out *o)
{
	struct proto_event e;
	struct jorder jo;
	int sent;

	memset(&e, 0, sizeof(e));
	if (req_order(d, req, &jo, o) == -1 || req_text(req, "text", 0, e.note, o) == -1)
		return -1;
	e.type = PROTO_EV_COMPLETE;
	snprintf(e.order_id, sizeof(e.order_id), "%s", jo.order.id);
	if (commit(d, &e, &sent, o) == -1)
		return -1;
	watch_sync(d);
	jo.state = JO_COMPLETED;
	out_printf(o, "ok\nRepair on order %s recorded as done: power restored.\n",
	    jo.order.id);
	event_line(o, &e, sent);
	order_lines(o, &jo);
	out_printf(o, "The 95598 agent will call the customer back within 10 minutes.\n");
	return 0;
}

static cJSON *
fix_json(const struct proto_fix *f)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (f->t_ms)
		cJSON_AddNumberToObject(o, "t", (double)f->t_ms);
	cJSON_AddNumberToObject(o, "lat", f->lat);
	cJSON_AddNumberToObject(o, "lon", f->lon);
	cJSON_AddNumberToObject(o, "mode", f->mode);
	if (isfinite(f->eph_m))
		cJSON_AddNumberToObject(o, "eph", f->eph_m);
	if (isfinite(f->speed_mps))
		cJSON_AddNumberToObject(o, "speed", f->speed_mps);
	return o;
}

/* The crew must be asked for a delay reason: the order is not done, the
 * completion deadline (12 h, 24 h for meter faults, from dispatch) is less than
 * delay_prompt_min away or past, or the gateway asked for one, and no delay has
 * been reported for it. */
static int
delay_due(struct device *d, const struct jorder *jo, int64_t now)
{
	const struct proto_order *p = &jo->order;

	if (jo->state != JO_OPEN && jo->state != JO_ARRIVED)
		return 0;
	/* the gateway's own request counts whatever this unit's clock says */
	if (jo->delay_requested_ms == 0 && (p->complete_by_ms <= 0 ||
	    now < p->complete_by_ms - (int64_t)d->conf.delay_prompt_min * 60000))
		return 0;
	return journal_has_event(d->journal, p->id, PROTO_EV_DELAY) == 0;
}

static const struct arrival *
watched(const struct device *d, const char *id)
{
	int i;

	for (i = 0; i < d->nwatch; i++)
		if (strcmp(d->watch[i].order_id, id) == 0)
			return &d->watch[i];
	return NULL;
}

struct list_ctx {
	struct device  *d;
	cJSON	       *arr;		/* JSON answers */
	struct out     *o;		/* text answers */
	int		open_only;
	int		n;
};

static void
list_one(void *arg, const struct jorder *jo)
{
	struct list_ctx *x = arg;
	const struct proto_order *p = &jo->order;
	const struct arrival *a = watched(x->d, p->id);
	char t1[CLOCK_FMT_MAX], t2[CLOCK_FMT_MAX];
	cJSON *o, *site, *w;

	if (x->open_only && jo->state != JO_OPEN && jo->state != JO_ARRIVED)
		return;
	x->n++;
	if (x->arr != NULL) {
		if ((o = cJSON_CreateObject()) == NULL)
			return;
		cJSON_AddStringToObject(o, "id", p->id);
		cJSON_AddStringToObject(o, "state", journal_state_name(jo->state));
		cJSON_AddBoolToObject(o, "accepted", jo->accepted);
		cJSON_AddNumberToObject(o, "category", p->category);
		cJSON_AddStringToObject(o, "category_name", p->category_name);
		cJSON_AddStringToObject(o, "address", p->address);
		cJSON_AddStringToObject(o, "summary", p->summary);
		cJSON_AddStringToObject(o, "customer", p->customer);
		cJSON_AddStringToObject(o, "phone", p->phone);
		if ((site = cJSON_AddObjectToObject(o, "site")) != NULL) {
			cJSON_AddNumberToObject(site, "lat", p->site_lat);
			cJSON_AddNumberToObject(site, "lon", p->site_lon);
		}
		cJSON_AddNumberToObject(o, "radius_m", p->radius_m);
		cJSON_AddStringToObject(o, "zone", proto_zone_name(p->zone));
		cJSON_AddNumberToObject(o, "arrive_by_ms", (double)p->arrive_by_ms);
		cJSON_AddNumberToObject(o, "complete_by_ms", (double)p->complete_by_ms);
		cJSON_AddNumberToObject(o, "received_ms", (double)jo->received_ms);
		cJSON_AddNumberToObject(o, "state_ms", (double)jo->state_ms);
		cJSON_AddStringToObject(o, "msg_id", jo->msg_id);
		cJSON_AddBoolToObject(o, "delay_sent",
		    journal_has_event(x->d->journal, p->id, PROTO_EV_DELAY) == 1);
		cJSON_AddBoolToObject(o, "delay_due", delay_due(x->d, jo, clock_wall(x->d->clock)));
		if (a != NULL && (w = cJSON_AddObjectToObject(o, "arrival")) != NULL) {
			cJSON_AddStringToObject(w, "state", arrival_state_name(a->state));
			if (isfinite(a->last_dist_m))
				cJSON_AddNumberToObject(w, "dist_m", a->last_dist_m);
			cJSON_AddNumberToObject(w, "fixes", a->ev.nfixes);
		}
		cJSON_AddItemToArray(x->arr, o);
		return;
	}
	out_printf(x->o, "  %-20s %-9s %s\n", p->id, journal_state_name(jo->state),
	    p->address[0] ? p->address : "-");
	out_printf(x->o, "  %-20s arrive by %s, finish by %s\n", "",
	    when(p->arrive_by_ms, t1, sizeof(t1)), when(p->complete_by_ms, t2, sizeof(t2)));
	if (delay_due(x->d, jo, clock_wall(x->d->clock)))
		out_printf(x->o, "  %-20s DELAY REASON NEEDED: finish by %s; report it: "
		    "linecrew-device delay %s --reason R [--eta MIN]\n", "",
		    when(p->complete_by_ms, t2, sizeof(t2)), p->id);
	if (a != NULL && a->state == ARRIVAL_INSIDE)
		out_printf(x->o, "  %-20s on site by GPS for %lld s, %d fixes\n", "",
		    (long long)((clock_mono(x->d->clock) - a->since_ms) / 1000), a->ev.nfixes);
	else if (a != NULL && isfinite(a->last_dist_m))
		out_printf(x->o, "  %-20s %s from the site\n", "",
		    distance(a->last_dist_m, t1, sizeof(t1)));
}

static int
json_answer(struct out *o, cJSON *root)
{
	char *s = pj_print(root);

	cJSON_Delete(root);
	if (s == NULL)
		return refuse(o, "request", "%s", "out of memory");
	out_printf(o, "ok\n%s\n", s);
	free(s);
	return 0;
}

static int
do_orders(struct device *d, const cJSON *req, struct out *o)
{
	struct list_ctx x = { d, NULL, o, 0, 0 };
	struct proto_error err;
	int json = 0;
	cJSON *root;

	pj_bool(req, "", "json", 0, &json, &err);
	if (json) {
		if ((root = cJSON_CreateObject()) == NULL ||
		    (x.arr = cJSON_AddArrayToObject(root, "orders")) == NULL) {
			cJSON_Delete(root);
			return refuse(o, "request", "%s", "out of memory");
		}
		if (journal_list_orders(d->journal, CTL_ORDERS_MAX, list_one, &x) == -1) {
			cJSON_Delete(root);
			return refuse(o, "journal", "%s", "cannot read the orders");
		}
		return json_answer(o, root);
	}
	out_printf(o, "ok\nOrders on unit %s (newest first):\n", d->conf.id);
	if (journal_list_orders(d->journal, CTL_ORDERS_MAX, list_one, &x) == -1)
		return refuse(o, "journal", "%s", "cannot read the orders");
	if (x.n == 0)
		out_printf(o, "  none yet\n");
	return 0;
}

static int
do_status(struct device *d, const cJSON *req, struct out *o)
{
	struct list_ctx x = { d, NULL, o, 1, 0 };
	struct proto_error err;
	struct proto_fix f;
	int json = 0, has_fix = gps_last_fix(d, &f), unacked;
	int connected = d->mq != NULL && mqttc_connected(d->mq);
	int64_t now = clock_wall(d->clock), age = clock_mono(d->clock) - d->fix_mono_ms;
	char t[CLOCK_FMT_MAX];
	cJSON *root, *m, *g, *jn, *rj;

	pj_bool(req, "", "json", 0, &json, &err);
	unacked = journal_unacked_count(d->journal);
	if (json) {
		if ((root = cJSON_CreateObject()) == NULL)
			return refuse(o, "request", "%s", "out of memory");
		cJSON_AddStringToObject(root, "dev", d->conf.id);
		cJSON_AddNumberToObject(root, "now_ms", (double)now);
		if ((m = cJSON_AddObjectToObject(root, "mqtt")) != NULL) {
			cJSON_AddBoolToObject(m, "connected", connected);
			cJSON_AddNumberToObject(m, "connects",
			    d->mq != NULL ? mqttc_connects(d->mq) : 0);
			cJSON_AddNumberToObject(m, "events_sent", (double)d->events_sent);
			cJSON_AddNumberToObject(m, "dropped", (double)d->down_bad);
			cJSON_AddNumberToObject(m, "pos_sent", (double)d->pos_sent);
			cJSON_AddNumberToObject(m, "track_kept", (double)d->track_kept);
			cJSON_AddNumberToObject(m, "track_sent", (double)d->track_sent);
		}
		if ((g = cJSON_AddObjectToObject(root, "gps")) != NULL) {
			cJSON_AddBoolToObject(g, "connected", d->gps_open);
			cJSON_AddNumberToObject(g, "reports", (double)d->gpsc.reports);
			cJSON_AddNumberToObject(g, "good", (double)d->gpsc.good);
			cJSON_AddNumberToObject(g, "nofix", (double)d->gpsc.nofix);
			cJSON_AddNumberToObject(g, "rejected", (double)d->gpsc.rejected);
			if ((rj = cJSON_AddObjectToObject(g, "rejects")) != NULL) {
				cJSON_AddNumberToObject(rj, "value", (double)d->gpsc.r_value);
				cJSON_AddNumberToObject(rj, "future", (double)d->gpsc.r_future);
				cJSON_AddNumberToObject(rj, "stale", (double)d->gpsc.r_stale);
				cJSON_AddNumberToObject(rj, "rollover", (double)d->gpsc.r_rollover);
				cJSON_AddNumberToObject(rj, "jump", (double)d->gpsc.r_jump);
				cJSON_AddNumberToObject(rj, "before_order",
				    (double)d->gpsc.r_before_order);
			}
			if (has_fix) {
				cJSON_AddItemToObject(g, "fix", fix_json(&f));
				cJSON_AddNumberToObject(g, "fix_age_ms", (double)age);
			} else
				cJSON_AddNullToObject(g, "fix");
		}
		if ((jn = cJSON_AddObjectToObject(root, "journal")) != NULL) {
			cJSON_AddNumberToObject(jn, "last_seq",
			    (double)journal_last_seq(d->journal));
			cJSON_AddNumberToObject(jn, "unacked", unacked);
			cJSON_AddNumberToObject(jn, "track_backlog",
			    journal_track_count(d->journal));
		}
		x.arr = cJSON_AddArrayToObject(root, "orders");
		if (x.arr == NULL ||
		    journal_list_orders(d->journal, CTL_ORDERS_MAX, list_one, &x) == -1) {
			cJSON_Delete(root);
			return refuse(o, "journal", "%s", "cannot read the orders");
		}
		return json_answer(o, root);
	}
	out_printf(o, "ok\nUnit %s, %s\n", d->conf.id, clock_fmt_local(now, t, sizeof(t)));
	out_printf(o, "  %-10s %s\n", "Gateway", connected ? "connected" : "NOT connected");
	out_printf(o, "  %-10s %d event(s) not yet confirmed by the gateway\n", "Unsent",
	    unacked);
	if (!d->gps_open)
		out_printf(o, "  %-10s gpsd not reachable at %s:%d\n", "GPS", d->conf.gpsd_host,
		    d->conf.gpsd_port);
	else if (has_fix)
		out_printf(o, "  %-10s %.6f, %.6f, %dD%s, %lld s ago\n", "GPS", f.lat, f.lon,
		    f.mode, isfinite(f.eph_m) ? "" : " (error unknown)", (long long)(age / 1000));
	else
		out_printf(o, "  %-10s no fix yet\n", "GPS");
	out_printf(o, "Open orders:\n");
	if (journal_list_orders(d->journal, CTL_ORDERS_MAX, list_one, &x) == -1)
		return refuse(o, "journal", "%s", "cannot read the orders");
	if (x.n == 0)
		out_printf(o, "  none\n");
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct device *, const cJSON *, struct out *);
} cmds[] = {	/* sorted by name */
	{ "accept", do_accept },
	{ "arrive", do_arrive },
	{ "complete", do_complete },
	{ "delay", do_delay },
	{ "orders", do_orders },
	{ "progress", do_progress },
	{ "status", do_status },
};

void
ctl_handle(struct device *d, const char *line, char *buf, size_t cap)
{
	struct out o = { buf, cap, 0 };
	struct proto_error err;
	char cmd[32];
	cJSON *req;
	size_t i;

	if (cap == 0)
		return;
	buf[0] = '\0';
	if (pj_parse(line, strlen(line), CTL_LINE_MAX, &req, &err) != PROTO_OK) {
		refuse(&o, "request", "not a JSON object: %s", err.msg);
		return;
	}
	if (pj_str(req, "", "cmd", 1, cmd, sizeof(cmd), &err) != PROTO_OK) {
		refuse(&o, "cmd", "%s", "missing or not a command name");
		cJSON_Delete(req);
		return;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, cmd) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		refuse(&o, "cmd", "unknown command \"%s\"", cmd);
	else
		cmds[i].fn(d, req, &o);
	cJSON_Delete(req);
}

static void
conn_close(struct ctl *c, struct ctl_conn *k)
{
	if (k->fd < 0)
		return;
	loop_io_del(c->d->loop, k->fd);
	close(k->fd);
	free(k->out);
	k->out = NULL;
	k->fd = -1;
	k->nin = k->nout = k->off = 0;
}

static void conn_io(int fd, short revents, void *arg);

static struct ctl_conn *
conn_of(struct ctl *c, int fd)
{
	int i;

	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		if (c->c[i].fd == fd)
			return &c->c[i];
	return NULL;
}

static void
conn_answer(struct ctl *c, struct ctl_conn *k)
{
	struct out o;

	k->in[k->nin] = '\0';
	if ((k->out = malloc(CTL_ANSWER_MAX)) == NULL) {
		log_warn("ctl: malloc");
		conn_close(c, k);
		return;
	}
	if (k->nin > 0 && k->in[k->nin - 1] == '\n')
		k->in[--k->nin] = '\0';
	if (strlen(k->in) != k->nin) {
		o = (struct out){ k->out, CTL_ANSWER_MAX, 0 };
		refuse(&o, "request", "%s", "contains a NUL byte");
	} else
		ctl_handle(c->d, k->in, k->out, CTL_ANSWER_MAX);
	k->nout = strlen(k->out);
	k->off = 0;
	loop_io_events(c->d->loop, k->fd, POLLOUT);
}

static void
conn_io(int fd, short revents, void *arg)
{
	struct ctl *c = arg;
	struct ctl_conn *k = conn_of(c, fd);
	ssize_t n;
	char *nl;

	if (k == NULL)
		return;
	if (k->out != NULL) {
		n = send(fd, k->out + k->off, k->nout - k->off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (k->off += (size_t)n) == k->nout)
			conn_close(c, k);
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = recv(fd, k->in + k->nin, CTL_LINE_MAX - k->nin, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		conn_close(c, k);
		return;
	}
	if (n == 0) {			/* the client finished without a newline */
		if (k->nin == 0)
			conn_close(c, k);
		else
			conn_answer(c, k);
		return;
	}
	nl = memchr(k->in + k->nin, '\n', (size_t)n);
	k->nin += (size_t)n;
	if (nl != NULL) {
		k->nin = (size_t)(nl - k->in) + 1;
		conn_answer(c, k);
	} else if (k->nin == CTL_LINE_MAX) {
		struct out o;

		if ((k->out = malloc(CTL_ANSWER_MAX)) == NULL) {
			conn_close(c, k);
			return;
		}
		o = (struct out){ k->out, CTL_ANSWER_MAX, 0 };
		refuse(&o, "request", "longer than %d bytes", CTL_LINE_MAX);
		k->nout = o.len;
		loop_io_events(c->d->loop, k->fd, POLLOUT);
	}
}

static void
ctl_accept(int fd, short revents, void *arg)
{
	struct ctl *c = arg;
	struct ctl_conn *k;
	int cfd;

	(void)revents;
	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("ctl: accept");
		return;
	}
	if ((k = conn_of(c, -1)) == NULL) {
		log_warnx("ctl: %d commands at once; one refused", CTL_CLIENTS_MAX);
		close(cfd);
		return;
	}
	if (loop_io_add(c->d->loop, cfd, POLLIN, conn_io, c) == -1) {
		close(cfd);
		return;
	}
	k->fd = cfd;
	k->nin = 0;
	k->out = NULL;
	k->deadline = loop_now(c->d->loop) + CTL_TIMEOUT_MS;
	if (!loop_timer_armed(&c->timer))
		loop_timer_start(c->d->loop, &c->timer, 1000, 1000);
}

static void
ctl_timer(void *arg)
{
	struct ctl *c = arg;
	int64_t now = loop_now(c->d->loop);
	int i, busy = 0;

	for (i = 0; i < CTL_CLIENTS_MAX; i++) {
		if (c->c[i].fd >= 0 && now > c->c[i].deadline)
			conn_close(c, &c->c[i]);
		busy |= c->c[i].fd >= 0;
	}
	if (!busy)
		loop_timer_stop(c->d->loop, &c->timer);	/* idle: no wake-ups */
}

static int
sock_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int
ctl_start(struct device *d)
{
	struct sockaddr_un sa;
	struct ctl *c;
	mode_t old;
	int fd, i, rc;

	if (sock_addr(d->conf.ctl_socket, &sa) == -1) {
		log_warnx("ctl_socket: path longer than %zu bytes", sizeof(sa.sun_path) - 1);
		return -1;
	}
	/* A socket file that accepts a connection belongs to a running daemon. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("ctl: socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		log_warnx("ctl_socket %s: another linecrew-device is running there",
		    d->conf.ctl_socket);
		return -1;
	}
	close(fd);
	unlink(d->conf.ctl_socket);	/* stale, from a daemon that died */

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("ctl: calloc");
		return -1;
	}
	c->d = d;
	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		c->c[i].fd = -1;
	snprintf(c->path, sizeof(c->path), "%s", d->conf.ctl_socket);
	if ((c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("ctl: socket");
		free(c);
		return -1;
	}
	old = umask(0077);	/* created 0600 from the start: no window for others */
	rc = bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc == -1 || chmod(c->path, 0600) == -1 || listen(c->lfd, CTL_CLIENTS_MAX) == -1 ||
	    loop_io_add(d->loop, c->lfd, POLLIN, ctl_accept, c) == -1) {
		log_warn("ctl_socket %s", c->path);
		close(c->lfd);
		if (rc == 0)
			unlink(c->path);
		free(c);
		return -1;
	}
	loop_timer_init(&c->timer, ctl_timer, c);	/* armed while clients are connected */
	d->ctl = c;
	log_info("ctl: commands on %s", c->path);
	return 0;
}

void
ctl_stop(struct device *d)
{
	struct ctl *c = d->ctl;
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		conn_close(c, &c->c[i]);
	loop_timer_stop(d->loop, &c->timer);
	loop_io_del(d->loop, c->lfd);
	close(c->lfd);
	unlink(c->path);
	free(c);
	d->ctl = NULL;
}

/* ---- client ---- */

static void
usage_cmds(void)
{
	fprintf(stderr,
	    "commands:\n"
	    "  status [--json]                         this unit, its links and open orders\n"
	    "  orders [--json]                         every order on this unit\n"
	    "  accept ORDER                            take the order, on the way\n"
	    "  arrive ORDER [--note TEXT]              declare arrival by hand (unverified)\n"
	    "  progress ORDER TEXT                     report progress\n"
	    "  delay ORDER --reason R [--eta MIN] [TEXT]\n"
	    "                                          the repair will be late; R is one of\n"
	    "                                          weather road materials upstream\n"
	    "                                          customer_absent safety other\n"
	    "  complete ORDER [TEXT]                   repair done, power restored\n");
}

/* Join argv[from..argc) with spaces into text (cap bytes). -1 if too long. */
static int
join(int argc, char **argv, int from, char *text, size_t cap)
{
	size_t len = 0, n;
	int i;

	text[0] = '\0';
	for (i = from; i < argc; i++) {
		n = strlen(argv[i]);
		if (len + n + 2 > cap)
			return -1;
		if (len > 0)
			text[len++] = ' ';
		memcpy(text + len, argv[i], n + 1);
		len += n;
	}
	return 0;
}

/* Build the request for argv. Returns the JSON text (caller frees) or NULL with
 * a message printed. */
static char *
build_request(int argc, char **argv)
{
	static const char *const with_order[] = {
		"accept", "arrive", "complete", "delay", "progress",
	};
	cJSON *req;
	char text[PROTO_TEXT_MAX * 2], *s = NULL, *end;
	char *words[CTL_WORDS_MAX];
	const char *cmd = argv[0];
	int i, nwords = 0, is_order = 0, json = 0;
	long long eta;

	for (i = 0; i < (int)(sizeof(with_order) / sizeof(with_order[0])); i++)
		is_order |= strcmp(cmd, with_order[i]) == 0;
	if (!is_order && strcmp(cmd, "status") != 0 && strcmp(cmd, "orders") != 0) {
		fprintf(stderr, "linecrew-device: unknown command \"%s\"\n", cmd);
		usage_cmds();
		return NULL;
	}
	if ((req = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(req, "cmd", cmd);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0 && !is_order)
			json = 1;
		else if (strcmp(a, "--note") == 0 && strcmp(cmd, "arrive") == 0 && i + 1 < argc)
			words[nwords++] = argv[++i];
		else if (strcmp(a, "--reason") == 0 && strcmp(cmd, "delay") == 0 && i + 1 < argc)
			cJSON_AddStringToObject(req, "reason", argv[++i]);
		else if (strcmp(a, "--eta") == 0 && strcmp(cmd, "delay") == 0 && i + 1 < argc) {
			errno = 0;
			eta = strtoll(argv[++i], &end, 10);
			if (errno != 0 || end == argv[i] || *end != '\0' || eta < 1 ||
			    eta > CTL_ETA_MAX_MIN) {
				fprintf(stderr, "error: eta: must be whole minutes from now, "
				    "1 to %d\n", CTL_ETA_MAX_MIN);
				goto fail;
			}
			cJSON_AddNumberToObject(req, "eta_min", (double)eta);
		} else if (strncmp(a, "--", 2) == 0 && strlen(a) > 2) {
			fprintf(stderr, "error: %s: unknown option for %s (or its value is "
			    "missing)\n", a, cmd);
			goto fail;
		} else if (is_order && cJSON_GetObjectItemCaseSensitive(req, "order") == NULL)
			cJSON_AddStringToObject(req, "order", a);
		else if (is_order && strcmp(cmd, "accept") != 0 && strcmp(cmd, "arrive") != 0 &&
		    nwords < (int)(sizeof(words) / sizeof(words[0])))
			words[nwords++] = argv[i];
		else {
			fprintf(stderr, "error: %s: unexpected argument for %s\n", a, cmd);
			goto fail;
		}
	}
	if (is_order && cJSON_GetObjectItemCaseSensitive(req, "order") == NULL) {
		fprintf(stderr, "error: order: which order? (see: linecrew-device orders)\n");
		goto fail;
	}
	if (nwords > 0) {
		if (join(nwords, words, 0, text, sizeof(text)) == -1) {
			fprintf(stderr, "error: text: too long\n");
			goto fail;
		}
		cJSON_AddStringToObject(req, "text", text);
	}
	if (json)
		cJSON_AddTrueToObject(req, "json");
	s = pj_print(req);
fail:
	cJSON_Delete(req);
	return s;
}

int
ctl_request(const char *sock, const char *req, char *ans, size_t cap, char *why, size_t whycap)
{
	struct sockaddr_un sa;
	struct pollfd pfd;
	size_t len = 0, off = 0, reqlen = strlen(req);
	ssize_t n;
	int fd;

	ans[0] = '\0';
	if (reqlen + 1 > CTL_LINE_MAX) {
		snprintf(why, whycap, "the request is longer than %d bytes", CTL_LINE_MAX);
		return -1;
	}
	if (sock_addr(sock, &sa) == -1 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, whycap, "%s: %s", sock, strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		snprintf(why, whycap, "the daemon is not running (nothing answers at %s: %s)",
		    sock, strerror(errno));
		close(fd);
		return -1;
	}
	while (off < reqlen + 1) {
		/* the line and its newline, the NUL replaced by length */
		n = off < reqlen ? send(fd, req + off, reqlen - off, MSG_NOSIGNAL) :
		    send(fd, "\n", 1, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (len < cap - 1) {
		if (poll(&pfd, 1, CTL_CLIENT_WAIT_MS) <= 0)
			break;
		n = recv(fd, ans + len, cap - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	ans[len] = '\0';
	if (len == 0) {
		snprintf(why, whycap, "no answer from the daemon at %s", sock);
		return -1;
	}
	return 0;
}

int
ctl_command(const char *sock, int argc, char **argv)
{
	char *req, *ans, why[256];
	size_t len, cap = CTL_ANSWER_MAX + 1;
	int status;

	if (argc < 1) {
		usage_cmds();
		return 1;
	}
	if ((req = build_request(argc, argv)) == NULL)
		return 1;
	if (strlen(req) + 1 > CTL_LINE_MAX) {
		fprintf(stderr, "error: text: the request is longer than %d bytes\n",
		    CTL_LINE_MAX);
		free(req);
		return 1;
	}
	if ((ans = malloc(cap)) == NULL) {
		free(req);
		return 2;
	}
	if (ctl_request(sock, req, ans, cap, why, sizeof(why)) == -1) {
		fprintf(stderr, "linecrew-device: %s\n", why);
		free(req);
		free(ans);
		return 2;
	}
	free(req);
	len = strlen(ans);
	if (strncmp(ans, "ok\n", 3) == 0) {
		fputs(ans + 3, stdout);
		status = 0;
	} else if (strncmp(ans, "error: ", 7) == 0) {
		fputs(ans, stderr);
		status = 1;
	} else {
		fprintf(stderr, "linecrew-device: no answer from the daemon at %s%s%s\n", sock,
		    len ? ": " : "", ans);
		status = 2;
	}
	free(ans);
	return status;
}
