/*
 * device.h: the private header of linecrew-device, the daemon on a crew's unit,
 * one section per file (OpenBSD ntpd.h style).
 *
 *   journal.c  the local SQLite journal: orders as received, the crew's and the
 *              unit's own events with their gap-free sequence, acks
 *   arrival.c  the arrival detector: a pure state machine over GPS fixes
 *   watch.c    one arrival detector per open order; turns a detection into an event
 *   gps.c      the gpsd client (libgps) inside our poll loop
 *   mqtt.c     the link to the gateway: presence, orders down, events up
 *   ctl.c      the crew's command socket (server) and the commands (client)
 *   main.c     config, wiring, the loop, signals
 *
 * Ownership: struct device owns everything below it; main.c creates and frees it.
 * Every module runs on the one loop thread; nothing here is thread-safe.
 */
#ifndef LC_DEVICE_H
#define LC_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include <gps.h>

#include "clock.h"
#include "loop.h"
#include "proto.h"

struct mqttc;
struct journal;
struct ctl;

/* ---- configuration (main.c reads it; the table is in main.c) ---- */

#define DEV_HOST_MAX	256
#define DEV_PATH_MAX	1024
#define DEV_SOCK_MAX	108	/* sizeof(sockaddr_un.sun_path) on Linux */

struct dev_conf {
	char	id[PROTO_DEV_MAX];		/* device id, required */
	char	mqtt_host[DEV_HOST_MAX];
	int	mqtt_port;
	char	gpsd_host[DEV_HOST_MAX];
	int	gpsd_port;
	char	journal[DEV_PATH_MAX];		/* SQLite file */
	char	ctl_socket[DEV_SOCK_MAX];	/* the crew commands' unix socket */
	int	arrive_dwell_s;			/* time inside before arrival counts */
	int	arrive_min_fixes;		/* distinct good fixes inside, at least */
	double	arrive_max_eph_m;		/* a fix with a larger error does not count */
	double	arrive_max_speed_mps;		/* a faster fix does not count (driving past) */
	double	arrive_exit_margin_m;		/* hysteresis beyond radius + eph */
	int	arrive_max_fix_age_s;		/* a longer gap without a fix resets the dwell */
	int	pos_interval_s;			/* position reports while on an order */
	int	resend_s;			/* unacked events are resent this often */
};

/* ---- journal.c ---- */

/*
 * Order states as the device sees them (see the diagram in journal.c).
 */
enum jorder_state { JO_OPEN, JO_ARRIVED, JO_COMPLETED, JO_CANCELLED };
const char     *journal_state_name(enum jorder_state);	/* "open", "arrived", ... */

struct jorder {
	struct proto_order order;	/* decoded from the JSON as received */
	enum jorder_state state;
	int64_t		received_ms;	/* first stored, device wall clock */
	int64_t		state_ms;	/* last state change, device wall clock */
	char		msg_id[PROTO_ID_MAX];	/* the push that delivered it last */
	int		accepted;	/* the crew sent ACCEPT */
};

/* One stored event as journal_unacked() hands it out; valid during the callback. */
struct jevent {
	uint64_t	seq;
	const char     *eid;
	const char     *type;		/* proto_ev_type_name() */
	const char     *order_id;	/* "" for hello */
	const char     *payload;	/* the encoded message, exactly as first sent */
	size_t		len;
	int64_t		created_ms;
};

typedef void (*journal_event_cb)(void *arg, const struct jevent *ev);

/* Open (creating or migrating) the journal at path for device dev. The clock
 * stamps received_ms / created_ms / acked_ms. Returns NULL with a log line. */
struct journal *journal_open(const char *path, const char *dev, const struct lc_clock *clock);
/* Close and free; NULL is fine. */
void		journal_close(struct journal *);

/* Store an order from a decoded ORDER push d, keeping payload (len bytes, the
 * raw message) as received. Idempotent by order id: an order already held is
 * not changed, except that a cancelled order pushed again by a newer push
 * (d->at_ms later than the cancel) is opened again. *is_new (if not NULL) is 1
 * when the order was not held before (or was re-opened). Returns 0, or -1 with
 * a log line and nothing stored. */
int		journal_add_order(struct journal *, const struct proto_down *d,
		    const void *payload, size_t len, int *is_new);

/* Journal one event: assigns the next sequence number (max + 1 in the same
 * transaction, never reused), fills e->dev, e->seq and e->eid, encodes e with
 * proto_encode_event and stores it unacked. An ARRIVE moves its order open ->
 * arrived, a COMPLETE moves it open/arrived -> completed, an ACCEPT marks it
 * accepted, all in the same transaction. The encoded payload goes to buf (cap
 * bytes, at least PROTO_MAX_PAYLOAD) and *len. Returns 0, or -1 with a log line
 * and nothing stored (encoding refused or a write failed). */
int		journal_event_add(struct journal *, struct proto_event *e, char *buf,
		    size_t cap, size_t *len);

/* Call cb for every unacked event created at or before created_before_ms,
 * oldest first, at most max. Returns the number visited or -1. */
int		journal_unacked(struct journal *, int64_t created_before_ms, int max,
		    journal_event_cb cb, void *arg);
/* Number of unacked events, or -1. */
int		journal_unacked_count(struct journal *);
/* The gateway acknowledged eid. Returns 1 if it was unacked, 0 if unknown or
 * already acked, -1 on a write error. */
int		journal_ack(struct journal *, const char *eid);
/* The highest sequence number handed out so far (0 for none). */
uint64_t	journal_last_seq(struct journal *);

/* The gateway withdrew order id (at_ms: its time of sending). Returns 1 if the
 * order went to cancelled, 0 if unknown or already completed/cancelled, -1. */
int		journal_cancel_order(struct journal *, const char *id, int64_t at_ms);
/* A SYNC at at_ms lists the orders the gateway holds open for us: every order
 * we hold open or arrived, not listed, and last pushed before at_ms is
 * cancelled (logged). Returns the number cancelled, or -1. */
int		journal_sync(struct journal *, char (*open)[PROTO_ID_MAX], int nopen,
		    int64_t at_ms);
/* Ids of orders in state open or arrived, oldest first, at most max. Returns the count or -1. */
int		journal_open_orders(struct journal *, char (*ids)[PROTO_ID_MAX], int max);
/* Every order, newest first, at most max, through cb. Returns the count or -1. */
int		journal_list_orders(struct journal *, int max,
		    void (*cb)(void *arg, const struct jorder *o), void *arg);
/* Read order id into out. Returns 1 found, 0 not held, -1 on error. */
int		journal_order_get(struct journal *, const char *id, struct jorder *out);

/* ---- arrival.c ---- */

struct arrival_params {
	int64_t		dwell_ms;	/* time inside before arriving */
	int		min_fixes;	/* distinct good fixes inside, at least */
	double		max_eph_m;	/* larger stated error: the fix does not count */
	double		max_speed_mps;	/* faster: the fix does not count */
	double		exit_margin_m;	/* hysteresis band beyond radius + eph */
	int64_t		max_fix_age_ms;	/* a longer gap without a fix resets the dwell */
};

enum arrival_state { ARRIVAL_OUTSIDE, ARRIVAL_INSIDE, ARRIVAL_ARRIVED };
const char *arrival_state_name(enum arrival_state);

/* What a fix meant to the detector (for tests and debug logs). */
enum arrival_verdict {
	ARRIVAL_V_NOFIX,	/* mode < 2 or no position: ignored */
	ARRIVAL_V_OUTSIDE,	/* beyond radius + eph + margin: resets */
	ARRIVAL_V_BAND,		/* in the hysteresis band: neither counts nor resets */
	ARRIVAL_V_POOR,		/* inside but eph/mode/speed not good enough: not counted */
	ARRIVAL_V_REPEAT,	/* inside, good, but the same epoch as the last one counted */
	ARRIVAL_V_COUNTED,	/* inside and good: counted */
	ARRIVAL_V_DONE,		/* already arrived: ignored */
};

struct arrival_evidence {
	double		dist_m;		/* distance to site of the deciding fix; NaN if none */
	int64_t		dwell_ms;	/* time since the dwell started */
	int		nfixes;		/* good fixes counted inside */
	int		ntrack;
	struct proto_fix track[PROTO_TRACK_MAX];	/* the last counted fixes, oldest first */
};

/* One order's detector. Plain data: copyable, no resources. */
struct arrival {
	char		order_id[PROTO_ID_MAX];
	double		site_lat, site_lon, radius_m;
	struct arrival_params p;
	const struct lc_clock *clock;	/* monotonic time from here */
	enum arrival_state state;
	int64_t		since_ms;	/* mono: dwell start (INSIDE) */
	int64_t		last_fix_ms;	/* mono: last usable fix, any place; -1 none */
	int64_t		counted_mono_ms;	/* mono of the last counted fix */
	int64_t		counted_t_ms;	/* GPS time of the last counted fix (0 unknown) */
	double		last_dist_m;
	struct arrival_evidence ev;	/* the evidence gathered in this dwell */
};

/* Start watching a site (radius_m > 0) for order_id, OUTSIDE. */
void		arrival_init(struct arrival *, const char *order_id, double site_lat,
		    double site_lon, double radius_m, const struct arrival_params *p,
		    const struct lc_clock *clock);
/* Feed one fix, at the clock's monotonic now. Returns 1 exactly once, when the
 * order becomes ARRIVED (then *ev, if not NULL, gets the evidence), else 0.
 * *verdict (if not NULL) says what the fix meant. */
int		arrival_feed(struct arrival *, const struct proto_fix *fix,
		    enum arrival_verdict *verdict, struct arrival_evidence *ev);
/* Time passes without fixes: applies the gap rule (call it from a timer). */
void		arrival_tick(struct arrival *);
/* The crew declared arrival by hand: the detector stops (it will not report a
 * GPS arrival afterwards). ev gets what evidence there is, with dist_m from
 * fix (NULL = no fix: NaN). Returns 1 if the state changed, 0 if already arrived. */
int		arrival_manual(struct arrival *, const struct proto_fix *fix,
		    struct arrival_evidence *ev);

/* ---- watch.c ---- */

#define WATCH_MAX	PROTO_OPEN_MAX

struct device;
/* Rebuild the detectors from the journal's open orders (keeping the state of
 * those already watched). Call after any order change. */
void		watch_sync(struct device *);
/* Feed a good fix to every detector; journals and sends each arrival found. */
void		watch_fix(struct device *, const struct proto_fix *fix);
/* The gap rule for every detector. */
void		watch_tick(struct device *);
/* Stop the detector of order_id after a manual arrival; ev gets its evidence
 * (with fix, may be NULL). Returns 0, or -1 when the order is not watched (ev
 * then holds only the distance from fix, if the order's site is unknown NaN). */
int		watch_manual(struct device *, const char *order_id, const struct proto_fix *fix,
		    struct arrival_evidence *ev);

/* ---- gps.c ---- */

#define GPS_RETRY_MS		2000	/* reconnect to gpsd this often while it is absent */
#define GPS_FIX_FRESH_MS	60000	/* an older fix is not evidence of where the crew is */

struct gps_counters {
	unsigned long	reports;	/* TPV reports read */
	unsigned long	good;		/* usable fixes */
	unsigned long	nofix;		/* mode < 2 or no position */
	unsigned long	rejected;	/* implausible values */
	unsigned long	connects;	/* sessions with gpsd */
};

/* Start connecting to gpsd (now, then every GPS_RETRY_MS while absent). */
void		gps_start(struct device *);
void		gps_stop(struct device *);
/* Convert the TPV in g into f. Returns 1 usable fix, 0 no fix (mode < 2 or
 * no position), -1 implausible (counted as rejected). Pure; used by tests. */
int		gps_fix_from_tpv(const struct gps_data_t *g, struct proto_fix *f);
/* The last usable fix if it is fresher than GPS_FIX_FRESH_MS: 1 and *f, else 0. */
int		gps_last_fix(const struct device *, struct proto_fix *f);

/* ---- mqtt.c ---- */

/* Create the MQTT client (will = presence offline) and start connecting. 0 / -1. */
int		mqtt_start(struct device *);
/* Publish presence offline, disconnect cleanly, free the client. */
void		mqtt_stop(struct device *);
/* Journal e (filling dev, seq, eid, at_ms if 0) and then publish it. *sent (if
 * not NULL) is 1 when it went to the broker now, 0 when it waits in the journal
 * for the next connection. Returns 0 once journaled, -1 when journaling failed
 * (nothing was stored or sent). */
int		mqtt_event(struct device *, struct proto_event *e, int *sent);
/* Publish a position report now (QoS 0), if there is an open order and a fresh fix. */
void		mqtt_position(struct device *);
/* Handle one downlink message on our order topic (exposed for tests). */
void		mqtt_downlink(struct device *, const void *payload, size_t len);

/* ---- ctl.c ---- */

#define CTL_LINE_MAX		4096	/* one request line, bytes incl. newline */
#define CTL_ANSWER_MAX		65536	/* answer cap, bytes */
#define CTL_CLIENTS_MAX		8
#define CTL_TIMEOUT_MS		5000	/* a client that sends no full line in time is dropped */

/* Serve the command socket at d->conf.ctl_socket (mode 0600). A stale socket
 * file is replaced; a live one (another daemon) is an error. 0 / -1. */
int		ctl_start(struct device *);
void		ctl_stop(struct device *);
/* Handle one request line (JSON) and write the answer into out (cap bytes):
 * "ok\n" + lines, or "error: <field>: <reason>\n". Exposed for tests. */
void		ctl_handle(struct device *, const char *line, char *out, size_t cap);
/* The client side: run one command (argv after the global options) against the
 * daemon at sock. Prints the answer. Returns the exit status: 0 ok, 1 refused,
 * 2 daemon not running (or usage error). */
int		ctl_command(const char *sock, int argc, char **argv);

/* ---- the daemon ---- */

struct device {
	struct dev_conf	conf;
	const struct lc_clock *clock;
	struct loop    *loop;
	struct journal *journal;
	struct mqttc   *mq;
	struct ctl     *ctl;
	char		t_order[PROTO_TOPIC_MAX];
	char		t_event[PROTO_TOPIC_MAX];
	char		t_pos[PROTO_TOPIC_MAX];
	char		t_presence[PROTO_TOPIC_MAX];
	struct loop_timer resend_timer;
	struct loop_timer pos_timer;
	struct loop_timer tick_timer;

	/* gps.c */
	struct gps_data_t gpsdata;
	int		gps_open;
	int		gps_absent_logged;	/* "no gpsd" said once per absence */
	struct loop_timer gps_retry;
	struct gps_counters gpsc;
	int		has_fix;
	struct proto_fix fix;		/* the last usable fix */
	int64_t		fix_mono_ms;	/* when it came, monotonic */

	/* watch.c */
	int		nwatch;
	struct arrival	watch[WATCH_MAX];

	/* mqtt.c */
	unsigned long	down_bad;	/* malformed downlink messages dropped */
	unsigned long	events_sent;
};

#endif
