/*
 * test_common_db.c: common/db.c's checkpoints off the writer's thread.
 *
 * A writer commits many small transactions (well past DB_CKPT_PAGES of log)
 * into a real WAL file while a reader keeps a snapshot open for part of the
 * time: the thread must have been woken and have copied the log (its
 * figures), the writer must not have checkpointed itself before the reader
 * came (no backstop below DB_CKPT_BACKSTOP pages) and only once per
 * DB_CKPT_PAGES of log while the snapshot held it, every row must be there and the file must
 * pass integrity_check, also when opened again after db_ckpt_stop. A
 * database that is not a WAL file (:memory:) gets no thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"

static const char *const mig[] = {
	"CREATE TABLE t (id INTEGER PRIMARY KEY, dev TEXT NOT NULL, v BLOB NOT NULL);"
	"CREATE INDEX t_dev ON t(dev, id);",
};

static char dir[64], path[96];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lc-test-db-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char p[128];

	(void)state;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static int64_t
count(sqlite3 *db)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
assert_integrity(sqlite3 *db)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

static void
test_checkpoints_on_their_thread(void **state)
{
	sqlite3 *db, *rd;
	sqlite3_stmt *ins, *snap;
	struct db_ckpt *c;
	struct db_ckpt_stats s;
	char blob[600];
	int i, n = 12000;

	(void)state;
	assert_int_equal(db_open(path, mig, 1, &db), 0);
	assert_non_null(c = db_ckpt_start(db));
	assert_int_equal(db_prepare(db, "INSERT INTO t (dev, v) VALUES (?1, ?2)", &ins), 0);
	assert_int_equal(sqlite3_open_v2(path, &rd, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	memset(blob, 'x', sizeof(blob));
	for (i = 0; i < n; i++) {
		char dev[16];

		/* a reader's snapshot over part of the run: checkpoints cannot
		 * pass it, and must neither fail nor spin */
		if (i == n / 4) {
			/* so far the thread did all: the writer never waited */
			db_ckpt_stats(c, &s);
			assert_true(s.runs >= 1);
			assert_int_equal(s.backstops, 0);
			assert_int_equal(sqlite3_prepare_v2(rd, "SELECT count(*) FROM t", -1,
			    &snap, NULL), SQLITE_OK);
			assert_int_equal(sqlite3_exec(rd, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
			assert_int_equal(sqlite3_step(snap), SQLITE_ROW);
		}
		if (i == n / 2) {
			sqlite3_finalize(snap);
			assert_int_equal(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
		}
		snprintf(dev, sizeof(dev), "dev-%d", i % 997);
		assert_int_equal(db_begin(db), 0);
		assert_int_equal(db_bind_text(ins, 1, dev), SQLITE_OK);
		assert_int_equal(sqlite3_bind_blob(ins, 2, blob, sizeof(blob), SQLITE_STATIC),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
		assert_int_equal(db_commit(db), 0);
	}
	/* the thread runs behind the writer: give it a moment for its last one */
	for (i = 0; i < 200; i++) {
		db_ckpt_stats(c, &s);
		if (s.runs >= 2 && s.backfilled > 0)
			break;
		nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	}
	db_ckpt_stats(c, &s);
	print_message("%d commits: %lld wake-ups, %lld checkpoints on the thread, %lld by "
	    "the writer; last: %d of %d log pages copied\n", n, (long long)s.kicks,
	    (long long)s.runs, (long long)s.backstops, s.backfilled, s.log_pages);
	assert_true(s.kicks >= 2);
	assert_true(s.runs >= 2);
	assert_true(s.backfilled > 0);
	/* while the snapshot held the log the writer tried, but rarely */
	assert_true(s.backstops <= n / 1000);
	assert_int_equal(count(db), n);
	assert_integrity(db);
	sqlite3_finalize(ins);
	sqlite3_close(rd);
	db_ckpt_stop(c);
	/* after stop the writer works as before (SQLite's own checkpoints) */
	assert_int_equal(db_exec(db, "INSERT INTO t (dev, v) VALUES ('last', x'00')", "x"), 0);
	db_close(db);
	assert_int_equal(db_open(path, mig, 1, &db), 0);
	assert_int_equal(count(db), n + 1);
	assert_integrity(db);
	db_close(db);
}

static void
test_no_thread_without_wal(void **state)
{
	sqlite3 *db;

	(void)state;
	assert_int_equal(db_open(":memory:", mig, 1, &db), 0);
	assert_null(db_ckpt_start(db));
	db_ckpt_stop(NULL);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_checkpoints_on_their_thread, setup,
		    teardown),
		cmocka_unit_test(test_no_thread_without_wal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
