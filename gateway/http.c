/*
 * http.c: the gateway's HTTP JSON API (README "HTTP API") on libmicrohttpd.
 *
 * libmicrohttpd runs in our poll loop, single-threaded: MHD_USE_EPOLL with no
 * internal thread; its epoll fd is watched by the loop (MHD_run when readable)
 * and a loop prepare hook arms a timer from MHD_get_timeout() so connection
 * timeouts and buffered work are served too. Nothing here blocks.
 *
 * The routes are one const table {method, path pattern, handler, roles}. Every
 * route but health needs "Authorization: Bearer <token>": the token's SHA-256
 * is looked up in the store and compared in constant time (401 when missing or
 * unknown); its role must be one of the route's (403), admin may do anything.
 * A department token reaches only orders forwarded to its department. The
 * customer's name and phone are answered only to agents, departments and
 * admins ("customer"/"phone" are null for the others), and never logged.
 * With http_tls_cert/http_tls_key the API is HTTPS only (GnuTLS in MHD).
 * Request bodies are at most GW_BODY_MAX bytes (413), must be JSON objects,
 * and are decoded strictly with proto's pj_* readers, unknown fields refused:
 * a bad request gets 400 naming the field and stores nothing. The decisions
 * are order.c's; this file maps them to statuses and JSON.
 *
 * List answers stop adding items before GW_BODY_MAX and say "truncated": true.
 *
 * The web board (issue 7): a browser logs in with its token once (POST
 * /api/v1/session) and then sends the session cookie instead of the bearer
 * token; with the cookie every method but GET and HEAD must carry the session's
 * X-CSRF-Token header (a cross-site form cannot set it; SameSite=Strict is the
 * second wall). Paths outside /api/ and /metrics are web.c's (pages, assets);
 * the stream is live.c's. /metrics and /healthz are public.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <cJSON.h>
#include <microhttpd.h>

#include "crypto.h"
#include "gateway.h"
#include "log.h"

#define HTTP_CONN_TIMEOUT_S	30u	/* idle connections are closed after this */
#define HTTP_RESUMED_RUNS	3	/* group commit: MHD_run passes after a resume */
#define HTTP_LIST_SLACK		1024	/* bytes kept free below GW_BODY_MAX in lists */

struct gw_http {
	struct gw	       *gw;
	struct MHD_Daemon      *d;
	int			epfd;
	struct loop_timer	timer;
	struct gw_live	       *live;
	struct req	       *waiting;	/* group commit: answers held back */
	struct loop_timer	resumed;	/* group commit: MHD_run after resuming */
	int			resumed_runs;	/* ... this many more passes */
};

/* Per-request state, freed when MHD reports the request completed. */
struct req {
	char	       *body;
	size_t		len;
	int		too_large;
	/* group commit: an answer held back until the store's commit */
	struct MHD_Connection *conn;
	struct MHD_Response *resp;	/* the answer, or NULL */
	unsigned	status;
	int		ready;		/* the group ended: queue resp */
	struct req     *next, **prevp;	/* in gw_http.waiting while held */
};

/* One call of a handler: the input and the answer it sets. */
struct call {
	struct gw	       *gw;
	struct MHD_Connection  *conn;
	char			id[PROTO_ID_MAX];	/* the {id} of the path */
	cJSON		       *body;			/* POST: the parsed object */
	unsigned		status;
	cJSON		       *answer;
	struct token		tok;			/* the caller (role "" = none) */
	char		       *raw;		/* a non-JSON answer (malloc'd), or NULL */
	size_t			raw_len;
	const char	       *raw_type;	/* its Content-Type */
	struct MHD_Response    *resp;		/* a ready response (stream, page), or NULL */
	const char	       *method;
	int			via_cookie;	/* authorized by the session cookie */
	struct session		sess;		/* then: the session */
	int			minimal;	/* "Prefer: return=minimal" (RFC 7240) */
	int			pref_applied;	/* ... and a write answered minimally */
};

typedef void (*handler_fn)(struct call *);

static void h_health(struct call *);
static void h_crew_put(struct call *);
static void h_crews(struct call *);
static void h_order_create(struct call *);
static void h_orders(struct call *);
static void h_order_get(struct call *);
static void h_review(struct call *);
static void h_callbacks(struct call *);
static void h_callback(struct call *);
static void h_result(struct call *);
static void h_outage_add(struct call *);
static void h_outages(struct call *);
static void h_archive(struct call *);
static void h_stats(struct call *);
static void h_taxonomy(struct call *);
static void h_test_clock(struct call *);
static void h_candidates(struct call *);
static void h_reassign(struct call *);
static void h_clusters(struct call *);
static void h_link(struct call *);
static void h_map(struct call *);
static void h_session_new(struct call *);
static void h_session_get(struct call *);
static void h_session_del(struct call *);
static void h_stream(struct call *);
static void h_alerts(struct call *);
static void h_alert_ack(struct call *);
static void h_track(struct call *);
static void h_messages(struct call *);
static void h_healthz(struct call *);
static void h_metrics(struct call *);

static int	sees_contact(const struct token *);
static void	redact(cJSON *);
static int	query_i64(struct call *, const char *, int64_t, int64_t, int64_t *);
static int	stats_csv(struct call *, const char *);

static const struct route {
	const char     *method;
	const char     *path;		/* "{id}" matches one path segment */
	handler_fn	fn;
	const char     *role;		/* the roles allowed, space-separated; admin
					 * always; "any" = every token; "public" =
					 * no token needed */
} routes[] = {
	{ "GET",  "/api/v1/health",			h_health,	"public" },
	{ "POST", "/api/v1/crews",			h_crew_put,	"dispatcher supervisor" },
	{ "GET",  "/api/v1/crews",			h_crews,	"any" },
	{ "POST", "/api/v1/orders",			h_order_create,	"agent" },
	{ "GET",  "/api/v1/orders",			h_orders,	"any" },
	{ "GET",  "/api/v1/orders/{id}",		h_order_get,	"any" },
	{ "POST", "/api/v1/orders/{id}/review",		h_review,	"supervisor" },
	{ "POST", "/api/v1/orders/{id}/callback",	h_callback,	"agent" },
	{ "GET",  "/api/v1/callbacks",			h_callbacks,	"agent" },
	{ "POST", "/api/v1/orders/{id}/result",		h_result,	"department agent" },
	{ "POST", "/api/v1/outages",			h_outage_add,	"dispatcher supervisor" },
	{ "GET",  "/api/v1/outages",			h_outages,	"any" },
	{ "POST", "/api/v1/archive",			h_archive,	"agent supervisor" },
	{ "GET",  "/api/v1/stats",			h_stats,	"any" },
	{ "GET",  "/api/v1/taxonomy",			h_taxonomy,	"any" },
	{ "GET",  "/api/v1/orders/{id}/candidates",	h_candidates,	"supervisor dispatcher" },
	{ "POST", "/api/v1/orders/{id}/reassign",	h_reassign,	"supervisor" },
	{ "GET",  "/api/v1/clusters",			h_clusters,	"supervisor dispatcher" },
	{ "POST", "/api/v1/orders/{id}/link",		h_link,		"supervisor" },
	{ "GET",  "/api/v1/map.svg",			h_map,		"dispatcher supervisor" },
	/* The web board (issue 7). */
	{ "POST", "/api/v1/session",			h_session_new,	"public" },
	{ "GET",  "/api/v1/session",			h_session_get,	"any" },
	{ "DELETE", "/api/v1/session",			h_session_del,	"any" },
	{ "GET",  "/api/v1/stream",			h_stream,	"any" },
	{ "GET",  "/api/v1/alerts",			h_alerts,	"dispatcher supervisor" },
	{ "POST", "/api/v1/alerts/ack",			h_alert_ack,	"dispatcher supervisor" },
	{ "GET",  "/api/v1/orders/{id}/track",		h_track,	"any" },
	{ "GET",  "/api/v1/orders/{id}/messages",	h_messages,	"any" },
	{ "GET",  "/healthz",				h_healthz,	"public" },
	{ "GET",  "/metrics",				h_metrics,	"public" },
	/* Only with `test_clock yes` (test configs); 404 otherwise. */
	{ "POST", "/api/v1/test/clock",			h_test_clock,	"admin" },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* ---- answers ---- */

static const char *
status_code(unsigned st)
{
	switch (st) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "too_large";
	case 503: return "unavailable";
	default:  return "error";
	}
}

static void
reply_error(struct call *c, unsigned st, const char *field, const char *fmt, ...)
    LC_PRINTF(4, 5);

static void
reply_error(struct call *c, unsigned st, const char *field, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	cJSON *root, *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_Delete(c->answer);
	c->answer = NULL;
	c->status = st;
	if ((root = cJSON_CreateObject()) == NULL ||
	    (e = cJSON_AddObjectToObject(root, "error")) == NULL) {
		cJSON_Delete(root);
		return;
	}
	cJSON_AddNumberToObject(e, "status", st);
	cJSON_AddStringToObject(e, "code", status_code(st));
	if (field && field[0])
		cJSON_AddStringToObject(e, "field", field);
	else
		cJSON_AddNullToObject(e, "field");
	cJSON_AddStringToObject(e, "message", msg);
	c->answer = root;
}

static void
reply_gw_err(struct call *c, const struct gw_err *err)
{
	static const unsigned map[] = { [GW_OK] = 200, [GW_E_BAD] = 400,
		[GW_E_NOTFOUND] = 404, [GW_E_CONFLICT] = 409, [GW_E_STORE] = 503 };

	reply_error(c, map[err->status], err->field, "%s", err->msg);
}

static void
reply_proto_err(struct call *c, const struct proto_error *pe)
{
	reply_error(c, 400, pe->field, "%s", pe->msg[0] ? pe->msg : proto_strerror(pe->code));
}

static void
reply_oom(struct call *c)
{
	reply_error(c, 503, NULL, "out of memory");
}

/* ---- JSON of our objects ---- */

static void
json_time(cJSON *o, const char *key, int64_t v)
{
	if (v == 0)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, (double)v);
}

static void
json_str_or_null(cJSON *o, const char *key, const char *v)
{
	if (v[0] == '\0')
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, v);
}

static int
tl_item(const struct tl_entry *e, void *arg)
{
	cJSON *arr = arg, *j, *detail;

	if ((j = cJSON_CreateObject()) == NULL)
		return 1;
	cJSON_AddNumberToObject(j, "seq", e->seq);
	cJSON_AddStringToObject(j, "kind", e->kind);
	cJSON_AddNumberToObject(j, "at_ms", (double)e->at_ms);
	cJSON_AddNumberToObject(j, "rx_ms", (double)e->rx_ms);
	cJSON_AddStringToObject(j, "actor", e->actor);
	if ((detail = cJSON_Parse(e->detail)) == NULL)
		detail = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "detail", detail);
	cJSON_AddItemToArray(arr, j);
	return 0;
}

/* The board's additions to an order: the earliest pending deadline and its
 * stage (null when none), the completion note of callbacks, the crew's name. */
static void
order_deadline(struct gw *gw, const struct order *o, const struct sla_result r[SLA_NSTAGES],
    cJSON *j)
{
	struct crew cr;
	int best = -1;

	for (int i = 0; i < SLA_NSTAGES; i++)
		if (r[i].verdict == SLA_PENDING && r[i].due_ms != 0 &&
		    (best < 0 || r[i].due_ms < r[best].due_ms))
			best = i;
	json_time(j, "deadline_ms", best < 0 ? 0 : r[best].due_ms);
	if (best < 0)
		cJSON_AddNullToObject(j, "deadline_stage");
	else
		cJSON_AddStringToObject(j, "deadline_stage", sla_stage_name(r[best].stage));
	if (o->crew[0] && store_crew_get(gw->store, o->crew, &cr) == 1)
		cJSON_AddStringToObject(j, "crew_name", cr.name);
	else
		cJSON_AddNullToObject(j, "crew_name");
	json_str_or_null(j, "delay_reason", o->delay_reason);
	json_str_or_null(j, "delay_text", o->delay_text);
}

/* The order as the API shows it; with the timeline when full. NULL on OOM or
 * (full) a store error, *store_err set then. */
static cJSON *
order_json(struct gw *gw, const struct order *o, int full, int *store_err)
{
	struct sla_result r[SLA_NSTAGES];
	cJSON *j, *site, *in, *sla, *tl, *d;

	*store_err = 0;
	if ((j = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(j, "id", o->id);
	cJSON_AddStringToObject(j, "type", taxonomy_type_name(o->type));
	cJSON_AddStringToObject(j, "type_name", taxonomy_type_zh(o->type));
	cJSON_AddNumberToObject(j, "category", o->category);
	cJSON_AddStringToObject(j, "category_name", sla_category_name(o->category));
	if (taxonomy_category(o->category) != NULL)
		cJSON_AddStringToObject(j, "category_en", taxonomy_category(o->category)->en);
	if (o->grade)
		cJSON_AddStringToObject(j, "grade", taxonomy_grade_name(o->grade));
	else
		cJSON_AddNullToObject(j, "grade");
	cJSON_AddStringToObject(j, "profile", o->lim.name);
	cJSON_AddStringToObject(j, "state", order_state_name(o->state));
	cJSON_AddStringToObject(j, "summary", o->summary);
	cJSON_AddStringToObject(j, "address", o->address);
	cJSON_AddStringToObject(j, "customer", o->customer);
	cJSON_AddStringToObject(j, "phone", o->phone);
	if ((site = cJSON_AddObjectToObject(j, "site")) != NULL) {
		cJSON_AddNumberToObject(site, "lat", o->lat);
		cJSON_AddNumberToObject(site, "lon", o->lon);
		cJSON_AddStringToObject(site, "crs", "wgs84");
		if ((in = cJSON_AddObjectToObject(site, "input")) != NULL) {
			cJSON_AddNumberToObject(in, "lat", o->in_lat);
			cJSON_AddNumberToObject(in, "lon", o->in_lon);
			cJSON_AddStringToObject(in, "crs", order_crs_name(o->in_crs));
		}
	}
	cJSON_AddNumberToObject(j, "radius_m", o->radius_m);
	cJSON_AddStringToObject(j, "zone", maps_zone_name(o->zone));
	cJSON_AddStringToObject(j, "zone_name", o->zone_name);
	json_str_or_null(j, "crew", o->crew);
	json_str_or_null(j, "device", o->device);
	json_time(j, "ring_ms", o->ring_ms);
	json_time(j, "answered_ms", o->answered_ms);
	json_time(j, "call_ended_ms", o->call_ended_ms);
	json_time(j, "created_ms", o->created_ms);
	json_time(j, "reviewed_ms", o->reviewed_ms);
	json_time(j, "dispatched_ms", o->dispatched_ms);
	json_time(j, "delivered_ms", o->delivered_ms);
	json_time(j, "accepted_ms", o->accepted_ms);
	json_time(j, "arrived_ms", o->arrived_ms);
	json_str_or_null(j, "arrive_method", o->arrive_method);
	json_time(j, "completed_ms", o->completed_ms);
	json_time(j, "completed_rx_ms", o->completed_rx_ms);
	json_time(j, "callback_due_ms", o->callback_due_ms);
	json_time(j, "callback_ms", o->callback_ms);
	json_str_or_null(j, "callback_outcome", o->callback_outcome);
	if (o->rating)
		cJSON_AddNumberToObject(j, "rating", o->rating);
	else
		cJSON_AddNullToObject(j, "rating");
	json_str_or_null(j, "callback_note", o->callback_note);
	cJSON_AddNumberToObject(j, "callback_attempts", o->callback_attempts);
	json_str_or_null(j, "decline_reason", o->decline_reason);
	json_str_or_null(j, "duplicate_of", o->duplicate_of);
	cJSON_AddBoolToObject(j, "linked", o->linked);
	if (o->outage_id)
		cJSON_AddNumberToObject(j, "outage", o->outage_id);
	else
		cJSON_AddNullToObject(j, "outage");
	json_str_or_null(j, "dept", o->dept);
	json_time(j, "forwarded_ms", o->forwarded_ms);
	json_time(j, "handle_due_ms", o->handle_due_ms);
	json_str_or_null(j, "result", o->result);
	json_time(j, "delay_requested_ms", o->delay_requested_ms);
	json_time(j, "shift_ms", o->shift_ms);
	json_time(j, "shift_end_ms", o->shift_end_ms);
	json_time(j, "finished_ms", o->finished_ms);
	json_time(j, "archive_start_ms", o->archive_start_ms);
	json_time(j, "archived_ms", o->archived_ms);
	json_str_or_null(j, "review_note", o->review_note);
	if (o->delay_reason[0] && (d = cJSON_AddObjectToObject(j, "delay")) != NULL) {
		cJSON_AddStringToObject(d, "reason", o->delay_reason);
		cJSON_AddStringToObject(d, "text", o->delay_text);
		json_time(d, "eta_ms", o->delay_eta_ms);
		json_time(d, "at_ms", o->delay_at_ms);
	} else if (!o->delay_reason[0])
		cJSON_AddNullToObject(j, "delay");
	if (o->next_due_ms)
		cJSON_AddStringToObject(j, "next_stage", sla_stage_name(o->next_stage));
	else
		cJSON_AddNullToObject(j, "next_stage");
	json_time(j, "next_due_ms", o->next_due_ms);
	sla_eval(o, gw->clock, r);
	order_deadline(gw, o, r, j);
	if ((sla = cJSON_AddArrayToObject(j, "sla")) != NULL)
		for (int i = 0; i < SLA_NSTAGES; i++) {
			cJSON *s = cJSON_CreateObject();

			if (s == NULL)
				break;
			cJSON_AddStringToObject(s, "stage", sla_stage_name(r[i].stage));
			if (r[i].stage == SLA_HANDLING)
				cJSON_AddNumberToObject(s, "limit_wd", o->lim.handle_wd);
			else
				cJSON_AddNumberToObject(s, "limit_min",
				    (double)r[i].limit_ms / 60000.0);
			json_time(s, "start_ms", r[i].start_ms);
			json_time(s, "warn_ms", r[i].warn_ms);
			json_time(s, "due_ms", r[i].due_ms);
			json_time(s, "done_ms", r[i].done_ms);
			cJSON_AddStringToObject(s, "verdict", sla_verdict_name(r[i].verdict));
			cJSON_AddBoolToObject(s, "warned", (o->warned >> i) & 1u);
			cJSON_AddBoolToObject(s, "late_evidence", r[i].late);
			cJSON_AddItemToArray(sla, s);
		}
	if (full) {
		if ((tl = cJSON_AddArrayToObject(j, "timeline")) == NULL ||
		    store_tl_list(gw->store, o->id, tl_item, tl) == -1) {
			*store_err = 1;
			cJSON_Delete(j);
			return NULL;
		}
	}
	return j;
}

/* Answer with one order (fresh from the store) and its timeline; a client that
 * asked for a minimal answer (the board, a storm's supervisors: they follow
 * the stream, not the answer) gets {"id","state"}: rendering the whole order
 * and its timeline was a fifth of a dispatch's cost (issue 9). */
static void
reply_order(struct call *c, unsigned st, const struct order *o)
{
	int serr;

	if (c->minimal) {
		if ((c->answer = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(c->answer, "id", o->id) == NULL ||
		    cJSON_AddStringToObject(c->answer, "state",
		    order_state_name(o->state)) == NULL) {
			reply_oom(c);
			return;
		}
		c->status = st;
		c->pref_applied = 1;
		return;
	}
	if ((c->answer = order_json(c->gw, o, 1, &serr)) == NULL) {
		if (serr)
			reply_error(c, 503, NULL, "the store cannot be read");
		else
			reply_oom(c);
		return;
	}
	c->status = st;
}

/* A list answer {"key": [...]} that stays below GW_BODY_MAX. */
struct list {
	struct gw      *gw;
	cJSON	       *arr;
	size_t		bytes;
	int		truncated;
	int		oom;
};

static int
list_add(struct list *l, cJSON *item)
{
	char *text;
	size_t n;

	if (item == NULL) {
		l->oom = 1;
		return 1;
	}
	if ((text = pj_print(item)) == NULL) {
		cJSON_Delete(item);
		l->oom = 1;
		return 1;
	}
	n = strlen(text) + 1;
	cJSON_free(text);
	if (l->bytes + n > GW_BODY_MAX - HTTP_LIST_SLACK) {
		cJSON_Delete(item);
		l->truncated = 1;
		return 1;
	}
	l->bytes += n;
	cJSON_AddItemToArray(l->arr, item);
	return 0;
}

static int
list_order(const struct order *o, void *arg)
{
	struct list *l = arg;
	int serr;

	return list_add(l, order_json(l->gw, o, 0, &serr));
}

static void
reply_list(struct call *c, const char *key, struct list *l, int rc)
{
	if (rc == -1) {
		cJSON_Delete(l->arr);
		reply_error(c, 503, NULL, "the store cannot be read");
		return;
	}
	if (l->oom || (c->answer = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(l->arr);
		reply_oom(c);
		return;
	}
	cJSON_AddItemToObject(c->answer, key, l->arr);
	if (l->truncated)
		cJSON_AddTrueToObject(c->answer, "truncated");
	c->status = 200;
}

/* ---- strict body decoding ---- */

/* Refuse fields not in allowed (NULL-terminated): a typo must not pass silently. */
static int
only_fields(struct call *c, const cJSON *obj, const char *path, const char *const *allowed)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(it->string, *a) == 0)
				break;
		if (*a == NULL) {
			char field[160];

			snprintf(field, sizeof(field), "%s%s%s", path, path[0] ? "." : "",
			    it->string);
			reply_error(c, 400, field, "%s: unknown field", field);
			return -1;
		}
	}
	return 0;
}

static int
need_object(struct call *c)
{
	if (c->body == NULL || !cJSON_IsObject(c->body)) {
		reply_error(c, 400, NULL, "the body must be a JSON object");
		return -1;
	}
	return 0;
}

/* ---- handlers ---- */

static void
h_health(struct call *c)
{
	int n = store_order_count_open(c->gw->store);

	if (n < 0) {
		reply_error(c, 503, NULL, "the store cannot be read");
		return;
	}
	if ((c->answer = cJSON_CreateObject()) == NULL) {
		reply_oom(c);
		return;
	}
	cJSON_AddTrueToObject(c->answer, "ok");
	cJSON_AddStringToObject(c->answer, "version", GW_VERSION);
	cJSON_AddStringToObject(c->answer, "mqtt",
	    c->gw->mqtt && mqtt_connected(c->gw->mqtt) ? "connected" : "disconnected");
	cJSON_AddNumberToObject(c->answer, "orders_open", n);
	c->status = 200;
}

static cJSON *
crew_json(const struct crew *cr, const struct device *d, int open_orders)
{
	cJSON *j = cJSON_CreateObject(), *pos;

	if (j == NULL)
		return NULL;
	cJSON_AddStringToObject(j, "id", cr->id);
	cJSON_AddStringToObject(j, "name", cr->name);
	cJSON_AddStringToObject(j, "branch", cr->branch);
	cJSON_AddStringToObject(j, "device", cr->device);
	if (d->online < 0)
		cJSON_AddNullToObject(j, "online");
	else
		cJSON_AddBoolToObject(j, "online", d->online);
	json_time(j, "last_seen_ms", d->last_seen_ms);
	if (!isnan(d->last_lat) && !isnan(d->last_lon) &&
	    (pos = cJSON_AddObjectToObject(j, "pos")) != NULL) {
		cJSON_AddNumberToObject(pos, "lat", d->last_lat);
		cJSON_AddNumberToObject(pos, "lon", d->last_lon);
		json_time(pos, "at_ms", d->last_at_ms);
	} else if (isnan(d->last_lat) || isnan(d->last_lon))
		cJSON_AddNullToObject(j, "pos");
	cJSON_AddNumberToObject(j, "open_orders", open_orders);
	return j;
}

struct crew_find {
	const char     *id;
	cJSON	       *found;
};

static int
crew_find(const struct crew *cr, const struct device *d, int open_orders, void *arg)
{
	struct crew_find *f = arg;

	if (strcmp(cr->id, f->id) != 0)
		return 0;
	f->found = crew_json(cr, d, open_orders);
	return 1;
}

static void
h_crew_put(struct call *c)
{
	static const char *const fields[] = { "id", "name", "branch", "device", NULL };
	struct proto_error pe = { 0 };
	struct crew cr = { 0 };
	struct crew_find f;
	int rc;

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	if (pj_str(c->body, "", "id", 1, cr.id, sizeof(cr.id), &pe) != PROTO_OK ||
	    pj_str(c->body, "", "name", 1, cr.name, sizeof(cr.name), &pe) != PROTO_OK ||
	    pj_str(c->body, "", "branch", 0, cr.branch, sizeof(cr.branch), &pe) != PROTO_OK ||
	    pj_str(c->body, "", "device", 1, cr.device, sizeof(cr.device), &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	if (!proto_valid_dev(cr.id)) {
		reply_error(c, 400, "id", "id: must be 1..32 of A-Z a-z 0-9 _ -");
		return;
	}
	if (!proto_valid_dev(cr.device)) {
		reply_error(c, 400, "device", "device: must be 1..32 of A-Z a-z 0-9 _ -");
		return;
	}
	if (store_begin(c->gw->store) == -1 ||
	    (rc = store_crew_put(c->gw->store, &cr)) == -1 ||
	    store_commit(c->gw->store) == -1) {
		store_rollback(c->gw->store);
		reply_error(c, 503, NULL, "the store cannot write; nothing was accepted");
		return;
	}
	log_info("crew %s %s with device %s", cr.id, rc ? "registered" : "updated", cr.device);
	f.id = cr.id;
	f.found = NULL;
	if (store_crew_list(c->gw->store, crew_find, &f) == -1 || f.found == NULL) {
		reply_error(c, 503, NULL, "the store cannot be read");
		return;
	}
	c->answer = f.found;
	c->status = rc ? 201 : 200;
}

static int
list_crew(const struct crew *cr, const struct device *d, int open_orders, void *arg)
{
	return list_add(arg, crew_json(cr, d, open_orders));
}

static void
h_crews(struct call *c)
{
	struct list l = { .gw = c->gw, .arr = cJSON_CreateArray() };

	if (l.arr == NULL) {
		reply_oom(c);
		return;
	}
	reply_list(c, "crews", &l, store_crew_list(c->gw->store, list_crew, &l));
}

static void
h_order_create(struct call *c)
{
	static const char *const fields[] = { "type", "category", "address", "site", "summary",
		"customer", "phone", "radius_m", "call_ended_ms", "ring_ms", "answered_ms",
		"arrears", NULL };
	static const char *const site_fields[] = { "lat", "lon", "crs", NULL };
	struct proto_error pe = { 0 };
	struct order_input in;
	struct gw_err err = { 0 };
	struct order *o;
	const cJSON *site;
	char crs[16] = "wgs84", type[GW_WORD_MAX] = "repair";
	int64_t cat = 0, ended = 0, ring = 0, answered = 0;
	const cJSON *arrears;

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	memset(&in, 0, sizeof(in));
	if (pj_str(c->body, "", "type", 0, type, sizeof(type), &pe) != PROTO_OK)
		goto bad;
	if (taxonomy_type_parse(type, &in.type) == -1) {
		reply_error(c, 400, "type", "type: must be one of repair, consultation, query, "
		    "complaint, appeal, report, suggestion, opinion, praise, installation");
		return;
	}
	if (pj_int(c->body, "", "category", 1, 1, TAXONOMY_NCATEGORIES, &cat, &pe) != PROTO_OK ||
	    pj_str(c->body, "", "address", 1, in.address, sizeof(in.address), &pe) != PROTO_OK)
		goto bad;
	arrears = cJSON_GetObjectItemCaseSensitive(c->body, "arrears");
	if (arrears != NULL && !cJSON_IsBool(arrears)) {
		reply_error(c, 400, "arrears", "arrears: must be true or false");
		return;
	}
	in.arrears = arrears != NULL && cJSON_IsTrue(arrears);
	site = cJSON_GetObjectItemCaseSensitive(c->body, "site");
	if ((site == NULL || cJSON_IsNull(site)) && in.type == TYPE_REPAIR) {
		reply_error(c, 400, "site", "site: is required");
		return;
	}
	if (site == NULL || cJSON_IsNull(site))
		goto nosite;
	if (!cJSON_IsObject(site)) {
		reply_error(c, 400, "site", "site: must be an object {lat, lon, crs}");
		return;
	}
	if (only_fields(c, site, "site", site_fields) == -1)
		return;
	if (pj_num(site, "site", "lat", 1, -90, 90, &in.lat, &pe) != PROTO_OK ||
	    pj_num(site, "site", "lon", 1, -180, 180, &in.lon, &pe) != PROTO_OK ||
	    pj_str(site, "site", "crs", 0, crs, sizeof(crs), &pe) != PROTO_OK)
		goto bad;
	if (order_crs_parse(crs, &in.crs) == -1) {
		reply_error(c, 400, "site.crs", "site.crs: must be wgs84, gcj02 or bd09");
		return;
	}
	in.has_site = 1;
nosite:
	if (pj_int(c->body, "", "ring_ms", 0, 1, INT64_MAX / 2, &ring, &pe) != PROTO_OK ||
	    pj_int(c->body, "", "answered_ms", 0, 1, INT64_MAX / 2, &answered, &pe) != PROTO_OK)
		goto bad;
	in.ring_ms = ring;
	in.answered_ms = answered;
	if (pj_str(c->body, "", "summary", 0, in.summary, sizeof(in.summary), &pe) != PROTO_OK ||
	    pj_str(c->body, "", "customer", 0, in.customer, sizeof(in.customer), &pe) != PROTO_OK ||
	    pj_str(c->body, "", "phone", 0, in.phone, sizeof(in.phone), &pe) != PROTO_OK ||
	    pj_num(c->body, "", "radius_m", 0, 20, 2000, &in.radius_m, &pe) != PROTO_OK ||
	    pj_int(c->body, "", "call_ended_ms", 0, 1, INT64_MAX / 2, &ended, &pe) != PROTO_OK)
		goto bad;
	if (in.address[0] == '\0') {
		reply_error(c, 400, "address", "address: must not be empty");
		return;
	}
	in.category = (int)cat;
	in.call_ended_ms = ended;
	if ((o = malloc(sizeof(*o))) == NULL) {
		reply_oom(c);
		return;
	}
	if (order_create(c->gw, &in, o, &err) != GW_OK)
		reply_gw_err(c, &err);
	else
		reply_order(c, 201, o);
	free(o);
	return;
bad:
	reply_proto_err(c, &pe);
}

static int
query_limit(struct call *c, int *limit)
{
	const char *v = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "limit");
	char *end;
	long n;

	*limit = GW_LIST_DEFAULT;
	if (v == NULL)
		return 0;
	n = strtol(v, &end, 10);
	if (end == v || *end != '\0' || n < 1 || n > GW_LIST_MAX) {
		reply_error(c, 400, "limit", "limit: must be an integer in [1, %d]", GW_LIST_MAX);
		return -1;
	}
	*limit = (int)n;
	return 0;
}

static void
h_orders(struct call *c)
{
	const char *st = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "state");
	struct list l = { .gw = c->gw };
	enum order_state one;
	int all = 0, filter = -1, limit;

	if (query_limit(c, &limit) == -1)
		return;
	if (st != NULL && strcmp(st, "all") == 0)
		all = 1;
	else if (st != NULL && strcmp(st, "open") != 0) {
		if (order_state_parse(st, &one) == -1) {
			reply_error(c, 400, "state", "state: must be open, all or an order state");
			return;
		}
		filter = (int)one;
	}
	if ((l.arr = cJSON_CreateArray()) == NULL) {
		reply_oom(c);
		return;
	}
	reply_list(c, "orders", &l,
	    store_order_list(c->gw->store, all, filter, limit, list_order, &l));
}

/* The crew's note of the order's completion entry ("" when none). */
static int
completion_note(const struct tl_entry *e, void *arg)
{
	cJSON *j = arg, *d, *n;

	if (strcmp(e->kind, "completed") != 0)
		return 0;
	d = cJSON_Parse(e->detail);
	n = cJSON_GetObjectItemCaseSensitive(d, "note");
	if (cJSON_IsString(n)) {
		cJSON_DeleteItemFromObject(j, "completion_note");
		cJSON_AddStringToObject(j, "completion_note", n->valuestring);
	}
	cJSON_Delete(d);
	return 0;
}

/* A callback item: the order brief, the completion note and the customer. */
static int
list_callback(const struct order *o, void *arg)
{
	struct list *l = arg;
	int serr;
	cJSON *j = order_json(l->gw, o, 0, &serr);

	if (j != NULL) {
		cJSON_AddStringToObject(j, "completion_note", "");
		if (store_tl_list(l->gw->store, o->id, completion_note, j) == -1) {
			cJSON_Delete(j);
			l->oom = 1;
			return 1;
		}
	}
	return list_add(l, j);
}

static void
h_callbacks(struct call *c)
{
	struct list l = { .gw = c->gw };
	int limit;

	if (query_limit(c, &limit) == -1)
		return;
	if ((l.arr = cJSON_CreateArray()) == NULL) {
		reply_oom(c);
		return;
	}
	reply_list(c, "callbacks", &l,
	    store_callback_list(c->gw->store, limit, list_callback, &l));
}

static void
h_order_get(struct call *c)
{
	struct order *o;
	int rc;

	if ((o = malloc(sizeof(*o))) == NULL) {
		reply_oom(c);
		return;
	}
	if ((rc = store_order_get(c->gw->store, c->id, o)) == 1)
		reply_order(c, 200, o);
	else if (rc == 0)
		reply_error(c, 404, NULL, "no order \"%s\"", c->id);
	else
		reply_error(c, 503, NULL, "the store cannot be read");
	free(o);
}

static void
h_review(struct call *c)
{
	static const char *const fields[] = { "action", "crew", "dept", "reason",
		"duplicate_of", "note", NULL };
	struct proto_error pe = { 0 };
	struct review_input in;
	struct gw_err err = { 0 };
	struct order *o;
	char action[16] = "", msg_id[PROTO_ID_MAX];

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	memset(&in, 0, sizeof(in));
	if (pj_str(c->body, "", "action", 1, action, sizeof(action), &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	if (strcmp(action, "dispatch") == 0) {
		in.dispatch = 1;
		if (pj_str(c->body, "", "crew", 1, in.crew, sizeof(in.crew), &pe) != PROTO_OK) {
			reply_proto_err(c, &pe);
			return;
		}
	} else if (strcmp(action, "forward") == 0) {
		in.dispatch = 1;
		if (pj_str(c->body, "", "dept", 1, in.dept, sizeof(in.dept), &pe) != PROTO_OK) {
			reply_proto_err(c, &pe);
			return;
		}
		if (in.dept[0] == '\0') {
			reply_error(c, 400, "dept", "dept: must not be empty");
			return;
		}
	} else if (strcmp(action, "decline") == 0) {
		if (pj_str(c->body, "", "reason", 1, in.reason, sizeof(in.reason), &pe) !=
		    PROTO_OK ||
		    pj_str(c->body, "", "duplicate_of", 0, in.duplicate_of,
		    sizeof(in.duplicate_of), &pe) != PROTO_OK) {
			reply_proto_err(c, &pe);
			return;
		}
	} else {
		reply_error(c, 400, "action", "action: must be dispatch, forward or decline");
		return;
	}
	if (pj_str(c->body, "", "note", 0, in.note, sizeof(in.note), &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	if ((o = malloc(sizeof(*o))) == NULL) {
		reply_oom(c);
		return;
	}
	if (order_review(c->gw, c->id, &in, o, msg_id, &err) != GW_OK)
		reply_gw_err(c, &err);
	else {
		reply_order(c, 200, o);
		if (msg_id[0] && c->gw->mqtt)
			mqtt_flush(c->gw->mqtt, o->device);
	}
	free(o);
}

static void
h_callback(struct call *c)
{
	static const char *const fields[] = { "outcome", "rating", "note", NULL };
	struct proto_error pe = { 0 };
	struct callback_input in;
	struct gw_err err = { 0 };
	struct order *o;
	int64_t rating = 0;

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	memset(&in, 0, sizeof(in));
	if (pj_str(c->body, "", "outcome", 1, in.outcome, sizeof(in.outcome), &pe) != PROTO_OK ||
	    pj_int(c->body, "", "rating", 0, 1, 5, &rating, &pe) != PROTO_OK ||
	    pj_str(c->body, "", "note", 0, in.note, sizeof(in.note), &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	in.rating = (int)rating;
	if ((o = malloc(sizeof(*o))) == NULL) {
		reply_oom(c);
		return;
	}
	if (order_callback(c->gw, c->id, &in, o, &err) != GW_OK)
		reply_gw_err(c, &err);
	else
		reply_order(c, 200, o);
	free(o);
}

/* An integer query parameter: 1 given (in *out), 0 absent, -1 bad (answered). */
static int
query_i64(struct call *c, const char *name, int64_t min, int64_t max, int64_t *out)
{
	const char *v = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	long long n;

	if (v == NULL)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (end == v || *end != '\0' || errno != 0 || n < min || n > max) {
		reply_error(c, 400, name, "%s: must be an integer in [%lld, %lld]", name,
		    (long long)min, (long long)max);
		return -1;
	}
	*out = n;
	return 1;
}

static int
query_num(struct call *c, const char *name, double min, double max, double *out)
{
	const char *v = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	double n;

	if (v == NULL)
		return 0;
	n = strtod(v, &end);
	if (end == v || *end != '\0' || !(n >= min && n <= max)) {
		reply_error(c, 400, name, "%s: must be a number in [%g, %g]", name, min, max);
		return -1;
	}
	*out = n;
	return 1;
}

static void
h_result(struct call *c)
{
	static const char *const fields[] = { "result", "dept", "at_ms", NULL };
	struct proto_error pe = { 0 };
	struct result_input in;
	struct gw_err err = { 0 };
	struct order *o;
	int64_t at = 0;

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	memset(&in, 0, sizeof(in));
	if (pj_str(c->body, "", "result", 1, in.text, sizeof(in.text), &pe) != PROTO_OK ||
	    pj_str(c->body, "", "dept", 0, in.dept, sizeof(in.dept), &pe) != PROTO_OK ||
	    pj_int(c->body, "", "at_ms", 0, 1, INT64_MAX / 2, &at, &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	in.at_ms = at;
	if ((o = malloc(sizeof(*o))) == NULL) {
		reply_oom(c);
		return;
	}
	if (order_result(c->gw, c->id, &in, o, &err) != GW_OK)
		reply_gw_err(c, &err);
	else
		reply_order(c, 200, o);
	free(o);
}

static cJSON *
outage_json(const struct outage *ot)
{
	cJSON *j = cJSON_CreateObject(), *site;

	if (j == NULL)
		return NULL;
	cJSON_AddNumberToObject(j, "id", ot->id);
	cJSON_AddStringToObject(j, "name", ot->name);
	if ((site = cJSON_AddObjectToObject(j, "site")) != NULL) {
		cJSON_AddNumberToObject(site, "lat", ot->lat);
		cJSON_AddNumberToObject(site, "lon", ot->lon);
		cJSON_AddStringToObject(site, "crs", "wgs84");
	}
	cJSON_AddNumberToObject(j, "radius_m", ot->radius_m);
	cJSON_AddNumberToObject(j, "start_ms", (double)ot->start_ms);
	cJSON_AddNumberToObject(j, "end_ms", (double)ot->end_ms);
	cJSON_AddStringToObject(j, "note", ot->note);
	return j;
}

static void
h_outage_add(struct call *c)
{
	static const char *const fields[] = { "name", "site", "radius_m", "start_ms", "end_ms",
		"note", NULL };
	static const char *const site_fields[] = { "lat", "lon", "crs", NULL };
	struct proto_error pe = { 0 };
	struct gw_err err = { 0 };
	struct outage ot;
	const cJSON *site;
	char crs[16] = "wgs84";
	enum maps_crs cr;
	double lat, lon;

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	memset(&ot, 0, sizeof(ot));
	if (pj_str(c->body, "", "name", 1, ot.name, sizeof(ot.name), &pe) != PROTO_OK ||
	    pj_num(c->body, "", "radius_m", 1, 1, 100000, &ot.radius_m, &pe) != PROTO_OK ||
	    pj_int(c->body, "", "start_ms", 1, 1, INT64_MAX / 2, &ot.start_ms, &pe) != PROTO_OK ||
	    pj_int(c->body, "", "end_ms", 1, 1, INT64_MAX / 2, &ot.end_ms, &pe) != PROTO_OK ||
	    pj_str(c->body, "", "note", 0, ot.note, sizeof(ot.note), &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	site = cJSON_GetObjectItemCaseSensitive(c->body, "site");
	if (site == NULL || !cJSON_IsObject(site)) {
		reply_error(c, 400, "site", "site: must be an object {lat, lon, crs}");
		return;
	}
	if (only_fields(c, site, "site", site_fields) == -1)
		return;
	if (pj_num(site, "site", "lat", 1, -90, 90, &lat, &pe) != PROTO_OK ||
	    pj_num(site, "site", "lon", 1, -180, 180, &lon, &pe) != PROTO_OK ||
	    pj_str(site, "site", "crs", 0, crs, sizeof(crs), &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	if (order_crs_parse(crs, &cr) == -1) {
		reply_error(c, 400, "site.crs", "site.crs: must be wgs84, gcj02 or bd09");
		return;
	}
	maps_convert(cr, MAPS_WGS84, lat, lon, &ot.lat, &ot.lon);
	if (order_outage_add(c->gw, &ot, &err) != GW_OK) {
		reply_gw_err(c, &err);
		return;
	}
	if ((c->answer = outage_json(&ot)) == NULL) {
		reply_oom(c);
		return;
	}
	c->status = 201;
}

struct outage_q {
	struct list	l;
	int		has_point;
	double		lat, lon;
};

static int
list_outage(const struct outage *ot, void *arg)
{
	struct outage_q *q = arg;

	if (q->has_point && !maps_within(ot->lat, ot->lon, ot->radius_m, q->lat, q->lon, 0,
	    NULL))
		return 0;
	return list_add(&q->l, outage_json(ot));
}

static void
h_outages(struct call *c)
{
	struct outage_q q = { .l = { .gw = c->gw } };
	int64_t at = 0;
	int a, b;

	if (query_i64(c, "at_ms", 1, INT64_MAX / 2, &at) == -1 ||
	    (a = query_num(c, "lat", -90, 90, &q.lat)) == -1 ||
	    (b = query_num(c, "lon", -180, 180, &q.lon)) == -1)
		return;
	if (a != b) {
		reply_error(c, 400, a ? "lon" : "lat", "%s: give lat and lon together",
		    a ? "lon" : "lat");
		return;
	}
	q.has_point = a;
	if ((q.l.arr = cJSON_CreateArray()) == NULL) {
		reply_oom(c);
		return;
	}
	reply_list(c, "outages", &q.l, store_outage_list(c->gw->store, at, list_outage, &q));
}

static void
h_archive(struct call *c)
{
	static const char *const fields[] = { "type", "shift_ms", NULL };
	struct proto_error pe = { 0 };
	struct gw_err err = { 0 };
	char type[GW_WORD_MAX];
	enum order_type t;
	int64_t shift = 0;
	int n;

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	if (pj_str(c->body, "", "type", 1, type, sizeof(type), &pe) != PROTO_OK ||
	    pj_int(c->body, "", "shift_ms", 1, 1, INT64_MAX / 2, &shift, &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	if (taxonomy_type_parse(type, &t) == -1) {
		reply_error(c, 400, "type", "type: not a business type");
		return;
	}
	if (order_archive(c->gw, t, shift, &n, &err) != GW_OK) {
		reply_gw_err(c, &err);
		return;
	}
	if ((c->answer = cJSON_CreateObject()) == NULL) {
		reply_oom(c);
		return;
	}
	cJSON_AddStringToObject(c->answer, "type", type);
	cJSON_AddNumberToObject(c->answer, "shift_ms", (double)shift);
	cJSON_AddNumberToObject(c->answer, "archived", n);
	c->status = 200;
}

static void
h_stats(struct call *c)
{
	const char *by = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "by");
	const char *fmt = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "format");
	int64_t from = 0, to = 0;
	enum stats_key key = STATS_BY_TYPE;
	int a, b;

	if ((a = query_i64(c, "from_ms", 0, INT64_MAX / 2, &from)) == -1 ||
	    (b = query_i64(c, "to_ms", 0, INT64_MAX / 2, &to)) == -1)
		return;
	if (a == 0 || b == 0) {
		reply_error(c, 400, a ? "to_ms" : "from_ms", "%s: is required",
		    a ? "to_ms" : "from_ms");
		return;
	}
	if (to <= from) {
		reply_error(c, 400, "to_ms", "to_ms: must be after from_ms");
		return;
	}
	if (by != NULL && stats_key_parse(by, &key) == -1) {
		reply_error(c, 400, "by", "by: must be type, category, zone, branch, crew or shift");
		return;
	}
	if (fmt != NULL && strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0) {
		reply_error(c, 400, "format", "format: must be json or csv");
		return;
	}
	if (stats_report(c->gw, from, to, key, &c->answer) == -1) {
		reply_error(c, 503, NULL, "the store cannot be read");
		return;
	}
	c->status = 200;
	if (fmt != NULL && strcmp(fmt, "csv") == 0)
		stats_csv(c, by);
}

static void
h_taxonomy(struct call *c)
{
	cJSON *types, *cats;

	if ((c->answer = cJSON_CreateObject()) == NULL ||
	    (types = cJSON_AddArrayToObject(c->answer, "types")) == NULL ||
	    (cats = cJSON_AddArrayToObject(c->answer, "categories")) == NULL) {
		reply_oom(c);
		return;
	}
	for (int t = 0; t < TYPE_N; t++) {
		cJSON *j = cJSON_CreateObject();

		if (j == NULL)
			break;
		cJSON_AddStringToObject(j, "code", taxonomy_type_name((enum order_type)t));
		cJSON_AddStringToObject(j, "zh", taxonomy_type_zh((enum order_type)t));
		cJSON_AddStringToObject(j, "en", taxonomy_type_en((enum order_type)t));
		cJSON_AddItemToArray(types, j);
	}
	for (int i = 1; i <= TAXONOMY_NCATEGORIES; i++) {
		const struct tx_category *tc = taxonomy_category(i);
		cJSON *j = cJSON_CreateObject();

		if (j == NULL)
			break;
		cJSON_AddNumberToObject(j, "id", tc->id);
		cJSON_AddStringToObject(j, "type", taxonomy_type_name(tc->type));
		cJSON_AddStringToObject(j, "zh", tc->zh);
		cJSON_AddStringToObject(j, "en", tc->en);
		if (tc->grade)
			cJSON_AddStringToObject(j, "grade", taxonomy_grade_name(tc->grade));
		cJSON_AddItemToArray(cats, j);
	}
	c->status = 200;
}

#define TEST_CLOCK_TICKS_MAX	1000	/* ticks run after a move, at most */

/* TEST ONLY (`test_clock yes`): move the gateway's wall clock forward and run
 * the SLA tick until it has nothing more to write, so a test sees the
 * warnings and breaches of hours in one call. Refused as an unknown route
 * otherwise, so a production gateway does not even show it exists. */
static void
h_test_clock(struct call *c)
{
	static const char *const fields[] = { "advance_ms", NULL };
	struct proto_error pe = { 0 };
	int64_t adv = 0;
	int n, total = 0;

	if (!c->gw->conf->test_clock) {
		reply_error(c, 404, NULL, "no route /api/v1/test/clock");
		return;
	}
	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	if (pj_int(c->body, "", "advance_ms", 1, 0, 366LL * 86400000LL, &adv, &pe) !=
	    PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	c->gw->clock_offset_ms += adv;
	log_warnx("test clock: moved forward %lld ms (offset now %lld ms)", (long long)adv,
	    (long long)c->gw->clock_offset_ms);
	for (int i = 0; i < TEST_CLOCK_TICKS_MAX; i++) {
		if ((n = order_sla_tick(c->gw)) <= 0)
			break;
		total += n;
	}
	if ((c->answer = cJSON_CreateObject()) == NULL) {
		reply_oom(c);
		return;
	}
	cJSON_AddNumberToObject(c->answer, "now_ms", (double)clock_wall(c->gw->clock));
	cJSON_AddNumberToObject(c->answer, "offset_ms", (double)c->gw->clock_offset_ms);
	cJSON_AddNumberToObject(c->answer, "entries", total);
	c->status = 200;
}

/* ---- the supervisor's and dispatcher's board (board.c, order.c) ---- */

#define HTTP_LINK_MAX		64	/* duplicates in one link request */
#define HTTP_MAP_MIN_PX		100
#define HTTP_MAP_MAX_PX		4000

static void
h_candidates(struct call *c)
{
	struct gw_err err = { 0 };

	if (board_candidates(c->gw, c->id, &c->answer, &err) != GW_OK)
		reply_gw_err(c, &err);
	else
		c->status = 200;
}

static void
h_reassign(struct call *c)
{
	static const char *const fields[] = { "crew", "note", NULL };
	struct proto_error pe = { 0 };
	struct gw_err err = { 0 };
	struct order *o;
	char crew[GW_CREW_MAX], note[PROTO_TEXT_MAX] = "", old_dev[PROTO_DEV_MAX];

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	if (pj_str(c->body, "", "crew", 1, crew, sizeof(crew), &pe) != PROTO_OK ||
	    pj_str(c->body, "", "note", 0, note, sizeof(note), &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	if ((o = malloc(sizeof(*o))) == NULL) {
		reply_oom(c);
		return;
	}
	if (order_reassign(c->gw, c->id, crew, note, o, old_dev, &err) != GW_OK)
		reply_gw_err(c, &err);
	else {
		reply_order(c, 200, o);
		if (c->gw->mqtt) {
			mqtt_flush(c->gw->mqtt, old_dev);
			mqtt_flush(c->gw->mqtt, o->device);
		}
	}
	free(o);
}

static void
h_clusters(struct call *c)
{
	struct gw_err err = { 0 };
	double radius = c->gw->conf->cluster_radius_m;
	int64_t window = c->gw->conf->cluster_window_min;

	if (query_num(c, "radius_m", 1, 100000, &radius) == -1 ||
	    query_i64(c, "window_min", 0, 10080, &window) == -1)
		return;
	if (board_clusters(c->gw, radius, (int)window, &c->answer, &err) != GW_OK)
		reply_gw_err(c, &err);
	else
		c->status = 200;
}

static void
h_link(struct call *c)
{
	static const char *const fields[] = { "duplicates", "note", NULL };
	struct proto_error pe = { 0 };
	struct gw_err err = { 0 };
	const cJSON *arr, *it;
	char (*dups)[PROTO_ID_MAX] = NULL, note[PROTO_TEXT_MAX] = "";
	struct order *o = NULL;
	int n = 0;

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	if (pj_str(c->body, "", "note", 0, note, sizeof(note), &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	arr = cJSON_GetObjectItemCaseSensitive(c->body, "duplicates");
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 ||
	    cJSON_GetArraySize(arr) > HTTP_LINK_MAX) {
		reply_error(c, 400, "duplicates", "duplicates: must be an array of 1..%d order "
		    "ids", HTTP_LINK_MAX);
		return;
	}
	if ((dups = calloc(HTTP_LINK_MAX, sizeof(*dups))) == NULL ||
	    (o = malloc(sizeof(*o))) == NULL) {
		reply_oom(c);
		goto out;
	}
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || !proto_valid_id(it->valuestring)) {
			char field[32];

			snprintf(field, sizeof(field), "duplicates[%d]", n);
			reply_error(c, 400, field, "%s: must be an order id", field);
			goto out;
		}
		snprintf(dups[n++], PROTO_ID_MAX, "%s", it->valuestring);
	}
	if (order_link(c->gw, c->id, dups, n, note, o, &err) != GW_OK)
		reply_gw_err(c, &err);
	else
		reply_order(c, 200, o);
out:
	free(dups);
	free(o);
}

static void
h_map(struct call *c)
{
	struct gw_err err = { 0 };
	struct maps_buf b;
	double w = 1000, h = 800;
	const char *ord = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "order");
	const char *lg = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "lang");
	enum board_lang lang = BOARD_LANG_EN;
	enum gw_status st;

	if (query_num(c, "width", HTTP_MAP_MIN_PX, HTTP_MAP_MAX_PX, &w) == -1 ||
	    query_num(c, "height", HTTP_MAP_MIN_PX, HTTP_MAP_MAX_PX, &h) == -1)
		return;
	/* English unless asked: the CLI's saved maps and scripts read it; the
	 * pages, Chinese first, ask for their own language. */
	if (lg != NULL && strcmp(lg, "zh") == 0)
		lang = BOARD_LANG_ZH;
	else if (lg != NULL && strcmp(lg, "en") != 0) {
		reply_error(c, 400, "lang", "lang: must be \"en\" or \"zh\"");
		return;
	}
	maps_buf_init(&b, BOARD_SVG_MAX);
	/* ?order= names an order outside the path, so authorize's department
	 * check of {id} does not see it: the department goes to board.c (today
	 * the route's roles keep departments out anyway; this holds if they change). */
	if (ord != NULL)
		st = board_map_order_svg(c->gw, ord, strcmp(c->tok.role, "department") == 0 ?
		    c->tok.dept : NULL, w, h, lang, &b, &err);
	else
		st = board_map_svg(c->gw, w, h, lang, &b, &err);
	if (st != GW_OK) {
		maps_buf_free(&b);
		reply_gw_err(c, &err);
		return;
	}
	c->raw = b.p;		/* handed over: send_answer gives it to MHD */
	c->raw_len = b.len;
	c->raw_type = "image/svg+xml; charset=utf-8";
	c->status = 200;
}

/* ---- the web board (issue 7) ---- */

#define HTTP_ALERTS_MAX		200	/* alerts in one answer */
#define HTTP_TRACK_MAX		5000	/* positions in one track */

cJSON *
http_order_brief(struct gw *gw, const struct order *o, const struct token *viewer)
{
	int serr;
	cJSON *j = order_json(gw, o, 0, &serr);

	if (j != NULL && !sees_contact(viewer))
		redact(j);
	return j;
}

cJSON *
http_crew_item(const struct crew *cr, const struct device *d, int open_orders)
{
	return crew_json(cr, d, open_orders);
}

/* The session as the API shows it. */
static void
reply_session(struct call *c, const struct session *se)
{
	if ((c->answer = cJSON_CreateObject()) == NULL) {
		reply_oom(c);
		return;
	}
	cJSON_AddStringToObject(c->answer, "name", se->tok.name);
	cJSON_AddStringToObject(c->answer, "role", se->tok.role);
	json_str_or_null(c->answer, "dept", se->tok.dept);
	cJSON_AddStringToObject(c->answer, "csrf", se->csrf);
	cJSON_AddNumberToObject(c->answer, "expires_ms", (double)se->expires_ms);
	c->status = 200;
}

/* A JSON answer with a Set-Cookie header, as a ready response. */
static void
reply_with_cookie(struct call *c, const char *cookie)
{
	char *text;

	if (c->answer == NULL || (text = pj_print(c->answer)) == NULL)
		return;		/* send_answer's fallback answers */
	if ((c->resp = MHD_create_response_from_buffer(strlen(text), text,
	    MHD_RESPMEM_MUST_FREE)) == NULL) {
		cJSON_free(text);
		return;
	}
	MHD_add_response_header(c->resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(c->resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	MHD_add_response_header(c->resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

static void
h_session_new(struct call *c)
{
	static const char *const fields[] = { "token", NULL };
	struct proto_error pe = { 0 };
	char secret[256], hash[STORE_HASH_HEX], sid[WEB_SECRET_HEX], cookie[256];
	struct token tok;
	struct session se;
	int rc;

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	if (pj_str(c->body, "", "token", 1, secret, sizeof(secret), &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	if (secret[0] == '\0' || strlen(secret) > 128) {
		reply_error(c, 400, "token", "token: must be an API token (1..128 bytes)");
		return;
	}
	admin_token_hash(secret, hash);
	explicit_bzero(secret, sizeof(secret));
	memset(&tok, 0, sizeof(tok));
	if ((rc = store_token_find(c->gw->store, hash, &tok)) == -1) {
		reply_error(c, 503, NULL, "the store cannot read tokens");
		return;
	}
	if (rc == 0 || !crypto_ct_equal(hash, tok.hash, sizeof(hash) - 1)) {
		log_security("http: login with an unknown API token refused");
		reply_error(c, 401, "token", "token: not a valid API token");
		return;
	}
	if (web_session_new(c->gw, &tok, &se, sid) == -1) {
		reply_error(c, 503, NULL, "the store cannot write; no session was made");
		return;
	}
	log_info("http: session for token %s (role %s) until %lld", tok.name, tok.role,
	    (long long)se.expires_ms);
	web_cookie(cookie, sizeof(cookie), sid, (se.expires_ms - se.created_ms) / 1000,
	    c->gw->conf->http_tls_cert[0] != '\0');
	explicit_bzero(sid, sizeof(sid));
	c->tok = tok;
	reply_session(c, &se);
	reply_with_cookie(c, cookie);
}

static void
h_session_get(struct call *c)
{
	struct session se;

	if (c->via_cookie) {
		reply_session(c, &c->sess);
		return;
	}
	/* A bearer token: its own "session" has no cookie and no CSRF token. */
	memset(&se, 0, sizeof(se));
	se.tok = c->tok;
	reply_session(c, &se);
	if (c->answer) {
		cJSON_ReplaceItemInObject(c->answer, "csrf", cJSON_CreateNull());
		cJSON_ReplaceItemInObject(c->answer, "expires_ms", cJSON_CreateNull());
	}
}

static void
h_session_del(struct call *c)
{
	char cookie[256];

	if (c->via_cookie && store_session_del(c->gw->store, c->sess.hash) == -1) {
		reply_error(c, 503, NULL, "the store cannot write");
		return;
	}
	if ((c->answer = cJSON_CreateObject()) == NULL) {
		reply_oom(c);
		return;
	}
	cJSON_AddTrueToObject(c->answer, "ok");
	c->status = 200;
	web_cookie(cookie, sizeof(cookie), "", 0, c->gw->conf->http_tls_cert[0] != '\0');
	reply_with_cookie(c, cookie);
}

static void
h_stream(struct call *c)
{
	const char *lei = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Last-Event-ID");
	int64_t after = -1;
	char *end;

	if (lei != NULL && lei[0] != '\0') {
		long long n;

		errno = 0;
		n = strtoll(lei, &end, 10);
		if (end == lei || *end != '\0' || errno != 0 || n < 0) {
			reply_error(c, 400, "Last-Event-ID", "Last-Event-ID: must be a timeline "
			    "id (an integer >= 0)");
			return;
		}
		after = n;
	} else if (query_i64(c, "after", 0, INT64_MAX / 2, &after) == -1)
		return;
	else if (MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "after") == NULL)
		after = -1;
	if (c->gw->live == NULL ||
	    (c->resp = live_response(c->gw->live, c->conn, &c->tok, after)) == NULL) {
		reply_error(c, 503, NULL, "the stream cannot start (out of memory)");
		return;
	}
	c->status = 200;
}

struct alerts_q {
	struct list	l;
	const struct token *viewer;
};

static int
list_alert(const struct tl_row *r, void *arg)
{
	struct alerts_q *q = arg;
	cJSON *j, *d, *it;
	struct order *o;

	if ((j = cJSON_CreateObject()) == NULL || (o = malloc(sizeof(*o))) == NULL) {
		cJSON_Delete(j);
		q->l.oom = 1;
		return 1;
	}
	cJSON_AddNumberToObject(j, "id", (double)r->id);
	cJSON_AddStringToObject(j, "order_id", r->order_id);
	cJSON_AddNumberToObject(j, "seq", r->e.seq);
	cJSON_AddStringToObject(j, "kind", r->e.kind);
	d = cJSON_Parse(r->e.detail);
	it = cJSON_GetObjectItemCaseSensitive(d, "stage");
	cJSON_AddStringToObject(j, "stage", cJSON_IsString(it) ? it->valuestring : "");
	it = cJSON_GetObjectItemCaseSensitive(d, "due_ms");
	if (cJSON_IsNumber(it))
		cJSON_AddNumberToObject(j, "due_ms", it->valuedouble);
	else
		cJSON_AddNullToObject(j, "due_ms");
	cJSON_Delete(d);
	cJSON_AddNumberToObject(j, "at_ms", (double)r->e.at_ms);
	if (store_order_get(q->l.gw->store, r->order_id, o) == 1)
		cJSON_AddItemToObject(j, "order", http_order_brief(q->l.gw, o, q->viewer));
	else
		cJSON_AddNullToObject(j, "order");
	free(o);
	return list_add(&q->l, j);
}

static void
h_alerts(struct call *c)
{
	struct alerts_q q = { .l = { .gw = c->gw }, .viewer = &c->tok };

	if ((q.l.arr = cJSON_CreateArray()) == NULL) {
		reply_oom(c);
		return;
	}
	reply_list(c, "alerts", &q.l, store_alerts(c->gw->store, HTTP_ALERTS_MAX, list_alert,
	    &q));
}

static void
h_alert_ack(struct call *c)
{
	static const char *const fields[] = { "order_id", "seq", "note", NULL };
	struct proto_error pe = { 0 };
	struct gw_err err = { 0 };
	char oid[PROTO_ID_MAX], note[PROTO_TEXT_MAX] = "";
	int64_t seq = 0;
	cJSON *ack = NULL;

	if (need_object(c) == -1 || only_fields(c, c->body, "", fields) == -1)
		return;
	if (pj_str(c->body, "", "order_id", 1, oid, sizeof(oid), &pe) != PROTO_OK ||
	    pj_int(c->body, "", "seq", 1, 1, INT32_MAX, &seq, &pe) != PROTO_OK ||
	    pj_str(c->body, "", "note", 0, note, sizeof(note), &pe) != PROTO_OK) {
		reply_proto_err(c, &pe);
		return;
	}
	if (!proto_valid_id(oid)) {
		reply_error(c, 400, "order_id", "order_id: not an order id");
		return;
	}
	if (web_alert_ack(c->gw, oid, (int)seq, c->tok.name, note, &ack, &err) != GW_OK) {
		reply_gw_err(c, &err);
		return;
	}
	if ((c->answer = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(ack);
		reply_oom(c);
		return;
	}
	cJSON_AddItemToObject(c->answer, "ack", ack);
	c->status = 200;
}

struct track_q {
	cJSON	       *arr;
	int		n, oom;
};

static int
track_point(const struct position *p, void *arg)
{
	struct track_q *q = arg;
	cJSON *j = cJSON_CreateObject();

	if (j == NULL) {
		q->oom = 1;
		return 1;
	}
	cJSON_AddNumberToObject(j, "at_ms", (double)p->at_ms);
	cJSON_AddNumberToObject(j, "lat", p->lat);
	cJSON_AddNumberToObject(j, "lon", p->lon);
	if (isnan(p->eph_m))
		cJSON_AddNullToObject(j, "eph_m");
	else
		cJSON_AddNumberToObject(j, "eph_m", p->eph_m);
	if (isnan(p->speed_mps))
		cJSON_AddNullToObject(j, "speed_mps");
	else
		cJSON_AddNumberToObject(j, "speed_mps", p->speed_mps);
	cJSON_AddStringToObject(j, "dev", p->dev);
	cJSON_AddItemToArray(q->arr, j);
	q->n++;
	return 0;
}

/* The order of the path, fresh: 0, or -1 with the answer set. */
static int
path_order(struct call *c, struct order *o)
{
	int rc = store_order_get(c->gw->store, c->id, o);

	if (rc == 1)
		return 0;
	if (rc == 0)
		reply_error(c, 404, NULL, "no order \"%s\"", c->id);
	else
		reply_error(c, 503, NULL, "the store cannot be read");
	return -1;
}

static void
h_track(struct call *c)
{
	struct track_q q = { 0 };
	struct order *o;
	int64_t end;
	int rc = 0;

	if ((o = malloc(sizeof(*o))) == NULL) {
		reply_oom(c);
		return;
	}
	if (path_order(c, o) == -1)
		goto out;
	if ((c->answer = cJSON_CreateObject()) == NULL ||
	    (q.arr = cJSON_CreateArray()) == NULL) {
		reply_oom(c);
		goto out;
	}
	/* The crew's way to the site: its device's positions from the dispatch
	 * to the completion (or now). One more than the cap tells "truncated". */
	end = o->completed_ms ? o->completed_ms : clock_wall(c->gw->clock);
	if (o->device[0] && o->dispatched_ms)
		rc = store_positions_dev(c->gw->store, o->device, o->dispatched_ms, end,
		    HTTP_TRACK_MAX + 1, track_point, &q);
	if (rc == -1 || q.oom) {
		cJSON_Delete(q.arr);
		reply_error(c, 503, NULL, rc == -1 ? "the store cannot be read" : "out of memory");
		goto out;
	}
	if (q.n > HTTP_TRACK_MAX)
		cJSON_DeleteItemFromArray(q.arr, HTTP_TRACK_MAX);
	cJSON_AddStringToObject(c->answer, "order_id", o->id);
	cJSON_AddItemToObject(c->answer, "points", q.arr);
	cJSON_AddBoolToObject(c->answer, "truncated", q.n > HTTP_TRACK_MAX);
	c->status = 200;
out:
	free(o);
}

static int
msg_up(const struct ev_row *r, void *arg)
{
	struct list *l = arg;
	cJSON *j = cJSON_CreateObject(), *p;

	if (j == NULL)
		return list_add(l, NULL);
	cJSON_AddStringToObject(j, "eid", r->eid);
	cJSON_AddStringToObject(j, "dev", r->dev);
	cJSON_AddNumberToObject(j, "seq", (double)r->seq);
	cJSON_AddStringToObject(j, "type", r->type);
	json_time(j, "at_ms", r->at_ms);
	json_time(j, "rx_ms", r->rx_ms);
	cJSON_AddStringToObject(j, "status", r->status);
	if ((p = cJSON_Parse(r->payload)) == NULL)
		p = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "payload", p);
	return list_add(l, j);
}

static int
msg_down(const struct outbox_row *r, void *arg)
{
	struct list *l = arg;
	cJSON *j = cJSON_CreateObject();

	if (j == NULL)
		return list_add(l, NULL);
	cJSON_AddStringToObject(j, "msg_id", r->msg_id);
	cJSON_AddStringToObject(j, "dev", r->dev);
	cJSON_AddStringToObject(j, "kind", r->kind);
	json_time(j, "created_ms", r->created_ms);
	json_time(j, "last_sent_ms", r->last_sent_ms);
	cJSON_AddNumberToObject(j, "attempts", r->attempts);
	json_time(j, "acked_ms", r->acked_ms);
	return list_add(l, j);
}

static void
h_messages(struct call *c)
{
	struct list up = { .gw = c->gw }, down = { .gw = c->gw };
	struct order *o;

	if ((o = malloc(sizeof(*o))) == NULL) {
		reply_oom(c);
		return;
	}
	if (path_order(c, o) == -1) {
		free(o);
		return;
	}
	free(o);
	up.arr = cJSON_CreateArray();
	down.arr = cJSON_CreateArray();
	if (up.arr == NULL || down.arr == NULL ||
	    (c->answer = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(up.arr);
		cJSON_Delete(down.arr);
		reply_oom(c);
		return;
	}
	cJSON_AddStringToObject(c->answer, "order_id", c->id);
	cJSON_AddItemToObject(c->answer, "uplink", up.arr);
	cJSON_AddItemToObject(c->answer, "downlink", down.arr);
	if (store_events_order(c->gw->store, c->id, msg_up, &up) == -1 ||
	    store_outbox_order(c->gw->store, c->id, msg_down, &down) == -1) {
		reply_error(c, 503, NULL, "the store cannot be read");
		return;
	}
	if (up.oom || down.oom) {
		reply_oom(c);
		return;
	}
	if (up.truncated || down.truncated)
		cJSON_AddTrueToObject(c->answer, "truncated");
	c->status = 200;
}

static void
h_healthz(struct call *c)
{
	int store_ok = store_tl_last_id(c->gw->store) >= 0;
	int mqtt_ok = c->gw->mqtt && mqtt_connected(c->gw->mqtt);

	if ((c->answer = cJSON_CreateObject()) == NULL) {
		reply_oom(c);
		return;
	}
	cJSON_AddStringToObject(c->answer, "status", store_ok && mqtt_ok ? "ok" : "fail");
	cJSON_AddStringToObject(c->answer, "store", store_ok ? "ok" : "error");
	cJSON_AddStringToObject(c->answer, "mqtt", mqtt_ok ? "connected" : "disconnected");
	c->status = store_ok && mqtt_ok ? 200 : 503;
}

static void
h_metrics(struct call *c)
{
	struct maps_buf b;

	maps_buf_init(&b, GW_BODY_MAX * 4);
	if (metrics_render(c->gw, &b) == -1) {
		maps_buf_free(&b);
		reply_error(c, 503, NULL, "the metrics do not fit the answer");
		return;
	}
	c->raw = b.p;		/* handed over: send_answer gives it to MHD */
	c->raw_len = b.len;
	c->raw_type = "text/plain; version=0.0.4; charset=utf-8";
	c->status = 200;
}

/* GET /api/v1/stats?...&format=csv: the report as linecrew report --csv. */
static int
stats_csv(struct call *c, const char *by)
{
	struct maps_buf b;

	maps_buf_init(&b, GW_BODY_MAX * 4);
	if (stats_report_csv(c->answer, by ? by : "type", &b) == -1) {
		maps_buf_free(&b);
		reply_error(c, 503, NULL, "the report does not fit the answer");
		return -1;
	}
	cJSON_Delete(c->answer);
	c->answer = NULL;
	c->raw = b.p;
	c->raw_len = b.len;
	c->raw_type = "text/csv; charset=utf-8";
	return 0;
}

/* ---- routing ---- */

/* Match path against pattern; the {id} segment goes to id. 1 / 0. */
static int
path_match(const char *pattern, const char *path, char id[PROTO_ID_MAX], int *bad_id)
{
	while (*pattern && *path) {
		if (strncmp(pattern, "{id}", 4) == 0) {
			size_t n = strcspn(path, "/");

			if (n == 0)
				return 0;
			if (n >= PROTO_ID_MAX) {
				*bad_id = 1;
				n = PROTO_ID_MAX - 1;
			}
			memcpy(id, path, n);
			id[n] = '\0';
			path += strcspn(path, "/");
			pattern += 4;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

int
http_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p != '\0';) {
		size_t k = strcspn(p, " ");

		if (k == n && strncmp(p, word, n) == 0)
			return 1;
		p += k;
		p += strspn(p, " ");
	}
	return 0;
}

/* RFC 7240: Prefer is a comma-separated list of preferences, each a token
 * "=" value with optional ";" parameters; names are case-insensitive. */
int
http_prefers_minimal(const char *prefer)
{
	const char *p = prefer;
	size_t n;

	while (p != NULL && *p != '\0') {
		p += strspn(p, " \t,");
		n = strcspn(p, ",;");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == strlen("return=minimal") && strncasecmp(p, "return=minimal", n) == 0)
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

static int
sees_contact(const struct token *t)
{
	return http_has_word("agent department admin", t->role);
}

/* Customer contact data out of an answer for roles that do not need it. */
static void
redact(cJSON *j)
{
	cJSON *it, *next;

	if (j == NULL)
		return;
	for (it = j->child; it != NULL; it = next) {
		next = it->next;	/* it may be replaced (freed) below */
		if (it->string != NULL && (strcmp(it->string, "customer") == 0 ||
		    strcmp(it->string, "phone") == 0) && cJSON_IsString(it)) {
			cJSON *null = cJSON_CreateNull();

			/* By name: ReplaceItemViaPointer would leave the null nameless
			 * (printed as a member "" and the key gone). */
			if (null == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(j, it->string,
			    null)) {
				/* No memory for the null: drop the member instead. */
				cJSON_Delete(null);
				cJSON_Delete(cJSON_DetachItemViaPointer(j, it));
			}
		} else if (cJSON_IsObject(it) || cJSON_IsArray(it))
			redact(it);
	}
}

/* A department sees only the orders forwarded to it, in lists as in single
 * answers: drop every other order from the answer's "orders" array. */
static void
dept_only(cJSON *answer, const char *dept)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(answer, "orders"), *it, *next;

	if (!cJSON_IsArray(arr))
		return;
	for (it = arr->child; it != NULL; it = next) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "dept");

		next = it->next;
		if (!cJSON_IsString(d) || strcmp(d->valuestring, dept) != 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(arr, it));
	}
}

/* Who calls, and may they call route r? 0, or -1 with the answer set (401 / 403 /
 * 404 for a department's request about another department's order). */
static int
authorize(struct call *c, const struct route *r, const char *url)
{
	const char *hdr = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	char hash[STORE_HASH_HEX];
	struct order *o;
	int rc;

	const char *ck = MHD_lookup_connection_value(c->conn, MHD_COOKIE_KIND, WEB_COOKIE);

	memset(&c->tok, 0, sizeof(c->tok));
	if (strcmp(r->role, "public") == 0)
		return 0;
	if (hdr == NULL && ck != NULL) {
		/* The browser's session instead of the bearer token. */
		if ((rc = web_session_lookup(c->gw, ck, &c->sess)) == -1) {
			reply_error(c, 503, NULL, "the store cannot read sessions");
			return -1;
		}
		if (rc == 0) {
			reply_error(c, 401, NULL, "the session has ended or is unknown: log in "
			    "again");
			return -1;
		}
		c->tok = c->sess.tok;
		c->via_cookie = 1;
		if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0) {
			const char *x = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND,
			    "X-CSRF-Token");

			if (x == NULL || strlen(x) != strlen(c->sess.csrf) ||
			    !crypto_ct_equal(x, c->sess.csrf, strlen(x))) {
				log_security("http: %s %s: session of %s without its CSRF token "
				    "refused", c->method, url, c->tok.name);
				reply_error(c, 403, "X-CSRF-Token", "X-CSRF-Token: %s",
				    x == NULL ? "required with the session cookie" :
				    "not this session's token");
				return -1;
			}
		}
		goto role;
	}
	if (hdr == NULL || strncmp(hdr, "Bearer ", 7) != 0 || hdr[7] == '\0' ||
	    strlen(hdr + 7) > 128) {
		reply_error(c, 401, NULL, "a token is required: Authorization: Bearer <token>");
		return -1;
	}
	admin_token_hash(hdr + 7, hash);
	if ((rc = store_token_find(c->gw->store, hash, &c->tok)) == -1) {
		reply_error(c, 503, NULL, "the store cannot read tokens");
		return -1;
	}
	/* The lookup is by hash (an index never sees the secret); the final
	 * comparison takes the same time wherever the bytes differ. */
	if (rc == 0 || !crypto_ct_equal(hash, c->tok.hash, sizeof(hash) - 1)) {
		memset(&c->tok, 0, sizeof(c->tok));
		log_security("http: %s: unknown API token refused", url);
		reply_error(c, 401, NULL, "the token is not valid");
		return -1;
	}
role:
	if (strcmp(c->tok.role, "admin") != 0 && strcmp(r->role, "any") != 0 &&
	    !http_has_word(r->role, c->tok.role)) {
		log_security("http: %s: token %s (role %s) refused: needs %s", url, c->tok.name,
		    c->tok.role, r->role);
		reply_error(c, 403, NULL, "role %s may not do this (allowed: %s, admin)",
		    c->tok.role, r->role);
		return -1;
	}
	if (strcmp(c->tok.role, "department") == 0 && c->id[0] != '\0') {
		if ((o = malloc(sizeof(*o))) == NULL) {
			reply_oom(c);
			return -1;
		}
		rc = store_order_get(c->gw->store, c->id, o);
		if (rc == 1 && strcmp(o->dept, c->tok.dept) != 0)
			rc = 0;
		free(o);
		if (rc != 1) {
			reply_error(c, 404, NULL, "no order \"%.39s\" for department %s", c->id,
			    c->tok.dept);
			return -1;
		}
	}
	return 0;
}

static void
dispatch_route(struct call *c, const char *method, const char *url, const struct req *rq)
{
	const struct route *r = NULL;
	int path_known = 0, bad_id = 0;
	struct proto_error pe = { 0 };

	for (size_t i = 0; i < NROUTES; i++) {
		char id[PROTO_ID_MAX] = "";
		int bad = 0;

		if (!path_match(routes[i].path, url, id, &bad))
			continue;
		path_known = 1;
		if (strcmp(routes[i].method, method) == 0) {
			r = &routes[i];
			memcpy(c->id, id, sizeof(c->id));
			bad_id = bad;
			break;
		}
	}
	if (r == NULL) {
		if (path_known)
			reply_error(c, 405, NULL, "%s is not allowed on %s", method, url);
		else
			reply_error(c, 404, NULL, "no route %s", url);
		return;
	}
	if (strstr(r->path, "{id}") && (bad_id || !proto_valid_id(c->id))) {
		reply_error(c, 404, NULL, "no order \"%.39s\"", c->id);
		return;
	}
	if (rq->too_large) {
		reply_error(c, 413, NULL, "the body is larger than %d bytes", GW_BODY_MAX);
		return;
	}
	if (strcmp(method, "POST") == 0) {
		if (rq->len == 0) {
			reply_error(c, 400, NULL, "the body must be a JSON object");
			return;
		}
		/* pj_parse, as for MQTT payloads: besides cJSON's checks it refuses
		 * duplicate keys (cJSON would read the first, a proxy maybe the last),
		 * nesting deeper than PJ_DEPTH_MAX and keeps an escaped NUL visible
		 * so pj_str names the field (cJSON would cut the string there) */
		if (pj_parse(rq->body, rq->len, GW_BODY_MAX, &c->body, &pe) != PROTO_OK) {
			reply_proto_err(c, &pe);
			return;
		}
	}
	if (authorize(c, r, url) == -1)
		return;
	log_debug("http: %s %s (token %s, role %s)", method, url, c->tok.name, c->tok.role);
	r->fn(c);
	if (c->resp != NULL)
		return;		/* a stream or an answer with a cookie: ready */
	if (c->raw != NULL && c->answer == NULL)
		return;		/* a picture: nothing to redact */
	if (c->answer == NULL) {
		reply_oom(c);
		return;
	}
	if (strcmp(c->tok.role, "department") == 0 && c->status < 300)
		dept_only(c->answer, c->tok.dept);
	if (!sees_contact(&c->tok))
		redact(c->answer);
}

/* Everything but the JSON API goes to web.c (pages, assets); every request's
 * time is measured by its route class. */
static void
dispatch(struct call *c, const char *method, const char *url, const struct req *rq)
{
	int64_t t0 = clock_mono(clock_system());

	c->method = method;
	if (strncmp(url, "/api/", 5) != 0 && strcmp(url, "/metrics") != 0 &&
	    strcmp(url, "/healthz") != 0) {
		if ((c->resp = web_serve(c->gw, c->conn, method, url, &c->status)) == NULL)
			reply_oom(c);
	} else
		dispatch_route(c, method, url, rq);
	metrics_http(c->gw->metrics, metrics_route_of(method, url),
	    (double)(clock_mono(clock_system()) - t0) / 1000.0);
}

/* The MHD response of c's answer (the caller destroys it), or NULL when
 * out of memory. c->status may become 503. */
static struct MHD_Response *
make_answer(struct call *c)
{
	struct MHD_Response *resp;
	char *text = c->answer ? pj_print(c->answer) : NULL;
	static const char fallback[] =
	    "{\"error\":{\"status\":503,\"code\":\"unavailable\",\"field\":null,"
	    "\"message\":\"out of memory\"}}";

	if (c->resp != NULL) {
		/* A ready response (stream, page, cookie): queued as it is. */
		cJSON_free(text);
		resp = c->resp;
		c->resp = NULL;
		return resp;
	}

	if (c->raw != NULL && c->answer == NULL) {
		/* MHD owns (and frees) raw once the response exists. */
		if ((resp = MHD_create_response_from_buffer(c->raw_len, c->raw,
		    MHD_RESPMEM_MUST_FREE)) == NULL) {
			free(c->raw);
			c->raw = NULL;
			return NULL;
		}
		c->raw = NULL;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, c->raw_type);
		return resp;
	}
	if (text == NULL) {
		c->status = 503;
		resp = MHD_create_response_from_buffer(sizeof(fallback) - 1, (void *)fallback,
		    MHD_RESPMEM_PERSISTENT);
	} else
		resp = MHD_create_response_from_buffer(strlen(text), text,
		    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		cJSON_free(text);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (c->pref_applied)
		MHD_add_response_header(resp, "Preference-Applied", "return=minimal");
	return resp;
}

static enum MHD_Result
send_answer(struct MHD_Connection *conn, struct call *c)
{
	struct MHD_Response *resp = make_answer(c);
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, c->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- group commit (README "Group commit") ----
 *
 * A request handled while the store's group transaction holds writes of this
 * loop pass (store_group_pending) is not answered yet: its response is built
 * and kept in its struct req, the connection is suspended, and group_cb
 * resumes it once the group ended; MHD then calls access_cb again, which
 * queues the kept response, or 503 when the group failed (nothing of the pass
 * was stored, so nothing may be reported as done; reads are held back too,
 * as they may have seen the lost writes). */

static void
hold_unlink(struct req *rq)
{
	if (rq->prevp == NULL)
		return;
	*rq->prevp = rq->next;
	if (rq->next != NULL)
		rq->next->prevp = rq->prevp;
	rq->next = NULL;
	rq->prevp = NULL;
}

/* Keep c's answer in rq and suspend the connection. MHD_YES, or MHD_NO
 * (out of memory: the connection is closed, which answers nothing). */
static enum MHD_Result
hold_answer(struct gw_http *h, struct MHD_Connection *conn, struct req *rq, struct call *c)
{
	if ((rq->resp = make_answer(c)) == NULL)
		return MHD_NO;
	rq->status = c->status;
	rq->conn = conn;
	rq->ready = 0;
	rq->next = h->waiting;
	if (h->waiting != NULL)
		h->waiting->prevp = &rq->next;
	rq->prevp = &h->waiting;
	h->waiting = rq;
	MHD_suspend_connection(conn);
	return MHD_YES;
}

static void
group_cb(void *arg, enum store_group_phase ph)
{
	static const char unavailable[] =
	    "{\"error\":{\"status\":503,\"code\":\"unavailable\",\"field\":null,"
	    "\"message\":\"the store cannot write; nothing was accepted\"}}";
	struct gw_http *h = arg;
	struct req *rq;

	if (ph == STORE_GROUP_CLOSING)
		return;
	while ((rq = h->waiting) != NULL) {
		hold_unlink(rq);
		if (ph == STORE_GROUP_FAILED) {
			struct MHD_Response *r = MHD_create_response_from_buffer(
			    sizeof(unavailable) - 1, (void *)unavailable, MHD_RESPMEM_PERSISTENT);

			MHD_destroy_response(rq->resp);
			rq->resp = r;	/* NULL: the connection is closed */
			if (r != NULL)
				MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "application/json");
			rq->status = 503;
		}
		rq->ready = 1;
		MHD_resume_connection(rq->conn);
		http_resumed(h);
	}
}

/* The first MHD_run sends the held answers; MHD 0.9.75 finishes such a
 * request and puts the connection back into its epoll set only when it
 * looks at it again in a later loop pass, so one more run follows in the
 * next pass (without it the next request on a keep-alive connection would
 * wait for MHD's timeout, up to a second). */
static void
resumed_cb(void *arg)
{
	struct gw_http *h = arg;

	if (MHD_run(h->d) != MHD_YES)
		log_warnx("http: MHD_run failed");
	if (--h->resumed_runs > 0)
		loop_timer_start(h->gw->loop, &h->resumed, 0, 0);
}

/* The held answer of a resumed request. */
static enum MHD_Result
send_held(struct req *rq)
{
	enum MHD_Result ret = MHD_NO;

	if (rq->resp != NULL) {
		ret = MHD_queue_response(rq->conn, rq->status, rq->resp);
		MHD_destroy_response(rq->resp);
		rq->resp = NULL;
	}
	rq->ready = 0;
	return ret;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct gw_http *h = cls;
	struct req *rq = *con_cls;
	struct call c;
	enum MHD_Result ret;

	(void)version;
	if (rq != NULL && rq->ready)
		return send_held(rq);	/* group commit: resumed */
	if (rq == NULL) {
		const char *cl;

		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		*con_cls = rq;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > GW_BODY_MAX)
			rq->too_large = 1;
		else
			return MHD_YES;
	} else if (*upload_size != 0) {
		if (!rq->too_large && rq->len + *upload_size > GW_BODY_MAX) {
			rq->too_large = 1;
			free(rq->body);
			rq->body = NULL;
			rq->len = 0;
		}
		if (!rq->too_large) {
			char *nb = realloc(rq->body, rq->len + *upload_size + 1);

			if (nb == NULL)
				return MHD_NO;
			memcpy(nb + rq->len, upload, *upload_size);
			rq->body = nb;
			rq->len += *upload_size;
			rq->body[rq->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&c, 0, sizeof(c));
	c.gw = h->gw;
	c.conn = conn;
	c.status = 500;
	/* only writes answer minimally: a GET asked for the order itself */
	c.minimal = strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method,
	    MHD_HTTP_METHOD_HEAD) != 0 && http_prefers_minimal(MHD_lookup_connection_value(conn,
	    MHD_HEADER_KIND, "Prefer"));
	if (rq->too_large)
		reply_error(&c, 413, NULL, "the body is larger than %d bytes", GW_BODY_MAX);
	else
		dispatch(&c, method, url, rq);
	log_debug("http: %s %s -> %u", method, url, c.status);
	if (store_group_pending(h->gw->store))
		ret = hold_answer(h, conn, rq, &c);	/* group commit: after the COMMIT */
	else
		ret = send_answer(conn, &c);
	cJSON_Delete(c.body);
	cJSON_Delete(c.answer);
	return ret;
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rq != NULL) {
		hold_unlink(rq);
		if (rq->resp != NULL)
			MHD_destroy_response(rq->resp);
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_warnx("http: %s", buf);
}

static void
run(struct gw_http *h)
{
	if (MHD_run(h->d) != MHD_YES)
		log_warnx("http: MHD_run failed");
}

/* Without an internal thread MHD has no wake-up channel: it serves resumed
 * connections (held answers here, streams in live.c) on its next MHD_run,
 * which we call at once from the loop (not from the caller: it may run
 * inside another module's callback, and MHD_run would start new work),
 * and again HTTP_RESUMED_RUNS - 1 passes later (resumed_cb). */
void
http_resumed(struct gw_http *h)
{
	if (h == NULL)
		return;
	h->resumed_runs = HTTP_RESUMED_RUNS;
	loop_timer_start(h->gw->loop, &h->resumed, 0, 0);
}

static void
io_cb(int fd, short revents, void *arg)
{
	(void)fd;
	(void)revents;
	run(arg);
}

static void
timer_cb(void *arg)
{
	run(arg);
}

static void
prepare_cb(void *arg)
{
	struct gw_http *h = arg;
	MHD_UNSIGNED_LONG_LONG to;

	if (MHD_get_timeout(h->d, &to) == MHD_YES)
		loop_timer_start(h->gw->loop, &h->timer,
		    to > (MHD_UNSIGNED_LONG_LONG)INT32_MAX ? INT32_MAX : (int64_t)to, 0);
	else
		loop_timer_stop(h->gw->loop, &h->timer);
}

/* A PEM file for MHD (NUL-terminated, malloc'd), or NULL with a log line. */
static char *
slurp_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b = NULL;
	size_t n;

	if (f == NULL || (b = malloc(16384 + 1)) == NULL) {
		log_warn("http: %s", path);
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	n = fread(b, 1, 16384, f);
	fclose(f);
	b[n] = '\0';
	return b;
}

struct gw_http *
http_start(struct gw *gw)
{
	const struct gw_conf *cf = gw->conf;
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	struct gw_http *h;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	char *tls_cert = NULL, *tls_key = NULL;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, cf->http_bind, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)cf->http_port);
	} else if (inet_pton(AF_INET6, cf->http_bind,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)cf->http_port);
		flags |= MHD_USE_IPv6;
	} else {
		log_warnx("http_bind %s: not an IPv4 or IPv6 address", cf->http_bind);
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_warn("http: calloc");
		return NULL;
	}
	h->gw = gw;
	h->epfd = -1;
	loop_timer_init(&h->timer, timer_cb, h);
	loop_timer_init(&h->resumed, resumed_cb, h);	/* group commit */
	if (cf->http_tls_cert[0]) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_warnx("http: this libmicrohttpd has no TLS: terminate HTTPS in front "
			    "of the gateway (README \"HTTPS\")");
			free(h);
			return NULL;
		}
		if ((tls_cert = slurp_pem(cf->http_tls_cert)) == NULL ||
		    (tls_key = slurp_pem(cf->http_tls_key)) == NULL) {
			free(tls_cert);
			free(h);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	h->d = MHD_start_daemon(flags, (uint16_t)cf->http_port, NULL, NULL, access_cb, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h,
	    MHD_OPTION_CONNECTION_TIMEOUT, HTTP_CONN_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cf->http_max_connections,
	    tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, tls_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, tls_key,
	    MHD_OPTION_END);
	/* MHD copied what it needs at start; the key leaves our memory. */
	if (tls_key != NULL)
		explicit_bzero(tls_key, strlen(tls_key));
	free(tls_key);
	free(tls_cert);
	if (h->d == NULL) {
		log_warnx("http: cannot listen on %s port %d", cf->http_bind, cf->http_port);
		free(h);
		return NULL;
	}
	if ((info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD)) == NULL ||
	    info->epoll_fd < 0 ||
	    loop_io_add(gw->loop, info->epoll_fd, POLLIN, io_cb, h) == -1 ||
	    loop_prepare_add(gw->loop, prepare_cb, h) == -1) {
		log_warnx("http: cannot join the loop");
		MHD_stop_daemon(h->d);
		free(h);
		return NULL;
	}
	h->epfd = info->epoll_fd;
	if (store_group_watch(gw->store, group_cb, h) == -1) {	/* group commit */
		log_warnx("http: cannot watch the store's group commit");
		loop_prepare_del(gw->loop, prepare_cb, h);
		loop_io_del(gw->loop, h->epfd);
		MHD_stop_daemon(h->d);
		free(h);
		return NULL;
	}
	if ((h->live = live_start(gw)) == NULL) {
		log_warnx("http: cannot start the live stream");
		store_group_unwatch(gw->store, group_cb, h);	/* group commit */
		loop_prepare_del(gw->loop, prepare_cb, h);
		loop_io_del(gw->loop, h->epfd);
		MHD_stop_daemon(h->d);
		free(h);
		return NULL;
	}
	gw->live = h->live;
	log_info("http: listening on %s port %d", cf->http_bind, cf->http_port);
	return h;
}

void
http_stop(struct gw_http *h)
{
	if (h == NULL)
		return;
	store_group_unwatch(h->gw->store, group_cb, h);	/* group commit */
	loop_timer_stop(h->gw->loop, &h->resumed);
	loop_timer_stop(h->gw->loop, &h->timer);
	if (h->epfd >= 0)
		loop_io_del(h->gw->loop, h->epfd);
	live_shutdown(h->live);		/* MHD will not stop with streams suspended */
	MHD_stop_daemon(h->d);
	live_free(h->live);		/* after MHD freed the streams' responses */
	h->gw->live = NULL;
	free(h);
}
