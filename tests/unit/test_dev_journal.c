/*
 * test_dev_journal.c: the device journal (device/journal.c) on a temporary
 * SQLite file and a virtual clock: the gap-free sequence across reopening,
 * unacked events oldest first, acks, idempotent order storage, cancel, sync,
 * order states driven by events, and refusals that store nothing.
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

#include "../../device/device.h"

#define DEV		"dev-01"
#define T0_MS		1795000000000LL

static struct vclock vc;
static char dir[64], path[128];
static struct journal *j;

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lc-journal-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/journal.db", dir);
	vclock_init(&vc, T0_MS);
	j = journal_open(path, DEV, &vc.clock);
	return j == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char f[160];

	(void)state;
	journal_close(j);
	j = NULL;
	unlink(path);
	snprintf(f, sizeof(f), "%s-wal", path);
	unlink(f);
	snprintf(f, sizeof(f), "%s-shm", path);
	unlink(f);
	rmdir(dir);
	return 0;
}

/* An ORDER push for id, encoded as the gateway sends it; *len gets its size. */
static void
push(const char *id, const char *msg_id, int64_t at_ms, struct proto_down *d, char *buf,
    size_t cap, size_t *len)
{
	memset(d, 0, sizeof(*d));
	d->type = PROTO_DOWN_ORDER;
	snprintf(d->msg_id, sizeof(d->msg_id), "%s", msg_id);
	d->at_ms = at_ms;
	snprintf(d->order.id, sizeof(d->order.id), "%s", id);
	d->order.category = 2;
	snprintf(d->order.address, sizeof(d->order.address), "新城区 锡林南路 12号");
	d->order.site_lat = 40.8423;
	d->order.site_lon = 111.7497;
	d->order.radius_m = 150;
	d->order.zone = PROTO_ZONE_URBAN;
	d->order.created_ms = at_ms - 120000;
	d->order.dispatched_ms = at_ms - 1000;
	d->order.arrive_by_ms = d->order.created_ms + 3600000;
	d->order.complete_by_ms = d->order.created_ms + 12 * 3600000LL;
	assert_int_equal(proto_encode_down(d, buf, cap, len), PROTO_OK);
}

static void
add_order(const char *id, const char *msg_id, int64_t at_ms, int expect_new)
{
	struct proto_down d;
	char buf[PROTO_MAX_PAYLOAD];
	size_t len;
	int is_new = -1;

	push(id, msg_id, at_ms, &d, buf, sizeof(buf), &len);
	assert_int_equal(journal_add_order(j, &d, buf, len, &is_new), 0);
	assert_int_equal(is_new, expect_new);
}

static int
add_event(enum proto_ev_type type, const char *order_id, char *eid_out)
{
	struct proto_event e;
	char buf[PROTO_MAX_PAYLOAD];
	size_t len;
	int rc;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.at_ms = clock_wall(&vc.clock);
	snprintf(e.order_id, sizeof(e.order_id), "%s", order_id);
	if (type == PROTO_EV_DELIVERED)
		snprintf(e.msg_id, sizeof(e.msg_id), "m-%s", order_id);
	if (type == PROTO_EV_PROGRESS)
		snprintf(e.note, sizeof(e.note), "fuse replaced");
	if (type == PROTO_EV_ARRIVE) {
		e.method = PROTO_ARRIVE_MANUAL;
		e.dist_m = NAN;
	}
	rc = journal_event_add(j, &e, buf, sizeof(buf), &len);
	if (rc == 0) {
		struct proto_event back;
		struct proto_error err;

		/* what is stored is exactly what decodes back */
		assert_int_equal(proto_decode_event(buf, len, &back, &err), PROTO_OK);
		assert_string_equal(back.eid, e.eid);
		assert_int_equal(back.seq, e.seq);
		if (eid_out != NULL)
			snprintf(eid_out, PROTO_EID_MAX, "%s", e.eid);
	}
	return rc;
}

struct seen {
	int		n;
	uint64_t	seq[64];
	char		eid[64][PROTO_EID_MAX];
};

static void
collect(void *arg, const struct jevent *ev)
{
	struct seen *s = arg;

	assert_true(ev->len > 0 && ev->payload[0] == '{');
	s->seq[s->n] = ev->seq;
	snprintf(s->eid[s->n], PROTO_EID_MAX, "%s", ev->eid);
	s->n++;
}

static void
test_seq_gap_free_across_reopen(void **state)
{
	char eid[PROTO_EID_MAX];
	struct seen s = { 0 };
	int i;

	(void)state;
	add_order("LC-1", "m-1", T0_MS, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(add_event(PROTO_EV_PROGRESS, "LC-1", eid), 0);
	assert_string_equal(eid, DEV ":3");
	journal_close(j);
	assert_non_null(j = journal_open(path, DEV, &vc.clock));
	assert_int_equal(journal_last_seq(j), 3);
	for (i = 0; i < 2; i++)
		assert_int_equal(add_event(PROTO_EV_PROGRESS, "LC-1", eid), 0);
	assert_string_equal(eid, DEV ":5");
	/* a refused event (an order id that cannot be on the wire) uses no number */
	assert_int_equal(add_event(PROTO_EV_PROGRESS, "bad id!", NULL), -1);
	assert_int_equal(add_event(PROTO_EV_PROGRESS, "LC-1", eid), 0);
	assert_string_equal(eid, DEV ":6");
	assert_int_equal(journal_unacked(j, INT64_MAX, 64, collect, &s), 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(s.seq[i], (uint64_t)i + 1);
	/* acked events are never renumbered or reused */
	for (i = 0; i < 6; i++)
		assert_int_equal(journal_ack(j, s.eid[i]), 1);
	assert_int_equal(add_event(PROTO_EV_PROGRESS, "LC-1", eid), 0);
	assert_string_equal(eid, DEV ":7");
}

static void
test_unacked_oldest_first_and_ack(void **state)
{
	struct seen s = { 0 };
	char eids[5][PROTO_EID_MAX];
	int i;

	(void)state;
	add_order("LC-2", "m-2", T0_MS, 1);
	for (i = 0; i < 5; i++) {
		assert_int_equal(add_event(PROTO_EV_PROGRESS, "LC-2", eids[i]), 0);
		vclock_advance(&vc, 1000);
	}
	assert_int_equal(journal_unacked_count(j), 5);
	assert_int_equal(journal_ack(j, eids[1]), 1);
	assert_int_equal(journal_ack(j, eids[3]), 1);
	assert_int_equal(journal_ack(j, eids[3]), 0);		/* again: harmless */
	assert_int_equal(journal_ack(j, "dev-01:999"), 0);	/* unknown */
	assert_int_equal(journal_ack(j, "dev-02:1"), 0);	/* not ours */
	assert_int_equal(journal_unacked_count(j), 3);
	assert_int_equal(journal_unacked(j, INT64_MAX, 64, collect, &s), 3);
	assert_string_equal(s.eid[0], eids[0]);
	assert_string_equal(s.eid[1], eids[2]);
	assert_string_equal(s.eid[2], eids[4]);
	/* bounded */
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_unacked(j, INT64_MAX, 2, collect, &s), 2);
	assert_string_equal(s.eid[1], eids[2]);
	/* only those created at or before a time (the resend timer skips fresh ones) */
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_unacked(j, T0_MS + 2000, 64, collect, &s), 2);
	assert_string_equal(s.eid[0], eids[0]);
	assert_string_equal(s.eid[1], eids[2]);
}

static void
test_order_idempotent(void **state)
{
	char ids[8][PROTO_ID_MAX];
	struct jorder o;

	(void)state;
	add_order("LC-3", "m-3a", T0_MS, 1);
	add_order("LC-3", "m-3b", T0_MS + 5000, 0);	/* re-pushed: held already */
	add_order("LC-4", "m-4", T0_MS + 6000, 1);
	assert_int_equal(journal_open_orders(j, ids, 8), 2);
	assert_string_equal(ids[0], "LC-3");
	assert_string_equal(ids[1], "LC-4");
	assert_int_equal(journal_order_get(j, "LC-3", &o), 1);
	assert_int_equal(o.state, JO_OPEN);
	assert_string_equal(o.msg_id, "m-3a");
	assert_string_equal(o.order.address, "新城区 锡林南路 12号");
	assert_true(fabs(o.order.site_lat - 40.8423) < 1e-9);
	assert_int_equal(o.received_ms, T0_MS);
	assert_int_equal(journal_order_get(j, "LC-404", &o), 0);
}

static void
test_states_follow_events(void **state)
{
	char ids[8][PROTO_ID_MAX];
	struct jorder o;

	(void)state;
	add_order("LC-5", "m-5", T0_MS, 1);
	assert_int_equal(add_event(PROTO_EV_ACCEPT, "LC-5", NULL), 0);
	assert_int_equal(journal_order_get(j, "LC-5", &o), 1);
	assert_int_equal(o.state, JO_OPEN);
	assert_int_equal(o.accepted, 1);
	vclock_advance(&vc, 60000);
	assert_int_equal(add_event(PROTO_EV_ARRIVE, "LC-5", NULL), 0);
	assert_int_equal(journal_order_get(j, "LC-5", &o), 1);
	assert_int_equal(o.state, JO_ARRIVED);
	assert_int_equal(o.state_ms, T0_MS + 60000);
	assert_int_equal(journal_open_orders(j, ids, 8), 1);	/* arrived is still open */
	assert_int_equal(add_event(PROTO_EV_COMPLETE, "LC-5", NULL), 0);
	assert_int_equal(journal_order_get(j, "LC-5", &o), 1);
	assert_int_equal(o.state, JO_COMPLETED);
	assert_int_equal(journal_open_orders(j, ids, 8), 0);
	/* a completed order is not cancelled afterwards */
	assert_int_equal(journal_cancel_order(j, "LC-5", T0_MS + 999999), 0);
	assert_int_equal(journal_order_get(j, "LC-5", &o), 1);
	assert_int_equal(o.state, JO_COMPLETED);
}

static void
test_cancel(void **state)
{
	char ids[8][PROTO_ID_MAX];
	struct jorder o;

	(void)state;
	add_order("LC-6", "m-6", T0_MS, 1);
	assert_int_equal(journal_cancel_order(j, "LC-6", T0_MS + 1000), 1);
	assert_int_equal(journal_cancel_order(j, "LC-6", T0_MS + 1000), 0);
	assert_int_equal(journal_cancel_order(j, "LC-404", T0_MS + 1000), 0);
	assert_int_equal(journal_order_get(j, "LC-6", &o), 1);
	assert_int_equal(o.state, JO_CANCELLED);
	assert_int_equal(journal_open_orders(j, ids, 8), 0);
	/* a late redelivery of the old push does not bring it back ... */
	add_order("LC-6", "m-6", T0_MS, 0);
	assert_int_equal(journal_order_get(j, "LC-6", &o), 1);
	assert_int_equal(o.state, JO_CANCELLED);
	/* ... a newer push (reassigned back to us) does */
	add_order("LC-6", "m-6b", T0_MS + 2000, 1);
	assert_int_equal(journal_order_get(j, "LC-6", &o), 1);
	assert_int_equal(o.state, JO_OPEN);
	assert_string_equal(o.msg_id, "m-6b");
	/* and an old cancel redelivered after that does not cancel it again */
	assert_int_equal(journal_cancel_order(j, "LC-6", T0_MS + 1000), 0);
}

static void
test_sync(void **state)
{
	char open[2][PROTO_ID_MAX] = { "LC-7", "LC-GONE" };
	char ids[8][PROTO_ID_MAX];
	struct jorder o;

	(void)state;
	add_order("LC-7", "m-7", T0_MS, 1);
	add_order("LC-8", "m-8", T0_MS + 1000, 1);
	add_order("LC-9", "m-9", T0_MS + 9000, 1);	/* pushed after the sync below */
	/* the gateway lists LC-7 (and one we lack, which it will push again) */
	assert_int_equal(journal_sync(j, open, 2, T0_MS + 5000), 1);
	assert_int_equal(journal_order_get(j, "LC-8", &o), 1);
	assert_int_equal(o.state, JO_CANCELLED);
	assert_int_equal(journal_open_orders(j, ids, 8), 2);
	assert_string_equal(ids[0], "LC-7");
	assert_string_equal(ids[1], "LC-9");
	assert_int_equal(journal_order_get(j, "LC-GONE", &o), 0);
	/* an empty sync cancels everything held open */
	assert_int_equal(journal_sync(j, open, 0, T0_MS + 10000), 2);
	assert_int_equal(journal_open_orders(j, ids, 8), 0);
}

static void
test_wrong_device(void **state)
{
	(void)state;
	journal_close(j);
	/* the file belongs to dev-01: its eids must not be reused by another unit */
	assert_null(journal_open(path, "dev-02", &vc.clock));
	assert_null(journal_open(path, "bad id", &vc.clock));
	assert_non_null(j = journal_open(path, DEV, &vc.clock));
}

struct listed {
	int	n;
	char	ids[8][PROTO_ID_MAX];
};

static void
list_cb(void *arg, const struct jorder *o)
{
	struct listed *l = arg;

	snprintf(l->ids[l->n++], PROTO_ID_MAX, "%s", o->order.id);
}

static void
test_list_newest_first(void **state)
{
	struct listed l = { 0 };

	(void)state;
	add_order("LC-A", "m-a", T0_MS, 1);
	vclock_advance(&vc, 1000);
	add_order("LC-B", "m-b", T0_MS, 1);
	vclock_advance(&vc, 1000);
	add_order("LC-C", "m-c", T0_MS, 1);
	assert_int_equal(journal_list_orders(j, 2, list_cb, &l), 2);
	assert_string_equal(l.ids[0], "LC-C");
	assert_string_equal(l.ids[1], "LC-B");
}

/* The send window reads unacked events above the last one sent and counts
 * those out; delay and the other kinds are found per order. */
static void
test_window_reads(void **state)
{
	struct seen s = { 0 };
	char eids[6][PROTO_EID_MAX];
	int i;

	(void)state;
	add_order("LC-3", "m-3", T0_MS, 1);
	for (i = 0; i < 6; i++)
		assert_int_equal(add_event(PROTO_EV_PROGRESS, "LC-3", eids[i]), 0);
	assert_int_equal(journal_ack(j, eids[0]), 1);
	assert_int_equal(journal_ack(j, eids[2]), 1);
	/* out up to seq 3: seq 2 only (1 and 3 acked) */
	assert_int_equal(journal_unacked_upto(j, 3), 1);
	assert_int_equal(journal_unacked_upto(j, 0), 0);
	/* next after seq 3, two at most: 4 and 5, in order */
	assert_int_equal(journal_unacked_after(j, 3, 2, collect, &s), 2);
	assert_int_equal(s.seq[0], 4);
	assert_int_equal(s.seq[1], 5);
	/* from the start: the oldest unacked first */
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_unacked_after(j, 0, 1, collect, &s), 1);
	assert_int_equal(s.seq[0], 2);
	assert_int_equal(journal_has_event(j, "LC-3", PROTO_EV_PROGRESS), 1);
	assert_int_equal(journal_has_event(j, "LC-3", PROTO_EV_DELAY), 0);
}

static int
take_all(void *arg, const char *payload, size_t len)
{
	int *n = arg;

	(void)payload;
	assert_true(len > 0);
	(*n)++;
	return 0;
}

static int
take_two(void *arg, const char *payload, size_t len)
{
	int *n = arg;

	(void)payload;
	(void)len;
	return ++(*n) > 2 ? -1 : 0;	/* the link breaks after two */
}

/* The offline track: kept in order, thinned past its cap, handed out oldest
 * first, deleted only when taken. */
static void
test_track(void **state)
{
	char buf[64];
	int i, n = 0, left;

	(void)state;
	for (i = 0; i < JOURNAL_TRACK_MAX + 10; i++) {
		snprintf(buf, sizeof(buf), "{\"p\":%d}", i);
		assert_int_equal(journal_track_add(j, buf, strlen(buf), T0_MS + i), 0);
	}
	left = journal_track_count(j);
	assert_true(left > JOURNAL_TRACK_MAX / 2 && left <= JOURNAL_TRACK_MAX);
	/* a broken link takes two; the third stays */
	assert_int_equal(journal_track_take(j, 10, take_two, &n), 2);
	assert_int_equal(journal_track_count(j), left - 2);
	n = 0;
	while (journal_track_take(j, JOURNAL_TRACK_BATCH, take_all, &n) > 0)
		;
	assert_int_equal(n, left - 2);
	assert_int_equal(journal_track_count(j), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seq_gap_free_across_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unacked_oldest_first_and_ack, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_order_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_track, setup, teardown),
		cmocka_unit_test_setup_teardown(test_states_follow_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_newest_first, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
