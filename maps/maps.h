/*
 * maps.h: geodesy and zones for Linecrew (libmaps.a).
 *
 * Pure library: no logging, no exit, no mutable statics. Functions that can fail
 * return enum maps_err and fill a caller buffer with a message naming the place
 * ("features[12].geometry.coordinates[0][3]: not a [lon, lat] pair").
 *
 *  - Distances on the WGS-84 ellipsoid (Vincenty inverse, sub-millimetre where it
 *    converges; falls back to the haversine on the mean sphere, error <= 0.5 %,
 *    for nearly antipodal points) and the haversine itself.
 *  - Geofence test: is a fix within radius + its own stated error of a site.
 *  - Chinese map datums: WGS-84 <-> GCJ-02 <-> BD-09. Forward transforms are
 *    the published formulas; the inverses iterate to < 1e-7 degrees (~1 cm).
 *    Outside mainland China GCJ-02 equals WGS-84 by definition.
 *  - Zones: a GeoJSON FeatureCollection of Polygon / MultiPolygon features (holes
 *    supported), each with properties "zone" ("urban" | "rural" | "remote") and
 *    "name"; lookup by point through a uniform grid index of bounding boxes, then
 *    an exact even-odd point-in-polygon test over per-polygon latitude bands.
 *  - Zone files built from administrative boundaries by an operator's rules
 *    (build.c), ranking crews by ETA (rank.c), outage clusters (cluster.c),
 *    SVG maps with projection and Douglas-Peucker (svg.c), and the capped
 *    text buffer they write into (buf.c).
 */
#ifndef LC_MAPS_H
#define LC_MAPS_H

#include <stddef.h>
#include <stdint.h>

enum maps_err {
	MAPS_OK = 0,
	MAPS_E_IO,		/* cannot read the file */
	MAPS_E_JSON,		/* not JSON / not GeoJSON */
	MAPS_E_GEOMETRY,	/* a bad ring, coordinate or geometry type */
	MAPS_E_PROPERTY,	/* a missing or bad "zone" / "name" */
	MAPS_E_NOMEM,
	MAPS_E_RANGE,		/* latitude/longitude out of range */
	MAPS_E_RULE,		/* a bad zone rule file line, or a rule that matches nothing */
	MAPS_E_FULL,		/* output would pass the buffer's hard cap */
	MAPS_E_ARG,		/* a bad argument (radius, size, speed ...) */
};
const char *maps_strerror(enum maps_err);

/* Zone classes, in the order of their arrival limits (urban fastest). */
enum maps_zone { MAPS_ZONE_URBAN, MAPS_ZONE_RURAL, MAPS_ZONE_REMOTE };
const char *maps_zone_name(enum maps_zone);
int	    maps_zone_parse(const char *s, enum maps_zone *out);	/* 0 / -1 */

/* ---- distances ---- */

/* Geodesic distance in metres on the WGS-84 ellipsoid (Vincenty). */
double	maps_distance_m(double lat1, double lon1, double lat2, double lon2);
/* Great-circle distance on the mean-radius sphere (R = 6371008.8 m). Error vs the
 * ellipsoid up to 0.5 %; cheap, for ranking. */
double	maps_haversine_m(double lat1, double lon1, double lat2, double lon2);

/* Inside the geofence: distance(fix, site) <= radius_m + max(eph_m, 0).
 * eph_m may be NaN (unknown): then no widening. *dist_m (if not NULL) gets the distance. */
int	maps_within(double site_lat, double site_lon, double radius_m,
	    double lat, double lon, double eph_m, double *dist_m);

/* ---- coordinate systems ---- */

enum maps_crs { MAPS_WGS84, MAPS_GCJ02, MAPS_BD09 };
const char *maps_crs_name(enum maps_crs);
int	    maps_crs_parse(const char *s, enum maps_crs *out);	/* 0 / -1 */

/* 1 if the point is in the rough mainland-China box where GCJ-02 applies. */
int	maps_in_china(double lat, double lon);
void	maps_wgs84_to_gcj02(double lat, double lon, double *olat, double *olon);
void	maps_gcj02_to_wgs84(double lat, double lon, double *olat, double *olon);	/* iterative */
void	maps_gcj02_to_bd09(double lat, double lon, double *olat, double *olon);
void	maps_bd09_to_gcj02(double lat, double lon, double *olat, double *olon);	/* iterative */
/* Any to any. */
void	maps_convert(enum maps_crs from, enum maps_crs to, double lat, double lon,
	    double *olat, double *olon);

/* ---- zones ---- */

struct maps_zones;	/* opaque, immutable after loading: safe to share read-only */

struct maps_zone_hit {
	enum maps_zone	zone;
	const char     *name;		/* owned by the zone set; valid until maps_zones_free */
	int		feature;	/* index in the file, -1 when the default applied */
};

/* Load a GeoJSON zone file. crs is the system its coordinates are in; they are
 * converted to WGS-84 on load. Returns MAPS_OK with *out set, or an error with
 * err (errcap bytes) naming the file and the JSON path. */
enum maps_err maps_zones_load(const char *path, enum maps_crs crs, struct maps_zones **out,
		    char *err, size_t errcap);
/* The same from a buffer in memory (len bytes). */
enum maps_err maps_zones_parse(const char *json, size_t len, enum maps_crs crs,
		    struct maps_zones **out, char *err, size_t errcap);
void	maps_zones_free(struct maps_zones *);
size_t	maps_zones_count(const struct maps_zones *);

/* Classify a WGS-84 point. Returns 1 and fills hit when a polygon contains it;
 * otherwise returns 0 and fills hit with def (feature = -1, name = "default").
 * Where polygons overlap the feature listed first wins. */
int	maps_zones_lookup(const struct maps_zones *, double lat, double lon,
	    enum maps_zone def, struct maps_zone_hit *hit);
/* The same answer without the index: every polygon's bounding box, then the exact
 * test. The baseline of the benchmark and the oracle of the index's tests. */
int	maps_zones_lookup_scan(const struct maps_zones *, double lat, double lon,
	    enum maps_zone def, struct maps_zone_hit *hit);

/* Read access to the loaded geometry (for drawing). Polygons are numbered
 * 0..maps_zones_polygons()-1; each has rings (0 the shell, then holes) of
 * WGS-84 vertices stored as lon, lat pairs, the closing repeat excluded.
 * Pointers stay valid until maps_zones_free. */
size_t	maps_zones_polygons(const struct maps_zones *);
/* Feature index, zone, name and ring count of polygon i; -1 if i is out of range. */
int	maps_zones_polygon(const struct maps_zones *, size_t i, enum maps_zone *zone,
	    const char **name, size_t *nrings);
/* Ring r of polygon i: *xy (lon, lat pairs) and *n vertices; -1 if out of range. */
int	maps_zones_ring(const struct maps_zones *, size_t i, size_t r,
	    const double **xy, size_t *n);
/* Bounding box of every polygon; -1 for an empty or NULL set. */
int	maps_zones_bounds(const struct maps_zones *, double *minlat, double *minlon,
	    double *maxlat, double *maxlon);

/* ---- growable output buffer with a hard cap (buf.c) ---- */

/* Text output of the builder and the SVG writer. The caller owns it: either
 * maps_buf_init (malloc'd, grows up to max bytes, freed by maps_buf_free) or
 * maps_buf_fixed (a caller array of cap bytes, never grows). Once an append
 * would pass the cap the buffer is "full": later appends do nothing and
 * maps_buf_full says so; the text is always NUL-terminated. */
struct maps_buf {
	char	*p;
	size_t	 len, cap, max;
	int	 owned, full;
};
void	maps_buf_init(struct maps_buf *, size_t max);
void	maps_buf_fixed(struct maps_buf *, char *mem, size_t cap);
void	maps_buf_free(struct maps_buf *);
int	maps_buf_printf(struct maps_buf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));			/* 0 / -1 full */
int	maps_buf_put(struct maps_buf *, const char *s, size_t n);	/* 0 / -1 full */
/* Append s with & < > " ' escaped for XML text and attributes. */
int	maps_buf_xml(struct maps_buf *, const char *s);
/* Append s as a JSON string (quotes included), escaping as RFC 8259 requires. */
int	maps_buf_json(struct maps_buf *, const char *s);

/* ---- zone files from administrative boundaries (build.c) ---- */

/*
 * A rule file: one rule a line, '#' comments, blank lines ignored.
 *     urban suffix 区              name ends with one of the words
 *     rural suffix 旗 县 市
 *     remote adcode 152921 152922  the listed 6-digit codes
 *     urban name 康巴什区           exact names
 *     default rural                 a unit no rule matches; without it, such a unit is an error
 * Precedence, independent of line order: adcode, then name, then the longest
 * matching suffix, then default. Listing a word or code twice is an error.
 */
struct maps_rules;
/* Parse len bytes of rule text; file names messages ("rules.txt:3: ..."), may be
 * NULL. On MAPS_OK *out owns a rule set (maps_rules_free). */
enum maps_err maps_rules_parse(const char *text, size_t len, const char *file,
		    struct maps_rules **out, char *err, size_t errcap);
void	maps_rules_free(struct maps_rules *);

struct maps_build_stats {
	size_t	features;		/* written */
	size_t	vertices;		/* converted */
	size_t	by_zone[3];		/* features per enum maps_zone */
	size_t	by_default;		/* features classed by the default rule */
};

/*
 * Build a zone file: read the administrative FeatureCollection json (len bytes,
 * coordinates in crs; each feature has properties "name" (string) and "adcode"
 * (number or digit string), geometry Polygon or MultiPolygon), classify every
 * feature by the rules and append to out a WGS-84 zone FeatureCollection with
 * properties "zone", "name", "adcode" and "rule" (which rule decided), every
 * vertex converted, 7 decimals (~1 cm). A rule (adcode or name) that matches no
 * feature is an error: a typo must not silently leave a place unclassified.
 * Errors name the JSON path or the rule line; out is then incomplete.
 */
enum maps_err maps_build(const char *json, size_t len, enum maps_crs crs,
		    const struct maps_rules *, struct maps_buf *out,
		    struct maps_build_stats *stats, char *err, size_t errcap);

/* ---- which crew: ranking by estimated arrival (rank.c) ---- */

enum maps_crew_state {
	MAPS_CREW_OFF,		/* off duty: never ranked */
	MAPS_CREW_BUSY,		/* on an order, not finishing soon: never ranked */
	MAPS_CREW_FREE,		/* on duty, free */
	MAPS_CREW_FINISHING,	/* on duty, free at free_at_ms (finishing soon) */
};

struct maps_crew {
	double			lat, lon;	/* last good position, WGS-84; NaN: none */
	int64_t			pos_ms;		/* when that position was taken, UTC ms */
	int64_t			free_at_ms;	/* MAPS_CREW_FINISHING: expected free */
	enum maps_crew_state	state;
};

struct maps_rank_params {
	double	speed_kmh[3];		/* travel speed by the site's zone class (> 0) */
	double	detour;			/* road distance / straight distance (>= 1) */
	double	setup_s;		/* from dispatch to driving off (>= 0) */
	double	drift_kmh;		/* how fast an old position may go stale (>= 0) */
	double	drift_max_m;		/* cap of that uncertainty (>= 0) */
	double	max_pos_age_s;		/* older positions count as none (> 0) */
};
/* Urban 30, rural 60, remote 40 km/h; detour 1.3; setup 5 min; drift 20 km/h
 * capped at 20 km; positions older than 2 h count as none. */
void	maps_rank_defaults(struct maps_rank_params *);

enum maps_reach {
	MAPS_REACH_YES,		/* even the pessimistic ETA is within the limit */
	MAPS_REACH_MAYBE,	/* the nominal ETA is, the pessimistic one not */
	MAPS_REACH_NO,		/* late even on the nominal ETA */
	MAPS_REACH_UNKNOWN,	/* no usable position */
};
const char *maps_reach_name(enum maps_reach);	/* "yes" "maybe" "no" "unknown" */

struct maps_rank {
	size_t		crew;		/* index into the caller's array */
	double		dist_m;		/* straight (haversine); NaN when unknown */
	double		eta_s;		/* nominal: wait + setup + dist * detour / speed */
	double		eta_hi_s;	/* pessimistic: plus the position-age uncertainty */
	int64_t		arrive_ms;	/* now + eta_s */
	enum maps_reach	reach;
};

/*
 * Rank crews for a site (WGS-84) of zone class zone, at now_ms, against the
 * arrival deadline due_ms. Only MAPS_CREW_FREE and MAPS_CREW_FINISHING crews are
 * ranked; out (cap >= n entries) receives them sorted by eta_hi_s, then eta_s,
 * then index; crews without a usable position come last, by index. Returns the
 * number written (the eligible crews), or -1 with err for bad params, a bad
 * site or cap < n. The speed applies to the whole trip (the site's zone decides).
 * Cost: one haversine per crew and a sort; no allocation.
 */
long	maps_rank_crews(double site_lat, double site_lon, enum maps_zone zone,
	    int64_t now_ms, int64_t due_ms, const struct maps_crew *crews, size_t n,
	    const struct maps_rank_params *, struct maps_rank *out, size_t cap,
	    char *err, size_t errcap);

/* ---- outage clusters (cluster.c) ---- */

struct maps_report {
	double	lat, lon;	/* WGS-84 */
	int64_t	at_ms;		/* when it was recorded */
};

/*
 * Single-linkage clustering in space and time: two reports are linked when
 * their great-circle distance is <= radius_m and their times differ by <=
 * window_ms; a cluster is a connected set (so a chain of reports may span more
 * than the window). ids[i] gets the cluster of report i, numbered 0, 1, ... in
 * the order of each cluster's first report; a report linked to nothing is a
 * cluster of its own. Returns the number of clusters, or -1 for bad arguments
 * (radius_m not in (0, 100 km], window_ms < 0, a non-finite or out-of-range
 * position: err names "reports[i].lat") or no memory. Uses a grid of cells about
 * radius_m wide, sorted: O(n log n) for spread reports.
 */
long	maps_cluster(const struct maps_report *, size_t n, double radius_m,
	    int64_t window_ms, int *ids, char *err, size_t errcap);

/* ---- pictures: projection, simplification, SVG (svg.c) ---- */

enum maps_proj_kind { MAPS_PROJ_EQUIRECT, MAPS_PROJ_MERCATOR };

struct maps_proj {
	enum maps_proj_kind kind;
	double	x0, y0;		/* projected coordinate of the viewport's top-left */
	double	scale;		/* pixels per projected unit */
	double	coslat;		/* equirectangular: cos of the box's middle latitude */
	double	width, height;	/* viewport, pixels */
};

/*
 * Fit the box (WGS-84 degrees) into width x height pixels less margin_px on each
 * side, keeping the aspect (equirectangular: x = lon * cos(mid lat), y = lat;
 * Web Mercator: y = ln tan(pi/4 + lat/2), |lat| <= 85.05). Returns 0, or -1 for
 * an empty or inverted box, non-finite values or a viewport under 1 pixel.
 */
int	maps_proj_fit(struct maps_proj *, enum maps_proj_kind, double minlat, double minlon,
	    double maxlat, double maxlon, double width, double height, double margin_px);
/* Pixel position of (lat, lon); y grows downwards. */
void	maps_proj_point(const struct maps_proj *, double lat, double lon, double *x, double *y);

/*
 * Douglas-Peucker on a polyline or ring of n points (x, y pairs, pixels): sets
 * keep[i] to 1 for the points to keep, always the first and the last; a point is
 * dropped when it lies within tol of the chord of the kept points around it.
 * Returns the number kept. Iterative with a caller-supplied stack of n entries
 * (stack), so no recursion depth and no allocation.
 */
size_t	maps_simplify(const double *xy, size_t n, double tol, unsigned char *keep,
	    size_t *stack);

struct maps_svg_order {
	const char	*id;
	double		 lat, lon;	/* WGS-84 */
	int64_t		 due_ms;	/* the next deadline */
};
struct maps_svg_crew {
	const char	*id;
	double		 lat, lon;	/* last position, WGS-84; NaN: not drawn */
	int64_t		 pos_ms;
};
/* A polyline layer (a crew's track): n points as lat, lon pairs (WGS-84), in
 * order; non-finite points are skipped; drawn simplified to tol_px (the first
 * and last point always kept) with a tooltip. */
struct maps_svg_line {
	const double	*latlon;	/* 2 * n doubles */
	size_t		 n;
	const char	*cls;		/* class attribute; NULL: "line" */
	const char	*stroke;	/* colour "#rrggbb"; NULL: purple */
	const char	*title;		/* tooltip; NULL: none */
};
/* A circle of a radius on the ground (a geofence), drawn to scale at its centre. */
struct maps_svg_ring {
	double		 lat, lon, radius_m;	/* WGS-84, metres (> 0) */
	const char	*cls;		/* NULL: "ring" */
	const char	*title;
};
/* A labelled point (a track's start and end, an arrival). */
struct maps_svg_mark {
	double		 lat, lon;	/* WGS-84; non-finite: not drawn */
	const char	*cls;		/* NULL: "mark" */
	const char	*fill;		/* NULL: black */
	const char	*label;		/* short text beside it; NULL: none */
	const char	*title;		/* tooltip; NULL: none */
	int		 label_left;	/* 1: the label ends left of the point, below it
					 * (apart from a label above-right of a mark nearby) */
};
/*
 * The words a map writes itself: the legend, an order's tooltip, durations,
 * the zone class in a zone's tooltip. A caller's table of UTF-8 strings (the
 * library holds no locale and picks no language); each is written XML-escaped.
 * maps_svg_labels_en (what maps_svg_defaults sets) and maps_svg_labels_zh are
 * the library's two, const data. An order's tooltip is id + over_pre +
 * duration + over_post when overdue, id + left_pre + duration + left_post when
 * not, id + no_due with no deadline pending; a duration is "N " + min, or
 * "N " + hour from 2 h.
 */
struct maps_svg_labels {
	const char	*min, *hour;		/* "min", "h" */
	const char	*left_pre, *left_post;	/* ": ", " left" */
	const char	*over_pre, *over_post;	/* ": overdue ", "" */
	const char	*no_due;		/* ": no deadline pending" */
	const char	*overdue, *later;	/* legend: the first and the last colour */
	const char	*crew_age;		/* legend: "crew · position age" */
	const char	*zone[3];		/* by enum maps_zone, in a zone's tooltip */
	const char	*zone_legend[3];	/* by enum maps_zone, in the legend */
	const char	*track, *geofence;	/* legend of the optional layers */
};
extern const struct maps_svg_labels maps_svg_labels_en;
extern const struct maps_svg_labels maps_svg_labels_zh;	/* Simplified Chinese */

struct maps_svg_opts {
	double			width, height, margin_px;
	enum maps_proj_kind	proj;
	double			tol_px;		/* simplification tolerance */
	const char		*title;
	/* Box to show; all NaN: the zones' bounds (or the points' when no zones). */
	double			minlat, minlon, maxlat, maxlon;
	/* Optional layers (defaults: none). focus_order: the order of that id is
	 * drawn in full and every other one dimmed (class "dim"). Rings go above
	 * the zones, then lines, orders, marks, crews. */
	const char			*focus_order;
	const struct maps_svg_ring	*rings;
	size_t				 nrings;
	const struct maps_svg_line	*lines;
	size_t				 nlines;
	const struct maps_svg_mark	*marks;
	size_t				 nmarks;
	/* The words (defaults: English); every field set, or MAPS_E_ARG. */
	const struct maps_svg_labels	*labels;
};
void	maps_svg_defaults(struct maps_svg_opts *);	/* 1000 x 800, Mercator, 0.75 px */

/*
 * Render an SVG document into out: zone polygons (fill by class, simplified to
 * tol_px, holes by the even-odd rule), orders as circles coloured by time left
 * at now_ms (overdue red, < 30 min orange, < 2 h yellow, else green), crews as
 * squares labelled "id · N min" with their position's age, and the optional
 * layers of the options (an order with due_ms <= 0 has no deadline pending:
 * grey), all words from the options' labels. Names and every caller string
 * are XML-escaped. zones may be NULL. Returns MAPS_OK, MAPS_E_FULL when out's cap was reached
 * (the text is then cut short: do not serve it), MAPS_E_ARG for bad options,
 * MAPS_E_NOMEM.
 */
enum maps_err maps_svg_render(struct maps_buf *out, const struct maps_svg_opts *,
		    const struct maps_zones *zones, const struct maps_svg_order *orders,
		    size_t norders, const struct maps_svg_crew *crews, size_t ncrews,
		    int64_t now_ms);

#endif
