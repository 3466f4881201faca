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
 *                                  device's "delivered" received
 *   storm   PORT HTTP NDEV N       simulated devices; N orders created, then all
 *                                  dispatched over HTTP as fast as the API takes
 *                                  them; time until every delivery is acked
 *
 * Devices answer like linecrew-device does on the wire (libproto encodes and
 * decodes every message): an order push gets a "delivered" event naming its
 * msg_id, the gateway's ack retires it. Device ids are "<prefix><n>"
 * (LINECREW_BENCH_PREFIX, default "b"); each registers a crew of the same id.
 * Event sequence numbers start at the process's start time in ms so repeated
 * runs against one gateway never reuse an event id.
 *
 * It prints one "RESULT key=value ..." line (times in microseconds) and, per
 * sample, "SAMPLE <us>" lines for the latency modes; tests/bench/run turns
 * them into the table. It does not print BENCH lines itself: without
 * arguments it exits 64 (usage), which tells the driver it is a helper.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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
#define KEEPALIVE_S	60
#define HTTP_BUF	(128 * 1024)
#define WAIT_MAX_US	(120 * 1000000LL)	/* give up waiting for acks after this */

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

static void
http_connect(void)
{
	struct sockaddr_in sa;

	if ((g.http_fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)g.http_port);
	inet_pton(AF_INET, HOST, &sa.sin_addr);
	if (connect(g.http_fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die("connect to the gateway's HTTP API");
}

/* Send one request, read the answer into g.http; returns the status. */
static int
http_call(const char *method, const char *path, const char *body, const char **resp)
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
	    "%s%s%s"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", method, path,
	    tok ? "Authorization: Bearer " : "", tok ? tok : "", tok ? "\r\n" : "",
	    body ? strlen(body) : 0, body ? body : "");
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
		int st = http_call("POST", path, body, &r);
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
		if (http_call("POST", "/api/v1/orders", body, &r) != 201 ||
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
	if (http_call("POST", path, body, &r) != 200) {
		fprintf(stderr, "review %s: %s\n", g.ords[i].id, r);
		die("dispatch refused");
	}
}

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

/* One pass of the loop: poll every session's socket for up to timeout_ms. */
static void
pump(int timeout_ms)
{
	static struct pollfd *pfd;
	static int *who;
	static int64_t last_misc;
	int n = 0, total = nclients();

	if (pfd == NULL) {
		pfd = calloc((size_t)total, sizeof(*pfd));
		who = calloc((size_t)total, sizeof(*who));
		if (pfd == NULL || who == NULL)
			die("calloc");
	}
	for (int i = 0; i < total; i++) {
		struct mosquitto *m = client_at(i);
		int fd;

		if (m == NULL || (fd = mosquitto_socket(m)) < 0)
			continue;
		pfd[n].fd = fd;
		pfd[n].events = POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0);
		pfd[n].revents = 0;
		who[n++] = i;
	}
	if (poll(pfd, (nfds_t)n, timeout_ms) == -1 && errno != EINTR)
		die("poll");
	for (int k = 0; k < n; k++) {
		struct mosquitto *m = client_at(who[k]);

		if (pfd[k].revents & (POLLIN | POLLERR | POLLHUP))
			mosquitto_loop_read(m, 1);
		if (pfd[k].revents & POLLOUT)
			mosquitto_loop_write(m, 1);
	}
	if (now_us() - last_misc > 1000000) {
		last_misc = now_us();
		for (int i = 0; i < total; i++)
			if (client_at(i) != NULL)
				mosquitto_loop_misc(client_at(i));
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
	for (int i = 0; i < 40; i++)	/* CONNACKs and SUBACKs */
		pump(5);
	for (int i = 0; i < n; i++) {
		int64_t t0 = now_us();

		g.rtt_got = 0;
		mosquitto_publish(g.extra[0], NULL, "bench/rtt/req", bytes, payload, 1, false);
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
		}
		pump(0);
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
		int64_t t0 = now_us();

		dispatch(i);
		while (!g.ords[i].acked) {
			pump(1000);
			if (now_us() - t0 > 30000000)
				die("an order was never acknowledged");
		}
		printf("SAMPLE %lld\n", (long long)(now_us() - t0));
	}
	printf("RESULT orders=%d acked=%d pushes=%ld dup_pushes=%ld foreign=%ld\n", g.nords,
	    g.nacked, g.pushes, g.dup_pushes, g.foreign);
}

static void
mode_storm(int n)
{
	int64_t t_create, t0, t_disp;

	start_devices();
	register_crews();
	t_create = now_us();
	create_orders(n);
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		dispatch(i);
		pump(0);	/* answer what has come in meanwhile */
	}
	t_disp = now_us();
	wait_acked(t0);
	printf("RESULT orders=%d acked=%d pushes=%ld dup_pushes=%ld foreign=%ld create_us=%lld "
	    "dispatch_us=%lld acked_us=%lld\n", g.nords, g.nacked, g.pushes, g.dup_pushes,
	    g.foreign, (long long)(t0 - t_create), (long long)(t_disp - t0),
	    (long long)(now_us() - t0));
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
