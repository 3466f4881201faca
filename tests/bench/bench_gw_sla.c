/*
 * bench_gw_sla.c: the cost of the SLA tick against the number of open orders.
 *
 * The deadlines live in SQLite's partial index orders(next_due_ms); a tick is
 * one index range scan "next_due_ms <= now" plus the settling of what it
 * finds. This program fills a scratch store with N open repair orders whose
 * next deadlines are spread over 12 h, then measures on a virtual clock:
 *   idle   a tick when nothing is due (the index probe alone), averaged;
 *   due    a tick that settles 256 due orders (one breach entry each),
 *          per order settled.
 * for N = 1,000, 10,000 and 100,000, so the growth with N is visible.
 * Times are wall-clock (CLOCK_MONOTONIC); not a test, it asserts nothing.
 *
 *     build/bench/bench_gw_sla [N_MAX] 2>/dev/null
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../gateway/gateway.h"
#include "clock.h"
#include "log.h"

#define T0		1795626000000LL
#define MIN		60000LL
#define IDLE_TICKS	2000

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
one(int n)
{
	char path[] = "/tmp/bench_gw_sla.XXXXXX", p2[64];
	struct gw_conf conf;
	struct vclock vc;
	struct gw gw;
	struct order o;
	double t, idle, due;
	int fd = mkstemp(path), k;

	if (fd == -1) {
		perror("mkstemp");
		exit(1);
	}
	close(fd);
	memset(&conf, 0, sizeof(conf));
	conf.limits = (struct sla_limits){ .name = "default", .review_s = 180,
		.arrive_urban_min = 60, .arrive_rural_min = 120, .arrive_remote_min = 240,
		.complete_h = 12, .complete_meter_h = 24, .callback_min = 10 };
	memset(&gw, 0, sizeof(gw));
	vclock_init(&vc, T0);
	gw.conf = &conf;
	gw.limits = &conf.limits;
	gw.clock = &vc.clock;
	if ((gw.store = store_open(path)) == NULL)
		exit(1);
	/* N recorded orders, review due spread over 12 h (synthetic rows). */
	store_begin(gw.store);
	for (int i = 0; i < n; i++) {
		memset(&o, 0, sizeof(o));
		snprintf(o.id, sizeof(o.id), "LC-20261126-%06d", i + 1);
		o.type = TYPE_REPAIR;
		o.category = 2;
		o.state = ORD_RECORDED;
		snprintf(o.address, sizeof(o.address), "bench");
		o.lat = 40.84;
		o.lon = 111.75;
		o.zone = MAPS_ZONE_URBAN;
		o.created_ms = T0 - 180000 + (int64_t)i * (12 * 60 * MIN) / n;
		sla_profile_for(&conf.limits, TYPE_REPAIR, 2, MAPS_ZONE_URBAN, &o.lim);
		o.next_stage = SLA_REVIEW;
		o.next_due_ms = o.created_ms + 180000;
		if (store_order_insert(gw.store, &o) == -1)
			exit(1);
	}
	store_commit(gw.store);
	vclock_init(&vc, T0 - 1);	/* nothing due yet */
	t = now_s();
	for (int i = 0; i < IDLE_TICKS; i++)
		if (order_sla_tick(&gw) != 0)
			exit(1);
	idle = (now_s() - t) / IDLE_TICKS;
	/* Move to the time where the first 256 are due (+1 ms for "now > due"). */
	vclock_init(&vc, T0 + (int64_t)256 * (12 * 60 * MIN) / n);
	t = now_s();
	k = order_sla_tick(&gw);
	due = (now_s() - t) / (k > 0 ? k : 1);
	printf("open=%7d  idle tick %8.2f us   due tick %8.1f us per order settled (%d)\n", n,
	    idle * 1e6, due * 1e6, k);
	store_close(gw.store);
	unlink(path);
	snprintf(p2, sizeof(p2), "%s-wal", path);
	unlink(p2);
	snprintf(p2, sizeof(p2), "%s-shm", path);
	unlink(p2);
}

int
main(int argc, char **argv)
{
	long nmax = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;

	/* The breach lines of the settled orders go to stderr: 2>/dev/null. */
	log_init("bench", 1, 0);
	for (int n = 1000; n <= nmax; n *= 10)
		one(n);
	return 0;
}
