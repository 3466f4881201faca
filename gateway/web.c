/*
 * web.c: the web board's pages and static assets, browser sessions and the
 * headers every page carries (README "Web board").
 *
 * The files of gateway/web/ are compiled into the binary by gateway/webpack.c
 * ($(B)/gen/web_assets.c: name, type, bytes, ETag), so the gateway serves the
 * exact pages it was built and tested with and needs no file system at run
 * time. Pages need a session cookie (else 303 to /login?next=...) and a role
 * (else a small bilingual 403 page); /login and /static/NAME are public (no
 * data in them). Every answer carries the Content-Security-Policy (no inline
 * script or style), nosniff, same-origin referrer, DENY framing, and
 * "Cache-Control: no-cache" with an ETag so a reload costs a 304.
 *
 * Sessions: 256 random bits (getrandom) as 64 hex digits in an HttpOnly,
 * SameSite=Strict cookie; only the SHA-256 is stored (like API tokens), with a
 * CSRF token that the pages send back in X-CSRF-Token on every write (http.c
 * checks it) and the token that logged in, whose role and department the
 * session carries. Sessions last session_hours and survive a restart.
 *
 * Also here, because only the board's routes use it: acknowledging an alert
 * (one timeline entry in one transaction). The report as CSV is stats.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <cJSON.h>
#include <microhttpd.h>

#include "crypto.h"
#include "gateway.h"
#include "log.h"

#define WEB_ERR_PAGE_MAX	2048

static const struct page {
	const char     *path;		/* "{id}" matches one segment */
	const char     *file;
	const char     *roles;		/* "public", "any", or roles (admin always) */
	const char     *what_zh, *what_en;	/* for the 403 page */
} pages[] = {
	{ "/login",	"login.html",	"public", "", "" },
	{ "/board",	"board.html",	"dispatcher supervisor", "调度员和值班长", "dispatchers and supervisors" },
	{ "/desk",	"desk.html",	"agent", "95598 坐席", "95598 agents" },
	{ "/order/{id}", "order.html",	"any", "", "" },
	{ "/reports",	"reports.html",	"any", "", "" },
};

const struct web_asset *
web_asset_find(const char *name)
{
	for (size_t i = 0; i < web_nassets; i++)
		if (strcmp(web_assets[i].name, name) == 0)
			return &web_assets[i];
	return NULL;
}

int
web_secret_valid(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == WEB_SECRET_HEX - 1;
}

static int
random_hex(char *out, size_t nbytes)
{
	unsigned char b[32];
	size_t got = 0;

	if (nbytes > sizeof(b))
		return -1;
	while (got < nbytes) {
		ssize_t k = getrandom(b + got, nbytes - got, 0);

		if (k <= 0) {
			log_warn("web: getrandom");
			return -1;
		}
		got += (size_t)k;
	}
	crypto_hex(b, nbytes, out);
	explicit_bzero(b, sizeof(b));
	return 0;
}

int
web_session_new(struct gw *gw, const struct token *tok, struct session *out,
    char secret[WEB_SECRET_HEX])
{
	int64_t now = clock_wall(gw->clock);

	memset(out, 0, sizeof(*out));
	if (random_hex(secret, (WEB_SECRET_HEX - 1) / 2) == -1 ||
	    random_hex(out->csrf, (WEB_CSRF_HEX - 1) / 2) == -1)
		return -1;
	admin_token_hash(secret, out->hash);
	out->tok = *tok;
	out->created_ms = now;
	out->expires_ms = now + (int64_t)gw->conf->session_hours * 3600 * 1000;
	/* Expired sessions go when new ones come: the table stays small. */
	if (store_session_purge(gw->store, now) == -1 ||
	    store_session_add(gw->store, out->hash, tok->name, out->csrf, out->created_ms,
	    out->expires_ms) == -1)
		return -1;
	return 0;
}

int
web_session_lookup(struct gw *gw, const char *secret, struct session *out)
{
	char hash[STORE_HASH_HEX];
	int rc;

	if (secret == NULL || !web_secret_valid(secret))
		return 0;
	admin_token_hash(secret, hash);
	if ((rc = store_session_find(gw->store, hash, clock_wall(gw->clock), out)) != 1)
		return rc;
	/* Found by hash through an index; compared again in constant time. */
	return crypto_ct_equal(hash, out->hash, sizeof(hash) - 1) ? 1 : 0;
}

void
web_cookie(char *buf, size_t cap, const char *secret, int64_t max_age_s, int secure)
{
	snprintf(buf, cap, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
	    WEB_COOKIE, secret, (long long)max_age_s, secure ? "; Secure" : "");
}

void
web_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", WEB_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}

/* ---- answers ---- */

static struct MHD_Response *
html_page(unsigned *status, unsigned st, const char *title, const char *code,
    const char *zh, const char *en)
{
	struct MHD_Response *r;
	char *b = malloc(WEB_ERR_PAGE_MAX);
	int n;

	if (b == NULL)
		return NULL;
	n = snprintf(b, WEB_ERR_PAGE_MAX, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head>"
	    "<meta charset=\"utf-8\"><title>%s</title><link rel=\"stylesheet\" "
	    "href=\"/static/app.css\"></head>\n<body data-error=\"%s\"><main><h1>%s</h1>"
	    "<p lang=\"zh-CN\">%s</p><p lang=\"en\">%s</p><p><a href=\"/\">Linecrew</a></p>"
	    "</main></body></html>\n", title, code, title, zh, en);
	if (n < 0 || n >= WEB_ERR_PAGE_MAX) {
		free(b);
		return NULL;
	}
	if ((r = MHD_create_response_from_buffer((size_t)n, b, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(b);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	web_headers(r);
	*status = st;
	return r;
}

static struct MHD_Response *
redirect(unsigned *status, const char *location)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"",
	    MHD_RESPMEM_PERSISTENT);

	if (r == NULL)
		return NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
	web_headers(r);
	*status = 303;
	return r;
}

static struct MHD_Response *
asset_answer(struct MHD_Connection *conn, const struct web_asset *a, unsigned *status)
{
	const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_NONE_MATCH);
	struct MHD_Response *r;
	int same = inm != NULL && strstr(inm, a->etag) != NULL;

	r = MHD_create_response_from_buffer(same ? 0 : a->len, same ? (void *)"" :
	    (void *)a->data, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return NULL;
	if (!same)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag);
	web_headers(r);
	*status = same ? 304 : 200;
	return r;
}

static int
page_match(const char *pattern, const char *path)
{
	const char *id = strstr(pattern, "{id}");

	if (id == NULL)
		return strcmp(pattern, path) == 0;
	if (strncmp(pattern, path, (size_t)(id - pattern)) != 0)
		return 0;
	path += id - pattern;
	return path[0] != '\0' && strchr(path, '/') == NULL && proto_valid_id(path);
}

/* "/login?next=<path, percent-encoded>" into buf. */
static void
login_location(char *buf, size_t cap, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = (size_t)snprintf(buf, cap, "/login?next=");

	for (const unsigned char *p = (const unsigned char *)path; *p && n + 4 < cap; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL)
			buf[n++] = (char)*p;
		else {
			buf[n++] = '%';
			buf[n++] = hex[*p >> 4];
			buf[n++] = hex[*p & 15];
		}
	}
	buf[n] = '\0';
}

static const char *
home_of(const char *role)
{
	if (strcmp(role, "agent") == 0)
		return "/desk";
	if (strcmp(role, "department") == 0)
		return "/reports";
	return "/board";
}

struct MHD_Response *
web_serve(struct gw *gw, struct MHD_Connection *conn, const char *method, const char *url,
    unsigned *status)
{
	const struct page *pg = NULL;
	const struct web_asset *a;
	struct session se;
	char loc[GW_PATH_MAX];
	int rc;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return html_page(status, 405, "405", "method_not_allowed", "不支持此操作。",
		    "This method is not allowed here.");
	if (strncmp(url, "/static/", 8) == 0) {
		if (strchr(url + 8, '/') != NULL || (a = web_asset_find(url + 8)) == NULL)
			return html_page(status, 404, "404", "not_found", "没有这个文件。",
			    "There is no such file.");
		return asset_answer(conn, a, status);
	}
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (page_match(pages[i].path, url)) {
			pg = &pages[i];
			break;
		}
	if (pg == NULL && strcmp(url, "/") != 0)
		return html_page(status, 404, "404", "not_found", "没有这个页面。",
		    "There is no such page.");
	if (pg != NULL && strcmp(pg->roles, "public") == 0)
		goto serve;
	rc = web_session_lookup(gw, MHD_lookup_connection_value(conn, MHD_COOKIE_KIND,
	    WEB_COOKIE), &se);
	if (rc == -1)
		return html_page(status, 503, "503", "unavailable", "系统暂时无法读取会话。",
		    "The sessions cannot be read right now.");
	if (rc == 0) {
		login_location(loc, sizeof(loc), url);
		return redirect(status, loc);
	}
	if (pg == NULL)
		return redirect(status, home_of(se.tok.role));
	if (strcmp(se.tok.role, "admin") != 0 && strcmp(pg->roles, "any") != 0 &&
	    !http_has_word(pg->roles, se.tok.role)) {
		char zh[256], en[256];

		log_security("web: %s: session of %s (role %s) refused", url, se.tok.name,
		    se.tok.role);
		snprintf(zh, sizeof(zh), "此页面仅供%s使用。", pg->what_zh);
		snprintf(en, sizeof(en), "This page is for %s.", pg->what_en);
		return html_page(status, 403, "403", "forbidden", zh, en);
	}
serve:
	if ((a = web_asset_find(pg->file)) == NULL)
		return html_page(status, 404, "404", "not_found", "此页面未编入本网关。",
		    "This page is not built into this gateway.");
	return asset_answer(conn, a, status);
}

/* ---- the board's helpers ---- */

enum gw_status
web_alert_ack(struct gw *gw, const char *order_id, int seq, const char *by, const char *note,
    cJSON **out, struct gw_err *err)
{
	struct tl_row r;
	cJSON *d, *stage, *j;
	char *text;
	char st[GW_WORD_MAX] = "";
	int64_t now = clock_wall(gw->clock);
	int rc;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	if ((rc = store_tl_get(gw->store, order_id, seq, &r)) == 1 &&
	    strcmp(r.e.kind, "warning") != 0 && strcmp(r.e.kind, "breach") != 0)
		rc = 0;
	if (rc == 0) {
		err->status = GW_E_NOTFOUND;
		snprintf(err->field, sizeof(err->field), "seq");
		snprintf(err->msg, sizeof(err->msg), "seq: order %s has no warning or breach %d",
		    order_id, seq);
		return err->status;
	}
	if (rc == 1 && (rc = store_alert_acked(gw->store, order_id, seq)) == 1) {
		err->status = GW_E_CONFLICT;
		snprintf(err->field, sizeof(err->field), "seq");
		snprintf(err->msg, sizeof(err->msg), "seq: the %s %d of %s is acknowledged "
		    "already", r.e.kind, seq, order_id);
		return err->status;
	}
	if (rc == -1)
		goto store;
	d = cJSON_Parse(r.e.detail);
	stage = cJSON_GetObjectItemCaseSensitive(d, "stage");
	if (cJSON_IsString(stage))
		snprintf(st, sizeof(st), "%s", stage->valuestring);
	cJSON_Delete(d);
	if ((j = cJSON_CreateObject()) == NULL)
		goto oom;
	cJSON_AddNumberToObject(j, "seq", seq);
	cJSON_AddStringToObject(j, "kind", r.e.kind);
	cJSON_AddStringToObject(j, "stage", st);
	cJSON_AddStringToObject(j, "by", by);
	cJSON_AddStringToObject(j, "note", note);
	text = pj_print(j);
	cJSON_Delete(j);
	if (text == NULL)
		goto oom;
	if (store_begin(gw->store) == -1 ||
	    store_tl_append(gw->store, order_id, "alert_ack", now, now, by, text, NULL) == -1 ||
	    store_commit(gw->store) == -1) {
		cJSON_free(text);
		store_rollback(gw->store);
		goto store;
	}
	cJSON_free(text);
	log_info("order %s: %s %d (%s) acknowledged by %s", order_id, r.e.kind, seq, st, by);
	if ((*out = cJSON_CreateObject()) == NULL)
		goto oom;
	cJSON_AddStringToObject(*out, "order_id", order_id);
	cJSON_AddNumberToObject(*out, "seq", seq);
	cJSON_AddStringToObject(*out, "kind", r.e.kind);
	cJSON_AddStringToObject(*out, "stage", st);
	return GW_OK;
store:
	err->status = GW_E_STORE;
	snprintf(err->msg, sizeof(err->msg), "the store cannot write; nothing was acknowledged");
	return err->status;
oom:
	err->status = GW_E_STORE;
	snprintf(err->msg, sizeof(err->msg), "out of memory");
	return err->status;
}
