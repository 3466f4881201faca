/*
 * db.h: SQLite plumbing both daemons share: open with the settings we rely on,
 * schema migrations by PRAGMA user_version, and small statement helpers.
 *
 * Settings: WAL journal (readers never block the writer), synchronous=FULL for
 * the device journal and the gateway alike (an acknowledged event must survive
 * a power cut), foreign_keys=ON, busy_timeout so a short lock by another process
 * (an operator's sqlite3 shell, a backup) is waited out rather than failing.
 */
#ifndef LC_DB_H
#define LC_DB_H

#include <sqlite3.h>
#include <stdint.h>

/* migrations[i] takes the schema from version i to i+1, in one transaction.
 * Returns 0 with *out set, or -1 with a log line (and *out NULL). */
int	db_open(const char *path, const char *const *migrations, int nmigrations,
	    sqlite3 **out);
void	db_close(sqlite3 *);
/* The schema version now in the file. */
int	db_version(sqlite3 *);

/* Run SQL with no result rows. Returns 0, or -1 with a log line naming what. */
int	db_exec(sqlite3 *, const char *sql, const char *what);
int	db_begin(sqlite3 *);		/* BEGIN IMMEDIATE */
int	db_commit(sqlite3 *);
void	db_rollback(sqlite3 *);

/* Prepare once, keep for the life of the connection. -1 with a log line. */
int	db_prepare(sqlite3 *, const char *sql, sqlite3_stmt **out);

/* Bind helpers: NULL text and INT64_MIN / NaN bind SQL NULL. Return SQLite codes. */
int	db_bind_text(sqlite3_stmt *, int idx, const char *s);
int	db_bind_i64(sqlite3_stmt *, int idx, int64_t v);
int	db_bind_double(sqlite3_stmt *, int idx, double v);

/* Column helpers: NULL reads as def. Text is copied into buf (always terminated). */
int64_t	db_col_i64(sqlite3_stmt *, int col, int64_t def);
double	db_col_double(sqlite3_stmt *, int col, double def);
const char *db_col_text(sqlite3_stmt *, int col, char *buf, size_t cap);

#define DB_BUSY_TIMEOUT_MS	5000

/*
 * Checkpoints on a thread of their own (db.c): db_ckpt_start(db) makes db's
 * commits wake a thread that copies the WAL into the database file with its
 * own connection (PASSIVE: it never blocks db) every DB_CKPT_PAGES new
 * pages, so db's thread does not wait for a checkpoint's fsyncs; db runs one
 * itself, short as the thread copied most, only when the log reaches
 * DB_CKPT_BACKSTOP pages without having started over. NULL when db is not a
 * WAL file or the thread cannot start: then SQLite checkpoints in db's
 * commits as usual. db_ckpt_stop (NULL: nothing) joins the thread and gives
 * checkpoints back to SQLite; call it before closing db. db_ckpt_stats: the
 * thread's figures so far (the unit test reads them).
 */
#define DB_CKPT_PAGES		1000	/* SQLite's own auto-checkpoint size */
#define DB_CKPT_BACKSTOP	10000	/* ~40 MB of log: the writer copies the rest */
struct db_ckpt;
struct db_ckpt_stats {
	int64_t	kicks;		/* commits that woke the thread */
	int64_t	runs;		/* checkpoints it ran */
	int64_t	backstops;	/* checkpoints the writer ran itself */
	int	log_pages;	/* of the last checkpoint: frames in the log */
	int	backfilled;	/* ... and copied into the database */
};
struct db_ckpt *db_ckpt_start(sqlite3 *db);
void	db_ckpt_stop(struct db_ckpt *);
void	db_ckpt_stats(struct db_ckpt *, struct db_ckpt_stats *out);

#endif
