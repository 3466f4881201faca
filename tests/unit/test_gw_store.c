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
 * outcomes; the hello reconcile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../gateway/gateway.h"
#include "clock.h"
#include "log.h"

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
	f->gw.conf = &f->conf;
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
	ev_init(&e, PROTO_EV_ARRIVE, "dev-01", 3, o.id, T0 + 40 * MIN);
	e.method = PROTO_ARRIVE_GPS;
	e.has_fix = 1;
	e.fix.lat = 40.8423;
	e.fix.lon = 111.7497;
	e.ntrack = 1;
	e.track[0] = e.fix;
	assert_int_equal(send_ev(f, "dev-01", &e), EV_APPLIED);
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
	char msg_id[PROTO_ID_MAX];

	add_crew(f, "crew-north", "dev-01");
	create(f, 7, &o);
	memset(&in, 0, sizeof(in));
	in.dispatch = 1;
	snprintf(in.crew, sizeof(in.crew), "crew-north");
	assert_int_equal(order_review(&f->gw, o.id, &in, &d, msg_id, &err), GW_E_CONFLICT);
	assert_int_equal(pending(f, "dev-01"), 0);
	snprintf(in.crew, sizeof(in.crew), "crew-nobody");
	create(f, 2, &d);
	assert_int_equal(order_review(&f->gw, d.id, &in, &d, msg_id, &err), GW_E_NOTFOUND);
	assert_string_equal(err.field, "crew");
	memset(&in, 0, sizeof(in));
	snprintf(in.reason, sizeof(in.reason), "customer_internal");
	assert_int_equal(order_review(&f->gw, o.id, &in, &d, msg_id, &err), GW_OK);
	assert_int_equal(d.state, ORD_DECLINED);
	assert_int_equal(d.next_due_ms, 0);
	assert_int_equal(store_order_count_open(f->gw.store), 1);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrations_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_outbox_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeline_append_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sla_tick_breach_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_customer_internal_and_decline, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hello_reconcile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
