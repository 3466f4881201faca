/*
 * test_gw_admin.c: the security section of the store (gateway/store.c) and the
 * helpers of gateway/admin.c, on a temporary database.
 *
 * Covers: every timeline entry and stored device event is linked into the
 * audit chain in its own transaction; the chain re-computed from the rows
 * matches; an edited row, a deleted source row and a garbage previous hash are
 * caught at the right link; the canonical bytes separate fields (no two rows
 * share bytes by moving a boundary); tokens are stored as the SHA-256 of the
 * secret only, found by it, and a second token of the same name is refused;
 * role names.
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

#include "gw_fixture.h"

struct fixture {
	char		path[FX_PATH_MAX];
	struct store   *st;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || fx_store_open(f->path, "test_gw_admin", &f->st) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	return fx_teardown(f->st, f->path, f);
}

struct walk {
	char	prev[STORE_HASH_HEX];
	int64_t	rows;
	int64_t	broken_at;	/* 0 = intact */
};

static int
walk_cb(const struct store_audit_row *r, void *arg)
{
	struct walk *w = arg;
	char h[STORE_HASH_HEX];

	w->rows++;
	if (!r->found) {
		w->broken_at = r->n;
		return 1;
	}
	store_chain_hash(w->prev, r->canon.buf, r->canon.len, h);
	if (strcmp(h, r->hash) != 0) {
		w->broken_at = r->n;
		return 1;
	}
	memcpy(w->prev, r->hash, sizeof(w->prev));
	return 0;
}

static void edit(const char *path, const char *sql);

static void
fill(struct fixture *f)
{
	static const char ev[] = "{\"v\":1,\"type\":\"arrive\",\"sig\":\"00\"}";
	struct store *st = f->st;

	edit(f->path, "INSERT INTO orders (id, category, state, summary, address, customer,"
	    " phone, lat, lon, in_lat, in_lon, in_crs, radius_m, zone, zone_name, created_ms,"
	    " lim_review_s, lim_arrive_min, lim_complete_min, lim_callback_min) VALUES"
	    " ('LC-1', 2, 'recorded', '', '', '', '', 0, 0, 0, 0, 'wgs84', 150, 'urban', '',"
	    " 1000, 180, 60, 720, 10);");
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_tl_append(st, "LC-1", "recorded", 1000, 1000, "agent", "{}", NULL), 0);
	assert_int_equal(store_tl_append(st, "LC-1", "dispatched", 2000, 2000, "supervisor",
	    "{\"crew\":\"c1\"}", NULL), 0);
	assert_int_equal(store_event_insert(st, "dev-01:1", "dev-01", 1, "LC-1", "arrive", 3000,
	    3100, "applied", ev, strlen(ev)), 1);
	/* the same event id again: not stored, not chained */
	assert_int_equal(store_event_insert(st, "dev-01:1", "dev-01", 1, "LC-1", "arrive", 3000,
	    3200, "applied", ev, strlen(ev)), 0);
	assert_int_equal(store_tl_append(st, "LC-1", "arrived", 3000, 3100, "device", "{}", NULL), 0);
	assert_int_equal(store_commit(st), 0);
}

static void
test_chain_intact(void **state)
{
	struct fixture *f = *state;
	struct walk w = { "", 0, 0 };

	fill(f);
	assert_int_equal(store_audit_walk(f->st, walk_cb, &w), 0);
	assert_int_equal(w.broken_at, 0);
	assert_int_equal(w.rows, 4);
	assert_int_equal(store_count(f->st, "audit"), 4);
	assert_int_equal(store_count(f->st, "timeline") + store_count(f->st, "device_events"), 4);
}

static void
edit(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_chain_edited_row(void **state)
{
	struct fixture *f = *state;
	struct walk w = { "", 0, 0 };

	fill(f);
	edit(f->path, "DROP TRIGGER timeline_no_update;"
	    "UPDATE timeline SET at_ms = 1500 WHERE order_id = 'LC-1' AND seq = 2;");
	assert_int_equal(store_audit_walk(f->st, walk_cb, &w), 0);
	assert_int_equal(w.broken_at, 2);	/* the dispatch entry, the second link */
}

static void
test_chain_edited_evidence(void **state)
{
	struct fixture *f = *state;
	struct walk w = { "", 0, 0 };

	fill(f);
	edit(f->path, "UPDATE device_events SET at_ms = 2500 WHERE eid = 'dev-01:1';");
	assert_int_equal(store_audit_walk(f->st, walk_cb, &w), 0);
	assert_int_equal(w.broken_at, 3);
}

static void
test_chain_deleted_row(void **state)
{
	struct fixture *f = *state;
	struct walk w = { "", 0, 0 };

	fill(f);
	edit(f->path, "DROP TRIGGER timeline_no_delete;"
	    "DELETE FROM timeline WHERE order_id = 'LC-1' AND seq = 1;");
	assert_int_equal(store_audit_walk(f->st, walk_cb, &w), 0);
	assert_int_equal(w.broken_at, 1);
}

static void
test_chain_rewritten_hash(void **state)
{
	struct fixture *f = *state;
	struct walk w = { "", 0, 0 };

	fill(f);
	/* someone "fixes" the hash of link 2 after an edit: link 3 breaks */
	edit(f->path, "DROP TRIGGER audit_no_update;"
	    "UPDATE audit SET hash = '00' || substr(hash, 3) WHERE n = 2;");
	assert_int_equal(store_audit_walk(f->st, walk_cb, &w), 0);
	assert_int_equal(w.broken_at, 2);
}

static void
test_canon_boundaries(void **state)
{
	struct store_canon a, b;

	(void)state;
	store_canon_tl(&a, "LC-1", 1, "ab", 1, 1, "c", "{}");
	store_canon_tl(&b, "LC-1", 1, "a", 1, 1, "bc", "{}");
	assert_false(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
	assert_false(a.overflow);
}

static void
test_tokens(void **state)
{
	struct fixture *f = *state;
	struct token t, got;
	char h2[STORE_HASH_HEX];

	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "alice");
	snprintf(t.role, sizeof(t.role), "agent");
	admin_token_hash("lct_secret", t.hash);
	assert_int_equal(strlen(t.hash), 64);
	assert_null(strstr(t.hash, "secret"));
	assert_int_equal(store_token_add(f->st, &t, 1000), 1);
	assert_int_equal(store_token_add(f->st, &t, 1000), 0);	/* same name */
	assert_int_equal(store_token_find(f->st, t.hash, &got), 1);
	assert_string_equal(got.role, "agent");
	admin_token_hash("lct_secreT", h2);
	assert_int_equal(store_token_find(f->st, h2, &got), 0);
	assert_true(admin_role_valid("department"));
	assert_false(admin_role_valid("root"));
	assert_false(admin_role_valid(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_edited_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_edited_evidence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_deleted_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_rewritten_hash, setup, teardown),
		cmocka_unit_test(test_canon_boundaries),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
