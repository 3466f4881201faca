/*
 * gps.c: the gpsd client. libgps over TCP (gps_open, gps_stream with
 * WATCH_ENABLE | WATCH_JSON), its socket in our poll loop, non-blocking, so a
 * slow or silent gpsd never stalls the daemon. While gpsd is absent, and after
 * it closes the connection (gpsfake exits when its log ends), it reconnects
 * every GPS_RETRY_MS.
 *
 * It turns TPV reports into struct proto_fix, using a field only when gpsd
 * marks it set (MODE_SET, LATLON_SET, TIME_SET, SPEED_SET, TRACK_SET,
 * ALTITUDE_SET) and only when finite: gpsd 3.22 reports unknown values as NaN.
 * Reports without a fix (mode < 2) are counted and ignored; implausible values
 * are counted as rejected. Every usable fix becomes the device's last fix and
 * goes to the arrival detectors (watch_fix).
 *
 * It does not judge arrival (arrival.c) and does not send positions (mqtt.c).
 * gps_open() connects in blocking mode: gpsd is expected on the unit itself
 * (loopback), where a refused connection returns at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "log.h"

#define GPS_LINE_MAX		4096	/* one gpsd JSON report, as much as we look at */
#define GPS_LINES_PER_PASS	512	/* then yield to the loop and come back */
#define GPS_SPEED_MAX_MPS	150.0	/* faster than any crew vehicle: a bad report */
#define GPS_EPH_MAX_M		1e5	/* a larger error estimate is no estimate */

static void gps_try(void *arg);

static void
gps_session_end(struct device *d, const char *why)
{
	if (!d->gps_open)
		return;
	loop_io_del(d->loop, d->gpsdata.gps_fd);
	gps_close(&d->gpsdata);
	d->gps_open = 0;
	log_info("gps: %s; reconnecting every %d s", why, GPS_RETRY_MS / 1000);
	d->gps_absent_logged = 1;	/* said so just now */
	loop_timer_start(d->loop, &d->gps_retry, GPS_RETRY_MS, 0);
}

int
gps_fix_from_tpv(const struct gps_data_t *g, struct proto_fix *f)
{
	const struct gps_fix_t *x = &g->fix;
	double eph = NAN;

	memset(f, 0, sizeof(*f));
	f->lat = f->lon = f->eph_m = f->speed_mps = f->track_deg = f->alt_m = NAN;
	if (!(g->set & MODE_SET) || x->mode < MODE_2D || !(g->set & LATLON_SET))
		return 0;
	if (!isfinite(x->latitude) || !isfinite(x->longitude) || fabs(x->latitude) > 90 ||
	    fabs(x->longitude) > 180 || (x->latitude == 0 && x->longitude == 0))
		return -1;	/* (0, 0): a receiver's empty position, not a place */
	f->lat = x->latitude;
	f->lon = x->longitude;
	f->mode = x->mode >= MODE_3D ? 3 : 2;
	if ((g->set & TIME_SET) && x->time.tv_sec > 0)
		f->t_ms = (int64_t)x->time.tv_sec * 1000 + x->time.tv_nsec / 1000000;
	/* gpsd's eph (95 %) when it has one, else the two axis errors combined */
	if (isfinite(x->eph))
		eph = x->eph;
	else if ((g->set & HERR_SET) && isfinite(x->epx) && isfinite(x->epy))
		eph = sqrt(x->epx * x->epx + x->epy * x->epy);
	if (isfinite(eph) && eph >= 0 && eph <= GPS_EPH_MAX_M)
		f->eph_m = eph;
	if ((g->set & SPEED_SET) && isfinite(x->speed)) {
		if (x->speed < 0 || x->speed > GPS_SPEED_MAX_MPS)
			return -1;
		f->speed_mps = x->speed;
	}
	if ((g->set & TRACK_SET) && isfinite(x->track) && x->track >= 0 && x->track <= 360)
		f->track_deg = x->track;
	if (g->set & ALTITUDE_SET) {
		double alt = isfinite(x->altMSL) ? x->altMSL : x->altHAE;

		if (isfinite(alt) && alt >= -12000 && alt <= 1e6)
			f->alt_m = alt;
	}
	return 1;
}

int
gps_last_fix(const struct device *d, struct proto_fix *f)
{
	if (!d->has_fix || clock_mono(d->clock) - d->fix_mono_ms > GPS_FIX_FRESH_MS)
		return 0;
	*f = d->fix;
	return 1;
}

static void
gps_report(struct device *d, const char *line)
{
	struct proto_fix f;
	int rc;

	if (strstr(line, "\"class\":\"TPV\"") == NULL) {
		if (strstr(line, "\"class\":\"ERROR\"") != NULL)
			log_warnx("gps: gpsd says: %.200s", line);
		return;
	}
	d->gpsc.reports++;
	rc = gps_fix_from_tpv(&d->gpsdata, &f);
	if (rc == 0) {
		d->gpsc.nofix++;
		return;
	}
	if (rc < 0) {
		d->gpsc.rejected++;
		log_debug("gps: implausible report rejected: %.200s", line);
		return;
	}
	d->gpsc.good++;
	if (!d->has_fix)
		log_info("gps: first fix %.6f, %.6f (mode %dD)", f.lat, f.lon, f.mode);
	d->fix = f;
	d->has_fix = 1;
	d->fix_mono_ms = clock_mono(d->clock);
	watch_fix(d, &f);
}

static void
gps_io(int fd, short revents, void *arg)
{
	struct device *d = arg;
	char line[GPS_LINE_MAX];
	int i, r;

	(void)fd;
	(void)revents;
	for (i = 0; i < GPS_LINES_PER_PASS; i++) {
		errno = 0;
		r = gps_read(&d->gpsdata, line, sizeof(line));
		if (r < 0) {
			gps_session_end(d, errno == 0 ? "gpsd closed the connection" :
			    "lost gpsd");
			return;
		}
		if (r == 0)
			return;		/* no complete report buffered, socket drained */
		gps_report(d, line);
	}
	/* More may sit in libgps's buffer, where poll cannot see it: come back. */
	loop_timer_start(d->loop, &d->gps_retry, 0, 0);
}

static void
gps_try(void *arg)
{
	struct device *d = arg;
	char port[16];
	int fl;

	if (d->gps_open) {		/* re-armed by gps_io to drain the buffer */
		gps_io(d->gpsdata.gps_fd, POLLIN, d);
		return;
	}
	snprintf(port, sizeof(port), "%d", d->conf.gpsd_port);
	memset(&d->gpsdata, 0, sizeof(d->gpsdata));
	if (gps_open(d->conf.gpsd_host, port, &d->gpsdata) != 0) {
		if (!d->gps_absent_logged)
			log_info("gps: no gpsd at %s:%s: %s", d->conf.gpsd_host, port,
			    gps_errstr(errno));
		d->gps_absent_logged = 1;
		loop_timer_start(d->loop, &d->gps_retry, GPS_RETRY_MS, 0);
		return;
	}
	d->gps_open = 1;
	if ((fl = fcntl(d->gpsdata.gps_fd, F_GETFL)) == -1 ||
	    fcntl(d->gpsdata.gps_fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    gps_stream(&d->gpsdata, WATCH_ENABLE | WATCH_JSON, NULL) != 0 ||
	    loop_io_add(d->loop, d->gpsdata.gps_fd, POLLIN, gps_io, d) == -1) {
		log_warn("gps: set up the gpsd session");
		gps_session_end(d, "gpsd session failed");
		return;
	}
	d->gpsc.connects++;
	d->gps_absent_logged = 0;
	log_info("gps: connected to gpsd at %s:%s", d->conf.gpsd_host, port);
}

void
gps_start(struct device *d)
{
	loop_timer_init(&d->gps_retry, gps_try, d);
	loop_timer_start(d->loop, &d->gps_retry, 0, 0);
}

void
gps_stop(struct device *d)
{
	loop_timer_stop(d->loop, &d->gps_retry);
	if (d->gps_open) {
		loop_io_del(d->loop, d->gpsdata.gps_fd);
		gps_close(&d->gpsdata);
		d->gps_open = 0;
	}
}
