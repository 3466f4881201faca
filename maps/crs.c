/*
 * crs.c: the Chinese map datums WGS-84, GCJ-02 and BD-09.
 *
 * Does: the forward transforms WGS-84 -> GCJ-02 and GCJ-02 -> BD-09 exactly as
 * the widely published formulas (the "eviltransform"/"coordtransform" family:
 * Krasovsky a = 6378245 m, e^2 = 0.00669342162296594323, and Baidu's
 * x_pi = pi * 3000 / 180 rotation); their inverses by fixed-point iteration
 * x <- x - (f(x) - target), which converges because each transform is the
 * identity plus a slowly varying offset of a few hundred metres. The iteration
 * stops when the step is below CRS_EPS_DEG (1e-9 degrees, ~0.1 mm), so the
 * inverse is exact to far better than the promised 1e-7 degrees.
 * Does not: any geodetic datum change (GCJ-02 is an obfuscation of WGS-84, not
 * a datum); outside the rough mainland box GCJ-02 is WGS-84 by definition.
 * Non-finite input gives non-finite output; nothing here fails or allocates.
 */
#include <math.h>
#include <strings.h>

#include "maps.h"

#define GCJ_A_M		6378245.0			/* Krasovsky 1940 semi-major axis */
#define GCJ_EE		0.00669342162296594323		/* Krasovsky e^2 */
#define BD_X_PI		(M_PI * 3000.0 / 180.0)
#define BD_DLON_DEG	0.0065
#define BD_DLAT_DEG	0.006
#define CRS_EPS_DEG	1e-9
#define CRS_MAX_ITER	50

/* The box used by every published implementation; the offset is applied in it. */
#define CHINA_LON_MIN	72.004
#define CHINA_LON_MAX	137.8347
#define CHINA_LAT_MIN	0.8293
#define CHINA_LAT_MAX	55.8271

/* Returns 1 if (lat, lon) is inside the rough mainland-China box, else 0 (also for NaN). */
int
maps_in_china(double lat, double lon)
{
	return lon >= CHINA_LON_MIN && lon <= CHINA_LON_MAX &&
	    lat >= CHINA_LAT_MIN && lat <= CHINA_LAT_MAX;
}

static double
gcj_dlat(double x, double y)
{
	double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y +
	    0.2 * sqrt(fabs(x));

	r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
	r += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
	r += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
	return r;
}

static double
gcj_dlon(double x, double y)
{
	double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y +
	    0.1 * sqrt(fabs(x));

	r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
	r += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
	r += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
	return r;
}

/*
 * WGS-84 -> GCJ-02 by the published formula. Outside maps_in_china() the
 * point is returned unchanged.
 */
void
maps_wgs84_to_gcj02(double lat, double lon, double *olat, double *olon)
{
	double dlat, dlon, rad, magic, sm;

	if (!maps_in_china(lat, lon)) {
		*olat = lat;
		*olon = lon;
		return;
	}
	dlat = gcj_dlat(lon - 105.0, lat - 35.0);
	dlon = gcj_dlon(lon - 105.0, lat - 35.0);
	rad = lat / 180.0 * M_PI;
	magic = sin(rad);
	magic = 1.0 - GCJ_EE * magic * magic;
	sm = sqrt(magic);
	dlat = (dlat * 180.0) / ((GCJ_A_M * (1.0 - GCJ_EE)) / (magic * sm) * M_PI);
	dlon = (dlon * 180.0) / (GCJ_A_M / sm * cos(rad) * M_PI);
	*olat = lat + dlat;
	*olon = lon + dlon;
}

/* A forward transform, for the shared fixed-point inverse. */
typedef void (*crs_fwd_fn)(double, double, double *, double *);

/*
 * Solve fwd(x) = (lat, lon) for x, starting at (glat, glon):
 * x <- x - (fwd(x) - target) until the step is below CRS_EPS_DEG.
 */
static void
crs_invert(crs_fwd_fn fwd, double lat, double lon, double glat, double glon,
    double *olat, double *olon)
{
	double flat, flon, elat, elon;
	int i;

	for (i = 0; i < CRS_MAX_ITER; i++) {
		fwd(glat, glon, &flat, &flon);
		elat = flat - lat;
		elon = flon - lon;
		glat -= elat;
		glon -= elon;
		if (!(fabs(elat) >= CRS_EPS_DEG || fabs(elon) >= CRS_EPS_DEG))
			break;	/* converged (a NaN also ends here) */
	}
	*olat = glat;
	*olon = glon;
}

/*
 * GCJ-02 -> WGS-84 by iteration to better than 1e-7 degrees. Outside
 * maps_in_china() the point is returned unchanged.
 */
void
maps_gcj02_to_wgs84(double lat, double lon, double *olat, double *olon)
{
	if (!maps_in_china(lat, lon)) {
		*olat = lat;
		*olon = lon;
		return;
	}
	crs_invert(maps_wgs84_to_gcj02, lat, lon, lat, lon, olat, olon);
}

/* GCJ-02 -> BD-09 by Baidu's published formula (applied everywhere, as Baidu does). */
void
maps_gcj02_to_bd09(double lat, double lon, double *olat, double *olon)
{
	double z, theta;

	z = sqrt(lon * lon + lat * lat) + 0.00002 * sin(lat * BD_X_PI);
	theta = atan2(lat, lon) + 0.000003 * cos(lon * BD_X_PI);
	*olon = z * cos(theta) + BD_DLON_DEG;
	*olat = z * sin(theta) + BD_DLAT_DEG;
}

/*
 * BD-09 -> GCJ-02: the commonly published approximate inverse as the start,
 * then iteration against maps_gcj02_to_bd09 to better than 1e-7 degrees.
 */
void
maps_bd09_to_gcj02(double lat, double lon, double *olat, double *olon)
{
	double x = lon - BD_DLON_DEG, y = lat - BD_DLAT_DEG, z, theta;

	z = sqrt(x * x + y * y) - 0.00002 * sin(y * BD_X_PI);
	theta = atan2(y, x) - 0.000003 * cos(x * BD_X_PI);
	crs_invert(maps_gcj02_to_bd09, lat, lon, z * sin(theta), z * cos(theta),
	    olat, olon);
}

/* Any system to any other, through GCJ-02. from == to copies the point. */
void
maps_convert(enum maps_crs from, enum maps_crs to, double lat, double lon,
    double *olat, double *olon)
{
	double glat = lat, glon = lon;

	if (from == to) {
		*olat = lat;
		*olon = lon;
		return;
	}
	if (from == MAPS_WGS84)
		maps_wgs84_to_gcj02(lat, lon, &glat, &glon);
	else if (from == MAPS_BD09)
		maps_bd09_to_gcj02(lat, lon, &glat, &glon);
	if (to == MAPS_WGS84)
		maps_gcj02_to_wgs84(glat, glon, olat, olon);
	else if (to == MAPS_BD09)
		maps_gcj02_to_bd09(glat, glon, olat, olon);
	else {
		*olat = glat;
		*olon = glon;
	}
}

/* "WGS-84", "GCJ-02", "BD-09"; "?" for a value outside the enum. Static strings. */
const char *
maps_crs_name(enum maps_crs c)
{
	switch (c) {
	case MAPS_WGS84:	return "WGS-84";
	case MAPS_GCJ02:	return "GCJ-02";
	case MAPS_BD09:		return "BD-09";
	}
	return "?";
}

/*
 * Parse a CRS name, case-insensitively, with or without the hyphen
 * ("WGS-84", "wgs84", "GCJ-02", "gcj02", "BD-09", "bd09").
 * Returns 0 and sets *out, or -1 (and leaves *out alone) for anything else.
 */
int
maps_crs_parse(const char *s, enum maps_crs *out)
{
	static const struct {
		const char	*name;
		enum maps_crs	 crs;
	} names[] = {
		{ "BD-09", MAPS_BD09 }, { "BD09", MAPS_BD09 },
		{ "GCJ-02", MAPS_GCJ02 }, { "GCJ02", MAPS_GCJ02 },
		{ "WGS-84", MAPS_WGS84 }, { "WGS84", MAPS_WGS84 },
	};
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].crs;
			return 0;
		}
	}
	return -1;
}
