/*
 * svg.c: a map as SVG for the dispatcher's board and for reports.
 *
 * Does: fits a WGS-84 box into a pixel viewport by an equirectangular or Web
 * Mercator projection; simplifies zone rings with Douglas-Peucker to a pixel
 * tolerance (iteratively, caller-supplied stack); writes one SVG document with
 * the zone polygons (filled by class, even-odd for holes, the name as a
 * tooltip), the open orders as circles coloured by time left, the crews as
 * squares labelled with their id and the age of their last position, and a
 * legend. All text goes through XML escaping.
 * Does not: I/O (the caller serves or saves the buffer), tiles or base maps,
 * label placement beyond a fixed offset, or times of day (ages and time left
 * are durations, so no time zone is involved).
 *
 * Why simplify in pixels: the county file has ~29,000 vertices; at board size
 * most of them fall within a pixel of their neighbours. A tolerance in pixels
 * keeps what is visible at any zoom and drops the rest (about 90 % at 1000 px
 * for the real Inner Mongolia counties).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "maps.h"

#define MERC_MAX_LAT_DEG	85.05112878
#define SVG_ORDER_R_PX		5.0
#define SVG_CREW_PX		8.0
#define SVG_POINT_PAD_DEG	0.01
#define MIN_MS			60000
#define SVG_LATE_SOON_MIN	30
#define SVG_LATE_LATER_MIN	120

static double
deg2rad(double d)
{
	return d * (M_PI / 180.0);
}

/* Projected coordinates (before scaling). */
static void
proj_raw(enum maps_proj_kind kind, double coslat, double lat, double lon, double *x,
    double *y)
{
	if (kind == MAPS_PROJ_MERCATOR) {
		lat = fmax(-MERC_MAX_LAT_DEG, fmin(MERC_MAX_LAT_DEG, lat));
		*x = deg2rad(lon);
		*y = log(tan(M_PI / 4.0 + deg2rad(lat) / 2.0));
	} else {
		*x = lon * coslat;
		*y = lat;
	}
}

/* Fit a box into a viewport (contract in maps.h). */
int
maps_proj_fit(struct maps_proj *p, enum maps_proj_kind kind, double minlat, double minlon,
    double maxlat, double maxlon, double width, double height, double margin_px)
{
	double x0, y0, x1, y1, aw, ah, sx, sy;

	if (!isfinite(minlat) || !isfinite(minlon) || !isfinite(maxlat) || !isfinite(maxlon) ||
	    !isfinite(width) || !isfinite(height) || !isfinite(margin_px) || margin_px < 0 ||
	    minlat > maxlat || minlon > maxlon || fabs(minlat) > 90 || fabs(maxlat) > 90 ||
	    fabs(minlon) > 180 || fabs(maxlon) > 180 ||
	    (kind != MAPS_PROJ_EQUIRECT && kind != MAPS_PROJ_MERCATOR))
		return -1;
	aw = width - 2 * margin_px;
	ah = height - 2 * margin_px;
	if (aw < 1 || ah < 1)
		return -1;
	p->kind = kind;
	p->width = width;
	p->height = height;
	p->coslat = cos(deg2rad((minlat + maxlat) / 2));
	proj_raw(kind, p->coslat, minlat, minlon, &x0, &y0);
	proj_raw(kind, p->coslat, maxlat, maxlon, &x1, &y1);
	if (!(x1 - x0 > 0) && !(y1 - y0 > 0))
		return -1;	/* a single point: no scale */
	sx = x1 - x0 > 0 ? aw / (x1 - x0) : INFINITY;
	sy = y1 - y0 > 0 ? ah / (y1 - y0) : INFINITY;
	p->scale = fmin(sx, sy);
	/* centre the box: top-left in projected units */
	p->x0 = x0 - (width / p->scale - (x1 - x0)) / 2;
	p->y0 = y1 + (height / p->scale - (y1 - y0)) / 2;
	return 0;
}

/* Pixel position of (lat, lon) under p; y grows downwards. */
void
maps_proj_point(const struct maps_proj *p, double lat, double lon, double *x, double *y)
{
	double px, py;

	proj_raw(p->kind, p->coslat, lat, lon, &px, &py);
	*x = (px - p->x0) * p->scale;
	*y = (p->y0 - py) * p->scale;
}

/* Distance from (px, py) to the segment a-b; to a itself when a == b. */
static double
seg_dist(double px, double py, double ax, double ay, double bx, double by)
{
	double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy, t;

	if (l2 == 0)
		return hypot(px - ax, py - ay);
	t = ((px - ax) * dx + (py - ay) * dy) / l2;
	t = fmax(0, fmin(1, t));
	return hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/* Douglas-Peucker (contract in maps.h). */
size_t
maps_simplify(const double *xy, size_t n, double tol, unsigned char *keep, size_t *stack)
{
	size_t anchor = 0, sp = 0, kept = 0;

	if (n == 0)
		return 0;
	memset(keep, 0, n);
	keep[0] = keep[n - 1] = 1;
	if (n <= 2)
		return n;
	stack[sp++] = n - 1;
	while (sp > 0) {
		size_t fl = stack[sp - 1], idx = 0;
		double maxd = -1;

		for (size_t i = anchor + 1; i < fl; i++) {
			double d = seg_dist(xy[2 * i], xy[2 * i + 1], xy[2 * anchor],
			    xy[2 * anchor + 1], xy[2 * fl], xy[2 * fl + 1]);

			if (d > maxd) {
				maxd = d;
				idx = i;
			}
		}
		if (maxd > tol) {
			keep[idx] = 1;
			stack[sp++] = idx;
		} else {
			anchor = fl;
			sp--;
		}
	}
	for (size_t i = 0; i < n; i++)
		kept += keep[i];
	return kept;
}

/* 1000 x 800 px, 20 px margin, Web Mercator, 0.75 px tolerance, box from the data. */
void
maps_svg_defaults(struct maps_svg_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->width = 1000;
	o->height = 800;
	o->margin_px = 20;
	o->proj = MAPS_PROJ_MERCATOR;
	o->tol_px = 0.75;
	o->title = "Linecrew";
	o->minlat = o->minlon = o->maxlat = o->maxlon = NAN;
}

static const char *
zone_fill(enum maps_zone z)
{
	switch (z) {
	case MAPS_ZONE_URBAN:	return "#cbc3e3";	/* not an order colour */
	case MAPS_ZONE_RURAL:	return "#d9f0d3";
	case MAPS_ZONE_REMOTE:	return "#e0d8c0";
	}
	return "#ffffff";
}

/* Colour by minutes left until the next deadline. */
static const char *
left_colour(int64_t left_ms)
{
	if (left_ms < 0)
		return "#d7191c";
	if (left_ms < SVG_LATE_SOON_MIN * (int64_t)MIN_MS)
		return "#fdae61";
	if (left_ms < SVG_LATE_LATER_MIN * (int64_t)MIN_MS)
		return "#e6c700";
	return "#1a9641";
}

/* Box from the points when neither the options nor the zones give one. */
static int
points_box(const struct maps_svg_order *o, size_t no, const struct maps_svg_crew *c,
    size_t nc, double *b)
{
	b[0] = b[1] = INFINITY;
	b[2] = b[3] = -INFINITY;
	for (size_t i = 0; i < no + nc; i++) {
		double lat = i < no ? o[i].lat : c[i - no].lat;
		double lon = i < no ? o[i].lon : c[i - no].lon;

		if (!isfinite(lat) || !isfinite(lon))
			continue;
		b[0] = fmin(b[0], lat);
		b[1] = fmin(b[1], lon);
		b[2] = fmax(b[2], lat);
		b[3] = fmax(b[3], lon);
	}
	if (!isfinite(b[0]))
		return -1;
	b[0] -= SVG_POINT_PAD_DEG;
	b[1] -= SVG_POINT_PAD_DEG;
	b[2] += SVG_POINT_PAD_DEG;
	b[3] += SVG_POINT_PAD_DEG;
	return 0;
}

/* Project ring r of polygon i, closed (n + 1 points), into pts and simplify it.
 * Returns the points kept (4 or more for a visible ring). */
static size_t
ring_simplified(const struct maps_proj *pj, const struct maps_zones *z, size_t i, size_t r,
    double tol, double *pts, unsigned char *keep, size_t *stack)
{
	const double *xy;
	size_t n, k;

	if (maps_zones_ring(z, i, r, &xy, &n) == -1)
		return 0;
	for (k = 0; k <= n; k++)
		maps_proj_point(pj, xy[2 * (k % n) + 1], xy[2 * (k % n)], &pts[2 * k],
		    &pts[2 * k + 1]);
	return maps_simplify(pts, n + 1, tol, keep, stack);
}

/* The zone polygons, each ring simplified; scratch sized for the largest ring. */
static enum maps_err
svg_zones(struct maps_buf *out, const struct maps_proj *pj, const struct maps_zones *z,
    double tol)
{
	size_t np = maps_zones_polygons(z), maxn = 0, i, r;
	double *pts;
	unsigned char *keep;
	size_t *stack;

	for (i = 0; i < np; i++) {
		enum maps_zone zn;
		const char *name;
		size_t nr, n;
		const double *xy;

		maps_zones_polygon(z, i, &zn, &name, &nr);
		for (r = 0; r < nr; r++)
			if (maps_zones_ring(z, i, r, &xy, &n) == 0 && n > maxn)
				maxn = n;
	}
	maxn++;		/* the closing vertex */
	pts = malloc(maxn * 2 * sizeof(*pts));
	keep = malloc(maxn);
	stack = malloc(maxn * sizeof(*stack));
	if (pts == NULL || keep == NULL || stack == NULL) {
		free(pts);
		free(keep);
		free(stack);
		return MAPS_E_NOMEM;
	}
	maps_buf_printf(out, "<g id=\"zones\" stroke=\"#666666\" stroke-width=\"0.6\" "
	    "fill-rule=\"evenodd\">\n");
	for (i = 0; i < np; i++) {
		enum maps_zone zn;
		const char *name;
		size_t nr;

		maps_zones_polygon(z, i, &zn, &name, &nr);
		if (ring_simplified(pj, z, i, 0, tol, pts, keep, stack) < 4)
			continue;	/* the shell is invisible, so are its holes */
		maps_buf_printf(out, "<path class=\"%s\" fill=\"%s\" d=\"", maps_zone_name(zn),
		    zone_fill(zn));
		for (r = 0; r < nr; r++) {
			const double *xy;
			size_t n, k, m = 0;

			if (maps_zones_ring(z, i, r, &xy, &n) == -1 ||
			    ring_simplified(pj, z, i, r, tol, pts, keep, stack) < 4)
				continue;	/* a hole smaller than the tolerance */
			for (k = 0; k < n; k++) {
				if (!keep[k])
					continue;
				maps_buf_printf(out, "%s%.1f %.1f", m++ ? " L" : "M",
				    pts[2 * k], pts[2 * k + 1]);
			}
			maps_buf_put(out, "Z", 1);
		}
		maps_buf_put(out, "\"><title>", 9);
		maps_buf_xml(out, name);
		maps_buf_printf(out, " (%s)</title></path>\n", maps_zone_name(zn));
	}
	maps_buf_printf(out, "</g>\n");
	free(pts);
	free(keep);
	free(stack);
	return MAPS_OK;
}

/* A duration in minutes as "N min" (or "N h" from 2 h), for labels. */
static void
svg_minutes(struct maps_buf *out, int64_t ms)
{
	int64_t m = ms / MIN_MS;

	if (m >= 120 || m <= -120)
		maps_buf_printf(out, "%lld h", (long long)(m / 60));
	else
		maps_buf_printf(out, "%lld min", (long long)m);
}

/* Render (contract in maps.h). */
enum maps_err
maps_svg_render(struct maps_buf *out, const struct maps_svg_opts *o,
    const struct maps_zones *zones, const struct maps_svg_order *orders, size_t norders,
    const struct maps_svg_crew *crews, size_t ncrews, int64_t now_ms)
{
	struct maps_proj pj;
	double b[4] = { o->minlat, o->minlon, o->maxlat, o->maxlon }, x, y;
	enum maps_err e;
	size_t i;

	if (!(o->tol_px >= 0) || (norders > 0 && orders == NULL) || (ncrews > 0 && crews == NULL))
		return MAPS_E_ARG;
	if (!isfinite(b[0]) || !isfinite(b[1]) || !isfinite(b[2]) || !isfinite(b[3])) {
		if (maps_zones_bounds(zones, &b[0], &b[1], &b[2], &b[3]) == -1 &&
		    points_box(orders, norders, crews, ncrews, b) == -1)
			return MAPS_E_ARG;
	}
	if (maps_proj_fit(&pj, o->proj, b[0], b[1], b[2], b[3], o->width, o->height,
	    o->margin_px) == -1)
		return MAPS_E_ARG;

	maps_buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	    "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n<title>",
	    o->width, o->height, o->width, o->height);
	maps_buf_xml(out, o->title != NULL ? o->title : "Linecrew");
	maps_buf_printf(out, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fbfbf8\"/>\n");
	if (zones != NULL && (e = svg_zones(out, &pj, zones, o->tol_px)) != MAPS_OK)
		return e;

	maps_buf_printf(out, "<g id=\"orders\" stroke=\"#222222\" stroke-width=\"1\">\n");
	for (i = 0; i < norders; i++) {
		const struct maps_svg_order *od = &orders[i];
		int64_t left = od->due_ms - now_ms;

		if (!isfinite(od->lat) || !isfinite(od->lon))
			continue;
		maps_proj_point(&pj, od->lat, od->lon, &x, &y);
		maps_buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.0f\" fill=\"%s\">"
		    "<title>", x, y, SVG_ORDER_R_PX, left_colour(left));
		maps_buf_xml(out, od->id != NULL ? od->id : "");
		maps_buf_put(out, left < 0 ? ": overdue " : ": ", left < 0 ? 10 : 2);
		svg_minutes(out, left < 0 ? -left : left);
		maps_buf_printf(out, "%s</title></circle>\n", left < 0 ? "" : " left");
	}
	maps_buf_printf(out, "</g>\n<g id=\"crews\" font-size=\"11\">\n");
	for (i = 0; i < ncrews; i++) {
		const struct maps_svg_crew *c = &crews[i];

		if (!isfinite(c->lat) || !isfinite(c->lon))
			continue;
		maps_proj_point(&pj, c->lat, c->lon, &x, &y);
		maps_buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" "
		    "fill=\"#2c7bb6\" stroke=\"#ffffff\"/><text x=\"%.1f\" y=\"%.1f\">",
		    x - SVG_CREW_PX / 2, y - SVG_CREW_PX / 2, SVG_CREW_PX, SVG_CREW_PX,
		    x + SVG_CREW_PX, y + 4);
		maps_buf_xml(out, c->id != NULL ? c->id : "");
		maps_buf_put(out, " \xc2\xb7 ", 4);	/* U+00B7 middle dot */
		svg_minutes(out, now_ms > c->pos_ms ? now_ms - c->pos_ms : 0);
		maps_buf_printf(out, "</text>\n");
	}
	maps_buf_printf(out, "</g>\n<g id=\"legend\" font-size=\"11\">\n"
	    "<circle cx=\"14\" cy=\"14\" r=\"5\" fill=\"#d7191c\"/><text x=\"24\" y=\"18\">overdue</text>\n"
	    "<circle cx=\"94\" cy=\"14\" r=\"5\" fill=\"#fdae61\"/><text x=\"104\" y=\"18\">&lt; 30 min</text>\n"
	    "<circle cx=\"174\" cy=\"14\" r=\"5\" fill=\"#e6c700\"/><text x=\"184\" y=\"18\">&lt; 2 h</text>\n"
	    "<circle cx=\"244\" cy=\"14\" r=\"5\" fill=\"#1a9641\"/><text x=\"254\" y=\"18\">later</text>\n"
	    "<rect x=\"310\" y=\"10\" width=\"8\" height=\"8\" fill=\"#2c7bb6\"/>"
	    "<text x=\"324\" y=\"18\">crew \xc2\xb7 position age</text>\n"
	    "<rect x=\"10\" y=\"28\" width=\"10\" height=\"8\" fill=\"#cbc3e3\" stroke=\"#666666\"/>"
	    "<text x=\"24\" y=\"36\">urban zone</text>\n"
	    "<rect x=\"94\" y=\"28\" width=\"10\" height=\"8\" fill=\"#d9f0d3\" stroke=\"#666666\"/>"
	    "<text x=\"108\" y=\"36\">rural</text>\n"
	    "<rect x=\"174\" y=\"28\" width=\"10\" height=\"8\" fill=\"#e0d8c0\" stroke=\"#666666\"/>"
	    "<text x=\"188\" y=\"36\">remote</text>\n</g>\n</svg>\n");
	return out->full ? MAPS_E_FULL : MAPS_OK;
}
