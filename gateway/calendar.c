/*
 * calendar.c: working days and shifts.
 *
 * A calendar file (gateway/data/calendar.conf, README "Working days") lists
 * the public holidays and the weekend days made working days (调休) of each
 * year the State Council has announced. Deadlines of 1, 3 or 10 working days
 * (第十九条) count on it: the n-th working day after the day a stage starts,
 * to the end of that day, Asia/Shanghai. Shifts (当班) split each local day at
 * configured start times; an order belongs to the shift it was recorded in.
 *
 * This module reads its file once at start-up and then only answers
 * questions; it does not log (errors come back as text) and holds no state
 * beyond the calendar the caller owns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#define CAL_DAYS_MAX	2048	/* holiday and make-up days, all years */
#define CAL_YEARS_MAX	64
#define MS_PER_DAY	86400000LL
#define CAL_SCAN_MAX	3660	/* days looked ahead for working days: 10 years */

struct calendar {
	int64_t	off[CAL_DAYS_MAX];	/* holidays (local day numbers), sorted */
	int	noff;
	int64_t	on[CAL_DAYS_MAX];	/* weekend days that are working days, sorted */
	int	non;
	int	years[CAL_YEARS_MAX];
	int	nyears;
};

int64_t
calendar_local_day(int64_t t_ms)
{
	int64_t l = t_ms + CLOCK_LOCAL_OFFSET_MS;
	int64_t d = l / MS_PER_DAY;

	if (l % MS_PER_DAY < 0)
		d--;
	return d;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
has(const int64_t *v, int n, int64_t day)
{
	return bsearch(&day, v, (size_t)n, sizeof(*v), cmp64) != NULL;
}

/* "2026-02-15" -> local day number. 0 / -1. */
static int
parse_date(const char *s, int64_t *day, int *year)
{
	int y, m, d, n = 0;
	int yy;
	unsigned mm, dd;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || s[n] != '\0' || n != 10)
		return -1;
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	*day = clock_days_from_civil(y, (unsigned)m, (unsigned)d);
	clock_civil_from_days(*day, &yy, &mm, &dd);
	if (yy != y || mm != (unsigned)m || dd != (unsigned)d)	/* 2026-02-30 */
		return -1;
	*year = y;
	return 0;
}

static int
add_day(int64_t *v, int *n, int64_t day)
{
	if (*n >= CAL_DAYS_MAX)
		return -1;
	v[(*n)++] = day;
	return 0;
}

int
calendar_load(const char *path, struct calendar **out, char *err, size_t cap)
{
	struct calendar *c;
	char line[512];
	FILE *f;
	int lineno = 0, rc = -1;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, cap, "%s: out of memory", path);
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *w[3] = { NULL, NULL, NULL }, *p = line, *save = NULL;
		int64_t d1, d2;
		int y1, y2, nw = 0;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, cap, "%s:%d: line too long", path, lineno);
			goto out;
		}
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = strtok_r(line, " \t\r\n", &save); p && nw < 3;
		    p = strtok_r(NULL, " \t\r\n", &save))
			w[nw++] = p;
		if (nw == 0)
			continue;
		if (strcmp(w[0], "year") == 0) {
			char *end;
			long y;

			errno = 0;
			y = nw >= 2 ? strtol(w[1], &end, 10) : 0;
			if (nw < 2 || errno || *end != '\0' || y < 1970 || y > 9999) {
				snprintf(err, cap, "%s:%d: year: expects a year 1970..9999", path,
				    lineno);
				goto out;
			}
			if (c->nyears >= CAL_YEARS_MAX) {
				snprintf(err, cap, "%s:%d: more than %d years", path, lineno,
				    CAL_YEARS_MAX);
				goto out;
			}
			c->years[c->nyears++] = (int)y;
		} else if (strcmp(w[0], "holiday") == 0 || strcmp(w[0], "workday") == 0) {
			int holiday = w[0][0] == 'h';

			if (nw < 2 || parse_date(w[1], &d1, &y1) == -1) {
				snprintf(err, cap, "%s:%d: %s: expects a date YYYY-MM-DD", path,
				    lineno, w[0]);
				goto out;
			}
			d2 = d1;
			y2 = y1;
			/* holiday FIRST [LAST] name...: a third word that is a date ends
			 * the range; anything else is the holiday's name. */
			if (holiday && nw == 3 && w[2][0] >= '0' && w[2][0] <= '9' &&
			    parse_date(w[2], &d2, &y2) == -1) {
				snprintf(err, cap, "%s:%d: holiday: bad last date \"%s\"", path,
				    lineno, w[2]);
				goto out;
			}
			if (d2 < d1 || d2 - d1 > 31) {
				snprintf(err, cap, "%s:%d: holiday: the range must be 1..32 days",
				    path, lineno);
				goto out;
			}
			for (int64_t d = d1; d <= d2; d++) {
				int64_t wd = ((d % 7) + 10) % 7;	/* 0 = Monday */

				if (!holiday && wd < 5) {
					snprintf(err, cap, "%s:%d: workday: %s is not a Saturday "
					    "or Sunday", path, lineno, w[1]);
					goto out;
				}
				if (add_day(holiday ? c->off : c->on, holiday ? &c->noff : &c->non,
				    d) == -1) {
					snprintf(err, cap, "%s:%d: more than %d days", path, lineno,
					    CAL_DAYS_MAX);
					goto out;
				}
			}
		} else {
			snprintf(err, cap, "%s:%d: unknown keyword \"%s\" (year, holiday, workday)",
			    path, lineno, w[0]);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, cap, "%s: read error", path);
		goto out;
	}
	if (c->noff > 0)	/* qsort wants a valid pointer even for no elements */
		qsort(c->off, (size_t)c->noff, sizeof(c->off[0]), cmp64);
	if (c->non > 0)
		qsort(c->on, (size_t)c->non, sizeof(c->on[0]), cmp64);
	for (int i = 0; i < c->non; i++)
		if (has(c->off, c->noff, c->on[i])) {
			snprintf(err, cap, "%s: a day is both a holiday and a workday", path);
			goto out;
		}
	*out = c;
	c = NULL;
	rc = 0;
out:
	free(c);
	fclose(f);
	return rc;
}

void
calendar_free(struct calendar *c)
{
	free(c);
}

int
calendar_covers(const struct calendar *c, int year)
{
	if (c == NULL)
		return 0;
	for (int i = 0; i < c->nyears; i++)
		if (c->years[i] == year)
			return 1;
	return 0;
}

int
calendar_is_workday(const struct calendar *c, int64_t day)
{
	int64_t wd = ((day % 7) + 10) % 7;	/* 1970-01-01 was a Thursday; 0 = Monday */

	if (c != NULL && has(c->on, c->non, day))
		return 1;
	if (wd >= 5)
		return 0;
	return c == NULL || !has(c->off, c->noff, day);
}

int64_t
calendar_add_workdays(const struct calendar *c, int64_t t_ms, int n)
{
	int64_t day = calendar_local_day(t_ms);

	if (n <= 0)
		return t_ms;
	for (int i = 0; i < CAL_SCAN_MAX && n > 0; i++) {
		day++;
		if (calendar_is_workday(c, day))
			n--;
	}
	/* The end of that day: the next local midnight, in UTC. */
	return (day + 1) * MS_PER_DAY - CLOCK_LOCAL_OFFSET_MS;
}

void
calendar_shift(const struct gw_shifts *s, int64_t t_ms, int64_t *start, int64_t *end)
{
	int64_t day = calendar_local_day(t_ms);
	int64_t midnight = day * MS_PER_DAY - CLOCK_LOCAL_OFFSET_MS;
	int64_t best = 0, next = 0;
	int found = 0;

	if (s == NULL || s->n == 0) {
		*start = midnight;
		*end = midnight + MS_PER_DAY;
		return;
	}
	/* Candidates: today's starts and yesterday's last (a night shift that
	 * began before midnight); tomorrow's first ends today's last. */
	for (int d = -1; d <= 1; d++)
		for (int i = 0; i < s->n; i++) {
			int64_t st = midnight + d * MS_PER_DAY + s->start_min[i] * 60000LL;

			if (st <= t_ms && (!found || st > best)) {
				best = st;
				found = 1;
			}
			if (st > t_ms && (next == 0 || st < next))
				next = st;
		}
	*start = best;
	*end = next;
}
