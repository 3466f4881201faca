/*
 * test_gw_store.c: the gateway's store (gateway/store.c) and the order
 * operations over it (gateway/order.c), on a temporary database file and a
 * virtual clock.
 *
 * Covers: migrations idempotent on reopen; order ids in the Asia/Shanghai
 * date; create / dispatch in one transaction with an outbox row that stays
 * pending until the device's own "delivered" event; device events applied once
 * per event id; refusals (wrong device, unknown order) that record nothing on
 * the order; the append-only timeline and its ordering; the SLA limits copied
 * onto the order; the SLA tick writing one breach entry per stage; callback
 * outcomes; the hello reconcile. Issue 3: taxonomy checked on intake; every
 * department type forwarded, answered and called back on the working-day
 * calendar; a linked duplicate's own callback; planned outage hit and miss;
 * the 80 % warning, a late-arriving arrival event closing its stage as late
 * evidence, the 12 h delay-reason flag; archiving after the shift; an
 * alternative profile copied onto the order. Issue 9, group commit: nested
 * operations as savepoints; armed, a pass's operations in one transaction
 * that another connection does not see before store_group_end, a failed
 * operation rolling back only itself, the watchers told CLOSING then DONE; a
 * failing COMMIT (fault VFS) losing the whole group, watchers told FAILED,
 * the next group fine; a light transaction committed at once outside a group
 * and joining one inside.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../gateway/gateway.h"
#include "clock.h"
#include "log.h"
#include "loop.h"

#define MIN	60000LL
/* 2026-11-25 17:00:00 UTC = 2026-11-26 01:00 in Asia/Shanghai. */
#define T0	1795626000000LL

struct fixture {
	char		path[64];
	struct vclock	vc;
	struct gw_conf	conf;
	struct gw	gw;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (f == NULL)
		return -1;
	log_init("test", 1, 0);
	snprintf(f->path, sizeof(f->path), "/tmp/test_gw_store.XXXXXX");
	if ((fd = mkstemp(f->path)) == -1)
		return -1;
	close(fd);
	vclock_init(&f->vc, T0);
	f->conf.radius_m = 150;
	f->conf.resend_s = 5;
	f->conf.limits = (struct sla_limits){ .review_s = 180, .arrive_urban_min = 60,
		.arrive_rural_min = 120, .arrive_remote_min = 240, .complete_h = 12,
		.complete_meter_h = 24, .callback_min = 10 };
	snprintf(f->conf.limits.name, sizeof(f->conf.limits.name), "default");
	f->gw.conf = &f->conf;
	f->gw.limits = &f->conf.limits;
	f->gw.clock = &f->vc.clock;
	f->gw.zone_default = MAPS_ZONE_URBAN;
	if ((f->gw.store = store_open(f->path)) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[96];

	store_close(f->gw.store);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	free(f);
	return 0;
}

static void
create(struct fixture *f, int category, struct order *o)
{
	struct order_input in;
	struct gw_err err = { 0 };

	memset(&in, 0, sizeof(in));
	in.category = category;
	in.has_site = 1;
	snprintf(in.address, sizeof(in.address), "呼和浩特市新城区东风路12号");
	in.lat = 40.8423;
	in.lon = 111.7497;
	in.crs = MAPS_WGS84;
	assert_int_equal(order_create(&f->gw, &in, o, &err), GW_OK);
}

static void
add_crew(struct fixture *f, const char *id, const char *dev)
{
	struct crew c;

	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.name, sizeof(c.name), "crew %s", id);
	snprintf(c.device, sizeof(c.device), "%s", dev);
	assert_int_equal(store_begin(f->gw.store), 0);
	assert_int_not_equal(store_crew_put(f->gw.store, &c), -1);
	assert_int_equal(store_commit(f->gw.store), 0);
}

static void
dispatch(struct fixture *f, const char *id, const char *crew, struct order *o,
    char msg_id[PROTO_ID_MAX])
{
	struct review_input in;
	struct gw_err err = { 0 };

	memset(&in, 0, sizeof(in));
	in.dispatch = 1;
	snprintf(in.crew, sizeof(in.crew), "%s", crew);
	assert_int_equal(order_review(&f->gw, id, &in, o, msg_id, &err), GW_OK);
}

static void
ev_init(struct proto_event *e, enum proto_ev_type type, const char *dev, uint64_t seq,
    const char *order_id, int64_t at)
{
	memset(e, 0, sizeof(*e));
	e->type = type;
	snprintf(e->dev, sizeof(e->dev), "%s", dev);
	e->seq = seq;
	proto_event_make_eid(e);
	snprintf(e->order_id, sizeof(e->order_id), "%s", order_id);
	e->at_ms = at;
	e->dist_m = 40;
}

static enum ev_disposition
send_ev(struct fixture *f, const char *topic_dev, const struct proto_event *e)
{
	static const char payload[] = "{}";

	return order_event(&f->gw, topic_dev, e, payload, sizeof(payload) - 1,
	    clock_wall(&f->vc.clock));
}

struct kinds {
	char	k[32][GW_WORD_MAX];
	int	seq[32];
	int	n;
};

static int
collect_kind(const struct tl_entry *e, void *arg)
{
	struct kinds *k = arg;

	if (k->n < 32) {
		snprintf(k->k[k->n], GW_WORD_MAX, "%s", e->kind);
		k->seq[k->n++] = e->seq;
	}
	return 0;
}

static void
timeline(struct fixture *f, const char *id, struct kinds *k)
{
	memset(k, 0, sizeof(*k));
	assert_int_equal(store_tl_list(f->gw.store, id, collect_kind, k), 0);
}

static int
count_pending(const struct outbox_row *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static int
pending(struct fixture *f, const char *dev)
{
	int n = 0;

	assert_int_equal(store_outbox_pending(f->gw.store, dev, INT64_MAX, count_pending, &n), 0);
	return n;
}

static void
test_migrations_reopen(void **state)
{
	struct fixture *f = *state;
	struct order o, back;

	assert_int_equal(store_version(f->gw.store), STORE_SCHEMA_VERSION);
	create(f, 2, &o);
	store_close(f->gw.store);
	f->gw.store = store_open(f->path);
	assert_non_null(f->gw.store);
	assert_int_equal(store_version(f->gw.store), STORE_SCHEMA_VERSION);
	assert_int_equal(store_order_get(f->gw.store, o.id, &back), 1);
	assert_string_equal(back.address, o.address);
	assert_int_equal(back.created_ms, T0);
	assert_int_equal(store_order_get(f->gw.store, "LC-19990101-0001", &back), 0);
}

static void
test_order_ids(void **state)
{
	struct fixture *f = *state;
	struct order a, b;

	create(f, 2, &a);
	create(f, 2, &b);
	/* 17:00 UTC is already the next day in Shanghai. */
	assert_string_equal(a.id, "LC-20261126-0001");
	assert_string_equal(b.id, "LC-20261126-0002");
	assert_int_equal(a.state, ORD_RECORDED);
	assert_int_equal(a.next_due_ms, T0 + 180 * 1000);
	assert_int_equal(a.next_stage, SLA_REVIEW);
}

/* Run sql on the test's database through a second connection (WAL lets it). */
static void
exec_sql(struct fixture *f, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The day's counter (schema 5): numbers past 9999 keep rising (the key's text
 * order is not their order), a rolled-back intake gives its number back, and
 * a day without a counter row (a database from before schema 5) starts after
 * the highest number stored. */
static void
test_order_id_counter(void **state)
{
	struct fixture *f = *state;
	struct order a;
	char id[PROTO_ID_MAX];

	create(f, 2, &a);
	assert_string_equal(a.id, "LC-20261126-0001");
	/* as if 9,999 orders had come in today, before the counter existed */
	exec_sql(f, "UPDATE orders SET id = 'LC-20261126-9999' WHERE id = 'LC-20261126-0001';"
	    "DELETE FROM order_seq;");
	create(f, 2, &a);
	assert_string_equal(a.id, "LC-20261126-10000");
	create(f, 2, &a);
	assert_string_equal(a.id, "LC-20261126-10001");

	assert_int_equal(store_begin(f->gw.store), 0);
	assert_int_equal(store_order_next_id(f->gw.store, T0, id, sizeof(id)), 0);
	assert_string_equal(id, "LC-20261126-10002");
	store_rollback(f->gw.store);
	create(f, 2, &a);
	assert_string_equal(a.id, "LC-20261126-10002");

	/* the next local day starts again at 1 */
	vclock_advance(&f->vc, 86400000LL);
	create(f, 2, &a);
	assert_string_equal(a.id, "LC-20261127-0001");
}

static void
test_profile_copied(void **state)
{
	struct fixture *f = *state;
	struct order o, back;
	struct sla_result r[SLA_NSTAGES];
	char msg_id[PROTO_ID_MAX];

	add_crew(f, "crew-north", "dev-01");
	create(f, 6, &o);			/* meter fault: 24 h */
	assert_int_equal(o.lim.arrive_min, 60);
	assert_int_equal(o.lim.complete_min, 24 * 60);
	/* A later config change does not rewrite this order's limits. */
	f->conf.limits.arrive_urban_min = 30;
	f->conf.limits.complete_meter_h = 6;
	dispatch(f, o.id, "crew-north", &back, msg_id);
	assert_int_equal(back.lim.arrive_min, 60);
	assert_int_equal(store_order_get(f->gw.store, o.id, &back), 1);
	assert_int_equal(back.lim.complete_min, 24 * 60);
	sla_eval(&back, &f->vc.clock, r);
	assert_int_equal(r[SLA_ARRIVAL].due_ms, back.dispatched_ms + 60 * MIN);
	assert_int_equal(r[SLA_COMPLETION].due_ms, back.dispatched_ms + 24 * 60 * MIN);
}

static void
test_dispatch_outbox_delivered(void **state)
{
	struct fixture *f = *state;
	struct order o, d;
	struct outbox_row *row = malloc(sizeof(*row));
	struct proto_event e;
	struct proto_down down;
	struct proto_error perr;
	struct kinds k;
	char msg_id[PROTO_ID_MAX];

	assert_non_null(row);
	add_crew(f, "crew-north", "dev-01");
	create(f, 2, &o);
	vclock_advance(&f->vc, MIN);
	dispatch(f, o.id, "crew-north", &d, msg_id);
	assert_int_equal(d.state, ORD_DISPATCHED);
	assert_string_equal(d.device, "dev-01");
	assert_int_equal(d.dispatched_ms, T0 + MIN);
	assert_int_equal(d.next_stage, SLA_ARRIVAL);
	assert_int_equal(d.next_due_ms, T0 + MIN + 60 * MIN);
	/* The push is in the outbox, decodable, and pending. */
	assert_int_equal(store_outbox_get(f->gw.store, msg_id, row), 1);
	assert_int_equal(proto_decode_down(row->payload, strlen(row->payload), &down, &perr),
	    PROTO_OK);
	assert_int_equal(down.type, PROTO_DOWN_ORDER);
	assert_string_equal(down.msg_id, msg_id);
	assert_string_equal(down.order.id, o.id);
	assert_int_equal(down.order.arrive_by_ms, T0 + MIN + 60 * MIN);
	assert_int_equal(pending(f, "dev-01"), 1);
	/* A broker PUBACK changes nothing; being sent changes nothing either. */
	assert_int_equal(store_outbox_sent(f->gw.store, msg_id, T0 + MIN), 0);
	assert_int_equal(pending(f, "dev-01"), 1);
	/* Only the device's own "delivered" acks it. */
	vclock_advance(&f->vc, 2000);
	ev_init(&e, PROTO_EV_DELIVERED, "dev-01", 1, o.id, T0 + MIN + 1500);
	snprintf(e.msg_id, sizeof(e.msg_id), "%s", msg_id);
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
	assert_int_equal(pending(f, "dev-01"), 0);
	assert_int_equal(store_order_get(f->gw.store, o.id, &d), 1);
	assert_int_equal(d.state, ORD_DELIVERED);
	assert_int_equal(d.delivered_ms, T0 + MIN + 1500);
	/* The same event again: acked as a duplicate, applied once. */
	assert_int_equal(send_ev(f, "dev-01", &e), EV_DUPLICATE);
	timeline(f, o.id, &k);
	assert_int_equal(k.n, 3);
	assert_string_equal(k.k[0], "recorded");
	assert_string_equal(k.k[1], "dispatched");
	assert_string_equal(k.k[2], "delivered");
	/* Dispatching twice is a conflict and adds nothing. */
	{
		struct review_input in = { .dispatch = 1 };
		struct gw_err err = { 0 };

		snprintf(in.crew, sizeof(in.crew), "crew-north");
		assert_int_equal(order_review(&f->gw, o.id, &in, &d, msg_id, &err),
		    GW_E_CONFLICT);
		assert_int_equal(pending(f, "dev-01"), 0);
	}
	free(row);
}

static void
test_refusals(void **state)
{
	struct fixture *f = *state;
	struct order o, d;
	struct proto_event e;
	struct kinds k;
	char msg_id[PROTO_ID_MAX];

	add_crew(f, "crew-north", "dev-01");
	add_crew(f, "crew-south", "dev-02");
	create(f, 2, &o);
	dispatch(f, o.id, "crew-north", &d, msg_id);
	/* dev-02 claims to be dev-01 on its own topic: refused, not recorded. */
	ev_init(&e, PROTO_EV_ARRIVE, "dev-01", 5, o.id, T0 + 10 * MIN);
	assert_int_equal(send_ev(f, "dev-02", &e), EV_REFUSED);
	assert_int_equal(store_event_seen(f->gw.store, e.eid), 0);
	/* dev-02 reports on dev-01's order: refused, recorded as refused. */
	ev_init(&e, PROTO_EV_ARRIVE, "dev-02", 1, o.id, T0 + 10 * MIN);
	assert_int_equal(send_ev(f, "dev-02", &e), EV_REFUSED);
	assert_int_equal(send_ev(f, "dev-02", &e), EV_DUPLICATE);
	/* An unknown order, an unknown device. */
	ev_init(&e, PROTO_EV_PROGRESS, "dev-01", 1, "LC-20990101-0001", T0);
	assert_int_equal(send_ev(f, "dev-01", &e), EV_REFUSED);
	ev_init(&e, PROTO_EV_PROGRESS, "dev-99", 1, o.id, T0);
	assert_int_equal(send_ev(f, "dev-99", &e), EV_REFUSED);
	/* Nothing of that is on the order. */
	timeline(f, o.id, &k);
	assert_int_equal(k.n, 2);
	assert_int_equal(store_order_get(f->gw.store, o.id, &d), 1);
	assert_int_equal(d.state, ORD_DISPATCHED);
	assert_int_equal(d.arrived_ms, 0);
}

static void
test_full_loop(void **state)
{
	struct fixture *f = *state;
	struct order o, d;
	struct proto_event e;
	struct kinds k;
	struct callback_input cb;
	struct gw_err err = { 0 };
	char msg_id[PROTO_ID_MAX];
	static const char *const want[] = { "recorded", "dispatched", "delivered", "accepted",
		"arrived", "delay", "completed", "callback_due", "arrived", "callback" };

	add_crew(f, "crew-north", "dev-01");
	create(f, 2, &o);
	vclock_advance(&f->vc, MIN);
	dispatch(f, o.id, "crew-north", &d, msg_id);
	ev_init(&e, PROTO_EV_DELIVERED, "dev-01", 1, o.id, T0 + MIN + 500);
	snprintf(e.msg_id, sizeof(e.msg_id), "%s", msg_id);
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
	ev_init(&e, PROTO_EV_ACCEPT, "dev-01", 2, o.id, T0 + 2 * MIN);
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
	vclock_init(&f->vc, T0 + 40 * MIN + 2000);	/* events reach us as they happen */
	ev_init(&e, PROTO_EV_ARRIVE, "dev-01", 3, o.id, T0 + 40 * MIN);
	e.method = PROTO_ARRIVE_GPS;
	e.has_fix = 1;
	e.fix.lat = 40.8423;
	e.fix.lon = 111.7497;
	e.ntrack = 1;
	e.track[0] = e.fix;
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
	vclock_init(&f->vc, T0 + 60 * MIN);
	ev_init(&e, PROTO_EV_DELAY, "dev-01", 4, o.id, T0 + 60 * MIN);
	e.reason = PROTO_DELAY_MATERIALS;
	e.eta_ms = T0 + 300 * MIN;
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
	/* The gateway learns of the completion 20 min after it happened. */
	vclock_init(&f->vc, T0 + 140 * MIN);
	ev_init(&e, PROTO_EV_COMPLETE, "dev-01", 5, o.id, T0 + 120 * MIN);
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
	assert_int_equal(store_order_get(f->gw.store, o.id, &d), 1);
	assert_int_equal(d.state, ORD_COMPLETED);
	assert_int_equal(d.arrived_ms, T0 + 40 * MIN);
	assert_string_equal(d.arrive_method, "gps");
	assert_string_equal(d.delay_reason, "materials");
	assert_int_equal(d.completed_ms, T0 + 120 * MIN);
	assert_int_equal(d.completed_rx_ms, T0 + 140 * MIN);
	assert_int_equal(d.callback_due_ms, T0 + 150 * MIN);
	assert_int_equal(d.next_stage, SLA_CALLBACK);
	assert_int_equal(d.next_due_ms, T0 + 150 * MIN);
	/* An arrive after completion: on the timeline only. */
	ev_init(&e, PROTO_EV_ARRIVE, "dev-01", 6, o.id, T0 + 130 * MIN);
	e.method = PROTO_ARRIVE_MANUAL;
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
	assert_int_equal(store_order_get(f->gw.store, o.id, &d), 1);
	assert_int_equal(d.state, ORD_COMPLETED);
	assert_int_equal(d.arrived_ms, T0 + 40 * MIN);
	/* The callback list has it; the agent closes it. */
	memset(&cb, 0, sizeof(cb));
	snprintf(cb.outcome, sizeof(cb.outcome), "restored_satisfied");
	cb.rating = 5;
	vclock_advance(&f->vc, 5 * MIN);
	assert_int_equal(order_callback(&f->gw, o.id, &cb, &d, &err), GW_OK);
	assert_int_equal(d.state, ORD_CLOSED);
	assert_int_equal(d.next_due_ms, 0);
	assert_int_equal(order_callback(&f->gw, o.id, &cb, &d, &err), GW_E_CONFLICT);
	/* The timeline in order, seq 1.. without gaps. */
	timeline(f, o.id, &k);
	assert_int_equal(k.n, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < k.n; i++) {
		assert_string_equal(k.k[i], want[i]);
		assert_int_equal(k.seq[i], i + 1);
	}
}

static void
test_timeline_append_only(void **state)
{
	struct fixture *f = *state;
	struct order o;
	sqlite3 *db;
	char *msg = NULL;

	create(f, 2, &o);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE timeline SET kind = 'x'", NULL, NULL,
	    &msg), SQLITE_OK);
	sqlite3_free(msg);
	msg = NULL;
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM timeline", NULL, NULL, &msg),
	    SQLITE_OK);
	sqlite3_free(msg);
	sqlite3_close(db);
}

static void
test_sla_tick_breach_once(void **state)
{
	struct fixture *f = *state;
	struct order o, d;
	struct kinds k;
	char msg_id[PROTO_ID_MAX];
	int breaches = 0;

	add_crew(f, "crew-north", "dev-01");
	create(f, 2, &o);
	assert_int_equal(order_sla_tick(&f->gw), 0);
	/* Review late: 4 min. */
	vclock_advance(&f->vc, 4 * MIN);
	assert_int_equal(order_sla_tick(&f->gw), 1);
	assert_int_equal(order_sla_tick(&f->gw), 0);
	dispatch(f, o.id, "crew-north", &d, msg_id);
	assert_int_equal(d.next_stage, SLA_ARRIVAL);
	/* No arrival within 60 min. */
	vclock_advance(&f->vc, 61 * MIN);
	assert_int_equal(order_sla_tick(&f->gw), 1);
	assert_int_equal(order_sla_tick(&f->gw), 0);
	assert_int_equal(store_order_get(f->gw.store, o.id, &d), 1);
	assert_int_equal(d.next_stage, SLA_COMPLETION);
	assert_int_equal(d.next_due_ms, d.dispatched_ms + 12 * 60 * MIN);
	timeline(f, o.id, &k);
	for (int i = 0; i < k.n; i++)
		breaches += strcmp(k.k[i], "breach") == 0;
	assert_int_equal(breaches, 2);
}

static void
test_customer_internal_and_decline(void **state)
{
	struct fixture *f = *state;
	struct order o, d;
	struct review_input in;
	struct gw_err err = { 0 };
	char msg_id[PROTO_ID_MAX], id2[PROTO_ID_MAX];

	add_crew(f, "crew-north", "dev-01");
	create(f, 7, &o);
	/* 第十五条 (四): declined at intake, advice given; never dispatched. */
	assert_int_equal(o.state, ORD_DECLINED);
	assert_string_equal(o.decline_reason, "customer_internal");
	memset(&in, 0, sizeof(in));
	in.dispatch = 1;
	snprintf(in.crew, sizeof(in.crew), "crew-north");
	assert_int_equal(order_review(&f->gw, o.id, &in, &d, msg_id, &err), GW_E_CONFLICT);
	assert_int_equal(pending(f, "dev-01"), 0);
	snprintf(in.crew, sizeof(in.crew), "crew-nobody");
	create(f, 2, &d);
	snprintf(id2, sizeof(id2), "%s", d.id);
	assert_int_equal(order_review(&f->gw, d.id, &in, &d, msg_id, &err), GW_E_NOTFOUND);
	assert_string_equal(err.field, "crew");
	memset(&in, 0, sizeof(in));
	snprintf(in.reason, sizeof(in.reason), "customer_internal");
	assert_int_equal(order_review(&f->gw, o.id, &in, &d, msg_id, &err), GW_E_CONFLICT);
	assert_int_equal(order_review(&f->gw, id2, &in, &d, msg_id, &err), GW_OK);
	assert_int_equal(d.state, ORD_DECLINED);
	assert_int_equal(d.next_due_ms, 0);
	assert_int_equal(store_order_count_open(f->gw.store), 0);
}

static void
test_hello_reconcile(void **state)
{
	struct fixture *f = *state;
	struct order o, d;
	struct proto_event *hello = calloc(1, sizeof(*hello));
	struct proto_event e;
	char open[PROTO_OPEN_MAX][PROTO_ID_MAX];
	char msg_id[PROTO_ID_MAX];
	int nopen = -1;

	assert_non_null(hello);
	add_crew(f, "crew-north", "dev-01");
	create(f, 2, &o);
	dispatch(f, o.id, "crew-north", &d, msg_id);
	ev_init(hello, PROTO_EV_HELLO, "dev-01", 1, "", T0);
	/* A push is pending: the hello lists nothing, no second push is made. */
	assert_int_equal(order_reconcile(&f->gw, hello, open, &nopen), 0);
	assert_int_equal(nopen, 1);
	assert_string_equal(open[0], o.id);
	assert_int_equal(pending(f, "dev-01"), 1);
	/* Delivered, then the device lost it (wiped journal): pushed again. */
	ev_init(&e, PROTO_EV_DELIVERED, "dev-01", 2, o.id, T0);
	snprintf(e.msg_id, sizeof(e.msg_id), "%s", msg_id);
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
	assert_int_equal(pending(f, "dev-01"), 0);
	assert_int_equal(order_reconcile(&f->gw, hello, open, &nopen), 0);
	assert_int_equal(pending(f, "dev-01"), 1);
	/* The device holds it: nothing to push. */
	hello->nopen = 1;
	snprintf(hello->open[0], PROTO_ID_MAX, "%s", o.id);
	assert_int_equal(order_reconcile(&f->gw, hello, open, &nopen), 0);
	assert_int_equal(pending(f, "dev-01"), 1);
	free(hello);
}

/* The regulation's full profile, as gateway.conf's defaults give it. */
static void
regulation(struct fixture *f)
{
	f->conf.limits = (struct sla_limits){ .name = "default", .answer_s = 12,
		.record_repair_s = 180, .record_other_s = 300, .review_s = 180,
		.review_other_s = 300, .arrive_urban_min = 60, .arrive_rural_min = 120,
		.arrive_remote_min = 240, .complete_h = 12, .complete_meter_h = 24,
		.consult_wd = 1, .complaint_wd = 10, .appeal_wd = 3, .install_wd = 5,
		.callback_min = 10, .archive_min = 60, .warn_pct = 80 };
	f->conf.shifts = (struct gw_shifts){ 3, { 0, 8 * 60, 16 * 60 } };
}

static enum gw_status
create_typed(struct fixture *f, enum order_type t, int category, struct order *o,
    struct gw_err *err)
{
	struct order_input in;

	memset(&in, 0, sizeof(in));
	in.type = t;
	in.category = category;
	snprintf(in.address, sizeof(in.address), "呼和浩特市赛罕区");
	return order_create(&f->gw, &in, o, err);
}

static int
has_kind(struct fixture *f, const char *id, const char *kind)
{
	struct kinds k;
	int n = 0;

	timeline(f, id, &k);
	for (int i = 0; i < k.n; i++)
		n += strcmp(k.k[i], kind) == 0;
	return n;
}

static void
test_taxonomy_on_intake(void **state)
{
	struct fixture *f = *state;
	struct gw_err err = { 0 };
	struct order o;

	regulation(f);
	assert_int_equal(create_typed(f, TYPE_COMPLAINT, 2, &o, &err), GW_E_BAD);
	assert_string_equal(err.field, "category");
	assert_int_equal(create_typed(f, TYPE_REPAIR, 45, &o, &err), GW_E_BAD);
	assert_int_equal(create_typed(f, TYPE_REPAIR, 2, &o, &err), GW_E_BAD);
	assert_string_equal(err.field, "site");
	assert_int_equal(store_order_count_open(f->gw.store), 0);
	assert_int_equal(create_typed(f, TYPE_COMPLAINT, 29, &o, &err), GW_OK);
	assert_int_equal(o.grade, GRADE_IMPORTANT);
	assert_int_equal(o.lim.handle_wd, 10);
	assert_int_equal(o.lim.review_s, 300);
	assert_int_equal(create_typed(f, TYPE_QUERY, 15, &o, &err), GW_OK);
	assert_int_equal(o.state, ORD_CLOSED);	/* answered on the call */
	assert_int_equal(o.lim.callback_min, 0);
}

/* Every type that goes to a department: forward, result, callback. */
static void
test_department_types(void **state)
{
	static const struct { enum order_type t; int cat, wd; } cases[] = {
		{ TYPE_CONSULTATION, 10, 1 }, { TYPE_COMPLAINT, 18, 10 }, { TYPE_REPORT, 40, 10 },
		{ TYPE_APPEAL, 34, 3 }, { TYPE_SUGGESTION, 41, 3 }, { TYPE_OPINION, 42, 3 },
		{ TYPE_PRAISE, 43, 3 }, { TYPE_INSTALLATION, 44, 5 },
	};
	struct fixture *f = *state;
	struct calendar *cal = NULL;
	char err_s[256];
	struct gw_err err = { 0 };
	struct review_input rv;
	struct result_input res;
	struct callback_input cb;
	struct order o, d;
	struct sla_result r[SLA_NSTAGES];
	char msg_id[PROTO_ID_MAX];

	regulation(f);
	assert_int_equal(calendar_load("gateway/data/calendar.conf", &cal, err_s,
	    sizeof(err_s)), 0);
	f->gw.cal = cal;
	/* Fri 2026-02-13 09:00 Asia/Shanghai, before the Spring Festival. */
	vclock_init(&f->vc, 1770944400000LL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(create_typed(f, cases[i].t, cases[i].cat, &o, &err), GW_OK);
		assert_int_equal(o.lim.handle_wd, cases[i].wd);
		memset(&rv, 0, sizeof(rv));
		rv.dispatch = 1;
		snprintf(rv.crew, sizeof(rv.crew), "crew-north");
		/* A department's order is not dispatched to a crew. */
		assert_int_equal(order_review(&f->gw, o.id, &rv, &d, msg_id, &err), GW_E_CONFLICT);
		snprintf(rv.dept, sizeof(rv.dept), "市场营销部");
		vclock_advance(&f->vc, 2 * MIN);
		assert_int_equal(order_review(&f->gw, o.id, &rv, &d, msg_id, &err), GW_OK);
		assert_int_equal(d.state, ORD_FORWARDED);
		assert_int_equal(d.handle_due_ms,
		    calendar_add_workdays(cal, d.forwarded_ms, cases[i].wd));
		sla_eval(&d, &f->vc.clock, r);
		assert_int_equal(r[SLA_REVIEW].verdict, SLA_MET);
		assert_int_equal(r[SLA_HANDLING].verdict, SLA_PENDING);
		assert_int_equal(r[SLA_ARRIVAL].verdict, SLA_NA);
		assert_int_equal(r[SLA_COMPLETION].verdict, SLA_NA);
		memset(&res, 0, sizeof(res));
		assert_int_equal(order_result(&f->gw, o.id, &res, &d, &err), GW_E_BAD);
		snprintf(res.text, sizeof(res.text), "已答复");
		vclock_advance(&f->vc, MIN);
		assert_int_equal(order_result(&f->gw, o.id, &res, &d, &err), GW_OK);
		assert_int_equal(d.state, ORD_COMPLETED);
		assert_int_equal(d.callback_due_ms, clock_wall(&f->vc.clock) + 10 * MIN);
		sla_eval(&d, &f->vc.clock, r);
		assert_int_equal(r[SLA_HANDLING].verdict, SLA_MET);
		memset(&cb, 0, sizeof(cb));
		snprintf(cb.outcome, sizeof(cb.outcome), "restored_satisfied");
		cb.rating = 5;
		assert_int_equal(order_callback(&f->gw, o.id, &cb, &d, &err), GW_OK);
		assert_int_equal(d.state, ORD_CLOSED);
		assert_int_not_equal(d.finished_ms, 0);
	}
	/* The 10-working-day complaint forwarded on Fri 13 Feb is due at the end
	 * of Thu 5 Mar (the README example of the calendar facts). */
	vclock_init(&f->vc, 1770944400000LL);
	assert_int_equal(create_typed(f, TYPE_COMPLAINT, 24, &o, &err), GW_OK);
	assert_int_equal(order_review(&f->gw, o.id, &rv, &d, msg_id, &err), GW_OK);
	assert_int_equal(d.handle_due_ms, 1772726400000LL);	/* 2026-03-06 00:00 +08 */
	f->gw.cal = NULL;
	calendar_free(cal);
}

static void
test_duplicate_linked(void **state)
{
	struct fixture *f = *state;
	struct order o, dup, d;
	struct review_input rv;
	struct proto_event e;
	struct gw_err err = { 0 };
	char msg_id[PROTO_ID_MAX];

	regulation(f);
	add_crew(f, "crew-north", "dev-01");
	create(f, 2, &o);
	dispatch(f, o.id, "crew-north", &d, msg_id);
	create(f, 2, &dup);
	memset(&rv, 0, sizeof(rv));
	snprintf(rv.reason, sizeof(rv.reason), "duplicate");
	snprintf(rv.duplicate_of, sizeof(rv.duplicate_of), "%s", o.id);
	assert_int_equal(order_review(&f->gw, dup.id, &rv, &d, msg_id, &err), GW_OK);
	assert_int_equal(d.state, ORD_DECLINED);
	assert_int_equal(d.linked, 1);
	assert_int_equal(pending(f, "dev-01"), 1);	/* no second dispatch */
	vclock_advance(&f->vc, 90 * MIN);
	ev_init(&e, PROTO_EV_COMPLETE, "dev-01", 1, o.id, clock_wall(&f->vc.clock) - 1000);
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
	/* The linked caller gets their own callback. */
	assert_int_equal(store_order_get(f->gw.store, dup.id, &d), 1);
	assert_int_equal(d.state, ORD_COMPLETED);
	assert_int_equal(d.callback_due_ms, clock_wall(&f->vc.clock) + 10 * MIN);
	assert_int_equal(has_kind(f, dup.id, "callback_due"), 1);
	assert_int_equal(has_kind(f, dup.id, "dispatched"), 0);
	/* A duplicate of a completed order is a plain decline. */
	create(f, 2, &dup);
	assert_int_equal(order_review(&f->gw, dup.id, &rv, &d, msg_id, &err), GW_OK);
	assert_int_equal(d.linked, 0);
}

static void
test_outage_hit_miss(void **state)
{
	struct fixture *f = *state;
	struct outage ot;
	struct order o;
	struct gw_err err = { 0 };

	regulation(f);
	memset(&ot, 0, sizeof(ot));
	snprintf(ot.name, sizeof(ot.name), "东风路10kV检修");
	ot.lat = 40.8423;
	ot.lon = 111.7497;
	ot.radius_m = 500;
	ot.start_ms = T0 - 60 * MIN;
	ot.end_ms = T0 + 120 * MIN;
	ot.radius_m = 0;
	assert_int_equal(order_outage_add(&f->gw, &ot, &err), GW_E_BAD);
	assert_string_equal(err.field, "radius_m");
	ot.radius_m = 500;
	assert_int_equal(order_outage_add(&f->gw, &ot, &err), GW_OK);
	assert_true(ot.id > 0);
	/* Hit: inside the circle and the window. */
	create(f, 2, &o);
	assert_int_equal(o.state, ORD_DECLINED);
	assert_string_equal(o.decline_reason, "planned_outage");
	assert_int_equal(o.outage_id, ot.id);
	assert_int_equal(has_kind(f, o.id, "dispatched"), 0);
	/* Miss: after the window. */
	vclock_advance(&f->vc, 121 * MIN);
	create(f, 2, &o);
	assert_int_equal(o.state, ORD_RECORDED);
	assert_int_equal(o.outage_id, 0);
	assert_int_equal(order_outage_find(&f->gw, 40.8423, 111.7497, T0, &ot), 1);
	assert_int_equal(order_outage_find(&f->gw, 40.90, 111.7497, T0, &ot), 0);
}

static void
test_warning_breach_delay_flag(void **state)
{
	struct fixture *f = *state;
	struct order o, d;
	struct proto_event e;
	char msg_id[PROTO_ID_MAX];

	regulation(f);
	add_crew(f, "crew-north", "dev-01");
	create(f, 2, &o);			/* urban: 60 min */
	dispatch(f, o.id, "crew-north", &d, msg_id);
	assert_int_equal(d.next_due_ms, d.dispatched_ms + 48 * MIN);	/* 80 % warning */
	vclock_advance(&f->vc, 49 * MIN);
	assert_int_equal(order_sla_tick(&f->gw), 1);
	assert_int_equal(has_kind(f, o.id, "warning"), 1);
	vclock_advance(&f->vc, 12 * MIN);
	assert_int_equal(order_sla_tick(&f->gw), 1);
	assert_int_equal(has_kind(f, o.id, "breach"), 1);
	/* The arrival at 55 min reaches us at 70 min: it closes the stage, met,
	 * marked as late evidence. */
	vclock_advance(&f->vc, 9 * MIN);
	ev_init(&e, PROTO_EV_ARRIVE, "dev-01", 1, o.id, d.dispatched_ms + 55 * MIN);
	e.method = PROTO_ARRIVE_MANUAL;
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
	assert_int_equal(store_order_get(f->gw.store, o.id, &d), 1);
	{
		struct sla_result r[SLA_NSTAGES];

		sla_eval(&d, &f->vc.clock, r);
		assert_int_equal(r[SLA_ARRIVAL].verdict, SLA_MET);
		assert_true(r[SLA_ARRIVAL].late);
	}
	/* 12 h without completion and without a delay reason: flagged. */
	vclock_init(&f->vc, d.dispatched_ms + 12 * 60 * MIN + MIN);
	assert_true(order_sla_tick(&f->gw) >= 1);
	assert_int_equal(store_order_get(f->gw.store, o.id, &d), 1);
	assert_int_not_equal(d.delay_requested_ms, 0);
	assert_int_equal(has_kind(f, o.id, "delay_requested"), 1);
	assert_int_equal(order_sla_tick(&f->gw), 0);
	assert_int_equal(has_kind(f, o.id, "delay_requested"), 1);
}

static void
test_archive_after_shift(void **state)
{
	struct fixture *f = *state;
	struct order a, b, d;
	struct gw_err err = { 0 };
	int n;

	regulation(f);
	/* 2026-11-26 01:00 local: the 00:00-08:00 shift. Two queries (closed at intake). */
	assert_int_equal(create_typed(f, TYPE_QUERY, 15, &a, &err), GW_OK);
	assert_int_equal(create_typed(f, TYPE_QUERY, 16, &b, &err), GW_OK);
	assert_int_equal(a.shift_end_ms, a.shift_ms + 8 * 60 * MIN);
	assert_int_equal(a.archive_start_ms, 0);
	assert_int_equal(order_archive(&f->gw, TYPE_QUERY, a.shift_ms, &n, &err), GW_E_CONFLICT);
	/* The shift ends at 08:00: the tick starts the archive clock. */
	vclock_init(&f->vc, a.shift_end_ms + MIN);
	assert_true(order_sla_tick(&f->gw) >= 0);
	assert_int_equal(store_order_get(f->gw.store, b.id, &d), 1);
	assert_int_equal(d.archive_start_ms, a.shift_end_ms);
	assert_int_equal(d.next_due_ms, a.shift_end_ms + 48 * MIN);
	assert_int_equal(order_archive(&f->gw, TYPE_QUERY, a.shift_ms, &n, &err), GW_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_order_get(f->gw.store, a.id, &d), 1);
	assert_int_not_equal(d.archived_ms, 0);
	assert_int_equal(d.next_due_ms, 0);
}

static void
test_alternative_profile(void **state)
{
	struct fixture *f = *state;
	struct order o;

	regulation(f);
	f->conf.profiles[0] = f->conf.limits;
	snprintf(f->conf.profiles[0].name, sizeof(f->conf.profiles[0].name), "other");
	f->conf.profiles[0].arrive_urban_min = 45;
	f->conf.nprofiles = 1;
	f->gw.limits = sla_limits_find(&f->conf, "other");
	assert_non_null(f->gw.limits);
	create(f, 2, &o);
	assert_string_equal(o.lim.name, "other");
	assert_int_equal(o.lim.arrive_min, 45);
	assert_int_equal(store_order_get(f->gw.store, o.id, &o), 1);
	assert_string_equal(o.lim.name, "other");
	assert_null(sla_limits_find(&f->conf, "nope"));
}

/* ---- group commit (issue 9) ---- */

struct watch {
	int	phase[8];
	int	n;
};

static void
watch_cb(void *arg, enum store_group_phase ph)
{
	struct watch *w = arg;

	if (w->n < 8)
		w->phase[w->n++] = (int)ph;
}

/* Rows of table as another connection sees them (committed only). */
static int
committed(struct fixture *f, const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char sql[96];
	int n = -1;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void
test_nested_savepoints(void **state)
{
	struct fixture *f = *state;
	struct crew c;

	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "crew-a");
	snprintf(c.name, sizeof(c.name), "a");
	snprintf(c.device, sizeof(c.device), "dev-a");
	/* unarmed: BEGIN .. COMMIT, a nested level is a savepoint */
	assert_int_equal(store_begin(f->gw.store), 0);
	assert_int_equal(store_crew_put(f->gw.store, &c), 1);
	assert_int_equal(store_begin(f->gw.store), 0);
	snprintf(c.id, sizeof(c.id), "crew-b");
	assert_int_equal(store_crew_put(f->gw.store, &c), 1);
	store_rollback(f->gw.store);		/* crew-b only */
	assert_int_equal(committed(f, "crews"), 0);
	assert_int_equal(store_commit(f->gw.store), 0);
	assert_int_equal(committed(f, "crews"), 1);
	assert_int_equal(store_crew_get(f->gw.store, "crew-a", &c), 1);
	assert_int_equal(store_crew_get(f->gw.store, "crew-b", &c), 0);
	assert_int_equal(store_group_pending(f->gw.store), 0);
	/* a commit without a transaction is refused */
	assert_int_equal(store_commit(f->gw.store), -1);
}

static void
test_group_commit(void **state)
{
	struct fixture *f = *state;
	struct loop *l = loop_new();
	struct watch w = { 0 };
	struct order o1, o2, d;
	struct review_input in;
	struct gw_err err = { 0 };
	char msg_id[PROTO_ID_MAX];

	assert_non_null(l);
	add_crew(f, "crew-north", "dev-01");
	assert_int_equal(store_group_start(f->gw.store, l), 0);
	assert_int_equal(store_group_watch(f->gw.store, watch_cb, &w), 0);
	/* one pass: two creates, a dispatch to a crew that does not exist */
	create(f, 2, &o1);
	assert_int_equal(store_group_pending(f->gw.store), 1);
	create(f, 2, &o2);
	memset(&in, 0, sizeof(in));
	in.dispatch = 1;
	snprintf(in.crew, sizeof(in.crew), "nobody");
	assert_int_equal(order_review(&f->gw, o1.id, &in, &d, msg_id, &err), GW_E_NOTFOUND);
	/* the failed one rolled back only itself; nothing is durable yet */
	assert_int_equal(store_order_get(f->gw.store, o1.id, &d), 1);
	assert_int_equal(d.state, ORD_RECORDED);
	assert_int_equal(store_order_get(f->gw.store, o2.id, &d), 1);
	assert_int_equal(committed(f, "orders"), 0);
	assert_int_equal(w.n, 0);
	/* the end of the pass: one COMMIT, then the watchers */
	assert_int_equal(store_group_end(f->gw.store), 0);
	assert_int_equal(committed(f, "orders"), 2);
	assert_int_equal(committed(f, "timeline"), 2);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.phase[0], STORE_GROUP_CLOSING);
	assert_int_equal(w.phase[1], STORE_GROUP_DONE);
	assert_int_equal(store_group_pending(f->gw.store), 0);
	/* a dispatch in the next pass, with its outbox row */
	dispatch(f, o1.id, "crew-north", &d, msg_id);
	assert_int_equal(committed(f, "outbox"), 0);
	assert_int_equal(store_group_end(f->gw.store), 0);
	assert_int_equal(committed(f, "outbox"), 1);
	/* an empty pass is no transaction, but the watchers hear of it */
	w.n = 0;
	assert_int_equal(store_group_end(f->gw.store), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.phase[1], STORE_GROUP_DONE);
	store_group_unwatch(f->gw.store, watch_cb, &w);
	store_group_stop(f->gw.store, l);
	/* disarmed: plain transactions again */
	create(f, 2, &o2);
	assert_int_equal(store_group_pending(f->gw.store), 0);
	assert_int_equal(committed(f, "orders"), 3);
	loop_free(l);
}

static char fault_path[64];	/* LINECREW_FAULT_VFS full=: writes fail while it exists */

static void
test_group_commit_fails(void **state)
{
	struct fixture *f = *state;
	struct loop *l = loop_new();
	struct watch w = { 0 };
	struct order o1, o2, d;
	FILE *fp;

	assert_non_null(l);
	assert_int_equal(store_group_start(f->gw.store, l), 0);
	assert_int_equal(store_group_watch(f->gw.store, watch_cb, &w), 0);
	create(f, 2, &o1);
	/* the disk fills before the pass ends: the COMMIT fails */
	assert_non_null(fp = fopen(fault_path, "w"));
	fclose(fp);
	assert_int_equal(store_group_end(f->gw.store), -1);
	unlink(fault_path);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.phase[1], STORE_GROUP_FAILED);
	assert_int_equal(store_group_pending(f->gw.store), 0);
	/* the whole group is gone; the store works again in the next pass */
	assert_int_equal(store_order_get(f->gw.store, o1.id, &d), 0);
	assert_int_equal(committed(f, "orders"), 0);
	create(f, 2, &o2);
	assert_int_equal(store_group_end(f->gw.store), 0);
	assert_int_equal(w.phase[3], STORE_GROUP_DONE);
	assert_int_equal(committed(f, "orders"), 1);
	store_group_unwatch(f->gw.store, watch_cb, &w);
	store_group_stop(f->gw.store, l);
	loop_free(l);
}

static void
test_light_transactions(void **state)
{
	struct fixture *f = *state;
	struct loop *l = loop_new();
	struct position p;
	struct order o;

	assert_non_null(l);
	memset(&p, 0, sizeof(p));
	snprintf(p.dev, sizeof(p.dev), "dev-01");
	p.at_ms = p.rx_ms = T0;
	p.lat = 40.84;
	p.lon = 111.75;
	assert_int_equal(store_group_start(f->gw.store, l), 0);
	/* no group open: a light transaction commits at its own commit */
	assert_int_equal(store_begin_light(f->gw.store), 0);
	assert_int_equal(store_position_add(f->gw.store, &p), 0);
	assert_int_equal(store_group_pending(f->gw.store), 0);
	assert_int_equal(store_commit(f->gw.store), 0);
	assert_int_equal(committed(f, "positions"), 1);
	/* inside a group it is a member, committed with the group */
	create(f, 2, &o);
	assert_int_equal(store_begin_light(f->gw.store), 0);
	assert_int_equal(store_position_add(f->gw.store, &p), 0);
	assert_int_equal(store_commit(f->gw.store), 0);
	assert_int_equal(committed(f, "positions"), 1);
	assert_int_equal(store_group_end(f->gw.store), 0);
	assert_int_equal(committed(f, "positions"), 2);
	store_group_stop(f->gw.store, l);
	loop_free(l);
}

/* store_positions_add: full statements of STORE_POS_ROWS rows and single rows
 * for the rest, every column as given (NULL for unknowns), in order. */
static void
test_positions_batch(void **state)
{
	struct fixture *f = *state;
	static struct position p[2 * STORE_POS_ROWS + 7];
	const struct position *ptr[2 * STORE_POS_ROWS + 7];
	int n = 2 * STORE_POS_ROWS + 7, i = 0;
	sqlite3 *db;
	sqlite3_stmt *st;

	for (i = 0; i < n; i++) {
		snprintf(p[i].dev, sizeof(p[i].dev), "dev-%02d", i % 5);
		p[i].at_ms = T0 + i;
		p[i].rx_ms = T0 + 1000 + i;
		p[i].lat = 40.0 + i / 1000.0;
		p[i].lon = 111.0 + i / 3.0;
		p[i].eph_m = i % 3 ? 4.5 + i : NAN;
		p[i].speed_mps = i % 4 ? 0.25 * i : NAN;
		if (i % 2)
			snprintf(p[i].order_id, sizeof(p[i].order_id), "LC-20261205-%04d", i);
		ptr[i] = &p[i];
	}
	assert_int_equal(store_positions_add(f->gw.store, ptr, 0), 0);
	assert_int_equal(store_positions_add(f->gw.store, ptr, n), 0);
	assert_int_equal(committed(f, "positions"), n);
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT dev, at_ms, rx_ms, lat, lon, eph, speed,"
	    " order_id FROM positions ORDER BY rowid", -1, &st, NULL), SQLITE_OK);
	for (i = 0; sqlite3_step(st) == SQLITE_ROW; i++) {
		assert_string_equal((const char *)sqlite3_column_text(st, 0), p[i].dev);
		assert_int_equal(sqlite3_column_int64(st, 1), p[i].at_ms);
		assert_int_equal(sqlite3_column_int64(st, 2), p[i].rx_ms);
		assert_true(sqlite3_column_double(st, 3) == p[i].lat);
		assert_true(sqlite3_column_double(st, 4) == p[i].lon);
		if (isnan(p[i].eph_m))
			assert_int_equal(sqlite3_column_type(st, 5), SQLITE_NULL);
		else
			assert_true(sqlite3_column_double(st, 5) == p[i].eph_m);
		if (isnan(p[i].speed_mps))
			assert_int_equal(sqlite3_column_type(st, 6), SQLITE_NULL);
		else
			assert_true(sqlite3_column_double(st, 6) == p[i].speed_mps);
		if (p[i].order_id[0])
			assert_string_equal((const char *)sqlite3_column_text(st, 7), p[i].order_id);
		else
			assert_int_equal(sqlite3_column_type(st, 7), SQLITE_NULL);
	}
	assert_int_equal(i, n);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrations_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_id_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_positions_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_outbox_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeline_append_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sla_tick_breach_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_customer_internal_and_decline, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hello_reconcile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_taxonomy_on_intake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_department_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_linked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outage_hit_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warning_breach_delay_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_archive_after_shift, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alternative_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_savepoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_light_transactions, setup, teardown),
	};
	char spec[96];

	/* TEST ONLY fault VFS (common/faultvfs.c), idle unless fault_path exists;
	 * set before the first store_open registers it */
	snprintf(fault_path, sizeof(fault_path), "/tmp/test_gw_store.full.%d", (int)getpid());
	unlink(fault_path);
	snprintf(spec, sizeof(spec), "full=%s", fault_path);
	setenv("LINECREW_FAULT_VFS", spec, 1);

	return cmocka_run_group_tests(tests, NULL, NULL);
}
