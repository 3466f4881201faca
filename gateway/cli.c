/*
 * cli.c: `linecrew`, the command line of agents, supervisors and dispatchers.
 *
 * It talks only to the gateway's HTTP API (never to its database), so it works
 * the same against a gateway on this host or across the network. The HTTP
 * client here is deliberately minimal: HTTP/1.1, one request per connection
 * ("Connection: close"), bodies capped at CLI_BODY_MAX. Output is for people
 * (times in Asia/Shanghai) unless --json is given, which prints the gateway's
 * JSON unchanged for scripts.
 *
 * Exit status: 0 done, 1 the gateway refused (4xx/5xx; its message is printed),
 * 2 usage error or the gateway is unreachable.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "clock.h"
#include "gateway.h"

#define CLI_BODY_MAX		(4 * 1024 * 1024)	/* bytes of one answer */
#define CLI_TIMEOUT_MS		10000			/* per request */
#define CLI_WATCH_POLL_MS	250
#define CLI_DEFAULT_URL		"http://127.0.0.1:8595"

struct cli {
	char	host[256];
	char	port[16];
	int	json;		/* print raw JSON */
	char	token[128];	/* API token (--token or $LINECREW_TOKEN), "" = none */
};

struct resp {
	int	 status;
	char	*body;		/* NUL-terminated, malloc'd */
	size_t	 len;
};

static void
usage(void)
{
	fprintf(stderr,
"usage: linecrew [-u URL] [--token TOKEN] [--json] COMMAND ...\n"
"  health\n"
"  crew add ID --device DEV [--name NAME] [--branch BRANCH]\n"
"  crew list\n"
"  order create [--type TYPE] --category N --address TEXT [--site LAT,LON]\n"
"               [--crs wgs84|gcj02|bd09] [--customer NAME] [--phone NUMBER]\n"
"               [--summary TEXT] [--radius M] [--arrears]\n"
"  order show ID\n"
"  order list [--all]\n"
"  review ID --dispatch CREW\n"
"  review ID --forward DEPARTMENT                       (non-repair types)\n"
"  review ID --decline duplicate|planned_outage|arrears|customer_internal\n"
"               [--duplicate-of ID] [--note TEXT]\n"
"  result ID --text TEXT [--dept DEPARTMENT]            (a department's answer)\n"
"  outage add --name NAME --site LAT,LON --radius M --from TIME --to TIME [--note TEXT]\n"
"  outage list [--at TIME]\n"
"  archive TYPE --shift-ms MS\n"
"  report --from DATE --to DATE [--by type|category|zone|branch|crew|shift] [--csv]\n"
"               (DATE and TIME: YYYY-MM-DD [HH:MM] in Asia/Shanghai; --to is exclusive)\n"
"  callbacks\n"
"  callback ID --outcome restored_satisfied|restored_unsatisfied|not_restored|unreachable\n"
"               [--rating 1-5] [--note TEXT]\n"
"  watch ID [--until KIND] [--timeout SECONDS]\n"
"  candidates ID                          (also: review ID without an action)\n"
"  reassign ID --to CREW [--note TEXT]\n"
"  clusters [--radius M] [--window MINUTES]\n"
"  link ID DUPLICATE... [--note TEXT]\n"
"  map -o FILE.svg [--width PX] [--height PX]\n"
"URL defaults to $LINECREW_URL, else " CLI_DEFAULT_URL "; TOKEN to $LINECREW_TOKEN.\n"
"Local commands on the gateway's host (no API, no token):\n"
"  provision init --pki DIR\n"
"  provision device DEV --pki DIR [--mqtt-host H] [--mqtt-port P] [--days N] [--from-ms MS]\n"
"  provision revoke DEV --pki DIR\n"
"  provision broker --pki DIR --out DIR --port P --persist DIR [--bind ADDR]\n"
"               [--dev-plain-port P] [--max-queued N]\n"
"  provision list --pki DIR\n"
"  token add NAME --role agent|supervisor|dispatcher|department|admin [--dept D] --db FILE\n"
"  audit verify --db FILE --pki DIR\n");
	exit(2);
}

static int
parse_url(struct cli *c, const char *url)
{
	const char *p = url, *colon, *slash;
	size_t hl;

	if (strncmp(p, "http://", 7) != 0) {
		fprintf(stderr, "linecrew: %s: only http:// URLs are supported\n", url);
		return -1;
	}
	p += 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	hl = (size_t)((colon ? colon : slash) - p);
	if (hl == 0 || hl >= sizeof(c->host)) {
		fprintf(stderr, "linecrew: %s: bad host\n", url);
		return -1;
	}
	memcpy(c->host, p, hl);
	c->host[hl] = '\0';
	if (colon) {
		size_t pl = (size_t)(slash - colon - 1);

		if (pl == 0 || pl >= sizeof(c->port)) {
			fprintf(stderr, "linecrew: %s: bad port\n", url);
			return -1;
		}
		memcpy(c->port, colon + 1, pl);
		c->port[pl] = '\0';
	} else
		snprintf(c->port, sizeof(c->port), "80");
	return 0;
}

static int
dial(const struct cli *c)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(c->host, c->port, &hints, &res)) != 0) {
		fprintf(stderr, "linecrew: %s: %s\n", c->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "linecrew: cannot reach the gateway at %s:%s: %s\n",
		    c->host, c->port, strerror(errno));
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One request. Returns 0 with r filled (caller frees r->body), -1 on transport failure. */
static int
http(const struct cli *c, const char *method, const char *path, const char *body,
    struct resp *r)
{
	char head[1024], *buf = NULL, *hdr_end, *p;
	size_t cap = 0, len = 0, blen = body ? strlen(body) : 0;
	int fd, n;

	memset(r, 0, sizeof(*r));
	if ((fd = dial(c)) < 0)
		return -1;
	n = snprintf(head, sizeof(head),
	    "%s %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: linecrew-cli\r\n"
	    "Accept: application/json\r\nConnection: close\r\n%s%s%s"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    method, path, c->host, c->port, c->token[0] ? "Authorization: Bearer " : "",
	    c->token, c->token[0] ? "\r\n" : "", blen);
	if (n < 0 || (size_t)n >= sizeof(head) || write_all(fd, head, (size_t)n) == -1 ||
	    (blen && write_all(fd, body, blen) == -1)) {
		fprintf(stderr, "linecrew: sending request: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t rd;

		if (len + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 16384;
			if (cap > CLI_BODY_MAX + 8192) {
				fprintf(stderr, "linecrew: answer larger than %d bytes\n",
				    CLI_BODY_MAX);
				goto fail;
			}
			if ((nb = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nb;
		}
		if (poll(&pfd, 1, CLI_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "linecrew: the gateway did not answer within %d s\n",
			    CLI_TIMEOUT_MS / 1000);
			goto fail;
		}
		rd = read(fd, buf + len, cap - len - 1);
		if (rd < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "linecrew: reading answer: %s\n", strerror(errno));
			goto fail;
		}
		if (rd == 0)
			break;
		len += (size_t)rd;
	}
	close(fd);
	fd = -1;
	if (buf == NULL)
		goto bad;
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
		goto bad;
	if ((hdr_end = strstr(buf, "\r\n\r\n")) == NULL)
		goto bad;
	p = hdr_end + 4;
	r->len = len - (size_t)(p - buf);
	memmove(buf, p, r->len + 1);
	r->body = buf;
	return 0;
bad:
	fprintf(stderr, "linecrew: malformed HTTP answer from the gateway\n");
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return -1;
}

/* Request and parse; prints the gateway's error and exits 1 on >= 400. */
static cJSON *
call(const struct cli *c, const char *method, const char *path, cJSON *body)
{
	struct resp r;
	char *txt = body ? pj_print(body) : NULL;
	cJSON *j;
	int rc = http(c, method, path, txt, &r);

	free(txt);
	if (rc == -1)
		exit(2);
	j = cJSON_Parse(r.body);
	if (r.status >= 400) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");

		fprintf(stderr, "linecrew: %d: %s\n", r.status,
		    cJSON_IsString(m) ? m->valuestring : r.body);
		free(r.body);
		cJSON_Delete(j);
		exit(1);
	}
	if (j == NULL) {
		fprintf(stderr, "linecrew: the gateway sent invalid JSON\n");
		free(r.body);
		exit(2);
	}
	if (c->json) {
		char *out = cJSON_Print(j);

		puts(out);
		free(out);
	}
	free(r.body);
	return j;
}

/* ---- reading answers ---- */

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t
jms(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static const char *
tloc(int64_t ms, char *buf, size_t cap)
{
	if (ms <= 0)
		return "-";
	return clock_fmt_local(ms, buf, cap);
}

static const char *
thms(int64_t ms, char *buf, size_t cap)
{
	if (ms <= 0)
		return "--:--:--";
	return clock_fmt_hms(ms, buf, cap);
}

static const cJSON *
sla_stage(const cJSON *order, const char *stage)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(order, "sla")) {
		const char *n = jstr(s, "stage");

		if (n && !strcmp(n, stage))
			return s;
	}
	return NULL;
}

static void
print_sla(const cJSON *order)
{
	const cJSON *s;
	char b1[CLOCK_FMT_MAX], b2[CLOCK_FMT_MAX];

	printf("  %-11s %-28s %-28s %s\n", "stage", "due", "done", "verdict");
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(order, "sla")) {
		const char *v = jstr(s, "verdict");

		printf("  %-11s %-28s %-28s %s%s%s\n", jstr(s, "stage") ? jstr(s, "stage") : "?",
		    tloc(jms(s, "due_ms"), b1, sizeof(b1)),
		    tloc(jms(s, "done_ms"), b2, sizeof(b2)), v ? v : "?",
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "late_evidence")) ?
		    " (late evidence)" : "",
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "warned")) &&
		    v && !strcmp(v, "pending") ? " (warned)" : "");
	}
}

/* One timeline entry as a sentence a newcomer can follow. */
static void
print_entry(const cJSON *order, const cJSON *e)
{
	const char *kind = jstr(e, "kind"), *actor = jstr(e, "actor");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "detail");
	char t[CLOCK_FMT_MAX], b[CLOCK_FMT_MAX], line[1024];
	int64_t at = jms(e, "at_ms");

	if (kind == NULL)
		kind = "?";
	line[0] = '\0';
	if (!strcmp(kind, "recorded")) {
		snprintf(line, sizeof(line), "agent recorded %s at %s (%s zone%s%s)",
		    jstr(order, "category_name") ? jstr(order, "category_name") : "a fault",
		    jstr(order, "address") ? jstr(order, "address") : "?",
		    jstr(order, "zone") ? jstr(order, "zone") : "?",
		    jstr(order, "zone_name") ? ": " : "",
		    jstr(order, "zone_name") ? jstr(order, "zone_name") : "");
	} else if (!strcmp(kind, "dispatched")) {
		const cJSON *a = sla_stage(order, "arrival");

		snprintf(line, sizeof(line),
		    "supervisor reviewed it and dispatched crew %s (device %s); arrive by %s",
		    jstr(order, "crew") ? jstr(order, "crew") : "?",
		    jstr(order, "device") ? jstr(order, "device") : "?",
		    thms(a ? jms(a, "due_ms") : 0, b, sizeof(b)));
	} else if (!strcmp(kind, "declined")) {
		snprintf(line, sizeof(line), "supervisor declined it: %s",
		    jstr(order, "decline_reason") ? jstr(order, "decline_reason") : "?");
	} else if (!strcmp(kind, "delivered")) {
		int64_t ack = jms(order, "delivered_ms") - jms(order, "dispatched_ms");

		if (ack < 1000)
			snprintf(line, sizeof(line), "the crew's device stored the order and "
			    "acknowledged it (%lld ms after dispatch)", (long long)ack);
		else
			snprintf(line, sizeof(line), "the crew's device stored the order and "
			    "acknowledged it (%.1f s after dispatch)", (double)ack / 1000.0);
	} else if (!strcmp(kind, "accepted")) {
		snprintf(line, sizeof(line), "the crew accepted and is on the way");
	} else if (!strcmp(kind, "arrived")) {
		const cJSON *a = sla_stage(order, "arrival");
		const char *method = jstr(order, "arrive_method");
		double mins = (double)(jms(order, "arrived_ms") - jms(order, "dispatched_ms")) /
		    60000.0;

		char ev[160] = "";
		const cJSON *tr = cJSON_GetObjectItemCaseSensitive(d, "track");
		const cJSON *dm = cJSON_GetObjectItemCaseSensitive(d, "dist_m");

		if (cJSON_IsNumber(dm))
			snprintf(ev, sizeof(ev), "; evidence: %.0f m from site after %.0f s inside, "
			    "%d fixes", dm->valuedouble, (double)jms(d, "dwell_ms") / 1000.0,
			    cJSON_GetArraySize(tr));
		snprintf(line, sizeof(line),
		    "crew arrived on site (%s): %s zone, %.1f min after dispatch, limit %d min -> %s%s",
		    method && !strcmp(method, "gps") ? "detected by GPS" : "declared by hand, unverified",
		    jstr(order, "zone") ? jstr(order, "zone") : "?", mins,
		    a ? (int)jms(a, "limit_min") : 0,
		    a && jstr(a, "verdict") && !strcmp(jstr(a, "verdict"), "met") ? "ON TIME" :
		    "LATE", ev);
	} else if (!strcmp(kind, "completed")) {
		const cJSON *s = sla_stage(order, "completion");

		snprintf(line, sizeof(line), "crew reported the repair done -> completion %s",
		    s && jstr(s, "verdict") ? jstr(s, "verdict") : "?");
	} else if (!strcmp(kind, "callback_due")) {
		snprintf(line, sizeof(line), "callback opened for a 95598 agent, due by %s",
		    thms(jms(order, "callback_due_ms"), b, sizeof(b)));
	} else if (!strcmp(kind, "callback")) {
		snprintf(line, sizeof(line), "agent called the customer back: %s",
		    jstr(order, "callback_outcome") ? jstr(order, "callback_outcome") : "?");
	}
	if (line[0] == '\0') {
		char *dj = d ? pj_print(d) : NULL;

		snprintf(line, sizeof(line), "%s%s", dj ? dj : "", "");
		free(dj);
	}
	printf("  %s  %-12s %-10s %s\n", thms(at, t, sizeof(t)), kind,
	    actor ? actor : "", line);
	fflush(stdout);
}

static void
print_order(const cJSON *o)
{
	const cJSON *e, *site = cJSON_GetObjectItemCaseSensitive(o, "site");
	const cJSON *delay = cJSON_GetObjectItemCaseSensitive(o, "delay");
	char b[CLOCK_FMT_MAX];

	printf("%s  %s  [%s]\n", jstr(o, "id") ? jstr(o, "id") : "?",
	    jstr(o, "category_name") ? jstr(o, "category_name") : "",
	    jstr(o, "state") ? jstr(o, "state") : "?");
	printf("  type      %s %s, category %d, profile %s%s%s\n",
	    jstr(o, "type") ? jstr(o, "type") : "?", jstr(o, "type_name") ? jstr(o, "type_name") : "",
	    (int)jms(o, "category"), jstr(o, "profile") ? jstr(o, "profile") : "?",
	    jstr(o, "grade") ? ", grade " : "", jstr(o, "grade") ? jstr(o, "grade") : "");
	printf("  address   %s\n", jstr(o, "address") ? jstr(o, "address") : "");
	if (jstr(o, "dept"))
		printf("  dept      %s, result due %s\n", jstr(o, "dept"),
		    tloc(jms(o, "handle_due_ms"), b, sizeof(b)));
	if (jms(o, "delay_requested_ms"))
		printf("  FLAGGED   completion limit passed without a delay reason (asked %s)\n",
		    tloc(jms(o, "delay_requested_ms"), b, sizeof(b)));
	if (site && jstr(o, "type") && !strcmp(jstr(o, "type"), "repair"))
		printf("  site      %.6f, %.6f (WGS-84), zone %s %s\n",
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(site, "lat")),
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(site, "lon")),
		    jstr(o, "zone") ? jstr(o, "zone") : "?",
		    jstr(o, "zone_name") ? jstr(o, "zone_name") : "");
	printf("  customer  %s  %s\n", jstr(o, "customer") ? jstr(o, "customer") : "",
	    jstr(o, "phone") ? jstr(o, "phone") : "");
	if (jstr(o, "crew"))
		printf("  crew      %s (device %s)\n", jstr(o, "crew"),
		    jstr(o, "device") ? jstr(o, "device") : "?");
	printf("  recorded  %s\n", tloc(jms(o, "created_ms"), b, sizeof(b)));
	if (cJSON_IsObject(delay))
		printf("  delay     %s: %s (new finish %s)\n",
		    jstr(delay, "reason") ? jstr(delay, "reason") : "?",
		    jstr(delay, "text") ? jstr(delay, "text") : "",
		    tloc(jms(delay, "eta_ms"), b, sizeof(b)));
	printf(" SLA\n");
	print_sla(o);
	printf(" timeline\n");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "timeline"))
		print_entry(o, e);
}

static void
print_list(const cJSON *arr, const char *due_key)
{
	const cJSON *o;
	char b[CLOCK_FMT_MAX];
	int n = 0;

	printf("%-18s %-10s %-7s %-12s %-28s %s\n", "order", "state", "zone", "crew",
	    due_key[0] == 'c' ? "callback due" : "next deadline", "address");
	cJSON_ArrayForEach(o, arr) {
		printf("%-18s %-10s %-7s %-12s %-28s %s\n", jstr(o, "id") ? jstr(o, "id") : "?",
		    jstr(o, "state") ? jstr(o, "state") : "?",
		    jstr(o, "zone") ? jstr(o, "zone") : "?",
		    jstr(o, "crew") ? jstr(o, "crew") : "-",
		    tloc(jms(o, due_key), b, sizeof(b)),
		    jstr(o, "address") ? jstr(o, "address") : "");
		n++;
	}
	printf("(%d)\n", n);
}

/* ---- option parsing for subcommands: --key value pairs ---- */

static const char *
opt(int argc, char **argv, const char *name)
{
	int i;

	for (i = 0; i < argc; i++)
		if (!strcmp(argv[i], name)) {
			if (i + 1 >= argc) {
				fprintf(stderr, "linecrew: %s needs a value\n", name);
				exit(2);
			}
			return argv[i + 1];
		}
	return NULL;
}

static int
flag(int argc, char **argv, const char *name)
{
	int i;

	for (i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

static long
num(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "linecrew: %s: \"%s\" is not a number in [%ld, %ld]\n",
		    what, s, min, max);
		exit(2);
	}
	return v;
}

static const char *
need(int argc, char **argv, const char *name)
{
	const char *v = opt(argc, argv, name);

	if (v == NULL) {
		fprintf(stderr, "linecrew: %s is required\n", name);
		exit(2);
	}
	return v;
}

static int
id_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.:-", s[i]))
			return 0;
	return 1;
}

static const char *
idarg(int argc, char **argv, int i)
{
	if (i >= argc || !id_ok(argv[i])) {
		fprintf(stderr, "linecrew: expected an id, got \"%s\"\n", i < argc ? argv[i] : "");
		exit(2);
	}
	return argv[i];
}

static int
cmd_order_create(const struct cli *c, int argc, char **argv)
{
	cJSON *b = cJSON_CreateObject(), *site, *r;
	const char *s = opt(argc, argv, "--site"), *v;
	double lat, lon;
	char *end;

	if ((v = opt(argc, argv, "--type")))
		cJSON_AddStringToObject(b, "type", v);
	cJSON_AddNumberToObject(b, "category", (double)num(need(argc, argv, "--category"),
	    "--category", 1, 44));
	cJSON_AddStringToObject(b, "address", need(argc, argv, "--address"));
	if (flag(argc, argv, "--arrears"))
		cJSON_AddTrueToObject(b, "arrears");
	if (s == NULL)
		goto nosite;
	lat = strtod(s, &end);
	if (end == s || *end != ',') {
		fprintf(stderr, "linecrew: --site: expected LAT,LON, got \"%s\"\n", s);
		return 2;
	}
	s = end + 1;
	lon = strtod(s, &end);
	if (end == s || *end != '\0') {
		fprintf(stderr, "linecrew: --site: expected LAT,LON\n");
		return 2;
	}
	site = cJSON_AddObjectToObject(b, "site");
	cJSON_AddNumberToObject(site, "lat", lat);
	cJSON_AddNumberToObject(site, "lon", lon);
	cJSON_AddStringToObject(site, "crs", (v = opt(argc, argv, "--crs")) ? v : "wgs84");
nosite:
	if ((v = opt(argc, argv, "--customer")))
		cJSON_AddStringToObject(b, "customer", v);
	if ((v = opt(argc, argv, "--phone")))
		cJSON_AddStringToObject(b, "phone", v);
	if ((v = opt(argc, argv, "--summary")))
		cJSON_AddStringToObject(b, "summary", v);
	if ((v = opt(argc, argv, "--radius")))
		cJSON_AddNumberToObject(b, "radius_m", (double)num(v, "--radius", 1, 100000));
	r = call(c, "POST", "/api/v1/orders", b);
	if (!c->json)
		printf("%s\n", jstr(r, "id") ? jstr(r, "id") : "?");
	cJSON_Delete(b);
	cJSON_Delete(r);
	return 0;
}

/* ---- the board: which crew, reassignment, clusters, links, the map ---- */

static void
print_age(char *buf, size_t cap, const cJSON *v)
{
	double s;

	if (!cJSON_IsNumber(v)) {
		snprintf(buf, cap, "-");
		return;
	}
	s = v->valuedouble;
	if (s < 120)
		snprintf(buf, cap, "%.0f s", s);
	else if (s < 7200)
		snprintf(buf, cap, "%.0f min", s / 60);
	else
		snprintf(buf, cap, "%.1f h", s / 3600);
}

static int
cmd_candidates(const struct cli *c, int argc, char **argv)
{
	const char *id = idarg(argc, argv, 0);
	const cJSON *x, *v;
	char path[160], t[CLOCK_FMT_MAX], dist[32], eta[32], hi[32], age[32];
	cJSON *r;
	int i = 0;

	snprintf(path, sizeof(path), "/api/v1/orders/%s/candidates", id);
	r = call(c, "GET", path, NULL);
	if (c->json) {
		cJSON_Delete(r);
		return 0;
	}
	printf("order %s (%s, %s): arrival due %s (%s)", id, jstr(r, "zone") ? jstr(r, "zone") :
	    "?", jstr(r, "zone_name") ? jstr(r, "zone_name") : "", tloc(jms(r, "arrive_due_ms"),
	    t, sizeof(t)), jstr(r, "due_from") && !strcmp(jstr(r, "due_from"), "dispatch") ?
	    "from the dispatch" : "if dispatched now");
	if (jstr(r, "current_crew"))
		printf(", now with %s", jstr(r, "current_crew"));
	printf("\n%-3s %-14s %-10s %9s %8s %8s %8s  %s\n", "#", "crew", "state", "distance",
	    "eta", "eta-hi", "pos age", "reach");
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(r, "candidates")) {
		v = cJSON_GetObjectItemCaseSensitive(x, "dist_m");
		if (cJSON_IsNumber(v))
			snprintf(dist, sizeof(dist), "%.1f km", v->valuedouble / 1000);
		else
			snprintf(dist, sizeof(dist), "-");
		v = cJSON_GetObjectItemCaseSensitive(x, "eta_min");
		snprintf(eta, sizeof(eta), cJSON_IsNumber(v) ? "%.0f min" : "-",
		    cJSON_IsNumber(v) ? v->valuedouble : 0.0);
		v = cJSON_GetObjectItemCaseSensitive(x, "eta_hi_min");
		snprintf(hi, sizeof(hi), cJSON_IsNumber(v) ? "%.0f min" : "-",
		    cJSON_IsNumber(v) ? v->valuedouble : 0.0);
		print_age(age, sizeof(age), cJSON_GetObjectItemCaseSensitive(x, "pos_age_s"));
		printf("%-3d %-14s %-10s %9s %8s %8s %8s  %s\n", ++i,
		    jstr(x, "crew") ? jstr(x, "crew") : "?",
		    jstr(x, "state") ? jstr(x, "state") : "?", dist, eta, hi, age,
		    jstr(x, "reach") ? jstr(x, "reach") : "?");
	}
	if (i == 0)
		printf("    no crew on duty is free or finishing soon\n");
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(r, "excluded"))
		printf("    not ranked: %s (%s)\n", jstr(x, "crew") ? jstr(x, "crew") : "?",
		    jstr(x, "why") ? jstr(x, "why") : "?");
	cJSON_Delete(r);
	return 0;
}

static int
cmd_reassign(const struct cli *c, int argc, char **argv)
{
	const char *id = idarg(argc, argv, 0), *v;
	cJSON *b = cJSON_CreateObject(), *r;
	char path[160];

	cJSON_AddStringToObject(b, "crew", need(argc, argv, "--to"));
	if ((v = opt(argc, argv, "--note")))
		cJSON_AddStringToObject(b, "note", v);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/reassign", id);
	r = call(c, "POST", path, b);
	if (!c->json)
		printf("%s: %s, crew %s (device %s)\n", id, jstr(r, "state") ? jstr(r, "state") :
		    "?", jstr(r, "crew") ? jstr(r, "crew") : "?",
		    jstr(r, "device") ? jstr(r, "device") : "?");
	cJSON_Delete(b);
	cJSON_Delete(r);
	return 0;
}

static int
cmd_clusters(const struct cli *c, int argc, char **argv)
{
	const char *v;
	const cJSON *cl, *o, *d;
	char path[160], t[CLOCK_FMT_MAX];
	cJSON *r;
	int n = 0, w = 0;

	w = snprintf(path, sizeof(path), "/api/v1/clusters?");
	if ((v = opt(argc, argv, "--radius")))
		w += snprintf(path + w, sizeof(path) - (size_t)w, "radius_m=%ld&",
		    num(v, "--radius", 1, 100000));
	if ((v = opt(argc, argv, "--window")))
		snprintf(path + w, sizeof(path) - (size_t)w, "window_min=%ld",
		    num(v, "--window", 0, 10080));
	r = call(c, "GET", path, NULL);
	if (c->json) {
		cJSON_Delete(r);
		return 0;
	}
	printf("open repairs: %d; clusters within %.0f m and %d min:\n", (int)jms(r, "orders"),
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "radius_m")),
	    (int)jms(r, "window_min"));
	cJSON_ArrayForEach(cl, cJSON_GetObjectItemCaseSensitive(r, "clusters")) {
		printf("cluster %d: original %s\n", ++n, jstr(cl, "original") ?
		    jstr(cl, "original") : "?");
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(cl, "orders"))
			printf("    %-18s %-10s %s  %s\n", jstr(o, "id"), jstr(o, "state") ?
			    jstr(o, "state") : "?", tloc(jms(o, "created_ms"), t, sizeof(t)),
			    jstr(o, "address") ? jstr(o, "address") : "");
		d = cJSON_GetObjectItemCaseSensitive(cl, "duplicates");
		if (cJSON_GetArraySize(d) > 0) {
			printf("    link with: linecrew link %s", jstr(cl, "original"));
			cJSON_ArrayForEach(o, d)
				printf(" %s", cJSON_IsString(o) ? o->valuestring : "?");
			printf("\n");
		}
	}
	if (n == 0)
		printf("    none\n");
	printf("single reports: %d\n", (int)jms(r, "singles"));
	cJSON_Delete(r);
	return 0;
}

static int
cmd_link(const struct cli *c, int argc, char **argv)
{
	const char *id = idarg(argc, argv, 0), *v;
	cJSON *b = cJSON_CreateObject(), *arr, *r;
	char path[160];
	int i, n = 0;

	arr = cJSON_AddArrayToObject(b, "duplicates");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--note")) {
			i++;
			continue;
		}
		cJSON_AddItemToArray(arr, cJSON_CreateString(idarg(argc, argv, i)));
		n++;
	}
	if (n == 0)
		usage();
	if ((v = opt(argc, argv, "--note")))
		cJSON_AddStringToObject(b, "note", v);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/link", id);
	r = call(c, "POST", path, b);
	if (!c->json)
		printf("%s: %d duplicate(s) declined and linked\n", id, n);
	cJSON_Delete(b);
	cJSON_Delete(r);
	return 0;
}

static int
cmd_map(const struct cli *c, int argc, char **argv)
{
	const char *out = need(argc, argv, "-o"), *v;
	char path[160], tmp[PATH_MAX];
	struct resp r;
	FILE *f;
	int w;

	w = snprintf(path, sizeof(path), "/api/v1/map.svg?");
	if ((v = opt(argc, argv, "--width")))
		w += snprintf(path + w, sizeof(path) - (size_t)w, "width=%ld&",
		    num(v, "--width", 100, 4000));
	if ((v = opt(argc, argv, "--height")))
		snprintf(path + w, sizeof(path) - (size_t)w, "height=%ld",
		    num(v, "--height", 100, 4000));
	if (http(c, "GET", path, NULL, &r) == -1)
		return 2;
	if (r.status != 200) {
		cJSON *j = cJSON_Parse(r.body);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(j, "error"), "message");

		fprintf(stderr, "linecrew: %d: %s\n", r.status, cJSON_IsString(m) ?
		    m->valuestring : r.body);
		cJSON_Delete(j);
		free(r.body);
		return 1;
	}
	/* New file, then rename: a reader never sees half a map. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if ((f = fopen(tmp, "w")) == NULL || fwrite(r.body, 1, r.len, f) != r.len ||
	    fclose(f) != 0 || rename(tmp, out) == -1) {
		fprintf(stderr, "linecrew: %s: %s\n", out, strerror(errno));
		free(r.body);
		return 1;
	}
	printf("map written to %s (%zu bytes)\n", out, r.len);
	free(r.body);
	return 0;
}

static int
cmd_review(const struct cli *c, int argc, char **argv)
{
	const char *id = idarg(argc, argv, 0), *v;
	cJSON *b = cJSON_CreateObject(), *r;
	char path[160];

	if ((v = opt(argc, argv, "--dispatch"))) {
		cJSON_AddStringToObject(b, "action", "dispatch");
		cJSON_AddStringToObject(b, "crew", v);
	} else if ((v = opt(argc, argv, "--forward"))) {
		cJSON_AddStringToObject(b, "action", "forward");
		cJSON_AddStringToObject(b, "dept", v);
	} else if ((v = opt(argc, argv, "--decline"))) {
		cJSON_AddStringToObject(b, "action", "decline");
		cJSON_AddStringToObject(b, "reason", v);
		if ((v = opt(argc, argv, "--duplicate-of")))
			cJSON_AddStringToObject(b, "duplicate_of", v);
	} else {
		/* No action: the review screen, which crew could go. */
		cJSON_Delete(b);
		return cmd_candidates(c, argc, argv);
	}
	if ((v = opt(argc, argv, "--note")))
		cJSON_AddStringToObject(b, "note", v);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/review", id);
	r = call(c, "POST", path, b);
	if (!c->json)
		printf("%s: %s\n", id, jstr(r, "state") ? jstr(r, "state") : "?");
	cJSON_Delete(b);
	cJSON_Delete(r);
	return 0;
}

/* "YYYY-MM-DD[ HH:MM]" or "YYYY-MM-DDTHH:MM" in Asia/Shanghai -> UTC ms; exits 2 on
 * a bad value. */
static int64_t
local_time(const char *s, const char *what)
{
	int y, m, d, hh = 0, mm = 0, n = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || m < 1 || m > 12 || d < 1 ||
	    d > 31)
		goto bad;
	if (s[n] != '\0') {
		int k = 0;

		if ((s[n] != ' ' && s[n] != 'T') ||
		    sscanf(s + n + 1, "%2d:%2d%n", &hh, &mm, &k) != 2 || s[n + 1 + k] != '\0' ||
		    hh < 0 || hh > 23 || mm < 0 || mm > 59)
			goto bad;
	}
	return clock_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400000LL +
	    (hh * 60 + mm) * 60000LL - CLOCK_LOCAL_OFFSET_MS;
bad:
	fprintf(stderr, "linecrew: %s: expected YYYY-MM-DD [HH:MM], got \"%s\"\n", what, s);
	exit(2);
}

static int
cmd_result(const struct cli *c, int argc, char **argv)
{
	const char *id = idarg(argc, argv, 0), *v;
	cJSON *b = cJSON_CreateObject(), *r;
	char path[160];

	cJSON_AddStringToObject(b, "result", need(argc, argv, "--text"));
	if ((v = opt(argc, argv, "--dept")))
		cJSON_AddStringToObject(b, "dept", v);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/result", id);
	r = call(c, "POST", path, b);
	if (!c->json)
		printf("%s: %s, callback due\n", id, jstr(r, "state") ? jstr(r, "state") : "?");
	cJSON_Delete(b);
	cJSON_Delete(r);
	return 0;
}

static int
cmd_outage(const struct cli *c, int argc, char **argv)
{
	cJSON *b, *r, *site;
	const cJSON *o;
	const char *s, *v;
	char path[96], t1[CLOCK_FMT_MAX], t2[CLOCK_FMT_MAX], *end;
	double lat, lon;

	if (argc >= 1 && !strcmp(argv[0], "list")) {
		if ((v = opt(argc, argv, "--at")))
			snprintf(path, sizeof(path), "/api/v1/outages?at_ms=%lld",
			    (long long)local_time(v, "--at"));
		else
			snprintf(path, sizeof(path), "/api/v1/outages");
		r = call(c, "GET", path, NULL);
		if (!c->json)
			cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r, "outages"))
				printf("%3d  %s .. %s  %6.0f m  %s\n", (int)jms(o, "id"),
				    tloc(jms(o, "start_ms"), t1, sizeof(t1)),
				    tloc(jms(o, "end_ms"), t2, sizeof(t2)),
				    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o,
				    "radius_m")), jstr(o, "name") ? jstr(o, "name") : "");
		cJSON_Delete(r);
		return 0;
	}
	if (argc < 1 || strcmp(argv[0], "add") != 0)
		usage();
	b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "name", need(argc, argv, "--name"));
	s = need(argc, argv, "--site");
	lat = strtod(s, &end);
	if (end == s || *end != ',' || (lon = strtod(end + 1, &end), *end != '\0')) {
		fprintf(stderr, "linecrew: --site: expected LAT,LON\n");
		return 2;
	}
	site = cJSON_AddObjectToObject(b, "site");
	cJSON_AddNumberToObject(site, "lat", lat);
	cJSON_AddNumberToObject(site, "lon", lon);
	cJSON_AddNumberToObject(b, "radius_m", (double)num(need(argc, argv, "--radius"),
	    "--radius", 1, 100000));
	cJSON_AddNumberToObject(b, "start_ms", (double)local_time(need(argc, argv, "--from"),
	    "--from"));
	cJSON_AddNumberToObject(b, "end_ms", (double)local_time(need(argc, argv, "--to"),
	    "--to"));
	if ((v = opt(argc, argv, "--note")))
		cJSON_AddStringToObject(b, "note", v);
	r = call(c, "POST", "/api/v1/outages", b);
	if (!c->json)
		printf("outage %d registered\n", (int)jms(r, "id"));
	cJSON_Delete(b);
	cJSON_Delete(r);
	return 0;
}

static int
cmd_archive(const struct cli *c, int argc, char **argv)
{
	cJSON *b = cJSON_CreateObject(), *r;

	if (argc < 1)
		usage();
	cJSON_AddStringToObject(b, "type", argv[0]);
	cJSON_AddNumberToObject(b, "shift_ms", (double)num(need(argc, argv, "--shift-ms"),
	    "--shift-ms", 1, LONG_MAX));
	r = call(c, "POST", "/api/v1/archive", b);
	if (!c->json)
		printf("%d %s orders archived\n", (int)jms(r, "archived"), argv[0]);
	cJSON_Delete(b);
	cJSON_Delete(r);
	return 0;
}

/* A report row as a table line. */
static void
report_row(const cJSON *g, const char *key)
{
	char f[STATS_COLS][STATS_CELL_MAX], k[STATS_CELL_MAX];

	stats_report_row(g, key, k, f);
	printf("%-20.20s %6s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n", k, f[0], f[1], f[2], f[3],
	    f[4], f[5], f[6], f[7], f[8], f[9]);
}

static int
cmd_report(const struct cli *c, int argc, char **argv)
{
	int64_t from = local_time(need(argc, argv, "--from"), "--from");
	int64_t to = local_time(need(argc, argv, "--to"), "--to");
	const char *by = opt(argc, argv, "--by");
	int csv = flag(argc, argv, "--csv");
	char path[256];
	const cJSON *g;
	cJSON *r;

	snprintf(path, sizeof(path), "/api/v1/stats?from_ms=%lld&to_ms=%lld&by=%s",
	    (long long)from, (long long)to, by ? by : "type");
	r = call(c, "GET", path, NULL);
	if (c->json) {
		cJSON_Delete(r);
		return 0;
	}
	if (csv) {
		struct maps_buf b;
		int rc;

		maps_buf_init(&b, GW_BODY_MAX * 4);
		rc = stats_report_csv(r, by ? by : "type", &b);
		if (rc == 0)
			fwrite(b.p, 1, b.len, stdout);
		else
			fprintf(stderr, "linecrew: the report is too large for CSV\n");
		maps_buf_free(&b);
		cJSON_Delete(r);
		return rc == 0 ? 0 : 1;
	}
	printf("%-20s %6s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n", by ? by : "type",
	    "orders", "arr%", "arr avg", "arr p90", "done%", "dept%", "cb rate",
	    "cb10%", "ans12%", "breach");
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(r, "groups"))
		report_row(g, NULL);
	report_row(cJSON_GetObjectItemCaseSensitive(r, "total"), "total");
	cJSON_Delete(r);
	return 0;
}

static int
cmd_callback(const struct cli *c, int argc, char **argv)
{
	const char *id = idarg(argc, argv, 0), *v;
	cJSON *b = cJSON_CreateObject(), *r;
	char path[160];

	cJSON_AddStringToObject(b, "outcome", need(argc, argv, "--outcome"));
	if ((v = opt(argc, argv, "--rating")))
		cJSON_AddNumberToObject(b, "rating", (double)num(v, "--rating", 1, 5));
	if ((v = opt(argc, argv, "--note")))
		cJSON_AddStringToObject(b, "note", v);
	snprintf(path, sizeof(path), "/api/v1/orders/%s/callback", id);
	r = call(c, "POST", path, b);
	if (!c->json)
		printf("%s: callback %s, order %s\n", id,
		    jstr(r, "callback_outcome") ? jstr(r, "callback_outcome") : "?",
		    jstr(r, "state") ? jstr(r, "state") : "?");
	cJSON_Delete(b);
	cJSON_Delete(r);
	return 0;
}

/* Follow an order's timeline, printing each new entry once. */
static int
cmd_watch(struct cli *c, int argc, char **argv)
{
	const char *id = idarg(argc, argv, 0), *until = opt(argc, argv, "--until");
	const char *to = opt(argc, argv, "--timeout");
	long timeout_s = to ? num(to, "--timeout", 1, 86400) : 600;
	struct timespec start, now, nap = { 0, CLI_WATCH_POLL_MS * 1000000L };
	char path[160];
	int shown = 0, json = c->json;

	c->json = 0;
	snprintf(path, sizeof(path), "/api/v1/orders/%s", id);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		cJSON *o = call(c, "GET", path, NULL), *e;
		int i = 0, done = 0;

		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "timeline")) {
			if (i++ < shown)
				continue;
			if (json) {
				char *t = pj_print(e);

				puts(t);
				free(t);
				fflush(stdout);
			} else
				print_entry(o, e);
			shown++;
			if (until && jstr(e, "kind") && !strcmp(jstr(e, "kind"), until))
				done = 1;
		}
		cJSON_Delete(o);
		if (done)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout_s) {
			fprintf(stderr, "linecrew: watch %s: no \"%s\" within %ld s\n", id,
			    until ? until : "end", timeout_s);
			return 1;
		}
		nanosleep(&nap, NULL);
	}
}

int
main(int argc, char **argv)
{
	struct cli c;
	const char *url = getenv("LINECREW_URL");
	cJSON *r, *b;
	int i = 1, rc;

	memset(&c, 0, sizeof(c));
	if (getenv("LINECREW_TOKEN") != NULL)
		snprintf(c.token, sizeof(c.token), "%s", getenv("LINECREW_TOKEN"));
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-u") && i + 1 < argc)
			url = argv[(i += 2) - 1];
		else if (!strcmp(argv[i], "--token") && i + 1 < argc)
			snprintf(c.token, sizeof(c.token), "%s", argv[(i += 2) - 1]);
		else if (!strcmp(argv[i], "--json"))
			c.json = 1, i++;
		else
			usage();
	}
	if (parse_url(&c, url ? url : CLI_DEFAULT_URL) == -1)
		return 2;
	if (i >= argc)
		usage();
	argc -= i;
	argv += i;
	if (strspn(c.token, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
	    != strlen(c.token)) {
		fprintf(stderr, "linecrew: the token has characters a token never has\n");
		return 2;
	}
	if ((rc = admin_main(argc, argv)) != -1)
		return rc;

	if (!strcmp(argv[0], "health")) {
		r = call(&c, "GET", "/api/v1/health", NULL);
		if (!c.json)
			printf("gateway ok, mqtt %s, %d open orders\n",
			    jstr(r, "mqtt") ? jstr(r, "mqtt") : "?", (int)jms(r, "orders_open"));
		cJSON_Delete(r);
		return 0;
	}
	if (!strcmp(argv[0], "crew") && argc >= 2) {
		if (!strcmp(argv[1], "add")) {
			const char *v;

			b = cJSON_CreateObject();
			cJSON_AddStringToObject(b, "id", idarg(argc, argv, 2));
			cJSON_AddStringToObject(b, "device", need(argc - 3, argv + 3, "--device"));
			/* A crew needs a name; its id serves until someone gives one. */
			v = opt(argc - 3, argv + 3, "--name");
			cJSON_AddStringToObject(b, "name", v ? v : argv[2]);
			if ((v = opt(argc - 3, argv + 3, "--branch")))
				cJSON_AddStringToObject(b, "branch", v);
			r = call(&c, "POST", "/api/v1/crews", b);
			if (!c.json)
				printf("crew %s -> device %s\n", argv[2], jstr(r, "device") ?
				    jstr(r, "device") : "?");
			cJSON_Delete(b);
			cJSON_Delete(r);
			return 0;
		}
		if (!strcmp(argv[1], "list")) {
			const cJSON *cr;
			char t[CLOCK_FMT_MAX];

			r = call(&c, "GET", "/api/v1/crews", NULL);
			if (!c.json) {
				printf("%-14s %-10s %-8s %-10s %s\n", "crew", "device", "online",
				    "last seen", "name");
				cJSON_ArrayForEach(cr, cJSON_GetObjectItemCaseSensitive(r, "crews"))
					printf("%-14s %-10s %-8s %-10s %s\n", jstr(cr, "id"),
					    jstr(cr, "device") ? jstr(cr, "device") : "-",
					    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cr,
					    "online")) ? "yes" : "no",
					    thms(jms(cr, "last_seen_ms"), t, sizeof(t)),
					    jstr(cr, "name") ? jstr(cr, "name") : "");
			}
			cJSON_Delete(r);
			return 0;
		}
	}
	if (!strcmp(argv[0], "order") && argc >= 2) {
		char path[160];

		if (!strcmp(argv[1], "create"))
			return cmd_order_create(&c, argc - 2, argv + 2);
		if (!strcmp(argv[1], "show")) {
			snprintf(path, sizeof(path), "/api/v1/orders/%s", idarg(argc, argv, 2));
			r = call(&c, "GET", path, NULL);
			if (!c.json)
				print_order(r);
			cJSON_Delete(r);
			return 0;
		}
		if (!strcmp(argv[1], "list")) {
			r = call(&c, "GET", flag(argc, argv, "--all") ?
			    "/api/v1/orders?state=all" : "/api/v1/orders", NULL);
			if (!c.json)
				print_list(cJSON_GetObjectItemCaseSensitive(r, "orders"),
				    "next_due_ms");
			cJSON_Delete(r);
			return 0;
		}
	}
	if (!strcmp(argv[0], "review"))
		return cmd_review(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "callbacks")) {
		r = call(&c, "GET", "/api/v1/callbacks", NULL);
		if (!c.json)
			print_list(cJSON_GetObjectItemCaseSensitive(r, "callbacks"),
			    "callback_due_ms");
		cJSON_Delete(r);
		return 0;
	}
	if (!strcmp(argv[0], "callback"))
		return cmd_callback(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "watch"))
		return cmd_watch(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "result"))
		return cmd_result(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "outage"))
		return cmd_outage(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "archive"))
		return cmd_archive(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "report"))
		return cmd_report(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "candidates"))
		return cmd_candidates(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "reassign"))
		return cmd_reassign(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "clusters"))
		return cmd_clusters(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "link"))
		return cmd_link(&c, argc - 1, argv + 1);
	if (!strcmp(argv[0], "map"))
		return cmd_map(&c, argc - 1, argv + 1);
	usage();
}
