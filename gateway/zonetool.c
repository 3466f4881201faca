/*
 * zonetool.c: `linecrew-zones`, the operator's tool for zone files.
 *
 *     linecrew-zones build --from ADMIN.geojson --crs gcj02 --rule RULES -o OUT.geojson
 *         classify administrative units by the rule file and write a WGS-84 zone file
 *     linecrew-zones check FILE [--crs wgs84|gcj02|bd09]
 *         load a zone file as the gateway would and report its features
 *     linecrew-zones lookup FILE LAT,LON [--crs C] [--point-crs C]
 *         classify one point (WGS-84 unless --point-crs says otherwise)
 *     linecrew-zones svg FILE -o OUT.svg [--width PX] [--height PX] [--crs C]
 *         draw the zone file
 *
 * Does: file I/O around libmaps (which does none): reads inputs whole, writes
 * outputs new-file, fsync, rename, so a crash never leaves a half zone file
 * where the gateway would load it. A built file is loaded back with the
 * gateway's own loader before it is renamed into place.
 * Does not: talk to the gateway; the operator installs the file and restarts.
 * Exit status: 0 done, 1 an error (the message names the file and place), 2 usage.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maps.h"

#define ZT_MAX_INPUT_B	(256u * 1024 * 1024)
#define ZT_MAX_OUTPUT_B	(512u * 1024 * 1024)
#define ZT_MAX_SVG_B	(64u * 1024 * 1024)

static void
usage(void)
{
	fprintf(stderr,
	    "usage: linecrew-zones build --from ADMIN.geojson --crs wgs84|gcj02|bd09 "
	    "--rule RULES -o OUT.geojson\n"
	    "       linecrew-zones check FILE [--crs wgs84|gcj02|bd09]\n"
	    "       linecrew-zones lookup FILE LAT,LON [--crs C] [--point-crs C]\n"
	    "       linecrew-zones svg FILE -o OUT.svg [--width PX] [--height PX] [--crs C]\n");
	exit(2);
}

/* The whole file, NUL-terminated, in *buf; 0, or -1 after printing why. */
static int
slurp(const char *path, char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		fprintf(stderr, "linecrew-zones: %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (unsigned long long)st.st_size > ZT_MAX_INPUT_B) {
		fprintf(stderr, "linecrew-zones: %s: not a regular file of at most %u bytes\n",
		    path, ZT_MAX_INPUT_B);
		close(fd);
		return -1;
	}
	if ((*buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fprintf(stderr, "linecrew-zones: %s: out of memory\n", path);
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "linecrew-zones: %s: read: %s\n", path,
			    r == 0 ? "file shrank" : strerror(errno));
			free(*buf);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	(*buf)[got] = '\0';
	*len = got;
	return 0;
}

/* Write len bytes to path via path.tmp, fsync, rename. 0 / -1 after printing why. */
static int
write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	size_t off = 0;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		fprintf(stderr, "linecrew-zones: %s: path too long\n", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1) {
		fprintf(stderr, "linecrew-zones: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "linecrew-zones: %s: write: %s\n", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1 || rename(tmp, path) == -1) {
		fprintf(stderr, "linecrew-zones: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static enum maps_crs
crs_arg(const char *s)
{
	enum maps_crs c;

	if (s == NULL || maps_crs_parse(s, &c) == -1) {
		fprintf(stderr, "linecrew-zones: --crs: \"%s\" is not wgs84, gcj02 or bd09\n",
		    s != NULL ? s : "");
		exit(2);
	}
	return c;
}

static double
num_arg(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0') {
		fprintf(stderr, "linecrew-zones: %s: \"%s\" is not a number\n", what, s);
		exit(2);
	}
	return v;
}

static int
cmd_build(int argc, char **argv)
{
	const char *from = NULL, *rulef = NULL, *outf = NULL;
	enum maps_crs crs = MAPS_WGS84;
	int have_crs = 0, rc = 1;
	char *admin = NULL, *rtext = NULL, err[512];
	size_t alen, rlen;
	struct maps_rules *rules = NULL;
	struct maps_buf out;
	struct maps_build_stats st;
	struct maps_zones *check = NULL;
	enum maps_err e;

	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--from"))
			from = argv[++i];
		else if (!strcmp(argv[i], "--rule"))
			rulef = argv[++i];
		else if (!strcmp(argv[i], "-o"))
			outf = argv[++i];
		else if (!strcmp(argv[i], "--crs")) {
			crs = crs_arg(argv[++i]);
			have_crs = 1;
		} else
			usage();
	}
	if (from == NULL || rulef == NULL || outf == NULL || !have_crs)
		usage();
	maps_buf_init(&out, ZT_MAX_OUTPUT_B);
	if (slurp(rulef, &rtext, &rlen) == -1 || slurp(from, &admin, &alen) == -1)
		goto done;
	if (maps_rules_parse(rtext, rlen, rulef, &rules, err, sizeof(err)) != MAPS_OK) {
		fprintf(stderr, "linecrew-zones: %s\n", err);
		goto done;
	}
	if ((e = maps_build(admin, alen, crs, rules, &out, &st, err, sizeof(err))) != MAPS_OK) {
		fprintf(stderr, "linecrew-zones: %s%s%s\n",
		    e == MAPS_E_RULE && strncmp(err, rulef, strlen(rulef)) == 0 ? "" : from,
		    e == MAPS_E_RULE && strncmp(err, rulef, strlen(rulef)) == 0 ? "" : ": ", err);
		goto done;
	}
	/* Load what we made with the gateway's loader before it replaces anything. */
	if (maps_zones_parse(out.p, out.len, MAPS_WGS84, &check, err, sizeof(err)) != MAPS_OK) {
		fprintf(stderr, "linecrew-zones: the built file does not load: %s\n", err);
		goto done;
	}
	if (write_atomic(outf, out.p, out.len) == -1)
		goto done;
	printf("%s: %zu zones (%zu urban, %zu rural, %zu remote; %zu by the default rule), "
	    "%zu vertices %s -> WGS-84\n", outf, st.features, st.by_zone[MAPS_ZONE_URBAN],
	    st.by_zone[MAPS_ZONE_RURAL], st.by_zone[MAPS_ZONE_REMOTE], st.by_default,
	    st.vertices, maps_crs_name(crs));
	rc = 0;
done:
	maps_zones_free(check);
	maps_rules_free(rules);
	maps_buf_free(&out);
	free(admin);
	free(rtext);
	return rc;
}

static int
cmd_svg(struct maps_zones *z, int argc, char **argv)
{
	struct maps_svg_opts o;
	struct maps_buf out;
	const char *outf = NULL;
	enum maps_err e;
	int rc = 1;

	maps_svg_defaults(&o);
	o.title = argv[2];
	for (int i = 3; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "-o"))
			outf = argv[++i];
		else if (!strcmp(argv[i], "--width"))
			o.width = num_arg(argv[++i], "--width");
		else if (!strcmp(argv[i], "--height"))
			o.height = num_arg(argv[++i], "--height");
		else
			usage();
	}
	if (outf == NULL)
		usage();
	maps_buf_init(&out, ZT_MAX_SVG_B);
	if ((e = maps_svg_render(&out, &o, z, NULL, 0, NULL, 0, 0)) != MAPS_OK)
		fprintf(stderr, "linecrew-zones: svg: %s\n", maps_strerror(e));
	else if (write_atomic(outf, out.p, out.len) == 0) {
		printf("%s: %zu bytes\n", outf, out.len);
		rc = 0;
	}
	maps_buf_free(&out);
	return rc;
}

int
main(int argc, char **argv)
{
	struct maps_zones *z;
	struct maps_zone_hit hit;
	enum maps_crs crs = MAPS_WGS84, pcrs = MAPS_WGS84;
	char err[512], *end;
	double lat, lon;
	int i, n = argc, rc = 0;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "build"))
		return cmd_build(argc, argv);
	if (argc < 3)
		usage();
	/* --crs and --point-crs may follow the positional arguments of the other commands */
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--crs") || !strcmp(argv[i], "--point-crs")) {
			if (i + 1 >= argc)
				usage();
			if (!strcmp(argv[i], "--crs"))
				crs = crs_arg(argv[i + 1]);
			else
				pcrs = crs_arg(argv[i + 1]);
			if (n == argc)
				n = i;
			i++;
		} else if (n != argc)
			usage();	/* positional arguments after the options */
	}
	if (maps_zones_load(argv[2], crs, &z, err, sizeof(err)) != MAPS_OK) {
		fprintf(stderr, "linecrew-zones: %s\n", err);
		return 1;
	}
	if (!strcmp(argv[1], "check") && n == 3) {
		printf("%s: %zu zones, %zu polygons, OK\n", argv[2], maps_zones_count(z),
		    maps_zones_polygons(z));
	} else if (!strcmp(argv[1], "lookup") && n == 4) {
		lat = strtod(argv[3], &end);
		if (end == argv[3] || *end != ',')
			usage();
		lon = strtod(end + 1, &end);
		if (*end != '\0' || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180)) {
			fprintf(stderr, "linecrew-zones: %s: not LAT,LON\n", argv[3]);
			maps_zones_free(z);
			return 2;
		}
		maps_convert(pcrs, MAPS_WGS84, lat, lon, &lat, &lon);
		if (maps_zones_lookup(z, lat, lon, MAPS_ZONE_RURAL, &hit))
			printf("%s (%s)\n", maps_zone_name(hit.zone), hit.name);
		else
			printf("outside every zone: default %s\n", maps_zone_name(hit.zone));
	} else if (!strcmp(argv[1], "svg")) {
		rc = cmd_svg(z, n, argv);
	} else {
		maps_zones_free(z);
		usage();
	}
	maps_zones_free(z);
	return rc;
}
