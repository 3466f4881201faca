/*
 * board.c: the supervisor's and dispatcher's tools over the store and libmaps:
 * which crew to send (the ranking of maps_rank_crews fed with each crew's duty
 * state, its device's last good position and the order's arrival deadline),
 * outage clusters among open repairs (maps_cluster), the board's map
 * (maps_svg_render), and one order's map for the order page: its site and
 * geofence, its crew's track (thinned while read), the arrival point taken from
 * the timeline's deciding fix, the crew; times shown in Asia/Shanghai. The
 * maps' words in English or Chinese: libmaps' label tables for the legend and
 * tooltips it writes, literal formats here for the titles (so -Wformat checks
 * both languages' arguments).
 *
 * It reads only: nothing here writes the store or decides anything. The
 * supervisor chooses from the ranking and acts through order.c (review,
 * order_reassign, order_link). The duty state of a crew is derived, not
 * stored: on duty = its device was heard within rank_seen_min; free = it holds
 * no order; finishing = every order it holds has arrived on site, and it is
 * expected free rank_repair_min after the latest arrival.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "gateway.h"
#include "grow.h"
#include "log.h"

#define MS_PER_MIN		60000LL
#define BOARD_PAD_FRAC		0.15	/* map frame: margin around the points */
#define BOARD_MIN_SPAN_DEG	0.02	/* map frame: at least ~2 km across */

enum maps_crew_state
board_crew_state(int64_t now_ms, int64_t last_seen_ms, int seen_min, int held,
    int held_arrived, int64_t last_arrival_ms, int repair_min, int64_t *free_at_ms)
{
	*free_at_ms = 0;
	if (last_seen_ms <= 0 || now_ms - last_seen_ms > (int64_t)seen_min * MS_PER_MIN)
		return MAPS_CREW_OFF;
	if (held <= 0)
		return MAPS_CREW_FREE;
	if (held_arrived < held)
		return MAPS_CREW_BUSY;
	*free_at_ms = last_arrival_ms + (int64_t)repair_min * MS_PER_MIN;
	return MAPS_CREW_FINISHING;
}

void
board_rank_params(const struct gw_conf *cf, struct maps_rank_params *p)
{
	maps_rank_defaults(p);
	for (int i = 0; i < 3; i++)
		p->speed_kmh[i] = cf->rank_speed_kmh[i];
	p->detour = cf->rank_detour;
	p->setup_s = cf->rank_setup_min * 60.0;
	p->drift_kmh = cf->rank_drift_kmh;
	p->drift_max_m = cf->rank_drift_max_km * 1000.0;
	p->max_pos_age_s = (double)cf->rank_pos_max_age_min * 60.0;
}

int64_t
board_next_deadline(const struct order *o, const struct lc_clock *clk)
{
	struct sla_result r[SLA_NSTAGES];
	int64_t due = 0;

	sla_eval(o, clk, r);
	for (int i = 0; i < SLA_NSTAGES; i++)
		if (r[i].verdict == SLA_PENDING && r[i].due_ms > 0 &&
		    (due == 0 || r[i].due_ms < due))
			due = r[i].due_ms;
	return due;
}

static void
seterr(struct gw_err *err, enum gw_status st, const char *field, const char *msg)
{
	err->status = st;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
}

static enum gw_status
read_failed(struct gw_err *err)
{
	seterr(err, GW_E_STORE, NULL, "the store cannot be read");
	return GW_E_STORE;
}

static enum gw_status
no_memory(struct gw_err *err)
{
	seterr(err, GW_E_STORE, NULL, "out of memory");
	return GW_E_STORE;
}

/* A repair with a site whose fault is not yet repaired: on the map, in clusters. */
static int
repair_open(const struct order *o)
{
	return o->type == TYPE_REPAIR && isfinite(o->lat) && isfinite(o->lon) &&
	    (o->state == ORD_RECORDED || o->state == ORD_REOPENED ||
	    sla_state_on_device(o->state));
}

/* ---- crews with their duty state ---- */

struct bcrew {
	struct crew	c;
	struct device	d;
	int		held, held_arrived;
	int64_t		last_arrival_ms;
};

struct bcrews {
	struct bcrew   *v;
	size_t		n, cap;
	int		oom;
	const char     *skip_order;	/* the order being ranked: not "held" */
};

static int
collect_crew(const struct crew *c, const struct device *d, int open_orders, void *arg)
{
	struct bcrews *b = arg;

	(void)open_orders;
	if (grow(&b->v, &b->cap, b->n + 1, sizeof(*b->v), 32) == -1) {
		b->oom = 1;
		return 1;
	}
	memset(&b->v[b->n], 0, sizeof(b->v[b->n]));
	b->v[b->n].c = *c;
	b->v[b->n].d = *d;
	b->n++;
	return 0;
}

static int
crew_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct bcrew *)elem)->c.id);
}

/* Count the orders each crew holds (the store lists crews sorted by id). */
static int
count_held(const struct order *o, void *arg)
{
	struct bcrews *b = arg;
	struct bcrew *bc;

	if (!sla_state_on_device(o->state) || o->crew[0] == '\0' ||
	    (b->skip_order != NULL && strcmp(o->id, b->skip_order) == 0))
		return 0;
	if ((bc = bsearch(o->crew, b->v, b->n, sizeof(*b->v), crew_cmp)) == NULL)
		return 0;
	bc->held++;
	if (o->state == ORD_ARRIVED) {
		bc->held_arrived++;
		if (o->arrived_ms > bc->last_arrival_ms)
			bc->last_arrival_ms = o->arrived_ms;
	}
	return 0;
}

static int
load_crews(struct gw *gw, struct bcrews *b, const char *skip_order)
{
	memset(b, 0, sizeof(*b));
	b->skip_order = skip_order;
	if (store_crew_list(gw->store, collect_crew, b) == -1 || b->oom)
		return -1;
	return store_order_list(gw->store, 0, -1, BOARD_ORDERS_MAX, count_held, b);
}

static const char *
crew_state_name(enum maps_crew_state s)
{
	switch (s) {
	case MAPS_CREW_FREE:		return "free";
	case MAPS_CREW_FINISHING:	return "finishing";
	case MAPS_CREW_BUSY:		return "busy";
	case MAPS_CREW_OFF:
	default:			return "off_duty";
	}
}

static double
round1(double v)
{
	return round(v * 10.0) / 10.0;
}

static cJSON *
candidate_json(const struct bcrew *bc, const struct maps_crew *mc, const struct maps_rank *r,
    int64_t now)
{
	cJSON *j = cJSON_CreateObject(), *pos;

	if (j == NULL)
		return NULL;
	cJSON_AddStringToObject(j, "crew", bc->c.id);
	cJSON_AddStringToObject(j, "name", bc->c.name);
	cJSON_AddStringToObject(j, "device", bc->c.device);
	cJSON_AddStringToObject(j, "state", crew_state_name(mc->state));
	if (mc->state == MAPS_CREW_FINISHING)
		cJSON_AddNumberToObject(j, "free_at_ms", (double)mc->free_at_ms);
	else
		cJSON_AddNullToObject(j, "free_at_ms");
	cJSON_AddStringToObject(j, "reach", maps_reach_name(r->reach));
	if (r->reach == MAPS_REACH_UNKNOWN) {
		cJSON_AddNullToObject(j, "dist_m");
		cJSON_AddNullToObject(j, "eta_min");
		cJSON_AddNullToObject(j, "eta_hi_min");
		cJSON_AddNullToObject(j, "arrive_ms");
	} else {
		cJSON_AddNumberToObject(j, "dist_m", round(r->dist_m));
		cJSON_AddNumberToObject(j, "eta_min", round1(r->eta_s / 60.0));
		cJSON_AddNumberToObject(j, "eta_hi_min", round1(r->eta_hi_s / 60.0));
		cJSON_AddNumberToObject(j, "arrive_ms", (double)r->arrive_ms);
	}
	if (isfinite(mc->lat) && isfinite(mc->lon) && mc->pos_ms > 0 &&
	    (pos = cJSON_AddObjectToObject(j, "pos")) != NULL) {
		cJSON_AddNumberToObject(pos, "lat", mc->lat);
		cJSON_AddNumberToObject(pos, "lon", mc->lon);
		cJSON_AddNumberToObject(pos, "at_ms", (double)mc->pos_ms);
		cJSON_AddNumberToObject(j, "pos_age_s",
		    round((double)(now > mc->pos_ms ? now - mc->pos_ms : 0) / 1000.0));
	} else {
		cJSON_AddNullToObject(j, "pos");
		cJSON_AddNullToObject(j, "pos_age_s");
	}
	return j;
}

enum gw_status
board_candidates(struct gw *gw, const char *id, cJSON **out, struct gw_err *err)
{
	struct maps_rank_params p;
	struct bcrews b;
	struct maps_crew *mc = NULL;
	struct maps_rank *rk = NULL;
	struct order *o;
	int64_t now = clock_wall(gw->clock), due;
	enum gw_status st = GW_E_STORE;
	cJSON *j = NULL, *cand, *excl, *site, *x;
	char rerr[160];
	long n;
	int rc;

	*out = NULL;
	memset(&b, 0, sizeof(b));
	if ((o = malloc(sizeof(*o))) == NULL)
		goto oom;
	if ((rc = store_order_get(gw->store, id, o)) == -1) {
		st = read_failed(err);
		goto out;
	}
	if (rc == 0) {
		seterr(err, GW_E_NOTFOUND, NULL, "no such order");
		st = GW_E_NOTFOUND;
		goto out;
	}
	if (o->type != TYPE_REPAIR || !isfinite(o->lat) || !isfinite(o->lon) ||
	    !(o->state == ORD_RECORDED || o->state == ORD_REOPENED ||
	    o->state == ORD_DISPATCHED || o->state == ORD_DELIVERED ||
	    o->state == ORD_ACCEPTED)) {
		snprintf(rerr, sizeof(rerr), "order %s is a %s in state %s: crews are ranked "
		    "for repairs awaiting dispatch or on their way", o->id,
		    taxonomy_type_name(o->type), order_state_name(o->state));
		seterr(err, GW_E_CONFLICT, NULL, rerr);
		st = GW_E_CONFLICT;
		goto out;
	}
	/* A dispatched order keeps its deadline (reassignment does not restart
	 * it); one not yet dispatched would start its clock now. */
	if (sla_state_on_device(o->state) && o->dispatched_ms > 0)
		due = o->dispatched_ms + (int64_t)o->lim.arrive_min * MS_PER_MIN;
	else
		due = now + (int64_t)o->lim.arrive_min * MS_PER_MIN;
	if (load_crews(gw, &b, o->id) == -1) {
		st = b.oom ? GW_E_STORE : read_failed(err);
		if (b.oom)
			goto oom;
		goto out;
	}
	if (b.n > 0) {
		mc = calloc(b.n, sizeof(*mc));
		rk = calloc(b.n, sizeof(*rk));
		if (mc == NULL || rk == NULL)
			goto oom;
	}
	for (size_t i = 0; i < b.n; i++) {
		const struct bcrew *bc = &b.v[i];

		mc[i].state = board_crew_state(now, bc->d.last_seen_ms, gw->conf->rank_seen_min,
		    bc->held, bc->held_arrived, bc->last_arrival_ms, gw->conf->rank_repair_min,
		    &mc[i].free_at_ms);
		if (sla_state_on_device(o->state) && strcmp(bc->c.id, o->crew) == 0)
			mc[i].state = MAPS_CREW_OFF;	/* the crew it is on: listed apart */
		mc[i].lat = bc->d.last_lat;
		mc[i].lon = bc->d.last_lon;
		mc[i].pos_ms = bc->d.last_at_ms;
		if (mc[i].pos_ms <= 0)
			mc[i].lat = mc[i].lon = NAN;
	}
	board_rank_params(gw->conf, &p);
	n = b.n == 0 ? 0 : maps_rank_crews(o->lat, o->lon, o->zone, now, due, mc, b.n, &p, rk,
	    b.n, rerr, sizeof(rerr));
	if (n < 0) {
		log_warnx("order %s: ranking: %s", o->id, rerr);
		seterr(err, GW_E_STORE, NULL, "the ranking parameters are invalid");
		goto out;
	}
	if ((j = cJSON_CreateObject()) == NULL)
		goto oom;
	cJSON_AddStringToObject(j, "order", o->id);
	cJSON_AddStringToObject(j, "state", order_state_name(o->state));
	cJSON_AddStringToObject(j, "zone", maps_zone_name(o->zone));
	cJSON_AddStringToObject(j, "zone_name", o->zone_name);
	if ((site = cJSON_AddObjectToObject(j, "site")) != NULL) {
		cJSON_AddNumberToObject(site, "lat", o->lat);
		cJSON_AddNumberToObject(site, "lon", o->lon);
	}
	cJSON_AddNumberToObject(j, "now_ms", (double)now);
	cJSON_AddNumberToObject(j, "arrive_limit_min", o->lim.arrive_min);
	cJSON_AddNumberToObject(j, "arrive_due_ms", (double)due);
	cJSON_AddStringToObject(j, "due_from", sla_state_on_device(o->state) ?
	    "dispatch" : "now");
	if (sla_state_on_device(o->state))
		cJSON_AddStringToObject(j, "current_crew", o->crew);
	else
		cJSON_AddNullToObject(j, "current_crew");
	cand = cJSON_AddArrayToObject(j, "candidates");
	excl = cJSON_AddArrayToObject(j, "excluded");
	if (cand == NULL || excl == NULL)
		goto oom;
	for (long i = 0; i < n; i++) {
		if ((x = candidate_json(&b.v[rk[i].crew], &mc[rk[i].crew], &rk[i], now)) == NULL)
			goto oom;
		cJSON_AddItemToArray(cand, x);
	}
	for (size_t i = 0; i < b.n; i++) {
		const char *why;

		if (mc[i].state == MAPS_CREW_FREE || mc[i].state == MAPS_CREW_FINISHING)
			continue;
		if (sla_state_on_device(o->state) && strcmp(b.v[i].c.id, o->crew) == 0)
			why = "current";
		else
			why = crew_state_name(mc[i].state);
		if ((x = cJSON_CreateObject()) == NULL)
			goto oom;
		cJSON_AddStringToObject(x, "crew", b.v[i].c.id);
		cJSON_AddStringToObject(x, "why", why);
		cJSON_AddItemToArray(excl, x);
	}
	*out = j;
	j = NULL;
	st = GW_OK;
	goto out;
oom:
	st = no_memory(err);
out:
	cJSON_Delete(j);
	free(b.v);
	free(mc);
	free(rk);
	free(o);
	return st;
}

/* ---- open repairs: clusters and the map ---- */

struct bopen {
	struct order   *v;
	size_t		n, cap;
	int		oom;
};

static int
collect_open(const struct order *o, void *arg)
{
	struct bopen *b = arg;

	if (!repair_open(o))
		return 0;
	if (grow(&b->v, &b->cap, b->n + 1, sizeof(*b->v), 16) == -1) {
		b->oom = 1;
		return 1;
	}
	b->v[b->n++] = *o;
	return 0;
}

static int
created_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int
load_open(struct gw *gw, struct bopen *b)
{
	memset(b, 0, sizeof(*b));
	if (store_order_list(gw->store, 0, -1, BOARD_ORDERS_MAX, collect_open, b) == -1)
		return -1;
	if (b->oom)
		return -2;
	if (b->n > 1)
		qsort(b->v, b->n, sizeof(*b->v), created_cmp);
	return 0;
}

static cJSON *
cluster_json(const struct bopen *b, const int *ids, int cid)
{
	cJSON *j = cJSON_CreateObject(), *arr, *dups, *x;
	const struct order *orig = NULL;
	double slat = 0, slon = 0;
	int64_t first = 0, last = 0;
	int n = 0;

	if (j == NULL)
		return NULL;
	/* The original to link to: the earliest already with a crew, else the
	 * earliest report. */
	for (size_t i = 0; i < b->n; i++)
		if (ids[i] == cid && sla_state_on_device(b->v[i].state)) {
			orig = &b->v[i];
			break;
		}
	arr = cJSON_AddArrayToObject(j, "orders");
	dups = cJSON_CreateArray();
	for (size_t i = 0; i < b->n; i++) {
		const struct order *o = &b->v[i];

		if (ids[i] != cid)
			continue;
		if (orig == NULL)
			orig = o;
		if (n++ == 0)
			first = o->created_ms;
		last = o->created_ms;
		slat += o->lat;
		slon += o->lon;
		if ((x = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddStringToObject(x, "id", o->id);
		cJSON_AddStringToObject(x, "state", order_state_name(o->state));
		cJSON_AddNumberToObject(x, "created_ms", (double)o->created_ms);
		cJSON_AddNumberToObject(x, "lat", o->lat);
		cJSON_AddNumberToObject(x, "lon", o->lon);
		cJSON_AddStringToObject(x, "address", o->address);
		if (o->crew[0] && sla_state_on_device(o->state))
			cJSON_AddStringToObject(x, "crew", o->crew);
		cJSON_AddItemToArray(arr, x);
	}
	for (size_t i = 0; i < b->n && dups != NULL; i++)
		if (ids[i] == cid && &b->v[i] != orig &&
		    (b->v[i].state == ORD_RECORDED || b->v[i].state == ORD_REOPENED))
			cJSON_AddItemToArray(dups, cJSON_CreateString(b->v[i].id));
	cJSON_AddStringToObject(j, "original", orig ? orig->id : "");
	if (dups != NULL)
		cJSON_AddItemToObject(j, "duplicates", dups);
	cJSON_AddNumberToObject(j, "first_ms", (double)first);
	cJSON_AddNumberToObject(j, "last_ms", (double)last);
	if (n > 0 && (x = cJSON_AddObjectToObject(j, "center")) != NULL) {
		cJSON_AddNumberToObject(x, "lat", slat / n);
		cJSON_AddNumberToObject(x, "lon", slon / n);
	}
	return j;
}

enum gw_status
board_clusters(struct gw *gw, double radius_m, int window_min, cJSON **out,
    struct gw_err *err)
{
	struct bopen b;
	struct maps_report *rep = NULL;
	int *ids = NULL, *size = NULL, rc, singles = 0;
	long nc = 0;
	cJSON *j = NULL, *arr, *x;
	char cerr[160];
	enum gw_status st = GW_E_STORE;

	*out = NULL;
	if ((rc = load_open(gw, &b)) == -1) {
		st = read_failed(err);
		goto out;
	}
	if (rc == -2)
		goto oom;
	if (b.n > 0) {
		rep = calloc(b.n, sizeof(*rep));
		ids = calloc(b.n, sizeof(*ids));
		size = calloc(b.n, sizeof(*size));
		if (rep == NULL || ids == NULL || size == NULL)
			goto oom;
		for (size_t i = 0; i < b.n; i++) {
			rep[i].lat = b.v[i].lat;
			rep[i].lon = b.v[i].lon;
			rep[i].at_ms = b.v[i].created_ms;
		}
		nc = maps_cluster(rep, b.n, radius_m, (int64_t)window_min * MS_PER_MIN, ids,
		    cerr, sizeof(cerr));
		if (nc < 0) {
			seterr(err, GW_E_BAD, "radius_m", cerr);
			st = GW_E_BAD;
			goto out;
		}
		for (size_t i = 0; i < b.n; i++)
			size[ids[i]]++;
	}
	if ((j = cJSON_CreateObject()) == NULL)
		goto oom;
	cJSON_AddNumberToObject(j, "radius_m", radius_m);
	cJSON_AddNumberToObject(j, "window_min", window_min);
	cJSON_AddNumberToObject(j, "orders", (double)b.n);
	if ((arr = cJSON_AddArrayToObject(j, "clusters")) == NULL)
		goto oom;
	for (long c = 0; c < nc; c++) {
		if (size[c] < 2) {
			singles++;
			continue;
		}
		if ((x = cluster_json(&b, ids, (int)c)) == NULL)
			goto oom;
		cJSON_AddItemToArray(arr, x);
	}
	cJSON_AddNumberToObject(j, "singles", singles);
	*out = j;
	j = NULL;
	st = GW_OK;
	goto out;
oom:
	st = no_memory(err);
out:
	cJSON_Delete(j);
	free(b.v);
	free(rep);
	free(ids);
	free(size);
	return st;
}

static void
box_add(double box[4], double lat, double lon)
{
	if (!isfinite(lat) || !isfinite(lon))
		return;
	if (!isfinite(box[0]) || lat < box[0])
		box[0] = lat;
	if (!isfinite(box[1]) || lon < box[1])
		box[1] = lon;
	if (!isfinite(box[2]) || lat > box[2])
		box[2] = lat;
	if (!isfinite(box[3]) || lon > box[3])
		box[3] = lon;
}

static const struct maps_svg_labels *
map_labels(enum board_lang lang)
{
	return lang == BOARD_LANG_ZH ? &maps_svg_labels_zh : &maps_svg_labels_en;
}

/* An open repair as the maps draw it, due at its earliest pending deadline;
 * with next_due set, when it has none, at its next stage's due time. */
static void
map_order(struct maps_svg_order *so, const struct order *o, const struct lc_clock *clk,
    int next_due)
{
	so->id = o->id;
	so->lat = o->lat;
	so->lon = o->lon;
	so->due_ms = board_next_deadline(o, clk);
	if (so->due_ms == 0 && next_due)
		so->due_ms = o->next_due_ms;
}

/* opts for a width x height map framing box (box_add's) with a BOARD_PAD_FRAC
 * margin, each side at least min_span_deg; an empty box leaves the default
 * frame (the zones). */
static void
map_frame(struct maps_svg_opts *opts, double width, double height, const double box[4],
    double min_span_deg)
{
	double dlat, dlon;

	maps_svg_defaults(opts);
	opts->width = width;
	opts->height = height;
	if (!isfinite(box[0]))
		return;
	dlat = fmax(box[2] - box[0], min_span_deg);
	dlon = fmax(box[3] - box[1], min_span_deg);
	opts->minlat = (box[0] + box[2]) / 2 - dlat * (0.5 + BOARD_PAD_FRAC);
	opts->maxlat = (box[0] + box[2]) / 2 + dlat * (0.5 + BOARD_PAD_FRAC);
	opts->minlon = (box[1] + box[3]) / 2 - dlon * (0.5 + BOARD_PAD_FRAC);
	opts->maxlon = (box[1] + box[3]) / 2 + dlon * (0.5 + BOARD_PAD_FRAC);
}

/* The answer to a failed maps_svg_render, logged as "what: reason". */
static enum gw_status
map_failed(enum maps_err me, const char *what, struct gw_err *err)
{
	enum gw_status st = me == MAPS_E_ARG ? GW_E_BAD : GW_E_STORE;

	log_warnx("%s: %s", what, maps_strerror(me));
	seterr(err, st, me == MAPS_E_ARG ? "width" : NULL, me == MAPS_E_ARG ?
	    "width/height: cannot draw at this size" : "the map does not fit the answer's cap");
	return st;
}

enum gw_status
board_map_svg(struct gw *gw, double width, double height, enum board_lang lang,
    struct maps_buf *out, struct gw_err *err)
{
	struct maps_svg_opts opts;
	struct bopen b;
	struct bcrews bc;
	struct maps_svg_order *so = NULL;
	struct maps_svg_crew *sc = NULL;
	double box[4] = { NAN, NAN, NAN, NAN };
	int64_t now = clock_wall(gw->clock);
	char title[256], t[CLOCK_FMT_MAX];
	enum maps_err me;
	enum gw_status st = GW_E_STORE;
	int rc;

	memset(&bc, 0, sizeof(bc));
	if ((rc = load_open(gw, &b)) == -1)
		return read_failed(err);
	if (rc == -2)
		goto oom;
	if (load_crews(gw, &bc, NULL) == -1) {
		if (bc.oom)
			goto oom;
		st = read_failed(err);
		goto out;
	}
	so = calloc(b.n + 1, sizeof(*so));
	sc = calloc(bc.n + 1, sizeof(*sc));
	if (so == NULL || sc == NULL)
		goto oom;
	for (size_t i = 0; i < b.n; i++) {
		map_order(&so[i], &b.v[i], gw->clock, 1);
		box_add(box, so[i].lat, so[i].lon);
	}
	for (size_t i = 0; i < bc.n; i++) {
		sc[i].id = bc.v[i].c.id;
		sc[i].lat = bc.v[i].d.last_at_ms > 0 ? bc.v[i].d.last_lat : NAN;
		sc[i].lon = bc.v[i].d.last_at_ms > 0 ? bc.v[i].d.last_lon : NAN;
		sc[i].pos_ms = bc.v[i].d.last_at_ms;
		box_add(box, sc[i].lat, sc[i].lon);
	}
	/* Frame the work, not the whole province; with nothing to show, the zones. */
	map_frame(&opts, width, height, box, BOARD_MIN_SPAN_DEG);
	if (lang == BOARD_LANG_ZH)
		snprintf(title, sizeof(title), "线路抢修调度台，%s（北京时间）：在办抢修 %zu 张，"
		    "班组 %zu 个", clock_fmt_local(now, t, sizeof(t)), b.n, bc.n);
	else
		snprintf(title, sizeof(title), "Linecrew board, %s (Asia/Shanghai): %zu open "
		    "repairs, %zu crews", clock_fmt_local(now, t, sizeof(t)), b.n, bc.n);
	opts.title = title;
	opts.labels = map_labels(lang);
	if (gw->zones == NULL && !isfinite(box[0])) {
		/* Nothing to frame: an empty map of one degree around Hohhot would
		 * be a guess; answer an empty picture of the requested size. */
		maps_buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\">"
		    "<title>", width, height);
		maps_buf_xml(out, title);
		maps_buf_printf(out, "</title></svg>\n");
		me = out->full ? MAPS_E_FULL : MAPS_OK;
	} else
		me = maps_svg_render(out, &opts, gw->zones, so, b.n, sc, bc.n, now);
	st = me == MAPS_OK ? GW_OK : map_failed(me, "map", err);
	goto out;
oom:
	st = no_memory(err);
out:
	free(so);
	free(sc);
	free(b.v);
	free(bc.v);
	return st;
}

/* ---- one order's map: the site, the crew's track, the arrival ---- */

/*
 * The track of an order thinned while it is read: points are kept at a stride
 * of 1, 2, 4 ... positions; when the buffer is full every other kept point is
 * dropped and the stride doubles, so at most BOARD_TRACK_MAX points are held
 * however long the scan, evenly spread in time order. The first point is
 * always kept and the last one is put back at the end. The frame and the
 * nearest point to the arrival come from every position, not the kept ones.
 */
struct btrack {
	double		ll[2 * BOARD_TRACK_MAX];	/* lat, lon pairs */
	int64_t		at[BOARD_TRACK_MAX];
	size_t		n;		/* kept */
	size_t		seen;		/* usable positions read */
	size_t		stride;
	size_t		last_kept;	/* index (in seen) of at[n - 1] */
	double		last_lat, last_lon;
	int64_t		last_at, first_at;
	int64_t		near_target;	/* the arrival time to match; 0: none */
	int64_t		near_dt;
	double		near_lat, near_lon;
	int64_t		near_at;
	double		box[4];
};

static int
track_point(const struct position *p, void *arg)
{
	struct btrack *t = arg;
	size_t idx;

	if (!isfinite(p->lat) || !isfinite(p->lon) || fabs(p->lat) > 90 || fabs(p->lon) > 180)
		return 0;
	idx = t->seen++;
	if (idx == 0)
		t->first_at = p->at_ms;
	t->last_lat = p->lat;
	t->last_lon = p->lon;
	t->last_at = p->at_ms;
	box_add(t->box, p->lat, p->lon);
	if (t->near_target > 0) {
		int64_t dt = p->at_ms > t->near_target ? p->at_ms - t->near_target :
		    t->near_target - p->at_ms;

		if (t->near_at == 0 || dt < t->near_dt) {
			t->near_dt = dt;
			t->near_lat = p->lat;
			t->near_lon = p->lon;
			t->near_at = p->at_ms;
		}
	}
	if (idx % t->stride != 0)
		return 0;
	if (t->n == BOARD_TRACK_MAX) {
		for (size_t j = 0; j < BOARD_TRACK_MAX / 2; j++) {
			t->ll[2 * j] = t->ll[4 * j];
			t->ll[2 * j + 1] = t->ll[4 * j + 1];
			t->at[j] = t->at[2 * j];
		}
		t->n = BOARD_TRACK_MAX / 2;
		t->stride *= 2;
		if (idx % t->stride != 0)
			return 0;
	}
	t->ll[2 * t->n] = p->lat;
	t->ll[2 * t->n + 1] = p->lon;
	t->at[t->n++] = p->at_ms;
	t->last_kept = idx;
	return 0;
}

/* The last point read is the track's end: put it back if the stride skipped it. */
static void
track_close(struct btrack *t)
{
	if (t->seen == 0 || t->last_kept == t->seen - 1)
		return;
	if (t->n == BOARD_TRACK_MAX)
		t->n--;
	t->ll[2 * t->n] = t->last_lat;
	t->ll[2 * t->n + 1] = t->last_lon;
	t->at[t->n++] = t->last_at;
	t->last_kept = t->seen - 1;
}

/* The arrival's deciding fix, from the order's last applied "arrived" entry
 * (the one that set arrived_ms: a reopened order may have several; the entry's
 * time is the device's, which the order may have corrected, so not compared). */
struct barrive {
	int		found;
	double		lat, lon;
};

static int
arrive_entry(const struct tl_entry *e, void *arg)
{
	struct barrive *a = arg;
	cJSON *d;
	const cJSON *fix, *lat, *lon;

	if (strcmp(e->kind, "arrived") != 0 || (d = cJSON_Parse(e->detail)) == NULL)
		return 0;
	fix = cJSON_GetObjectItemCaseSensitive(d, "fix");
	lat = cJSON_GetObjectItemCaseSensitive(fix, "lat");
	lon = cJSON_GetObjectItemCaseSensitive(fix, "lon");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "applied"))) {
		/* a later applied arrival without a fix replaces an earlier one */
		a->found = cJSON_IsNumber(lat) && cJSON_IsNumber(lon) &&
		    isfinite(lat->valuedouble) && isfinite(lon->valuedouble) &&
		    fabs(lat->valuedouble) <= 90 && fabs(lon->valuedouble) <= 180;
		if (a->found) {
			a->lat = lat->valuedouble;
			a->lon = lon->valuedouble;
		}
	}
	cJSON_Delete(d);
	return 0;
}

struct bmap_order {
	struct order	o;		/* the order framed */
	struct bopen	open;		/* every open repair (the others dimmed) */
	struct btrack	t;
	struct bcrews	crews;
	struct barrive	arr;
};

/* "2026-11-25 17:03:44" in Asia/Shanghai into buf. */
static const char *
local(int64_t ms, char *buf, size_t cap)
{
	return ms > 0 ? clock_fmt_local(ms, buf, cap) : "?";
}

/* An order's state in the title; the pages' words (i18n.js state.*). */
static const char *
state_word(enum order_state s, enum board_lang lang)
{
	static const char *const zh[ORD_NSTATES] = {
		[ORD_RECORDED] = "待审核",	[ORD_DISPATCHED] = "已派工",
		[ORD_DELIVERED] = "已送达",	[ORD_ACCEPTED] = "已接单",
		[ORD_ARRIVED] = "已到达",	[ORD_COMPLETED] = "已修复",
		[ORD_CLOSED] = "已办结",	[ORD_DECLINED] = "不予派工",
		[ORD_REOPENED] = "退回重派",	[ORD_FORWARDED] = "已转派部门",
	};

	if (lang == BOARD_LANG_ZH && (unsigned)s < ORD_NSTATES)
		return zh[s];
	return order_state_name(s);
}

/* How an arrival was established, in the arrival mark's title (i18n.js arrive.*). */
static const char *
method_word(const char *m, enum board_lang lang)
{
	if (m[0] == '\0')
		return "?";
	if (lang == BOARD_LANG_ZH && strcmp(m, "gps") == 0)
		return "GPS 核验";
	if (lang == BOARD_LANG_ZH && strcmp(m, "manual") == 0)
		return "人工申报";
	return m;
}

enum gw_status
board_map_order_svg(struct gw *gw, const char *order_id, const char *dept, double width,
    double height, enum board_lang lang, struct maps_buf *out, struct gw_err *err)
{
	struct bmap_order *m;
	struct maps_svg_opts opts;
	struct maps_svg_order *so = NULL;
	struct maps_svg_crew sc;
	struct maps_svg_ring ring;
	struct maps_svg_line line;
	struct maps_svg_mark marks[3];
	const struct bcrew *crew = NULL;
	struct order *o;
	int64_t now = clock_wall(gw->clock), end;
	double rdeg, box[4];
	char title[256], ring_t[PROTO_TEXT_MAX + 128], line_t[384], mt[3][256];
	char l0[16], l1[16], l2[32], l3[16], t0[CLOCK_FMT_MAX], t1[CLOCK_FMT_MAX], t2[CLOCK_FMT_MAX];
	size_t nso = 0, nmarks = 0, ncrews = 0;
	enum maps_err me;
	enum gw_status st = GW_E_STORE;
	int rc, zh = lang == BOARD_LANG_ZH;

	if (order_id == NULL || !proto_valid_id(order_id)) {
		seterr(err, GW_E_BAD, "order", "order: not an order id");
		return GW_E_BAD;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return no_memory(err);
	o = &m->o;
	if ((rc = store_order_get(gw->store, order_id, o)) == -1) {
		st = read_failed(err);
		goto out;
	}
	/* A department asking about another's order learns nothing: the same 404. */
	if (rc == 0 || (dept != NULL && strcmp(o->dept, dept) != 0)) {
		snprintf(title, sizeof(title), "no order \"%s\"", order_id);
		seterr(err, GW_E_NOTFOUND, "order", title);
		st = GW_E_NOTFOUND;
		goto out;
	}
	/* order_create leaves an order given without a site at 0, 0 (it keeps no
	 * flag): the Gulf of Guinea is no service point of a Chinese utility. */
	if (!isfinite(o->lat) || !isfinite(o->lon) || (o->lat == 0 && o->lon == 0)) {
		snprintf(title, sizeof(title), "order %s (%s) has no site: there is nothing to "
		    "frame the map on", o->id, taxonomy_type_name(o->type));
		seterr(err, GW_E_CONFLICT, "order", title);
		st = GW_E_CONFLICT;
		goto out;
	}

	/* The track: the same positions as GET /orders/{id}/track (its device from
	 * the dispatch to the completion, or now), thinned while read. */
	m->t.stride = 1;
	m->t.box[0] = m->t.box[1] = m->t.box[2] = m->t.box[3] = NAN;
	m->t.near_target = o->arrived_ms;
	end = o->completed_ms ? o->completed_ms : now;
	if (o->device[0] && o->dispatched_ms &&
	    store_positions_dev(gw->store, o->device, o->dispatched_ms, end,
	    BOARD_TRACK_SCAN_MAX, track_point, &m->t) == -1) {
		st = read_failed(err);
		goto out;
	}
	track_close(&m->t);

	/* The arrival: the deciding fix when the device sent one, else the track's
	 * position nearest in time to the arrival. */
	if (o->arrived_ms > 0) {
		if (store_tl_list(gw->store, o->id, arrive_entry, &m->arr) == -1) {
			st = read_failed(err);
			goto out;
		}
	}

	/* The other open repairs, dimmed; the order itself always, in full. */
	if ((rc = load_open(gw, &m->open)) == -1) {
		st = read_failed(err);
		goto out;
	}
	if (rc == -2 || (so = calloc(m->open.n + 1, sizeof(*so))) == NULL)
		goto oom;
	map_order(&so[nso++], o, gw->clock, 0);
	for (size_t i = 0; i < m->open.n; i++) {
		if (strcmp(m->open.v[i].id, o->id) != 0)
			map_order(&so[nso++], &m->open.v[i], gw->clock, 1);
	}

	/* The crew: while the order is on its device, the device's last position;
	 * afterwards where the track for this order ended. Other crews are the
	 * board's business, not this order's. */
	memset(&sc, 0, sizeof(sc));
	if (o->crew[0]) {
		if (store_crew_list(gw->store, collect_crew, &m->crews) == -1) {
			st = m->crews.oom ? GW_E_STORE : read_failed(err);
			if (m->crews.oom)
				goto oom;
			goto out;
		}
		if (m->crews.oom)
			goto oom;
		crew = bsearch(o->crew, m->crews.v, m->crews.n, sizeof(*m->crews.v), crew_cmp);
	}
	if (crew != NULL) {
		sc.id = crew->c.id;
		sc.lat = sc.lon = NAN;
		if (sla_state_on_device(o->state) && crew->d.last_at_ms > 0) {
			sc.lat = crew->d.last_lat;
			sc.lon = crew->d.last_lon;
			sc.pos_ms = crew->d.last_at_ms;
		} else if (m->t.seen > 0) {
			sc.lat = m->t.last_lat;
			sc.lon = m->t.last_lon;
			sc.pos_ms = m->t.last_at;
		}
		if (isfinite(sc.lat) && isfinite(sc.lon))
			ncrews = 1;
	}

	/* Marks: the track's start and end, the arrival. */
	if (m->t.n > 0) {
		clock_fmt_hms(m->t.first_at, l0, sizeof(l0));
		if (zh)
			snprintf(mt[nmarks], sizeof(mt[0]), "轨迹起点 %s（北京时间）",
			    local(m->t.first_at, t0, sizeof(t0)));
		else
			snprintf(mt[nmarks], sizeof(mt[0]), "track start %s (Asia/Shanghai)",
			    local(m->t.first_at, t0, sizeof(t0)));
		marks[nmarks++] = (struct maps_svg_mark){ .lat = m->t.ll[0], .lon = m->t.ll[1],
			.cls = "track-start", .fill = "#ffffff", .label = l0, .title = mt[0] };
		clock_fmt_hms(m->t.last_at, l1, sizeof(l1));
		if (zh)
			snprintf(mt[nmarks], sizeof(mt[0]), "轨迹终点 %s（北京时间）",
			    local(m->t.last_at, t1, sizeof(t1)));
		else
			snprintf(mt[nmarks], sizeof(mt[0]), "track end %s (Asia/Shanghai)",
			    local(m->t.last_at, t1, sizeof(t1)));
		marks[nmarks] = (struct maps_svg_mark){ .lat = m->t.last_lat,
			.lon = m->t.last_lon, .cls = "track-end", .fill = "#7b3294", .label = l1,
			.title = mt[nmarks], .label_left = 1 };
		nmarks++;
	}
	if (o->arrived_ms > 0 && (m->arr.found || m->t.near_at > 0)) {
		double alat = m->arr.found ? m->arr.lat : m->t.near_lat;
		double alon = m->arr.found ? m->arr.lon : m->t.near_lon;
		const char *how = method_word(o->arrive_method, lang);

		clock_fmt_hms(o->arrived_ms, l3, sizeof(l3));
		if (zh)
			snprintf(l2, sizeof(l2), "到达 %s", l3);
		else
			snprintf(l2, sizeof(l2), "arrived %s", l3);
		local(o->arrived_ms, t2, sizeof(t2));
		if (!m->arr.found)	/* the track's time of the point shown */
			clock_fmt_hms(m->t.near_at, l3, sizeof(l3));
		if (m->arr.found && zh)
			snprintf(mt[nmarks], sizeof(mt[0]), "%s 到达（北京时间），%s，位于设备上报"
			    "的定位点", t2, how);
		else if (m->arr.found)
			snprintf(mt[nmarks], sizeof(mt[0]), "arrived %s (Asia/Shanghai), %s, at "
			    "the fix the device sent", t2, how);
		else if (zh)
			snprintf(mt[nmarks], sizeof(mt[0]), "%s 到达（北京时间），%s，设备未上报定位："
			    "取 %s 的轨迹位置", t2, how, l3);
		else
			snprintf(mt[nmarks], sizeof(mt[0]), "arrived %s (Asia/Shanghai), %s, no "
			    "fix sent: the track position at %s", t2, how, l3);
		marks[nmarks] = (struct maps_svg_mark){ .lat = alat, .lon = alon,
			.cls = "arrival", .fill = "#1a9641", .label = l2, .title = mt[nmarks] };
		nmarks++;
		box_add(m->t.box, alat, alon);
	}

	/* The frame: the site with its geofence, the whole track, the crew. */
	memcpy(box, m->t.box, sizeof(box));
	rdeg = (o->radius_m > 0 ? o->radius_m : 0) / 111195.0;
	box_add(box, o->lat - rdeg, o->lon - rdeg / fmax(0.01, cos(o->lat * M_PI / 180)));
	box_add(box, o->lat + rdeg, o->lon + rdeg / fmax(0.01, cos(o->lat * M_PI / 180)));
	if (ncrews)
		box_add(box, sc.lat, sc.lon);
	map_frame(&opts, width, height, box, BOARD_MIN_SPAN_DEG / 4);
	opts.focus_order = o->id;
	if (o->radius_m > 0) {
		if (zh)
			snprintf(ring_t, sizeof(ring_t), "%s 的现场：%s，电子围栏 %.0f 米", o->id,
			    o->address, o->radius_m);
		else
			snprintf(ring_t, sizeof(ring_t), "site of %s: %s, geofence %.0f m", o->id,
			    o->address, o->radius_m);
		ring = (struct maps_svg_ring){ .lat = o->lat, .lon = o->lon,
			.radius_m = o->radius_m, .cls = "geofence", .title = ring_t };
		opts.rings = &ring;
		opts.nrings = 1;
	}
	if (m->t.n > 0) {
		local(m->t.first_at, t0, sizeof(t0));
		local(m->t.last_at, t1, sizeof(t1));
		if (zh)
			snprintf(line_t, sizeof(line_t), "%s（%s）的轨迹：%zu 个定位点，%s 至 %s"
			    "（北京时间）%s", o->crew, o->device, m->t.seen, t0, t1,
			    m->t.n < m->t.seen ? "，已抽稀" : "");
		else
			snprintf(line_t, sizeof(line_t), "track of %s (%s): %zu positions %s to %s "
			    "(Asia/Shanghai)%s", o->crew, o->device, m->t.seen, t0, t1,
			    m->t.n < m->t.seen ? ", thinned" : "");
		line = (struct maps_svg_line){ .latlon = m->t.ll, .n = m->t.n, .cls = "track",
			.title = line_t };
		opts.lines = &line;
		opts.nlines = 1;
	}
	opts.marks = marks;
	opts.nmarks = nmarks;
	if (zh)
		snprintf(title, sizeof(title), "线路抢修工单 %s，%s（北京时间）：%s，轨迹定位点 "
		    "%zu 个", o->id, local(now, t2, sizeof(t2)), state_word(o->state, lang),
		    m->t.seen);
	else
		snprintf(title, sizeof(title), "Linecrew order %s, %s (Asia/Shanghai): %s, %zu "
		    "track positions", o->id, local(now, t2, sizeof(t2)),
		    state_word(o->state, lang), m->t.seen);
	opts.title = title;
	opts.labels = map_labels(lang);
	me = maps_svg_render(out, &opts, gw->zones, so, nso, &sc, ncrews, now);
	if (me != MAPS_OK)
		snprintf(title, sizeof(title), "map of %s", o->id);
	st = me == MAPS_OK ? GW_OK : map_failed(me, title, err);
	goto out;
oom:
	st = no_memory(err);
out:
	free(so);
	free(m->open.v);
	free(m->crews.v);
	free(m);
	return st;
}
