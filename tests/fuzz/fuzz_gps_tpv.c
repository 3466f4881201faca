/*
 * fuzz_gps_tpv.c: libFuzzer target for the device's NMEA-derived fixes: gpsd
 * turns NMEA sentences into TPV reports, libgps unpacks them into struct
 * gps_data_t, and device/gps.c makes a fix of it (gps_fix_from_tpv) and judges
 * it against the device clock and the last fix (gps_plausible).
 *
 * The input fills, per fix, the report's "set" mask, mode, time, position,
 * error estimates, speed, track and altitudes with arbitrary bits (NaN, inf,
 * huge times, negative values), plus the device's monotonic and wall clock
 * readings. A usable fix must be finite where it is known, in range, and its
 * verdict one of the named ones; nothing may overflow (UBSan) or crash. It
 * does not exercise libgps's own JSON parser (gpsd's project fuzzes that).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct raw {		/* what one fuzzed report sets */
	uint64_t	set;
	int32_t		mode;
	int64_t		tv_sec;
	int64_t		tv_nsec;
	double		lat, lon, eph, epx, epy, speed, track, alt_msl, alt_hae;
	int64_t		mono_ms, wall_ms;
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gps_data_t g;
	struct gps_check chk;
	struct proto_fix f;
	struct raw r;
	int rc;

	memset(&chk, 0, sizeof(chk));
	while (size >= sizeof(r)) {
		memcpy(&r, data, sizeof(r));
		data += sizeof(r);
		size -= sizeof(r);
		memset(&g, 0, sizeof(g));
		g.set = (gps_mask_t)r.set;
		g.fix.mode = r.mode;
		g.fix.time.tv_sec = (time_t)r.tv_sec;
		g.fix.time.tv_nsec = (long)r.tv_nsec;
		g.fix.latitude = r.lat;
		g.fix.longitude = r.lon;
		g.fix.eph = r.eph;
		g.fix.epx = r.epx;
		g.fix.epy = r.epy;
		g.fix.speed = r.speed;
		g.fix.track = r.track;
		g.fix.altMSL = r.alt_msl;
		g.fix.altHAE = r.alt_hae;
		/* the device's own clocks are sane: monotonic below ~30 years of
		 * uptime, wall clock between 1970 and 2100 */
		r.mono_ms = (int64_t)((uint64_t)r.mono_ms % 1000000000000ULL);
		r.wall_ms = (int64_t)((uint64_t)r.wall_ms % 4102444800000ULL);
		rc = gps_fix_from_tpv(&g, &f);
		if (rc < -1 || rc > 1)
			abort();
		if (rc != 1)
			continue;
		if (!isfinite(f.lat) || !isfinite(f.lon) || fabs(f.lat) > 90 || fabs(f.lon) > 180 ||
		    (f.mode != 2 && f.mode != 3) || (!isnan(f.eph_m) && !(f.eph_m >= 0)) ||
		    (!isnan(f.speed_mps) && !(f.speed_mps >= 0)) || isinf(f.track_deg) ||
		    isinf(f.alt_m))
			abort();	/* a fix with a value that is neither known nor NaN */
		switch (gps_plausible(&chk, &f, r.mono_ms, r.wall_ms)) {
		case GPS_PLAUSIBLE: case GPS_R_FUTURE: case GPS_R_STALE:
		case GPS_R_ROLLOVER: case GPS_R_JUMP:
			break;
		default:
			abort();
		}
	}
	return 0;
}
