/*
 * cluster.c: open repair reports that are probably one outage.
 *
 * Does: single-linkage clustering of reports in space and time. Two reports are
 * linked when they are within radius_m (great circle) and window_ms of each
 * other; clusters are the connected sets (union-find). Candidate pairs come
 * from a grid: cells at least radius_m tall and wide everywhere in the data
 * (the cell width in degrees of longitude is sized at the highest latitude
 * present), so linked reports always sit in the same or adjacent cells. The
 * reports are sorted by (cell, time); each one binary-searches the 3 x 3 cells
 * around it for the reports within the time window, so spread-out reports cost
 * O(n log n) and only truly dense ones approach O(n^2).
 * Does not: link across the antimeridian or over a pole cap above 89 degrees
 * (one wide column there instead, still correct, just slower); decide anything:
 * a cluster is a candidate the supervisor confirms.
 *
 * Why single linkage: a line fault darkens a street, and the calls arrive along
 * it over some minutes; a chain of neighbours is exactly that shape, where a
 * fixed-centre method would split it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "maps.h"

#define MEAN_RADIUS_M		6371008.8
#define CLUSTER_MAX_RADIUS_M	100000.0
#define CLUSTER_POLE_LAT_DEG	89.0
#define CLUSTER_CELL_SLACK	1.001	/* cells a hair bigger than the radius */

struct centry {
	int64_t	cx, cy, t;
	size_t	i;
};

static long
cl_fail(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static long
cl_fail(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errcap > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
key_cmp(int64_t ax, int64_t ay, int64_t at, int64_t bx, int64_t by, int64_t bt)
{
	if (ax != bx)
		return ax < bx ? -1 : 1;
	if (ay != by)
		return ay < by ? -1 : 1;
	if (at != bt)
		return at < bt ? -1 : 1;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct centry *x = a, *y = b;
	int c = key_cmp(x->cx, x->cy, x->t, y->cx, y->cy, y->t);

	return c != 0 ? c : (x->i < y->i ? -1 : x->i > y->i);
}

/* First entry not less than (cx, cy, t). */
static size_t
lower_bound(const struct centry *e, size_t n, int64_t cx, int64_t cy, int64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(e[mid].cx, e[mid].cy, e[mid].t, cx, cy, t) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t
uf_find(size_t *parent, size_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];	/* path halving */
		x = parent[x];
	}
	return x;
}

static void
uf_union(size_t *parent, size_t a, size_t b)
{
	a = uf_find(parent, a);
	b = uf_find(parent, b);
	if (a != b) {
		if (a < b)
			parent[b] = a;
		else
			parent[a] = b;
	}
}

/* Cluster reports (contract in maps.h). */
long
maps_cluster(const struct maps_report *rep, size_t n, double radius_m,
    int64_t window_ms, int *ids, char *err, size_t errcap)
{
	struct centry *e;
	size_t *parent, i;
	double maxlat = 0, h_deg, w_deg, edge;
	long nclust = 0;

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (!(radius_m > 0 && radius_m <= CLUSTER_MAX_RADIUS_M))
		return cl_fail(err, errcap, "radius_m: must be in (0, %g]", CLUSTER_MAX_RADIUS_M);
	if (window_ms < 0)
		return cl_fail(err, errcap, "window_ms: must be >= 0");
	if (n == 0)
		return 0;
	if (rep == NULL || ids == NULL || n > (size_t)INT32_MAX)
		return cl_fail(err, errcap, "reports: NULL or too many");
	for (i = 0; i < n; i++) {
		if (!isfinite(rep[i].lat) || fabs(rep[i].lat) > 90.0)
			return cl_fail(err, errcap, "reports[%zu].lat: not a latitude", i);
		if (!isfinite(rep[i].lon) || fabs(rep[i].lon) > 180.0)
			return cl_fail(err, errcap, "reports[%zu].lon: not a longitude", i);
		maxlat = fmax(maxlat, fabs(rep[i].lat));
	}
	h_deg = radius_m / (MEAN_RADIUS_M * M_PI / 180.0) * CLUSTER_CELL_SLACK;
	edge = maxlat + h_deg;
	w_deg = edge >= CLUSTER_POLE_LAT_DEG ? 400.0 : h_deg / cos(edge * M_PI / 180.0);

	if ((e = malloc(n * sizeof(*e))) == NULL)
		return cl_fail(err, errcap, "reports: out of memory");
	if ((parent = malloc(n * sizeof(*parent))) == NULL) {
		free(e);
		return cl_fail(err, errcap, "reports: out of memory");
	}
	for (i = 0; i < n; i++) {
		e[i].cx = (int64_t)floor(rep[i].lon / w_deg);
		e[i].cy = (int64_t)floor(rep[i].lat / h_deg);
		e[i].t = rep[i].at_ms;
		e[i].i = i;
		parent[i] = i;
	}
	if (n > 0)
		qsort(e, n, sizeof(*e), entry_cmp);
	for (i = 0; i < n; i++) {
		const struct maps_report *a = &rep[e[i].i];
		/* saturate so t +- window cannot overflow */
		int64_t t0 = e[i].t < INT64_MIN + window_ms ? INT64_MIN : e[i].t - window_ms;
		int64_t t1 = e[i].t > INT64_MAX - window_ms ? INT64_MAX : e[i].t + window_ms;

		for (int dx = -1; dx <= 1; dx++) {
			for (int dy = -1; dy <= 1; dy++) {
				int64_t cx = e[i].cx + dx, cy = e[i].cy + dy;

				for (size_t j = lower_bound(e, n, cx, cy, t0);
				    j < n && e[j].cx == cx && e[j].cy == cy && e[j].t <= t1; j++) {
					const struct maps_report *b = &rep[e[j].i];

					if (e[j].i <= e[i].i)
						continue;	/* each pair once */
					if (maps_haversine_m(a->lat, a->lon, b->lat, b->lon) <=
					    radius_m)
						uf_union(parent, e[i].i, e[j].i);
				}
			}
		}
	}
	/* Number clusters by their first report; roots are the smallest index. */
	for (i = 0; i < n; i++) {
		size_t r = uf_find(parent, i);

		ids[i] = r == i ? (int)nclust++ : ids[r];
	}
	free(e);
	free(parent);
	return nclust;
}
