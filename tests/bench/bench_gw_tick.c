/*
 * bench_gw_tick.c: the cost of the SLA tick and of finding due deadlines as
 * the store grows with closed orders (part 4 of `make bench`).
 *
 * Builds one gateway store (store.c, the real schema and statements) in a
 * scratch directory with a fixed number of open orders (LINECREW_BENCH_SLA_OPEN,
 * default 1,000, deadlines spread over the next hours) and grows it with closed
 * orders until it holds each size of LINECREW_BENCH_SLA_SIZES (default
 * "10000,100000,1000000" orders in all). At each size it times, on a virtual
 * clock, order_sla_tick() when nothing is due (the steady tick) and
 * store_order_due() returning the 100 nearest deadlines (finding due work),
 * each as the mean over many calls, repeated LINECREW_BENCH_RUNS times (>= 3).
 * The rows go in through store_order_insert() in 10,000-row transactions; the
 * tick never writes here (nothing is due), so the measured calls are read-only.
 *
 * It measures the store and the SLA engine only, not MQTT or HTTP; the
 * gateway daemon is not running. It prints BENCH lines (tests/bench/run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway.h"

#define BATCH_ROWS	10000
#define DUE_LIMIT	100
#define CALLS		200		/* calls per timed run */
#define RUNS_MIN	3
#define T0_MS		1764000000000LL	/* virtual "now": 2025-11-24 */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
env_int(const char *name, int def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (v == NULL || *v == 0)
		return def;
	n = strtol(v, &end, 10);
	return (*end == 0 && n > 0 && n < 100000000) ? (int)n : def;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
fill(struct order *o, long n, int open)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "LC-20251124-%07ld", n);
	o->category = 2;
	snprintf(o->address, sizeof(o->address), "bench street %ld", n);
	snprintf(o->summary, sizeof(o->summary), "outage");
	o->lat = o->in_lat = 40.8;
	o->lon = o->in_lon = 111.7;
	o->radius_m = 150;
	o->created_ms = T0_MS - 3600000;
	o->reviewed_ms = o->dispatched_ms = T0_MS - 3500000;
	o->lim.review_s = 180;
	o->lim.arrive_min = 60;
	o->lim.complete_min = 720;
	o->lim.callback_min = 10;
	snprintf(o->crew, sizeof(o->crew), "crew-%ld", n % 500);
	snprintf(o->device, sizeof(o->device), "dev-%ld", n % 500);
	if (open) {
		o->state = ORD_DELIVERED;
		o->delivered_ms = T0_MS - 3400000;
		o->next_stage = SLA_ARRIVAL;
		/* one deadline per second over the next hours: none due at T0 */
		o->next_due_ms = T0_MS + 60000 + n * 1000;
	} else {
		o->state = ORD_CLOSED;
		o->delivered_ms = o->dispatched_ms + 1000;
		o->accepted_ms = o->delivered_ms + 1000;
		o->arrived_ms = o->accepted_ms + 600000;
		o->completed_ms = o->completed_rx_ms = o->arrived_ms + 3600000;
		o->callback_due_ms = o->completed_rx_ms + 600000;
		o->callback_ms = o->completed_rx_ms + 300000;
		snprintf(o->callback_outcome, sizeof(o->callback_outcome), "restored_satisfied");
		snprintf(o->arrive_method, sizeof(o->arrive_method), "gps");
		o->next_due_ms = 0;
	}
}

static int
insert(struct store *st, long from, long to, int open, struct order *o)
{
	for (long n = from; n < to; n += BATCH_ROWS) {
		if (store_begin(st) == -1)
			return -1;
		for (long k = n; k < to && k < n + BATCH_ROWS; k++) {
			fill(o, k, open);
			if (store_order_insert(st, o) == -1) {
				store_rollback(st);
				return -1;
			}
		}
		if (store_commit(st) == -1)
			return -1;
	}
	return 0;
}

static int
count_cb(const struct order *o, void *arg)
{
	(void)o;
	(*(int *)arg)++;
	return 0;
}

static void
report(const char *name, const char *metric, double v[], int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_d);
	printf("BENCH %s %s us %.2f %.2f %.2f\n", name, metric, v[0], v[n / 2], v[n - 1]);
}

int
main(void)
{
	char dir[] = "/tmp/linecrew-bench-sla-XXXXXX", path[128], sizes[256];
	const char *sz = getenv("LINECREW_BENCH_SLA_SIZES");
	int nopen = env_int("LINECREW_BENCH_SLA_OPEN", 1000);
	int runs = env_int("LINECREW_BENCH_RUNS", RUNS_MIN);
	struct vclock vc;
	struct gw_conf conf;
	struct gw gw;
	struct store *st;
	struct order *o;
	long have, closed_from;
	double *tick, *due;
	int rc = 1;

	if (runs < RUNS_MIN)
		runs = RUNS_MIN;
	snprintf(sizes, sizeof(sizes), "%s", sz && *sz ? sz : "10000,100000,1000000");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/gateway.db", dir);
	o = malloc(sizeof(*o));
	tick = calloc((size_t)runs, sizeof(*tick));
	due = calloc((size_t)runs, sizeof(*due));
	if ((st = store_open(path)) == NULL || o == NULL || tick == NULL || due == NULL)
		goto out;
	vclock_init(&vc, T0_MS);
	memset(&conf, 0, sizeof(conf));
	memset(&gw, 0, sizeof(gw));
	gw.conf = &conf;
	gw.clock = &vc.clock;
	gw.store = st;
	if (insert(st, 0, nopen, 1, o) == -1)
		goto out;
	have = nopen;
	closed_from = 1000000000L;	/* closed ids after the open ones */
	for (char *p = sizes, *end; *p; p = *end ? end + 1 : end) {
		long total = strtol(p, &end, 10);
		char name[64];

		if (end == p)
			break;	/* not a number: the list ends here */

		if (total > have) {
			if (insert(st, closed_from, closed_from + (total - have), 0, o) == -1)
				goto out;
			closed_from += total - have;
			have = total;
		}
		for (int r = 0; r < runs; r++) {
			double t0 = now_s();
			int found = 0;

			for (int i = 0; i < CALLS; i++)
				if (order_sla_tick(&gw) != 0)	/* nothing is due at T0 */
					goto out;
			tick[r] = (now_s() - t0) / CALLS * 1e6;
			t0 = now_s();
			for (int i = 0; i < CALLS; i++)
				if (store_order_due(st, T0_MS + 86400000LL * 365, DUE_LIMIT, count_cb,
				    &found) == -1)
					goto out;
			due[r] = (now_s() - t0) / CALLS * 1e6;
			if (found != CALLS * (nopen < DUE_LIMIT ? nopen : DUE_LIMIT)) {
				fprintf(stderr, "bench_gw_tick: found %d due, want %d\n", found,
				    CALLS * (nopen < DUE_LIMIT ? nopen : DUE_LIMIT));
				goto out;
			}
		}
		snprintf(name, sizeof(name), "sla_%ld_orders_%d_open", have, nopen);
		report(name, "tick_idle", tick, runs);
		report(name, "find_100_due", due, runs);
		fflush(stdout);
	}
	rc = 0;
out:
	if (st != NULL)
		store_close(st);
	free(o);
	free(tick);
	free(due);
	snprintf(path, sizeof(path), "%s/gateway.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/gateway.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/gateway.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return rc;
}
