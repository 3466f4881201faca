/*
 * test_common_loop.c: timer ordering, repeat, stop from inside a callback, fd
 * readiness through a pipe, removal of an fd during the pass that reports it,
 * and the clock's formatting (Asia/Shanghai, independent of TZ).
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "loop.h"

struct rec {
	struct loop *l;
	char order[32];
	int n;
	int stop_at;
};

static struct rec R;

static void
fire(void *arg)
{
	char c = *(char *)arg;

	R.order[R.n++] = c;
	if (R.n == R.stop_at)
		loop_stop(R.l);
}

static void
test_timer_order(void **state)
{
	struct loop_timer a, b, c;
	char ca = 'a', cb = 'b', cc = 'c';

	(void)state;
	memset(&R, 0, sizeof(R));
	R.l = loop_new();
	R.stop_at = 3;
	loop_timer_init(&a, fire, &ca);
	loop_timer_init(&b, fire, &cb);
	loop_timer_init(&c, fire, &cc);
	loop_timer_start(R.l, &c, 30, 0);
	loop_timer_start(R.l, &a, 10, 0);
	loop_timer_start(R.l, &b, 20, 0);
	assert_int_equal(loop_run(R.l), 0);
	assert_string_equal(R.order, "abc");
	assert_false(loop_timer_armed(&a));
	loop_free(R.l);
}

static void
test_timer_repeat_and_stop(void **state)
{
	struct loop_timer r, x;
	char cr = 'r', cx = 'x';

	(void)state;
	memset(&R, 0, sizeof(R));
	R.l = loop_new();
	R.stop_at = 4;
	loop_timer_init(&r, fire, &cr);
	loop_timer_init(&x, fire, &cx);
	loop_timer_start(R.l, &r, 1, 2);
	loop_timer_start(R.l, &x, 5, 0);
	loop_timer_stop(R.l, &x);	/* stopped before firing: never runs */
	assert_int_equal(loop_run(R.l), 0);
	assert_string_equal(R.order, "rrrr");
	loop_free(R.l);
}

static int pipe_reads;

static void
on_read(int fd, short rev, void *arg)
{
	char buf[8];
	struct loop *l = arg;

	assert_true(rev & POLLIN);
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	pipe_reads++;
	loop_io_del(l, fd);	/* removing itself inside the callback is allowed */
	loop_stop(l);
}

static void
test_io(void **state)
{
	struct loop *l = loop_new();
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_io_add(l, p[0], POLLIN, on_read, l), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(pipe_reads, 1);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

static void
test_clock_format(void **state)
{
	char b[CLOCK_FMT_MAX];
	struct vclock vc;

	(void)state;
	/* 2026-11-25T09:03:44Z is 17:03:44 in Shanghai */
	assert_string_equal(clock_fmt_local(1795597424000LL, b, sizeof(b)),
	    "2026-11-25 17:03:44 +08:00");
	assert_string_equal(clock_fmt_hms(1795597424000LL, b, sizeof(b)), "17:03:44");
	assert_string_equal(clock_fmt_iso(1795597424123LL, b, sizeof(b)),
	    "2026-11-25T09:03:44.123Z");
	/* 16:00Z on 31 Dec is already New Year in Shanghai */
	assert_string_equal(clock_fmt_local(1798732800000LL, b, sizeof(b)),
	    "2027-01-01 00:00:00 +08:00");
	assert_true(clock_days_from_civil(1970, 1, 1) == 0);
	assert_true(clock_days_from_civil(2000, 3, 1) == 11017);
	vclock_init(&vc, 1000);
	vclock_advance(&vc, 500);
	assert_true(clock_wall(&vc.clock) == 1500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_timer_repeat_and_stop),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_clock_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
