/*
 * test_gw_web.c: browser sessions, the compiled-in assets, the cookie, the
 * alert acknowledgement and the report as CSV (gateway/web.c and its store
 * section), on a temporary database and a virtual clock.
 *
 * Covers: a session is stored as the SHA-256 of its secret only, found by the
 * secret until it expires and not after; a malformed or unknown secret finds
 * nothing; the session carries the token's role and department and ends with
 * it; the cookie's attributes; every asset has a type and an ETag of its bytes
 * and a lookup by a path-like name fails; acknowledging a warning writes one
 * alert_ack entry, a second is a conflict, a non-alert entry is not found;
 * the unacknowledged alerts list; CSV quoting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>

#include "gw_fixture.h"

#define T0	1764040000000LL	/* 2025-11-25 UTC */

struct fixture {
	char		path[FX_PATH_MAX];
	struct gw_conf	conf;
	struct vclock	vc;
	struct gw	gw;
	struct token	tok;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || fx_store_open(f->path, "test_gw_web", &f->gw.store) == -1)
		return -1;
	fx_gw_init(&f->gw, &f->conf, &f->vc, T0);
	f->conf.session_hours = 12;
	snprintf(f->tok.name, sizeof(f->tok.name), "mkt");
	snprintf(f->tok.role, sizeof(f->tok.role), "department");
	snprintf(f->tok.dept, sizeof(f->tok.dept), "市场营销部");
	admin_token_hash("secret-of-mkt", f->tok.hash);
	if (store_token_add(f->gw.store, &f->tok, T0) != 1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	return fx_teardown(f->gw.store, f->path, f);
}

static void
test_session_life(void **state)
{
	struct fixture *f = *state;
	struct session se, got;
	char secret[WEB_SECRET_HEX], hash[STORE_HASH_HEX];

	assert_int_equal(web_session_new(&f->gw, &f->tok, &se, secret), 0);
	assert_true(web_secret_valid(secret));
	assert_int_equal(strlen(se.csrf), WEB_CSRF_HEX - 1);
	assert_int_equal(se.expires_ms, T0 + 12 * 3600 * 1000LL);
	/* Only the hash is stored, and it is not the secret. */
	admin_token_hash(secret, hash);
	assert_string_equal(se.hash, hash);
	assert_string_not_equal(se.hash, secret);
	assert_int_equal(web_session_lookup(&f->gw, secret, &got), 1);
	assert_string_equal(got.tok.role, "department");
	assert_string_equal(got.tok.dept, "市场营销部");
	assert_string_equal(got.csrf, se.csrf);
	/* One ms before the end it holds; at the end it is gone. */
	vclock_advance(&f->vc, 12 * 3600 * 1000LL - 1);
	assert_int_equal(web_session_lookup(&f->gw, secret, &got), 1);
	vclock_advance(&f->vc, 1);
	assert_int_equal(web_session_lookup(&f->gw, secret, &got), 0);
	/* The next login purges it. */
	assert_int_equal(web_session_new(&f->gw, &f->tok, &se, secret), 0);
	assert_int_equal(store_count(f->gw.store, "sessions"), 1);
}

static void
test_session_bad_secrets(void **state)
{
	struct fixture *f = *state;
	struct session se, got;
	char secret[WEB_SECRET_HEX], upper[WEB_SECRET_HEX];

	assert_int_equal(web_session_new(&f->gw, &f->tok, &se, secret), 0);
	assert_int_equal(web_session_lookup(&f->gw, NULL, &got), 0);
	assert_int_equal(web_session_lookup(&f->gw, "", &got), 0);
	assert_int_equal(web_session_lookup(&f->gw, "00", &got), 0);
	for (size_t i = 0; i < sizeof(upper); i++)
		upper[i] = (char)(secret[i] >= 'a' && secret[i] <= 'f' ? secret[i] - 32 :
		    secret[i]);
	assert_false(web_secret_valid(upper));
	assert_int_equal(web_session_lookup(&f->gw, upper, &got), 0);
	assert_false(web_secret_valid("0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0"));	/* 65 digits */
	secret[0] = secret[0] == '0' ? '1' : '0';
	assert_int_equal(web_session_lookup(&f->gw, secret, &got), 0);
	/* Deleting the session ends it. */
	secret[0] = secret[0] == '0' ? '1' : '0';
	assert_int_equal(store_session_del(f->gw.store, se.hash), 1);
	assert_int_equal(web_session_lookup(&f->gw, secret, &got), 0);
	assert_int_equal(store_session_del(f->gw.store, se.hash), 0);
}

static void
test_cookie(void **state)
{
	char b[256];

	(void)state;
	web_cookie(b, sizeof(b), "ab", 3600, 0);
	assert_string_equal(b, "lc_session=ab; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600");
	web_cookie(b, sizeof(b), "", 0, 1);
	assert_string_equal(b, "lc_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; "
	    "Secure");
}

/* FNV-1a 64, as webpack.c computes the ETag. */
static unsigned long long
fnv(const unsigned char *p, size_t n)
{
	unsigned long long h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static void
test_assets(void **state)
{
	char want[24];

	(void)state;
	for (size_t i = 0; i < web_nassets; i++) {
		const struct web_asset *a = &web_assets[i];

		assert_ptr_equal(web_asset_find(a->name), a);
		assert_non_null(strchr(a->type, '/'));
		snprintf(want, sizeof(want), "\"%016llx\"", fnv(a->data, a->len));
		assert_string_equal(a->etag, want);
		if (i > 0)
			assert_true(strcmp(web_assets[i - 1].name, a->name) < 0);
	}
	assert_null(web_asset_find("../gateway.db"));
	assert_null(web_asset_find(""));
	assert_null(web_asset_find("no-such-file.js"));
}

static void
test_alert_ack(void **state)
{
	struct fixture *f = *state;
	struct gw_err err;
	struct order o;
	cJSON *out = NULL;

	memset(&o, 0, sizeof(o));
	snprintf(o.id, sizeof(o.id), "LC-20251125-0001");
	o.category = 2;
	o.created_ms = T0;
	assert_int_equal(store_begin(f->gw.store), 0);
	assert_int_equal(store_order_insert(f->gw.store, &o), 0);
	assert_int_equal(store_tl_append(f->gw.store, o.id, "recorded", T0, T0, "agent", NULL,
	    NULL), 0);
	assert_int_equal(store_tl_append(f->gw.store, o.id, "warning", T0, T0, "gateway",
	    "{\"stage\":\"review\",\"due_ms\":1764040180000}", NULL), 0);
	assert_int_equal(store_commit(f->gw.store), 0);

	/* Not an alert: 404 naming seq. */
	assert_int_equal(web_alert_ack(&f->gw, o.id, 1, "disp", "", &out, &err), GW_E_NOTFOUND);
	assert_string_equal(err.field, "seq");
	assert_int_equal(web_alert_ack(&f->gw, o.id, 9, "disp", "", &out, &err), GW_E_NOTFOUND);
	assert_int_equal(web_alert_ack(&f->gw, "LC-20251125-0002", 2, "disp", "", &out, &err),
	    GW_E_NOTFOUND);
	assert_int_equal(web_alert_ack(&f->gw, o.id, 2, "disp", "seen", &out, &err), GW_OK);
	assert_string_equal(cJSON_GetObjectItem(out, "kind")->valuestring, "warning");
	assert_string_equal(cJSON_GetObjectItem(out, "stage")->valuestring, "review");
	cJSON_Delete(out);
	out = NULL;
	assert_int_equal(web_alert_ack(&f->gw, o.id, 2, "disp", "", &out, &err), GW_E_CONFLICT);
	assert_null(out);
	assert_int_equal(store_alert_acked(f->gw.store, o.id, 2), 1);
	assert_int_equal(store_alert_acked(f->gw.store, o.id, 1), 0);
	/* The entry is on the timeline (and so in the audit chain). */
	assert_int_equal(store_count(f->gw.store, "timeline"), 3);
	assert_int_equal(store_count(f->gw.store, "audit"), 3);
}

static int
count_alert(const struct tl_row *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static void
test_alert_list(void **state)
{
	struct fixture *f = *state;
	struct order o;
	struct gw_err err;
	cJSON *out = NULL;
	int n = 0;

	memset(&o, 0, sizeof(o));
	snprintf(o.id, sizeof(o.id), "LC-20251125-0003");
	o.created_ms = T0;
	assert_int_equal(store_begin(f->gw.store), 0);
	assert_int_equal(store_order_insert(f->gw.store, &o), 0);
	assert_int_equal(store_tl_append(f->gw.store, o.id, "warning", T0, T0, "gateway",
	    "{\"stage\":\"review\"}", NULL), 0);
	assert_int_equal(store_tl_append(f->gw.store, o.id, "breach", T0, T0, "gateway",
	    "{\"stage\":\"review\"}", NULL), 0);
	assert_int_equal(store_commit(f->gw.store), 0);
	assert_int_equal(store_alerts(f->gw.store, 10, count_alert, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(web_alert_ack(&f->gw, o.id, 1, "disp", "", &out, &err), GW_OK);
	cJSON_Delete(out);
	n = 0;
	assert_int_equal(store_alerts(f->gw.store, 10, count_alert, &n), 0);
	assert_int_equal(n, 1);
}

static void
test_stats_csv(void **state)
{
	struct maps_buf b;
	cJSON *r = cJSON_Parse("{\"groups\":[{\"key\":\"a,b\",\"label\":\"say \\\"hi\\\"\","
	    "\"orders\":3,\"arrival_on_time_rate\":0.5,\"arrival_avg_min\":12.25,"
	    "\"arrival_p90_min\":null,\"breaches\":1}],\"total\":{\"orders\":3,\"breaches\":1}}");

	(void)state;
	maps_buf_init(&b, 4096);
	assert_int_equal(stats_report_csv(r, "zone", &b), 0);
	assert_string_equal(b.p, "zone,label,orders,arrival_on_time_pct,arrival_avg_min,"
	    "arrival_p90_min,completion_in_limit_pct,handling_in_limit_pct,callback_rate_pct,"
	    "callback_in_10min_pct,answered_in_12s_pct,breaches\n"
	    "\"a,b\",\"say \"\"hi\"\"\",3,50.0,12.2,-,-,-,-,-,-,1\n"
	    "total,,3,-,-,-,-,-,-,-,-,1\n");
	maps_buf_free(&b);
	cJSON_Delete(r);
}

/* RFC 7240's Prefer: a list of preferences, case-insensitive, with
 * parameters and whitespace; only return=minimal itself counts. */
static void
test_prefer_minimal(void **state)
{
	(void)state;
	assert_true(http_prefers_minimal("return=minimal"));
	assert_true(http_prefers_minimal("Return=Minimal"));
	assert_true(http_prefers_minimal("respond-async, return=minimal ; foo=bar"));
	assert_true(http_prefers_minimal(" wait=10,return=minimal\t"));
	assert_false(http_prefers_minimal(NULL));
	assert_false(http_prefers_minimal(""));
	assert_false(http_prefers_minimal("return=representation"));
	assert_false(http_prefers_minimal("return=minimalist"));
	assert_false(http_prefers_minimal("xreturn=minimal"));
	assert_false(http_prefers_minimal("wait=10; return=minimal"));	/* a parameter of wait */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_life, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_bad_secrets, setup, teardown),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_assets),
		cmocka_unit_test_setup_teardown(test_alert_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_list, setup, teardown),
		cmocka_unit_test(test_stats_csv),
		cmocka_unit_test(test_prefer_minimal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
