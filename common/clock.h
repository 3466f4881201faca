/*
 * clock.h: injectable clocks and time formatting.
 *
 * Everything stored is UTC epoch milliseconds (int64_t). Everything shown to a
 * person is Asia/Shanghai (UTC+8, no daylight saving since 1991), formatted here
 * so no module depends on the process's TZ.
 *
 * Modules that judge time (SLA engine, arrival detector, journal) take a
 * `const struct lc_clock *`; the daemons pass clock_system(), unit tests pass a
 * virtual clock they advance by hand, so no test sleeps.
 */
#ifndef LC_CLOCK_H
#define LC_CLOCK_H

#include <stddef.h>
#include <stdint.h>

struct lc_clock {
	int64_t (*wall_ms)(void *ctx);	/* UTC epoch ms (CLOCK_REALTIME) */
	int64_t (*mono_ms)(void *ctx);	/* monotonic ms, CLOCK_BOOTTIME: counts in suspend */
	void	 *ctx;
};

/* The process's real clocks. The returned object is static and immutable. */
const struct lc_clock *clock_system(void);

static inline int64_t clock_wall(const struct lc_clock *c) { return c->wall_ms(c->ctx); }
static inline int64_t clock_mono(const struct lc_clock *c) { return c->mono_ms(c->ctx); }

/* A virtual clock for tests: both readings move only by vclock_advance(). */
struct vclock {
	struct lc_clock	clock;	/* pass &vc.clock to the module under test */
	int64_t		wall;
	int64_t		mono;
};
void vclock_init(struct vclock *vc, int64_t wall_ms);
void vclock_advance(struct vclock *vc, int64_t ms);

#define CLOCK_LOCAL_OFFSET_MS	(8 * 3600 * 1000LL)	/* Asia/Shanghai, UTC+8 */
#define CLOCK_FMT_MAX		40

/* "2026-11-25 17:03:44 +08:00" (Asia/Shanghai). Returns buf. */
char *clock_fmt_local(int64_t utc_ms, char *buf, size_t cap);
/* "17:03:44" (Asia/Shanghai), for live views. Returns buf. */
char *clock_fmt_hms(int64_t utc_ms, char *buf, size_t cap);
/* "2026-11-25T09:03:44.123Z" (UTC, ISO 8601), for logs that cross systems. */
char *clock_fmt_iso(int64_t utc_ms, char *buf, size_t cap);

/* Calendar conversions in UTC (proleptic Gregorian, no libc TZ state). */
int64_t clock_days_from_civil(int y, unsigned m, unsigned d);
void	clock_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);

#endif
