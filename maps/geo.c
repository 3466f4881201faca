/*
 * geo.c: distances on the WGS-84 ellipsoid and the geofence test.
 *
 * Does: the Vincenty (1975) inverse solution on the WGS-84 ellipsoid, the
 * haversine on the mean-radius sphere, and "is this fix inside the site's
 * radius, widened by the fix's own stated error".
 * Does not: direct problems (point at a distance and bearing), areas, or any
 * datum conversion (crs.c); all inputs here are WGS-84 degrees.
 *
 * Accuracy: Vincenty's iteration is good to well under a millimetre where it
 * converges. It fails to converge only for nearly antipodal points (more than
 * ~179.5 degrees of arc apart); there the haversine is used instead, whose
 * error against the ellipsoid is at most about 0.5 %. Dispatch distances are
 * at most a few hundred kilometres, so the fallback is a safety net, not a
 * working path.
 */
#include <math.h>

#include "maps.h"

#define WGS84_A_M	6378137.0		/* semi-major axis */
#define WGS84_F		(1.0 / 298.257223563)	/* flattening */
#define WGS84_B_M	(WGS84_A_M * (1.0 - WGS84_F))
#define MEAN_RADIUS_M	6371008.8		/* IUGG mean radius R1 */
#define VINCENTY_MAX_ITER	200
#define VINCENTY_EPS_RAD	1e-12		/* ~6 micrometres on the ground */

static double
deg2rad(double d)
{
	return d * (M_PI / 180.0);
}

/* 1 when lat is a finite latitude in [-90, 90] and lon a finite number. */
static int
valid_point(double lat, double lon)
{
	return isfinite(lat) && isfinite(lon) && lat >= -90.0 && lat <= 90.0;
}

/*
 * Great-circle distance in metres on the sphere of radius MEAN_RADIUS_M.
 * Returns NaN when a latitude is outside [-90, 90] or any input is not finite.
 * Longitudes may be any finite value (only their difference matters).
 */
double
maps_haversine_m(double lat1, double lon1, double lat2, double lon2)
{
	double p1, p2, dp, dl, h;

	if (!valid_point(lat1, lon1) || !valid_point(lat2, lon2))
		return NAN;
	p1 = deg2rad(lat1);
	p2 = deg2rad(lat2);
	dp = p2 - p1;
	dl = deg2rad(lon2 - lon1);
	h = sin(dp / 2) * sin(dp / 2) +
	    cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
	if (h > 1.0)
		h = 1.0;	/* rounding near antipodes */
	return 2.0 * MEAN_RADIUS_M * asin(sqrt(h));
}

/*
 * Geodesic distance in metres on the WGS-84 ellipsoid by Vincenty's inverse
 * formula; the haversine when the iteration does not converge (nearly
 * antipodal points). Returns NaN for an invalid latitude or a non-finite input.
 */
double
maps_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	double L, U1, U2, sinU1, cosU1, sinU2, cosU2, lambda, lambda_prev;
	double sin_sigma = 0, cos_sigma = 0, sigma = 0, cos2_alpha = 0;
	double cos_2sm = 0, u2, A, B, dsigma;
	int i, converged = 0;

	if (!valid_point(lat1, lon1) || !valid_point(lat2, lon2))
		return NAN;
	L = deg2rad(remainder(lon2 - lon1, 360.0));
	U1 = atan((1.0 - WGS84_F) * tan(deg2rad(lat1)));
	U2 = atan((1.0 - WGS84_F) * tan(deg2rad(lat2)));
	sinU1 = sin(U1); cosU1 = cos(U1);
	sinU2 = sin(U2); cosU2 = cos(U2);

	lambda = L;
	for (i = 0; i < VINCENTY_MAX_ITER; i++) {
		double sl = sin(lambda), cl = cos(lambda), sin_alpha, C, t1, t2;

		t1 = cosU2 * sl;
		t2 = cosU1 * sinU2 - sinU1 * cosU2 * cl;
		sin_sigma = sqrt(t1 * t1 + t2 * t2);
		if (sin_sigma == 0.0)
			return 0.0;	/* coincident points */
		cos_sigma = sinU1 * sinU2 + cosU1 * cosU2 * cl;
		sigma = atan2(sin_sigma, cos_sigma);
		sin_alpha = cosU1 * cosU2 * sl / sin_sigma;
		cos2_alpha = 1.0 - sin_alpha * sin_alpha;
		/* On the equator cos2_alpha is 0 and cos_2sm is irrelevant. */
		cos_2sm = cos2_alpha != 0.0 ?
		    cos_sigma - 2.0 * sinU1 * sinU2 / cos2_alpha : 0.0;
		C = WGS84_F / 16.0 * cos2_alpha *
		    (4.0 + WGS84_F * (4.0 - 3.0 * cos2_alpha));
		lambda_prev = lambda;
		lambda = L + (1.0 - C) * WGS84_F * sin_alpha *
		    (sigma + C * sin_sigma *
		    (cos_2sm + C * cos_sigma * (-1.0 + 2.0 * cos_2sm * cos_2sm)));
		if (fabs(lambda) > M_PI)
			break;		/* diverging: nearly antipodal */
		if (fabs(lambda - lambda_prev) < VINCENTY_EPS_RAD) {
			converged = 1;
			break;
		}
	}
	if (!converged)
		return maps_haversine_m(lat1, lon1, lat2, lon2);

	u2 = cos2_alpha * (WGS84_A_M * WGS84_A_M - WGS84_B_M * WGS84_B_M) /
	    (WGS84_B_M * WGS84_B_M);
	A = 1.0 + u2 / 16384.0 * (4096.0 + u2 * (-768.0 + u2 * (320.0 - 175.0 * u2)));
	B = u2 / 1024.0 * (256.0 + u2 * (-128.0 + u2 * (74.0 - 47.0 * u2)));
	dsigma = B * sin_sigma * (cos_2sm + B / 4.0 *
	    (cos_sigma * (-1.0 + 2.0 * cos_2sm * cos_2sm) -
	    B / 6.0 * cos_2sm * (-3.0 + 4.0 * sin_sigma * sin_sigma) *
	    (-3.0 + 4.0 * cos_2sm * cos_2sm)));
	return WGS84_B_M * A * (sigma - dsigma);
}

/*
 * Geofence: 1 when the fix (lat, lon) lies within radius_m + max(eph_m, 0) of
 * the site, else 0. A NaN eph_m (gpsd's "unknown") or an infinite one widens
 * nothing: an error we cannot bound must not make every fix "arrived". Any invalid
 * coordinate or a NaN radius gives 0 (not inside) with *dist_m = NaN.
 * dist_m may be NULL.
 */
int
maps_within(double site_lat, double site_lon, double radius_m,
    double lat, double lon, double eph_m, double *dist_m)
{
	double d, limit;

	d = maps_distance_m(site_lat, site_lon, lat, lon);
	if (dist_m != NULL)
		*dist_m = d;
	if (isnan(d) || isnan(radius_m))
		return 0;
	limit = radius_m;
	if (isfinite(eph_m) && eph_m > 0.0)
		limit += eph_m;
	return d <= limit;
}
