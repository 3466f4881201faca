/*
 * bench_mqtt.c: the MQTT side of `make bench` (tests/bench/run drives it).
 *
 * One process holds many libmosquitto sessions and drives them from its own
 * poll loop (mosquitto_loop_read / loop_write / loop_misc on each socket),
 * not from common/loop.c, whose fd table is sized for a daemon (256 fds), not
 * for 2,000 simulated devices. Modes:
 *
 *   rtt     PORT N BYTES           bare floor: QoS 1 publish -> receive -> QoS 1
 *                                  reply between two plain clients, N times
 *   fanout  PORT NDEV NMSG BYTES   bare floor: NMSG QoS 1 messages from one client
 *                                  to NDEV sessions round-robin, until all arrive
 *   sub     PORT IDLE_MS MAX_S     bare ceiling: one subscriber on every device's
 *                                  pos topic, counts what arrives
 *   flood   PORT NDEV SECONDS      NDEV devices publish positions at QoS 0 as fast
 *                                  as their sockets take them
 *   latency PORT HTTP NDEV N       simulated devices; N orders created and then
 *                                  dispatched one at a time over the HTTP API;
 *                                  each: review sent -> gateway's ack of the
 *                                  device's "delivered" received (SAMPLE), and
 *                                  review's 200 answer (sent only after the
 *                                  commit) -> that ack (COMMITTED)
 *   storm   PORT HTTP NDEV N       simulated devices; N orders created, then all
 *                                  dispatched over HTTP as fast as the API takes
 *                                  them by LINECREW_BENCH_STORM_CONNS (default 8)
 *                                  supervisors at once, each on its own
 *                                  keep-alive connection with one review in
 *                                  flight; time until every delivery is acked
 *
 * Devices answer like linecrew-device does on the wire (libproto encodes and
 * decodes every message): an order push gets a "delivered" event naming its
 * msg_id, the gateway's ack retires it. Device ids are "<prefix><n>"
 * (LINECREW_BENCH_PREFIX, default "b"); each registers a crew of the same id.
 * Event sequence numbers start at the process's start time in ms so repeated
 * runs against one gateway never reuse an event id.
 *
 * It prints one "RESULT key=value ..." line (times in microseconds) and, per
 * sample, "SAMPLE <us>" lines for the latency modes (and "COMMITTED <us>"); tests/bench/run turns
 * them into the table. It does not print BENCH lines itself: without
 * arguments it exits 64 (usage), which tells the driver it is a helper.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <mosquitto.h>

#include "proto.h"

#define HOST		"127.0.0.1"
/* Supervisors dispatch as the web board does: they follow the live stream, so
 * they ask for a minimal answer (README "HTTP API", Prefer). */
#define PREFER_MINIMAL	"Prefer: return=minimal\r\n"
#define KEEPALIVE_S	60
#define HTTP_BUF	(128 * 1024)
#define WAIT_MAX_US	(120 * 1000000LL)	/* give up waiting for acks after this */
#define SUPERVISORS_MAX	64	/* concurrent HTTP connections of the storm */
#define SUP_BUF		8192	/* one review answer */

/* A supervisor of the storm: one keep-alive connection, one review in flight. */
struct sup {
	int	fd;
	int	busy;		/* a review sent, its answer not complete */
	int	order;		/* its index */
	size_t	have;
	char	buf[SUP_BUF];
};

struct dev {
	struct mosquitto *m;
	char	id[PROTO_DEV_MAX];
	int	idx;
	int	connected;
	int	subscribed;
	int64_t	seq;
	long	received;		/* messages received */
};

struct ord {
	char	id[PROTO_ID_MAX];
	char	eid[PROTO_EID_MAX];	/* of our delivered event, "" before */
	int	pushes;			/* order pushes received */
	int	acked;
};

static struct {
	const char *mode;
	int	port, http_port;
	int	ndev;
	struct dev *devs;
	struct mosquitto *extra[2];	/* rtt: a, b; fanout: publisher; sub: subscriber */
	struct ord *ords;
	int	nords;
	int	nacked;
	long	pushes, dup_pushes, foreign;
	int64_t	seq_base;
	struct proto_down *down;
	struct proto_event *ev;
	char	*buf;
	/* rtt */
	int64_t	rtt_t0;
	int	rtt_got;
	/* sub */
	long	sub_n;
	int64_t	sub_first, sub_last;
	int	http_fd;
	char	*http;
	struct sup *sups;	/* storm: the supervisors, nsups of them */
	int	nsups;
	int	created;	/* clients made so far */
} g;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_mqtt: %s\n", what);
	exit(1);
}

/* ---- HTTP: one keep-alive connection, blocking, loopback only ---- */

static int
http_open(void)
{
	struct sockaddr_in sa;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)g.http_port);
	inet_pton(AF_INET, HOST, &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die("connect to the gateway's HTTP API");
	return fd;
}

static void
http_connect(void)
{
	g.http_fd = http_open();
}

/* Send one request, read the answer into g.http; returns the status. */
static int
http_call(const char *method, const char *path, const char *body, const char *extra,
    const char **resp)
{
	char req[2048];
	size_t have = 0;
	int n, status;
	char *eoh, *cl;
	long clen;

	/* One write: a header and a body in two segments would meet the
	 * server's delayed ACK (Nagle) and cost 40 ms a request. */
	/* The API wants a token (README "Security"); the driver passes its own. */
	const char *tok = getenv("LINECREW_TOKEN");

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: " HOST "\r\n"
	    "%s%s%s%s"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", method, path,
	    tok ? "Authorization: Bearer " : "", tok ? tok : "", tok ? "\r\n" : "",
	    extra ? extra : "", body ? strlen(body) : 0, body ? body : "");
	if (n <= 0 || (size_t)n >= sizeof(req) || write(g.http_fd, req, (size_t)n) != n)
		die("HTTP write");
	for (;;) {
		ssize_t r = read(g.http_fd, g.http + have, HTTP_BUF - 1 - have);

		if (r <= 0)
			die("HTTP read");
		have += (size_t)r;
		g.http[have] = 0;
		if ((eoh = strstr(g.http, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(g.http, "Content-Length:");
		clen = cl ? strtol(cl + 15, NULL, 10) : 0;
		if (have >= (size_t)(eoh + 4 - g.http) + (size_t)clen)
			break;
	}
	if (sscanf(g.http, "HTTP/1.1 %d", &status) != 1)
		die("HTTP status line");
	*resp = eoh + 4;
	return status;
}

static void
register_crews(void)
{
	char body[256], path[64];
	const char *r;

	snprintf(path, sizeof(path), "/api/v1/crews");
	for (int i = 0; i < g.ndev; i++) {
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"name\":\"bench crew %d\","
		    "\"device\":\"%s\"}", g.devs[i].id, i, g.devs[i].id);
		int st = http_call("POST", path, body, NULL, &r);
		if (st != 200 && st != 201) {
			fprintf(stderr, "crew %s: %d %s\n", g.devs[i].id, st, r);
			die("cannot register crews");
		}
	}
}

static void
create_orders(int n)
{
	char body[512];
	const char *r, *p;

	g.ords = calloc((size_t)n, sizeof(*g.ords));
	if (g.ords == NULL)
		die("calloc");
	for (int i = 0; i < n; i++) {
		snprintf(body, sizeof(body), "{\"category\":%d,\"address\":\"bench street %d\","
		    "\"summary\":\"storm outage %d\",\"site\":{\"lat\":%.5f,\"lon\":%.5f,"
		    "\"crs\":\"wgs84\"}}", 1 + i % 6, i, i, 40.80 + (i % 100) * 0.001,
		    111.65 + (i % 97) * 0.001);
		if (http_call("POST", "/api/v1/orders", body, NULL, &r) != 201 ||
		    (p = strstr(r, "\"id\":\"")) == NULL) {
			fprintf(stderr, "create: %s\n", r);
			die("cannot create an order");
		}
		p += 6;
		size_t k = strcspn(p, "\"");
		if (k >= PROTO_ID_MAX)
			die("order id too long");
		memcpy(g.ords[i].id, p, k);
		g.ords[i].id[k] = 0;
	}
	g.nords = n;
}

static void
dispatch(int i)
{
	char body[128], path[96];
	const char *r;

	snprintf(path, sizeof(path), "/api/v1/orders/%s/review", g.ords[i].id);
	snprintf(body, sizeof(body), "{\"action\":\"dispatch\",\"crew\":\"%s\"}",
	    g.devs[i % g.ndev].id);
	if (http_call("POST", path, body, PREFER_MINIMAL, &r) != 200) {
		fprintf(stderr, "review %s: %s\n", g.ords[i].id, r);
		die("dispatch refused");
	}
}

/* ---- the storm's supervisors: reviews on several connections at once ---- */

static void
sup_send(struct sup *u, int i)
{
	char req[1024], body[128];
	const char *tok = getenv("LINECREW_TOKEN");
	int n;

	snprintf(body, sizeof(body), "{\"action\":\"dispatch\",\"crew\":\"%s\"}",
	    g.devs[i % g.ndev].id);
	n = snprintf(req, sizeof(req), "POST /api/v1/orders/%s/review HTTP/1.1\r\n"
	    "Host: " HOST "\r\n%s%s%s" PREFER_MINIMAL "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", g.ords[i].id,
	    tok ? "Authorization: Bearer " : "", tok ? tok : "", tok ? "\r\n" : "",
	    strlen(body), body);
	if (n <= 0 || (size_t)n >= sizeof(req) || write(u->fd, req, (size_t)n) != n)
		die("HTTP write");
	u->busy = 1;
	u->order = i;
	u->have = 0;
}

/* Read what u's connection holds; the answer complete: check it, idle again. */
static void
sup_read(struct sup *u)
{
	ssize_t r = read(u->fd, u->buf + u->have, SUP_BUF - 1 - u->have);
	char *eoh, *cl;
	long clen;
	int status;

	if (r <= 0)
		die("HTTP read (storm)");
	u->have += (size_t)r;
	u->buf[u->have] = 0;
	if ((eoh = strstr(u->buf, "\r\n\r\n")) == NULL)
		return;
	cl = strcasestr(u->buf, "Content-Length:");
	clen = cl ? strtol(cl + 15, NULL, 10) : 0;
	if (u->have < (size_t)(eoh + 4 - u->buf) + (size_t)clen)
		return;
	if (sscanf(u->buf, "HTTP/1.1 %d", &status) != 1 || status != 200) {
		fprintf(stderr, "review %s: %s\n", g.ords[u->order].id, u->buf);
		die("dispatch refused");
	}
	u->busy = 0;
}

static void	mark(int);
static void	mark_m(struct mosquitto *);

/* ---- the simulated devices ---- */

static struct ord *
find_ord(const char *id)
{
	/* Ids are "LC-YYYYMMDD-NNNN..." in creation order: a binary search would
	 * need them sorted, which a date change at midnight breaks; a linear
	 * scan from the newest is cheap next to the broker round trip. */
	for (int i = g.nords - 1; i >= 0; i--)
		if (strcmp(g.ords[i].id, id) == 0)
			return &g.ords[i];
	return NULL;
}

static void
device_message(struct dev *d, const struct mosquitto_message *msg)
{
	struct proto_error err;
	char topic[PROTO_TOPIC_MAX];
	size_t len;

	d->received++;
	mark(d->idx);	/* its PUBACK, and the delivered event below */
	if (strcmp(g.mode, "fanout") == 0)
		return;
	if (proto_decode_down(msg->payload, (size_t)msg->payloadlen, g.down, &err) != PROTO_OK) {
		fprintf(stderr, "%s: bad downlink: %s\n", d->id, err.msg);
		return;
	}
	if (g.down->type == PROTO_DOWN_ACK) {
		for (int k = 0; k < g.down->neids; k++) {
			const char *c = strrchr(g.down->eids[k], ':');
			struct ord *o;

			/* our delivered events carry the order index in their seq */
			if (c == NULL)
				continue;
			long long s = strtoll(c + 1, NULL, 10) - g.seq_base;
			if (s < 0 || s >= g.nords)
				continue;
			o = &g.ords[s];
			if (!o->acked && strcmp(o->eid, g.down->eids[k]) == 0) {
				o->acked = 1;
				g.nacked++;
			}
		}
		return;
	}
	if (g.down->type != PROTO_DOWN_ORDER)
		return;
	struct ord *o = find_ord(g.down->order.id);
	if (o == NULL) {
		g.foreign++;
		return;
	}
	g.pushes++;
	if (o->pushes++ > 0)
		g.dup_pushes++;
	/* Answer like the device: delivered, naming the push's msg_id. */
	memset(g.ev, 0, sizeof(*g.ev));
	g.ev->type = PROTO_EV_DELIVERED;
	memcpy(g.ev->dev, d->id, sizeof(g.ev->dev));
	g.ev->seq = (uint64_t)(g.seq_base + (o - g.ords));
	proto_event_make_eid(g.ev);
	memcpy(g.ev->order_id, o->id, sizeof(g.ev->order_id));
	memcpy(g.ev->msg_id, g.down->msg_id, sizeof(g.ev->msg_id));
	g.ev->at_ms = now_us() / 1000;
	memcpy(o->eid, g.ev->eid, sizeof(o->eid));
	if (proto_encode_event(g.ev, g.buf, PROTO_MAX_PAYLOAD + 1, &len) != PROTO_OK)
		die("encode delivered");
	if (proto_topic(topic, sizeof(topic), d->id, PROTO_T_EVENT) != PROTO_OK)
		die("topic");
	if (mosquitto_publish(d->m, NULL, topic, (int)len, g.buf, 1, false) != MOSQ_ERR_SUCCESS)
		fprintf(stderr, "%s: publish delivered failed\n", d->id);
}

/* The user pointer of the clients that are not devices: libmosquitto passes
 * the client itself when it is given NULL, so NULL cannot mark them. */
static int not_a_device;

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	if (arg != &not_a_device) {
		device_message(arg, msg);
		return;
	}
	if (strcmp(g.mode, "rtt") == 0) {
		if (m == g.extra[1])	/* b: reply */
			mosquitto_publish(m, NULL, "bench/rtt/rep", msg->payloadlen, msg->payload,
			    1, false);
		else
			g.rtt_got = 1;
		mark_m(m);	/* the PUBACK, or the reply and its PUBACK */
	} else if (strcmp(g.mode, "sub") == 0) {
		int64_t t = now_us();

		if (g.sub_n++ == 0)
			g.sub_first = t;
		g.sub_last = t;
	}
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct dev *d = arg;
	char topic[PROTO_TOPIC_MAX];

	if (rc != 0) {
		fprintf(stderr, "connack %d\n", rc);
		die("broker refused a session");
	}
	if (arg == &not_a_device)
		return;
	d->connected = 1;
	if (strcmp(g.mode, "flood") == 0) {
		d->subscribed = 1;
		return;
	}
	if (proto_topic(topic, sizeof(topic), d->id, PROTO_T_ORDER) != PROTO_OK)
		die("topic");
	mosquitto_subscribe(m, NULL, topic, 1);
	mark(d->idx);
}

static void
on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *qos)
{
	struct dev *d = arg;

	(void)m;
	(void)mid;
	(void)n;
	(void)qos;
	if (arg != &not_a_device)
		d->subscribed = 1;
}

static struct mosquitto *
client(const char *id, void *arg)
{
	struct mosquitto *m;

	if ((m = mosquitto_new(id, true, arg)) == NULL)
		die("mosquitto_new");
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_message_callback_set(m, on_message);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	if (mosquitto_connect(m, HOST, g.port, KEEPALIVE_S) != MOSQ_ERR_SUCCESS)
		die("connect to the broker");
	g.created++;
	return m;
}

/* All sessions: the devices and the extra clients. */
static int
nclients(void)
{
	return g.ndev + 2;
}

static struct mosquitto *
client_at(int i)
{
	return i < g.ndev ? g.devs[i].m : g.extra[i - g.ndev];
}

/*
 * The sessions are watched with epoll: a poll(2) over 2,000 sockets per pass
 * cost the simulator more than the gateway it drives (issue 9's profile).
 * Writes: a client we made queue a packet (a publish or subscribe inside a
 * callback, a publish the socket did not take at once) is marked dirty and
 * written after the pass; EPOLLOUT is watched only while it still has data.
 */
#define SUP_TAG		0x40000000u	/* epoll data of a supervisor's connection */

static struct {
	int		 ep;
	int		 watched;	/* clients registered so far */
	int		*fd;		/* per client: the fd registered, -1 none */
	unsigned char	*out;		/* per client: EPOLLOUT watched */
	unsigned char	*isdirty;
	int		*dirty, ndirty;
} ew;

static void
ew_init(void)
{
	int total = nclients();

	if (ew.fd != NULL)
		return;
	ew.ep = epoll_create1(EPOLL_CLOEXEC);
	ew.fd = malloc(sizeof(*ew.fd) * (size_t)total);
	ew.out = calloc((size_t)total, 1);
	ew.isdirty = calloc((size_t)total, 1);
	ew.dirty = malloc(sizeof(*ew.dirty) * (size_t)total);
	if (ew.ep == -1 || !ew.fd || !ew.out || !ew.isdirty || !ew.dirty)
		die("epoll");
	for (int i = 0; i < total; i++)
		ew.fd[i] = -1;
	for (int k = 0; k < g.nsups; k++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = SUP_TAG | (unsigned)k };

		if (epoll_ctl(ew.ep, EPOLL_CTL_ADD, g.sups[k].fd, &e) == -1)
			die("epoll_ctl");
	}
}

/* Client i has something queued (or may have): write it after this pass. */
static void
mark(int i)
{
	ew_init();
	if (!ew.isdirty[i]) {
		ew.isdirty[i] = 1;
		ew.dirty[ew.ndirty++] = i;
	}
}

static void
mark_m(struct mosquitto *m)
{
	for (int k = 0; k < 2; k++)
		if (m == g.extra[k])
			mark(g.ndev + k);
}

static void
ew_register(void)
{
	int total = nclients();

	for (int i = 0; i < total; i++) {
		struct mosquitto *m = client_at(i);
		int fd;

		if (m == NULL || (fd = mosquitto_socket(m)) < 0 || fd == ew.fd[i])
			continue;
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (unsigned)i };

		if (epoll_ctl(ew.ep, EPOLL_CTL_ADD, fd, &e) == -1)
			die("epoll_ctl");
		ew.fd[i] = fd;
		ew.out[i] = 0;
		mark(i);
	}
}

static void
ew_out(int i, int on)
{
	struct epoll_event e = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u32 = (unsigned)i };

	if (ew.out[i] == on || ew.fd[i] < 0)
		return;
	if (epoll_ctl(ew.ep, EPOLL_CTL_MOD, ew.fd[i], &e) == -1)
		die("epoll_ctl mod");
	ew.out[i] = (unsigned char)on;
}

static void
flush_dirty(void)
{
	int n = ew.ndirty;

	ew.ndirty = 0;
	for (int k = 0; k < n; k++) {
		int i = ew.dirty[k];
		struct mosquitto *m = client_at(i);

		ew.isdirty[i] = 0;
		if (m == NULL || !mosquitto_want_write(m))
			continue;
		mosquitto_loop_write(m, 1);
		ew_out(i, mosquitto_want_write(m));
	}
}

/* One pass of the loop: wait up to timeout_ms for any session or supervisor. */
static void
pump(int timeout_ms)
{
	static int64_t last_misc;
	struct epoll_event ev[512];
	int n, total = nclients();

	ew_init();
	if (ew.watched < g.created) {	/* a client was created since */
		ew_register();
		ew.watched = g.created;
	}
	flush_dirty();
	if ((n = epoll_wait(ew.ep, ev, 512, timeout_ms)) == -1 && errno != EINTR)
		die("epoll_wait");
	for (int k = 0; k < n; k++) {
		unsigned u = ev[k].data.u32;
		struct mosquitto *m;

		if (u & SUP_TAG) {
			if (g.sups[u & ~SUP_TAG].busy)
				sup_read(&g.sups[u & ~SUP_TAG]);
			continue;
		}
		m = client_at((int)u);
		if (ev[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			mosquitto_loop_read(m, 1);
		if (ev[k].events & EPOLLOUT) {
			mosquitto_loop_write(m, 1);
			ew_out((int)u, mosquitto_want_write(m));
		}
	}
	flush_dirty();		/* the answers of this pass go out now */
	if (now_us() - last_misc > 1000000) {
		last_misc = now_us();
		for (int i = 0; i < total; i++)
			if (client_at(i) != NULL) {
				mosquitto_loop_misc(client_at(i));
				mark(i);
			}
	}
}

static void
start_devices(void)
{
	const char *prefix = getenv("LINECREW_BENCH_PREFIX");
	int ready;

	if (prefix == NULL || !*prefix)
		prefix = "b";
	g.devs = calloc((size_t)g.ndev, sizeof(*g.devs));
	if (g.devs == NULL)
		die("calloc");
	for (int i = 0; i < g.ndev; i++) {
		struct dev *d = &g.devs[i];

		d->idx = i;
		snprintf(d->id, sizeof(d->id), "%s%d", prefix, i);
		if (!proto_valid_dev(d->id))
			die("bad device prefix");
		d->m = client(d->id, d);
		if (i % 64 == 63)
			pump(0);
	}
	do {
		pump(50);
		ready = 0;
		for (int i = 0; i < g.ndev; i++)
			ready += g.devs[i].subscribed;
	} while (ready < g.ndev);
}

static void
wait_acked(int64_t t0)
{
	while (g.nacked < g.nords && now_us() - t0 < WAIT_MAX_US)
		pump(20);
}

/* ---- modes ---- */

static void
mode_rtt(int n, int bytes)
{
	char *payload = calloc(1, (size_t)bytes);

	if (payload == NULL)
		die("calloc");
	memset(payload, 'x', (size_t)bytes);
	g.extra[0] = client("bench-rtt-a", &not_a_device);
	g.extra[1] = client("bench-rtt-b", &not_a_device);
	mosquitto_subscribe(g.extra[0], NULL, "bench/rtt/rep", 1);
	mosquitto_subscribe(g.extra[1], NULL, "bench/rtt/req", 1);
	mark_m(g.extra[0]);
	mark_m(g.extra[1]);
	for (int i = 0; i < 40; i++)	/* CONNACKs and SUBACKs */
		pump(5);
	for (int i = 0; i < n; i++) {
		int64_t t0 = now_us();

		g.rtt_got = 0;
		mosquitto_publish(g.extra[0], NULL, "bench/rtt/req", bytes, payload, 1, false);
		mark_m(g.extra[0]);
		while (!g.rtt_got) {
			pump(1000);
			if (now_us() - t0 > 10000000)
				die("round trip lost");
		}
		printf("SAMPLE %lld\n", (long long)(now_us() - t0));
	}
	printf("RESULT n=%d\n", n);
	free(payload);
}

static void
mode_fanout(int nmsg, int bytes)
{
	char topic[PROTO_TOPIC_MAX], *payload = calloc(1, (size_t)bytes);
	long got;
	int64_t t0;

	if (payload == NULL)
		die("calloc");
	memset(payload, 'x', (size_t)bytes);
	start_devices();
	g.extra[0] = client("bench-fanout-pub", &not_a_device);
	for (int i = 0; i < 20; i++)
		pump(5);
	t0 = now_us();
	for (int i = 0; i < nmsg; i++) {
		proto_topic(topic, sizeof(topic), g.devs[i % g.ndev].id, PROTO_T_ORDER);
		mosquitto_publish(g.extra[0], NULL, topic, bytes, payload, 1, false);
		mark_m(g.extra[0]);
		if (i % 64 == 63)
			pump(0);
	}
	do {
		pump(20);
		got = 0;
		for (int i = 0; i < g.ndev; i++)
			got += g.devs[i].received;
	} while (got < nmsg && now_us() - t0 < WAIT_MAX_US);
	printf("RESULT sent=%d received=%ld us=%lld\n", nmsg, got, (long long)(now_us() - t0));
	free(payload);
}

static void
mode_sub(int idle_ms, int max_s)
{
	int64_t t0;

	g.extra[0] = client("bench-pos-sub", &not_a_device);
	mosquitto_subscribe(g.extra[0], NULL, proto_topic_pattern(PROTO_T_POS), 0);
	mark_m(g.extra[0]);
	for (int i = 0; i < 20; i++)
		pump(5);
	printf("READY\n");
	fflush(stdout);
	t0 = now_us();
	for (;;) {
		pump(20);
		int64_t t = now_us();
		if (t - t0 > (int64_t)max_s * 1000000)
			break;
		if (g.sub_n > 0 && t - g.sub_last > (int64_t)idle_ms * 1000)
			break;
	}
	printf("RESULT received=%ld first_us=%lld last_us=%lld\n", g.sub_n,
	    (long long)g.sub_first, (long long)g.sub_last);
}

static void
mode_flood(int seconds)
{
	struct proto_pos p;
	char topic[PROTO_TOPIC_MAX];
	size_t len;
	long sent = 0;
	int64_t t0, t_end;

	start_devices();
	memset(&p, 0, sizeof(p));
	p.fix.mode = 3;
	p.fix.eph_m = 4.0;
	p.fix.speed_mps = 8.0;
	p.fix.track_deg = 90.0;
	p.fix.alt_m = 1050.0;
	t0 = now_us();
	t_end = t0 + (int64_t)seconds * 1000000;
	while (now_us() < t_end) {
		long before = sent;

		for (int i = 0; i < g.ndev; i++) {
			struct dev *d = &g.devs[i];

			/* Only when its socket took the last one: libmosquitto
			 * would otherwise queue without bound. */
			if (mosquitto_want_write(d->m))
				continue;
			memcpy(p.dev, d->id, sizeof(p.dev));
			p.at_ms = now_us() / 1000;
			p.fix.t_ms = p.at_ms;
			p.fix.lat = 40.8 + (double)(sent % 1000) * 1e-5;
			p.fix.lon = 111.7 + (double)(i % 1000) * 1e-5;
			if (proto_encode_pos(&p, g.buf, PROTO_MAX_PAYLOAD + 1, &len) != PROTO_OK)
				die("encode pos");
			proto_topic(topic, sizeof(topic), d->id, PROTO_T_POS);
			if (mosquitto_publish(d->m, NULL, topic, (int)len, g.buf, 0, false) ==
			    MOSQ_ERR_SUCCESS)
				sent++;
			mark(i);
		}
		/* Every socket full: wait for one to drain instead of spinning, or
		 * the generator takes the CPU the consumer under test needs (two
		 * cores here, shared with the broker). */
		pump(sent > before ? 0 : 1);
	}
	for (int i = 0; i < 50; i++)	/* drain what is still queued */
		pump(2);
	printf("RESULT sent=%ld start_us=%lld end_us=%lld\n", sent, (long long)t0,
	    (long long)t_end);
}

static void
mode_latency(int n)
{
	start_devices();
	register_crews();
	create_orders(n);
	for (int i = 0; i < n; i++) {
		int64_t t0 = now_us(), t1;

		dispatch(i);
		t1 = now_us();	/* the 200: the gateway answers after the commit */
		while (!g.ords[i].acked) {
			pump(1000);
			if (now_us() - t0 > 30000000)
				die("an order was never acknowledged");
		}
		printf("SAMPLE %lld\nCOMMITTED %lld\n", (long long)(now_us() - t0),
		    (long long)(now_us() - t1));
	}
	printf("RESULT orders=%d acked=%d pushes=%ld dup_pushes=%ld foreign=%ld\n", g.nords,
	    g.nacked, g.pushes, g.dup_pushes, g.foreign);
}

/* A positive decimal number, 1..SUPERVISORS_MAX. */
static int
atoi_ok(const char *v)
{
	char *end;
	long x = strtol(v, &end, 10);

	return *v && !*end && x >= 1 && x <= SUPERVISORS_MAX;
}

static void
mode_storm(int n)
{
	const char *v = getenv("LINECREW_BENCH_STORM_CONNS");
	int64_t t_create, t0, t_disp;

	g.nsups = v && atoi_ok(v) ? (int)strtol(v, NULL, 10) : 8;
	if ((g.sups = calloc((size_t)g.nsups, sizeof(*g.sups))) == NULL)
		die("calloc");
	for (int k = 0; k < g.nsups; k++)
		g.sups[k].fd = http_open();
	start_devices();
	register_crews();
	t_create = now_us();
	create_orders(n);
	t0 = now_us();
	for (int i = 0; i < n;) {
		int sent = 0;

		for (int k = 0; k < g.nsups && i < n; k++)
			if (!g.sups[k].busy) {
				sup_send(&g.sups[k], i++);
				sent = 1;
			}
		/* answer the devices and read the supervisors' answers */
		pump(sent ? 0 : 5);
	}
	for (int busy = 1; busy;) {
		busy = 0;
		for (int k = 0; k < g.nsups; k++)
			busy |= g.sups[k].busy;
		if (busy)
			pump(5);
	}
	t_disp = now_us();
	wait_acked(t0);
	printf("RESULT orders=%d acked=%d pushes=%ld dup_pushes=%ld foreign=%ld create_us=%lld "
	    "dispatch_us=%lld acked_us=%lld supervisors=%d\n", g.nords, g.nacked, g.pushes,
	    g.dup_pushes, g.foreign, (long long)(t0 - t_create), (long long)(t_disp - t0),
	    (long long)(now_us() - t0), g.nsups);
}

static int
usage(void)
{
	fprintf(stderr, "usage: bench_mqtt rtt PORT N BYTES | fanout PORT NDEV NMSG BYTES |\n"
	    "       sub PORT IDLE_MS MAX_S | flood PORT NDEV SECONDS |\n"
	    "       latency PORT HTTP NDEV N | storm PORT HTTP NDEV N\n"
	    "(a helper of tests/bench/run: prints RESULT/SAMPLE lines, not BENCH lines)\n");
	return 64;
}

static int
arg(char **argv, int i)
{
	char *end;
	long v = strtol(argv[i], &end, 10);

	if (*end || v < 0 || v > 100000000)
		exit(usage());
	return (int)v;
}

int
main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	g.mode = argv[1];
	g.port = arg(argv, 2);
	g.seq_base = now_us() / 1000;
	g.down = malloc(sizeof(*g.down));
	g.ev = malloc(sizeof(*g.ev));
	g.buf = malloc(PROTO_MAX_PAYLOAD + 1);
	g.http = malloc(HTTP_BUF);
	if (!g.down || !g.ev || !g.buf || !g.http)
		die("malloc");
	setvbuf(stdout, NULL, _IOLBF, 0);
	mosquitto_lib_init();
	if (strcmp(g.mode, "rtt") == 0 && argc == 5)
		mode_rtt(arg(argv, 3), arg(argv, 4));
	else if (strcmp(g.mode, "fanout") == 0 && argc == 6) {
		g.ndev = arg(argv, 3);
		mode_fanout(arg(argv, 4), arg(argv, 5));
	} else if (strcmp(g.mode, "sub") == 0 && argc == 5)
		mode_sub(arg(argv, 3), arg(argv, 4));
	else if (strcmp(g.mode, "flood") == 0 && argc == 5) {
		g.ndev = arg(argv, 3);
		mode_flood(arg(argv, 4));
	} else if ((strcmp(g.mode, "latency") == 0 || strcmp(g.mode, "storm") == 0) &&
	    argc == 6) {
		g.http_port = arg(argv, 3);
		g.ndev = arg(argv, 4);
		http_connect();
		if (g.mode[0] == 'l')
			mode_latency(arg(argv, 5));
		else
			mode_storm(arg(argv, 5));
	} else
		return usage();
	for (int i = 0; i < nclients(); i++)
		if (client_at(i) != NULL)
			mosquitto_disconnect(client_at(i));
	mosquitto_lib_cleanup();
	return 0;
}
