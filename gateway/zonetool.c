/*
 * zonetool.c: `linecrew-zones`, the operator's tool for zone files.
 *
 *     linecrew-zones check FILE [--crs wgs84|gcj02|bd09]
 *         load a zone file as the gateway would and report its features
 *     linecrew-zones lookup FILE LAT,LON [--crs ...]
 *         classify one WGS-84 point
 *
 * It links only libmaps; the gateway is not needed to check a file before
 * installing it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps.h"

static void
usage(void)
{
	fprintf(stderr, "usage: linecrew-zones check FILE [--crs wgs84|gcj02|bd09]\n"
	    "       linecrew-zones lookup FILE LAT,LON [--crs wgs84|gcj02|bd09]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct maps_zones *z;
	struct maps_zone_hit hit;
	enum maps_crs crs = MAPS_WGS84;
	char err[512];
	double lat, lon;
	char *end;
	int i;

	if (argc < 3)
		usage();
	for (i = 3; i < argc; i++)
		if (!strcmp(argv[i], "--crs") && i + 1 < argc &&
		    maps_crs_parse(argv[i + 1], &crs) == 0)
			argc = i;
	if (maps_zones_load(argv[2], crs, &z, err, sizeof(err)) != MAPS_OK) {
		fprintf(stderr, "linecrew-zones: %s\n", err);
		return 1;
	}
	if (!strcmp(argv[1], "check") && argc == 3) {
		printf("%s: %zu zone polygons, OK\n", argv[2], maps_zones_count(z));
	} else if (!strcmp(argv[1], "lookup") && argc == 4) {
		lat = strtod(argv[3], &end);
		if (end == argv[3] || *end != ',')
			usage();
		lon = strtod(end + 1, &end);
		if (*end != '\0')
			usage();
		if (maps_zones_lookup(z, lat, lon, MAPS_ZONE_RURAL, &hit))
			printf("%s (%s)\n", maps_zone_name(hit.zone), hit.name);
		else
			printf("outside every zone: default %s\n", maps_zone_name(hit.zone));
	} else {
		maps_zones_free(z);
		usage();
	}
	maps_zones_free(z);
	return 0;
}
