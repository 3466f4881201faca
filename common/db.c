/*
 * db.c: SQLite connection set-up, migrations and statement helpers.
 *
 * Migrations: PRAGMA user_version holds the schema version. On open, every
 * migration from that version up runs in its own IMMEDIATE transaction together
 * with the version bump, so a crash mid-upgrade leaves the file at a whole
 * version. A file newer than this binary knows is refused (downgrades would
 * silently misread data).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
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
