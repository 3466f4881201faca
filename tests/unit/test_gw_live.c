/*
 * test_gw_live.c: the live stream's framing and cursor source and the metrics
 * text (gateway/live.c, gateway/metrics.c and their store section), on a
 * temporary database.
 *
 * Covers: SSE frames (id, event, data; one data line per line of data; a
 * comment; refusal when the buffer is too small, never a cut frame); the
 * commit counter moves once per real commit and not for reads or rollbacks;
 * timeline ids are global, gap-free and read in order after a cursor;
 * Prometheus label escaping; route classes; the exposition parses line by line
 * and counts what the store holds and what was observed.
 */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw_fixture.h"

#define T0	1764040000000LL

struct fixture {
	char		path[FX_PATH_MAX];
	struct gw_conf	conf;
	struct vclock	vc;
	struct gw	gw;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || fx_store_open(f->path, "test_gw_live", &f->gw.store) == -1 ||
	    (f->gw.metrics = metrics_new()) == NULL)
		return -1;
	fx_gw_init(&f->gw, &f->conf, &f->vc, T0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	metrics_free(f->gw.metrics);
	return fx_teardown(f->gw.store, f->path, f);
}

static void
test_frame(void **state)
{
	char b[128];

	(void)state;
	assert_int_equal(live_frame(b, sizeof(b), 42, "timeline", "{\"a\":1}"),
	    strlen("id: 42\nevent: timeline\ndata: {\"a\":1}\n\n"));
	assert_string_equal(b, "id: 42\nevent: timeline\ndata: {\"a\":1}\n\n");
	live_frame(b, sizeof(b), -1, "hello", "x");
	assert_string_equal(b, "event: hello\ndata: x\n\n");
	live_frame(b, sizeof(b), -1, "crew", "one\ntwo\n");
	assert_string_equal(b, "event: crew\ndata: one\ndata: two\ndata: \n\n");
	live_frame(b, sizeof(b), -1, NULL, "ping");
	assert_string_equal(b, ": ping\n\n");
	live_frame(b, sizeof(b), 0, NULL, "d");
	assert_string_equal(b, "id: 0\ndata: d\n\n");
	/* Too small: nothing usable, never half a frame. */
	assert_int_equal(live_frame(b, 10, 42, "timeline", "{\"a\":1}"), 0);
	assert_int_equal(live_frame(b, 0, 42, "timeline", "x"), 0);
	assert_int_equal(live_frame(b, strlen("id: 1\ndata: x\n\n"), 1, NULL, "x"), 0);
	assert_int_equal(live_frame(b, strlen("id: 1\ndata: x\n\n") + 1, 1, NULL, "x"),
	    strlen("id: 1\ndata: x\n\n"));
}

struct seen {
	int64_t	ids[16];
	char	kinds[16][GW_WORD_MAX];
	int	n;
};

static int
seen_cb(const struct tl_row *r, void *arg)
{
	struct seen *s = arg;

	s->ids[s->n] = r->id;
	snprintf(s->kinds[s->n], GW_WORD_MAX, "%s", r->e.kind);
	s->n++;
	return 0;
}

static void
add_order(struct fixture *f, const char *id)
{
	struct order o;

	memset(&o, 0, sizeof(o));
	snprintf(o.id, sizeof(o.id), "%s", id);
	o.category = 2;
	o.created_ms = T0;
	assert_int_equal(store_order_insert(f->gw.store, &o), 0);
}

static void
test_commits_and_cursor(void **state)
{
	struct fixture *f = *state;
	struct store *st = f->gw.store;
	uint64_t c0 = store_commits(st);
	struct seen s = { 0 };
	struct order o;

	assert_int_equal(store_tl_last_id(st), 0);
	assert_int_equal(store_begin(st), 0);
	add_order(f, "LC-20251125-0001");
	add_order(f, "LC-20251125-0002");
	assert_int_equal(store_tl_append(st, "LC-20251125-0001", "recorded", T0, T0, "a", NULL,
	    NULL), 0);
	assert_int_equal(store_tl_append(st, "LC-20251125-0002", "recorded", T0, T0, "a", NULL,
	    NULL), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_commits(st), c0 + 1);
	/* A read and a rolled-back write are no commits. */
	assert_int_equal(store_order_get(st, "LC-20251125-0001", &o), 1);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_tl_append(st, "LC-20251125-0001", "dispatched", T0, T0, "s",
	    NULL, NULL), 0);
	store_rollback(st);
	assert_int_equal(store_commits(st), c0 + 1);
	/* The rolled-back id is given again: ids stay gap-free in commit order. */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_tl_append(st, "LC-20251125-0002", "dispatched", T0, T0, "s",
	    NULL, NULL), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_commits(st), c0 + 2);
	assert_int_equal(store_tl_last_id(st), 3);
	assert_int_equal(store_tl_after(st, 0, 10, seen_cb, &s), 0);
	assert_int_equal(s.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.ids[i], i + 1);
	assert_string_equal(s.kinds[2], "dispatched");
	s.n = 0;
	assert_int_equal(store_tl_after(st, 1, 1, seen_cb, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], 2);
	s.n = 0;
	assert_int_equal(store_tl_after(st, 3, 10, seen_cb, &s), 0);
	assert_int_equal(s.n, 0);
}

static void
test_label_escape(void **state)
{
	struct maps_buf b;

	(void)state;
	maps_buf_init(&b, 256);
	assert_int_equal(metrics_label(&b, "a\\b\"c\nd 東"), 0);
	assert_string_equal(b.p, "a\\\\b\\\"c\\nd 東");
	maps_buf_free(&b);
	assert_int_equal(metrics_route_of("GET", "/api/v1/orders"), MR_API_READ);
	assert_int_equal(metrics_route_of("POST", "/api/v1/orders"), MR_API_WRITE);
	assert_int_equal(metrics_route_of("GET", "/api/v1/stream"), MR_STREAM);
	assert_int_equal(metrics_route_of("GET", "/static/app.css"), MR_STATIC);
	assert_int_equal(metrics_route_of("GET", "/board"), MR_PAGE);
	assert_int_equal(metrics_route_of("GET", "/metrics"), MR_OTHER);
}

/* The value of the sample line "name value" in text, -1 when absent. */
static double
sample(const char *text, const char *name)
{
	char pat[160];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s ", name);
	if ((p = strstr(text, pat)) == NULL)
		return -1;
	return strtod(p + strlen(pat), NULL);
}

static void
test_exposition(void **state)
{
	struct fixture *f = *state;
	struct maps_buf b;
	regex_t re;
	char *line, *save = NULL, *copy;
	int lines = 0;

	assert_int_equal(store_begin(f->gw.store), 0);
	add_order(f, "LC-20251125-0001");
	assert_int_equal(store_commit(f->gw.store), 0);
	metrics_http(f->gw.metrics, MR_API_READ, 0.003);
	metrics_http(f->gw.metrics, MR_API_READ, 7.0);
	metrics_http(f->gw.metrics, MR_PAGE, 100.0);	/* past the last bound: +Inf only */
	maps_buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(&f->gw, &b), 0);
	assert_int_equal(regcomp(&re, "^([a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*="
	    "\"([^\"\\\\]|\\\\.)*\",?)*\\})? [-+0-9.eE]+|[a-zA-Z_:][a-zA-Z0-9_:]*\\{.*\\} \\+?Inf|"
	    "# (HELP|TYPE) .*)$", REG_EXTENDED | REG_NOSUB), 0);
	copy = strdup(b.p);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (regexec(&re, line, 0, NULL, 0) != 0)
			fail_msg("not Prometheus text: \"%s\"", line);
		lines++;
	}
	free(copy);
	regfree(&re);
	assert_true(lines > 50);
	assert_true(sample(b.p, "linecrew_orders{state=\"recorded\"}") == 1);
	assert_true(sample(b.p, "linecrew_orders{state=\"closed\"}") == 0);
	assert_true(sample(b.p, "linecrew_mqtt_connected") == 0);
	assert_true(sample(b.p, "linecrew_sse_clients") == 0);
	assert_true(sample(b.p, "linecrew_http_request_duration_seconds_bucket{route=\"api_read\","
	    "le=\"0.005\"}") == 1);
	assert_true(sample(b.p, "linecrew_http_request_duration_seconds_bucket{route=\"api_read\","
	    "le=\"60\"}") == 2);
	assert_true(sample(b.p, "linecrew_http_request_duration_seconds_bucket{route=\"page\","
	    "le=\"60\"}") == 0);
	assert_true(sample(b.p, "linecrew_http_request_duration_seconds_bucket{route=\"page\","
	    "le=\"+Inf\"}") == 1);
	assert_true(sample(b.p, "linecrew_http_request_duration_seconds_count{route=\"api_read\"}")
	    == 2);
	assert_true(sample(b.p, "linecrew_device_journal_backlog") == 0);
	assert_true(sample(b.p, "process_resident_memory_bytes") > 0);
	maps_buf_free(&b);
}

static void
test_journal_backlog(void **state)
{
	struct fixture *f = *state;
	struct store_gauges g;
	struct store *st = f->gw.store;

	/* The unit said hello as its event 5 after events 1..4; the gateway has 1 and 2. */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_event_insert(st, "d:1", "d", 1, NULL, "accept", T0, T0, "applied",
	    "{}", 2), 1);
	assert_int_equal(store_event_insert(st, "d:2", "d", 2, NULL, "accept", T0, T0, "applied",
	    "{}", 2), 1);
	assert_int_equal(store_event_insert(st, "d:5", "d", 5, NULL, "hello", T0, T0, "applied",
	    "{}", 2), 1);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_gauges(st, &g), 0);
	assert_int_equal(g.journal_backlog, 2);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_event_insert(st, "d:3", "d", 3, NULL, "accept", T0, T0, "applied",
	    "{}", 2), 1);
	assert_int_equal(store_event_insert(st, "d:4", "d", 4, NULL, "accept", T0, T0, "applied",
	    "{}", 2), 1);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_gauges(st, &g), 0);
	assert_int_equal(g.journal_backlog, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test_setup_teardown(test_commits_and_cursor, setup, teardown),
		cmocka_unit_test(test_label_escape),
		cmocka_unit_test_setup_teardown(test_exposition, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_backlog, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
