/*
 * svg.c: a map as SVG for the dispatcher's board and for reports.
 *
 * Does: fits a WGS-84 box into a pixel viewport by an equirectangular or Web
 * Mercator projection; simplifies zone rings with Douglas-Peucker to a pixel
 * tolerance (iteratively, caller-supplied stack); writes one SVG document with
 * the zone polygons (filled by class, even-odd for holes, the name as a
 * tooltip), the open orders as circles coloured by time left, the crews as
 * squares labelled with their id and the age of their last position, and a
 * legend; optionally (the order page) circles of a ground radius (geofences),
 * polylines (tracks, simplified like the rings), labelled marks, and one
 * focused order with the others dimmed. All text goes through XML escaping.
 * The words it writes come from a label table in the options: English and
 * Simplified Chinese are defined here as const data; choosing one is the
 * caller's business (the library reads no locale).
 * Does not: I/O (the caller serves or saves the buffer), tiles or base maps,
 * label placement beyond a fixed offset, or times of day (ages and time left
 * are durations, so no time zone is involved; the caller writes the times of
 * its marks' tooltips).
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
#define SVG_MARK_R_PX		4.0
#define SVG_M_PER_DEG_LAT	111194.93	/* mean-radius sphere: 6371008.8 m * pi / 180 */

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

const struct maps_svg_labels maps_svg_labels_en = {
	.min = "min", .hour = "h",
	.left_pre = ": ", .left_post = " left",
	.over_pre = ": overdue ", .over_post = "",
	.no_due = ": no deadline pending",
	.overdue = "overdue", .later = "later",
	.crew_age = "crew \xc2\xb7 position age",	/* U+00B7 middle dot */
	.zone = { "urban", "rural", "remote" },
	.zone_legend = { "urban zone", "rural", "remote" },
	.track = "track", .geofence = "geofence",
};

/* The pages' terms (gateway/web/i18n.js zone.*, col.pos_age, desk.overdue),
 * so the map and the page beside it say the same. No longer than the English
 * on screen: the legend's places are fixed. */
const struct maps_svg_labels maps_svg_labels_zh = {
	.min = "分钟", .hour = "小时",
	.left_pre = "：剩余 ", .left_post = "",
	.over_pre = "：已超时 ", .over_post = "",
	.no_due = "：无待到期时限",
	.overdue = "已超时", .later = "充裕",
	.crew_age = "班组 \xc2\xb7 位置时效",
	.zone = { "城区", "农村", "边远地区" },
	.zone_legend = { "城区", "农村", "边远地区" },
	.track = "轨迹", .geofence = "电子围栏",
};

/* Every word set: a table with a hole would write "(null)" or crash. */
static int
labels_ok(const struct maps_svg_labels *l)
{
	if (l == NULL || l->min == NULL || l->hour == NULL || l->left_pre == NULL ||
	    l->left_post == NULL || l->over_pre == NULL || l->over_post == NULL ||
	    l->no_due == NULL || l->overdue == NULL || l->later == NULL ||
	    l->crew_age == NULL || l->track == NULL || l->geofence == NULL)
		return 0;
	for (int i = 0; i < 3; i++)
		if (l->zone[i] == NULL || l->zone_legend[i] == NULL)
			return 0;
	return 1;
}

/* 1000 x 800 px, 20 px margin, Web Mercator, 0.75 px tolerance, box from the
 * data, English words. */
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
	o->labels = &maps_svg_labels_en;
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

/* Colour by minutes left until the next deadline; grey for none pending. */
static const char *
left_colour(int64_t due_ms, int64_t left_ms)
{
	if (due_ms <= 0)
		return "#999999";
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
    double tol, const struct maps_svg_labels *lb)
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
		maps_buf_put(out, " (", 2);
		maps_buf_xml(out, lb->zone[zn]);
		maps_buf_printf(out, ")</title></path>\n");
	}
	maps_buf_printf(out, "</g>\n");
	free(pts);
	free(keep);
	free(stack);
	return MAPS_OK;
}

/* Circles of a radius on the ground: the radius in pixels is the projected
 * distance to the point radius_m north of the centre (both projections are
 * conformal or near it at the box's scale, so a circle stays a circle). */
static void
svg_rings(struct maps_buf *out, const struct maps_proj *pj, const struct maps_svg_ring *r,
    size_t n)
{
	double x, y, xn, yn;

	maps_buf_printf(out, "<g id=\"rings\">\n");
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(r[i].lat) || !isfinite(r[i].lon))
			continue;
		maps_proj_point(pj, r[i].lat, r[i].lon, &x, &y);
		maps_proj_point(pj, r[i].lat + r[i].radius_m / SVG_M_PER_DEG_LAT, r[i].lon,
		    &xn, &yn);
		maps_buf_printf(out, "<circle class=\"");
		maps_buf_xml(out, r[i].cls != NULL ? r[i].cls : "ring");
		maps_buf_printf(out, "\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#2c7bb6\" "
		    "fill-opacity=\"0.12\" stroke=\"#2c7bb6\" stroke-dasharray=\"4 3\">",
		    x, y, fmax(1.0, hypot(xn - x, yn - y)));
		if (r[i].title != NULL) {
			maps_buf_put(out, "<title>", 7);
			maps_buf_xml(out, r[i].title);
			maps_buf_put(out, "</title>", 8);
		}
		maps_buf_printf(out, "</circle>\n");
	}
	maps_buf_printf(out, "</g>\n");
}

/* Polylines, projected and simplified to tol pixels; scratch per line. */
static enum maps_err
svg_lines(struct maps_buf *out, const struct maps_proj *pj, const struct maps_svg_line *l,
    size_t n, double tol)
{
	maps_buf_printf(out, "<g id=\"lines\" fill=\"none\" stroke-width=\"2.5\" "
	    "stroke-linejoin=\"round\" stroke-linecap=\"round\">\n");
	for (size_t i = 0; i < n; i++) {
		double *pts;
		unsigned char *keep;
		size_t *stack, m = 0, k;

		if (l[i].n == 0)
			continue;
		pts = malloc(l[i].n * 2 * sizeof(*pts));
		keep = malloc(l[i].n);
		stack = malloc(l[i].n * sizeof(*stack));
		if (pts == NULL || keep == NULL || stack == NULL) {
			free(pts);
			free(keep);
			free(stack);
			return MAPS_E_NOMEM;
		}
		for (k = 0; k < l[i].n; k++) {
			double lat = l[i].latlon[2 * k], lon = l[i].latlon[2 * k + 1];

			if (!isfinite(lat) || !isfinite(lon) || fabs(lat) > 90 || fabs(lon) > 180)
				continue;
			maps_proj_point(pj, lat, lon, &pts[2 * m], &pts[2 * m + 1]);
			m++;
		}
		if (m > 0) {
			int first = 1;

			maps_simplify(pts, m, tol, keep, stack);
			maps_buf_printf(out, "<polyline class=\"");
			maps_buf_xml(out, l[i].cls != NULL ? l[i].cls : "line");
			maps_buf_printf(out, "\" stroke=\"");
			maps_buf_xml(out, l[i].stroke != NULL ? l[i].stroke : "#7b3294");
			maps_buf_printf(out, "\" points=\"");
			for (k = 0; k < m; k++) {
				if (!keep[k])
					continue;
				maps_buf_printf(out, "%s%.1f,%.1f", first ? "" : " ", pts[2 * k],
				    pts[2 * k + 1]);
				first = 0;
			}
			maps_buf_printf(out, "\">");
			if (l[i].title != NULL) {
				maps_buf_put(out, "<title>", 7);
				maps_buf_xml(out, l[i].title);
				maps_buf_put(out, "</title>", 8);
			}
			maps_buf_printf(out, "</polyline>\n");
		}
		free(pts);
		free(keep);
		free(stack);
	}
	maps_buf_printf(out, "</g>\n");
	return MAPS_OK;
}

/* Labelled points: a circle with a white rim, the label to its right. */
static void
svg_marks(struct maps_buf *out, const struct maps_proj *pj, const struct maps_svg_mark *mk,
    size_t n)
{
	double x, y;

	maps_buf_printf(out, "<g id=\"marks\" font-size=\"11\">\n");
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(mk[i].lat) || !isfinite(mk[i].lon))
			continue;
		maps_proj_point(pj, mk[i].lat, mk[i].lon, &x, &y);
		maps_buf_printf(out, "<g class=\"");
		maps_buf_xml(out, mk[i].cls != NULL ? mk[i].cls : "mark");
		maps_buf_printf(out, "\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.0f\" fill=\"", x, y,
		    SVG_MARK_R_PX);
		maps_buf_xml(out, mk[i].fill != NULL ? mk[i].fill : "#000000");
		maps_buf_printf(out, "\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>");
		if (mk[i].label != NULL) {
			if (mk[i].label_left)
				maps_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" "
				    "text-anchor=\"end\">", x - SVG_MARK_R_PX - 3,
				    y + SVG_MARK_R_PX + 9);
			else
				maps_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\">",
				    x + SVG_MARK_R_PX + 3, y - SVG_MARK_R_PX);
			maps_buf_xml(out, mk[i].label);
			maps_buf_put(out, "</text>", 7);
		}
		if (mk[i].title != NULL) {
			maps_buf_put(out, "<title>", 7);
			maps_buf_xml(out, mk[i].title);
			maps_buf_put(out, "</title>", 8);
		}
		maps_buf_printf(out, "</g>\n");
	}
	maps_buf_printf(out, "</g>\n");
}

/* A duration in minutes as "N min" (or "N h" from 2 h), for labels. */
static void
svg_minutes(struct maps_buf *out, int64_t ms, const struct maps_svg_labels *lb)
{
	int64_t m = ms / MIN_MS;

	if (m >= 120 || m <= -120) {
		maps_buf_printf(out, "%lld ", (long long)(m / 60));
		maps_buf_xml(out, lb->hour);
	} else {
		maps_buf_printf(out, "%lld ", (long long)m);
		maps_buf_xml(out, lb->min);
	}
}

/* A legend entry's text at (x, y): the words, escaped. */
static void
svg_legend_text(struct maps_buf *out, int x, int y, const char *words)
{
	maps_buf_printf(out, "<text x=\"%d\" y=\"%d\">", x, y);
	maps_buf_xml(out, words);
	maps_buf_printf(out, "</text>\n");
}

/* Render (contract in maps.h). */
enum maps_err
maps_svg_render(struct maps_buf *out, const struct maps_svg_opts *o,
    const struct maps_zones *zones, const struct maps_svg_order *orders, size_t norders,
    const struct maps_svg_crew *crews, size_t ncrews, int64_t now_ms)
{
	struct maps_proj pj;
	double b[4] = { o->minlat, o->minlon, o->maxlat, o->maxlon }, x, y;
	const struct maps_svg_labels *lb = o->labels;
	enum maps_err e;
	size_t i;

	if (!(o->tol_px >= 0) || !labels_ok(lb) || (norders > 0 && orders == NULL) ||
	    (ncrews > 0 && crews == NULL) ||
	    (o->nrings > 0 && o->rings == NULL) || (o->nlines > 0 && o->lines == NULL) ||
	    (o->nmarks > 0 && o->marks == NULL))
		return MAPS_E_ARG;
	for (i = 0; i < o->nrings; i++)
		if (!(o->rings[i].radius_m > 0) || !isfinite(o->rings[i].radius_m))
			return MAPS_E_ARG;
	for (i = 0; i < o->nlines; i++)
		if (o->lines[i].n > 0 && o->lines[i].latlon == NULL)
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
	if (zones != NULL && (e = svg_zones(out, &pj, zones, o->tol_px, lb)) != MAPS_OK)
		return e;
	if (o->nrings > 0)
		svg_rings(out, &pj, o->rings, o->nrings);
	if (o->nlines > 0 && (e = svg_lines(out, &pj, o->lines, o->nlines, o->tol_px)) != MAPS_OK)
		return e;

	maps_buf_printf(out, "<g id=\"orders\" stroke=\"#222222\" stroke-width=\"1\">\n");
	for (i = 0; i < norders; i++) {
		const struct maps_svg_order *od = &orders[i];
		int64_t left = od->due_ms - now_ms;
		int dim = o->focus_order != NULL &&
		    strcmp(o->focus_order, od->id != NULL ? od->id : "") != 0;

		if (!isfinite(od->lat) || !isfinite(od->lon))
			continue;
		maps_proj_point(&pj, od->lat, od->lon, &x, &y);
		/* data-order: the web board makes the marker clickable */
		maps_buf_printf(out, "<circle data-order=\"");
		maps_buf_xml(out, od->id != NULL ? od->id : "");
		maps_buf_printf(out, "\"%s cx=\"%.1f\" cy=\"%.1f\" r=\"%.0f\" fill=\"%s\">"
		    "<title>", dim ? " class=\"dim\" opacity=\"0.35\"" : "", x, y,
		    SVG_ORDER_R_PX, left_colour(od->due_ms, left));
		maps_buf_xml(out, od->id != NULL ? od->id : "");
		if (od->due_ms <= 0) {
			maps_buf_xml(out, lb->no_due);
			maps_buf_printf(out, "</title></circle>\n");
			continue;
		}
		maps_buf_xml(out, left < 0 ? lb->over_pre : lb->left_pre);
		svg_minutes(out, left < 0 ? -left : left, lb);
		maps_buf_xml(out, left < 0 ? lb->over_post : lb->left_post);
		maps_buf_printf(out, "</title></circle>\n");
	}
	maps_buf_printf(out, "</g>\n");
	if (o->nmarks > 0)
		svg_marks(out, &pj, o->marks, o->nmarks);
	maps_buf_printf(out, "<g id=\"crews\" font-size=\"11\">\n");
	for (i = 0; i < ncrews; i++) {
		const struct maps_svg_crew *c = &crews[i];

		if (!isfinite(c->lat) || !isfinite(c->lon))
			continue;
		maps_proj_point(&pj, c->lat, c->lon, &x, &y);
		maps_buf_printf(out, "<g data-crew=\"");
		maps_buf_xml(out, c->id != NULL ? c->id : "");
		maps_buf_printf(out, "\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" "
		    "fill=\"#2c7bb6\" stroke=\"#ffffff\"/><text x=\"%.1f\" y=\"%.1f\">",
		    x - SVG_CREW_PX / 2, y - SVG_CREW_PX / 2, SVG_CREW_PX, SVG_CREW_PX,
		    x + SVG_CREW_PX, y + 4);
		maps_buf_xml(out, c->id != NULL ? c->id : "");
		maps_buf_put(out, " \xc2\xb7 ", 4);	/* U+00B7 middle dot */
		svg_minutes(out, now_ms > c->pos_ms ? now_ms - c->pos_ms : 0, lb);
		maps_buf_printf(out, "</text></g>\n");
	}
	/* The legend: places fixed, words from the table; the thresholds in the
	 * same units as the tooltips. */
	maps_buf_printf(out, "</g>\n<g id=\"legend\" font-size=\"11\">\n"
	    "<circle cx=\"14\" cy=\"14\" r=\"5\" fill=\"#d7191c\"/>");
	svg_legend_text(out, 24, 18, lb->overdue);
	maps_buf_printf(out, "<circle cx=\"94\" cy=\"14\" r=\"5\" fill=\"#fdae61\"/>"
	    "<text x=\"104\" y=\"18\">&lt; %d ", SVG_LATE_SOON_MIN);
	maps_buf_xml(out, lb->min);
	maps_buf_printf(out, "</text>\n<circle cx=\"174\" cy=\"14\" r=\"5\" fill=\"#e6c700\"/>"
	    "<text x=\"184\" y=\"18\">&lt; %d ", SVG_LATE_LATER_MIN / 60);
	maps_buf_xml(out, lb->hour);
	maps_buf_printf(out, "</text>\n<circle cx=\"244\" cy=\"14\" r=\"5\" fill=\"#1a9641\"/>");
	svg_legend_text(out, 254, 18, lb->later);
	maps_buf_printf(out, "<rect x=\"310\" y=\"10\" width=\"8\" height=\"8\" "
	    "fill=\"#2c7bb6\"/>");
	svg_legend_text(out, 324, 18, lb->crew_age);
	maps_buf_printf(out, "<rect x=\"10\" y=\"28\" width=\"10\" height=\"8\" fill=\"%s\" "
	    "stroke=\"#666666\"/>", zone_fill(MAPS_ZONE_URBAN));
	svg_legend_text(out, 24, 36, lb->zone_legend[MAPS_ZONE_URBAN]);
	maps_buf_printf(out, "<rect x=\"94\" y=\"28\" width=\"10\" height=\"8\" fill=\"%s\" "
	    "stroke=\"#666666\"/>", zone_fill(MAPS_ZONE_RURAL));
	svg_legend_text(out, 108, 36, lb->zone_legend[MAPS_ZONE_RURAL]);
	maps_buf_printf(out, "<rect x=\"174\" y=\"28\" width=\"10\" height=\"8\" fill=\"%s\" "
	    "stroke=\"#666666\"/>", zone_fill(MAPS_ZONE_REMOTE));
	svg_legend_text(out, 188, 36, lb->zone_legend[MAPS_ZONE_REMOTE]);
	if (o->nlines > 0 || o->nrings > 0) {
		maps_buf_printf(out, "<line x1=\"10\" y1=\"50\" x2=\"24\" y2=\"50\" "
		    "stroke=\"#7b3294\" stroke-width=\"2.5\"/>");
		svg_legend_text(out, 30, 54, lb->track);
		maps_buf_printf(out, "<circle cx=\"99\" cy=\"50\" r=\"5\" fill=\"#2c7bb6\" "
		    "fill-opacity=\"0.12\" stroke=\"#2c7bb6\" stroke-dasharray=\"4 3\"/>");
		svg_legend_text(out, 108, 54, lb->geofence);
	}
	maps_buf_printf(out, "</g>\n</svg>\n");
	return out->full ? MAPS_E_FULL : MAPS_OK;
}
