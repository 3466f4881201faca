/*
 * live.c: the web board's live stream, GET /api/v1/stream (README "Live
 * stream"), as Server-Sent Events on libmicrohttpd in our loop.
 *
 * The database is the replay buffer. Every timeline entry has a global id
 * (the timeline's rowid; the gateway is the only writer, so ids grow by one in
 * commit order), and each client is a cursor over those ids: when MHD asks for
 * bytes, the client's buffer is refilled from the entries after its cursor
 * (LIVE_BATCH at a time, at most LIVE_BUF_MAX bytes), each with the order's
 * current brief. A client with nothing to send is suspended
 * (MHD_suspend_connection); a loop prepare hook compares the store's commit
 * counter with the one it saw last and, LIVE_COALESCE_MS after a change, resumes
 * every suspended client, so a burst of commits wakes them once. Crews are
 * diffed against the last snapshot at most once per LIVE_CREW_MS (only while
 * someone listens) and sent as "crew" events; a ": ping" comment goes out every
 * LIVE_PING_MS. A resume point further back than stream_replay_max entries (or
 * ahead of the newest) gets a "reset" event: the page reloads its snapshot. A
 * client that falls that far behind while connected is ended; its browser
 * reconnects with Last-Event-ID and is reset. A client that stops reading
 * altogether is closed by MHD's connection timeout (its socket never drains,
 * so nothing more is read from the database for it).
 *
 * It does not authenticate (http.c does, before live_response) and decides
 * nothing about orders: it only reads the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cJSON.h>
#include <microhttpd.h>

#include "gateway.h"
#include "grow.h"
#include "log.h"

#define LIVE_BUF_START		(16 * 1024)
#define LIVE_BLOCK		(16 * 1024)	/* bytes MHD asks for at most per call */

struct client {
	struct gw_live	       *lv;
	struct MHD_Connection  *conn;
	struct token		tok;
	int64_t			cursor;		/* last timeline id passed on */
	int64_t			resume;		/* -1: none given */
	uint64_t		crew_gen;	/* crew changes up to this are sent */
	int			hello_sent;
	int			suspended;
	int			ping_due;
	int			ended;		/* fell too far behind: end after the buffer */
	char		       *buf;
	size_t			len, off, cap;
	struct client	       *next, *prev;
};

struct crew_slot {
	char		id[GW_CREW_MAX];
	char	       *json;
	uint64_t	gen;
};

struct gw_live {
	struct gw	       *gw;
	struct client	       *clients;
	int			n;
	uint64_t		commits;	/* store_commits() seen last */
	int			crews_dirty;	/* something committed since the last diff */
	int64_t			crew_checked;	/* monotonic ms of the last diff */
	struct crew_slot       *crews;
	size_t			ncrews, crewcap;
	uint64_t		crew_gen;
	struct loop_timer	kick, ping;
	int			shutting;
};

size_t
live_frame(char *dst, size_t cap, int64_t id, const char *event, const char *data)
{
	size_t n = 0;
	int w;
	const char *p = data, *nl;

	if (cap == 0)
		return 0;
	if (event == NULL && id < 0) {
		w = snprintf(dst, cap, ": %s\n\n", data);
		return w < 0 || (size_t)w >= cap ? 0 : (size_t)w;
	}
	if (id >= 0) {
		w = snprintf(dst + n, cap - n, "id: %lld\n", (long long)id);
		if (w < 0 || (size_t)w >= cap - n)
			return 0;
		n += (size_t)w;
	}
	if (event != NULL) {
		w = snprintf(dst + n, cap - n, "event: %s\n", event);
		if (w < 0 || (size_t)w >= cap - n)
			return 0;
		n += (size_t)w;
	}
	/* A raw newline would end the field: one data line per line. */
	for (;;) {
		size_t k;

		nl = strchr(p, '\n');
		k = nl ? (size_t)(nl - p) : strlen(p);
		if (n + 6 + k + 1 >= cap)
			return 0;
		memcpy(dst + n, "data: ", 6);
		n += 6;
		memcpy(dst + n, p, k);
		n += k;
		dst[n++] = '\n';
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (n + 1 >= cap)
		return 0;
	dst[n++] = '\n';
	dst[n] = '\0';
	return n;
}

/* Append one event to c's buffer. 0, or -1 when it would pass LIVE_BUF_MAX or
 * memory is short (the event is not sent: the cursor must not pass it). */
static int
append(struct client *c, int64_t id, const char *event, const char *data)
{
	size_t need = strlen(data) + 64, k;

	for (const char *p = data; (p = strchr(p, '\n')) != NULL; p++)
		need += 8;
	if (c->len + need + 1 > c->cap) {
		size_t ncap = c->cap ? c->cap : LIVE_BUF_START;
		char *nb;

		while (ncap < c->len + need + 1)
			ncap *= 2;
		if (ncap > LIVE_BUF_MAX) {
			if (c->len + need + 1 > LIVE_BUF_MAX)
				return -1;
			ncap = LIVE_BUF_MAX;
		}
		if ((nb = realloc(c->buf, ncap)) == NULL)
			return -1;
		c->buf = nb;
		c->cap = ncap;
	}
	if ((k = live_frame(c->buf + c->len, c->cap - c->len, id, event, data)) == 0)
		return -1;
	c->len += k;
	return 0;
}

static int
append_json(struct client *c, int64_t id, const char *event, cJSON *j)
{
	char *text = j ? pj_print(j) : NULL;
	int rc;

	cJSON_Delete(j);
	if (text == NULL)
		return -1;
	rc = append(c, id, event, text);
	cJSON_free(text);
	return rc;
}

/* ---- filling a client's buffer from the store ---- */

struct fill {
	struct client  *c;
	struct order   *o;
	int		rows, full, err;
};

static int
fill_entry(const struct tl_row *r, void *arg)
{
	struct fill *f = arg;
	struct client *c = f->c;
	struct gw *gw = c->lv->gw;
	cJSON *j, *detail, *brief = NULL;
	int rc;

	f->rows++;
	if (c->len > LIVE_BUF_MAX / 2) {
		f->full = 1;
		return 1;
	}
	if ((rc = store_order_get(gw->store, r->order_id, f->o)) == -1) {
		f->err = 1;
		return 1;
	}
	if (strcmp(c->tok.role, "department") == 0 &&
	    (rc == 0 || strcmp(f->o->dept, c->tok.dept) != 0)) {
		c->cursor = r->id;	/* not theirs: passed over */
		return 0;
	}
	if ((j = cJSON_CreateObject()) == NULL) {
		f->err = 1;
		return 1;
	}
	cJSON_AddNumberToObject(j, "id", (double)r->id);
	cJSON_AddStringToObject(j, "order_id", r->order_id);
	cJSON_AddNumberToObject(j, "seq", r->e.seq);
	cJSON_AddStringToObject(j, "kind", r->e.kind);
	cJSON_AddNumberToObject(j, "at_ms", (double)r->e.at_ms);
	cJSON_AddNumberToObject(j, "rx_ms", (double)r->e.rx_ms);
	cJSON_AddStringToObject(j, "actor", r->e.actor);
	if ((detail = cJSON_Parse(r->e.detail)) == NULL)
		detail = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "detail", detail);
	if (rc == 1)
		brief = http_order_brief(gw, f->o, &c->tok);
	if (brief != NULL)
		cJSON_AddItemToObject(j, "order", brief);
	else
		cJSON_AddNullToObject(j, "order");
	if (append_json(c, r->id, "timeline", j) == -1) {
		f->full = 1;	/* retried on the next refill, from this entry */
		return 1;
	}
	c->cursor = r->id;
	return 0;
}

static int
fill_hello(struct client *c)
{
	struct gw_live *lv = c->lv;
	int64_t head = store_tl_last_id(lv->gw->store);
	const char *reset = NULL;
	cJSON *j;

	if (head < 0)
		return -1;
	c->cursor = head;
	if (c->resume > head)
		reset = "unknown_id";	/* another database, or a restored backup */
	else if (c->resume >= 0 && head - c->resume > lv->gw->conf->stream_replay_max)
		reset = "too_old";
	else if (c->resume >= 0)
		c->cursor = c->resume;
	if ((j = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddNumberToObject(j, "last_id", (double)head);
	if (c->resume >= 0 && reset == NULL)
		cJSON_AddNumberToObject(j, "resume_from", (double)c->resume);
	else
		cJSON_AddNullToObject(j, "resume_from");
	cJSON_AddNumberToObject(j, "now_ms", (double)clock_wall(lv->gw->clock));
	cJSON_AddStringToObject(j, "role", c->tok.role);
	if (append_json(c, -1, "hello", j) == -1)
		return -1;
	if (reset != NULL) {
		if ((j = cJSON_CreateObject()) == NULL)
			return -1;
		cJSON_AddStringToObject(j, "reason", reset);
		if (append_json(c, -1, "reset", j) == -1)
			return -1;
		log_info("live: stream of %s resumed at %lld, newest %lld: reset (%s)",
		    c->tok.name, (long long)c->resume, (long long)head, reset);
	}
	c->hello_sent = 1;
	return 0;
}

/* Refill c's empty buffer. 0, or -1 to end the stream (store error, OOM). */
static int
fill(struct client *c)
{
	struct gw_live *lv = c->lv;
	struct fill f = { .c = c };
	int64_t head;

	/* Writes of this loop pass not yet committed (group commit, store.c) are
	 * visible to our own connection but may still roll back and their ids be
	 * reused: read nothing until the group ends (its commit wakes us). */
	if (store_group_pending(lv->gw->store))
		return 0;
	if (!c->hello_sent && fill_hello(c) == -1)
		return -1;
	if ((f.o = malloc(sizeof(*f.o))) == NULL)
		return -1;
	if (store_tl_after(lv->gw->store, c->cursor, LIVE_BATCH, fill_entry, &f) == -1)
		f.err = 1;
	free(f.o);
	if (f.err)
		return -1;
	if (f.rows >= LIVE_BATCH || f.full) {
		/* Behind: is it too far to catch up? */
		if ((head = store_tl_last_id(lv->gw->store)) < 0)
			return -1;
		if (head - c->cursor > lv->gw->conf->stream_replay_max && !c->ended) {
			log_warnx("live: stream of %s is %lld entries behind: ended (it "
			    "resumes with a reset)", c->tok.name, (long long)(head - c->cursor));
			c->ended = 1;
		}
	}
	for (size_t i = 0; i < lv->ncrews; i++) {
		if (lv->crews[i].gen <= c->crew_gen || lv->crews[i].json == NULL)
			continue;
		if (append(c, -1, "crew", lv->crews[i].json) == -1)
			return 0;	/* the rest next time */
	}
	c->crew_gen = lv->crew_gen;
	if (c->ping_due && c->len == 0)
		append(c, -1, NULL, "ping");
	c->ping_due = 0;
	return 0;
}

static ssize_t
reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct client *c = cls;
	size_t n;

	(void)pos;
	if (c->off == c->len) {
		c->off = c->len = 0;
		if (!c->lv->shutting && !c->ended && fill(c) == -1) {
			log_warnx("live: stream of %s ended: the store cannot be read",
			    c->tok.name);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
	if (c->off < c->len) {
		n = c->len - c->off < max ? c->len - c->off : max;
		memcpy(out, c->buf + c->off, n);
		c->off += n;
		return (ssize_t)n;
	}
	if (c->lv->shutting || c->ended)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* Nothing to say: sleep until a commit, a crew change or the ping. */
	c->suspended = 1;
	MHD_suspend_connection(c->conn);
	return 0;
}

static void
client_free(void *cls)
{
	struct client *c = cls;
	struct gw_live *lv = c->lv;

	if (c->prev)
		c->prev->next = c->next;
	else
		lv->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	lv->n--;
	log_debug("live: stream of %s closed (%d open)", c->tok.name, lv->n);
	free(c->buf);
	free(c);
}

struct MHD_Response *
live_response(struct gw_live *lv, struct MHD_Connection *conn, const struct token *tok,
    int64_t after)
{
	struct MHD_Response *r;
	struct client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->lv = lv;
	c->conn = conn;
	c->tok = *tok;
	c->resume = after;
	c->crew_gen = lv->crew_gen;
	if ((r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, LIVE_BLOCK, reader, c,
	    client_free)) == NULL) {
		free(c);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; "
	    "charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	c->next = lv->clients;
	if (lv->clients)
		lv->clients->prev = c;
	lv->clients = c;
	lv->n++;
	log_debug("live: stream for %s (role %s) after %lld (%d open)", tok->name, tok->role,
	    (long long)after, lv->n);
	return r;
}

int
live_clients(const struct gw_live *lv)
{
	return lv ? lv->n : 0;
}

/* ---- waking the clients ---- */

static void
resume_all(struct gw_live *lv)
{
	int resumed = 0;

	for (struct client *c = lv->clients; c != NULL; c = c->next)
		if (c->suspended) {
			c->suspended = 0;
			MHD_resume_connection(c->conn);
			resumed++;
		}
	if (resumed && !lv->shutting)
		http_resumed(lv->gw->http);
}

struct crew_diff {
	struct gw_live *lv;
	size_t		next;		/* the slot the next crew most likely has */
	int		oom;
};

static int
crew_seen(const struct crew *cr, const struct device *d, int open_orders, void *arg)
{
	struct crew_diff *cd = arg;
	struct gw_live *lv = cd->lv;
	cJSON *j = http_crew_item(cr, d, open_orders);
	char *text = j ? pj_print(j) : NULL;
	size_t i;

	cJSON_Delete(j);
	if (text == NULL) {
		cd->oom = 1;
		return 1;
	}
	/* The store lists crews in the same order every time and slots are
	 * added in that order, so the slot after the last one matched is the
	 * likely one: a diff is linear in the crews, not quadratic. */
	i = cd->next;
	if (i >= lv->ncrews || strcmp(lv->crews[i].id, cr->id) != 0)
		for (i = 0; i < lv->ncrews; i++)
			if (strcmp(lv->crews[i].id, cr->id) == 0)
				break;
	cd->next = i + 1;
	if (i == lv->ncrews) {
		if (grow(&lv->crews, &lv->crewcap, lv->ncrews + 1, sizeof(*lv->crews), 64) == -1) {
			cJSON_free(text);
			cd->oom = 1;
			return 1;
		}
		memset(&lv->crews[i], 0, sizeof(lv->crews[i]));
		snprintf(lv->crews[i].id, sizeof(lv->crews[i].id), "%s", cr->id);
		lv->ncrews++;
	}
	if (lv->crews[i].json != NULL && strcmp(lv->crews[i].json, text) == 0) {
		cJSON_free(text);
		return 0;
	}
	cJSON_free(lv->crews[i].json);
	lv->crews[i].json = text;
	lv->crews[i].gen = ++lv->crew_gen;
	return 0;
}

static void
kick_cb(void *arg)
{
	struct gw_live *lv = arg;
	struct loop *l = lv->gw->loop;
	int64_t now = loop_now(l);

	if (lv->crews_dirty && lv->n > 0) {
		if (now - lv->crew_checked >= LIVE_CREW_MS) {
			struct crew_diff cd = { .lv = lv };

			if (store_crew_list(lv->gw->store, crew_seen, &cd) == -1 || cd.oom)
				log_warnx("live: crews could not be read; retried on the next "
				    "change");
			lv->crew_checked = now;
			lv->crews_dirty = 0;
		} else
			loop_timer_start(l, &lv->kick, LIVE_CREW_MS - (now - lv->crew_checked), 0);
	}
	resume_all(lv);
}

static void
ping_cb(void *arg)
{
	struct gw_live *lv = arg;

	for (struct client *c = lv->clients; c != NULL; c = c->next)
		c->ping_due = 1;
	resume_all(lv);
}

static void
prepare_cb(void *arg)
{
	struct gw_live *lv = arg;
	uint64_t n = store_commits(lv->gw->store);

	if (n == lv->commits)
		return;
	lv->commits = n;
	lv->crews_dirty = 1;
	if (lv->n > 0 && !loop_timer_armed(&lv->kick))
		loop_timer_start(lv->gw->loop, &lv->kick, LIVE_COALESCE_MS, 0);
}

struct gw_live *
live_start(struct gw *gw)
{
	struct gw_live *lv;

	if ((lv = calloc(1, sizeof(*lv))) == NULL)
		return NULL;
	lv->gw = gw;
	lv->commits = store_commits(gw->store);
	loop_timer_init(&lv->kick, kick_cb, lv);
	loop_timer_init(&lv->ping, ping_cb, lv);
	if (loop_prepare_add(gw->loop, prepare_cb, lv) == -1) {
		free(lv);
		return NULL;
	}
	loop_timer_start(gw->loop, &lv->ping, LIVE_PING_MS, LIVE_PING_MS);
	return lv;
}

void
live_shutdown(struct gw_live *lv)
{
	if (lv == NULL)
		return;
	lv->shutting = 1;
	loop_timer_stop(lv->gw->loop, &lv->kick);
	loop_timer_stop(lv->gw->loop, &lv->ping);
	loop_prepare_del(lv->gw->loop, prepare_cb, lv);
	resume_all(lv);
}

void
live_free(struct gw_live *lv)
{
	if (lv == NULL)
		return;
	/* MHD_stop_daemon freed every client through client_free. */
	for (size_t i = 0; i < lv->ncrews; i++)
		cJSON_free(lv->crews[i].json);
	free(lv->crews);
	free(lv);
}
