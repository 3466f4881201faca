/*
 * test_gw_board.c: the supervisor's board (gateway/board.c) and the
 * reassignment and linking operations (gateway/order.c), on a temporary store
 * and a virtual clock.
 *
 * Covers: a crew's duty state (off duty, free, finishing, busy); the ranking
 * answer (nearest first, reach flags, the crew holding the order listed apart,
 * deadline kept for a dispatched order); reassignment in one transaction
 * (cancel to the old device, push to the new one, deadlines kept, refused
 * requests change nothing), the old device's ack of the cancel applied to
 * nothing, its later events refused, the hello/sync backstop settling the
 * cancel; linking duplicates all or nothing, each with its own callback when
 * the original completes; clusters and the map; one order's map (its track
 * thinned with first and last kept, the arrival at the fix or the nearest
 * track point, unknown / malformed / another department's order).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cJSON.h>

#include "gw_fixture.h"

#define MIN	60000LL
#define T0	1795626000000LL		/* 2026-11-25 17:00 UTC */
#define SITE_LAT	40.8420
#define SITE_LON	111.7500

struct fixture {
	char		path[FX_PATH_MAX];
	struct vclock	vc;
	struct gw_conf	conf;
	struct gw	gw;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || fx_store_open(f->path, "test_gw_board", &f->gw.store) == -1)
		return -1;
	fx_gw_init(&f->gw, &f->conf, &f->vc, T0);
	f->conf.radius_m = 150;
	f->conf.resend_s = 5;
	f->conf.limits = (struct sla_limits){ .review_s = 180, .arrive_urban_min = 60,
		.arrive_rural_min = 120, .arrive_remote_min = 240, .complete_h = 12,
		.complete_meter_h = 24, .callback_min = 10 };
	snprintf(f->conf.limits.name, sizeof(f->conf.limits.name), "default");
	/* the gateway.conf defaults (README "Dispatch tools") */
	f->conf.rank_seen_min = 30;
	f->conf.rank_repair_min = 60;
	f->conf.rank_speed_kmh[0] = 30;
	f->conf.rank_speed_kmh[1] = 60;
	f->conf.rank_speed_kmh[2] = 40;
	f->conf.rank_detour = 1.3;
	f->conf.rank_setup_min = 5;
	f->conf.rank_drift_kmh = 20;
	f->conf.rank_drift_max_km = 20;
	f->conf.rank_pos_max_age_min = 120;
	f->conf.cluster_radius_m = 500;
	f->conf.cluster_window_min = 60;
	f->gw.limits = &f->conf.limits;
	f->gw.zone_default = MAPS_ZONE_URBAN;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	return fx_teardown(f->gw.store, f->path, f);
}

static void
create_at(struct fixture *f, double lat, double lon, struct order *o)
{
	struct order_input in;
	struct gw_err err = { 0 };

	memset(&in, 0, sizeof(in));
	in.category = 2;
	in.has_site = 1;
	snprintf(in.address, sizeof(in.address), "呼和浩特市新城区");
	in.lat = lat;
	in.lon = lon;
	in.crs = MAPS_WGS84;
	assert_int_equal(order_create(&f->gw, &in, o, &err), GW_OK);
}

/* A crew whose device was last heard now, parked at (lat, lon) dlat north of the site. */
static void
add_crew(struct fixture *f, const char *id, const char *dev, double dlat)
{
	struct crew c;
	int64_t now = clock_wall(&f->vc.clock);

	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.name, sizeof(c.name), "crew %s", id);
	snprintf(c.device, sizeof(c.device), "%s", dev);
	assert_int_equal(store_begin(f->gw.store), 0);
	assert_int_not_equal(store_crew_put(f->gw.store, &c), -1);
	assert_int_equal(store_device_presence(f->gw.store, dev, 1, now), 0);
	if (!isnan(dlat))
		assert_int_equal(store_device_position(f->gw.store, dev, SITE_LAT + dlat,
		    SITE_LON, now, now), 1);
	assert_int_equal(store_commit(f->gw.store), 0);
}

static void
dispatch(struct fixture *f, const char *id, const char *crew, char msg_id[PROTO_ID_MAX])
{
	struct review_input in;
	struct gw_err err = { 0 };
	struct order o;

	memset(&in, 0, sizeof(in));
	in.dispatch = 1;
	snprintf(in.crew, sizeof(in.crew), "%s", crew);
	assert_int_equal(order_review(&f->gw, id, &in, &o, msg_id, &err), GW_OK);
}

static enum ev_disposition
event(struct fixture *f, enum proto_ev_type type, const char *dev, uint64_t seq,
    const char *order_id, const char *msg_id)
{
	static const char payload[] = "{}";
	struct proto_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	snprintf(e.dev, sizeof(e.dev), "%s", dev);
	e.seq = seq;
	proto_event_make_eid(&e);
	snprintf(e.order_id, sizeof(e.order_id), "%s", order_id);
	if (msg_id)
		snprintf(e.msg_id, sizeof(e.msg_id), "%s", msg_id);
	e.at_ms = clock_wall(&f->vc.clock);
	e.method = PROTO_ARRIVE_MANUAL;
	e.dist_m = 40;
	return order_event(&f->gw, dev, &e, payload, sizeof(payload) - 1,
	    clock_wall(&f->vc.clock));
}

struct rows {
	struct outbox_row r[8];
	int n;
};

static int
collect_row(const struct outbox_row *r, void *arg)
{
	struct rows *x = arg;

	if (x->n < 8)
		x->r[x->n++] = *r;
	return 0;
}

static struct rows *
pending(struct fixture *f, const char *dev)
{
	static struct rows x;

	memset(&x, 0, sizeof(x));
	assert_int_equal(store_outbox_pending(f->gw.store, dev, INT64_MAX, collect_row, &x), 0);
	return &x;
}

static int
count_kind(struct fixture *f, const char *id, const char *kind);

static void
test_crew_state(void **state)
{
	int64_t at;

	(void)state;
	assert_int_equal(board_crew_state(T0, 0, 30, 0, 0, 0, 60, &at), MAPS_CREW_OFF);
	assert_int_equal(board_crew_state(T0, T0 - 31 * MIN, 30, 0, 0, 0, 60, &at), MAPS_CREW_OFF);
	assert_int_equal(board_crew_state(T0, T0 - 30 * MIN, 30, 0, 0, 0, 60, &at), MAPS_CREW_FREE);
	assert_int_equal(at, 0);
	assert_int_equal(board_crew_state(T0, T0, 30, 2, 1, T0 - MIN, 60, &at), MAPS_CREW_BUSY);
	assert_int_equal(board_crew_state(T0, T0, 30, 2, 2, T0 - 10 * MIN, 60, &at),
	    MAPS_CREW_FINISHING);
	assert_int_equal(at, T0 + 50 * MIN);
}

static const cJSON *
item(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void
test_candidates(void **state)
{
	struct fixture *f = *state;
	struct order o;
	struct gw_err err = { 0 };
	char msg_id[PROTO_ID_MAX];
	cJSON *j;
	const cJSON *c;
	const char *want[] = { "crew-b", "crew-a", "crew-d" };
	int i = 0;

	add_crew(f, "crew-a", "dev-a", 0.02);	/* ~2.2 km */
	add_crew(f, "crew-b", "dev-b", 0.005);	/* ~0.6 km */
	add_crew(f, "crew-c", "dev-c", 0.001);	/* nearest, but off duty (below) */
	add_crew(f, "crew-d", "dev-d", 0.40);	/* ~44 km: too far for 60 min */
	add_crew(f, "crew-e", "dev-e", NAN);	/* no position at all */
	vclock_advance(&f->vc, 40 * MIN);	/* everyone unheard for 40 min ... */
	assert_int_equal(store_begin(f->gw.store), 0);
	for (const char *const *d = (const char *const[]){ "dev-a", "dev-b", "dev-d", "dev-e",
	    NULL }; *d; d++)			/* ... but these */
		assert_int_equal(store_device_presence(f->gw.store, *d, 1,
		    clock_wall(&f->vc.clock)), 0);
	assert_int_equal(store_commit(f->gw.store), 0);
	create_at(f, SITE_LAT, SITE_LON, &o);
	assert_int_equal(board_candidates(&f->gw, o.id, &j, &err), GW_OK);
	cJSON_ArrayForEach(c, item(j, "candidates")) {
		if (i < 3) {
			assert_string_equal(item(c, "crew")->valuestring, want[i]);
			assert_string_equal(item(c, "reach")->valuestring, i < 2 ? "yes" : "no");
		} else {
			assert_string_equal(item(c, "crew")->valuestring, "crew-e");
			assert_string_equal(item(c, "reach")->valuestring, "unknown");
			assert_true(cJSON_IsNull(item(c, "pos")));
		}
		i++;
	}
	assert_int_equal(i, 4);
	assert_string_equal(item(j, "due_from")->valuestring, "now");
	assert_string_equal(item(cJSON_GetArrayItem(item(j, "excluded"), 0), "why")->valuestring,
	    "off_duty");
	cJSON_Delete(j);
	/* Dispatched: its crew is listed apart, the deadline is the order's own. */
	dispatch(f, o.id, "crew-b", msg_id);
	vclock_advance(&f->vc, 10 * MIN);
	assert_int_equal(board_candidates(&f->gw, o.id, &j, &err), GW_OK);
	assert_string_equal(item(j, "current_crew")->valuestring, "crew-b");
	assert_int_equal((int64_t)item(j, "arrive_due_ms")->valuedouble,
	    T0 + 40 * MIN + 60 * MIN);
	assert_string_equal(item(cJSON_GetArrayItem(item(j, "candidates"), 0),
	    "crew")->valuestring, "crew-a");
	cJSON_Delete(j);
	assert_int_equal(board_candidates(&f->gw, "LC-19990101-0001", &j, &err), GW_E_NOTFOUND);
}

static void
test_reassign(void **state)
{
	struct fixture *f = *state;
	struct order o, r;
	struct gw_err err = { 0 };
	struct proto_down down;
	struct proto_error perr;
	char push[PROTO_ID_MAX], old_dev[PROTO_DEV_MAX], cancel[PROTO_ID_MAX];
	struct rows *p;

	add_crew(f, "crew-a", "dev-a", 0.02);
	add_crew(f, "crew-b", "dev-b", 0.005);
	create_at(f, SITE_LAT, SITE_LON, &o);
	/* Not on a device yet: nothing to reassign. */
	assert_int_equal(order_reassign(&f->gw, o.id, "crew-b", "", &r, old_dev, &err),
	    GW_E_CONFLICT);
	dispatch(f, o.id, "crew-a", push);
	assert_int_equal(event(f, PROTO_EV_DELIVERED, "dev-a", 1, o.id, push), EV_APPLIED);
	vclock_advance(&f->vc, 15 * MIN);
	assert_int_equal(order_reassign(&f->gw, o.id, "crew-a", "", &r, old_dev, &err),
	    GW_E_CONFLICT);
	assert_string_equal(err.field, "crew");
	assert_int_equal(order_reassign(&f->gw, o.id, "nobody", "", &r, old_dev, &err),
	    GW_E_NOTFOUND);
	assert_int_equal(count_kind(f, o.id, "reassigned"), 0);
	assert_int_equal(order_reassign(&f->gw, o.id, "crew-b", "closer", &r, old_dev, &err),
	    GW_OK);
	assert_string_equal(old_dev, "dev-a");
	assert_int_equal(r.state, ORD_DISPATCHED);
	assert_string_equal(r.crew, "crew-b");
	assert_string_equal(r.device, "dev-b");
	assert_int_equal(r.dispatched_ms, T0);		/* the deadlines do not restart */
	assert_int_equal(r.delivered_ms, 0);
	assert_int_equal(r.next_stage, SLA_ARRIVAL);
	assert_int_equal(r.next_due_ms, T0 + 60 * MIN);	/* still the first dispatch + 60 min */
	assert_int_equal(count_kind(f, o.id, "reassigned"), 1);
	/* A cancel to dev-a, the push to dev-b with the same deadline. */
	p = pending(f, "dev-a");
	assert_int_equal(p->n, 1);
	assert_string_equal(p->r[0].kind, "cancel");
	memcpy(cancel, p->r[0].msg_id, sizeof(cancel));
	assert_int_equal(proto_decode_down(p->r[0].payload, strlen(p->r[0].payload), &down,
	    &perr), PROTO_OK);
	assert_int_equal(down.type, PROTO_DOWN_CANCEL);
	assert_string_equal(down.order_id, o.id);
	assert_string_equal(down.reason, "reassigned");
	p = pending(f, "dev-b");
	assert_int_equal(p->n, 1);
	assert_int_equal(proto_decode_down(p->r[0].payload, strlen(p->r[0].payload), &down,
	    &perr), PROTO_OK);
	assert_int_equal(down.type, PROTO_DOWN_ORDER);
	assert_int_equal(down.order.arrive_by_ms, T0 + 60 * MIN);
	memcpy(push, p->r[0].msg_id, sizeof(push));
	/* dev-a acks the cancel: the row is acked, the order untouched. */
	assert_int_equal(event(f, PROTO_EV_DELIVERED, "dev-a", 2, o.id, cancel), EV_APPLIED);
	assert_int_equal(pending(f, "dev-a")->n, 0);
	assert_int_equal(store_order_get(f->gw.store, o.id, &r), 1);
	assert_int_equal(r.state, ORD_DISPATCHED);
	assert_string_equal(r.device, "dev-b");
	/* Anything else from dev-a about it is refused. */
	assert_int_equal(event(f, PROTO_EV_ACCEPT, "dev-a", 3, o.id, NULL), EV_REFUSED);
	assert_int_equal(event(f, PROTO_EV_DELIVERED, "dev-a", 4, o.id, push), EV_REFUSED);
	/* dev-b takes it to arrival, judged from the first dispatch. */
	assert_int_equal(event(f, PROTO_EV_DELIVERED, "dev-b", 1, o.id, push), EV_APPLIED);
	assert_int_equal(event(f, PROTO_EV_ARRIVE, "dev-b", 2, o.id, NULL), EV_APPLIED);
	assert_int_equal(store_order_get(f->gw.store, o.id, &r), 1);
	assert_int_equal(r.state, ORD_ARRIVED);
	assert_int_equal(r.arrived_ms - r.dispatched_ms, 15 * MIN);
	/* On site: no more reassignment. */
	assert_int_equal(order_reassign(&f->gw, o.id, "crew-a", "", &r, old_dev, &err),
	    GW_E_CONFLICT);
}

static void
test_reassign_hello_settles_cancel(void **state)
{
	struct fixture *f = *state;
	struct order o, r;
	struct gw_err err = { 0 };
	struct proto_event *hello = calloc(1, sizeof(*hello));
	char push[PROTO_ID_MAX], old_dev[PROTO_DEV_MAX], open[PROTO_OPEN_MAX][PROTO_ID_MAX];
	int nopen;

	assert_non_null(hello);
	add_crew(f, "crew-a", "dev-a", 0.02);
	add_crew(f, "crew-b", "dev-b", 0.005);
	create_at(f, SITE_LAT, SITE_LON, &o);
	dispatch(f, o.id, "crew-a", push);
	/* Reassigned before dev-a acked the push: the push is superseded too. */
	assert_int_equal(order_reassign(&f->gw, o.id, "crew-b", "", &r, old_dev, &err), GW_OK);
	assert_int_equal(pending(f, "dev-a")->n, 1);
	assert_string_equal(pending(f, "dev-a")->r[0].kind, "cancel");
	/* dev-a reconnects still holding it: the sync (not listing it) settles the cancel. */
	hello->type = PROTO_EV_HELLO;
	snprintf(hello->dev, sizeof(hello->dev), "dev-a");
	hello->nopen = 1;
	snprintf(hello->open[0], PROTO_ID_MAX, "%s", o.id);
	assert_int_equal(order_reconcile(&f->gw, hello, open, &nopen), 0);
	assert_int_equal(nopen, 0);
	assert_int_equal(pending(f, "dev-a")->n, 0);
	assert_int_equal(pending(f, "dev-b")->n, 1);
	free(hello);
}

struct kind_count {
	const char *kind;
	int n;
};

static int
count_cb(const struct tl_entry *e, void *arg)
{
	struct kind_count *k = arg;

	k->n += strcmp(e->kind, k->kind) == 0;
	return 0;
}

static int
count_kind(struct fixture *f, const char *id, const char *kind)
{
	struct kind_count k = { kind, 0 };

	assert_int_equal(store_tl_list(f->gw.store, id, count_cb, &k), 0);
	return k.n;
}

static void
test_link(void **state)
{
	struct fixture *f = *state;
	struct order o1, o2, o3, o4, r;
	struct gw_err err = { 0 };
	char dups[3][PROTO_ID_MAX], push[PROTO_ID_MAX];

	add_crew(f, "crew-a", "dev-a", 0.02);
	create_at(f, SITE_LAT, SITE_LON, &o1);
	create_at(f, SITE_LAT + 0.001, SITE_LON, &o2);
	create_at(f, SITE_LAT + 0.002, SITE_LON, &o3);
	create_at(f, SITE_LAT + 0.3, SITE_LON, &o4);
	/* All or nothing: an unknown id in the list declines nobody. */
	snprintf(dups[0], PROTO_ID_MAX, "%s", o2.id);
	snprintf(dups[1], PROTO_ID_MAX, "LC-19990101-0009");
	assert_int_equal(order_link(&f->gw, o1.id, dups, 2, "", &r, &err), GW_E_BAD);
	assert_string_equal(err.field, "duplicates[1]");
	assert_int_equal(store_order_get(f->gw.store, o2.id, &r), 1);
	assert_int_equal(r.state, ORD_RECORDED);
	snprintf(dups[1], PROTO_ID_MAX, "%s", o2.id);
	assert_int_equal(order_link(&f->gw, o1.id, dups, 2, "", &r, &err), GW_E_BAD);
	snprintf(dups[1], PROTO_ID_MAX, "%s", o1.id);
	assert_int_equal(order_link(&f->gw, o1.id, dups, 2, "", &r, &err), GW_E_BAD);
	/* Clusters: the three close reports, not the far one. */
	{
		cJSON *j;
		const cJSON *cl;

		assert_int_equal(board_clusters(&f->gw, 300, 60, &j, &err), GW_OK);
		assert_int_equal(cJSON_GetArraySize(item(j, "clusters")), 1);
		cl = cJSON_GetArrayItem(item(j, "clusters"), 0);
		assert_int_equal(cJSON_GetArraySize(item(cl, "orders")), 3);
		assert_string_equal(item(cl, "original")->valuestring, o1.id);
		assert_int_equal(cJSON_GetArraySize(item(cl, "duplicates")), 2);
		assert_int_equal((int)item(j, "singles")->valuedouble, 1);
		cJSON_Delete(j);
	}
	snprintf(dups[1], PROTO_ID_MAX, "%s", o3.id);
	assert_int_equal(order_link(&f->gw, o1.id, dups, 2, "same line", &r, &err), GW_OK);
	assert_int_equal(count_kind(f, o1.id, "linked"), 1);
	assert_int_equal(store_order_get(f->gw.store, o3.id, &r), 1);
	assert_int_equal(r.state, ORD_DECLINED);
	assert_int_equal(r.linked, 1);
	assert_string_equal(r.duplicate_of, o1.id);
	/* A declined order cannot be linked again. */
	assert_int_equal(order_link(&f->gw, o4.id, dups, 1, "", &r, &err), GW_E_CONFLICT);
	/* The original completes: each duplicate gets its own callback. */
	dispatch(f, o1.id, "crew-a", push);
	assert_int_equal(event(f, PROTO_EV_DELIVERED, "dev-a", 1, o1.id, push), EV_APPLIED);
	assert_int_equal(event(f, PROTO_EV_COMPLETE, "dev-a", 2, o1.id, NULL), EV_APPLIED);
	assert_int_equal(store_order_get(f->gw.store, o2.id, &r), 1);
	assert_int_equal(r.state, ORD_COMPLETED);
	assert_true(r.callback_due_ms > 0);
	assert_int_equal(store_order_get(f->gw.store, o3.id, &r), 1);
	assert_int_equal(r.state, ORD_COMPLETED);
}

static void
test_map(void **state)
{
	struct fixture *f = *state;
	struct order o;
	struct gw_err err = { 0 };
	struct maps_buf b;

	add_crew(f, "crew-a", "dev-a", 0.02);
	create_at(f, SITE_LAT, SITE_LON, &o);
	maps_buf_init(&b, BOARD_SVG_MAX);
	assert_int_equal(board_map_svg(&f->gw, 800, 600, BOARD_LANG_EN, &b, &err), GW_OK);
	assert_non_null(strstr(b.p, "<svg"));
	assert_non_null(strstr(b.p, o.id));
	assert_non_null(strstr(b.p, "crew-a"));
	assert_non_null(strstr(b.p, "</svg>"));
	maps_buf_free(&b);
}

/* Positions of dev every second from from_ms, n of them, on a zigzag from dlat
 * north of the site down to it. */
static void
add_track(struct fixture *f, const char *dev, int64_t from_ms, int n)
{
	struct position p;

	assert_int_equal(store_begin(f->gw.store), 0);
	for (int i = 0; i < n; i++) {
		memset(&p, 0, sizeof(p));
		snprintf(p.dev, sizeof(p.dev), "%s", dev);
		p.at_ms = p.rx_ms = from_ms + i * 1000LL;
		p.lat = SITE_LAT + 0.02 * (n - 1 - i) / (n - 1);
		p.lon = SITE_LON + ((i / 7) % 2 ? 0.002 : -0.002);
		p.eph_m = p.speed_mps = NAN;
		assert_int_equal(store_position_add(f->gw.store, &p), 0);
	}
	assert_int_equal(store_commit(f->gw.store), 0);
}

static int
polyline_points(const char *svg)
{
	const char *p = strstr(svg, "<polyline"), *q;
	int n = 0;

	if (p == NULL || (p = strstr(p, "points=\"")) == NULL)
		return 0;
	q = strchr(p + 8, '"');
	for (; p < q; p++)
		n += *p == ',';
	return n;
}

static void
test_map_order(void **state)
{
	struct fixture *f = *state;
	struct order o, o2;
	struct gw_err err = { 0 };
	struct maps_buf b;
	struct proto_event e;
	char push[PROTO_ID_MAX], want[160], t[CLOCK_FMT_MAX];
	static const char payload[] = "{}";
	int n;

	add_crew(f, "crew-a", "dev-a", 0.02);
	add_crew(f, "crew-b", "dev-b", 0.03);
	create_at(f, SITE_LAT, SITE_LON, &o);
	create_at(f, SITE_LAT + 0.01, SITE_LON + 0.01, &o2);
	maps_buf_init(&b, BOARD_SVG_MAX);
	/* unknown, malformed, another department's */
	assert_int_equal(board_map_order_svg(&f->gw, "LC-19990101-0001", NULL, 800, 600,
	    BOARD_LANG_EN, &b, &err), GW_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "LC-19990101-0001"));
	assert_int_equal(board_map_order_svg(&f->gw, "a b", NULL, 800, 600, BOARD_LANG_EN, &b,
	    &err), GW_E_BAD);
	assert_string_equal(err.field, "order");
	assert_int_equal(board_map_order_svg(&f->gw, o.id, "营销部", 800, 600, BOARD_LANG_EN,
	    &b, &err), GW_E_NOTFOUND);
	/* a complaint without a site: nothing to frame */
	{
		struct order_input in;
		struct order c;

		memset(&in, 0, sizeof(in));
		in.type = TYPE_COMPLAINT;
		in.category = 30;
		snprintf(in.address, sizeof(in.address), "营业厅");
		assert_int_equal(order_create(&f->gw, &in, &c, &err), GW_OK);
		assert_int_equal(board_map_order_svg(&f->gw, c.id, NULL, 800, 600, BOARD_LANG_EN,
		    &b, &err), GW_E_CONFLICT);
		assert_non_null(strstr(err.msg, "has no site"));
	}
	assert_int_equal(b.len, 0);
	/* Not dispatched: the site and its geofence, the other order dimmed, no track. */
	assert_int_equal(board_map_order_svg(&f->gw, o.id, NULL, 800, 600, BOARD_LANG_EN, &b,
	    &err), GW_OK);
	assert_non_null(strstr(b.p, "<circle class=\"geofence\""));
	snprintf(want, sizeof(want), "<circle data-order=\"%s\" cx=", o.id);
	assert_non_null(strstr(b.p, want));
	snprintf(want, sizeof(want), "<circle data-order=\"%s\" class=\"dim\"", o2.id);
	assert_non_null(strstr(b.p, want));
	assert_null(strstr(b.p, "<polyline"));
	assert_null(strstr(b.p, "data-crew"));
	maps_buf_free(&b);

	/* 4,500 positions on the way: thinned to at most BOARD_TRACK_MAX, the first
	 * and last kept (the marks' times); the GPS arrival at its fix. */
	dispatch(f, o.id, "crew-a", push);
	assert_int_equal(event(f, PROTO_EV_DELIVERED, "dev-a", 1, o.id, push), EV_APPLIED);
	add_track(f, "dev-a", T0 + 1000, 4500);
	vclock_advance(&f->vc, 76 * MIN);
	memset(&e, 0, sizeof(e));
	e.type = PROTO_EV_ARRIVE;
	snprintf(e.dev, sizeof(e.dev), "dev-a");
	e.seq = 2;
	proto_event_make_eid(&e);
	snprintf(e.order_id, sizeof(e.order_id), "%s", o.id);
	e.at_ms = clock_wall(&f->vc.clock);
	e.method = PROTO_ARRIVE_GPS;
	e.dist_m = 12;
	e.has_fix = 1;
	e.fix = (struct proto_fix){ .t_ms = e.at_ms, .lat = SITE_LAT + 0.0001, .lon = SITE_LON,
		.mode = 3, .eph_m = 5, .speed_mps = 0, .track_deg = NAN, .alt_m = NAN };
	assert_int_equal(order_event(&f->gw, "dev-a", &e, payload, sizeof(payload) - 1,
	    e.at_ms), EV_APPLIED);
	maps_buf_init(&b, BOARD_SVG_MAX);
	assert_int_equal(board_map_order_svg(&f->gw, o.id, NULL, 800, 600, BOARD_LANG_EN, &b,
	    &err), GW_OK);
	n = polyline_points(b.p);
	assert_true(n >= 2 && n <= BOARD_TRACK_MAX);
	assert_non_null(strstr(b.p, "4500 positions"));
	assert_non_null(strstr(b.p, ", thinned</title></polyline>"));
	snprintf(want, sizeof(want), "track start %s (Asia/Shanghai)",
	    clock_fmt_local(T0 + 1000, t, sizeof(t)));
	assert_non_null(strstr(b.p, want));
	snprintf(want, sizeof(want), "track end %s (Asia/Shanghai)",
	    clock_fmt_local(T0 + 4500 * 1000LL, t, sizeof(t)));
	assert_non_null(strstr(b.p, want));
	assert_non_null(strstr(b.p, "<g class=\"arrival\">"));
	assert_non_null(strstr(b.p, "gps, at the fix the device sent"));
	assert_non_null(strstr(b.p, "<g data-crew=\"crew-a\">"));
	assert_null(strstr(b.p, "crew-b"));
	maps_buf_free(&b);

	/* A manual arrival without a fix: the track's position nearest in time. */
	dispatch(f, o2.id, "crew-b", push);
	assert_int_equal(event(f, PROTO_EV_DELIVERED, "dev-b", 1, o2.id, push), EV_APPLIED);
	add_track(f, "dev-b", clock_wall(&f->vc.clock) + 1000, 30);
	vclock_advance(&f->vc, 10 * MIN);
	assert_int_equal(event(f, PROTO_EV_ARRIVE, "dev-b", 2, o2.id, NULL), EV_APPLIED);
	maps_buf_init(&b, BOARD_SVG_MAX);
	assert_int_equal(board_map_order_svg(&f->gw, o2.id, NULL, 800, 600, BOARD_LANG_EN, &b,
	    &err), GW_OK);
	assert_int_equal(polyline_points(b.p) >= 2, 1);
	assert_non_null(strstr(b.p, "manual, no fix sent: the track position at"));
	maps_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crew_state),
		cmocka_unit_test_setup_teardown(test_candidates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reassign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reassign_hello_settles_cancel, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_order, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
