/*
 * journal.c: the device's local SQLite journal: the orders it received and every
 * event it produced, so nothing is lost across an offline spell, a crash or a
 * power cut (synchronous=FULL; each change is one IMMEDIATE transaction).
 *
 * It does not send anything (mqtt.c does) and does not decide anything about
 * GPS (arrival.c). The rule it exists for: a crew action or an arrival is
 * committed here BEFORE it is sent or shown to the crew as done; an order is
 * committed here BEFORE the device acknowledges it.
 *
 * Events carry the per-device sequence: gap-free from 1, assigned as the
 * highest handed out + 1 inside the transaction that stores the event, never
 * reused (the high-water mark in meta survives even if old rows were pruned).
 * eid = "<dev>:<seq>". The encoded payload is stored and resent byte for byte,
 * so a resend is the same message and the gateway's idempotency by eid holds.
 *
 * Order states:
 *
 *              ARRIVE event           COMPLETE event
 *     +------+ ---------> +---------+ -------------> +-----------+
 *     | open |            | arrived |                | completed |
 *     +------+ ---------------------------------->   +-----------+
 *       |  ^               COMPLETE event
 *       |  | newer push           |
 *       v  |                      v  CANCEL / SYNC without it
 *     +-----------+ <-------------+
 *     | cancelled |
 *     +-----------+
 *
 *   from \ input   ORDER push        ARRIVE     COMPLETE    CANCEL, SYNC omits
 *   (none)         -> open           -          -           -
 *   open           no change         arrived    completed   cancelled
 *   arrived        no change         -          completed   cancelled
 *   completed      no change         -          -           no change
 *   cancelled      open if newer     -          -           no change
 *
 * Invariants (checked in debug builds after each event): arrived => an ARRIVE
 * event for the order is stored; completed => a COMPLETE event is stored; the
 * stored sequence numbers are exactly 1..last_seq.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "device.h"
#include "log.h"

static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE meta ("
	"  k TEXT PRIMARY KEY,"
	"  v NOT NULL);"
	"CREATE TABLE orders ("
	"  id TEXT PRIMARY KEY,"
	"  json TEXT NOT NULL,"			/* the ORDER push exactly as received */
	"  state TEXT NOT NULL CHECK (state IN ('open','arrived','completed','cancelled')),"
	"  accepted INTEGER NOT NULL DEFAULT 0,"
	"  received_ms INTEGER NOT NULL,"	/* device wall clock, UTC ms */
	"  state_ms INTEGER NOT NULL,"
	"  msg_id TEXT NOT NULL,"
	"  gw_ms INTEGER NOT NULL);"		/* gateway time of the last push/cancel */
	"CREATE TABLE events ("
	"  seq INTEGER PRIMARY KEY,"
	"  eid TEXT NOT NULL UNIQUE,"
	"  type TEXT NOT NULL,"
	"  order_id TEXT,"
	"  payload TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  acked_ms INTEGER);"
	"CREATE INDEX events_unacked ON events(seq) WHERE acked_ms IS NULL;"
	"CREATE INDEX events_order ON events(order_id, type);"
	"INSERT INTO meta(k, v) VALUES ('last_seq', 0);",
	/* 1 -> 2: the thinned track kept while offline (encoded pos messages) */
	"CREATE TABLE track ("
	"  id INTEGER PRIMARY KEY,"
	"  at_ms INTEGER NOT NULL,"
	"  payload TEXT NOT NULL);",
	/* 2 -> 3: the gateway asked for a delay reason (its time of asking) */
	"ALTER TABLE orders ADD COLUMN delay_req_ms INTEGER;",
};

enum {
	S_ORDER_STATE, S_ORDER_INSERT, S_ORDER_REOPEN, S_ORDER_GET, S_ORDER_LIST,
	S_ORDER_OPEN, S_ORDER_CANCEL, S_ORDER_SETSTATE, S_ORDER_ACCEPT, S_ORDER_DELAYREQ,
	S_SEQ, S_SEQ_BUMP, S_EV_INSERT, S_EV_UNACKED, S_EV_COUNT, S_EV_ACK,
	S_EV_AFTER, S_EV_COUNT_UPTO, S_EV_HAS,
	S_TR_ADD, S_TR_COUNT, S_TR_THIN, S_TR_OLDEST, S_TR_DEL,
	S_MAX
};

static const char *const sql[S_MAX] = {
	[S_ORDER_STATE] = "SELECT state, gw_ms FROM orders WHERE id = ?1",
	[S_ORDER_INSERT] = "INSERT INTO orders(id, json, state, received_ms, state_ms, msg_id,"
	    " gw_ms) VALUES (?1, ?2, 'open', ?3, ?3, ?4, ?5)",
	[S_ORDER_REOPEN] = "UPDATE orders SET json = ?2, state = 'open', state_ms = ?3,"
	    " msg_id = ?4, gw_ms = ?5, accepted = 0 WHERE id = ?1",
	[S_ORDER_GET] = "SELECT json, state, received_ms, state_ms, msg_id, accepted, delay_req_ms"
	    " FROM orders WHERE id = ?1",
	[S_ORDER_LIST] = "SELECT json, state, received_ms, state_ms, msg_id, accepted, delay_req_ms"
	    " FROM orders ORDER BY received_ms DESC, rowid DESC LIMIT ?1",
	[S_ORDER_OPEN] = "SELECT id, gw_ms FROM orders WHERE state IN ('open','arrived')"
	    " ORDER BY received_ms, rowid LIMIT ?1",
	[S_ORDER_CANCEL] = "UPDATE orders SET state = 'cancelled', state_ms = ?2,"
	    " gw_ms = max(gw_ms, ?3) WHERE id = ?1 AND state IN ('open','arrived')"
	    " AND gw_ms <= ?3",
	[S_ORDER_SETSTATE] = "UPDATE orders SET state = ?2, state_ms = ?3"
	    " WHERE id = ?1 AND state IN ('open', ?4)",
	[S_ORDER_ACCEPT] = "UPDATE orders SET accepted = 1 WHERE id = ?1",
	[S_ORDER_DELAYREQ] = "UPDATE orders SET delay_req_ms = ?2 WHERE id = ?1"
	    " AND delay_req_ms IS NULL",
	[S_SEQ] = "SELECT max((SELECT v FROM meta WHERE k = 'last_seq'),"
	    " (SELECT coalesce(max(seq), 0) FROM events))",
	[S_SEQ_BUMP] = "UPDATE meta SET v = ?1 WHERE k = 'last_seq'",
	[S_EV_INSERT] = "INSERT INTO events(seq, eid, type, order_id, payload, created_ms)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_EV_UNACKED] = "SELECT seq, eid, type, coalesce(order_id, ''), payload, created_ms"
	    " FROM events WHERE acked_ms IS NULL AND created_ms <= ?1 ORDER BY seq LIMIT ?2",
	[S_EV_COUNT] = "SELECT count(*) FROM events WHERE acked_ms IS NULL",
	[S_EV_AFTER] = "SELECT seq, eid, type, coalesce(order_id, ''), payload, created_ms"
	    " FROM events WHERE acked_ms IS NULL AND seq > ?1 ORDER BY seq LIMIT ?2",
	[S_EV_COUNT_UPTO] = "SELECT count(*) FROM events WHERE acked_ms IS NULL AND seq <= ?1",
	[S_EV_HAS] = "SELECT count(*) FROM events WHERE order_id = ?1 AND type = ?2",
	[S_TR_ADD] = "INSERT INTO track(at_ms, payload) VALUES (?1, ?2)",
	[S_TR_COUNT] = "SELECT count(*) FROM track",
	/* every second point of the older half: the shape stays, density halves */
	[S_TR_THIN] = "DELETE FROM track WHERE id % 2 = 0 AND id IN"
	    " (SELECT id FROM track ORDER BY id LIMIT ?1)",
	[S_TR_OLDEST] = "SELECT id, payload FROM track ORDER BY id LIMIT ?1",
	[S_TR_DEL] = "DELETE FROM track WHERE id = ?1",
	[S_EV_ACK] = "UPDATE events SET acked_ms = ?2 WHERE eid = ?1 AND acked_ms IS NULL",
};

struct journal {
	sqlite3		       *db;
	sqlite3_stmt	       *st[S_MAX];
	const struct lc_clock  *clock;
	char			dev[PROTO_DEV_MAX];
	char			path[DEV_PATH_MAX];
	journal_seal_fn		seal;	/* NULL: events are stored untagged */
	void		       *seal_arg;
};

static const char *const state_names[] = {
	[JO_OPEN] = "open", [JO_ARRIVED] = "arrived", [JO_COMPLETED] = "completed",
	[JO_CANCELLED] = "cancelled",
};

const char *
journal_state_name(enum jorder_state s)
{
	if ((unsigned)s < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[s];
	return "?";
}

static enum jorder_state
state_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum jorder_state)i;
	return JO_CANCELLED;	/* the CHECK constraint makes this unreachable */
}

/* A cached statement, reset and with its bindings cleared. */
static sqlite3_stmt *
st(struct journal *j, int which)
{
	sqlite3_reset(j->st[which]);
	sqlite3_clear_bindings(j->st[which]);
	return j->st[which];
}

static int
step_done(struct journal *j, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_warnx("journal %s: %s: %s", j->path, what, sqlite3_errmsg(j->db));
		return -1;
	}
	return 0;
}

/* Check (or, on a new file, record) which device the journal belongs to: eids
 * embed the device id, so a journal moved to another unit must not be reused. */
static int
bind_device(struct journal *j)
{
	sqlite3_stmt *s;
	char have[PROTO_DEV_MAX] = "";
	int rc, found = 0;

	if (sqlite3_prepare_v2(j->db, "SELECT v FROM meta WHERE k = 'dev'", -1, &s, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW) {
		db_col_text(s, 0, have, sizeof(have));
		found = 1;
	}
	sqlite3_finalize(s);
	if (found) {
		if (strcmp(have, j->dev) != 0) {
			log_warnx("journal %s belongs to device %s, not %s", j->path, have,
			    j->dev);
			return -1;
		}
		return 0;
	}
	if (sqlite3_prepare_v2(j->db, "INSERT INTO meta(k, v) VALUES ('dev', ?1)", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	db_bind_text(s, 1, j->dev);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

struct journal *
journal_open(const char *path, const char *dev, const struct lc_clock *clock)
{
	struct journal *j;
	int i;

	if (!proto_valid_dev(dev)) {
		log_warnx("journal: invalid device id \"%s\"", dev);
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_warn("journal: calloc");
		return NULL;
	}
	j->clock = clock;
	snprintf(j->dev, sizeof(j->dev), "%s", dev);
	snprintf(j->path, sizeof(j->path), "%s", path);
	if (db_open(path, migrations, (int)(sizeof(migrations) / sizeof(migrations[0])),
	    &j->db) == -1)
		goto fail;
	for (i = 0; i < S_MAX; i++)
		if (db_prepare(j->db, sql[i], &j->st[i]) == -1)
			goto fail;
	if (bind_device(j) == -1)
		goto fail;
	return j;
fail:
	journal_close(j);
	return NULL;
}

void
journal_close(struct journal *j)
{
	int i;

	if (j == NULL)
		return;
	for (i = 0; i < S_MAX; i++)
		sqlite3_finalize(j->st[i]);
	db_close(j->db);
	free(j);
}

static void
check(struct journal *j)
{
#ifndef NDEBUG
	sqlite3_stmt *s;
	int64_t bad = -1;

	if (sqlite3_prepare_v2(j->db,
	    "SELECT (SELECT count(*) FROM orders o WHERE state = 'arrived' AND NOT EXISTS"
	    "   (SELECT 1 FROM events e WHERE e.order_id = o.id AND e.type = 'arrive'))"
	    " + (SELECT count(*) FROM orders o WHERE state = 'completed' AND NOT EXISTS"
	    "   (SELECT 1 FROM events e WHERE e.order_id = o.id AND e.type = 'complete'))"
	    " + (SELECT coalesce(max(seq), 0) - count(*) FROM events)", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		bad = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	assert(bad == 0);
#else
	(void)j;
#endif
}

int
journal_add_order(struct journal *j, const struct proto_down *d, const void *payload,
    size_t len, int *is_new)
{
	sqlite3_stmt *s;
	int64_t now = clock_wall(j->clock), gw_ms = 0;
	char state[16] = "";
	int found = 0, fresh = 0, which;

	if (is_new != NULL)
		*is_new = 0;
	if (d->type != PROTO_DOWN_ORDER || len > PROTO_MAX_PAYLOAD) {
		log_warnx("journal: add_order: not an order push");
		return -1;
	}
	if (db_begin(j->db) == -1)
		return -1;
	s = st(j, S_ORDER_STATE);
	db_bind_text(s, 1, d->order.id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		db_col_text(s, 0, state, sizeof(state));
		gw_ms = db_col_i64(s, 1, 0);
		found = 1;
	}
	sqlite3_reset(s);
	if (!found || (strcmp(state, "cancelled") == 0 && d->at_ms > gw_ms)) {
		which = found ? S_ORDER_REOPEN : S_ORDER_INSERT;
		s = st(j, which);
		db_bind_text(s, 1, d->order.id);
		sqlite3_bind_text(s, 2, payload, (int)len, SQLITE_TRANSIENT);
		db_bind_i64(s, 3, now);
		db_bind_text(s, 4, d->msg_id);
		db_bind_i64(s, 5, d->at_ms);
		if (step_done(j, s, "store order") == -1)
			goto fail;
		fresh = 1;
	}
	if (db_commit(j->db) == -1)
		goto fail;
	if (is_new != NULL)
		*is_new = fresh;
	return 0;
fail:
	db_rollback(j->db);
	return -1;
}

static int64_t
last_seq(struct journal *j)
{
	sqlite3_stmt *s = st(j, S_SEQ);
	int64_t v = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return v;
}

uint64_t
journal_last_seq(struct journal *j)
{
	int64_t v = last_seq(j);

	return v > 0 ? (uint64_t)v : 0;
}

int
journal_event_add(struct journal *j, struct proto_event *e, char *buf, size_t cap,
    size_t *len)
{
	sqlite3_stmt *s;
	int64_t seq, now = clock_wall(j->clock);
	enum proto_err pe;
	const char *to = NULL, *from = NULL;

	if (db_begin(j->db) == -1)
		return -1;
	if ((seq = last_seq(j)) < 0) {
		log_warnx("journal %s: read sequence: %s", j->path, sqlite3_errmsg(j->db));
		goto fail;
	}
	seq++;
	snprintf(e->dev, sizeof(e->dev), "%s", j->dev);
	e->seq = (uint64_t)seq;
	proto_event_make_eid(e);
	if ((pe = proto_encode_event(e, buf, cap, len)) != PROTO_OK) {
		log_warnx("journal: event %s (%s) not encodable: %s", e->eid,
		    proto_ev_type_name(e->type), proto_strerror(pe));
		goto fail;
	}
	/* Tagged before it is stored: every resend is the same bytes, and the
	 * journal keeps the signature that makes an arrival evidence. */
	if (j->seal != NULL && j->seal(j->seal_arg, e->type, buf, cap, len) == -1) {
		log_warnx("journal: event %s (%s) could not be sealed", e->eid,
		    proto_ev_type_name(e->type));
		goto fail;
	}
	s = st(j, S_EV_INSERT);
	db_bind_i64(s, 1, seq);
	db_bind_text(s, 2, e->eid);
	db_bind_text(s, 3, proto_ev_type_name(e->type));
	db_bind_text(s, 4, e->type == PROTO_EV_HELLO ? NULL : e->order_id);
	sqlite3_bind_text(s, 5, buf, (int)*len, SQLITE_TRANSIENT);
	db_bind_i64(s, 6, now);
	if (step_done(j, s, "store event") == -1)
		goto fail;
	s = st(j, S_SEQ_BUMP);
	db_bind_i64(s, 1, seq);
	if (step_done(j, s, "bump sequence") == -1)
		goto fail;

	if (e->type == PROTO_EV_ARRIVE) {
		to = "arrived";
		from = "open";
	} else if (e->type == PROTO_EV_COMPLETE) {
		to = "completed";
		from = "arrived";
	}
	if (to != NULL) {
		s = st(j, S_ORDER_SETSTATE);
		db_bind_text(s, 1, e->order_id);
		db_bind_text(s, 2, to);
		db_bind_i64(s, 3, now);
		db_bind_text(s, 4, from);
		if (step_done(j, s, "order state") == -1)
			goto fail;
	} else if (e->type == PROTO_EV_ACCEPT) {
		s = st(j, S_ORDER_ACCEPT);
		db_bind_text(s, 1, e->order_id);
		if (step_done(j, s, "order accepted") == -1)
			goto fail;
	}
	if (db_commit(j->db) == -1)
		goto fail;
	check(j);
	return 0;
fail:
	db_rollback(j->db);
	e->seq = 0;
	e->eid[0] = '\0';
	return -1;
}

static int unacked_rows(struct journal *j, sqlite3_stmt *s, journal_event_cb cb, void *arg);

int
journal_unacked(struct journal *j, int64_t created_before_ms, int max, journal_event_cb cb,
    void *arg)
{
	sqlite3_stmt *s = st(j, S_EV_UNACKED);

	db_bind_i64(s, 1, created_before_ms);
	db_bind_i64(s, 2, max);
	return unacked_rows(j, s, cb, arg);
}

int
journal_unacked_after(struct journal *j, uint64_t after_seq, int max, journal_event_cb cb,
    void *arg)
{
	sqlite3_stmt *s = st(j, S_EV_AFTER);

	db_bind_i64(s, 1, (int64_t)after_seq);
	db_bind_i64(s, 2, max);
	return unacked_rows(j, s, cb, arg);
}

int
journal_unacked_upto(struct journal *j, uint64_t seq)
{
	sqlite3_stmt *s = st(j, S_EV_COUNT_UPTO);
	int n = -1;

	db_bind_i64(s, 1, (int64_t)seq);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return n;
}

int
journal_has_event(struct journal *j, const char *order_id, enum proto_ev_type type)
{
	sqlite3_stmt *s = st(j, S_EV_HAS);
	int n = -1;

	db_bind_text(s, 1, order_id);
	db_bind_text(s, 2, proto_ev_type_name(type));
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0) > 0;
	sqlite3_reset(s);
	return n;
}

/* Hand the rows of a bound unacked-events statement to cb. */
static int
unacked_rows(struct journal *j, sqlite3_stmt *s, journal_event_cb cb, void *arg)
{
	struct jevent ev;
	int n = 0, rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ev.seq = (uint64_t)sqlite3_column_int64(s, 0);
		ev.eid = (const char *)sqlite3_column_text(s, 1);
		ev.type = (const char *)sqlite3_column_text(s, 2);
		ev.order_id = (const char *)sqlite3_column_text(s, 3);
		ev.payload = (const char *)sqlite3_column_text(s, 4);
		ev.len = (size_t)sqlite3_column_bytes(s, 4);
		ev.created_ms = sqlite3_column_int64(s, 5);
		if (ev.eid == NULL || ev.type == NULL || ev.order_id == NULL ||
		    ev.payload == NULL)
			continue;
		cb(arg, &ev);
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_warnx("journal %s: unacked: %s", j->path, sqlite3_errmsg(j->db));
		return -1;
	}
	return n;
}

int
journal_unacked_count(struct journal *j)
{
	sqlite3_stmt *s = st(j, S_EV_COUNT);
	int n = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return n;
}

int
journal_ack(struct journal *j, const char *eid)
{
	sqlite3_stmt *s = st(j, S_EV_ACK);

	db_bind_text(s, 1, eid);
	db_bind_i64(s, 2, clock_wall(j->clock));
	if (step_done(j, s, "ack") == -1)
		return -1;
	return sqlite3_changes(j->db) > 0 ? 1 : 0;
}

/* Cancel inside the caller's transaction (or autocommit). */
static int
cancel(struct journal *j, const char *id, int64_t at_ms)
{
	sqlite3_stmt *s = st(j, S_ORDER_CANCEL);

	db_bind_text(s, 1, id);
	db_bind_i64(s, 2, clock_wall(j->clock));
	db_bind_i64(s, 3, at_ms);
	if (step_done(j, s, "cancel order") == -1)
		return -1;
	return sqlite3_changes(j->db) > 0 ? 1 : 0;
}

int
journal_cancel_order(struct journal *j, const char *id, int64_t at_ms)
{
	return cancel(j, id, at_ms);
}

void
journal_set_sealer(struct journal *j, journal_seal_fn fn, void *arg)
{
	j->seal = fn;
	j->seal_arg = arg;
}

int
journal_delay_requested(struct journal *j, const char *id, int64_t at_ms)
{
	sqlite3_stmt *s = st(j, S_ORDER_DELAYREQ);
	int rc;

	db_bind_text(s, 1, id);
	db_bind_i64(s, 2, at_ms);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_warnx("journal %s: delay request: %s", j->path, sqlite3_errmsg(j->db));
		return -1;
	}
	return sqlite3_changes(j->db) > 0 ? 1 : 0;
}

int
journal_sync(struct journal *j, char (*open)[PROTO_ID_MAX], int nopen, int64_t at_ms)
{
	char held[PROTO_OPEN_MAX][PROTO_ID_MAX];
	int64_t gw[PROTO_OPEN_MAX];
	sqlite3_stmt *s;
	int nheld = 0, i, k, listed, ncancel = 0, rc;

	if (db_begin(j->db) == -1)
		return -1;
	s = st(j, S_ORDER_OPEN);
	db_bind_i64(s, 1, PROTO_OPEN_MAX);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && nheld < PROTO_OPEN_MAX) {
		db_col_text(s, 0, held[nheld], sizeof(held[nheld]));
		gw[nheld++] = db_col_i64(s, 1, 0);
	}
	sqlite3_reset(s);
	for (i = 0; i < nheld; i++) {
		for (listed = 0, k = 0; k < nopen && !listed; k++)
			listed = strcmp(open[k], held[i]) == 0;
		/* pushed after the gateway composed this sync: it cannot be listed yet */
		if (listed || gw[i] > at_ms)
			continue;
		if ((rc = cancel(j, held[i], at_ms)) == -1)
			goto fail;
		if (rc == 1) {
			log_info("order %s: not open at the gateway any more (sync): cancelled",
			    held[i]);
			ncancel++;
		}
	}
	if (db_commit(j->db) == -1)
		goto fail;
	return ncancel;
fail:
	db_rollback(j->db);
	return -1;
}

int
journal_open_orders(struct journal *j, char (*ids)[PROTO_ID_MAX], int max)
{
	sqlite3_stmt *s = st(j, S_ORDER_OPEN);
	int n = 0, rc = SQLITE_DONE;

	db_bind_i64(s, 1, max);
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		db_col_text(s, 0, ids[n++], PROTO_ID_MAX);
	sqlite3_reset(s);
	if (n < max && rc != SQLITE_DONE) {
		log_warnx("journal %s: open orders: %s", j->path, sqlite3_errmsg(j->db));
		return -1;
	}
	return n;
}

/* Fill o from a row of S_ORDER_GET / S_ORDER_LIST. 0, or -1 if the stored JSON
 * no longer decodes (a file edited by hand, or from an incompatible version). */
static int
row_order(struct journal *j, sqlite3_stmt *s, struct jorder *o)
{
	struct proto_down *d;
	struct proto_error err;
	const void *json = sqlite3_column_text(s, 0);
	int len = sqlite3_column_bytes(s, 0);
	char state[16];

	memset(o, 0, sizeof(*o));
	if ((d = malloc(sizeof(*d))) == NULL) {
		log_warn("journal: malloc");
		return -1;
	}
	if (json == NULL || proto_decode_down(json, (size_t)len, d, &err) != PROTO_OK ||
	    d->type != PROTO_DOWN_ORDER) {
		log_warnx("journal %s: a stored order does not decode: %s", j->path,
		    json == NULL ? "empty" : err.msg);
		free(d);
		return -1;
	}
	o->order = d->order;
	free(d);
	o->state = state_parse(db_col_text(s, 1, state, sizeof(state)));
	o->received_ms = db_col_i64(s, 2, 0);
	o->state_ms = db_col_i64(s, 3, 0);
	db_col_text(s, 4, o->msg_id, sizeof(o->msg_id));
	o->accepted = (int)db_col_i64(s, 5, 0);
	o->delay_requested_ms = db_col_i64(s, 6, 0);
	return 0;
}

int
journal_order_get(struct journal *j, const char *id, struct jorder *out)
{
	sqlite3_stmt *s = st(j, S_ORDER_GET);
	int rc, ret;

	db_bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = row_order(j, s, out) == 0 ? 1 : -1;
	else if (rc == SQLITE_DONE)
		ret = 0;
	else {
		log_warnx("journal %s: get order: %s", j->path, sqlite3_errmsg(j->db));
		ret = -1;
	}
	sqlite3_reset(s);
	return ret;
}

int
journal_list_orders(struct journal *j, int max, void (*cb)(void *arg, const struct jorder *o),
    void *arg)
{
	sqlite3_stmt *s = st(j, S_ORDER_LIST);
	struct jorder *o;
	int n = 0, rc;

	if ((o = malloc(sizeof(*o))) == NULL) {
		log_warn("journal: malloc");
		return -1;
	}
	db_bind_i64(s, 1, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (row_order(j, s, o) == 0) {
			cb(arg, o);
			n++;
		}
	}
	sqlite3_reset(s);
	free(o);
	if (rc != SQLITE_DONE) {
		log_warnx("journal %s: list orders: %s", j->path, sqlite3_errmsg(j->db));
		return -1;
	}
	return n;
}

int
journal_track_add(struct journal *j, const char *payload, size_t len, int64_t at_ms)
{
	sqlite3_stmt *s;
	int n = 0;

	if (db_begin(j->db) == -1)
		return -1;
	s = st(j, S_TR_ADD);
	db_bind_i64(s, 1, at_ms);
	sqlite3_bind_text(s, 2, payload, (int)len, SQLITE_TRANSIENT);
	if (step_done(j, s, "track add") == -1)
		goto fail;
	s = st(j, S_TR_COUNT);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	if (n > JOURNAL_TRACK_MAX) {
		s = st(j, S_TR_THIN);
		db_bind_i64(s, 1, n / 2);
		if (step_done(j, s, "track thin") == -1)
			goto fail;
	}
	if (db_commit(j->db) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(j->db);
	return -1;
}

int
journal_track_count(struct journal *j)
{
	sqlite3_stmt *s = st(j, S_TR_COUNT);
	int n = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return n;
}

int
journal_track_take(struct journal *j, int max,
    int (*cb)(void *arg, const char *payload, size_t len), void *arg)
{
	sqlite3_stmt *s = st(j, S_TR_OLDEST), *del;
	int64_t ids[JOURNAL_TRACK_BATCH];
	int n = 0, i, rc;

	if (max > JOURNAL_TRACK_BATCH)
		max = JOURNAL_TRACK_BATCH;
	db_bind_i64(s, 1, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(s, 1);

		if (p == NULL || cb(arg, p, (size_t)sqlite3_column_bytes(s, 1)) != 0)
			break;
		ids[n++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	if (n == 0)
		return 0;
	if (db_begin(j->db) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		del = st(j, S_TR_DEL);
		db_bind_i64(del, 1, ids[i]);
		if (step_done(j, del, "track delete") == -1) {
			db_rollback(j->db);
			return -1;
		}
	}
	if (db_commit(j->db) == -1) {
		db_rollback(j->db);
		return -1;
	}
	return n;
}
