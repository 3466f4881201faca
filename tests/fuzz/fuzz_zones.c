/*
 * fuzz_zones.c: libFuzzer target for maps_zones_parse, the loader of the
 * GeoJSON zone files (urban / rural / remote) the gateway and linecrew-zones
 * read, in each coordinate system (the first byte chooses WGS-84, GCJ-02 or
 * BD-09; the rest is the file).
 *
 * Any file must load or give an error naming the JSON path, never a crash, a
 * leak or undefined behaviour; a loaded set must answer lookups (indexed and
 * by scan, which must agree) for a few points inside its bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum maps_crs crs[3] = { MAPS_WGS84, MAPS_GCJ02, MAPS_BD09 };
	struct maps_zones *z = NULL;
	struct maps_zone_hit a, b;
	double minlat, minlon, maxlat, maxlon;
	char err[256];
	int i;

	if (size < 1 || size > 256 * 1024)
		return 0;
	err[0] = '\0';
	if (maps_zones_parse((const char *)data + 1, size - 1, crs[data[0] % 3], &z, err,
	    sizeof(err)) != MAPS_OK) {
		if (z != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	if (maps_zones_bounds(z, &minlat, &minlon, &maxlat, &maxlon) == 0) {
		/* Points off the bounding box's round fractions: a point exactly on
		 * an edge or a vertex may fall either way (maps.h), so the two
		 * searches are compared only where the answer is defined. */
		for (i = 0; i <= 4; i++) {
			double f = (i + 0.3183098861837907) / 5.0;
			double lat = minlat + (maxlat - minlat) * f;
			double lon = minlon + (maxlon - minlon) * (1.0 - f);

			if (maps_zones_lookup(z, lat, lon, MAPS_ZONE_RURAL, &a) !=
			    maps_zones_lookup_scan(z, lat, lon, MAPS_ZONE_RURAL, &b) ||
			    a.zone != b.zone)
				abort();	/* the index and the scan disagree */
		}
	}
	maps_zones_free(z);
	return 0;
}
