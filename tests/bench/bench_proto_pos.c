/*
 * bench_proto_pos.c: the cost of decoding one position report at the
 * gateway, the protocol's flood (issue 9, "Position ingest"):
 *
 *   decode        proto_decode_pos on the text a unit sends (fix from gpsd,
 *                 17-digit degrees, MAC tag): the fast path
 *   decode_cjson  proto_decode_pos_json on the same text: the general decoder
 *                 through cJSON, the baseline
 *
 * Prints the BENCH contract of tests/bench/run (min / median / max of
 * LINECREW_BENCH_RUNS repetitions, default 5, in nanoseconds per message)
 * and exits 0; when the two decoders disagree it prints FAIL and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto.h"

#define N_MSG		200000	/* decodes per repetition */
#define RUNS_MAX	50

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(void)
{
	static const char pos[] =
	    "{\"v\":1,\"type\":\"pos\",\"dev\":\"dev-0417\",\"at\":1796462277123,"
	    "\"order_id\":\"LC-20261205-0042\",\"fix\":{\"t\":1796462276000,"
	    "\"lat\":40.842316666666667,\"lon\":111.74971666666666,\"mode\":3,\"eph\":4.2,"
	    "\"speed\":8.3333333333333339,\"track\":271.5,\"alt\":1052.4000000000001},"
	    "\"mac\":\"9f1c0d2e3b4a59687786950a1b2c3d4e5f60718293a4b5c6d7e8f90112233445\"}";
	static struct proto_pos a, b;
	struct proto_error err;
	double fast[RUNS_MAX], slow[RUNS_MAX];
	const char *e = getenv("LINECREW_BENCH_RUNS");
	int runs = e && atoi(e) > 0 ? atoi(e) : 5, fail = 0;
	size_t len = sizeof(pos) - 1;

	if (runs > RUNS_MAX)
		runs = RUNS_MAX;
	if (!proto_decode_pos_fast(pos, len, &a) ||
	    proto_decode_pos_json(pos, len, &b, &err) != PROTO_OK ||
	    memcmp(&a, &b, sizeof(a)) != 0) {
		printf("FAIL: the fast path and cJSON read the unit's text differently\n");
		return 1;
	}
	for (int r = 0; r < runs; r++) {
		double t0 = now_ns();

		for (int i = 0; i < N_MSG; i++)
			if (proto_decode_pos(pos, len, &a, &err) != PROTO_OK)
				fail = 1;
		fast[r] = (now_ns() - t0) / N_MSG;
		t0 = now_ns();
		for (int i = 0; i < N_MSG / 10; i++)
			if (proto_decode_pos_json(pos, len, &b, &err) != PROTO_OK)
				fail = 1;
		slow[r] = (now_ns() - t0) / (N_MSG / 10);
	}
	if (fail) {
		printf("FAIL: a position did not decode: %s\n", err.msg);
		return 1;
	}
	qsort(fast, (size_t)runs, sizeof(fast[0]), cmp);
	qsort(slow, (size_t)runs, sizeof(slow[0]), cmp);
	printf("BENCH proto_pos_decode per_message ns %.4g %.4g %.4g baseline "
	    "proto_pos_decode_cjson %.4g %.4g %.4g\n", fast[0], fast[runs / 2],
	    fast[runs - 1], slow[0], slow[runs / 2], slow[runs - 1]);
	return 0;
}
