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

#endif
