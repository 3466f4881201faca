/*
 * gps.c: the gpsd client. libgps over TCP (gps_open, gps_stream with
 * WATCH_ENABLE | WATCH_JSON), its socket in our poll loop, non-blocking, so a
 * slow or silent gpsd never stalls the daemon. While gpsd is absent, and after
 * it closes the connection (gpsfake exits when its log ends), it reconnects
 * after GPS_RETRY_MS, doubling up to GPS_RETRY_MAX_MS while it stays away.
 *
 * It turns TPV reports into struct proto_fix, using a field only when gpsd
 * marks it set (MODE_SET, LATLON_SET, TIME_SET, SPEED_SET, TRACK_SET,
 * ALTITUDE_SET) and only when finite: gpsd 3.22 reports unknown values as NaN.
 * Reports without a fix (mode < 2) are counted and ignored; implausible values
 * are counted as rejected, by reason, and never become evidence: NaN or
 * out-of-range values, a GPS time ahead of the device clock or long behind it
 * (gpsd's 1024-week rollover dates among them), a move faster than a vehicle
 * (gps_plausible). Every plausible fix becomes the device's last fix and goes
 * to the arrival detectors (watch_fix), which also refuse a fix timed before
 * their order existed.
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
#include "maps.h"

#define GPS_LINE_MAX		4096	/* one gpsd JSON report, as much as we look at */
#define GPS_LINES_PER_PASS	512	/* then yield to the loop and come back */
#define GPS_SPEED_MAX_MPS	150.0	/* faster than any crew vehicle: a bad report */
#define GPS_EPH_MAX_M		1e5	/* a larger error estimate is no estimate */
#define GPS_TIME_MAX_S		253402300799LL	/* 9999-12-31T23:59:59Z */

static void gps_try(void *arg);

static void
gps_session_end(struct device *d, const char *why)
{
	if (!d->gps_open)
		return;
	loop_io_del(d->loop, d->gpsdata.gps_fd);
	gps_close(&d->gpsdata);
	d->gps_open = 0;
	log_info("gps: %s; reconnecting", why);
	d->gps_absent_logged = 1;	/* said so just now */
	d->gps_retry_ms = GPS_RETRY_MS;
	loop_timer_start(d->loop, &d->gps_retry, d->gps_retry_ms, 0);
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
	if ((g->set & TIME_SET) && x->time.tv_sec > 0) {
		/* a date past 9999 or a broken nanosecond field is no GPS time
		 * (and would overflow in milliseconds): refuse, never drop it
		 * silently, or the time checks of gps_plausible would be skipped */
		if (x->time.tv_sec > GPS_TIME_MAX_S || x->time.tv_nsec < 0 ||
		    x->time.tv_nsec >= 1000000000L)
			return -1;
		f->t_ms = (int64_t)x->time.tv_sec * 1000 + x->time.tv_nsec / 1000000;
	}
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

const char *
gps_verdict_name(enum gps_verdict v)
{
	switch (v) {
	case GPS_PLAUSIBLE:	return "plausible";
	case GPS_R_FUTURE:	return "time in the future";
	case GPS_R_STALE:	return "time long past";
	case GPS_R_ROLLOVER:	return "1024-week rollover date";
	case GPS_R_JUMP:	return "jump faster than a vehicle";
	}
	return "?";
}

static double
eph0(const struct proto_fix *f)
{
	return isfinite(f->eph_m) ? f->eph_m : 0;
}

/* 1 if moving from a (at mono ma) to b (at mono mb) is possible for a vehicle. */
static int
reachable(const struct proto_fix *a, int64_t ma, const struct proto_fix *b, int64_t mb)
{
	double dist, dt_s, dt_gps_s = 0;

	dist = maps_distance_m(a->lat, a->lon, b->lat, b->lon) - eph0(a) - eph0(b);
	if (!(dist > 0))
		return 1;
	if (a->t_ms != 0 && b->t_ms != 0 && b->t_ms > a->t_ms)
		dt_gps_s = (double)(b->t_ms - a->t_ms) / 1000;
	/* the larger interval: a replay faster than real time, or a GPS clock
	 * that stood still, must not look like a jump */
	dt_s = (double)(mb - ma) / 1000;
	if (dt_gps_s > dt_s)
		dt_s = dt_gps_s;
	if (dt_s < 1)
		dt_s = 1;	/* one epoch: several reports carry the same fix */
	return dist <= GPS_JUMP_MPS * dt_s;
}

static int
near_rollover(int64_t off_ms)
{
	int64_t a = off_ms < 0 ? -off_ms : off_ms;

	return a > GPS_ROLLOVER_MS - GPS_ROLLOVER_BAND_MS &&
	    a < GPS_ROLLOVER_MS + GPS_ROLLOVER_BAND_MS;
}

enum gps_verdict
gps_plausible(struct gps_check *c, const struct proto_fix *f, int64_t mono_ms, int64_t wall_ms)
{
	if (f->t_ms != 0) {
		int64_t off = f->t_ms - wall_ms;

		if (near_rollover(off))
			return GPS_R_ROLLOVER;
		if (off > GPS_CLOCK_SLACK_MS)
			return GPS_R_FUTURE;
		if (off < -GPS_STALE_MS)
			return GPS_R_STALE;
	}
	if (c->has_ref && !reachable(&c->ref, c->ref_mono_ms, f, mono_ms)) {
		if (c->ncand > 0 && reachable(&c->cand, c->cand_mono_ms, f, mono_ms))
			c->ncand++;
		else
			c->ncand = 1;
		c->cand = *f;
		c->cand_mono_ms = mono_ms;
		if (c->ncand < GPS_REANCHOR_FIXES)
			return GPS_R_JUMP;
		/* every fix since agrees: the unit was moved (a ferry, a tow, a
		 * wrong first fix); start from here */
	}
	c->has_ref = 1;
	c->ref = *f;
	c->ref_mono_ms = mono_ms;
	c->ncand = 0;
	return GPS_PLAUSIBLE;
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
	enum gps_verdict v;
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
		d->gpsc.r_value++;
		log_debug("gps: implausible report rejected: %.200s", line);
		return;
	}
	if ((v = gps_plausible(&d->gpscheck, &f, clock_mono(d->clock),
	    clock_wall(d->clock))) != GPS_PLAUSIBLE) {
		d->gpsc.rejected++;
		if (v == GPS_R_FUTURE)
			d->gpsc.r_future++;
		else if (v == GPS_R_STALE)
			d->gpsc.r_stale++;
		else if (v == GPS_R_ROLLOVER)
			d->gpsc.r_rollover++;
		else
			d->gpsc.r_jump++;
		/* said once per kind of trouble at info, then at debug */
		if (d->gps_last_reject != v)
			log_info("gps: fix at %.6f, %.6f rejected: %s (not used as evidence)",
			    f.lat, f.lon, gps_verdict_name(v));
		d->gps_last_reject = v;
		return;
	}
	d->gps_last_reject = GPS_PLAUSIBLE;
	d->gpsc.good++;
	if (!d->has_fix)
		log_info("gps: first fix %.6f, %.6f (mode %dD)", f.lat, f.lon, f.mode);
	d->fix = f;
	d->has_fix = 1;
	d->fix_mono_ms = clock_mono(d->clock);
	watch_fix(d, &f);
	mqtt_position(d);
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
		/* back off while it stays away: a unit without a receiver must
		 * not wake every two seconds all shift */
		d->gps_retry_ms = d->gps_retry_ms < GPS_RETRY_MS ? GPS_RETRY_MS :
		    d->gps_retry_ms * 2 > GPS_RETRY_MAX_MS ? GPS_RETRY_MAX_MS : d->gps_retry_ms * 2;
		loop_timer_start(d->loop, &d->gps_retry, d->gps_retry_ms, 0);
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
	d->gps_retry_ms = 0;
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
