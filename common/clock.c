/*
 * clock.c: the system clock, a virtual clock for tests, and time formatting.
 *
 * Formatting does its own civil-date arithmetic (Howard Hinnant's
 * days_from_civil / civil_from_days) with the fixed Asia/Shanghai offset, so the
 * output never depends on the TZ environment or on tzdata being installed.
 */
#include <stdio.h>
#include <time.h>

#include "clock.h"

static int64_t
sys_wall(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
sys_mono(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct lc_clock system_clock = { sys_wall, sys_mono, NULL };

const struct lc_clock *
clock_system(void)
{
	return &system_clock;
}

static int64_t
v_wall(void *ctx)
{
	return ((struct vclock *)ctx)->wall;
}

static int64_t
v_mono(void *ctx)
{
	return ((struct vclock *)ctx)->mono;
}

void
vclock_init(struct vclock *vc, int64_t wall_ms)
{
	vc->clock.wall_ms = v_wall;
	vc->clock.mono_ms = v_mono;
	vc->clock.ctx = vc;
	vc->wall = wall_ms;
	vc->mono = 1000000;	/* arbitrary, non-zero: code must not assume 0 */
}

void
vclock_advance(struct vclock *vc, int64_t ms)
{
	vc->wall += ms;
	vc->mono += ms;
}

int64_t
clock_days_from_civil(int y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void
clock_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

static void
split(int64_t ms, int *y, unsigned *mo, unsigned *d, int *h, int *mi, int *s)
{
	int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int64_t days = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
	int64_t rem = sec - days * 86400;

	clock_civil_from_days(days, y, mo, d);
	*h = (int)(rem / 3600);
	*mi = (int)(rem % 3600 / 60);
	*s = (int)(rem % 60);
}

char *
clock_fmt_local(int64_t utc_ms, char *buf, size_t cap)
{
	int y, h, mi, s;
	unsigned mo, d;

	split(utc_ms + CLOCK_LOCAL_OFFSET_MS, &y, &mo, &d, &h, &mi, &s);
	snprintf(buf, cap, "%04d-%02u-%02u %02d:%02d:%02d +08:00", y, mo, d, h, mi, s);
	return buf;
}

char *
clock_fmt_hms(int64_t utc_ms, char *buf, size_t cap)
{
	int y, h, mi, s;
	unsigned mo, d;

	split(utc_ms + CLOCK_LOCAL_OFFSET_MS, &y, &mo, &d, &h, &mi, &s);
	snprintf(buf, cap, "%02d:%02d:%02d", h, mi, s);
	return buf;
}

char *
clock_fmt_iso(int64_t utc_ms, char *buf, size_t cap)
{
	int y, h, mi, s;
	unsigned mo, d;
	int64_t msec = ((utc_ms % 1000) + 1000) % 1000;

	split(utc_ms, &y, &mo, &d, &h, &mi, &s);
	snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s,
	    (int)msec);
	return buf;
}
