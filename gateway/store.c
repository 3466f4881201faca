/*
 * store.c: the gateway's SQLite store.
 *
 * Owns the connection, the schema (migrations by PRAGMA user_version through
 * common/db.c) and every prepared statement, kept for the life of the store.
 * It reads and writes rows; it does not decide anything: which rows change
 * together, and in which transaction, is order.c's business (store_begin /
 * store_commit around its calls). Every function returns -1 with a log line on
 * an SQLite error and leaves the transaction to its caller to roll back.
 *
 * The timeline is append-only: triggers refuse UPDATE and DELETE on it, so even
 * an operator's sqlite3 shell cannot rewrite history by accident.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "gateway.h"
#include "log.h"

/* Schema version 1: the repair loop. */
static const char mig_v1[] =
	"CREATE TABLE crews ("
	"  id TEXT PRIMARY KEY, name TEXT NOT NULL, branch TEXT NOT NULL DEFAULT '',"
	"  device TEXT NOT NULL);"
	"CREATE TABLE devices ("
	"  id TEXT PRIMARY KEY, crew TEXT, online INTEGER, last_seen_ms INTEGER,"
	"  last_lat REAL, last_lon REAL, last_at_ms INTEGER);"
	"CREATE TABLE orders ("
	"  id TEXT PRIMARY KEY, type TEXT NOT NULL DEFAULT 'repair',"
	"  category INTEGER NOT NULL, state TEXT NOT NULL,"
	"  summary TEXT NOT NULL, address TEXT NOT NULL, customer TEXT NOT NULL,"
	"  phone TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,"
	"  in_lat REAL NOT NULL, in_lon REAL NOT NULL, in_crs TEXT NOT NULL,"
	"  radius_m REAL NOT NULL, zone TEXT NOT NULL, zone_name TEXT NOT NULL,"
	"  crew TEXT, device TEXT, call_ended_ms INTEGER, created_ms INTEGER NOT NULL,"
	"  reviewed_ms INTEGER, dispatched_ms INTEGER, delivered_ms INTEGER,"
	"  accepted_ms INTEGER, arrived_ms INTEGER, arrive_method TEXT,"
	"  completed_ms INTEGER, completed_rx_ms INTEGER, callback_due_ms INTEGER,"
	"  callback_ms INTEGER, callback_outcome TEXT, rating INTEGER,"
	"  callback_note TEXT, callback_attempts INTEGER NOT NULL DEFAULT 0,"
	"  decline_reason TEXT, duplicate_of TEXT, review_note TEXT,"
	"  delay_reason TEXT, delay_text TEXT, delay_eta_ms INTEGER, delay_at_ms INTEGER,"
	"  lim_review_s INTEGER NOT NULL, lim_arrive_min INTEGER NOT NULL,"
	"  lim_complete_min INTEGER NOT NULL, lim_callback_min INTEGER NOT NULL,"
	"  breached INTEGER NOT NULL DEFAULT 0, next_stage TEXT, next_due_ms INTEGER);"
	/* The SLA tick and the open list read this index only: closed and declined
	 * orders have no next_due_ms and are not in it. */
	"CREATE INDEX orders_next_due ON orders(next_due_ms) WHERE next_due_ms IS NOT NULL;"
	"CREATE INDEX orders_callback ON orders(callback_due_ms)"
	"  WHERE state = 'completed' AND callback_ms IS NULL;"
	"CREATE INDEX orders_device ON orders(device, state);"
	"CREATE TABLE timeline ("
	"  order_id TEXT NOT NULL REFERENCES orders(id), seq INTEGER NOT NULL,"
	"  kind TEXT NOT NULL, at_ms INTEGER NOT NULL, rx_ms INTEGER NOT NULL,"
	"  actor TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}',"
	"  PRIMARY KEY (order_id, seq));"
	"CREATE TRIGGER timeline_no_update BEFORE UPDATE ON timeline"
	"  BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;"
	"CREATE TRIGGER timeline_no_delete BEFORE DELETE ON timeline"
	"  BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;"
	"CREATE TABLE device_events ("
	"  eid TEXT PRIMARY KEY, dev TEXT NOT NULL, seq INTEGER NOT NULL, order_id TEXT,"
	"  type TEXT NOT NULL, at_ms INTEGER, rx_ms INTEGER NOT NULL,"
	"  status TEXT NOT NULL, payload TEXT NOT NULL);"
	"CREATE TABLE outbox ("
	"  msg_id TEXT PRIMARY KEY, dev TEXT NOT NULL, order_id TEXT, kind TEXT NOT NULL,"
	"  payload TEXT NOT NULL, created_ms INTEGER NOT NULL, last_sent_ms INTEGER,"
	"  attempts INTEGER NOT NULL DEFAULT 0, acked_ms INTEGER);"
	"CREATE INDEX outbox_pending ON outbox(dev, created_ms) WHERE acked_ms IS NULL;"
	"CREATE TABLE positions ("
	"  dev TEXT NOT NULL, at_ms INTEGER NOT NULL, rx_ms INTEGER NOT NULL,"
	"  lat REAL NOT NULL, lon REAL NOT NULL, eph REAL, speed REAL, order_id TEXT);"
	"CREATE INDEX positions_dev ON positions(dev, at_ms);";

/* Schema version 2: every business type, the full SLA engine (issue 3). Old
 * rows keep their limits; the new limit columns are 0 for them, which the SLA
 * engine reads as "not applicable", so no old verdict changes. */
static const char mig_v2[] =
	"ALTER TABLE orders ADD COLUMN grade TEXT;"
	"ALTER TABLE orders ADD COLUMN ring_ms INTEGER;"
	"ALTER TABLE orders ADD COLUMN answered_ms INTEGER;"
	"ALTER TABLE orders ADD COLUMN linked INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE orders ADD COLUMN delay_requested_ms INTEGER;"
	"ALTER TABLE orders ADD COLUMN dept TEXT;"
	"ALTER TABLE orders ADD COLUMN forwarded_ms INTEGER;"
	"ALTER TABLE orders ADD COLUMN handle_due_ms INTEGER;"
	"ALTER TABLE orders ADD COLUMN result TEXT;"
	"ALTER TABLE orders ADD COLUMN shift_ms INTEGER;"
	"ALTER TABLE orders ADD COLUMN shift_end_ms INTEGER;"
	"ALTER TABLE orders ADD COLUMN finished_ms INTEGER;"
	"ALTER TABLE orders ADD COLUMN archive_start_ms INTEGER;"
	"ALTER TABLE orders ADD COLUMN archived_ms INTEGER;"
	"ALTER TABLE orders ADD COLUMN outage_id INTEGER;"
	"ALTER TABLE orders ADD COLUMN profile TEXT NOT NULL DEFAULT 'default';"
	"ALTER TABLE orders ADD COLUMN lim_answer_s INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE orders ADD COLUMN lim_record_s INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE orders ADD COLUMN lim_handle_wd INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE orders ADD COLUMN lim_archive_min INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE orders ADD COLUMN lim_warn_pct INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE orders ADD COLUMN warned INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE orders ADD COLUMN late INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX orders_created ON orders(created_ms);"
	"CREATE INDEX orders_shift ON orders(type, shift_ms);"
	"CREATE INDEX orders_dup ON orders(duplicate_of) WHERE duplicate_of IS NOT NULL;"
	"CREATE TABLE outages ("
	"  id INTEGER PRIMARY KEY, name TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,"
	"  radius_m REAL NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
	"  note TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL);"
	"CREATE INDEX outages_end ON outages(end_ms);";

/* Schema version 3: security (issue 6). API tokens, stored as SHA-256 of the
 * secret only; the audit hash chain over every timeline entry and every stored
 * device event (README "Tamper-evident record"), append-only like the timeline. */
static const char mig_v3[] =
	"CREATE TABLE tokens ("
	"  name TEXT PRIMARY KEY, role TEXT NOT NULL, dept TEXT NOT NULL DEFAULT '',"
	"  hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL);"
	"CREATE TABLE audit ("
	"  n INTEGER PRIMARY KEY, tbl TEXT NOT NULL, ref TEXT NOT NULL, hash TEXT NOT NULL);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
	"CREATE TRIGGER device_events_no_delete BEFORE DELETE ON device_events"
	"  BEGIN SELECT RAISE(ABORT, 'device events are kept'); END;";

/* Schema version 4: the web board (issue 7). Browser sessions, stored by the
 * SHA-256 of the cookie's secret like tokens, tied to the token that logged in
 * (deleting the token ends its sessions); the alerts panel reads warnings and
 * breaches and their acknowledgements through two partial indexes, so its cost
 * follows the alerts, not the timeline. */
static const char mig_v4[] =
	"CREATE TABLE sessions ("
	"  hash TEXT PRIMARY KEY, token TEXT NOT NULL REFERENCES tokens(name) ON DELETE CASCADE,"
	"  csrf TEXT NOT NULL, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
	"CREATE INDEX sessions_expires ON sessions(expires_ms);"
	"CREATE INDEX timeline_alerts ON timeline(order_id, seq)"
	"  WHERE kind IN ('warning', 'breach');"
	"CREATE INDEX timeline_acks ON timeline(order_id)"
	"  WHERE kind = 'alert_ack';"
	"CREATE INDEX orders_state ON orders(state);";

/* Schema version 5: the last order number given out per local day. Finding
 * it from the orders themselves meant reading every order of the day (their
 * numbers are zero-padded to 4 digits but may grow past 9999, so the key's
 * order is not the numbers' order): quadratic over a storm's intake (issue 9).
 * A day's row starts from that scan once, then moves in the order's own
 * transaction, so a rolled-back intake gives its number back. */
static const char mig_v5[] =
	"CREATE TABLE order_seq (day TEXT PRIMARY KEY, last INTEGER NOT NULL) WITHOUT ROWID;";

static const char *const migrations[] = { mig_v1, mig_v2, mig_v3, mig_v4, mig_v5 };
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The columns of orders, in the order of struct order's binding below. */
enum ocol {
	OC_ID, OC_CATEGORY, OC_STATE, OC_SUMMARY, OC_ADDRESS, OC_CUSTOMER, OC_PHONE,
	OC_LAT, OC_LON, OC_IN_LAT, OC_IN_LON, OC_IN_CRS, OC_RADIUS, OC_ZONE,
	OC_ZONE_NAME, OC_CREW, OC_DEVICE, OC_CALL_ENDED, OC_CREATED, OC_REVIEWED,
	OC_DISPATCHED, OC_DELIVERED, OC_ACCEPTED, OC_ARRIVED, OC_ARRIVE_METHOD,
	OC_COMPLETED, OC_COMPLETED_RX, OC_CALLBACK_DUE, OC_CALLBACK, OC_CB_OUTCOME,
	OC_RATING, OC_CB_NOTE, OC_CB_ATTEMPTS, OC_DECLINE_REASON, OC_DUPLICATE_OF,
	OC_REVIEW_NOTE, OC_DELAY_REASON, OC_DELAY_TEXT, OC_DELAY_ETA, OC_DELAY_AT,
	OC_LIM_REVIEW, OC_LIM_ARRIVE, OC_LIM_COMPLETE, OC_LIM_CALLBACK, OC_BREACHED,
	OC_NEXT_STAGE, OC_NEXT_DUE, OC_TYPE, OC_GRADE, OC_RING, OC_ANSWERED, OC_LINKED,
	OC_DELAY_REQ, OC_DEPT, OC_FORWARDED, OC_HANDLE_DUE, OC_RESULT, OC_SHIFT,
	OC_SHIFT_END, OC_FINISHED, OC_ARCHIVE_START, OC_ARCHIVED, OC_OUTAGE, OC_PROFILE,
	OC_LIM_ANSWER, OC_LIM_RECORD, OC_LIM_HANDLE, OC_LIM_ARCHIVE, OC_LIM_WARN,
	OC_WARNED, OC_LATE, OC_N
};

static const char *const ocols[OC_N] = {
	"id", "category", "state", "summary", "address", "customer", "phone",
	"lat", "lon", "in_lat", "in_lon", "in_crs", "radius_m", "zone",
	"zone_name", "crew", "device", "call_ended_ms", "created_ms", "reviewed_ms",
	"dispatched_ms", "delivered_ms", "accepted_ms", "arrived_ms", "arrive_method",
	"completed_ms", "completed_rx_ms", "callback_due_ms", "callback_ms", "callback_outcome",
	"rating", "callback_note", "callback_attempts", "decline_reason", "duplicate_of",
	"review_note", "delay_reason", "delay_text", "delay_eta_ms", "delay_at_ms",
	"lim_review_s", "lim_arrive_min", "lim_complete_min", "lim_callback_min", "breached",
	"next_stage", "next_due_ms", "type", "grade", "ring_ms", "answered_ms", "linked",
	"delay_requested_ms", "dept", "forwarded_ms", "handle_due_ms", "result", "shift_ms",
	"shift_end_ms", "finished_ms", "archive_start_ms", "archived_ms", "outage_id",
	"profile", "lim_answer_s", "lim_record_s", "lim_handle_wd", "lim_archive_min",
	"lim_warn_pct", "warned", "late",
};

enum stmt_id {
	S_ORDER_GET, S_ORDER_INSERT, S_ORDER_UPDATE, S_ORDER_MAXSEQ, S_SEQ_GET, S_SEQ_PUT,
	S_ORDER_LIST_OPEN,
	S_ORDER_LIST_ALL, S_ORDER_LIST_STATE, S_ORDER_DUE, S_CALLBACKS, S_ON_DEVICE,
	S_COUNT_OPEN, S_TL_NEXT, S_TL_INSERT, S_TL_LIST, S_CREW_GET, S_CREW_INSERT,
	S_CREW_UPDATE, S_CREW_LIST, S_DEV_ENSURE, S_DEV_GET, S_DEV_PRESENCE, S_DEV_POS,
	S_EV_INSERT, S_EV_SEEN, S_OB_INSERT, S_OB_GET, S_OB_ACK, S_OB_SENT, S_OB_PENDING,
	S_OB_PENDING_DEV, S_OB_COUNT_ORDER, S_POS_INSERT, S_ORDER_CREATED, S_ORDER_SHIFT,
	S_SHIFT_UNFINISHED, S_ORDER_LINKED, S_OUT_INSERT, S_OUT_LIST, S_OUT_ACTIVE, S_N
};

/* Statements of the web board section (end of this file). */
enum web_id {
	W_SESS_ADD, W_SESS_FIND, W_SESS_DEL, W_SESS_PURGE, W_TL_AFTER, W_TL_LAST, W_TL_GET,
	W_ACKED, W_ALERTS, W_POS_DEV, W_EV_ORDER, W_OB_ORDER, W_N
};

/* Statements of the security section (end of this file). */
enum sec_id {
	SEC_AUDIT_HEAD, SEC_AUDIT_INSERT, SEC_TOKEN_ADD, SEC_TOKEN_FIND, SEC_N
};

/* Transaction statements (store_begin and friends). */
enum tx_id {
	TX_SAVEPOINT, TX_RELEASE, TX_ROLLBACK_TO, TX_BEGIN, TX_COMMIT, TX_SYNC_NORMAL,
	TX_SYNC_FULL, TX_N
};

struct store {
	sqlite3	       *db;
	struct db_ckpt *ckpt;	/* checkpoints off the loop (NULL: SQLite's own) */
	sqlite3_stmt   *st[S_N];
	sqlite3_stmt   *sec[SEC_N];
	sqlite3_stmt   *web[W_N];
	sqlite3_stmt   *pos_rows;	/* INSERT of STORE_POS_ROWS positions */
	uint64_t	commits;	/* real COMMITs so far (web board section) */
	struct {				/* transactions and group commit */
		sqlite3_stmt *st[TX_N];
		int	armed;		/* group commit on (store_group_start) */
		int	depth;		/* store_begin nesting */
		int	sp[STORE_TX_DEPTH_MAX];	/* level d is a SAVEPOINT (else owns BEGIN) */
		int	real;		/* a BEGIN is open */
		int	light;		/* ... with synchronous=NORMAL */
		int	group_tx;	/* ... and it is the pass's group */
		int	group_failed;	/* the group was lost this pass */
		int	members;	/* operations released into the group */
		int	ending;		/* store_group_end running */
		int	nwatch;
		struct { store_group_cb cb; void *arg; } watch[STORE_GROUP_WATCH_MAX];
	}		tx;
};

#define STORE_CACHE_KIB	"16384"	/* SQLite page cache, KiB */

static int	tx_prepare(struct store *);
static int	audit_append(struct store *, const char *tbl, const char *ref,
		    const unsigned char *canon, size_t len);
static int	sec_prepare(struct store *);
static int	web_prepare(struct store *);

#define OPEN_STATES	"('recorded','dispatched','delivered','accepted','arrived'," \
			"'completed','reopened')"
#define ON_DEVICE_STATES "('dispatched','delivered','accepted','arrived')"

/* Append printf output at *n in buf (cap bytes). 0, or -1 when it does not fit. */
static int
sql_add(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
sql_add(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*n >= cap)
		return -1;
	va_start(ap, fmt);
	w = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= cap - *n)
		return -1;
	*n += (size_t)w;
	return 0;
}

/* Build "SELECT c1, c2, ... FROM orders " into buf. */
static int
order_select(char *buf, size_t cap, const char *tail)
{
	size_t n = 0;

	if (sql_add(buf, cap, &n, "SELECT ") == -1)
		return -1;
	for (int i = 0; i < OC_N; i++)
		if (sql_add(buf, cap, &n, "%s%s", i ? ", " : "", ocols[i]) == -1)
			return -1;
	return sql_add(buf, cap, &n, " FROM orders %s", tail);
}

static int
order_insert_sql(char *buf, size_t cap)
{
	size_t n = 0;

	if (sql_add(buf, cap, &n, "INSERT INTO orders (") == -1)
		return -1;
	for (int i = 0; i < OC_N; i++)
		if (sql_add(buf, cap, &n, "%s%s", i ? ", " : "", ocols[i]) == -1)
			return -1;
	if (sql_add(buf, cap, &n, ") VALUES (") == -1)
		return -1;
	for (int i = 0; i < OC_N; i++)
		if (sql_add(buf, cap, &n, "%s?%d", i ? ", " : "", i + 1) == -1)
			return -1;
	return sql_add(buf, cap, &n, ")");
}

static int
order_update_sql(char *buf, size_t cap)
{
	size_t n = 0;

	if (sql_add(buf, cap, &n, "UPDATE orders SET ") == -1)
		return -1;
	/* The columns fixed at intake stay out of the SET list: SQLite rewrites
	 * the entry of every index one of whose columns is SET, changed or not,
	 * so orders_created and orders_shift are left alone by the two updates
	 * of every dispatch (issue 9). Their binds are simply not used. */
	for (int i = 1, first = 1; i < OC_N; i++) {
		if (i == OC_TYPE || i == OC_CREATED || i == OC_SHIFT)
			continue;
		if (sql_add(buf, cap, &n, "%s%s = ?%d", first ? "" : ", ", ocols[i], i + 1) == -1)
			return -1;
		first = 0;
	}
	return sql_add(buf, cap, &n, " WHERE id = ?1");
}

/* Times: 0 = unknown, stored as NULL. */
static int
bind_t(sqlite3_stmt *s, int idx, int64_t v)
{
	return v == 0 ? sqlite3_bind_null(s, idx) : sqlite3_bind_int64(s, idx, v);
}

/* Empty strings of optional fields are stored as NULL. */
static int
bind_opt(sqlite3_stmt *s, int idx, const char *v)
{
	return v[0] == '\0' ? sqlite3_bind_null(s, idx) : db_bind_text(s, idx, v);
}

static int
order_bind(sqlite3_stmt *s, const struct order *o)
{
	int rc = 0;

#define B(x) do { if ((x) != SQLITE_OK) rc = -1; } while (0)
	B(db_bind_text(s, OC_ID + 1, o->id));
	B(sqlite3_bind_int(s, OC_CATEGORY + 1, o->category));
	B(db_bind_text(s, OC_STATE + 1, order_state_name(o->state)));
	B(db_bind_text(s, OC_SUMMARY + 1, o->summary));
	B(db_bind_text(s, OC_ADDRESS + 1, o->address));
	B(db_bind_text(s, OC_CUSTOMER + 1, o->customer));
	B(db_bind_text(s, OC_PHONE + 1, o->phone));
	B(sqlite3_bind_double(s, OC_LAT + 1, o->lat));
	B(sqlite3_bind_double(s, OC_LON + 1, o->lon));
	B(sqlite3_bind_double(s, OC_IN_LAT + 1, o->in_lat));
	B(sqlite3_bind_double(s, OC_IN_LON + 1, o->in_lon));
	B(db_bind_text(s, OC_IN_CRS + 1, order_crs_name(o->in_crs)));
	B(sqlite3_bind_double(s, OC_RADIUS + 1, o->radius_m));
	B(db_bind_text(s, OC_ZONE + 1, maps_zone_name(o->zone)));
	B(db_bind_text(s, OC_ZONE_NAME + 1, o->zone_name));
	B(bind_opt(s, OC_CREW + 1, o->crew));
	B(bind_opt(s, OC_DEVICE + 1, o->device));
	B(bind_t(s, OC_CALL_ENDED + 1, o->call_ended_ms));
	B(bind_t(s, OC_CREATED + 1, o->created_ms));
	B(bind_t(s, OC_REVIEWED + 1, o->reviewed_ms));
	B(bind_t(s, OC_DISPATCHED + 1, o->dispatched_ms));
	B(bind_t(s, OC_DELIVERED + 1, o->delivered_ms));
	B(bind_t(s, OC_ACCEPTED + 1, o->accepted_ms));
	B(bind_t(s, OC_ARRIVED + 1, o->arrived_ms));
	B(bind_opt(s, OC_ARRIVE_METHOD + 1, o->arrive_method));
	B(bind_t(s, OC_COMPLETED + 1, o->completed_ms));
	B(bind_t(s, OC_COMPLETED_RX + 1, o->completed_rx_ms));
	B(bind_t(s, OC_CALLBACK_DUE + 1, o->callback_due_ms));
	B(bind_t(s, OC_CALLBACK + 1, o->callback_ms));
	B(bind_opt(s, OC_CB_OUTCOME + 1, o->callback_outcome));
	B(o->rating ? sqlite3_bind_int(s, OC_RATING + 1, o->rating) :
	    sqlite3_bind_null(s, OC_RATING + 1));
	B(bind_opt(s, OC_CB_NOTE + 1, o->callback_note));
	B(sqlite3_bind_int(s, OC_CB_ATTEMPTS + 1, o->callback_attempts));
	B(bind_opt(s, OC_DECLINE_REASON + 1, o->decline_reason));
	B(bind_opt(s, OC_DUPLICATE_OF + 1, o->duplicate_of));
	B(bind_opt(s, OC_REVIEW_NOTE + 1, o->review_note));
	B(bind_opt(s, OC_DELAY_REASON + 1, o->delay_reason));
	B(bind_opt(s, OC_DELAY_TEXT + 1, o->delay_text));
	B(bind_t(s, OC_DELAY_ETA + 1, o->delay_eta_ms));
	B(bind_t(s, OC_DELAY_AT + 1, o->delay_at_ms));
	B(sqlite3_bind_int(s, OC_LIM_REVIEW + 1, o->lim.review_s));
	B(sqlite3_bind_int(s, OC_LIM_ARRIVE + 1, o->lim.arrive_min));
	B(sqlite3_bind_int(s, OC_LIM_COMPLETE + 1, o->lim.complete_min));
	B(sqlite3_bind_int(s, OC_LIM_CALLBACK + 1, o->lim.callback_min));
	B(sqlite3_bind_int64(s, OC_BREACHED + 1, (int64_t)o->breached));
	B(o->next_due_ms ? db_bind_text(s, OC_NEXT_STAGE + 1, sla_stage_name(o->next_stage)) :
	    sqlite3_bind_null(s, OC_NEXT_STAGE + 1));
	B(bind_t(s, OC_NEXT_DUE + 1, o->next_due_ms));
	B(db_bind_text(s, OC_TYPE + 1, taxonomy_type_name(o->type)));
	B(o->grade ? db_bind_text(s, OC_GRADE + 1, taxonomy_grade_name(o->grade)) :
	    sqlite3_bind_null(s, OC_GRADE + 1));
	B(bind_t(s, OC_RING + 1, o->ring_ms));
	B(bind_t(s, OC_ANSWERED + 1, o->answered_ms));
	B(sqlite3_bind_int(s, OC_LINKED + 1, o->linked));
	B(bind_t(s, OC_DELAY_REQ + 1, o->delay_requested_ms));
	B(bind_opt(s, OC_DEPT + 1, o->dept));
	B(bind_t(s, OC_FORWARDED + 1, o->forwarded_ms));
	B(bind_t(s, OC_HANDLE_DUE + 1, o->handle_due_ms));
	B(bind_opt(s, OC_RESULT + 1, o->result));
	B(bind_t(s, OC_SHIFT + 1, o->shift_ms));
	B(bind_t(s, OC_SHIFT_END + 1, o->shift_end_ms));
	B(bind_t(s, OC_FINISHED + 1, o->finished_ms));
	B(bind_t(s, OC_ARCHIVE_START + 1, o->archive_start_ms));
	B(bind_t(s, OC_ARCHIVED + 1, o->archived_ms));
	B(o->outage_id ? sqlite3_bind_int(s, OC_OUTAGE + 1, o->outage_id) :
	    sqlite3_bind_null(s, OC_OUTAGE + 1));
	B(db_bind_text(s, OC_PROFILE + 1, o->lim.name[0] ? o->lim.name : "default"));
	B(sqlite3_bind_int(s, OC_LIM_ANSWER + 1, o->lim.answer_s));
	B(sqlite3_bind_int(s, OC_LIM_RECORD + 1, o->lim.record_s));
	B(sqlite3_bind_int(s, OC_LIM_HANDLE + 1, o->lim.handle_wd));
	B(sqlite3_bind_int(s, OC_LIM_ARCHIVE + 1, o->lim.archive_min));
	B(sqlite3_bind_int(s, OC_LIM_WARN + 1, o->lim.warn_pct));
	B(sqlite3_bind_int64(s, OC_WARNED + 1, (int64_t)o->warned));
	B(sqlite3_bind_int64(s, OC_LATE + 1, (int64_t)o->late));
#undef B
	return rc;
}

static void
order_read(sqlite3_stmt *s, struct order *o)
{
	char w[GW_WORD_MAX];

	memset(o, 0, sizeof(*o));
	db_col_text(s, OC_ID, o->id, sizeof(o->id));
	o->category = (int)db_col_i64(s, OC_CATEGORY, 0);
	if (order_state_parse(db_col_text(s, OC_STATE, w, sizeof(w)), &o->state) == -1)
		o->state = ORD_RECORDED;
	db_col_text(s, OC_SUMMARY, o->summary, sizeof(o->summary));
	db_col_text(s, OC_ADDRESS, o->address, sizeof(o->address));
	db_col_text(s, OC_CUSTOMER, o->customer, sizeof(o->customer));
	db_col_text(s, OC_PHONE, o->phone, sizeof(o->phone));
	o->lat = db_col_double(s, OC_LAT, NAN);
	o->lon = db_col_double(s, OC_LON, NAN);
	o->in_lat = db_col_double(s, OC_IN_LAT, NAN);
	o->in_lon = db_col_double(s, OC_IN_LON, NAN);
	if (order_crs_parse(db_col_text(s, OC_IN_CRS, w, sizeof(w)), &o->in_crs) == -1)
		o->in_crs = MAPS_WGS84;
	o->radius_m = db_col_double(s, OC_RADIUS, 0);
	if (maps_zone_parse(db_col_text(s, OC_ZONE, w, sizeof(w)), &o->zone) == -1)
		o->zone = MAPS_ZONE_RURAL;
	db_col_text(s, OC_ZONE_NAME, o->zone_name, sizeof(o->zone_name));
	db_col_text(s, OC_CREW, o->crew, sizeof(o->crew));
	db_col_text(s, OC_DEVICE, o->device, sizeof(o->device));
	o->call_ended_ms = db_col_i64(s, OC_CALL_ENDED, 0);
	o->created_ms = db_col_i64(s, OC_CREATED, 0);
	o->reviewed_ms = db_col_i64(s, OC_REVIEWED, 0);
	o->dispatched_ms = db_col_i64(s, OC_DISPATCHED, 0);
	o->delivered_ms = db_col_i64(s, OC_DELIVERED, 0);
	o->accepted_ms = db_col_i64(s, OC_ACCEPTED, 0);
	o->arrived_ms = db_col_i64(s, OC_ARRIVED, 0);
	db_col_text(s, OC_ARRIVE_METHOD, o->arrive_method, sizeof(o->arrive_method));
	o->completed_ms = db_col_i64(s, OC_COMPLETED, 0);
	o->completed_rx_ms = db_col_i64(s, OC_COMPLETED_RX, 0);
	o->callback_due_ms = db_col_i64(s, OC_CALLBACK_DUE, 0);
	o->callback_ms = db_col_i64(s, OC_CALLBACK, 0);
	db_col_text(s, OC_CB_OUTCOME, o->callback_outcome, sizeof(o->callback_outcome));
	o->rating = (int)db_col_i64(s, OC_RATING, 0);
	db_col_text(s, OC_CB_NOTE, o->callback_note, sizeof(o->callback_note));
	o->callback_attempts = (int)db_col_i64(s, OC_CB_ATTEMPTS, 0);
	db_col_text(s, OC_DECLINE_REASON, o->decline_reason, sizeof(o->decline_reason));
	db_col_text(s, OC_DUPLICATE_OF, o->duplicate_of, sizeof(o->duplicate_of));
	db_col_text(s, OC_REVIEW_NOTE, o->review_note, sizeof(o->review_note));
	db_col_text(s, OC_DELAY_REASON, o->delay_reason, sizeof(o->delay_reason));
	db_col_text(s, OC_DELAY_TEXT, o->delay_text, sizeof(o->delay_text));
	o->delay_eta_ms = db_col_i64(s, OC_DELAY_ETA, 0);
	o->delay_at_ms = db_col_i64(s, OC_DELAY_AT, 0);
	o->lim.review_s = (int)db_col_i64(s, OC_LIM_REVIEW, 0);
	o->lim.arrive_min = (int)db_col_i64(s, OC_LIM_ARRIVE, 0);
	o->lim.complete_min = (int)db_col_i64(s, OC_LIM_COMPLETE, 0);
	o->lim.callback_min = (int)db_col_i64(s, OC_LIM_CALLBACK, 0);
	o->breached = (unsigned)db_col_i64(s, OC_BREACHED, 0);
	db_col_text(s, OC_NEXT_STAGE, w, sizeof(w));
	o->next_stage = SLA_REVIEW;
	for (int i = 0; i < SLA_NSTAGES; i++)
		if (strcmp(w, sla_stage_name((enum sla_stage)i)) == 0)
			o->next_stage = (enum sla_stage)i;
	o->next_due_ms = db_col_i64(s, OC_NEXT_DUE, 0);
	if (taxonomy_type_parse(db_col_text(s, OC_TYPE, w, sizeof(w)), &o->type) == -1)
		o->type = TYPE_REPAIR;
	db_col_text(s, OC_GRADE, w, sizeof(w));
	o->grade = strcmp(w, "important") == 0 ? GRADE_IMPORTANT :
	    strcmp(w, "general") == 0 ? GRADE_GENERAL : GRADE_NONE;
	o->ring_ms = db_col_i64(s, OC_RING, 0);
	o->answered_ms = db_col_i64(s, OC_ANSWERED, 0);
	o->linked = (int)db_col_i64(s, OC_LINKED, 0);
	o->delay_requested_ms = db_col_i64(s, OC_DELAY_REQ, 0);
	db_col_text(s, OC_DEPT, o->dept, sizeof(o->dept));
	o->forwarded_ms = db_col_i64(s, OC_FORWARDED, 0);
	o->handle_due_ms = db_col_i64(s, OC_HANDLE_DUE, 0);
	db_col_text(s, OC_RESULT, o->result, sizeof(o->result));
	o->shift_ms = db_col_i64(s, OC_SHIFT, 0);
	o->shift_end_ms = db_col_i64(s, OC_SHIFT_END, 0);
	o->finished_ms = db_col_i64(s, OC_FINISHED, 0);
	o->archive_start_ms = db_col_i64(s, OC_ARCHIVE_START, 0);
	o->archived_ms = db_col_i64(s, OC_ARCHIVED, 0);
	o->outage_id = (int)db_col_i64(s, OC_OUTAGE, 0);
	db_col_text(s, OC_PROFILE, o->lim.name, sizeof(o->lim.name));
	o->lim.answer_s = (int)db_col_i64(s, OC_LIM_ANSWER, 0);
	o->lim.record_s = (int)db_col_i64(s, OC_LIM_RECORD, 0);
	o->lim.handle_wd = (int)db_col_i64(s, OC_LIM_HANDLE, 0);
	o->lim.archive_min = (int)db_col_i64(s, OC_LIM_ARCHIVE, 0);
	o->lim.warn_pct = (int)db_col_i64(s, OC_LIM_WARN, 0);
	o->warned = (unsigned)db_col_i64(s, OC_WARNED, 0);
	o->late = (unsigned)db_col_i64(s, OC_LATE, 0);
}

static int
prepare_all(struct store *s)
{
	static const struct { enum stmt_id id; const char *sql; } fixed[] = {
		/* the range lets the primary key's index answer (LIKE alone is
		 * case-insensitive and scanned every order, issue 9) */
		{ S_ORDER_MAXSEQ, "SELECT MAX(CAST(substr(id, 13) AS INTEGER)) FROM orders"
		    " WHERE id > substr(?1, 1, 12) AND id < substr(?1, 1, 11) || '.'"
		    " AND id LIKE ?1" },
		{ S_SEQ_GET, "SELECT last FROM order_seq WHERE day = ?1" },
		{ S_SEQ_PUT, "INSERT INTO order_seq (day, last) VALUES (?1, ?2)"
		    " ON CONFLICT (day) DO UPDATE SET last = excluded.last" },
		{ S_COUNT_OPEN, "SELECT COUNT(*) FROM orders WHERE state IN " OPEN_STATES },
		{ S_TL_NEXT, "SELECT COALESCE(MAX(seq), 0) + 1 FROM timeline WHERE order_id = ?1" },
		{ S_TL_INSERT, "INSERT INTO timeline (order_id, seq, kind, at_ms, rx_ms, actor,"
		    " detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)" },
		{ S_TL_LIST, "SELECT seq, kind, at_ms, rx_ms, actor, detail FROM timeline"
		    " WHERE order_id = ?1 ORDER BY seq" },
		{ S_CREW_GET, "SELECT id, name, branch, device FROM crews WHERE id = ?1" },
		{ S_CREW_INSERT, "INSERT INTO crews (id, name, branch, device)"
		    " VALUES (?1, ?2, ?3, ?4)" },
		{ S_CREW_UPDATE, "UPDATE crews SET name = ?2, branch = ?3, device = ?4"
		    " WHERE id = ?1" },
		{ S_CREW_LIST, "SELECT c.id, c.name, c.branch, c.device, d.online,"
		    " d.last_seen_ms, d.last_lat, d.last_lon, d.last_at_ms,"
		    " (SELECT COUNT(*) FROM orders o WHERE o.crew = c.id AND o.state IN "
		    OPEN_STATES ") FROM crews c LEFT JOIN devices d ON d.id = c.device"
		    " ORDER BY c.id" },
		{ S_DEV_ENSURE, "INSERT INTO devices (id, crew) VALUES (?1, ?2)"
		    " ON CONFLICT(id) DO UPDATE SET crew = excluded.crew" },
		{ S_DEV_GET, "SELECT id, crew, online, last_seen_ms, last_lat, last_lon,"
		    " last_at_ms FROM devices WHERE id = ?1" },
		{ S_DEV_PRESENCE, "UPDATE devices SET online = ?2, last_seen_ms = ?3 WHERE id = ?1" },
		/* matches every known device (so "changes" says whether it is
		 * registered); the live position moves only forward in time */
		{ S_DEV_POS, "UPDATE devices SET"
		    " last_lat = CASE WHEN last_at_ms IS NULL OR last_at_ms <= ?4"
		    " THEN ?2 ELSE last_lat END,"
		    " last_lon = CASE WHEN last_at_ms IS NULL OR last_at_ms <= ?4"
		    " THEN ?3 ELSE last_lon END,"
		    " last_at_ms = MAX(COALESCE(last_at_ms, ?4), ?4),"
		    " last_seen_ms = MAX(COALESCE(last_seen_ms, 0), ?5) WHERE id = ?1" },
		{ S_EV_INSERT, "INSERT INTO device_events (eid, dev, seq, order_id, type, at_ms,"
		    " rx_ms, status, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
		    " ON CONFLICT(eid) DO NOTHING" },
		{ S_EV_SEEN, "SELECT 1 FROM device_events WHERE eid = ?1" },
		{ S_OB_INSERT, "INSERT INTO outbox (msg_id, dev, order_id, kind, payload,"
		    " created_ms, last_sent_ms, attempts, acked_ms)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)" },
		{ S_OB_GET, "SELECT msg_id, dev, order_id, kind, payload, created_ms,"
		    " last_sent_ms, attempts, acked_ms FROM outbox WHERE msg_id = ?1" },
		{ S_OB_ACK, "UPDATE outbox SET acked_ms = ?2 WHERE msg_id = ?1"
		    " AND acked_ms IS NULL" },
		{ S_OB_SENT, "UPDATE outbox SET last_sent_ms = ?2, attempts = attempts + 1"
		    " WHERE msg_id = ?1" },
		{ S_OB_PENDING, "SELECT msg_id, dev, order_id, kind, payload, created_ms,"
		    " last_sent_ms, attempts, acked_ms FROM outbox WHERE acked_ms IS NULL"
		    " AND (last_sent_ms IS NULL OR last_sent_ms < ?1) ORDER BY created_ms" },
		{ S_OB_PENDING_DEV, "SELECT msg_id, dev, order_id, kind, payload, created_ms,"
		    " last_sent_ms, attempts, acked_ms FROM outbox WHERE acked_ms IS NULL"
		    " AND dev = ?2 AND (last_sent_ms IS NULL OR last_sent_ms < ?1)"
		    " ORDER BY created_ms" },
		/* every row of an order has a msg_id "<order>.<...>": the range
		 * uses the primary key (outbox has no index on order_id; without
		 * it each dispatch scanned the whole outbox, issue 9) */
		{ S_OB_COUNT_ORDER, "SELECT COUNT(*) FROM outbox WHERE msg_id > ?1 || '.'"
		    " AND msg_id < ?1 || '/' AND order_id = ?1" },
		{ S_SHIFT_UNFINISHED, "SELECT COUNT(*), MAX(finished_ms) FROM orders"
		    " WHERE type = ?1 AND shift_ms = ?2 AND finished_ms IS NULL" },
		{ S_OUT_INSERT, "INSERT INTO outages (name, lat, lon, radius_m, start_ms, end_ms,"
		    " note, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
		{ S_OUT_LIST, "SELECT id, name, lat, lon, radius_m, start_ms, end_ms, note"
		    " FROM outages WHERE ?1 = 0 OR (start_ms <= ?1 AND end_ms >= ?1)"
		    " ORDER BY start_ms, id" },
		{ S_OUT_ACTIVE, "SELECT id, name, lat, lon, radius_m, start_ms, end_ms, note"
		    " FROM outages WHERE end_ms >= ?1 AND start_ms <= ?1 ORDER BY id" },
		{ S_POS_INSERT, "INSERT INTO positions (dev, at_ms, rx_ms, lat, lon, eph, speed,"
		    " order_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" },
	};
	static const struct { enum stmt_id id; const char *tail; } selects[] = {
		{ S_ORDER_GET, "WHERE id = ?1" },
		{ S_ORDER_LIST_OPEN, "WHERE state IN " OPEN_STATES
		    " ORDER BY next_due_ms IS NULL, next_due_ms, id LIMIT ?1" },
		{ S_ORDER_LIST_ALL, "ORDER BY next_due_ms IS NULL, next_due_ms, id LIMIT ?1" },
		{ S_ORDER_LIST_STATE, "WHERE state = ?2"
		    " ORDER BY next_due_ms IS NULL, next_due_ms, id LIMIT ?1" },
		{ S_ORDER_DUE, "WHERE next_due_ms IS NOT NULL AND next_due_ms <= ?1"
		    " ORDER BY next_due_ms LIMIT ?2" },
		{ S_CALLBACKS, "WHERE state = 'completed' AND callback_ms IS NULL"
		    " ORDER BY callback_due_ms, id LIMIT ?1" },
		{ S_ON_DEVICE, "WHERE device = ?1 AND state IN " ON_DEVICE_STATES " ORDER BY id" },
		{ S_ORDER_CREATED, "WHERE created_ms >= ?1 AND created_ms < ?2 ORDER BY created_ms, id" },
		{ S_ORDER_SHIFT, "WHERE type = ?1 AND shift_ms = ?2 ORDER BY id" },
		{ S_ORDER_LINKED, "WHERE duplicate_of = ?1 AND linked = 1 AND state = 'declined'"
		    " ORDER BY id" },
	};
	char sql[4096];

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (db_prepare(s->db, fixed[i].sql, &s->st[fixed[i].id]) == -1)
			return -1;
	for (size_t i = 0; i < sizeof(selects) / sizeof(selects[0]); i++) {
		if (order_select(sql, sizeof(sql), selects[i].tail) == -1 ||
		    db_prepare(s->db, sql, &s->st[selects[i].id]) == -1)
			return -1;
	}
	if (order_insert_sql(sql, sizeof(sql)) == -1 ||
	    db_prepare(s->db, sql, &s->st[S_ORDER_INSERT]) == -1)
		return -1;
	if (order_update_sql(sql, sizeof(sql)) == -1 ||
	    db_prepare(s->db, sql, &s->st[S_ORDER_UPDATE]) == -1)
		return -1;
	return 0;
}

/* INSERT of STORE_POS_ROWS positions: "VALUES (?,...,?), ..." */
static int
pos_rows_prepare(struct store *s)
{
	static const char head[] = "INSERT INTO positions (dev, at_ms, rx_ms, lat, lon, eph,"
	    " speed, order_id) VALUES ", row[] = "(?,?,?,?,?,?,?,?),";
	char sql[sizeof(head) + STORE_POS_ROWS * (sizeof(row) - 1)];
	size_t o = sizeof(head) - 1;

	memcpy(sql, head, o);
	for (int r = 0; r < STORE_POS_ROWS; r++, o += sizeof(row) - 1)
		memcpy(sql + o, row, sizeof(row) - 1);
	sql[o - 1] = '\0';		/* the last row's comma */
	return db_prepare(s->db, sql, &s->pos_rows);
}

struct store *
store_open(const char *path)
{
	struct store *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("store: calloc");
		return NULL;
	}
	if (db_open(path, migrations, NMIGRATIONS, &s->db) == -1) {
		free(s);
		return NULL;
	}
	/* A page cache of STORE_CACHE_KIB (SQLite's default is 2 MiB): the
	 * positions index and a storm's outbox outgrow the default, and every
	 * miss is a pread (issue 9's profile). Pages are allocated as used. */
	if (db_exec(s->db, "PRAGMA cache_size=-" STORE_CACHE_KIB, "cache_size") == -1 ||
	    tx_prepare(s) == -1) {
		store_close(s);
		return NULL;
	}
	if (prepare_all(s) == -1 || sec_prepare(s) == -1 || web_prepare(s) == -1 ||
	    pos_rows_prepare(s) == -1) {
		store_close(s);
		return NULL;
	}
	/* checkpoints off the loop's thread (common/db.c; README "Position
	 * ingest"): without it, SQLite's fsyncs stalled the loop */
	s->ckpt = db_ckpt_start(s->db);
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	db_ckpt_stop(s->ckpt);
	for (int i = 0; i < S_N; i++)
		sqlite3_finalize(s->st[i]);
	for (int i = 0; i < SEC_N; i++)
		sqlite3_finalize(s->sec[i]);
	for (int i = 0; i < W_N; i++)
		sqlite3_finalize(s->web[i]);
	for (int i = 0; i < TX_N; i++)
		sqlite3_finalize(s->tx.st[i]);
	sqlite3_finalize(s->pos_rows);
	db_close(s->db);
	free(s);
}

int
store_version(struct store *s)
{
	return db_version(s->db);
}

/* ---- transactions and group commit (README "Group commit") ----
 *
 * Unarmed (unit tests, start-up, shutdown) store_begin is BEGIN IMMEDIATE and
 * store_commit COMMIT, as in plain SQLite; a nested store_begin is a SAVEPOINT.
 * Armed (store_group_start, the daemon's loop), the first store_begin of a
 * loop pass opens the pass's transaction (the group) and every operation runs
 * in a SAVEPOINT of it: store_commit RELEASEs it into the group, store_rollback
 * rolls back that operation only. The prepare hook ends the group before the
 * loop polls again: one COMMIT (one fsync) for everything of the pass, then
 * the watchers are told, so acks, answers and pushes go out only after the
 * data they stand for is durable. Light transactions (store_begin_light) hold
 * only data whose loss on a power cut is harmless; outside a group they run
 * with synchronous=NORMAL (no fsync; a process crash still loses nothing in
 * WAL mode), inside one they are just another savepoint.
 *
 * If SQLite drops the group's transaction under an operation (it rolls back
 * the whole transaction itself on SQLITE_FULL, IOERR, NOMEM), every operation
 * released into the group so far is gone with it: the group is marked failed,
 * every later store_begin of the pass fails, and the watchers hear FAILED,
 * so nothing of the pass is acknowledged.
 */

/* The transaction statements, prepared once: parsing them on every
 * operation cost more than a position's INSERT (issue 9's profile). */
static const char *const tx_sql[TX_N] = {
	[TX_SAVEPOINT] = "SAVEPOINT lc", [TX_RELEASE] = "RELEASE lc",
	[TX_ROLLBACK_TO] = "ROLLBACK TO lc", [TX_BEGIN] = "BEGIN IMMEDIATE",
	[TX_COMMIT] = "COMMIT", [TX_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
	[TX_SYNC_FULL] = "PRAGMA synchronous=FULL",
};

static int
tx_prepare(struct store *s)
{
	for (int i = 0; i < TX_N; i++)
		if (db_prepare(s->db, tx_sql[i], &s->tx.st[i]) == -1)
			return -1;
	return 0;
}

static int
tx_exec(struct store *s, enum tx_id id)
{
	int rc = sqlite3_step(s->tx.st[id]);

	sqlite3_reset(s->tx.st[id]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_warnx("db: %s: %s", tx_sql[id], sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* The real transaction has been lost under us (SQLite rolled it back). */
static int
tx_gone(const struct store *s)
{
	return sqlite3_get_autocommit(s->db) != 0;
}

static void
tx_end_real(struct store *s)
{
	if (s->tx.light && !s->tx.group_tx)
		(void)tx_exec(s, TX_SYNC_FULL);
	s->tx.real = s->tx.light = s->tx.group_tx = 0;
}

static int
tx_begin(struct store *s, int light)
{
	int d = s->tx.depth;

	if (d >= STORE_TX_DEPTH_MAX) {
		log_warnx("store: transactions nested deeper than %d", STORE_TX_DEPTH_MAX);
		return -1;
	}
	if (d == 0 && s->tx.real && tx_gone(s)) {
		/* SQLite rolled the transaction back under a statement run
		 * outside an operation: a SAVEPOINT now would open a new one */
		if (s->tx.group_tx) {
			s->tx.group_failed = 1;
			log_warnx("store: the group transaction was lost: %d operations of this "
			    "pass are not stored", s->tx.members);
		}
		tx_end_real(s);
	}
	if (s->tx.group_failed) {
		log_warnx("store: this pass's group commit failed: write refused");
		return -1;
	}
	if (!s->tx.real) {
		/* A light one never becomes the group: it commits at its own
		 * store_commit. synchronous can change only outside a transaction. */
		int lt = light;

		if (lt && tx_exec(s, TX_SYNC_NORMAL) == -1)
			return -1;
		if (tx_exec(s, TX_BEGIN) == -1) {
			if (lt)
				(void)tx_exec(s, TX_SYNC_FULL);
			return -1;
		}
		s->tx.real = 1;
		s->tx.light = lt;
		s->tx.group_tx = s->tx.armed && !lt;
		if (!s->tx.group_tx) {
			/* this operation owns the transaction: no savepoint */
			s->tx.sp[d] = 0;
			s->tx.depth++;
			return 0;
		}
	}
	if (tx_exec(s, TX_SAVEPOINT) == -1) {
		if (d == 0 && !s->tx.group_tx) {
			db_rollback(s->db);
			tx_end_real(s);
		}
		return -1;
	}
	s->tx.sp[d] = 1;
	s->tx.depth++;
	return 0;
}

int
store_begin(struct store *s)
{
	return tx_begin(s, 0);
}

int
store_begin_light(struct store *s)
{
	return tx_begin(s, 1);
}

int
store_commit(struct store *s)
{
	int d = s->tx.depth - 1;

	if (d < 0) {
		log_warnx("store: commit without a transaction");
		return -1;
	}
	if (s->tx.sp[d]) {
		if (!s->tx.real || tx_gone(s) || tx_exec(s, TX_RELEASE) == -1)
			return -1;	/* the level stays open: the caller rolls back */
		s->tx.depth--;
		if (d == 0 && s->tx.group_tx)
			s->tx.members++;
		return 0;
	}
	if (tx_exec(s, TX_COMMIT) == -1)
		return -1;
	s->tx.depth--;
	tx_end_real(s);
	return 0;
}

void
store_rollback(struct store *s)
{
	int d = s->tx.depth - 1;

	if (d < 0) {
		/* after a failed commit of an unnested transaction (old callers) */
		if (s->tx.real && !s->tx.group_tx) {
			db_rollback(s->db);
			tx_end_real(s);
		}
		return;
	}
	s->tx.depth--;
	if (!s->tx.sp[d]) {
		db_rollback(s->db);
		tx_end_real(s);
		return;
	}
	if (s->tx.real && !tx_gone(s) && tx_exec(s, TX_ROLLBACK_TO) == 0 &&
	    tx_exec(s, TX_RELEASE) == 0)
		return;
	/* The real transaction is gone, and with it every level around this one
	 * and everything the group held. */
	if (s->tx.real) {
		if (s->tx.group_tx) {
			s->tx.group_failed = 1;
			log_warnx("store: the group transaction was lost: %d operations of this "
			    "pass are not stored", s->tx.members);
		}
		db_rollback(s->db);
		tx_end_real(s);
	}
}

int
store_group_pending(const struct store *s)
{
	return s->tx.group_tx || s->tx.group_failed;
}

int
store_group_watch(struct store *s, store_group_cb cb, void *arg)
{
	if (s->tx.nwatch >= STORE_GROUP_WATCH_MAX)
		return -1;
	s->tx.watch[s->tx.nwatch].cb = cb;
	s->tx.watch[s->tx.nwatch++].arg = arg;
	return 0;
}

void
store_group_unwatch(struct store *s, store_group_cb cb, void *arg)
{
	for (int i = 0; i < s->tx.nwatch; i++)
		if (s->tx.watch[i].cb == cb && s->tx.watch[i].arg == arg) {
			memmove(&s->tx.watch[i], &s->tx.watch[i + 1],
			    sizeof(s->tx.watch[0]) * (size_t)(s->tx.nwatch - i - 1));
			s->tx.nwatch--;
			return;
		}
}

static void
group_tell(struct store *s, enum store_group_phase ph)
{
	for (int i = 0; i < s->tx.nwatch; i++)
		s->tx.watch[i].cb(s->tx.watch[i].arg, ph);
}

int
store_group_end(struct store *s)
{
	int ok = 1, n;

	if (s->tx.ending || s->tx.depth != 0)
		return 0;	/* re-entered from a watcher, or inside an operation */
	s->tx.ending = 1;
	group_tell(s, STORE_GROUP_CLOSING);
	n = s->tx.members;
	if (s->tx.group_tx) {
		if (tx_gone(s) || tx_exec(s, TX_COMMIT) == -1) {
			log_warnx("store: group commit of %d operations failed: rolled back, "
			    "nothing of them is acknowledged", n);
			db_rollback(s->db);
			ok = 0;
		}
		tx_end_real(s);
	}
	if (s->tx.group_failed)
		ok = 0;
	s->tx.group_failed = 0;
	s->tx.members = 0;
	group_tell(s, ok ? STORE_GROUP_DONE : STORE_GROUP_FAILED);
	s->tx.ending = 0;
	return ok ? 0 : -1;
}

static void
group_prepare(void *arg)
{
	(void)store_group_end(arg);
}

int
store_group_start(struct store *s, struct loop *l)
{
	if (loop_prepare_add(l, group_prepare, s) == -1) {
		log_warnx("store: cannot join the loop");
		return -1;
	}
	s->tx.armed = 1;
	return 0;
}

void
store_group_stop(struct store *s, struct loop *l)
{
	(void)store_group_end(s);
	s->tx.armed = 0;
	loop_prepare_del(l, group_prepare, s);
}

/* Take statement id, reset and clear for new bindings. */
static sqlite3_stmt *
stmt(struct store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->st[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static int
step_err(struct store *s, const char *what)
{
	log_warnx("store: %s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

/* Run a statement that returns no rows. 0 / -1. */
static int
step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return step_err(s, what);
	return 0;
}

int
store_order_get(struct store *s, const char *id, struct order *out)
{
	sqlite3_stmt *st = stmt(s, S_ORDER_GET);
	int rc;

	db_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		order_read(st, out);
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : step_err(s, "order get");
}

int
store_order_insert(struct store *s, const struct order *o)
{
	sqlite3_stmt *st = stmt(s, S_ORDER_INSERT);

	if (order_bind(st, o) == -1)
		return step_err(s, "order insert bind");
	return step_done(s, st, "order insert");
}

int
store_order_update(struct store *s, const struct order *o)
{
	sqlite3_stmt *st = stmt(s, S_ORDER_UPDATE);

	if (order_bind(st, o) == -1)
		return step_err(s, "order update bind");
	if (step_done(s, st, "order update") == -1)
		return -1;
	return sqlite3_changes(s->db) == 1 ? 0 : -1;
}

int
store_order_next_id(struct store *s, int64_t now_ms, char *out, size_t cap)
{
	sqlite3_stmt *st = stmt(s, S_SEQ_GET);
	char like[32], day[16];
	int64_t local_days, max = 0;
	int y, rc, w;
	unsigned m, d;

	local_days = (now_ms + CLOCK_LOCAL_OFFSET_MS) / 86400000LL;
	if ((now_ms + CLOCK_LOCAL_OFFSET_MS) % 86400000LL < 0)
		local_days--;
	clock_civil_from_days(local_days, &y, &m, &d);
	snprintf(day, sizeof(day), "%04d%02u%02u", y, m, d);
	db_bind_text(st, 1, day);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		max = db_col_i64(st, 0, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return step_err(s, "order next id");
	if (rc == SQLITE_DONE) {
		/* the day's first intake (or a database from before schema 5) */
		st = stmt(s, S_ORDER_MAXSEQ);
		snprintf(like, sizeof(like), "LC-%s-%%", day);
		db_bind_text(st, 1, like);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			max = db_col_i64(st, 0, 0);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW)
			return step_err(s, "order next id");
	}
	st = stmt(s, S_SEQ_PUT);
	db_bind_text(st, 1, day);
	sqlite3_bind_int64(st, 2, max + 1);
	if (sqlite3_step(st) != SQLITE_DONE)
		return step_err(s, "order next id");
	w = snprintf(out, cap, "LC-%s-%04lld", day, (long long)(max + 1));
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* A caller's row callback and its argument, for each_row's visitors. */
struct rowcb {
	union {
		store_order_cb	order;
		store_tlrow_cb	tl;
		store_pos_cb	pos;
		store_ev_cb	ev;
		store_outbox_cb	outbox;
	}	cb;
	void   *arg;
};

/*
 * Each row of st: visit(st, row, c) reads it into row (size bytes, heap, one
 * for all rows: the rows are large) and hands it to c's callback, until that
 * returns non-zero. st is reset in every case. 0, or -1 logged as what (out of
 * memory or a step error).
 */
static int
each_row(struct store *s, sqlite3_stmt *st, size_t size,
    int (*visit)(sqlite3_stmt *, void *row, const struct rowcb *), const struct rowcb *c,
    const char *what)
{
	void *row;
	int rc;

	if ((row = malloc(size)) == NULL) {
		sqlite3_reset(st);
		log_warn("store: %s", what);
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (visit(st, row, c) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	free(row);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : step_err(s, what);
}

static int
order_visit(sqlite3_stmt *st, void *row, const struct rowcb *c)
{
	order_read(st, row);
	return c->cb.order(row, c->arg);
}

static int
order_rows(struct store *s, sqlite3_stmt *st, store_order_cb cb, void *arg, const char *what)
{
	const struct rowcb c = { .cb.order = cb, .arg = arg };

	return each_row(s, st, sizeof(struct order), order_visit, &c, what);
}

int
store_order_list(struct store *s, int all, int state_filter, int limit, store_order_cb cb,
    void *arg)
{
	sqlite3_stmt *st;

	if (state_filter >= 0) {
		st = stmt(s, S_ORDER_LIST_STATE);
		db_bind_text(st, 2, order_state_name((enum order_state)state_filter));
	} else
		st = stmt(s, all ? S_ORDER_LIST_ALL : S_ORDER_LIST_OPEN);
	sqlite3_bind_int(st, 1, limit);
	return order_rows(s, st, cb, arg, "order list");
}

int
store_order_due(struct store *s, int64_t now_ms, int limit, store_order_cb cb, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_ORDER_DUE);

	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int(st, 2, limit);
	return order_rows(s, st, cb, arg, "order due");
}

int
store_callback_list(struct store *s, int limit, store_order_cb cb, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_CALLBACKS);

	sqlite3_bind_int(st, 1, limit);
	return order_rows(s, st, cb, arg, "callback list");
}

int
store_order_on_device(struct store *s, const char *dev, store_order_cb cb, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_ON_DEVICE);

	db_bind_text(st, 1, dev);
	return order_rows(s, st, cb, arg, "orders on device");
}

static int64_t
scalar(struct store *s, sqlite3_stmt *st, const char *what)
{
	int64_t v = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = db_col_i64(st, 0, 0);
	else
		step_err(s, what);
	sqlite3_reset(st);
	return v;
}

int
store_order_count_open(struct store *s)
{
	return (int)scalar(s, stmt(s, S_COUNT_OPEN), "count open");
}

int
store_tl_append(struct store *s, const char *order_id, const char *kind, int64_t at_ms,
    int64_t rx_ms, const char *actor, const char *detail, int *seq)
{
	sqlite3_stmt *st = stmt(s, S_TL_NEXT);
	int64_t next;

	db_bind_text(st, 1, order_id);
	if ((next = scalar(s, st, "timeline seq")) < 1)
		return -1;
	st = stmt(s, S_TL_INSERT);
	db_bind_text(st, 1, order_id);
	sqlite3_bind_int64(st, 2, next);
	db_bind_text(st, 3, kind);
	sqlite3_bind_int64(st, 4, at_ms);
	sqlite3_bind_int64(st, 5, rx_ms);
	db_bind_text(st, 6, actor);
	db_bind_text(st, 7, detail ? detail : "{}");
	if (step_done(s, st, "timeline append") == -1)
		return -1;
	{
		/* The same transaction links the entry into the audit chain. */
		struct store_canon c;
		char ref[PROTO_ID_MAX + 24];

		store_canon_tl(&c, order_id, next, kind, at_ms, rx_ms, actor,
		    detail ? detail : "{}");
		snprintf(ref, sizeof(ref), "%s#%lld", order_id, (long long)next);
		if (c.overflow || audit_append(s, "timeline", ref, c.buf, c.len) == -1)
			return -1;
	}
	if (seq)
		*seq = (int)next;
	return 0;
}

int
store_tl_list(struct store *s, const char *order_id, store_tl_cb cb, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_TL_LIST);
	struct tl_entry *e;
	int rc;

	if ((e = malloc(sizeof(*e))) == NULL) {
		log_warn("store: timeline list");
		return -1;
	}
	db_bind_text(st, 1, order_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e->seq = (int)db_col_i64(st, 0, 0);
		db_col_text(st, 1, e->kind, sizeof(e->kind));
		e->at_ms = db_col_i64(st, 2, 0);
		e->rx_ms = db_col_i64(st, 3, 0);
		db_col_text(st, 4, e->actor, sizeof(e->actor));
		db_col_text(st, 5, e->detail, sizeof(e->detail));
		if (cb(e, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	free(e);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : step_err(s, "timeline list");
}

int
store_crew_put(struct store *s, const struct crew *c)
{
	sqlite3_stmt *st;
	int created;

	st = stmt(s, S_CREW_UPDATE);
	db_bind_text(st, 1, c->id);
	db_bind_text(st, 2, c->name);
	db_bind_text(st, 3, c->branch);
	db_bind_text(st, 4, c->device);
	if (step_done(s, st, "crew update") == -1)
		return -1;
	created = sqlite3_changes(s->db) == 0;
	if (created) {
		st = stmt(s, S_CREW_INSERT);
		db_bind_text(st, 1, c->id);
		db_bind_text(st, 2, c->name);
		db_bind_text(st, 3, c->branch);
		db_bind_text(st, 4, c->device);
		if (step_done(s, st, "crew insert") == -1)
			return -1;
	}
	st = stmt(s, S_DEV_ENSURE);
	db_bind_text(st, 1, c->device);
	db_bind_text(st, 2, c->id);
	if (step_done(s, st, "device ensure") == -1)
		return -1;
	return created;
}

int
store_crew_get(struct store *s, const char *id, struct crew *out)
{
	sqlite3_stmt *st = stmt(s, S_CREW_GET);
	int rc;

	db_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		db_col_text(st, 0, out->id, sizeof(out->id));
		db_col_text(st, 1, out->name, sizeof(out->name));
		db_col_text(st, 2, out->branch, sizeof(out->branch));
		db_col_text(st, 3, out->device, sizeof(out->device));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : step_err(s, "crew get");
}

static void
device_read(sqlite3_stmt *st, int col, struct device *d)
{
	d->online = (int)db_col_i64(st, col, -1);
	d->last_seen_ms = db_col_i64(st, col + 1, 0);
	d->last_lat = db_col_double(st, col + 2, NAN);
	d->last_lon = db_col_double(st, col + 3, NAN);
	d->last_at_ms = db_col_i64(st, col + 4, 0);
}

int
store_crew_list(struct store *s, store_crew_cb cb, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_CREW_LIST);
	struct crew c;
	struct device d;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		memset(&d, 0, sizeof(d));
		db_col_text(st, 0, c.id, sizeof(c.id));
		db_col_text(st, 1, c.name, sizeof(c.name));
		db_col_text(st, 2, c.branch, sizeof(c.branch));
		db_col_text(st, 3, c.device, sizeof(c.device));
		memcpy(d.id, c.device, sizeof(d.id));
		memcpy(d.crew, c.id, sizeof(d.crew));
		device_read(st, 4, &d);
		if (cb(&c, &d, (int)db_col_i64(st, 9, 0), arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : step_err(s, "crew list");
}

int
store_device_get(struct store *s, const char *id, struct device *out)
{
	sqlite3_stmt *st = stmt(s, S_DEV_GET);
	int rc;

	db_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		db_col_text(st, 0, out->id, sizeof(out->id));
		db_col_text(st, 1, out->crew, sizeof(out->crew));
		device_read(st, 2, out);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : step_err(s, "device get");
}

int
store_device_presence(struct store *s, const char *id, int online, int64_t seen_ms)
{
	sqlite3_stmt *st = stmt(s, S_DEV_PRESENCE);

	db_bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, online ? 1 : 0);
	bind_t(st, 3, seen_ms);
	return step_done(s, st, "device presence");
}

int
store_device_position(struct store *s, const char *id, double lat, double lon, int64_t at_ms,
    int64_t seen_ms)
{
	sqlite3_stmt *st = stmt(s, S_DEV_POS);

	db_bind_text(st, 1, id);
	sqlite3_bind_double(st, 2, lat);
	sqlite3_bind_double(st, 3, lon);
	sqlite3_bind_int64(st, 4, at_ms);
	sqlite3_bind_int64(st, 5, seen_ms);
	if (step_done(s, st, "device position") == -1)
		return -1;
	return sqlite3_changes(s->db) == 1;
}

int
store_event_insert(struct store *s, const char *eid, const char *dev, uint64_t seq,
    const char *order_id, const char *type, int64_t at_ms, int64_t rx_ms, const char *status,
    const char *payload, size_t len)
{
	sqlite3_stmt *st = stmt(s, S_EV_INSERT);

	db_bind_text(st, 1, eid);
	db_bind_text(st, 2, dev);
	sqlite3_bind_int64(st, 3, (int64_t)seq);
	if (order_id && order_id[0])
		db_bind_text(st, 4, order_id);
	db_bind_text(st, 5, type);
	bind_t(st, 6, at_ms);
	sqlite3_bind_int64(st, 7, rx_ms);
	db_bind_text(st, 8, status);
	sqlite3_bind_text(st, 9, payload, (int)len, SQLITE_TRANSIENT);
	if (step_done(s, st, "event insert") == -1)
		return -1;
	if (sqlite3_changes(s->db) != 1)
		return 0;
	{
		/* A stored event (with its signature, when it is evidence) is
		 * linked into the audit chain in the same transaction. */
		struct store_canon c;

		store_canon_ev(&c, eid, dev, (int64_t)seq, order_id ? order_id : "", type,
		    at_ms, rx_ms, status, payload, len);
		if (c.overflow || audit_append(s, "device_events", eid, c.buf, c.len) == -1)
			return -1;
	}
	return 1;
}

int
store_event_seen(struct store *s, const char *eid)
{
	sqlite3_stmt *st = stmt(s, S_EV_SEEN);
	int rc;

	db_bind_text(st, 1, eid);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : step_err(s, "event seen");
}

int
store_outbox_add(struct store *s, const struct outbox_row *r)
{
	sqlite3_stmt *st = stmt(s, S_OB_INSERT);

	db_bind_text(st, 1, r->msg_id);
	db_bind_text(st, 2, r->dev);
	if (r->order_id[0])
		db_bind_text(st, 3, r->order_id);
	db_bind_text(st, 4, r->kind);
	db_bind_text(st, 5, r->payload);
	sqlite3_bind_int64(st, 6, r->created_ms);
	bind_t(st, 7, r->last_sent_ms);
	sqlite3_bind_int(st, 8, r->attempts);
	bind_t(st, 9, r->acked_ms);
	return step_done(s, st, "outbox add");
}

static void
outbox_read(sqlite3_stmt *st, struct outbox_row *r)
{
	db_col_text(st, 0, r->msg_id, sizeof(r->msg_id));
	db_col_text(st, 1, r->dev, sizeof(r->dev));
	db_col_text(st, 2, r->order_id, sizeof(r->order_id));
	db_col_text(st, 3, r->kind, sizeof(r->kind));
	db_col_text(st, 4, r->payload, sizeof(r->payload));
	r->created_ms = db_col_i64(st, 5, 0);
	r->last_sent_ms = db_col_i64(st, 6, 0);
	r->attempts = (int)db_col_i64(st, 7, 0);
	r->acked_ms = db_col_i64(st, 8, 0);
}

int
store_outbox_get(struct store *s, const char *msg_id, struct outbox_row *out)
{
	sqlite3_stmt *st = stmt(s, S_OB_GET);
	int rc;

	db_bind_text(st, 1, msg_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		outbox_read(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : step_err(s, "outbox get");
}

int
store_outbox_ack(struct store *s, const char *msg_id, int64_t now_ms)
{
	sqlite3_stmt *st = stmt(s, S_OB_ACK);

	db_bind_text(st, 1, msg_id);
	sqlite3_bind_int64(st, 2, now_ms);
	if (step_done(s, st, "outbox ack") == -1)
		return -1;
	return sqlite3_changes(s->db) == 1;
}

int
store_outbox_sent(struct store *s, const char *msg_id, int64_t now_ms)
{
	sqlite3_stmt *st = stmt(s, S_OB_SENT);

	db_bind_text(st, 1, msg_id);
	sqlite3_bind_int64(st, 2, now_ms);
	return step_done(s, st, "outbox sent");
}

int
store_outbox_pending(struct store *s, const char *dev, int64_t before_ms, store_outbox_cb cb,
    void *arg)
{
	sqlite3_stmt *st = stmt(s, dev ? S_OB_PENDING_DEV : S_OB_PENDING);
	struct outbox_row *r;
	int rc;

	if ((r = malloc(sizeof(*r))) == NULL) {
		log_warn("store: outbox pending");
		return -1;
	}
	sqlite3_bind_int64(st, 1, before_ms);
	if (dev)
		db_bind_text(st, 2, dev);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		outbox_read(st, r);
		if (cb(r, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	free(r);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : step_err(s, "outbox pending");
}

int
store_outbox_count_order(struct store *s, const char *order_id)
{
	sqlite3_stmt *st = stmt(s, S_OB_COUNT_ORDER);

	db_bind_text(st, 1, order_id);
	return (int)scalar(s, st, "outbox count");
}

/* The 8 columns of p from parameter base + 1 on (NULL where unknown); text
 * with destructor d (SQLITE_STATIC or SQLITE_TRANSIENT). */
static void
bind_position(sqlite3_stmt *st, int base, const struct position *p, sqlite3_destructor_type d)
{
	sqlite3_bind_text(st, base + 1, p->dev, -1, d);
	sqlite3_bind_int64(st, base + 2, p->at_ms);
	sqlite3_bind_int64(st, base + 3, p->rx_ms);
	sqlite3_bind_double(st, base + 4, p->lat);
	sqlite3_bind_double(st, base + 5, p->lon);
	db_bind_double(st, base + 6, p->eph_m);
	db_bind_double(st, base + 7, p->speed_mps);
	if (p->order_id[0])
		sqlite3_bind_text(st, base + 8, p->order_id, -1, d);
	else
		sqlite3_bind_null(st, base + 8);
}

int
store_position_add(struct store *s, const struct position *p)
{
	sqlite3_stmt *st = stmt(s, S_POS_INSERT);

	bind_position(st, 0, p, SQLITE_TRANSIENT);
	return step_done(s, st, "position add");
}

/*
 * A batch of positions, STORE_POS_ROWS rows to a statement: per row, the
 * statement's own start, cursors and halt cost as much as the row's insert
 * (issue 9's profile). The text is bound SQLITE_STATIC, and unbound again
 * before returning.
 */
int
store_positions_add(struct store *s, const struct position *const *p, int n)
{
	int i = 0;

	for (; n - i >= STORE_POS_ROWS; i += STORE_POS_ROWS) {
		int rc;

		for (int r = 0; r < STORE_POS_ROWS; r++)
			bind_position(s->pos_rows, r * 8, p[i + r], SQLITE_STATIC);
		rc = step_done(s, s->pos_rows, "positions add");	/* resets it */
		sqlite3_clear_bindings(s->pos_rows);	/* no pointer into p[] is kept */
		if (rc == -1)
			return -1;
	}
	for (; i < n; i++)
		if (store_position_add(s, p[i]) == -1)
			return -1;
	return 0;
}

int
store_order_created(struct store *s, int64_t from_ms, int64_t to_ms, store_order_cb cb,
    void *arg)
{
	sqlite3_stmt *st = stmt(s, S_ORDER_CREATED);

	sqlite3_bind_int64(st, 1, from_ms);
	sqlite3_bind_int64(st, 2, to_ms);
	return order_rows(s, st, cb, arg, "orders created");
}

int
store_order_shift(struct store *s, enum order_type type, int64_t shift_ms, store_order_cb cb,
    void *arg)
{
	sqlite3_stmt *st = stmt(s, S_ORDER_SHIFT);

	db_bind_text(st, 1, taxonomy_type_name(type));
	sqlite3_bind_int64(st, 2, shift_ms);
	return order_rows(s, st, cb, arg, "orders of a shift");
}

int
store_shift_unfinished(struct store *s, enum order_type type, int64_t shift_ms)
{
	sqlite3_stmt *st = stmt(s, S_SHIFT_UNFINISHED);

	db_bind_text(st, 1, taxonomy_type_name(type));
	sqlite3_bind_int64(st, 2, shift_ms);
	return (int)scalar(s, st, "shift unfinished");
}

int
store_order_linked(struct store *s, const char *original, store_order_cb cb, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_ORDER_LINKED);

	db_bind_text(st, 1, original);
	return order_rows(s, st, cb, arg, "linked orders");
}

int
store_outage_add(struct store *s, struct outage *o)
{
	sqlite3_stmt *st = stmt(s, S_OUT_INSERT);

	db_bind_text(st, 1, o->name);
	sqlite3_bind_double(st, 2, o->lat);
	sqlite3_bind_double(st, 3, o->lon);
	sqlite3_bind_double(st, 4, o->radius_m);
	sqlite3_bind_int64(st, 5, o->start_ms);
	sqlite3_bind_int64(st, 6, o->end_ms);
	db_bind_text(st, 7, o->note);
	sqlite3_bind_int64(st, 8, o->created_ms);
	if (step_done(s, st, "outage add") == -1)
		return -1;
	o->id = (int)sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_outage_list(struct store *s, int64_t at_ms, store_outage_cb cb, void *arg)
{
	sqlite3_stmt *st = stmt(s, at_ms ? S_OUT_ACTIVE : S_OUT_LIST);
	struct outage o;
	int rc;

	sqlite3_bind_int64(st, 1, at_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&o, 0, sizeof(o));
		o.id = (int)db_col_i64(st, 0, 0);
		db_col_text(st, 1, o.name, sizeof(o.name));
		o.lat = db_col_double(st, 2, 0);
		o.lon = db_col_double(st, 3, 0);
		o.radius_m = db_col_double(st, 4, 0);
		o.start_ms = db_col_i64(st, 5, 0);
		o.end_ms = db_col_i64(st, 6, 0);
		db_col_text(st, 7, o.note, sizeof(o.note));
		if (cb(&o, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : step_err(s, "outage list");
}

/* ---- security: audit chain and API tokens (issue 6) ---- */

static int
sec_prepare(struct store *s)
{
	static const struct { enum sec_id id; const char *sql; } q[] = {
		{ SEC_AUDIT_HEAD, "SELECT hash FROM audit ORDER BY n DESC LIMIT 1" },
		{ SEC_AUDIT_INSERT, "INSERT INTO audit (tbl, ref, hash) VALUES (?1, ?2, ?3)" },
		{ SEC_TOKEN_ADD, "INSERT INTO tokens (name, role, dept, hash, created_ms)"
		    " VALUES (?1, ?2, ?3, ?4, ?5)" },
		{ SEC_TOKEN_FIND, "SELECT name, role, dept, hash FROM tokens WHERE hash = ?1" },
	};

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		if (db_prepare(s->db, q[i].sql, &s->sec[q[i].id]) == -1)
			return -1;
	return 0;
}

static sqlite3_stmt *
sec(struct store *s, enum sec_id id)
{
	sqlite3_reset(s->sec[id]);
	sqlite3_clear_bindings(s->sec[id]);
	return s->sec[id];
}

/* Append one field as "<decimal length>:<bytes>," so no two different rows
 * have the same bytes. */
static void
canon_field(struct store_canon *c, const void *p, size_t n)
{
	char num[24];
	int k = snprintf(num, sizeof(num), "%zu:", n);

	if (c->overflow)
		return;
	if (k < 0 || c->len + (size_t)k + n + 1 > sizeof(c->buf)) {
		c->overflow = 1;
		return;
	}
	memcpy(c->buf + c->len, num, (size_t)k);
	c->len += (size_t)k;
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	c->buf[c->len++] = ',';
}

static void
canon_str(struct store_canon *c, const char *v)
{
	canon_field(c, v, strlen(v));
}

static void
canon_int(struct store_canon *c, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	canon_str(c, num);
}

void
store_canon_tl(struct store_canon *c, const char *order_id, int64_t seq, const char *kind,
    int64_t at_ms, int64_t rx_ms, const char *actor, const char *detail)
{
	c->len = 0;
	c->overflow = 0;
	canon_str(c, "timeline");
	canon_str(c, order_id);
	canon_int(c, seq);
	canon_str(c, kind);
	canon_int(c, at_ms);
	canon_int(c, rx_ms);
	canon_str(c, actor);
	canon_str(c, detail);
}

void
store_canon_ev(struct store_canon *c, const char *eid, const char *dev, int64_t seq,
    const char *order_id, const char *type, int64_t at_ms, int64_t rx_ms, const char *status,
    const char *payload, size_t len)
{
	c->len = 0;
	c->overflow = 0;
	canon_str(c, "device_events");
	canon_str(c, eid);
	canon_str(c, dev);
	canon_int(c, seq);
	canon_str(c, order_id);
	canon_str(c, type);
	canon_int(c, at_ms);
	canon_int(c, rx_ms);
	canon_str(c, status);
	canon_field(c, payload, len);
}

void
store_chain_hash(const char *prev_hex, const unsigned char *canon, size_t len,
    char out[2 * CRYPTO_SHA256_LEN + 1])
{
	unsigned char prev[CRYPTO_SHA256_LEN], h[CRYPTO_SHA256_LEN];
	unsigned char *buf;

	memset(prev, 0, sizeof(prev));	/* the genesis row chains to 32 zero bytes */
	if (prev_hex != NULL && prev_hex[0] != '\0' &&
	    crypto_unhex(prev_hex, prev, sizeof(prev)) == -1)
		memset(prev, 0xff, sizeof(prev));	/* garbage: can never verify */
	if ((buf = malloc(sizeof(prev) + len)) == NULL) {
		out[0] = '\0';
		return;
	}
	memcpy(buf, prev, sizeof(prev));
	memcpy(buf + sizeof(prev), canon, len);
	crypto_sha256(buf, sizeof(prev) + len, h);
	free(buf);
	crypto_hex(h, sizeof(h), out);
}

static int
audit_append(struct store *s, const char *tbl, const char *ref, const unsigned char *canon,
    size_t len)
{
	sqlite3_stmt *st = sec(s, SEC_AUDIT_HEAD);
	char prev[2 * CRYPTO_SHA256_LEN + 1] = "", h[2 * CRYPTO_SHA256_LEN + 1];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		db_col_text(st, 0, prev, sizeof(prev));
	else if (rc != SQLITE_DONE)
		return step_err(s, "audit head");
	sqlite3_reset(st);
	store_chain_hash(prev, canon, len, h);
	if (h[0] == '\0')
		return step_err(s, "audit hash (out of memory)");
	st = sec(s, SEC_AUDIT_INSERT);
	db_bind_text(st, 1, tbl);
	db_bind_text(st, 2, ref);
	db_bind_text(st, 3, h);
	return step_done(s, st, "audit append");
}

int
store_audit_walk(struct store *s, store_audit_cb cb, void *arg)
{
	sqlite3_stmt *st = NULL;
	struct store_audit_row *r;
	int rc, stop = 0;

	/* The source row is read back by its key; a missing one gives NULLs
	 * (kind "missing"), which the walker reports as a broken link. */
	static const char sql[] =
	    "SELECT a.n, a.tbl, a.ref, a.hash,"
	    " t.order_id, t.seq, t.kind, t.at_ms, t.rx_ms, t.actor, t.detail,"
	    " e.eid, e.dev, e.seq, e.order_id, e.type, e.at_ms, e.rx_ms, e.status, e.payload"
	    " FROM audit a"
	    " LEFT JOIN timeline t ON a.tbl = 'timeline'"
	    "  AND t.order_id || '#' || t.seq = a.ref"
	    " LEFT JOIN device_events e ON a.tbl = 'device_events' AND e.eid = a.ref"
	    " ORDER BY a.n";

	if ((r = malloc(sizeof(*r))) == NULL)
		return -1;
	if (db_prepare(s->db, sql, &st) == -1) {
		free(r);
		return -1;
	}
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char a[PROTO_ID_MAX + 24], b[GW_WORD_MAX + 8], d[GW_WORD_MAX + 8];
		char e[GW_WORD_MAX + 8], f[PROTO_ID_MAX + 24];
		const char *detail, *payload;

		memset(r, 0, sizeof(*r));
		r->n = db_col_i64(st, 0, 0);
		db_col_text(st, 1, r->tbl, sizeof(r->tbl));
		db_col_text(st, 2, r->ref, sizeof(r->ref));
		db_col_text(st, 3, r->hash, sizeof(r->hash));
		if (strcmp(r->tbl, "timeline") == 0 && sqlite3_column_type(st, 4) != SQLITE_NULL) {
			detail = (const char *)sqlite3_column_text(st, 10);
			store_canon_tl(&r->canon, db_col_text(st, 4, a, sizeof(a)),
			    db_col_i64(st, 5, 0), db_col_text(st, 6, b, sizeof(b)),
			    db_col_i64(st, 7, 0), db_col_i64(st, 8, 0),
			    db_col_text(st, 9, d, sizeof(d)), detail ? detail : "");
			r->found = 1;
		} else if (strcmp(r->tbl, "device_events") == 0 &&
		    sqlite3_column_type(st, 11) != SQLITE_NULL) {
			payload = (const char *)sqlite3_column_text(st, 19);
			snprintf(r->dev, sizeof(r->dev), "%s", (const char *)sqlite3_column_text(st,
			    12));
			db_col_text(st, 15, r->type, sizeof(r->type));
			db_col_text(st, 18, r->status, sizeof(r->status));
			store_canon_ev(&r->canon, db_col_text(st, 11, a, sizeof(a)), r->dev,
			    db_col_i64(st, 13, 0), db_col_text(st, 14, f, sizeof(f)), r->type,
			    db_col_i64(st, 16, 0), db_col_i64(st, 17, 0),
			    db_col_text(st, 18, e, sizeof(e)), payload ? payload : "",
			    payload ? (size_t)sqlite3_column_bytes(st, 19) : 0);
			r->payload = payload;
			r->payload_len = payload ? (size_t)sqlite3_column_bytes(st, 19) : 0;
			r->found = 1;
		}
		stop = cb(r, arg);
	}
	sqlite3_finalize(st);
	free(r);
	return stop < 0 ? -1 : 0;
}

int64_t
store_count(struct store *s, const char *table)
{
	sqlite3_stmt *st = NULL;
	char sql[128];
	int64_t v = -1;

	/* table is one of our own names, never input. */
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
	if (db_prepare(s->db, sql, &st) == -1)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = db_col_i64(st, 0, 0);
	sqlite3_finalize(st);
	return v;
}

int
store_token_add(struct store *s, const struct token *t, int64_t now_ms)
{
	sqlite3_stmt *st = sec(s, SEC_TOKEN_ADD);

	db_bind_text(st, 1, t->name);
	db_bind_text(st, 2, t->role);
	db_bind_text(st, 3, t->dept);
	db_bind_text(st, 4, t->hash);
	sqlite3_bind_int64(st, 5, now_ms);
	if (sqlite3_step(st) != SQLITE_DONE) {
		int ext = sqlite3_extended_errcode(s->db);

		sqlite3_reset(st);
		if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
			return 0;
		return step_err(s, "token add");
	}
	sqlite3_reset(st);
	return 1;
}

int
store_token_find(struct store *s, const char *hash, struct token *out)
{
	sqlite3_stmt *st = sec(s, SEC_TOKEN_FIND);
	int rc;

	db_bind_text(st, 1, hash);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db_col_text(st, 0, out->name, sizeof(out->name));
		db_col_text(st, 1, out->role, sizeof(out->role));
		db_col_text(st, 2, out->dept, sizeof(out->dept));
		db_col_text(st, 3, out->hash, sizeof(out->hash));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : step_err(s, "token find");
}

/* ---- the web board: sessions, the stream's cursor, alerts, evidence (issue 7) ---- */

/* Every real COMMIT (an explicit one or a write statement's own) bumps the
 * counter: the live stream compares it once per loop pass instead of asking
 * the database whether anything changed. SQLite calls the hook only for
 * transactions that wrote. */
static int
commit_hook(void *arg)
{
	struct store *s = arg;

	s->commits++;
	return 0;	/* 0: let the commit go on */
}

static int
web_prepare(struct store *s)
{
	static const struct { enum web_id id; const char *sql; } q[] = {
		{ W_SESS_ADD, "INSERT INTO sessions (hash, token, csrf, created_ms, expires_ms)"
		    " VALUES (?1, ?2, ?3, ?4, ?5)" },
		{ W_SESS_FIND, "SELECT s.csrf, s.created_ms, s.expires_ms, t.name, t.role, t.dept,"
		    " t.hash FROM sessions s JOIN tokens t ON t.name = s.token"
		    " WHERE s.hash = ?1 AND s.expires_ms > ?2" },
		{ W_SESS_DEL, "DELETE FROM sessions WHERE hash = ?1" },
		{ W_SESS_PURGE, "DELETE FROM sessions WHERE expires_ms <= ?1" },
		{ W_TL_AFTER, "SELECT rowid, order_id, seq, kind, at_ms, rx_ms, actor, detail"
		    " FROM timeline WHERE rowid > ?1 ORDER BY rowid LIMIT ?2" },
		{ W_TL_LAST, "SELECT COALESCE(MAX(rowid), 0) FROM timeline" },
		{ W_TL_GET, "SELECT rowid, order_id, seq, kind, at_ms, rx_ms, actor, detail"
		    " FROM timeline WHERE order_id = ?1 AND seq = ?2" },
		{ W_ACKED, "SELECT 1 FROM timeline WHERE order_id = ?1 AND kind = 'alert_ack'"
		    " AND json_extract(detail, '$.seq') = ?2" },
		{ W_ALERTS, "SELECT t.rowid, t.order_id, t.seq, t.kind, t.at_ms, t.rx_ms, t.actor,"
		    " t.detail FROM timeline t WHERE t.kind IN ('warning', 'breach')"
		    " AND NOT EXISTS (SELECT 1 FROM timeline a WHERE a.order_id = t.order_id"
		    "  AND a.kind = 'alert_ack' AND json_extract(a.detail, '$.seq') = t.seq)"
		    " ORDER BY t.rowid DESC LIMIT ?1" },
		{ W_POS_DEV, "SELECT dev, at_ms, rx_ms, lat, lon, eph, speed, order_id"
		    " FROM positions WHERE dev = ?1 AND at_ms >= ?2 AND at_ms <= ?3"
		    " ORDER BY at_ms LIMIT ?4" },
		{ W_EV_ORDER, "SELECT eid, dev, seq, type, at_ms, rx_ms, status, payload"
		    " FROM device_events WHERE order_id = ?1 ORDER BY rx_ms, eid" },
		{ W_OB_ORDER, "SELECT msg_id, dev, order_id, kind, payload, created_ms,"
		    " last_sent_ms, attempts, acked_ms FROM outbox WHERE order_id = ?1"
		    " ORDER BY created_ms, msg_id" },
	};

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		if (db_prepare(s->db, q[i].sql, &s->web[q[i].id]) == -1)
			return -1;
	sqlite3_commit_hook(s->db, commit_hook, s);
	return 0;
}

static sqlite3_stmt *
web(struct store *s, enum web_id id)
{
	sqlite3_reset(s->web[id]);
	sqlite3_clear_bindings(s->web[id]);
	return s->web[id];
}

uint64_t
store_commits(const struct store *s)
{
	return s->commits;
}

int
store_session_add(struct store *s, const char *hash, const char *token_name, const char *csrf,
    int64_t created_ms, int64_t expires_ms)
{
	sqlite3_stmt *st = web(s, W_SESS_ADD);

	db_bind_text(st, 1, hash);
	db_bind_text(st, 2, token_name);
	db_bind_text(st, 3, csrf);
	sqlite3_bind_int64(st, 4, created_ms);
	sqlite3_bind_int64(st, 5, expires_ms);
	return step_done(s, st, "session add");
}

int
store_session_find(struct store *s, const char *hash, int64_t now_ms, struct session *out)
{
	sqlite3_stmt *st = web(s, W_SESS_FIND);
	int rc;

	db_bind_text(st, 1, hash);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		snprintf(out->hash, sizeof(out->hash), "%s", hash);
		db_col_text(st, 0, out->csrf, sizeof(out->csrf));
		out->created_ms = db_col_i64(st, 1, 0);
		out->expires_ms = db_col_i64(st, 2, 0);
		db_col_text(st, 3, out->tok.name, sizeof(out->tok.name));
		db_col_text(st, 4, out->tok.role, sizeof(out->tok.role));
		db_col_text(st, 5, out->tok.dept, sizeof(out->tok.dept));
		db_col_text(st, 6, out->tok.hash, sizeof(out->tok.hash));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : step_err(s, "session find");
}

int
store_session_del(struct store *s, const char *hash)
{
	sqlite3_stmt *st = web(s, W_SESS_DEL);

	db_bind_text(st, 1, hash);
	if (step_done(s, st, "session delete") == -1)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

int
store_session_purge(struct store *s, int64_t now_ms)
{
	sqlite3_stmt *st = web(s, W_SESS_PURGE);

	sqlite3_bind_int64(st, 1, now_ms);
	if (step_done(s, st, "session purge") == -1)
		return -1;
	return sqlite3_changes(s->db);
}

static void
tlrow_read(sqlite3_stmt *st, struct tl_row *r)
{
	r->id = db_col_i64(st, 0, 0);
	db_col_text(st, 1, r->order_id, sizeof(r->order_id));
	r->e.seq = (int)db_col_i64(st, 2, 0);
	db_col_text(st, 3, r->e.kind, sizeof(r->e.kind));
	r->e.at_ms = db_col_i64(st, 4, 0);
	r->e.rx_ms = db_col_i64(st, 5, 0);
	db_col_text(st, 6, r->e.actor, sizeof(r->e.actor));
	db_col_text(st, 7, r->e.detail, sizeof(r->e.detail));
}

static int
tlrow_visit(sqlite3_stmt *st, void *row, const struct rowcb *c)
{
	tlrow_read(st, row);
	return c->cb.tl(row, c->arg);
}

static int
tlrows(struct store *s, sqlite3_stmt *st, store_tlrow_cb cb, void *arg, const char *what)
{
	const struct rowcb c = { .cb.tl = cb, .arg = arg };

	return each_row(s, st, sizeof(struct tl_row), tlrow_visit, &c, what);
}

int
store_tl_after(struct store *s, int64_t after_id, int limit, store_tlrow_cb cb, void *arg)
{
	sqlite3_stmt *st = web(s, W_TL_AFTER);

	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int(st, 2, limit);
	return tlrows(s, st, cb, arg, "timeline after");
}

int64_t
store_tl_last_id(struct store *s)
{
	return scalar(s, web(s, W_TL_LAST), "timeline last id");
}

int
store_tl_get(struct store *s, const char *order_id, int seq, struct tl_row *out)
{
	sqlite3_stmt *st = web(s, W_TL_GET);
	int rc;

	db_bind_text(st, 1, order_id);
	sqlite3_bind_int(st, 2, seq);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		tlrow_read(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : step_err(s, "timeline get");
}

int
store_alert_acked(struct store *s, const char *order_id, int seq)
{
	sqlite3_stmt *st = web(s, W_ACKED);
	int rc;

	db_bind_text(st, 1, order_id);
	sqlite3_bind_int(st, 2, seq);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : step_err(s, "alert acked");
}

int
store_alerts(struct store *s, int limit, store_tlrow_cb cb, void *arg)
{
	sqlite3_stmt *st = web(s, W_ALERTS);

	sqlite3_bind_int(st, 1, limit);
	return tlrows(s, st, cb, arg, "alerts");
}

static int
pos_visit(sqlite3_stmt *st, void *row, const struct rowcb *c)
{
	struct position *p = row;

	memset(p, 0, sizeof(*p));
	db_col_text(st, 0, p->dev, sizeof(p->dev));
	p->at_ms = db_col_i64(st, 1, 0);
	p->rx_ms = db_col_i64(st, 2, 0);
	p->lat = db_col_double(st, 3, NAN);
	p->lon = db_col_double(st, 4, NAN);
	p->eph_m = db_col_double(st, 5, NAN);
	p->speed_mps = db_col_double(st, 6, NAN);
	db_col_text(st, 7, p->order_id, sizeof(p->order_id));
	return c->cb.pos(p, c->arg);
}

int
store_positions_dev(struct store *s, const char *dev, int64_t from_ms, int64_t to_ms, int limit,
    store_pos_cb cb, void *arg)
{
	sqlite3_stmt *st = web(s, W_POS_DEV);
	const struct rowcb c = { .cb.pos = cb, .arg = arg };

	db_bind_text(st, 1, dev);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	sqlite3_bind_int(st, 4, limit);
	return each_row(s, st, sizeof(struct position), pos_visit, &c, "positions of a device");
}

static int
ev_visit(sqlite3_stmt *st, void *row, const struct rowcb *c)
{
	struct ev_row *r = row;

	memset(r, 0, sizeof(*r));
	db_col_text(st, 0, r->eid, sizeof(r->eid));
	db_col_text(st, 1, r->dev, sizeof(r->dev));
	r->seq = db_col_i64(st, 2, 0);
	db_col_text(st, 3, r->type, sizeof(r->type));
	r->at_ms = db_col_i64(st, 4, 0);
	r->rx_ms = db_col_i64(st, 5, 0);
	db_col_text(st, 6, r->status, sizeof(r->status));
	db_col_text(st, 7, r->payload, sizeof(r->payload));
	return c->cb.ev(r, c->arg);
}

int
store_events_order(struct store *s, const char *order_id, store_ev_cb cb, void *arg)
{
	sqlite3_stmt *st = web(s, W_EV_ORDER);
	const struct rowcb c = { .cb.ev = cb, .arg = arg };

	db_bind_text(st, 1, order_id);
	return each_row(s, st, sizeof(struct ev_row), ev_visit, &c, "events of an order");
}

static int
outbox_visit(sqlite3_stmt *st, void *row, const struct rowcb *c)
{
	outbox_read(st, row);
	return c->cb.outbox(row, c->arg);
}

int
store_outbox_order(struct store *s, const char *order_id, store_outbox_cb cb, void *arg)
{
	sqlite3_stmt *st = web(s, W_OB_ORDER);
	const struct rowcb c = { .cb.outbox = cb, .arg = arg };

	db_bind_text(st, 1, order_id);
	return each_row(s, st, sizeof(struct outbox_row), outbox_visit, &c, "outbox of an order");
}

/* One scalar of an ad-hoc query (the gauges run every few seconds at most,
 * so they are prepared per call rather than kept). -1 on error. */
static int64_t
gauge(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (db_prepare(s->db, sql, &st) == -1)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = db_col_i64(st, 0, 0);
	sqlite3_finalize(st);
	return v;
}

int
store_gauges(struct store *s, struct store_gauges *g)
{
	sqlite3_stmt *st = NULL;
	char sql[160];
	int rc;

	memset(g, 0, sizeof(*g));
	if (db_prepare(s->db, "SELECT state, COUNT(*) FROM orders GROUP BY state", &st) == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char w[GW_WORD_MAX];
		enum order_state os;

		if (order_state_parse(db_col_text(st, 0, w, sizeof(w)), &os) == 0)
			g->orders[os] = db_col_i64(st, 1, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return step_err(s, "gauges: orders by state");
	for (int i = 0; i < SLA_NSTAGES; i++) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM orders WHERE (breached & %d) != 0",
		    1 << i);
		if ((g->breached[i] = gauge(s, sql)) < 0)
			return -1;
	}
	if ((g->open_breached = gauge(s, "SELECT COUNT(*) FROM orders WHERE breached != 0"
	    " AND state IN " OPEN_STATES)) < 0 ||
	    (g->devices_known = gauge(s, "SELECT COUNT(*) FROM devices")) < 0 ||
	    (g->devices_online = gauge(s, "SELECT COUNT(*) FROM devices WHERE online = 1")) < 0 ||
	    (g->outbox_unacked = gauge(s, "SELECT COUNT(*) FROM outbox WHERE acked_ms IS NULL"))
	    < 0)
		return -1;
	/* A unit numbers its events 1, 2, 3 ... and sends them oldest first, so
	 * what the gateway holds of them is a prefix: at its last hello (seq h)
	 * the unit had h - 1 events, of which the gateway misses those above the
	 * highest it has stored below h. */
	g->journal_backlog = gauge(s, "SELECT COALESCE(SUM(MAX(0, h.hs - 1 -"
	    " COALESCE((SELECT MAX(e.seq) FROM device_events e WHERE e.dev = h.dev"
	    "  AND e.seq < h.hs), 0))), 0)"
	    " FROM (SELECT dev, MAX(seq) AS hs FROM device_events WHERE type = 'hello'"
	    "  GROUP BY dev) h");
	return g->journal_backlog < 0 ? -1 : 0;
}
