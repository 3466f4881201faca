/*
 * main.c: linecrew-device, the daemon on a crew's unit and the crew's commands.
 *
 *   linecrew-device [-v] -f device.conf run        the daemon (foreground; logs
 *                                                  to stderr, or syslog: `log`)
 *   linecrew-device -f device.conf -n              check the config
 *   linecrew-device -f device.conf status|orders|accept|arrive|progress|delay|complete ...
 *   linecrew-device -f device.conf screen          the crew's terminal screen: execs
 *                                                  linecrew-screen (tui.c) beside us
 *
 * It reads the config, wires the modules (journal, ctl socket, MQTT, gpsd,
 * arrival detectors) to one poll loop and runs it until SIGINT/SIGTERM. The
 * commands only talk to the running daemon over its socket (ctl.c): they never
 * open the journal themselves, so there is one writer.
 *
 * It does not implement any module's logic; it owns struct device and the
 * one timer that belongs to no module: the arrival gap check, armed only while
 * a detector is counting a dwell (watch.c).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "device.h"
#include "log.h"

#define DEV_DEFAULT_CONF	"/etc/linecrew/device.conf"

#define K(name, type, field, lo, hi, def, help) \
	{ name, type, offsetof(struct dev_conf, field), sizeof(((struct dev_conf *)0)->field), \
	  lo, hi, def, NULL, help }

/* Sorted by name (conf_load uses bsearch). */
static const struct conf_key keys[] = {
	K("arrive_dwell_s", CONF_INT, arrive_dwell_s, 0, 3600, "30",
	    "seconds inside the site's radius before arrival counts"),
	K("arrive_exit_margin_m", CONF_DOUBLE, arrive_exit_margin_m, 0, 1000, "30",
	    "hysteresis: metres beyond radius + error before leaving resets the dwell"),
	K("arrive_max_eph_m", CONF_DOUBLE, arrive_max_eph_m, 1, 1000, "50",
	    "fixes with a larger stated horizontal error (m) do not count"),
	K("arrive_max_fix_age_s", CONF_INT, arrive_max_fix_age_s, 1, 600, "10",
	    "a gap without a fix longer than this (s) resets the dwell"),
	K("arrive_max_speed_mps", CONF_DOUBLE, arrive_max_speed_mps, 0, 50, "3",
	    "fixes faster than this (m/s) do not count: driving past"),
	K("arrive_min_fixes", CONF_INT, arrive_min_fixes, 1, 1000, "5",
	    "distinct good fixes inside the radius, at least"),
	K("ctl_socket", CONF_STR, ctl_socket, 0, 0, "/run/linecrew/device.sock",
	    "unix socket of the crew's commands (created 0600)"),
	K("delay_prompt_min", CONF_INT, delay_prompt_min, 1, 1440, "120",
	    "minutes before the completion deadline the crew is asked for a delay reason"),
	K("down_window_s", CONF_INT, down_window_s, 10, 86400, "600",
	    "a gateway message sent further than this (s) from our clock is refused"),
	K("gateway_pubkey", CONF_STR, gateway_pubkey, 0, 0, "",
	    "the gateway's public key (PEM): checks its messages, agrees our MAC key"),
	K("gpsd_host", CONF_STR, gpsd_host, 0, 0, "127.0.0.1", "gpsd address"),
	K("gpsd_port", CONF_INT, gpsd_port, 1, 65535, "2947", "gpsd TCP port"),
	K("id", CONF_STR, id, 0, 0, NULL,
	    "device id, required: 1-32 of A-Z a-z 0-9 _ - (also the MQTT client id)"),
	K("journal", CONF_STR, journal, 0, 0, "/var/lib/linecrew/device.db",
	    "SQLite journal of orders and events"),
	K("log", CONF_STR, log, 0, 0, "auto",
	    "auto (= stderr: run stays in the foreground), stderr or syslog"),
	K("log_level", CONF_STR, log_level, 0, 0, "info",
	    "info or debug (-v is debug whatever this says)"),
	K("mqtt_cafile", CONF_STR, mqtt_cafile, 0, 0, "",
	    "TLS: the fleet CA certificate (relative paths are from this file's folder)"),
	K("mqtt_certfile", CONF_STR, mqtt_certfile, 0, 0, "", "TLS: this unit's certificate"),
	K("mqtt_host", CONF_STR, mqtt_host, 0, 0, "127.0.0.1", "MQTT broker address"),
	K("mqtt_keyfile", CONF_STR, mqtt_keyfile, 0, 0, "",
	    "this unit's private key (0600): TLS, signing evidence, the MAC key"),
	K("mqtt_plain_dev", CONF_BOOL, mqtt_plain_dev, 0, 0, "no",
	    "development only: plain MQTT to a loopback broker, no TLS"),
	K("mqtt_port", CONF_INT, mqtt_port, 1, 65535, "1883", "MQTT broker port"),
	K("pos_interval_s", CONF_INT, pos_interval_s, 1, 3600, "15",
	    "seconds between position reports while moving on an order"),
	K("pos_parked_s", CONF_INT, pos_parked_s, 1, 86400, "300",
	    "seconds between position reports when parked or not on an order"),
	K("resend_s", CONF_INT, resend_s, 1, 3600, "10",
	    "seconds without an ack before unacknowledged events are sent again"),
	K("send_window", CONF_INT, send_window, 1, 1000, "1",
	    "events sent but not yet acknowledged, at most; 1 keeps the gateway's order"),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void
usage(void)
{
	fprintf(stderr,
	    "usage: linecrew-device [-v] [-f device.conf] run\n"
	    "       linecrew-device [-f device.conf] -n\n"
	    "       linecrew-device [-f device.conf] screen      (the crew's screen)\n"
	    "       linecrew-device [-f device.conf] COMMAND ...\n"
	    "       linecrew-device -h     (config keys)\n");
}

/* A relative file name in the config is relative to the config's folder, so a
 * provisioned bundle (device.conf next to its keys) works wherever it is put. */
static int
resolve(const char *conf, char *p, size_t cap)
{
	char dir[DEV_PATH_MAX], out[DEV_PATH_MAX];
	const char *slash;
	int n;

	if (p[0] == '\0' || p[0] == '/' || (slash = strrchr(conf, '/')) == NULL)
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - conf), conf);
	n = snprintf(out, sizeof(out), "%s/%s", dir, p);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	memcpy(p, out, (size_t)n + 1);
	return 0;
}

static int
loopback(const char *host)
{
	return !strcmp(host, "127.0.0.1") || !strcmp(host, "localhost") || !strcmp(host, "::1");
}

/* TLS and message authentication settings: TLS unless the development switch
 * says otherwise, and then only to a broker on this machine. */
static int
security_conf(const char *path, struct dev_conf *c)
{
	if (resolve(path, c->mqtt_cafile, sizeof(c->mqtt_cafile)) == -1 ||
	    resolve(path, c->mqtt_certfile, sizeof(c->mqtt_certfile)) == -1 ||
	    resolve(path, c->mqtt_keyfile, sizeof(c->mqtt_keyfile)) == -1 ||
	    resolve(path, c->gateway_pubkey, sizeof(c->gateway_pubkey)) == -1) {
		fprintf(stderr, "%s: a key or certificate path is too long\n", path);
		return -1;
	}
	if (c->mqtt_plain_dev) {
		if (!loopback(c->mqtt_host)) {
			fprintf(stderr, "%s: mqtt_plain_dev: only for a broker on loopback, "
			    "not %s\n", path, c->mqtt_host);
			return -1;
		}
	} else if (c->mqtt_cafile[0] == '\0' || c->mqtt_certfile[0] == '\0' ||
	    c->mqtt_keyfile[0] == '\0') {
		fprintf(stderr, "%s: %s: required for TLS (or mqtt_plain_dev yes for a "
		    "loopback development broker)\n", path, c->mqtt_cafile[0] == '\0' ?
		    "mqtt_cafile" : c->mqtt_certfile[0] == '\0' ? "mqtt_certfile" :
		    "mqtt_keyfile");
		return -1;
	}
	if ((c->mqtt_keyfile[0] == '\0') != (c->gateway_pubkey[0] == '\0')) {
		fprintf(stderr, "%s: %s: required with %s (messages are authenticated with "
		    "both)\n", path, c->gateway_pubkey[0] == '\0' ? "gateway_pubkey" :
		    "mqtt_keyfile", c->gateway_pubkey[0] == '\0' ? "mqtt_keyfile" :
		    "gateway_pubkey");
		return -1;
	}
	return 0;
}

static int
load_conf(const char *path, struct dev_conf *c)
{
	char err[512];
	enum log_dest dest;
	int debug;

	memset(c, 0, sizeof(*c));
	if (conf_defaults(keys, NKEYS, c, err, sizeof(err)) == -1 ||
	    conf_load(path, keys, NKEYS, c, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (c->id[0] == '\0') {
		fprintf(stderr, "%s: id: required (the device id)\n", path);
		return -1;
	}
	if (!proto_valid_dev(c->id)) {
		fprintf(stderr, "%s: id: must be 1-32 characters of A-Z a-z 0-9 _ -\n", path);
		return -1;
	}
	if (security_conf(path, c) == -1)
		return -1;
	if (log_dest_parse(c->log, &dest) == -1) {
		fprintf(stderr, "%s: log: must be auto, stderr or syslog\n", path);
		return -1;
	}
	if (log_level_parse(c->log_level, &debug) == -1) {
		fprintf(stderr, "%s: log_level: must be info or debug\n", path);
		return -1;
	}
	if (c->journal[0] == '\0' || c->ctl_socket[0] == '\0' || c->mqtt_host[0] == '\0' ||
	    c->gpsd_host[0] == '\0') {
		fprintf(stderr, "%s: %s: must not be empty\n", path,
		    c->journal[0] == '\0' ? "journal" : c->ctl_socket[0] == '\0' ?
		    "ctl_socket" : c->mqtt_host[0] == '\0' ? "mqtt_host" : "gpsd_host");
		return -1;
	}
	return 0;
}

/* The crew's screen is its own program (tui.c), so the daemon never maps the
 * curses libraries: run linecrew-screen from the folder this binary is in,
 * with the command socket this config names. Returns only on failure. */
static int
screen(const char *sock)
{
	char self[PATH_MAX], prog[PATH_MAX + 32], *slash;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0) {
		fprintf(stderr, "linecrew-device: screen: cannot find this program: %s\n",
		    strerror(errno));
		return 2;
	}
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	snprintf(prog, sizeof(prog), "%s/linecrew-screen", self);
	execl(prog, "linecrew-screen", sock, (char *)NULL);
	fprintf(stderr, "linecrew-device: screen: cannot run %s: %s\n", prog, strerror(errno));
	return 2;
}

static void
tick_timer(void *arg)
{
	watch_tick(arg);
}

static int
topics(struct device *d)
{
	return proto_topic(d->t_order, sizeof(d->t_order), d->conf.id, PROTO_T_ORDER) ||
	    proto_topic(d->t_event, sizeof(d->t_event), d->conf.id, PROTO_T_EVENT) ||
	    proto_topic(d->t_pos, sizeof(d->t_pos), d->conf.id, PROTO_T_POS) ||
	    proto_topic(d->t_presence, sizeof(d->t_presence), d->conf.id, PROTO_T_PRESENCE) ?
	    -1 : 0;
}

static int
run(const struct dev_conf *conf, int verbose)
{
	char open[PROTO_OPEN_MAX][PROTO_ID_MAX];
	struct device *d;
	enum log_dest dest = LOG_DEST_AUTO;
	int sig, debug = 0;

	/* both words were checked by load_conf; the daemon never forks, so
	 * auto is stderr (systemd's journal under the unit) */
	(void)log_dest_parse(conf->log, &dest);
	(void)log_level_parse(conf->log_level, &debug);
	log_init("device", dest != LOG_DEST_SYSLOG, verbose || debug);
	signal(SIGPIPE, SIG_IGN);	/* a crew command that hangs up must not kill us */
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	d->conf = *conf;
	d->clock = clock_system();
	if (topics(d) == -1)
		fatalx("id %s: cannot build the MQTT topics", d->conf.id);
	if ((d->loop = loop_new()) == NULL)
		fatalx("cannot create the event loop");
	/* the socket first: a second daemon for the same unit stops here, before
	 * it touches the journal */
	if (ctl_start(d) == -1)
		fatalx("ctl_socket %s: cannot serve the crew's commands", d->conf.ctl_socket);
	if ((d->journal = journal_open(d->conf.journal, d->conf.id, d->clock)) == NULL)
		fatalx("journal %s: cannot open", d->conf.journal);
	watch_sync(d);
	if (mqtt_auth_start(d) == -1)
		fatalx("cannot set up message authentication");
	if (mqtt_start(d) == -1)
		fatalx("cannot start MQTT to %s:%d", d->conf.mqtt_host, d->conf.mqtt_port);
	gps_start(d);
	loop_timer_init(&d->tick_timer, tick_timer, d);	/* armed by watch.c */
	log_info("device %s: journal %s, broker %s:%d, gpsd %s:%d, %d order(s) open, "
	    "%d watched for arrival, %d event(s) unacked", d->conf.id, d->conf.journal,
	    d->conf.mqtt_host, d->conf.mqtt_port, d->conf.gpsd_host, d->conf.gpsd_port,
	    journal_open_orders(d->journal, open, PROTO_OPEN_MAX), d->nwatch,
	    journal_unacked_count(d->journal));

	if (loop_run(d->loop) == -1)
		log_warn("loop");
	sig = loop_signal(d->loop);
	log_info("stopping%s%s", sig ? " on " : "", sig ? strsignal(sig) : "");

	loop_timer_stop(d->loop, &d->tick_timer);
	gps_stop(d);
	ctl_stop(d);
	/* last of the loop's users: after it the loop is only freed, never run
	 * or re-armed (mqttc's retry timer may still sit in the heap) */
	mqtt_stop(d);
	mqtt_auth_stop(d);
	journal_close(d->journal);
	loop_free(d->loop);
	free(d);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = DEV_DEFAULT_CONF;
	struct dev_conf conf;
	int ch, verbose = 0, check = 0;

	while ((ch = getopt(argc, argv, "+f:hnv")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'h':
			usage();
			conf_usage(keys, NKEYS);
			return 0;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
			return 1;
		}
	}
	argc -= optind;
	argv += optind;
	if (load_conf(path, &conf) == -1)
		return 1;
	if (check) {
		printf("configuration OK\n");
		return 0;
	}
	if (argc < 1) {
		usage();
		return 1;
	}
	if (strcmp(argv[0], "run") == 0) {
		if (argc != 1) {
			usage();
			return 1;
		}
		return run(&conf, verbose);
	}
	if (strcmp(argv[0], "screen") == 0) {
		if (argc != 1) {
			usage();
			return 1;
		}
		return screen(conf.ctl_socket);
	}
	return ctl_command(conf.ctl_socket, argc, argv);
}
