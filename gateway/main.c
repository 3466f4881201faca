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
 *   -d  stay in the foreground and log to stderr (otherwise daemonise, syslog)
 *   -v  verbose (debug) logging
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

/* Sorted by name (bsearch). */
static const struct conf_key conf_keys[] = {
	{ "arrive_remote_min", CONF_INT, C(limits.arrive_remote_min), 0, 1, 1440, "240", NULL,
	  "arrival limit in a special remote area, minutes from dispatch" },
	{ "arrive_rural_min", CONF_INT, C(limits.arrive_rural_min), 0, 1, 1440, "120", NULL,
	  "arrival limit in a rural zone, minutes from dispatch" },
	{ "arrive_urban_min", CONF_INT, C(limits.arrive_urban_min), 0, 1, 1440, "60", NULL,
	  "arrival limit in an urban zone, minutes from dispatch" },
	{ "callback_min", CONF_INT, C(limits.callback_min), 0, 1, 1440, "10", NULL,
	  "callback due, minutes after the gateway learns of the completion" },
	{ "complete_h", CONF_INT, C(limits.complete_h), 0, 1, 168, "12", NULL,
	  "repair completion limit, hours from dispatch" },
	{ "complete_meter_h", CONF_INT, C(limits.complete_meter_h), 0, 1, 168, "24", NULL,
	  "completion limit of a meter fault (category 6), hours from dispatch" },
	{ "db", CONF_STR, CS(db), 0, 0, NULL, NULL,
	  "SQLite database file (required)" },
	{ "http_bind", CONF_STR, CS(http_bind), 0, 0, "127.0.0.1", NULL,
	  "address of the HTTP API" },
	{ "http_port", CONF_INT, C(http_port), 0, 1, 65535, "8595", NULL,
	  "port of the HTTP API" },
	{ "mqtt_client_id", CONF_STR, CS(mqtt_client_id), 0, 0, "linecrew-gateway", NULL,
	  "MQTT client id (persistent session)" },
	{ "mqtt_host", CONF_STR, CS(mqtt_host), 0, 0, "127.0.0.1", NULL,
	  "MQTT broker host" },
	{ "mqtt_port", CONF_INT, C(mqtt_port), 0, 1, 65535, "1883", NULL,
	  "MQTT broker port" },
	{ "radius_m", CONF_DOUBLE, C(radius_m), 0, 20, 2000, "150", NULL,
	  "default site geofence radius, metres" },
	{ "resend_s", CONF_INT, C(resend_s), 0, 1, 3600, "5", NULL,
	  "an order push not acked by the device is sent again after this, seconds" },
	{ "review_s", CONF_INT, C(limits.review_s), 0, 10, 86400, "180", NULL,
	  "supervisor review limit, seconds from recording" },
	{ "sla_tick_ms", CONF_INT, C(sla_tick_ms), 0, 50, 60000, "1000", NULL,
	  "how often deadlines are checked for breaches, milliseconds" },
	{ "zone_default", CONF_STR, CS(zone_default), 0, 0, "rural", NULL,
	  "zone of a site outside every polygon: urban, rural or remote" },
	{ "zones", CONF_STR, CS(zones), 0, 0, NULL, NULL,
	  "GeoJSON zone file (WGS-84); none: every site gets zone_default" },
};
#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

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
	int ch, foreground = 0, verbose = 0, check = 0, rc;

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
			conf_usage(conf_keys, NKEYS);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc || path == NULL)
		usage();
	log_init("gateway", 1, verbose);

	if (conf_defaults(conf_keys, NKEYS, &conf, err, sizeof(err)) == -1)
		fatalx("config table: %s", err);
	if (conf_load(path, conf_keys, NKEYS, &conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (conf.db[0] == '\0')
		fatalx("%s: db: required", path);
	memset(&gw, 0, sizeof(gw));
	gw.conf = &conf;
	gw.clock = clock_system();
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
		return 0;
	}

	if (!foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init("gateway", 0, verbose);
	}
	signal(SIGPIPE, SIG_IGN);

	if ((gw.loop = loop_new()) == NULL)
		fatalx("cannot create the event loop");
	if ((gw.store = store_open(conf.db)) == NULL)
		fatalx("cannot open the store %s", conf.db);
	if ((gw.http = http_start(&gw)) == NULL)
		fatalx("cannot start the HTTP API");
	if ((gw.mqtt = mqtt_start(&gw)) == NULL)
		fatalx("cannot start the MQTT link");
	loop_timer_init(&sla_timer, sla_tick_cb, &gw);
	loop_timer_start(gw.loop, &sla_timer, 0, conf.sla_tick_ms);
	log_info("linecrew-gateway %s started: db %s, %zu zones, broker %s:%d", GW_VERSION,
	    conf.db, gw.zones ? maps_zones_count(gw.zones) : (size_t)0, conf.mqtt_host,
	    conf.mqtt_port);

	rc = loop_run(gw.loop);
	log_info("stopping%s", loop_signal(gw.loop) ? " on signal" : "");

	loop_timer_stop(gw.loop, &sla_timer);
	http_stop(gw.http);
	mqtt_stop(gw.mqtt);
	store_close(gw.store);
	maps_zones_free(gw.zones);
	loop_free(gw.loop);
	return rc == 0 ? 0 : 1;
}
