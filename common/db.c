/*
 * db.c: SQLite connection set-up, migrations and statement helpers.
 *
 * Migrations: PRAGMA user_version holds the schema version. On open, every
 * migration from that version up runs in its own IMMEDIATE transaction together
 * with the version bump, so a crash mid-upgrade leaves the file at a whole
 * version. A file newer than this binary knows is refused (downgrades would
 * silently misread data).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "faultvfs.h"
#include "log.h"

int
db_exec(sqlite3 *db, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("db: %s: %s", what, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
db_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
db_begin(sqlite3 *db)
{
	return db_exec(db, "BEGIN IMMEDIATE", "begin");
}

int
db_commit(sqlite3 *db)
{
	return db_exec(db, "COMMIT", "commit");
}

void
db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int
db_open(const char *path, const char *const *migrations, int nmigrations, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int v, i;

	*out = NULL;
	if (faultvfs_init() == -1)	/* TEST ONLY, when LINECREW_FAULT_VFS is set */
		return -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("db: open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db, 1);
	if (db_exec(db, "PRAGMA journal_mode=WAL", "journal_mode") == -1 ||
	    db_exec(db, "PRAGMA synchronous=FULL", "synchronous") == -1 ||
	    db_exec(db, "PRAGMA foreign_keys=ON", "foreign_keys") == -1)
		goto fail;
	if ((v = db_version(db)) < 0)
		goto fail;
	if (v > nmigrations) {
		log_warnx("db: %s has schema version %d, this program knows up to %d",
		    path, v, nmigrations);
		goto fail;
	}
	for (i = v; i < nmigrations; i++) {
		char bump[64], what[64];

		snprintf(what, sizeof(what), "migration %d->%d", i, i + 1);
		snprintf(bump, sizeof(bump), "PRAGMA user_version=%d", i + 1);
		if (db_begin(db) == -1)
			goto fail;
		if (db_exec(db, migrations[i], what) == -1 ||
		    db_exec(db, bump, what) == -1 || db_commit(db) == -1) {
			db_rollback(db);
			goto fail;
		}
		log_debug("db: %s: schema %d -> %d", path, i, i + 1);
	}
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return -1;
}

void
db_close(sqlite3 *db)
{
	if (db == NULL)
		return;
	/* Statements prepared with db_prepare are the caller's to finalize; a
	 * leftover one would make sqlite3_close fail, close_v2 defers instead. */
	sqlite3_close_v2(db);
}

int
db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK) {
		log_warnx("db: prepare \"%.60s\": %s", sql, sqlite3_errmsg(db));
		*out = NULL;
		return -1;
	}
	return 0;
}

int
db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

int
db_bind_i64(sqlite3_stmt *st, int idx, int64_t v)
{
	if (v == INT64_MIN)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_int64(st, idx, v);
}

int
db_bind_double(sqlite3_stmt *st, int idx, double v)
{
	if (isnan(v))
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_double(st, idx, v);
}

int64_t
db_col_i64(sqlite3_stmt *st, int col, int64_t def)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return def;
	return sqlite3_column_int64(st, col);
}

double
db_col_double(sqlite3_stmt *st, int col, double def)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return def;
	return sqlite3_column_double(st, col);
}

const char *
db_col_text(sqlite3_stmt *st, int col, char *buf, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	if (cap == 0)
		return buf;
	if (t == NULL) {
		buf[0] = '\0';
		return buf;
	}
	snprintf(buf, cap, "%s", (const char *)t);
	return buf;
}

/*
 * ---- checkpoints off the writer's thread ----
 *
 * In WAL mode a commit appends to the log; a checkpoint copies the log back
 * into the database file and fsyncs both, and by default SQLite runs one
 * inside the commit that takes the log past 1,000 pages. Under a flood of
 * positions that was a checkpoint every ~70 ms, each blocking the gateway's
 * only thread for 20-40 ms of fdatasync: a third of its time, during which
 * the broker dropped what it could not deliver (issue 9's profile). Here the
 * writer's commit hook only wakes a thread with a connection of its own,
 * which runs PASSIVE checkpoints: they never block the writer or readers,
 * and the writer's commits keep their own durability (synchronous=FULL syncs
 * the log at each commit; the checkpoint adds nothing to that promise). A
 * checkpoint that cannot finish (a reader holds an old snapshot) is tried
 * again after more commits. The log stays bounded (ckpt_hook).
 */
struct db_ckpt {
	sqlite3		*db;		/* the writer's connection (the hook's) */
	sqlite3		*own;		/* the thread's connection */
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 kick, stop;
	int		 copied;	/* log frames known to be in the database */
	int		 seen;		/* log frames at the thread's last checkpoint */
	int		 backstop;	/* log size of the writer's next own checkpoint */
	struct db_ckpt_stats st;	/* under mu */
};

static void *
ckpt_main(void *arg)
{
	struct db_ckpt *c = arg;
	int warned = 0, nlog, done, rc;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->stop && !c->kick)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->mu);
		nlog = done = 0;
		rc = sqlite3_wal_checkpoint_v2(c->own, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog,
		    &done);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY && !warned++)
			log_warnx("db: checkpoint: %s (tried again after more commits; the "
			    "log keeps every change meanwhile)", sqlite3_errmsg(c->own));
		pthread_mutex_lock(&c->mu);
		c->kick = 0;
		c->seen = nlog;
		if (rc == SQLITE_OK) {
			c->copied = done;
			c->st.runs++;
			c->st.log_pages = nlog;
			c->st.backfilled = done;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/*
 * The writer's hook, after each commit; pages = frames now in the log. A
 * checkpoint is asked for when DB_CKPT_PAGES frames have come since the
 * thread's last one (SQLite's own rhythm, without the wait; and no asking in
 * vain while a reader's snapshot holds the log). Under a steady flood
 * the log is rarely all copied between two commits, so it cannot start over
 * and grows; at DB_CKPT_BACKSTOP frames the writer copies the little that is
 * left itself, and its next transaction starts the log over. When that
 * fails (a reader holds an old snapshot) the writer tries again only after
 * DB_CKPT_PAGES more, as SQLite's own auto-checkpoint would.
 */
static int
ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct db_ckpt *c = arg;
	int nlog = 0, done = 0;

	pthread_mutex_lock(&c->mu);
	if (pages < c->seen || pages < c->copied) {	/* the log started over */
		c->copied = c->seen = 0;
		c->backstop = DB_CKPT_BACKSTOP;
	}
	if (pages >= c->backstop) {
		/* again only after DB_CKPT_PAGES more: a reader's old snapshot
		 * can hold the log, and then nothing can be copied anyway */
		c->backstop = pages + DB_CKPT_PAGES;
		c->st.backstops++;
		pthread_mutex_unlock(&c->mu);
		if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &nlog,
		    &done) != SQLITE_OK)
			done = 0;
		pthread_mutex_lock(&c->mu);
		if (done > c->copied)
			c->copied = done;
	} else if (!c->kick && pages - c->seen >= DB_CKPT_PAGES) {
		c->kick = 1;
		c->st.kicks++;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return SQLITE_OK;
}

struct db_ckpt *
db_ckpt_start(sqlite3 *db)
{
	struct db_ckpt *c;
	const char *path = sqlite3_db_filename(db, "main");
	sqlite3_stmt *st = NULL;
	int wal = 0;

	/* only a file in WAL mode has a log to copy (not :memory:) */
	if (path == NULL || path[0] == '\0')
		return NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		wal = sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	if (!wal)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("db: checkpointer");
		return NULL;
	}
	c->db = db;
	c->backstop = DB_CKPT_BACKSTOP;
	if (sqlite3_open_v2(path, &c->own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK || db_exec(c->own, "PRAGMA synchronous=FULL", "synchronous")) {
		log_warnx("db: checkpointer: open %s: %s", path,
		    c->own ? sqlite3_errmsg(c->own) : "out of memory");
		sqlite3_close(c->own);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if ((errno = pthread_create(&c->th, NULL, ckpt_main, c)) != 0) {
		log_warn("db: checkpointer: pthread_create");
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close(c->own);
		free(c);
		return NULL;
	}
	sqlite3_wal_hook(db, ckpt_hook, c);
	return c;
}

void
db_ckpt_stop(struct db_ckpt *c)
{
	if (c == NULL)
		return;
	/* back to SQLite's own checkpoints in the writer (this replaces the hook) */
	sqlite3_wal_autocheckpoint(c->db, DB_CKPT_PAGES);
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->th, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close(c->own);
	free(c);
}

void
db_ckpt_stats(struct db_ckpt *c, struct db_ckpt_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	pthread_mutex_unlock(&c->mu);
}
