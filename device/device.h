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
 *   tui.c      the crew's terminal screen (ncurses), a client of the socket
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

/* The gateway's identity: its certificate's common name. */
#define DEV_GATEWAY_ID	"linecrew-gateway"

struct mqttc;
struct journal;
struct ctl;
struct crypto;
struct crypto_key;
struct msgauth;

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
	int	pos_interval_s;			/* position reports while moving on an order */
	int	pos_parked_s;			/* position reports otherwise */
	int	resend_s;			/* unacked events are resent this often */
	int	send_window;			/* events out unacknowledged, at most */
	int	delay_prompt_min;		/* ask for a delay reason this long before the
						 * completion deadline */
	char	mqtt_cafile[DEV_PATH_MAX];	/* TLS: the fleet CA */
	char	mqtt_certfile[DEV_PATH_MAX];	/* TLS: this unit's certificate */
	char	mqtt_keyfile[DEV_PATH_MAX];	/* this unit's key: TLS, signatures, MAC */
	char	gateway_pubkey[DEV_PATH_MAX];	/* the gateway's public key (MAC, checks) */
	int	mqtt_plain_dev;			/* development only: plain TCP on loopback */
	int	down_window_s;			/* a downlink message's send time must be
						 * within this of our clock */
	char	log[8];				/* auto (= stderr), stderr or syslog */
	char	log_level[8];			/* info or debug (-v: debug) */
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
	int64_t		delay_requested_ms;	/* the gateway asked for a delay reason
					 * (its time), 0 = not asked */
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
/* The same for unacked events with a sequence number above after_seq. */
int		journal_unacked_after(struct journal *, uint64_t after_seq, int max,
		    journal_event_cb cb, void *arg);
/* Number of unacked events with a sequence number up to seq, or -1. */
int		journal_unacked_upto(struct journal *, uint64_t seq);
/* 1 if an event of type about order_id is journaled, 0 if not, -1 on error. */
int		journal_has_event(struct journal *, const char *order_id, enum proto_ev_type type);
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
/* Tag an encoded event in buf (*len bytes, cap bytes of room) in place, as the
 * message authentication policy wants for its type; *len is updated. 0 / -1. */
typedef int (*journal_seal_fn)(void *arg, enum proto_ev_type, char *buf, size_t cap,
	    size_t *len);
/* Seal every event from now on before it is stored (NULL: store untagged). */
void		journal_set_sealer(struct journal *, journal_seal_fn, void *arg);
/* The gateway asked for a delay reason on order id at at_ms (its time). Returns
 * 1 if recorded, 0 if the order is unknown or was asked already, -1. */
int		journal_delay_requested(struct journal *, const char *id, int64_t at_ms);
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

/* The thinned track kept while offline: encoded POS messages, oldest first. */
#define JOURNAL_TRACK_MAX	4000	/* points; beyond, the older half is thinned */
#define JOURNAL_TRACK_BATCH	100	/* points handed out per journal_track_take */
/* Store one encoded position (at_ms: its time). Over JOURNAL_TRACK_MAX points,
 * every second point of the older half is dropped. 0 / -1 (logged). */
int		journal_track_add(struct journal *, const char *payload, size_t len,
		    int64_t at_ms);
/* Points stored, or -1. */
int		journal_track_count(struct journal *);
/* Hand the oldest points (at most max, at most JOURNAL_TRACK_BATCH) to cb, in
 * order, until cb returns non-zero; those cb took (returned 0 for) are deleted.
 * Returns the number taken, or -1. */
int		journal_track_take(struct journal *, int max,
		    int (*cb)(void *arg, const char *payload, size_t len), void *arg);

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
	ARRIVAL_V_EARLY,	/* GPS time before the order existed: ignored, counted */
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
	int64_t		not_before_ms;	/* fixes with an earlier GPS time are no
					 * evidence (order created - slack); 0: none */
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
#define WATCH_TICK_MS	1000	/* the gap rule's timer, armed only while a dwell runs */

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

#define GPS_RETRY_MS		2000	/* first reconnect to gpsd after this... */
#define GPS_RETRY_MAX_MS	30000	/* ...doubling up to this while it stays absent */
#define GPS_FIX_FRESH_MS	60000	/* an older fix is not evidence of where the crew is */

#define GPS_CLOCK_SLACK_MS	(5 * 60 * 1000LL)	/* GPS time ahead of the device clock,
							 * or before an order, by more: implausible */
#define GPS_STALE_MS		(24 * 3600 * 1000LL)	/* GPS time older than the device clock by more */
#define GPS_WEEK_MS		(7 * 24 * 3600 * 1000LL)
#define GPS_ROLLOVER_MS		(1024 * GPS_WEEK_MS)	/* the GPS week-number rollover period */
#define GPS_ROLLOVER_BAND_MS	(366 * 24 * 3600 * 1000LL)	/* a date this close to +-1024 weeks off */
#define GPS_JUMP_MPS		70.0	/* 252 km/h: faster than any crew vehicle moves */
#define GPS_REANCHOR_FIXES	3	/* consistent fixes that replace a jumped-from position */

struct gps_counters {
	unsigned long	reports;	/* TPV reports read */
	unsigned long	good;		/* usable fixes */
	unsigned long	nofix;		/* mode < 2 or no position */
	unsigned long	rejected;	/* implausible, all reasons (the sum of the next) */
	unsigned long	r_value;	/* NaN / out-of-range / (0,0) / absurd speed */
	unsigned long	r_future;	/* GPS time ahead of the device clock */
	unsigned long	r_stale;	/* GPS time long before the device clock */
	unsigned long	r_rollover;	/* GPS time 1024 weeks off (week-number rollover) */
	unsigned long	r_jump;		/* a move faster than a vehicle */
	unsigned long	r_before_order;	/* fix time before an order existed (per order) */
	unsigned long	connects;	/* sessions with gpsd */
};

/* Why a fix is implausible (gps_plausible). */
enum gps_verdict { GPS_PLAUSIBLE, GPS_R_FUTURE, GPS_R_STALE, GPS_R_ROLLOVER, GPS_R_JUMP };
const char     *gps_verdict_name(enum gps_verdict);

/* The plausibility state: the last position accepted and the candidate that
 * may replace it when the unit really was moved (a jump every later fix agrees
 * with). Plain data; zero it to start. */
struct gps_check {
	int		has_ref, ncand;
	struct proto_fix ref, cand;
	int64_t		ref_mono_ms, cand_mono_ms;
};

/* Start connecting to gpsd (now, then every GPS_RETRY_MS while absent). */
void		gps_start(struct device *);
void		gps_stop(struct device *);
/* Convert the TPV in g into f. Returns 1 usable fix, 0 no fix (mode < 2 or
 * no position), -1 implausible (counted as rejected). Pure; used by tests. */
int		gps_fix_from_tpv(const struct gps_data_t *g, struct proto_fix *f);
/* Judge fix f (usable, from gps_fix_from_tpv) that came at mono_ms when the
 * device clock read wall_ms: its GPS time must be within GPS_CLOCK_SLACK_MS
 * ahead and GPS_STALE_MS behind the device clock (a date about 1024 weeks off
 * either way is ROLLOVER), and the move from the last plausible position must
 * not be faster than GPS_JUMP_MPS (distance less both stated errors, over the
 * larger of the GPS and the monotonic interval). After GPS_REANCHOR_FIXES
 * consecutive jumped fixes that agree with each other, the unit really moved:
 * the last of them is accepted. Updates *c. Pure; used by tests. */
enum gps_verdict gps_plausible(struct gps_check *c, const struct proto_fix *f, int64_t mono_ms,
		    int64_t wall_ms);
/* The last usable fix if it is fresher than GPS_FIX_FRESH_MS: 1 and *f, else 0. */
int		gps_last_fix(const struct device *, struct proto_fix *f);

/* ---- mqtt.c ---- */

/* Create the MQTT client (will = presence offline) and start connecting. 0 / -1. */
/* Load our key and the gateway's public key and make the message
 * authentication context (nothing when no key is configured: development).
 * Events are sealed in the journal from then on. 0, or -1 with a log line. */
int		mqtt_auth_start(struct device *);
void		mqtt_auth_stop(struct device *);
int		mqtt_start(struct device *);
/* Publish presence offline, disconnect cleanly, free the client. */
void		mqtt_stop(struct device *);
/* Journal e (filling dev, seq, eid, at_ms if 0) and then publish it. *sent (if
 * not NULL) is 1 when it went to the broker now, 0 when it waits in the journal
 * for the next connection. Returns 0 once journaled, -1 when journaling failed
 * (nothing was stored or sent). */
int		mqtt_event(struct device *, struct proto_event *e, int *sent);
#define POS_MOVING_MPS		2.0	/* faster: moving (reports every pos_interval_s) */
#define POS_TRACK_MIN_M		50.0	/* offline: a point is kept when this far from the last */

/* A plausible fix came (gps.c): report the position when it is due: every
 * pos_interval_s while moving on an order, every pos_parked_s otherwise. Online
 * at QoS 0; offline it goes to the journal's thinned track (a point when moved
 * POS_TRACK_MIN_M or every pos_parked_s). No timer of its own: fixes drive it. */
void		mqtt_position(struct device *);
/* Publish the current position now, if connected and a fresh fix exists. */
void		mqtt_position_now(struct device *);
/* Send a batch of the offline track backlog (QoS 1, oldest first), deleting what
 * went; only after the gateway's SYNC on this connection, then from the resend
 * timer until it is empty. */
void		mqtt_track_flush(struct device *);
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
/* The client side: send one request line req (JSON, no newline) to the daemon
 * at sock and read its whole answer into ans (cap bytes, NUL-terminated).
 * Returns 0, or -1 with why (whycap bytes) saying what failed (not running,
 * no answer). Blocks at most CTL_CLIENT_WAIT_MS per read. */
int		ctl_request(const char *sock, const char *req, char *ans, size_t cap,
		    char *why, size_t whycap);
/* The client side: run one command (argv after the global options) against the
 * daemon at sock. Prints the answer. Returns the exit status: 0 ok, 1 refused,
 * 2 daemon not running (or usage error). */
int		ctl_command(const char *sock, int argc, char **argv);

/* ---- tui.c ----
 * linecrew-screen SOCKET: the crew's full-screen terminal UI, a program of its
 * own (main in tui.c), a client of the daemon at SOCKET like the commands. */

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
	struct loop_timer tick_timer;

	/* gps.c */
	struct gps_data_t gpsdata;
	int		gps_open;
	int		gps_absent_logged;	/* "no gpsd" said once per absence */
	struct loop_timer gps_retry;
	int64_t		gps_retry_ms;	/* the current reconnect backoff */
	struct gps_counters gpsc;
	struct gps_check gpscheck;
	enum gps_verdict gps_last_reject;	/* logged at info on a change only */
	int		has_fix;
	struct proto_fix fix;		/* the last usable fix */
	int64_t		fix_mono_ms;	/* when it came, monotonic */

	/* watch.c */
	int		nwatch;
	struct arrival	watch[WATCH_MAX];

	/* mqtt.c */
	unsigned long	down_bad;	/* malformed downlink messages dropped */
	unsigned long	events_sent;
	uint64_t	sent_upto;	/* highest seq published on this connection */
	unsigned long	acks, acks_at_tick;	/* events acked; at the last resend tick */
	int64_t		pos_mono_ms;	/* last position reported or kept; 0 none */
	int64_t		track_mono_ms;	/* last point kept in the offline track */
	double		track_lat, track_lon;
	int		has_track_pt;
	unsigned long	pos_sent, track_kept, track_sent;
	int		gw_synced;	/* the gateway answered this connection's hello */

	/* message authentication (mqtt.c; NULL ma = untagged, development only) */
	struct crypto	*crypto;
	struct crypto_key *key;		/* ours: signs evidence, agrees the MAC key */
	struct crypto_key *gwpub;	/* the gateway's */
	struct msgauth	*ma;
	int64_t		down_last_n;	/* highest downlink counter accepted */
	unsigned long	down_refused;	/* downlink messages refused: tag, replay, age */
};

#endif
