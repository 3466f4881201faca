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
 *    an exact even-odd point-in-polygon test.
 */
#ifndef LC_MAPS_H
#define LC_MAPS_H

#include <stddef.h>

enum maps_err {
	MAPS_OK = 0,
	MAPS_E_IO,		/* cannot read the file */
	MAPS_E_JSON,		/* not JSON / not GeoJSON */
	MAPS_E_GEOMETRY,	/* a bad ring, coordinate or geometry type */
	MAPS_E_PROPERTY,	/* a missing or bad "zone" / "name" */
	MAPS_E_NOMEM,
	MAPS_E_RANGE,		/* latitude/longitude out of range */
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

#endif
