/*
 * main.c: linecrew-gateway, the dispatch gateway daemon.
 *
 *     linecrew-gateway [-d] [-v] [-n] [-h] -f gateway.conf
 *
 * Reads the config (common/conf.c keyword table below), loads the zone file,
 * opens the store, starts the HTTP API and the MQTT link, and runs the one poll
 * loop with the SLA tick until SIGINT/SIGTERM; then closes the API, disconnects
 * from the broker and closes the database. It owns the context struct gw that
 * the other modules borrow. It holds no business logic.
 *
 *   -d  stay in the foreground (otherwise daemonise); where logs go is the
 *       `log` key: auto = stderr with -d, syslog daemonised (systemd runs -d)
 *   -v  verbose (debug) logging, as `log_level debug`
 *   -n  check the config and the zone file, print "configuration OK", exit 0
 *   -h  print the config keywords with defaults and ranges
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "gateway.h"
#include "log.h"

#define C(f)	offsetof(struct gw_conf, f)
#define CS(f)	offsetof(struct gw_conf, f), sizeof(((struct gw_conf *)0)->f)
#define L(f)	offsetof(struct sla_limits, f)

/*
 * The limits of a profile, the one table of 第十九条's numbers (README
 * "Profiles"). The same rows serve the top-level keys (profile "default", at
 * offset limits.*) and the `profile NAME key value ...` lines (relative to a
 * struct sla_limits), so a limit is declared once.
 */
#define LIMIT_KEYS(X) \
	X("answer_s", answer_s, 1, 600, "12", "call answered, seconds from ringing") \
	X("appeal_wd", appeal_wd, 1, 60, "3", "appeal, suggestion, opinion, praise: department result, working days") \
	X("archive_min", archive_min, 1, 1440, "60", "archiving, minutes after all of a shift's orders of a type are finished") \
	X("arrive_remote_min", arrive_remote_min, 1, 1440, "240", "arrival limit in a special remote area, minutes from dispatch") \
	X("arrive_rural_min", arrive_rural_min, 1, 1440, "120", "arrival limit in a rural zone, minutes from dispatch") \
	X("arrive_urban_min", arrive_urban_min, 1, 1440, "60", "arrival limit in an urban zone, minutes from dispatch") \
	X("callback_min", callback_min, 1, 1440, "10", "callback due, minutes after the gateway learns handling ended") \
	X("complaint_wd", complaint_wd, 1, 60, "10", "complaint and report: department result, working days") \
	X("complete_h", complete_h, 1, 168, "12", "repair completion limit, hours from dispatch") \
	X("complete_meter_h", complete_meter_h, 1, 168, "24", "completion limit of a meter fault (category 6), hours from dispatch") \
	X("consult_wd", consult_wd, 1, 60, "1", "consultation: department result, working days from forwarding") \
	X("install_wd", install_wd, 1, 60, "5", "installation: department result, working days (set by the installation rules)") \
	X("record_other_s", record_other_s, 10, 86400, "300", "non-repair order recorded and forwarded, seconds from hang-up") \
	X("record_repair_s", record_repair_s, 10, 86400, "180", "repair order recorded and forwarded, seconds from hang-up") \
	X("review_other_s", review_other_s, 10, 86400, "300", "supervisor review of a non-repair order, seconds from recording") \
	X("review_s", review_s, 10, 86400, "180", "supervisor review of a repair, seconds from recording") \
	X("warn_pct", warn_pct, 1, 99, "80", "warn when this percentage of a stage's time has passed")

#define TOP_KEY(k, f, lo, hi, def, help) \
	{ k, CONF_INT, C(limits.f), 0, lo, hi, def, NULL, help },
#define PROFILE_KEY(k, f, lo, hi, def, help) \
	{ k, CONF_INT, L(f), 0, lo, hi, def, NULL, help },

static const struct conf_key limit_keys[] = { LIMIT_KEYS(PROFILE_KEY) };
#define NLIMIT_KEYS (sizeof(limit_keys) / sizeof(limit_keys[0]))

static int conf_profile(void *dst, int argc, char **argv, char *err, size_t errcap);
static int conf_shifts(void *dst, int argc, char **argv, char *err, size_t errcap);

/* Sorted by name at start-up (conf_load looks keys up with bsearch). */
static struct conf_key conf_keys[] = {
	{ "calendar", CONF_STR, CS(calendar), 0, 0, NULL, NULL,
	  "working-day calendar file (holidays, make-up days); none: Monday..Friday" },
	{ "db", CONF_STR, CS(db), 0, 0, NULL, NULL,
	  "SQLite database file (required)" },
	{ "http_bind", CONF_STR, CS(http_bind), 0, 0, "127.0.0.1", NULL,
	  "address of the HTTP API" },
	{ "http_port", CONF_INT, C(http_port), 0, 1, 65535, "8595", NULL,
	  "port of the HTTP API" },
	{ "auth_unsigned_devices", CONF_BOOL, C(auth_unsigned_dev), 0, 0, 0, "no", NULL,
	  "TRANSITION ONLY: accept device messages without a tag (a bad tag is still refused)" },
	{ "http_tls_cert", CONF_STR, CS(http_tls_cert), 0, 0, NULL, NULL,
	  "PEM certificate of the HTTPS API; none: plain HTTP (keep http_bind on loopback)" },
	{ "http_tls_key", CONF_STR, CS(http_tls_key), 0, 0, NULL, NULL,
	  "PEM key of the HTTPS API" },
	/* The web board (issue 7). */
	{ "http_max_connections", CONF_INT, C(http_max_connections), 0, 8, 4096, "256", NULL,
	  "simultaneous HTTP connections, open event streams included" },
	{ "session_hours", CONF_INT, C(session_hours), 0, 1, 720, "12", NULL,
	  "a browser session (cookie) lasts this long, hours" },
	{ "stream_replay_max", CONF_INT, C(stream_replay_max), 0, 1, 1000000, "10000", NULL,
	  "the event stream replays at most this many missed entries; older resumes get a reset" },
	{ "log", CONF_STR, CS(log), 0, 0, "auto", NULL,
	  "auto (stderr with -d, syslog when daemonised), stderr or syslog" },
	{ "log_level", CONF_STR, CS(log_level), 0, 0, "info", NULL,
	  "info or debug (-v is debug whatever this says)" },
	{ "mqtt_cafile", CONF_STR, CS(mqtt_cafile), 0, 0, NULL, NULL,
	  "fleet CA certificate: TLS to the broker (required unless mqtt_plain_dev)" },
	{ "mqtt_certfile", CONF_STR, CS(mqtt_certfile), 0, 0, NULL, NULL,
	  "the gateway's client certificate (CN linecrew-gateway)" },
	{ "mqtt_client_id", CONF_STR, CS(mqtt_client_id), 0, 0, "linecrew-gateway", NULL,
	  "MQTT client id (persistent session)" },
	{ "mqtt_keyfile", CONF_STR, CS(mqtt_keyfile), 0, 0, NULL, NULL,
	  "the gateway's private key: TLS and message authentication" },
	{ "mqtt_plain_dev", CONF_BOOL, C(mqtt_plain_dev), 0, 0, 0, "no", NULL,
	  "DEVELOPMENT ONLY: plain TCP to a broker on loopback, no TLS" },
	{ "mqtt_host", CONF_STR, CS(mqtt_host), 0, 0, "127.0.0.1", NULL,
	  "MQTT broker host" },
	{ "mqtt_port", CONF_INT, C(mqtt_port), 0, 1, 65535, "1883", NULL,
	  "MQTT broker port" },
	{ "pki", CONF_STR, CS(pki), 0, 0, NULL, NULL,
	  "PKI directory of `linecrew provision` (device certificates, revocations)" },
	{ "profile", CONF_FUNC, 0, 0, 0, 0, NULL, conf_profile,
	  "profile NAME key value ...: another set of limits (keys as above)" },
	{ "profile_active", CONF_STR, CS(profile_active), 0, 0, "default", NULL,
	  "the profile in force for new orders" },
	{ "radius_m", CONF_DOUBLE, C(radius_m), 0, 20, 2000, "150", NULL,
	  "default site geofence radius, metres" },
	{ "resend_s", CONF_INT, C(resend_s), 0, 1, 3600, "5", NULL,
	  "an order push not acked by the device is sent again after this, seconds" },
	{ "shifts", CONF_FUNC, 0, 0, 0, 0, NULL, conf_shifts,
	  "shift start times HH:MM ... (当班; default 00:00 08:00 16:00)" },
	{ "sla_tick_ms", CONF_INT, C(sla_tick_ms), 0, 50, 60000, "1000", NULL,
	  "how often deadlines are checked for warnings and breaches, milliseconds" },
	{ "test_clock", CONF_BOOL, C(test_clock), 0, 0, 0, "no", NULL,
	  "TEST ONLY: POST /api/v1/test/clock may move the gateway's clock forward" },
	{ "zone_default", CONF_STR, CS(zone_default), 0, 0, "rural", NULL,
	  "zone of a site outside every polygon: urban, rural or remote" },
	{ "zones", CONF_STR, CS(zones), 0, 0, NULL, NULL,
	  "GeoJSON zone file (WGS-84); none: every site gets zone_default" },
	/* Which crew and outage clusters (board.c). */
	{ "cluster_radius_m", CONF_DOUBLE, C(cluster_radius_m), 0, 1, 100000, "500", NULL,
	  "outage clusters: reports within this distance, metres (default of the query)" },
	{ "cluster_window_min", CONF_INT, C(cluster_window_min), 0, 0, 10080, "60", NULL,
	  "outage clusters: and within this time of each other, minutes" },
	{ "rank_detour", CONF_DOUBLE, C(rank_detour), 0, 1, 5, "1.3", NULL,
	  "crew ranking: road distance / straight distance" },
	{ "rank_drift_kmh", CONF_DOUBLE, C(rank_drift_kmh), 0, 0, 300, "20", NULL,
	  "crew ranking: how fast an old position goes stale (pessimistic ETA), km/h" },
	{ "rank_drift_max_km", CONF_DOUBLE, C(rank_drift_max_km), 0, 0, 1000, "20", NULL,
	  "crew ranking: cap of that uncertainty, km" },
	{ "rank_pos_max_age_min", CONF_INT, C(rank_pos_max_age_min), 0, 1, 10080, "120", NULL,
	  "crew ranking: older positions count as none (reach unknown), minutes" },
	{ "rank_repair_min", CONF_INT, C(rank_repair_min), 0, 0, 1440, "60", NULL,
	  "crew ranking: typical repair time; a crew on site is free at arrival + this, minutes" },
	{ "rank_seen_min", CONF_INT, C(rank_seen_min), 0, 1, 10080, "30", NULL,
	  "crew ranking: on duty when its device was heard within this, minutes" },
	{ "rank_setup_min", CONF_DOUBLE, C(rank_setup_min), 0, 0, 240, "5", NULL,
	  "crew ranking: from dispatch to driving off, minutes" },
	{ "rank_speed_remote_kmh", CONF_DOUBLE, C(rank_speed_kmh[2]), 0, 1, 300, "40", NULL,
	  "crew ranking: travel speed to a site in a remote zone, km/h" },
	{ "rank_speed_rural_kmh", CONF_DOUBLE, C(rank_speed_kmh[1]), 0, 1, 300, "60", NULL,
	  "crew ranking: travel speed to a site in a rural zone, km/h" },
	{ "rank_speed_urban_kmh", CONF_DOUBLE, C(rank_speed_kmh[0]), 0, 1, 300, "30", NULL,
	  "crew ranking: travel speed to a site in an urban zone, km/h" },
	LIMIT_KEYS(TOP_KEY)
};
#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

static int
keycmp(const void *a, const void *b)
{
	return strcmp(((const struct conf_key *)a)->name, ((const struct conf_key *)b)->name);
}

/* profile NAME key value [key value ...]: the regulation's defaults, then the
 * pairs. A later line of the same name replaces the earlier one. */
static int
conf_profile(void *dst, int argc, char **argv, char *err, size_t errcap)
{
	struct gw_conf *cf = dst;
	struct sla_limits p;
	int i, slot;

	if (argc < 1 || argc % 2 != 1) {
		snprintf(err, errcap, "profile: expects NAME and key value pairs");
		return -1;
	}
	if (strlen(argv[0]) >= sizeof(p.name) || strcmp(argv[0], "default") == 0) {
		snprintf(err, errcap, "profile: name must be 1..%zu bytes and not \"default\"",
		    sizeof(p.name) - 1);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	if (conf_defaults(limit_keys, NLIMIT_KEYS, &p, err, errcap) == -1)
		return -1;
	snprintf(p.name, sizeof(p.name), "%s", argv[0]);
	for (i = 1; i + 1 < argc; i += 2) {
		char line[256];

		snprintf(line, sizeof(line), "%s %s", argv[i], argv[i + 1]);
		if (conf_line(line, limit_keys, NLIMIT_KEYS, &p, err, errcap) == -1)
			return -1;
	}
	for (slot = 0; slot < cf->nprofiles; slot++)
		if (strcmp(cf->profiles[slot].name, p.name) == 0)
			break;
	if (slot == GW_PROFILES_MAX) {
		snprintf(err, errcap, "profile: at most %d profiles", GW_PROFILES_MAX);
		return -1;
	}
	cf->profiles[slot] = p;
	if (slot == cf->nprofiles)
		cf->nprofiles++;
	return 0;
}

/* shifts HH:MM [HH:MM ...]: start times of the shifts, ascending. */
static int
conf_shifts(void *dst, int argc, char **argv, char *err, size_t errcap)
{
	struct gw_conf *cf = dst;
	struct gw_shifts s = { 0 };

	if (argc < 1 || argc > GW_SHIFTS_MAX) {
		snprintf(err, errcap, "shifts: expects 1..%d start times HH:MM", GW_SHIFTS_MAX);
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		int h, m, n = 0;

		if (sscanf(argv[i], "%2d:%2d%n", &h, &m, &n) != 2 || argv[i][n] != '\0' ||
		    h < 0 || h > 23 || m < 0 || m > 59) {
			snprintf(err, errcap, "shifts: \"%s\" is not a time HH:MM", argv[i]);
			return -1;
		}
		s.start_min[i] = h * 60 + m;
		if (i > 0 && s.start_min[i] <= s.start_min[i - 1]) {
			snprintf(err, errcap, "shifts: start times must ascend");
			return -1;
		}
	}
	s.n = argc;
	cf->shifts = s;
	return 0;
}

/* The test-only clock: the system's, moved forward by gw->clock_offset_ms. */
static int64_t
offset_wall(void *ctx)
{
	const struct gw *gw = ctx;

	return clock_wall(clock_system()) + gw->clock_offset_ms;
}

static int64_t
offset_mono(void *ctx)
{
	const struct gw *gw = ctx;

	return clock_mono(clock_system()) + gw->clock_offset_ms;
}

static void
usage(void)
{
	fprintf(stderr, "usage: linecrew-gateway [-d] [-v] [-n] [-h] -f gateway.conf\n");
	exit(1);
}

static void
sla_tick_cb(void *arg)
{
	struct gw *gw = arg;

	if (order_sla_tick(gw) == -1)
		log_warnx("sla: tick could not update the store; retrying next tick");
}

int
main(int argc, char **argv)
{
	static struct gw_conf conf;
	struct gw gw;
	struct loop_timer sla_timer;
	const char *path = NULL;
	char err[512];
	struct lc_clock test_clock;
	struct calendar *cal = NULL;
	enum log_dest logdest;
	int ch, foreground = 0, verbose = 0, check = 0, usage_only = 0, rc, debug;

	while ((ch = getopt(argc, argv, "dvnhf:")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'h':
			usage_only = 1;
			break;
		default:
			usage();
		}
	}
	if (!usage_only && (optind != argc || path == NULL))
		usage();
	log_init("gateway", 1, verbose);
	qsort(conf_keys, NKEYS, sizeof(conf_keys[0]), keycmp);
	if (usage_only) {
		conf_usage(conf_keys, NKEYS);
		return 0;
	}

	if (conf_defaults(conf_keys, NKEYS, &conf, err, sizeof(err)) == -1)
		fatalx("config table: %s", err);
	if (conf_load(path, conf_keys, NKEYS, &conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (conf.db[0] == '\0')
		fatalx("%s: db: required", path);
	/* Safe by default: TLS to the broker with our certificate, unless the
	 * explicit development switch names a broker on loopback. */
	if (conf.mqtt_plain_dev) {
		if (strcmp(conf.mqtt_host, "127.0.0.1") != 0 && strcmp(conf.mqtt_host, "::1") != 0 &&
		    strcmp(conf.mqtt_host, "localhost") != 0)
			fatalx("%s: mqtt_plain_dev: only with a broker on loopback (mqtt_host %s)",
			    path, conf.mqtt_host);
		log_warnx("mqtt_plain_dev: plain TCP to the broker, DEVELOPMENT ONLY");
	} else if (!conf.mqtt_cafile[0] || !conf.mqtt_certfile[0] || !conf.mqtt_keyfile[0])
		fatalx("%s: mqtt_cafile, mqtt_certfile and mqtt_keyfile are required (TLS); "
		    "mqtt_plain_dev yes is for a loopback development broker only", path);
	else if (!conf.pki[0])
		fatalx("%s: pki: required with TLS (the device registry)", path);
	if (!conf.http_tls_cert[0] != !conf.http_tls_key[0])
		fatalx("%s: http_tls_cert and http_tls_key go together", path);
	if (conf.auth_unsigned_dev)
		log_warnx("auth_unsigned_devices: device messages without a tag are accepted "
		    "(TRANSITION ONLY)");
	if (conf.shifts.n == 0) {
		static const struct gw_shifts three = { 3, { 0, 8 * 60, 16 * 60 } };

		conf.shifts = three;
	}
	snprintf(conf.limits.name, sizeof(conf.limits.name), "default");
	memset(&gw, 0, sizeof(gw));
	gw.conf = &conf;
	gw.clock = clock_system();
	if (conf.test_clock) {
		test_clock.wall_ms = offset_wall;
		test_clock.mono_ms = offset_mono;
		test_clock.ctx = &gw;
		gw.clock = &test_clock;
	}
	if ((gw.limits = sla_limits_find(&conf, conf.profile_active)) == NULL)
		fatalx("%s: profile_active: no profile \"%s\"", path, conf.profile_active);
	if (conf.calendar[0]) {
		int y;
		unsigned m, d;

		if (calendar_load(conf.calendar, &cal, err, sizeof(err)) == -1)
			fatalx("calendar: %s", err);
		clock_civil_from_days(calendar_local_day(clock_wall(clock_system())), &y, &m, &d);
		if (!calendar_covers(cal, y))
			log_warnx("calendar %s has no holidays for %d: add them (README "
			    "\"Working days\")", conf.calendar, y);
	} else
		log_warnx("no calendar: working days are Monday..Friday, holidays ignored");
	gw.cal = cal;
	if (log_dest_parse(conf.log, &logdest) == -1)
		fatalx("%s: log: must be auto, stderr or syslog", path);
	if (log_level_parse(conf.log_level, &debug) == -1)
		fatalx("%s: log_level: must be info or debug", path);
	verbose |= debug;
	log_setverbose(verbose);
	if (maps_zone_parse(conf.zone_default, &gw.zone_default) == -1)
		fatalx("%s: zone_default: must be urban, rural or remote", path);
	if (conf.zones[0]) {
		enum maps_err me = maps_zones_load(conf.zones, MAPS_WGS84, &gw.zones, err,
		    sizeof(err));

		if (me != MAPS_OK)
			fatalx("zones %s: %s", conf.zones, err[0] ? err : maps_strerror(me));
	}
	if (check) {
		printf("configuration OK\n");
		maps_zones_free(gw.zones);
		calendar_free(cal);
		return 0;
	}

	if (!foreground) {
		/* daemon() points stderr at /dev/null: syslog is the only place left */
		if (logdest == LOG_DEST_STDERR)
			fatalx("%s: log stderr: only in the foreground (-d)", path);
		if (daemon(0, 0) == -1)
			fatal("daemon");
	}
	log_init("gateway", foreground && logdest != LOG_DEST_SYSLOG, verbose);
	signal(SIGPIPE, SIG_IGN);

	if ((gw.loop = loop_new()) == NULL)
		fatalx("cannot create the event loop");
	if ((gw.store = store_open(conf.db)) == NULL)
		fatalx("cannot open the store %s", conf.db);
	/* group commit: first of the loop's prepare hooks (README "Group commit") */
	if (store_group_start(gw.store, gw.loop) == -1)
		fatalx("cannot start group commit");
	if ((gw.metrics = metrics_new()) == NULL)
		fatalx("cannot allocate the metrics");
	if ((gw.http = http_start(&gw)) == NULL)
		fatalx("cannot start the HTTP API");
	if ((gw.mqtt = mqtt_start(&gw)) == NULL)
		fatalx("cannot start the MQTT link");
	loop_timer_init(&sla_timer, sla_tick_cb, &gw);
	loop_timer_start(gw.loop, &sla_timer, 0, conf.sla_tick_ms);
	log_info("linecrew-gateway %s started: db %s, %zu zones, broker %s:%d, profile %s%s",
	    GW_VERSION, conf.db, gw.zones ? maps_zones_count(gw.zones) : (size_t)0,
	    conf.mqtt_host, conf.mqtt_port, gw.limits->name,
	    conf.test_clock ? ", TEST CLOCK ENABLED" : "");

	rc = loop_run(gw.loop);
	log_info("stopping%s", loop_signal(gw.loop) ? " on signal" : "");

	loop_timer_stop(gw.loop, &sla_timer);
	store_group_stop(gw.store, gw.loop);
	http_stop(gw.http);
	mqtt_stop(gw.mqtt);
	store_close(gw.store);
	metrics_free(gw.metrics);
	maps_zones_free(gw.zones);
	calendar_free(cal);
	loop_free(gw.loop);
	return rc == 0 ? 0 : 1;
}
