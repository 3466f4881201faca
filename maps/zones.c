/*
 * zones.c: zone classes from a GeoJSON file, and point lookup.
 *
 * Does: loads a GeoJSON FeatureCollection whose features are Polygon or
 * MultiPolygon (holes allowed) with properties "zone" (urban | rural | remote)
 * and "name"; converts every vertex from the file's CRS to WGS-84 on load;
 * indexes the polygons' bounding boxes in a uniform grid sized from the data;
 * classifies a WGS-84 point with an exact even-odd test over all rings of a
 * polygon, so holes are honoured and ring orientation does not matter. Where
 * polygons overlap, the feature listed first in the file wins.
 * Does not: validate topology (self-intersection, holes outside their shell),
 * handle polygons that cross the antimeridian, or read the legacy "crs"
 * member (the caller states the CRS). A point exactly on an edge may fall on
 * either side.
 *
 * Rings: GeoJSON (RFC 7946) says a ring's last position repeats its first. We
 * accept an unclosed ring and close it implicitly (the even-odd test treats
 * every ring as closed anyway): hand-drawn files often forget it, and the
 * repair is unambiguous. A ring needs 3 distinct positions after dropping the
 * closing one.
 *
 * Limits: the document at most ZONES_MAX_FILE_B, at most ZONES_MAX_FEATURES
 * features, ZONES_MAX_RING_VERTICES positions per ring. Errors name the JSON
 * path, e.g. "features[3].geometry.coordinates[0][2]: not a [lon, lat] pair".
 *
 * Ownership: a loaded struct maps_zones owns all its memory (names included),
 * is never modified after loading and may be shared read-only between threads.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "grow.h"
#include "maps.h"

#define ZONES_MAX_FILE_B	(64u * 1024 * 1024)
#define ZONES_MAX_FEATURES	100000
#define ZONES_MAX_RING_VERTICES	1000000
#define ZONES_MAX_NAME_B	512
/* Grid: about GRID_CELLS_PER_POLY cells per polygon, within these bounds. */
#define GRID_CELLS_PER_POLY	4
#define GRID_MAX_CELLS		(1u << 20)
#define GRID_MAX_ITEMS		(1u << 24)	/* polygon references over all cells */

struct zfeat {
	enum maps_zone	 zone;
	char		*name;
};

struct zring {
	size_t	off;		/* first vertex, index into xy pairs */
	size_t	n;		/* vertices, the closing repeat excluded */
};

struct zpoly {
	size_t	ring0;		/* first ring (the shell), index into ring[] */
	size_t	nring;		/* shell + holes */
	int	feature;
	double	minx, miny, maxx, maxy;	/* bounding box, lon/lat degrees */
	/* Latitude bands ("slabs") of this polygon's edges: band b lists the
	 * edges whose latitude range meets [sy0 + b*sbh, sy0 + (b+1)*sbh]. */
	size_t	band0;		/* first of nband + 1 offsets in bstart[] */
	size_t	nband;
	double	sy0, sbh;
};

struct maps_zones {
	struct zfeat	*feat;
	size_t		 nfeat;
	struct zpoly	*poly;
	size_t		 npoly, polycap;
	struct zring	*ring;
	size_t		 nring, ringcap;
	double		*xy;		/* lon, lat pairs, WGS-84 */
	size_t		 nxy;		/* pairs */
	size_t		 xycap;		/* doubles */

	/* Uniform grid over the union of the bounding boxes. */
	double		 gx0, gy0, gcw, gch;	/* origin and cell size, degrees */
	size_t		 gw, gh;
	size_t		*cstart;	/* gw*gh + 1 offsets into citem */
	size_t		*citem;		/* polygon indices, ascending per cell */

	/* Edge bands of every polygon (see struct zpoly). */
	size_t		*bstart;	/* per polygon nband + 1 offsets into bedge */
	uint32_t	*bedge;		/* edges as vertex pairs (i, j = previous of i) */
};

/* Where errors go while parsing. */
struct zctx {
	char		*err;
	size_t		 errcap;
	const char	*file;		/* prefix for messages, or NULL */
	enum maps_crs	 crs;
};

static enum maps_err zfail(struct zctx *, enum maps_err, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 if s is valid UTF-8 without control characters (a name goes into logs,
 * answers and SVG), else 0: shortest forms only, no surrogates, <= U+10FFFF. */
static int
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n, cp, i;

		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		p += n + 1;
	}
	return 1;
}

static enum maps_err
zfail(struct zctx *c, enum maps_err e, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (c->err == NULL || c->errcap == 0)
		return e;
	if (c->file != NULL)
		n = snprintf(c->err, c->errcap, "%s: ", c->file);
	if (n < 0 || (size_t)n >= c->errcap)
		return e;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errcap - (size_t)n, fmt, ap);
	va_end(ap);
	return e;
}

/* "features[i].geometry.coordinates[p][r]" into buf; p < 0 for a Polygon. */
static void
ring_path(char *buf, size_t cap, size_t fi, long part, size_t ri)
{
	if (part < 0)
		snprintf(buf, cap, "features[%zu].geometry.coordinates[%zu]", fi, ri);
	else
		snprintf(buf, cap, "features[%zu].geometry.coordinates[%ld][%zu]",
		    fi, part, ri);
}

/* Read one ring into z (converted to WGS-84). */
static enum maps_err
parse_ring(struct zctx *c, struct maps_zones *z, const cJSON *jr, size_t fi,
    long part, size_t ri)
{
	char path[96];
	const cJSON *jp;
	size_t n = 0, off = z->nxy;
	double first[2] = { 0, 0 }, last[2] = { 0, 0 };

	ring_path(path, sizeof(path), fi, part, ri);
	if (!cJSON_IsArray(jr))
		return zfail(c, MAPS_E_GEOMETRY, "%s: not an array of positions", path);
	for (jp = jr->child; jp != NULL; jp = jp->next, n++) {
		const cJSON *jx = NULL, *jy = NULL;
		double lon, lat, wlat, wlon;

		if (n >= ZONES_MAX_RING_VERTICES)
			return zfail(c, MAPS_E_GEOMETRY, "%s: more than %d positions",
			    path, ZONES_MAX_RING_VERTICES);
		if (cJSON_IsArray(jp) && (jx = jp->child) != NULL)
			jy = jx->next;
		if (jx == NULL || jy == NULL || !cJSON_IsNumber(jx) || !cJSON_IsNumber(jy))
			return zfail(c, MAPS_E_GEOMETRY, "%s[%zu]: not a [lon, lat] pair",
			    path, n);
		lon = jx->valuedouble;
		lat = jy->valuedouble;
		if (!isfinite(lon) || lon < -180.0 || lon > 180.0)
			return zfail(c, MAPS_E_RANGE,
			    "%s[%zu]: longitude %g not in [-180, 180]", path, n, lon);
		if (!isfinite(lat) || lat < -90.0 || lat > 90.0)
			return zfail(c, MAPS_E_RANGE,
			    "%s[%zu]: latitude %g not in [-90, 90]", path, n, lat);
		if (n == 0) {
			first[0] = lon;
			first[1] = lat;
		}
		last[0] = lon;
		last[1] = lat;
		if (grow(&z->xy, &z->xycap, (z->nxy + 1) * 2, sizeof(double), 16) == -1)
			return zfail(c, MAPS_E_NOMEM, "%s: out of memory", path);
		maps_convert(c->crs, MAPS_WGS84, lat, lon, &wlat, &wlon);
		z->xy[z->nxy * 2] = wlon;
		z->xy[z->nxy * 2 + 1] = wlat;
		z->nxy++;
	}
	if (n >= 2 && first[0] == last[0] && first[1] == last[1]) {
		n--;		/* drop the closing repeat */
		z->nxy--;
	}
	if (n < 3)
		return zfail(c, MAPS_E_GEOMETRY,
		    "%s: a ring needs at least 3 distinct positions, has %zu", path, n);
	if (grow(&z->ring, &z->ringcap, z->nring + 1, sizeof(*z->ring), 16) == -1)
		return zfail(c, MAPS_E_NOMEM, "%s: out of memory", path);
	z->ring[z->nring].off = off;
	z->ring[z->nring].n = n;
	z->nring++;
	return MAPS_OK;
}

/* Read one polygon (array of rings: shell, then holes) as polygon of feature fi. */
static enum maps_err
parse_polygon(struct zctx *c, struct maps_zones *z, const cJSON *jpoly, size_t fi,
    long part)
{
	char path[96];
	const cJSON *jr;
	struct zpoly *p;
	size_t ri = 0, i;
	enum maps_err e;

	if (part < 0)
		snprintf(path, sizeof(path), "features[%zu].geometry.coordinates", fi);
	else
		snprintf(path, sizeof(path), "features[%zu].geometry.coordinates[%ld]",
		    fi, part);
	if (!cJSON_IsArray(jpoly) || jpoly->child == NULL)
		return zfail(c, MAPS_E_GEOMETRY,
		    "%s: a polygon must be a non-empty array of rings", path);
	if (grow(&z->poly, &z->polycap, z->npoly + 1, sizeof(*z->poly), 16) == -1)
		return zfail(c, MAPS_E_NOMEM, "%s: out of memory", path);
	p = &z->poly[z->npoly];
	p->ring0 = z->nring;
	p->feature = (int)fi;
	for (jr = jpoly->child; jr != NULL; jr = jr->next, ri++) {
		if ((e = parse_ring(c, z, jr, fi, part, ri)) != MAPS_OK)
			return e;
	}
	p = &z->poly[z->npoly];
	p->nring = ri;
	p->minx = p->miny = INFINITY;
	p->maxx = p->maxy = -INFINITY;
	/* The shell bounds the polygon; holes lie inside it by definition. Use all
	 * rings anyway so a malformed hole cannot escape the index. */
	for (i = z->ring[p->ring0].off; i < z->nxy; i++) {
		double x = z->xy[i * 2], y = z->xy[i * 2 + 1];

		if (x < p->minx) p->minx = x;
		if (x > p->maxx) p->maxx = x;
		if (y < p->miny) p->miny = y;
		if (y > p->maxy) p->maxy = y;
	}
	z->npoly++;
	return MAPS_OK;
}

static enum maps_err
parse_feature(struct zctx *c, struct maps_zones *z, const cJSON *jf, size_t fi)
{
	const cJSON *jt, *jprops, *jzone, *jname, *jg, *jgt, *jc, *jp;
	struct zfeat *f = &z->feat[fi];
	size_t nlen;
	long part = 0;
	enum maps_err e;

	if (!cJSON_IsObject(jf))
		return zfail(c, MAPS_E_JSON, "features[%zu]: not an object", fi);
	jt = cJSON_GetObjectItemCaseSensitive(jf, "type");
	if (!cJSON_IsString(jt) || strcmp(jt->valuestring, "Feature") != 0)
		return zfail(c, MAPS_E_JSON, "features[%zu].type: not \"Feature\"", fi);

	jprops = cJSON_GetObjectItemCaseSensitive(jf, "properties");
	if (!cJSON_IsObject(jprops))
		return zfail(c, MAPS_E_PROPERTY,
		    "features[%zu].properties: missing or not an object", fi);
	jzone = cJSON_GetObjectItemCaseSensitive(jprops, "zone");
	if (!cJSON_IsString(jzone))
		return zfail(c, MAPS_E_PROPERTY,
		    "features[%zu].properties.zone: missing or not a string", fi);
	if (maps_zone_parse(jzone->valuestring, &f->zone) == -1)
		return zfail(c, MAPS_E_PROPERTY,
		    "features[%zu].properties.zone: \"%.40s\" is not urban, rural or remote",
		    fi, jzone->valuestring);
	jname = cJSON_GetObjectItemCaseSensitive(jprops, "name");
	if (!cJSON_IsString(jname))
		return zfail(c, MAPS_E_PROPERTY,
		    "features[%zu].properties.name: missing or not a string", fi);
	nlen = strlen(jname->valuestring);
	if (nlen == 0 || nlen > ZONES_MAX_NAME_B)
		return zfail(c, MAPS_E_PROPERTY,
		    "features[%zu].properties.name: must be 1..%d bytes, is %zu",
		    fi, ZONES_MAX_NAME_B, nlen);
	if (!utf8_valid(jname->valuestring))
		return zfail(c, MAPS_E_PROPERTY,
		    "features[%zu].properties.name: not valid UTF-8 text", fi);
	if ((f->name = strdup(jname->valuestring)) == NULL)
		return zfail(c, MAPS_E_NOMEM, "features[%zu]: out of memory", fi);

	jg = cJSON_GetObjectItemCaseSensitive(jf, "geometry");
	if (!cJSON_IsObject(jg))
		return zfail(c, MAPS_E_GEOMETRY,
		    "features[%zu].geometry: missing or not an object", fi);
	jgt = cJSON_GetObjectItemCaseSensitive(jg, "type");
	jc = cJSON_GetObjectItemCaseSensitive(jg, "coordinates");
	if (!cJSON_IsString(jgt) || (strcmp(jgt->valuestring, "Polygon") != 0 &&
	    strcmp(jgt->valuestring, "MultiPolygon") != 0))
		return zfail(c, MAPS_E_GEOMETRY,
		    "features[%zu].geometry.type: not \"Polygon\" or \"MultiPolygon\"", fi);
	if (!cJSON_IsArray(jc))
		return zfail(c, MAPS_E_GEOMETRY,
		    "features[%zu].geometry.coordinates: missing or not an array", fi);
	if (strcmp(jgt->valuestring, "Polygon") == 0)
		return parse_polygon(c, z, jc, fi, -1);
	if (jc->child == NULL)
		return zfail(c, MAPS_E_GEOMETRY,
		    "features[%zu].geometry.coordinates: a MultiPolygon needs a polygon", fi);
	for (jp = jc->child; jp != NULL; jp = jp->next, part++) {
		if ((e = parse_polygon(c, z, jp, fi, part)) != MAPS_OK)
			return e;
	}
	return MAPS_OK;
}

/* Cell column (or row) of coordinate v; clamped so edge points stay in the grid. */
static size_t
grid_cell(double v, double v0, double size, size_t n)
{
	double k = floor((v - v0) / size);

	if (!(k >= 0.0))
		return 0;
	if (k >= (double)n)
		return n - 1;
	return (size_t)k;
}

/* Items a gw x gh grid over the current extent would hold. */
static size_t
grid_items(const struct maps_zones *z, size_t gw, size_t gh, double cw, double ch)
{
	size_t i, total = 0;

	for (i = 0; i < z->npoly; i++) {
		const struct zpoly *p = &z->poly[i];
		size_t nx = grid_cell(p->maxx, z->gx0, cw, gw) -
		    grid_cell(p->minx, z->gx0, cw, gw) + 1;
		size_t ny = grid_cell(p->maxy, z->gy0, ch, gh) -
		    grid_cell(p->miny, z->gy0, ch, gh) + 1;

		total += nx * ny;
		if (total > GRID_MAX_ITEMS)
			return total;
	}
	return total;
}

/*
 * Size the grid from the data: about GRID_CELLS_PER_POLY cells per polygon,
 * shaped like the extent; halved while the polygon references would exceed
 * GRID_MAX_ITEMS (many large overlapping polygons). Then fill it by counting
 * sort in polygon order, so each cell lists polygons in file order.
 */
static int
grid_build(struct maps_zones *z)
{
	double maxx = -INFINITY, maxy = -INFINITY, w, h, target;
	size_t i, gw, gh, ncell, nitem, *fill;

	z->gx0 = z->gy0 = INFINITY;
	for (i = 0; i < z->npoly; i++) {
		if (z->poly[i].minx < z->gx0) z->gx0 = z->poly[i].minx;
		if (z->poly[i].miny < z->gy0) z->gy0 = z->poly[i].miny;
		if (z->poly[i].maxx > maxx) maxx = z->poly[i].maxx;
		if (z->poly[i].maxy > maxy) maxy = z->poly[i].maxy;
	}
	w = fmax(maxx - z->gx0, 1e-9);
	h = fmax(maxy - z->gy0, 1e-9);
	target = fmin((double)z->npoly * GRID_CELLS_PER_POLY, (double)GRID_MAX_CELLS);
	gw = (size_t)fmax(1.0, fmin(target, round(sqrt(target * w / h))));
	gh = (size_t)fmax(1.0, fmin(target, ceil(target / (double)gw)));
	for (;;) {
		nitem = grid_items(z, gw, gh, w / (double)gw, h / (double)gh);
		if (nitem <= GRID_MAX_ITEMS || (gw == 1 && gh == 1))
			break;
		gw = (gw + 1) / 2;
		gh = (gh + 1) / 2;
	}
	z->gw = gw;
	z->gh = gh;
	z->gcw = w / (double)gw;
	z->gch = h / (double)gh;
	ncell = gw * gh;
	z->cstart = calloc(ncell + 1, sizeof(*z->cstart));
	z->citem = calloc(nitem ? nitem : 1, sizeof(*z->citem));
	fill = calloc(ncell, sizeof(*fill));
	if (z->cstart == NULL || z->citem == NULL || fill == NULL) {
		free(fill);
		return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < z->npoly; i++) {
			const struct zpoly *p = &z->poly[i];
			size_t x0 = grid_cell(p->minx, z->gx0, z->gcw, gw);
			size_t x1 = grid_cell(p->maxx, z->gx0, z->gcw, gw);
			size_t y0 = grid_cell(p->miny, z->gy0, z->gch, gh);
			size_t y1 = grid_cell(p->maxy, z->gy0, z->gch, gh);

			for (size_t y = y0; y <= y1; y++) {
				for (size_t x = x0; x <= x1; x++) {
					size_t cell = y * gw + x;

					if (pass == 0)
						z->cstart[cell + 1]++;
					else
						z->citem[z->cstart[cell] + fill[cell]++] = i;
				}
			}
		}
		if (pass == 0) {
			for (i = 0; i < ncell; i++)
				z->cstart[i + 1] += z->cstart[i];
		}
	}
	free(fill);
	return 0;
}

/* Even-odd test over every ring of polygon p: holes flip the answer back. */
static int
poly_contains(const struct maps_zones *z, const struct zpoly *p, double x, double y)
{
	int inside = 0;

	for (size_t r = p->ring0; r < p->ring0 + p->nring; r++) {
		const double *v = &z->xy[z->ring[r].off * 2];
		size_t n = z->ring[r].n, i, j;

		for (i = 0, j = n - 1; i < n; j = i++) {
			double xi = v[i * 2], yi = v[i * 2 + 1];
			double xj = v[j * 2], yj = v[j * 2 + 1];

			if ((yi > y) != (yj > y) &&
			    x < (xj - xi) * (y - yi) / (yj - yi) + xi)
				inside = !inside;
		}
	}
	return inside;
}

/*
 * The edge bands. The grid finds the few polygons near a point, but the exact
 * test still walks every edge of each: ~300 for a county, thousands for a
 * detailed boundary. Cutting each polygon into about one latitude band per
 * BAND_EDGES edges and listing in each band the edges that reach into it
 * leaves the ray-crossing test a handful of edges. The crossing expression is
 * the one of poly_contains, on the same (i, j) pairs, so both give the same
 * answer bit for bit (the tests compare them).
 */
#define BAND_EDGES	2

static size_t
band_of(double y, double y0, double h, size_t n)
{
	double b = (y - y0) / h;

	if (!(b > 0))
		return 0;
	if (b >= (double)n)
		return n - 1;
	return (size_t)b;
}

/* The bands edge (i, j) of polygon p reaches: b0..b1. */
static void
edge_bands(const struct maps_zones *z, const struct zpoly *p, size_t i, size_t j,
    size_t *b0, size_t *b1)
{
	double yi = z->xy[i * 2 + 1], yj = z->xy[j * 2 + 1];

	*b0 = band_of(fmin(yi, yj), p->sy0, p->sbh, p->nband);
	*b1 = band_of(fmax(yi, yj), p->sy0, p->sbh, p->nband);
}

/* Build bstart/bedge: size the bands, count edges per band, then fill. 0 / -1 (no memory). */
static int
bands_build(struct maps_zones *z)
{
	size_t nb_total = 0, ne_total = 0, *fill, pi, r, i, j, b, b0, b1;

	for (pi = 0; pi < z->npoly; pi++) {
		struct zpoly *p = &z->poly[pi];
		size_t ne = 0;

		for (r = p->ring0; r < p->ring0 + p->nring; r++)
			ne += z->ring[r].n;
		p->nband = ne / BAND_EDGES + 1;
		p->band0 = nb_total;
		p->sy0 = p->miny;
		p->sbh = (p->maxy - p->miny) / (double)p->nband;
		if (!(p->sbh > 0)) {	/* a flat polygon: one band */
			p->nband = 1;
			p->sbh = 1;
		}
		nb_total += p->nband + 1;
	}
	if (z->nxy > UINT32_MAX || (z->bstart = calloc(nb_total, sizeof(*z->bstart))) == NULL)
		return -1;
	for (pi = 0; pi < z->npoly; pi++) {
		const struct zpoly *p = &z->poly[pi];
		size_t *st = &z->bstart[p->band0];

		st[0] = ne_total;	/* offsets are global into bedge */
		for (r = p->ring0; r < p->ring0 + p->nring; r++) {
			size_t off = z->ring[r].off, n = z->ring[r].n;

			for (i = 0, j = n - 1; i < n; j = i++) {
				edge_bands(z, p, off + i, off + j, &b0, &b1);
				for (b = b0; b <= b1; b++)
					st[b + 1]++;
				ne_total += b1 - b0 + 1;
			}
		}
		for (b = 0; b < p->nband; b++)
			st[b + 1] += st[b];
	}
	if (ne_total > UINT32_MAX ||
	    (z->bedge = malloc(ne_total * 2 * sizeof(*z->bedge))) == NULL)
		return -1;
	if ((fill = calloc(nb_total, sizeof(*fill))) == NULL)
		return -1;
	for (pi = 0; pi < z->npoly; pi++) {
		const struct zpoly *p = &z->poly[pi];
		const size_t *st = &z->bstart[p->band0];

		for (r = p->ring0; r < p->ring0 + p->nring; r++) {
			size_t off = z->ring[r].off, n = z->ring[r].n;

			for (i = 0, j = n - 1; i < n; j = i++) {
				edge_bands(z, p, off + i, off + j, &b0, &b1);
				for (b = b0; b <= b1; b++) {
					size_t at = st[b] + fill[p->band0 + b]++;

					z->bedge[at * 2] = (uint32_t)(off + i);
					z->bedge[at * 2 + 1] = (uint32_t)(off + j);
				}
			}
		}
	}
	free(fill);
	return 0;
}

/* poly_contains through the edge bands: only the edges that can cross y. */
static int
poly_contains_banded(const struct maps_zones *z, const struct zpoly *p, double x, double y)
{
	const size_t *st = &z->bstart[p->band0];
	size_t b = band_of(y, p->sy0, p->sbh, p->nband);
	int inside = 0;

	for (size_t k = st[b]; k < st[b + 1]; k++) {
		double xi = z->xy[z->bedge[k * 2] * (size_t)2];
		double yi = z->xy[z->bedge[k * 2] * (size_t)2 + 1];
		double xj = z->xy[z->bedge[k * 2 + 1] * (size_t)2];
		double yj = z->xy[z->bedge[k * 2 + 1] * (size_t)2 + 1];

		if ((yi > y) != (yj > y) &&
		    x < (xj - xi) * (y - yi) / (yj - yi) + xi)
			inside = !inside;
	}
	return inside;
}

static enum maps_err
zones_parse(const char *json, size_t len, struct maps_zones **out, struct zctx *c)
{
	const char *end = NULL;
	cJSON *root;
	const cJSON *jt, *jfs, *jf;
	struct maps_zones *z;
	size_t n = 0, fi;
	enum maps_err e = MAPS_OK;

	*out = NULL;
	if (json == NULL)
		return zfail(c, MAPS_E_JSON, "document: no buffer");
	if (len > ZONES_MAX_FILE_B)
		return zfail(c, MAPS_E_JSON, "document: %zu bytes, over the %u byte cap",
		    len, ZONES_MAX_FILE_B);
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (root == NULL) {
		size_t at = (end != NULL && end >= json) ? (size_t)(end - json) : 0;

		return zfail(c, MAPS_E_JSON, "document: not JSON (error at byte %zu)", at);
	}
	/* cJSON stops after the first value; anything but blanks after it is an error. */
	for (size_t at = end != NULL ? (size_t)(end - json) : len; at < len; at++) {
		if (json[at] == '\0')
			break;
		if (strchr(" \t\r\n", json[at]) == NULL) {
			cJSON_Delete(root);
			return zfail(c, MAPS_E_JSON,
			    "document: data after the JSON value at byte %zu", at);
		}
	}
	jt = cJSON_GetObjectItemCaseSensitive(root, "type");
	jfs = cJSON_GetObjectItemCaseSensitive(root, "features");
	if (!cJSON_IsObject(root) || !cJSON_IsString(jt) ||
	    strcmp(jt->valuestring, "FeatureCollection") != 0) {
		cJSON_Delete(root);
		return zfail(c, MAPS_E_JSON, "type: not \"FeatureCollection\"");
	}
	if (!cJSON_IsArray(jfs)) {
		cJSON_Delete(root);
		return zfail(c, MAPS_E_JSON, "features: missing or not an array");
	}
	for (jf = jfs->child; jf != NULL; jf = jf->next)
		n++;
	if (n == 0 || n > ZONES_MAX_FEATURES) {
		cJSON_Delete(root);
		return zfail(c, MAPS_E_JSON, "features: %zu features, need 1..%d",
		    n, ZONES_MAX_FEATURES);
	}
	if ((z = calloc(1, sizeof(*z))) == NULL ||
	    (z->feat = calloc(n, sizeof(*z->feat))) == NULL) {
		free(z);
		cJSON_Delete(root);
		return zfail(c, MAPS_E_NOMEM, "features: out of memory");
	}
	z->nfeat = n;
	for (fi = 0, jf = jfs->child; jf != NULL; jf = jf->next, fi++) {
		if ((e = parse_feature(c, z, jf, fi)) != MAPS_OK)
			break;
	}
	cJSON_Delete(root);
	if (e == MAPS_OK && (grid_build(z) == -1 || bands_build(z) == -1))
		e = zfail(c, MAPS_E_NOMEM, "index: out of memory");
	if (e != MAPS_OK) {
		maps_zones_free(z);
		return e;
	}
	*out = z;
	return MAPS_OK;
}

/*
 * Parse a zone document of len bytes (need not be NUL-terminated) whose
 * coordinates are in crs. On MAPS_OK *out owns a new zone set (free with
 * maps_zones_free); on error *out is NULL and err names the JSON path.
 */
enum maps_err
maps_zones_parse(const char *json, size_t len, enum maps_crs crs,
    struct maps_zones **out, char *err, size_t errcap)
{
	struct zctx c = { err, errcap, NULL, crs };

	if (err != NULL && errcap > 0)
		err[0] = '\0';
	return zones_parse(json, len, out, &c);
}

/*
 * Read the file at path (at most ZONES_MAX_FILE_B bytes) and parse it as
 * maps_zones_parse does; messages start with "path: ".
 */
enum maps_err
maps_zones_load(const char *path, enum maps_crs crs, struct maps_zones **out,
    char *err, size_t errcap)
{
	struct zctx c = { err, errcap, path, crs };
	struct stat st;
	char *buf, ebuf[128];
	size_t got = 0;
	enum maps_err e;
	int fd;

	*out = NULL;
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return zfail(&c, MAPS_E_IO, "cannot open: %s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return zfail(&c, MAPS_E_IO, "not a regular file");
	}
	if ((uintmax_t)st.st_size > ZONES_MAX_FILE_B) {
		close(fd);
		return zfail(&c, MAPS_E_JSON, "document: %jd bytes, over the %u byte cap",
		    (intmax_t)st.st_size, ZONES_MAX_FILE_B);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return zfail(&c, MAPS_E_NOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = zfail(&c, MAPS_E_IO, "read: %s", r == 0 ? "file shrank" :
			    strerror_r(errno, ebuf, sizeof(ebuf)));
			free(buf);
			close(fd);
			return e;
		}
		got += (size_t)r;
	}
	close(fd);
	e = zones_parse(buf, got, out, &c);
	free(buf);
	return e;
}

/* Free a zone set and everything it owns. NULL is fine. */
void
maps_zones_free(struct maps_zones *z)
{
	if (z == NULL)
		return;
	for (size_t i = 0; i < z->nfeat; i++)
		free(z->feat[i].name);
	free(z->feat);
	free(z->poly);
	free(z->ring);
	free(z->xy);
	free(z->cstart);
	free(z->citem);
	free(z->bstart);
	free(z->bedge);
	free(z);
}

/* Number of features (not polygons) in the set; 0 for NULL. */
size_t
maps_zones_count(const struct maps_zones *z)
{
	return z != NULL ? z->nfeat : 0;
}

/*
 * Classify the WGS-84 point (lat, lon). Returns 1 with hit filled from the
 * first feature (in file order) whose polygon contains it; else 0 with hit =
 * { def, "default", -1 }. A NULL set or a non-finite point gives the default.
 * Cost: one grid cell's polygons, bounding box first, then the exact test.
 */
int
maps_zones_lookup(const struct maps_zones *z, double lat, double lon,
    enum maps_zone def, struct maps_zone_hit *hit)
{
	hit->zone = def;
	hit->name = "default";
	hit->feature = -1;
	if (z == NULL || z->npoly == 0 || !isfinite(lat) || !isfinite(lon))
		return 0;
	if (lon < z->gx0 || lat < z->gy0 ||
	    lon > z->gx0 + z->gcw * (double)z->gw ||
	    lat > z->gy0 + z->gch * (double)z->gh)
		return 0;

	size_t cell = grid_cell(lat, z->gy0, z->gch, z->gh) * z->gw +
	    grid_cell(lon, z->gx0, z->gcw, z->gw);

	for (size_t k = z->cstart[cell]; k < z->cstart[cell + 1]; k++) {
		const struct zpoly *p = &z->poly[z->citem[k]];

		if (lon < p->minx || lon > p->maxx || lat < p->miny || lat > p->maxy)
			continue;
		if (poly_contains_banded(z, p, lon, lat)) {
			hit->zone = z->feat[p->feature].zone;
			hit->name = z->feat[p->feature].name;
			hit->feature = p->feature;
			return 1;
		}
	}
	return 0;
}

/*
 * maps_zones_lookup without the grid: every polygon in file order, bounding box
 * first, then the exact test. Same answers (the index's tests compare them);
 * kept as the benchmark's baseline.
 */
int
maps_zones_lookup_scan(const struct maps_zones *z, double lat, double lon,
    enum maps_zone def, struct maps_zone_hit *hit)
{
	hit->zone = def;
	hit->name = "default";
	hit->feature = -1;
	if (z == NULL || !isfinite(lat) || !isfinite(lon))
		return 0;
	for (size_t i = 0; i < z->npoly; i++) {
		const struct zpoly *p = &z->poly[i];

		if (lon < p->minx || lon > p->maxx || lat < p->miny || lat > p->maxy)
			continue;
		if (poly_contains(z, p, lon, lat)) {
			hit->zone = z->feat[p->feature].zone;
			hit->name = z->feat[p->feature].name;
			hit->feature = p->feature;
			return 1;
		}
	}
	return 0;
}

/* Number of polygons (a MultiPolygon feature has several); 0 for NULL. */
size_t
maps_zones_polygons(const struct maps_zones *z)
{
	return z != NULL ? z->npoly : 0;
}

/* Polygon i's feature index (returned), zone, name and ring count; -1 if out of range. */
int
maps_zones_polygon(const struct maps_zones *z, size_t i, enum maps_zone *zone,
    const char **name, size_t *nrings)
{
	if (z == NULL || i >= z->npoly)
		return -1;
	*zone = z->feat[z->poly[i].feature].zone;
	*name = z->feat[z->poly[i].feature].name;
	*nrings = z->poly[i].nring;
	return z->poly[i].feature;
}

/* Ring r of polygon i as lon, lat pairs; 0, or -1 if out of range. */
int
maps_zones_ring(const struct maps_zones *z, size_t i, size_t r, const double **xy,
    size_t *n)
{
	const struct zring *rg;

	if (z == NULL || i >= z->npoly || r >= z->poly[i].nring)
		return -1;
	rg = &z->ring[z->poly[i].ring0 + r];
	*xy = &z->xy[rg->off * 2];
	*n = rg->n;
	return 0;
}

/* The union of the polygons' bounding boxes; 0, or -1 when there is none. */
int
maps_zones_bounds(const struct maps_zones *z, double *minlat, double *minlon,
    double *maxlat, double *maxlon)
{
	if (z == NULL || z->npoly == 0)
		return -1;
	*minlat = *minlon = INFINITY;
	*maxlat = *maxlon = -INFINITY;
	for (size_t i = 0; i < z->npoly; i++) {
		*minlon = fmin(*minlon, z->poly[i].minx);
		*maxlon = fmax(*maxlon, z->poly[i].maxx);
		*minlat = fmin(*minlat, z->poly[i].miny);
		*maxlat = fmax(*maxlat, z->poly[i].maxy);
	}
	return 0;
}

/* "urban", "rural", "remote"; "?" outside the enum. Static strings. */
const char *
maps_zone_name(enum maps_zone zn)
{
	switch (zn) {
	case MAPS_ZONE_URBAN:	return "urban";
	case MAPS_ZONE_RURAL:	return "rural";
	case MAPS_ZONE_REMOTE:	return "remote";
	}
	return "?";
}

/* Exact, lower-case "urban" | "rural" | "remote" -> 0 and *out; else -1. */
int
maps_zone_parse(const char *s, enum maps_zone *out)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "urban") == 0)
		*out = MAPS_ZONE_URBAN;
	else if (strcmp(s, "rural") == 0)
		*out = MAPS_ZONE_RURAL;
	else if (strcmp(s, "remote") == 0)
		*out = MAPS_ZONE_REMOTE;
	else
		return -1;
	return 0;
}

/* A short English description of e; never NULL. */
const char *
maps_strerror(enum maps_err e)
{
	switch (e) {
	case MAPS_OK:		return "success";
	case MAPS_E_IO:		return "cannot read the file";
	case MAPS_E_JSON:	return "not JSON or not a GeoJSON FeatureCollection";
	case MAPS_E_GEOMETRY:	return "bad geometry";
	case MAPS_E_PROPERTY:	return "missing or bad zone/name property";
	case MAPS_E_NOMEM:	return "out of memory";
	case MAPS_E_RANGE:	return "coordinate out of range";
	case MAPS_E_RULE:	return "bad zone rule";
	case MAPS_E_FULL:	return "output over its size cap";
	case MAPS_E_ARG:	return "bad argument";
	}
	return "unknown error";
}
