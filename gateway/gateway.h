/*
 * gateway.h: the private header of linecrew-gateway, one section per module
 * (after OpenBSD's ntpd.h). Nothing outside gateway/ includes it except the
 * gateway's unit tests.
 *
 *   main.c   config, start-up, the loop, signals, shutdown
 *   provision.c  the fleet's identities and the broker config made from them
 *   store.c  SQLite: schema and migrations, prepared statements, row I/O
 *   taxonomy.c  the 10 business types and 44 categories (第十八条), constant data
 *   calendar.c  working days (holidays, make-up days) and shifts
 *   sla.c    pure SLA engine: profiles, stage verdicts, next deadline, order states
 *   stats.c  SLA compliance statistics over a period
 *   order.c  the order operations (create, review, device events, callback, SLA
 *            tick), each one transaction over the store
 *   http.c   the HTTP JSON API on libmicrohttpd, driven from our loop
 *   mqtt.c   the device link: outbox push, event ingest, acks, reconcile
 *   live.c   the live event stream (SSE) of the web board
 *   web.c    pages, compiled-in assets, browser sessions, security headers
 *   metrics.c  GET /metrics in Prometheus text format
 *
 * Times are UTC epoch milliseconds (int64_t); 0 means "not yet / unknown" in
 * the structures below and is stored as SQL NULL.
 */
#ifndef LC_GATEWAY_H
#define LC_GATEWAY_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "loop.h"
#include "maps.h"
#include "proto.h"

#define GW_VERSION		"0.1.0"
#define GW_PATH_MAX		1024
#define GW_BODY_MAX		(64 * 1024)	/* bytes, HTTP request and answer cap */
#define GW_LIST_DEFAULT		100		/* orders in a list answer */
#define GW_LIST_MAX		1000
#define GW_CREW_MAX		PROTO_DEV_MAX	/* crew ids: same syntax as device ids */
#define GW_WORD_MAX		32		/* states, reasons, outcomes, methods */
#define GW_DETAIL_MAX		8192		/* bytes of one timeline detail JSON */

/* ------------------------------------------------------------------ main.c */

#define GW_PROFILE_NAME_MAX	32
#define GW_PROFILES_MAX		8
#define GW_SHIFTS_MAX		8

/*
 * A profile: every time limit of 第十九条 in one table (README "Profiles").
 * The top-level keys of gateway.conf make the profile "default" (this
 * utility's regulation); `profile NAME key value ...` lines define others,
 * `profile_active NAME` selects the one in force. Resolved per order by
 * sla_profile_for() and copied onto the order.
 */
struct sla_limits {
	char	name[GW_PROFILE_NAME_MAX];
	int	answer_s;		/* call answered, from ringing */
	int	record_repair_s;	/* repair recorded and forwarded, from hang-up */
	int	record_other_s;		/* the other types */
	int	review_s;		/* supervisor review of a repair, from recording */
	int	review_other_s;		/* the other types */
	int	arrive_urban_min;	/* arrival, from dispatch, per zone */
	int	arrive_rural_min;
	int	arrive_remote_min;
	int	complete_h;		/* repair finished, from dispatch */
	int	complete_meter_h;	/* the same for category 6, meter fault */
	int	consult_wd;		/* department result, working days from forwarding */
	int	complaint_wd;		/* complaint and report */
	int	appeal_wd;		/* appeal, suggestion, opinion, praise */
	int	install_wd;		/* installation (set by the installation rules) */
	int	callback_min;		/* callback, from the gateway learning the end of handling */
	int	archive_min;		/* archiving, from the end of a shift's orders of a type */
	int	warn_pct;		/* warn at this percentage of a stage's time */
};

/* Shifts (当班): start times, minutes after local midnight, ascending. */
struct gw_shifts {
	int	n;
	int	start_min[GW_SHIFTS_MAX];
};

struct gw_conf {
	char	db[GW_PATH_MAX];
	char	http_bind[64];
	int	http_port;
	char	mqtt_host[256];
	int	mqtt_port;
	char	mqtt_client_id[64];
	char	mqtt_cafile[GW_PATH_MAX];	/* TLS to the broker: the fleet CA */
	char	mqtt_certfile[GW_PATH_MAX];	/* our client certificate */
	char	mqtt_keyfile[GW_PATH_MAX];	/* its key (also our msgauth key) */
	int	mqtt_plain_dev;		/* DEVELOPMENT: plain TCP, loopback broker only */
	char	pki[GW_PATH_MAX];	/* device registry: certificates, revocations */
	int	auth_unsigned_dev;	/* TRANSITION: accept untagged device messages */
	char	http_tls_cert[GW_PATH_MAX];	/* "" = plain HTTP */
	char	http_tls_key[GW_PATH_MAX];
	char	zones[GW_PATH_MAX];	/* "" = no zone file: every site gets zone_default */
	char	zone_default[16];
	char	calendar[GW_PATH_MAX];	/* "" = no holidays: Monday..Friday are working days */
	double	radius_m;
	int	resend_s;
	int	sla_tick_ms;
	int	test_clock;		/* test only: POST /api/v1/test/clock moves our clock */
	struct sla_limits limits;	/* the profile "default": top-level keys */
	struct sla_limits profiles[GW_PROFILES_MAX];	/* `profile` lines */
	int	nprofiles;
	char	profile_active[GW_PROFILE_NAME_MAX];	/* "" = "default" */
	struct gw_shifts shifts;
	/* Which crew (board.c, README "Dispatch tools"). */
	int	rank_seen_min;		/* on duty: the device was heard within this */
	int	rank_repair_min;	/* finishing soon: free at arrival + this */
	double	rank_speed_kmh[3];	/* by the site's zone class: urban, rural, remote */
	double	rank_detour;		/* road / straight distance */
	double	rank_setup_min;		/* dispatch to driving off */
	double	rank_drift_kmh;		/* how fast an old position goes stale */
	double	rank_drift_max_km;	/* cap of that uncertainty */
	int	rank_pos_max_age_min;	/* older positions count as none */
	double	cluster_radius_m;	/* outage clusters: default radius */
	int	cluster_window_min;	/* and time window */
	/* The web board (issue 7). */
	int	session_hours;		/* browser sessions live this long */
	int	http_max_connections;	/* simultaneous HTTP connections, streams included */
	int	stream_replay_max;	/* a resume further behind than this gets a reset */
	char	log[8];			/* auto, stderr or syslog (log_dest_parse) */
	char	log_level[8];		/* info or debug (-v: debug) */
};

struct store;
struct gw_http;
struct gw_mqtt;
struct calendar;

/* The daemon's context, owned by main.c; modules borrow it. */
struct gw {
	const struct gw_conf   *conf;
	const struct lc_clock  *clock;		/* wall time for everything stored */
	struct loop	       *loop;		/* NULL in unit tests */
	struct store	       *store;
	struct maps_zones      *zones;		/* NULL: no zone file */
	enum maps_zone		zone_default;
	const struct sla_limits *limits;	/* the profile in force */
	const struct calendar  *cal;		/* NULL: Monday..Friday */
	struct gw_http	       *http;
	struct gw_mqtt	       *mqtt;		/* NULL in unit tests */
	int64_t			clock_offset_ms; /* test_clock: added to the wall clock */
	struct gw_live	       *live;		/* the event stream (http.c starts it) */
	struct gw_metrics      *metrics;	/* NULL: nothing is measured */
};

/* ------------------------------------------------------------------ taxonomy.c */

/* The 10 business types of 第十八条, in the regulation's order. */
enum order_type {
	TYPE_REPAIR, TYPE_CONSULTATION, TYPE_QUERY, TYPE_COMPLAINT, TYPE_APPEAL,
	TYPE_REPORT, TYPE_SUGGESTION, TYPE_OPINION, TYPE_PRAISE, TYPE_INSTALLATION,
	TYPE_N
};

enum complaint_grade { GRADE_NONE, GRADE_GENERAL, GRADE_IMPORTANT };

#define TAXONOMY_NCATEGORIES	44

struct tx_category {
	int			id;		/* 1..44 as in 第十八条 */
	enum order_type		type;
	enum complaint_grade	grade;		/* complaints only */
	const char	       *zh;
	const char	       *en;
};

/* "repair", "consultation", ...; "unknown" out of range. */
const char     *taxonomy_type_name(enum order_type);
const char     *taxonomy_type_zh(enum order_type);	/* "故障报修" ... */
const char     *taxonomy_type_en(enum order_type);	/* "fault repair" ... */
int		taxonomy_type_parse(const char *s, enum order_type *out);	/* 0 / -1 */
/* The category with this id, NULL when not in 1..44. */
const struct tx_category *taxonomy_category(int id);
const char     *taxonomy_grade_name(enum complaint_grade);	/* "general", "important", "" */
/* 1 when category id belongs to type, else 0. */
int		taxonomy_matches(enum order_type, int category);

/* ------------------------------------------------------------------ calendar.c */

/*
 * The working-day calendar (README "Working days"): a file of
 *     year 2026
 *     holiday 2026-02-15 2026-02-23 Spring Festival
 *     workday 2026-02-14 Spring Festival make-up
 * Days are Asia/Shanghai dates. A day is a working day when it is a workday
 * line, else when it is Monday..Friday and no holiday line covers it.
 */
struct calendar;

/* Load path into a new calendar (*out, owned by the caller: calendar_free).
 * 0, or -1 with err "path:line: message". */
int		calendar_load(const char *path, struct calendar **out, char *err, size_t cap);
void		calendar_free(struct calendar *);
/* 1 when the year has a `year` line (its holidays are known). NULL cal: 0. */
int		calendar_covers(const struct calendar *, int year);
/* day = days since 1970-01-01 of a local date. NULL cal: Monday..Friday. */
int		calendar_is_workday(const struct calendar *, int64_t day);
/* The deadline of "n working days" from t_ms: the end (local midnight) of the
 * n-th working day after t_ms's local date. n <= 0: t_ms. */
int64_t		calendar_add_workdays(const struct calendar *, int64_t t_ms, int n);
/* The shift containing t_ms: its start and end (UTC ms). No shifts: the local day. */
void		calendar_shift(const struct gw_shifts *, int64_t t_ms, int64_t *start,
		    int64_t *end);
/* Local day number of t_ms. */
int64_t		calendar_local_day(int64_t t_ms);

/* ------------------------------------------------------------------ sla.c */

/*
 * Order states. The diagram and transition table are in sla.c.
 */
enum order_state {
	ORD_RECORDED,
	ORD_DISPATCHED,
	ORD_DELIVERED,
	ORD_ACCEPTED,
	ORD_ARRIVED,
	ORD_COMPLETED,
	ORD_CLOSED,
	ORD_DECLINED,
	ORD_REOPENED,
	ORD_FORWARDED,		/* non-repair: with a department */
	ORD_NSTATES
};

/* What can happen to an order: the columns of the transition table. */
enum order_action {
	ACT_DISPATCH,		/* supervisor review: dispatch a repair to a crew */
	ACT_DECLINE,		/* supervisor review (or intake rule): not dispatched */
	ACT_DELIVERED,		/* device: order stored */
	ACT_ACCEPT,		/* device: crew on the way */
	ACT_ARRIVE,		/* device: on site */
	ACT_COMPLETE,		/* device: repair done */
	ACT_CALLBACK_CLOSE,	/* agent: callback, conclusive */
	ACT_CALLBACK_REOPEN,	/* agent: callback, power not restored / not resolved */
	ACT_FORWARD,		/* supervisor review: forward a non-repair to a department */
	ACT_RESULT,		/* department: result recorded, handling done */
	ACT_LINK_DONE,		/* the original of a linked duplicate is completed */
	ACT_NACTIONS
};

enum sla_stage {
	SLA_ANSWER,		/* call answered within answer_s of ringing */
	SLA_RECORD,		/* recorded and forwarded to the supervisor, from hang-up */
	SLA_REVIEW,		/* supervisor review, from recording */
	SLA_ARRIVAL,		/* repair: crew on site, from dispatch */
	SLA_COMPLETION,		/* repair: finished, from dispatch */
	SLA_HANDLING,		/* other types: department result, working days */
	SLA_CALLBACK,		/* from the gateway learning the end of handling */
	SLA_ARCHIVE,		/* from the end of the shift's orders of the type */
	SLA_NSTAGES
};
enum sla_verdict { SLA_PENDING, SLA_MET, SLA_BREACHED, SLA_NA };

/* The limits in force when an order was created, resolved for its type, zone
 * and category and copied onto the order, so a later config change never
 * rewrites an old verdict. 0 = the stage does not apply to this type. */
struct sla_profile {
	char	name[GW_PROFILE_NAME_MAX];
	int	answer_s;
	int	record_s;
	int	review_s;
	int	arrive_min;
	int	complete_min;
	int	handle_wd;		/* working days */
	int	callback_min;
	int	archive_min;
	int	warn_pct;
};

/* One order: every column of the orders table. */
struct order {
	char		id[PROTO_ID_MAX];
	enum order_type	type;
	int		category;		/* 1..44 */
	enum complaint_grade grade;
	enum order_state state;
	char		summary[PROTO_TEXT_MAX];
	char		address[PROTO_TEXT_MAX];
	char		customer[PROTO_NAME_MAX];
	char		phone[PROTO_NAME_MAX];
	double		lat, lon;		/* WGS-84 */
	double		in_lat, in_lon;		/* as given */
	enum maps_crs	in_crs;
	double		radius_m;
	enum maps_zone	zone;
	char		zone_name[PROTO_NAME_MAX];
	char		crew[GW_CREW_MAX];
	char		device[PROTO_DEV_MAX];
	int64_t		ring_ms;		/* the call rang (intake, optional) */
	int64_t		answered_ms;		/* the agent answered (intake, optional) */
	int64_t		call_ended_ms;
	int64_t		created_ms;
	int64_t		reviewed_ms;		/* the first review */
	int64_t		dispatched_ms;
	int64_t		delivered_ms;		/* device clock */
	int64_t		accepted_ms;		/* device clock */
	int64_t		arrived_ms;		/* device clock */
	char		arrive_method[GW_WORD_MAX];	/* "gps" / "manual" / "" */
	int64_t		completed_ms;		/* device clock; non-repair: the result's time */
	int64_t		completed_rx_ms;	/* gateway clock: when we learned it */
	int64_t		callback_due_ms;
	int64_t		callback_ms;		/* a conclusive callback */
	char		callback_outcome[GW_WORD_MAX];
	int		rating;			/* 1..5, 0 = none */
	char		callback_note[PROTO_TEXT_MAX];
	int		callback_attempts;
	char		decline_reason[GW_WORD_MAX];
	char		duplicate_of[PROTO_ID_MAX];
	int		linked;			/* a duplicate waiting for its original */
	char		review_note[PROTO_TEXT_MAX];
	char		delay_reason[GW_WORD_MAX];	/* "" = no delay reported */
	char		delay_text[PROTO_TEXT_MAX];
	int64_t		delay_eta_ms;
	int64_t		delay_at_ms;
	int64_t		delay_requested_ms;	/* flagged: 12 h without completion or reason */
	char		dept[PROTO_NAME_MAX];	/* non-repair: the department */
	int64_t		forwarded_ms;		/* non-repair: to the department */
	int64_t		handle_due_ms;		/* non-repair: from the calendar at forwarding */
	char		result[PROTO_TEXT_MAX];	/* non-repair: the department's answer */
	int64_t		shift_ms;		/* start of the shift the order was recorded in */
	int64_t		shift_end_ms;
	int64_t		finished_ms;		/* closed or declined (0: still open) */
	int64_t		archive_start_ms;	/* all of the shift's orders of the type done */
	int64_t		archived_ms;
	int		outage_id;		/* declined inside this planned outage, 0 none */
	struct sla_profile lim;
	unsigned	breached;		/* bit per sla_stage: breach entry written */
	unsigned	warned;			/* bit per sla_stage: warning entry written */
	unsigned	late;			/* bit per sla_stage: closed by late evidence */
	enum sla_stage	next_stage;
	int64_t		next_due_ms;		/* next warning or deadline; 0 = nothing */
};

struct sla_result {
	enum sla_stage	 stage;
	int64_t		 limit_ms;	/* 0 for working-day stages: see due_ms */
	int64_t		 start_ms;	/* 0 = not started */
	int64_t		 due_ms;	/* 0 = not started */
	int64_t		 warn_ms;	/* warn_pct of the way from start to due */
	int64_t		 done_ms;	/* 0 = not done */
	enum sla_verdict verdict;
	int		 late;		/* done, by evidence that reached us after due */
};

const char *sla_stage_name(enum sla_stage);
const char *sla_verdict_name(enum sla_verdict);
const char *order_state_name(enum order_state);
int	    order_state_parse(const char *s, enum order_state *out);	/* 0 / -1 */
/* "线路故障停电" for 1..44, "" otherwise. */
const char *sla_category_name(int category);

/* The profile named name among the default and conf's profiles; NULL if none. */
const struct sla_limits *sla_limits_find(const struct gw_conf *, const char *name);
/* Resolve the limits of l for an order of type and category in zone. */
void	sla_profile_for(const struct sla_limits *l, enum order_type type, int category,
	    enum maps_zone zone, struct sla_profile *out);
/* Verdicts of every stage of o as of the clock's wall time; out[i].stage == i. */
void	sla_eval(const struct order *o, const struct lc_clock *clk,
	    struct sla_result out[SLA_NSTAGES]);
/* The earliest pending time among started stages: a warning not yet written
 * (per warned) or a deadline; its stage in *stage; 0 when none. */
int64_t	sla_next_due(const struct sla_result r[SLA_NSTAGES], unsigned warned,
	    enum sla_stage *stage);
/* Transition table: 1 and *to set when action is allowed in state from, else 0. */
int	sla_transition(enum order_state from, enum order_action act, enum order_state *to);
/* 1 for states in which the order still has work (not closed, not declined). */
int	sla_state_open(enum order_state);
/* 1 when o satisfies the invariant of its state (see sla.c), else 0. */
int	sla_order_valid(const struct order *o);
/* 1 for the states in which a device holds the order (dispatched .. arrived). */
int	sla_state_on_device(enum order_state);

/* ------------------------------------------------------------------ store.c */

struct crew {
	char	id[GW_CREW_MAX];
	char	name[PROTO_NAME_MAX];
	char	branch[PROTO_NAME_MAX];
	char	device[PROTO_DEV_MAX];
};

struct device {
	char	id[PROTO_DEV_MAX];
	char	crew[GW_CREW_MAX];
	int	online;			/* 1, 0, or -1 = never heard */
	int64_t	last_seen_ms;
	double	last_lat, last_lon;	/* NaN when none */
	int64_t	last_at_ms;
};

struct tl_entry {
	int	seq;
	char	kind[GW_WORD_MAX];
	int64_t	at_ms;			/* when it happened */
	int64_t	rx_ms;			/* when the gateway learned it */
	char	actor[GW_WORD_MAX + PROTO_DEV_MAX];
	char	detail[GW_DETAIL_MAX];	/* JSON object text */
};

struct outbox_row {
	char	msg_id[PROTO_ID_MAX];
	char	dev[PROTO_DEV_MAX];
	char	order_id[PROTO_ID_MAX];
	char	kind[GW_WORD_MAX];
	char	payload[PROTO_MAX_PAYLOAD + 1];
	int64_t	created_ms;
	int64_t	last_sent_ms;
	int	attempts;
	int64_t	acked_ms;
};

struct position {
	char	dev[PROTO_DEV_MAX];
	int64_t	at_ms, rx_ms;
	double	lat, lon, eph_m, speed_mps;	/* NaN unknown */
	char	order_id[PROTO_ID_MAX];
};

/* Row callbacks of the list functions: return 0 to go on, 1 to stop. */
typedef int (*store_order_cb)(const struct order *, void *arg);
typedef int (*store_tl_cb)(const struct tl_entry *, void *arg);
typedef int (*store_crew_cb)(const struct crew *, const struct device *, int open_orders,
	    void *arg);
typedef int (*store_outbox_cb)(const struct outbox_row *, void *arg);

/* A planned outage (计划停电): a circle and a time window. */
struct outage {
	int	id;
	char	name[PROTO_NAME_MAX];
	double	lat, lon, radius_m;	/* WGS-84, metres */
	int64_t	start_ms, end_ms;
	char	note[PROTO_TEXT_MAX];
	int64_t	created_ms;
};
typedef int (*store_outage_cb)(const struct outage *, void *arg);

#define STORE_SCHEMA_VERSION	5

/* Open (creating and migrating) the database at path. NULL with a log line on
 * failure. The store owns the connection and its prepared statements. */
struct store   *store_open(const char *path);
void		store_close(struct store *);
int		store_version(struct store *);

/*
 * Transactions (README "Group commit"). store_begin opens an operation:
 * BEGIN IMMEDIATE, or a SAVEPOINT when nested or when group commit is on;
 * store_commit ends it (COMMIT, or RELEASE into the enclosing transaction or
 * the pass's group: then durable only once the group ends); store_rollback
 * undoes that operation only. 0 / -1; after a failed store_commit the caller
 * must still call store_rollback. store_begin_light is store_begin for data
 * whose loss on a power cut is harmless (positions, sent marks): outside a
 * group it commits without fsync (synchronous=NORMAL, WAL: a process crash
 * loses nothing); inside one it is an ordinary member.
 */
#define STORE_TX_DEPTH_MAX	8
int		store_begin(struct store *);
int		store_begin_light(struct store *);
int		store_commit(struct store *);
void		store_rollback(struct store *);

/*
 * Group commit. store_group_start arms it and adds a prepare hook to the loop
 * that calls store_group_end before every poll. store_group_end (only between
 * operations; it may be called early, e.g. when a queue of effects is full)
 * tells the watchers CLOSING (they may still write into the group), COMMITs
 * the group (one fsync), then tells them DONE, or FAILED when the commit or
 * an operation's rollback lost the group: then nothing written into it since
 * the last end is stored, and nothing of it may be acknowledged. 0 / -1
 * (FAILED). store_group_pending: 1 while writes of this pass are not yet
 * durable: whatever reports them (an HTTP answer, an ack, a push) must wait
 * for the watchers. store_group_stop ends the open group and disarms.
 */
enum store_group_phase { STORE_GROUP_CLOSING, STORE_GROUP_DONE, STORE_GROUP_FAILED };
typedef void (*store_group_cb)(void *arg, enum store_group_phase);
#define STORE_GROUP_WATCH_MAX	4
int		store_group_start(struct store *, struct loop *);
void		store_group_stop(struct store *, struct loop *);
int		store_group_watch(struct store *, store_group_cb, void *arg);
void		store_group_unwatch(struct store *, store_group_cb, void *arg);
int		store_group_end(struct store *);
int		store_group_pending(const struct store *);

/* Orders. get: 1 found, 0 not found, -1 error. */
int		store_order_get(struct store *, const char *id, struct order *out);
int		store_order_insert(struct store *, const struct order *);
int		store_order_update(struct store *, const struct order *);
/* Next id "LC-YYYYMMDD-NNNN" for the Asia/Shanghai date of now_ms, taken from
 * the day's counter (order_seq) inside the caller's transaction. 0 / -1. */
int		store_order_next_id(struct store *, int64_t now_ms, char *out, size_t cap);
/* Open orders (or all when all != 0) by next_due_ms, nearest first, then by id;
 * state_filter >= 0 restricts to one state. 0 / -1. */
int		store_order_list(struct store *, int all, int state_filter, int limit,
		    store_order_cb, void *arg);
/* Orders whose next_due_ms <= now_ms (index range, open orders only). */
int		store_order_due(struct store *, int64_t now_ms, int limit, store_order_cb,
		    void *arg);
/* Orders completed and waiting for their callback, by callback_due_ms. */
int		store_callback_list(struct store *, int limit, store_order_cb, void *arg);
/* Orders held by a device (dispatched .. arrived). */
int		store_order_on_device(struct store *, const char *dev, store_order_cb,
		    void *arg);
int		store_order_count_open(struct store *);	/* -1 on error */

/* Timeline: append gives the entry the next seq of its order (written to *seq if
 * not NULL). detail is JSON object text or NULL ("{}"). */
int		store_tl_append(struct store *, const char *order_id, const char *kind,
		    int64_t at_ms, int64_t rx_ms, const char *actor, const char *detail,
		    int *seq);
int		store_tl_list(struct store *, const char *order_id, store_tl_cb, void *arg);

/* Crews and devices. put: 1 created, 0 updated, -1 error. */
int		store_crew_put(struct store *, const struct crew *);
int		store_crew_get(struct store *, const char *id, struct crew *out);
int		store_crew_list(struct store *, store_crew_cb, void *arg);
int		store_device_get(struct store *, const char *id, struct device *out);
int		store_device_presence(struct store *, const char *id, int online,
		    int64_t seen_ms);
/* The device's live position, if at_ms is not older than the one it has; its
 * last_seen_ms in any case. 1 done, 0 no such device, -1 error. */
int		store_device_position(struct store *, const char *id, double lat, double lon,
		    int64_t at_ms, int64_t seen_ms);

/* Device events, for idempotent ingest. insert: 1 inserted, 0 already there, -1. */
int		store_event_insert(struct store *, const char *eid, const char *dev,
		    uint64_t seq, const char *order_id, const char *type, int64_t at_ms,
		    int64_t rx_ms, const char *status, const char *payload, size_t len);
/* ---- store.c, security section (issue 6) ----
 *
 * Audit chain: every timeline entry and every stored device event is linked,
 * in the transaction that writes it, into table audit: hash = SHA-256(previous
 * row's hash || canonical bytes of the row), the first row chaining to 32 zero
 * bytes. Canonical bytes: each field as "<decimal length>:<bytes>," in a fixed
 * order (store_canon_*), so the chain can be re-computed from the rows alone.
 */
#define STORE_CANON_MAX		(PROTO_MAX_PAYLOAD + GW_DETAIL_MAX + 1024)
#define STORE_HASH_HEX		65	/* 64 hex digits + NUL */

struct store_canon {
	size_t		len;
	int		overflow;	/* a field did not fit: not chainable */
	unsigned char	buf[STORE_CANON_MAX];
};

void	store_canon_tl(struct store_canon *, const char *order_id, int64_t seq,
	    const char *kind, int64_t at_ms, int64_t rx_ms, const char *actor,
	    const char *detail);
void	store_canon_ev(struct store_canon *, const char *eid, const char *dev, int64_t seq,
	    const char *order_id, const char *type, int64_t at_ms, int64_t rx_ms,
	    const char *status, const char *payload, size_t len);
/* out = hex SHA-256(unhex(prev_hex) || canon); prev_hex "" or NULL = genesis. */
void	store_chain_hash(const char *prev_hex, const unsigned char *canon, size_t len,
	    char out[STORE_HASH_HEX]);

/* One audit row with its source row re-read (found = 0: the source is gone). */
struct store_audit_row {
	int64_t		n;
	char		tbl[32];
	char		ref[PROTO_EID_MAX + PROTO_ID_MAX];
	char		hash[STORE_HASH_HEX];
	int		found;
	struct store_canon canon;	/* canonical bytes of the source row as stored now */
	char		dev[PROTO_DEV_MAX];	/* device_events only */
	char		type[GW_WORD_MAX];
	char		status[GW_WORD_MAX];
	const char     *payload;	/* valid during the callback only */
	size_t		payload_len;
};
/* cb returns 0 to go on, 1 to stop, -1 to stop with an error. */
typedef int (*store_audit_cb)(const struct store_audit_row *, void *arg);
int	store_audit_walk(struct store *, store_audit_cb, void *arg);
/* Rows in one of our tables ("timeline", "device_events", "audit"), -1 on error. */
int64_t	store_count(struct store *, const char *table);

/* API tokens: only the SHA-256 (hex) of the secret is stored. */
#define TOKEN_NAME_MAX		64
struct token {
	char	name[TOKEN_NAME_MAX];
	char	role[GW_WORD_MAX];	/* agent supervisor dispatcher department admin */
	char	dept[PROTO_NAME_MAX];	/* department tokens: the department's name */
	char	hash[STORE_HASH_HEX];
};
/* 1 added, 0 the name or hash exists already, -1 error. */
int	store_token_add(struct store *, const struct token *, int64_t now_ms);
/* By hash: 1 found (out filled), 0 none, -1 error. */
int	store_token_find(struct store *, const char *hash, struct token *out);

/* 1 seen, 0 not, -1 error. */
int		store_event_seen(struct store *, const char *eid);

/* Outbox. */
int		store_outbox_add(struct store *, const struct outbox_row *);
int		store_outbox_get(struct store *, const char *msg_id, struct outbox_row *out);
/* Mark acked (once). 1 newly acked, 0 already acked or unknown, -1 error. */
int		store_outbox_ack(struct store *, const char *msg_id, int64_t now_ms);
int		store_outbox_sent(struct store *, const char *msg_id, int64_t now_ms);
/* Unacked rows: of dev (or every device when dev is NULL) last sent before
 * before_ms or never (before_ms = INT64_MAX: all). */
int		store_outbox_pending(struct store *, const char *dev, int64_t before_ms,
		    store_outbox_cb, void *arg);
int		store_outbox_count_order(struct store *, const char *order_id);

int		store_position_add(struct store *, const struct position *);
/* n positions in as few statements as possible (STORE_POS_ROWS rows each). */
#define STORE_POS_ROWS	32
int		store_positions_add(struct store *, const struct position *const *p, int n);

/* Orders created in [from_ms, to_ms), by creation time (statistics). */
int		store_order_created(struct store *, int64_t from_ms, int64_t to_ms,
		    store_order_cb, void *arg);
/* Orders of type recorded in the shift starting at shift_ms. */
int		store_order_shift(struct store *, enum order_type, int64_t shift_ms,
		    store_order_cb, void *arg);
/* How many of them are not finished yet; -1 on error. */
int		store_shift_unfinished(struct store *, enum order_type, int64_t shift_ms);
/* Declined duplicates linked to original and still waiting for it. */
int		store_order_linked(struct store *, const char *original, store_order_cb,
		    void *arg);
/* Add a planned outage; o->id is set. 0 / -1. */
int		store_outage_add(struct store *, struct outage *o);
/* Outages whose window contains at_ms (at_ms 0: all), by start. 0 / -1. */
int		store_outage_list(struct store *, int64_t at_ms, store_outage_cb, void *arg);

/* ---- store.c, web board section (issue 7) ---- */

/* Real COMMITs of this connection so far (a commit hook counts every
 * transaction that wrote, explicit or a write statement's own). Cheap: the
 * live stream compares it once per loop pass. */
uint64_t	store_commits(const struct store *);

/* A browser session: the SHA-256 (hex) of its cookie's secret, the CSRF
 * token the pages send back, and the token (name, role, dept) that logged in. */
struct session {
	char		hash[STORE_HASH_HEX];
	char		csrf[STORE_HASH_HEX];
	int64_t		created_ms, expires_ms;
	struct token	tok;
};
/* 0 / -1 (a duplicate hash is an error: the secret is 256 random bits). */
int		store_session_add(struct store *, const char *hash, const char *token_name,
		    const char *csrf, int64_t created_ms, int64_t expires_ms);
/* Unexpired at now_ms, with its token: 1 found (out filled), 0 none, -1 error. */
int		store_session_find(struct store *, const char *hash, int64_t now_ms,
		    struct session *out);
/* 1 deleted, 0 none, -1 error. */
int		store_session_del(struct store *, const char *hash);
/* Delete the sessions expired at now_ms; how many, -1 on error. */
int		store_session_purge(struct store *, int64_t now_ms);

/* A timeline entry with its global id (the timeline's rowid: one writer, so
 * ids grow by one per entry in commit order; the stream's event id). */
struct tl_row {
	int64_t		id;
	char		order_id[PROTO_ID_MAX];
	struct tl_entry	e;
};
typedef int (*store_tlrow_cb)(const struct tl_row *, void *arg);
/* Entries with id > after_id, oldest first, at most limit. 0 / -1. */
int		store_tl_after(struct store *, int64_t after_id, int limit, store_tlrow_cb,
		    void *arg);
/* The newest entry's id (0: none), -1 on error. */
int64_t		store_tl_last_id(struct store *);
/* Entry seq of order_id: 1 found, 0 none, -1 error. */
int		store_tl_get(struct store *, const char *order_id, int seq, struct tl_row *out);
/* 1 when an "alert_ack" entry of order_id names seq, 0 not, -1 error. */
int		store_alert_acked(struct store *, const char *order_id, int seq);
/* "warning" and "breach" entries without an "alert_ack", newest first. 0 / -1. */
int		store_alerts(struct store *, int limit, store_tlrow_cb, void *arg);

typedef int (*store_pos_cb)(const struct position *, void *arg);
/* Positions of dev with at_ms in [from_ms, to_ms], oldest first, at most limit. */
int		store_positions_dev(struct store *, const char *dev, int64_t from_ms,
		    int64_t to_ms, int limit, store_pos_cb, void *arg);
/* A stored device event, as received. */
struct ev_row {
	char	eid[PROTO_EID_MAX];
	char	dev[PROTO_DEV_MAX];
	int64_t	seq;
	char	type[GW_WORD_MAX];
	int64_t	at_ms, rx_ms;
	char	status[GW_WORD_MAX];
	char	payload[PROTO_MAX_PAYLOAD + 1];
};
typedef int (*store_ev_cb)(const struct ev_row *, void *arg);
/* The device events about order_id, by receive time. 0 / -1. */
int		store_events_order(struct store *, const char *order_id, store_ev_cb, void *arg);
/* The outbox rows (pushes, cancels, requests) of order_id, oldest first. 0 / -1. */
int		store_outbox_order(struct store *, const char *order_id, store_outbox_cb,
		    void *arg);

/* The figures /metrics reads from the database (metrics.c caches them). */
struct store_gauges {
	int64_t	orders[ORD_NSTATES];		/* by state */
	int64_t	open_breached;			/* open orders with any breach */
	int64_t	breached[SLA_NSTAGES];		/* orders with a breach of the stage */
	int64_t	devices_known, devices_online;
	int64_t	outbox_unacked;			/* pushes not yet acked by their device */
	int64_t	journal_backlog;		/* events units held at their last hello
						 * that the gateway has not stored yet */
};
/* 0 / -1. Full scans of small tables and of orders: call every few seconds. */
int		store_gauges(struct store *, struct store_gauges *);

/* ------------------------------------------------------------------ order.c */

/* An operation's outcome, mapped 1:1 onto HTTP statuses. */
enum gw_status {
	GW_OK = 0,
	GW_E_BAD,		/* 400: bad input, field named */
	GW_E_NOTFOUND,		/* 404 */
	GW_E_CONFLICT,		/* 409 */
	GW_E_STORE,		/* 503: the store cannot write */
};

struct gw_err {
	enum gw_status	status;
	char		field[64];
	char		msg[256];
};

struct order_input {
	enum order_type	type;		/* default TYPE_REPAIR */
	int		category;
	int		has_site;	/* 0: no site (allowed for non-repair types) */
	int		arrears;	/* the outage is an arrears disconnection */
	int64_t		ring_ms, answered_ms;	/* 0 = not given */
	char		summary[PROTO_TEXT_MAX];
	char		address[PROTO_TEXT_MAX];
	char		customer[PROTO_NAME_MAX];
	char		phone[PROTO_NAME_MAX];
	double		lat, lon;
	enum maps_crs	crs;
	double		radius_m;	/* 0 = config default */
	int64_t		call_ended_ms;
};

struct review_input {
	int	dispatch;		/* 1 dispatch (repair) or forward (other types), 0 decline */
	char	crew[GW_CREW_MAX];	/* dispatch */
	char	dept[PROTO_NAME_MAX];	/* forward */
	char	reason[GW_WORD_MAX];	/* decline: duplicate, planned_outage, arrears,
					 * customer_internal */
	char	duplicate_of[PROTO_ID_MAX];
	char	note[PROTO_TEXT_MAX];
};

struct callback_input {
	char	outcome[GW_WORD_MAX];	/* restored_satisfied, restored_unsatisfied,
					 * not_restored, unreachable */
	int	rating;			/* 0 = none */
	char	note[PROTO_TEXT_MAX];
};

/* A department's result for a non-repair order: handling done. */
struct result_input {
	char	text[PROTO_TEXT_MAX];	/* the answer, required */
	char	dept[PROTO_NAME_MAX];	/* who answered; "" = the department forwarded to */
	int64_t	at_ms;			/* when it was given; 0 = now */
};

/* What became of a device event. */
enum ev_disposition {
	EV_APPLIED,		/* stored (and applied to the order when it made sense): ack */
	EV_DUPLICATE,		/* seen before: ack again, nothing changes */
	EV_REFUSED,		/* wrong device / unknown order: logged, acked, not recorded */
	EV_RETRY,		/* the store failed: do not ack, the device will resend */
};

/* The API's spelling of a site's coordinate system: "wgs84", "gcj02", "bd09". */
const char     *order_crs_name(enum maps_crs);
int		order_crs_parse(const char *s, enum maps_crs *out);	/* 0 / -1 */

/* Record a new order (state recorded, timeline "recorded"). Fills *out. */
enum gw_status	order_create(struct gw *, const struct order_input *, struct order *out,
		    struct gw_err *);
/* Review: dispatch (state + timeline + outbox row in one transaction) or decline.
 * On a dispatch *msg_id gets the outbox row to publish. */
enum gw_status	order_review(struct gw *, const char *id, const struct review_input *,
		    struct order *out, char msg_id[PROTO_ID_MAX], struct gw_err *);
enum gw_status	order_callback(struct gw *, const char *id, const struct callback_input *,
		    struct order *out, struct gw_err *);
/* A department's result for a forwarded order: completed, callback due. */
enum gw_status	order_result(struct gw *, const char *id, const struct result_input *,
		    struct order *out, struct gw_err *);
/* Archive the finished orders of type in the shift starting at shift_ms;
 * *count gets how many. 409 while the shift's archiving has not started. */
enum gw_status	order_archive(struct gw *, enum order_type, int64_t shift_ms, int *count,
		    struct gw_err *);
/* Register a planned outage (validated: radius, window). */
enum gw_status	order_outage_add(struct gw *, struct outage *, struct gw_err *);
/* The first registered outage whose circle holds (lat, lon) at at_ms: 1 found
 * (*out set), 0 none, -1 store error. */
int		order_outage_find(struct gw *, double lat, double lon, int64_t at_ms,
		    struct outage *out);
/* Apply one decoded device event that came on dev's topic at rx_ms. For a
 * DELIVERED event the outbox row is acked. payload is kept verbatim. */
enum ev_disposition order_event(struct gw *, const char *topic_dev,
		    const struct proto_event *, const void *payload, size_t len,
		    int64_t rx_ms);
/* Reconcile a device's hello: writes the gateway's open orders of dev into
 * open[] (*nopen), and makes sure each one the device did not list has an
 * unacked outbox row (a new push when none is pending). 0 / -1. */
int		order_reconcile(struct gw *, const struct proto_event *hello,
		    char open[PROTO_OPEN_MAX][PROTO_ID_MAX], int *nopen);
/* The SLA tick: for orders whose next warning or deadline passed (an index
 * range on next_due_ms, O(log n) in the open orders), append one "warning" or
 * "breach" entry per stage and move next_due_ms on. Returns the number of
 * entries written, -1 on a store error. */
int		order_sla_tick(struct gw *);
/* Recompute verdicts: write warning and breach entries for stages newly past
 * them, flag a repair at its completion limit without a delay reason, and set
 * next_stage/next_due_ms. Inside the caller's transaction. 0 / -1. */
int		order_settle(struct gw *, struct order *);
/*
 * Reassign a repair held by a device (dispatched, delivered or accepted) to
 * crew, in one transaction: a cancel outbox row (reason "reassigned") to the
 * old device, every pending push of the order superseded, the order moved to
 * the new crew and device (state dispatched, device-side times cleared, the
 * dispatch time and so every deadline kept), a push outbox row to the new
 * device and a "reassigned" timeline entry. *cancel_dev gets the old device;
 * the caller flushes both devices after the commit. 404 unknown order or crew,
 * 409 not on a device, arrived, or the same crew.
 */
enum gw_status	order_reassign(struct gw *, const char *id, const char *crew,
		    const char *note, struct order *out, char cancel_dev[PROTO_DEV_MAX],
		    struct gw_err *);
/*
 * Decline each of the n orders dups[] as a duplicate of id, in one
 * transaction, by the same rule as a review's decline (linked while id is
 * still being handled, so each caller gets their own callback). All or
 * nothing: an unknown, repeated or undeclinable entry (field "duplicates[i]")
 * or an original that is not an open repair changes nothing. *out gets id.
 */
enum gw_status	order_link(struct gw *, const char *id, char (*dups)[PROTO_ID_MAX], int n,
		    const char *note, struct order *out, struct gw_err *);

/* ------------------------------------------------------------------ stats.c */

enum stats_key { STATS_BY_TYPE, STATS_BY_CATEGORY, STATS_BY_ZONE, STATS_BY_BRANCH,
	STATS_BY_CREW, STATS_BY_SHIFT, STATS_NKEYS };

const char     *stats_key_name(enum stats_key);
int		stats_key_parse(const char *s, enum stats_key *out);	/* 0 / -1 */
/* SLA compliance of the orders recorded in [from_ms, to_ms), grouped by key,
 * verdicts as of the clock's now: *out gets {"from_ms","to_ms","by","groups":
 * [...],"total":{...}} (the caller owns it). 0, or -1 on a store error or OOM. */
int		stats_report(struct gw *, int64_t from_ms, int64_t to_ms, enum stats_key,
		    struct cJSON **out);

#define STATS_COLS	10	/* figures of a report row, as the CSV's columns after key, label */
#define STATS_CELL_MAX	128	/* bytes of one cell, NUL included; a longer key is cut */
/* One group (or the total) of a stats_report as text: k gets key (when not
 * NULL) or the group's key; f the orders, the arrival on-time %, average and
 * p90 minutes, completion, department, callback rate, callback-in-10-min and
 * answered-in-12-s %, and the breaches; "-" where nothing was judged. */
void		stats_report_row(const struct cJSON *g, const char *key, char k[STATS_CELL_MAX],
		    char f[STATS_COLS][STATS_CELL_MAX]);
/* The report of stats_report as CSV (GET /api/v1/stats?format=csv, `linecrew
 * report --csv`): a header naming `by` and the columns, a row per group, then
 * "total". 0 / -1 (out full). */
int		stats_report_csv(const struct cJSON *report, const char *by, struct maps_buf *out);

/* ------------------------------------------------------------------ http.c */

/* Start the API on conf->http_bind:http_port inside gw->loop. NULL with a log line. */
struct gw_http *http_start(struct gw *);
/* Close the API. Only after the loop has stopped: the loop keeps the prepare hook. */
void		http_stop(struct gw_http *);
/* 1 if word is one of the space-separated words of list (a route's or a
 * page's roles), else 0. */
int		http_has_word(const char *list, const char *word);
/* 1 if a Prefer header's value (NULL: none) asks for "return=minimal". */
int		http_prefers_minimal(const char *prefer);
/* The order brief (an item of GET /api/v1/orders) as viewer may see it:
 * contact data null for roles that do not see it. NULL on OOM. */
struct cJSON   *http_order_brief(struct gw *, const struct order *, const struct token *viewer);
/* Connections were resumed (MHD_resume_connection): serve them from the loop
 * at once and over the next passes. Group commit's held answers and the live
 * stream both use it. NULL: nothing. */
void		http_resumed(struct gw_http *);
/* An item of GET /api/v1/crews. NULL on OOM. */
struct cJSON   *http_crew_item(const struct crew *, const struct device *, int open_orders);

/* ------------------------------------------------------------------ mqtt.c */

/* Connect to the broker (persistent session) and subscribe. NULL on failure. */
struct gw_mqtt *mqtt_start(struct gw *);
/* Write buffered positions and acks, disconnect cleanly. Only after the loop has
 * stopped (the loop keeps the prepare hook). */
void		mqtt_stop(struct gw_mqtt *);
int		mqtt_connected(const struct gw_mqtt *);
/* Publish dev's unacked outbox rows now (NULL dev: every device). Rows that
 * cannot go out now stay for the resend timer. */
void		mqtt_flush(struct gw_mqtt *, const char *dev);

/* ------------------------------------------------------------------ board.c */

#define BOARD_ORDERS_MAX	5000	/* open orders read for clusters and the map */
#define BOARD_SVG_MAX		(4 * 1024 * 1024)	/* bytes of the map */
#define BOARD_TRACK_MAX		2000	/* points of an order's track drawn (even) */
#define BOARD_TRACK_SCAN_MAX	500000	/* positions read for one track (~6 days at 1 Hz) */

/* The language of a map's words (GET /api/v1/map.svg?lang=): the legend and
 * tooltips libmaps writes (maps_svg_labels_*) and the titles board.c writes.
 * Times stay Asia/Shanghai in both; ids, names and addresses as stored. */
enum board_lang { BOARD_LANG_EN, BOARD_LANG_ZH };

/*
 * A crew's state for the ranking, from what the store knows: OFF when its
 * device was not heard within seen_min minutes (or never); FREE when it holds
 * no order; FINISHING when every order it holds has arrived on site, free at
 * the latest arrival + repair_min (*free_at_ms); BUSY otherwise. Pure.
 */
enum maps_crew_state board_crew_state(int64_t now_ms, int64_t last_seen_ms, int seen_min,
		    int held, int held_arrived, int64_t last_arrival_ms, int repair_min,
		    int64_t *free_at_ms);
/* The ranking parameters of conf (README "Dispatch tools"). */
void		board_rank_params(const struct gw_conf *, struct maps_rank_params *);
/* The earliest deadline of a stage still pending (0: none): the order's colour. */
int64_t		board_next_deadline(const struct order *, const struct lc_clock *);
/*
 * The ranking for order id: {"order","zone","site","arrive_due_ms","due_from",
 * "current_crew","candidates":[...],"excluded":[...]} (README). 404 unknown,
 * 409 not a repair waiting for or held by a crew. *out is the caller's.
 */
enum gw_status	board_candidates(struct gw *, const char *id, struct cJSON **out,
		    struct gw_err *);
/* Outage candidates among open repairs not yet completed: clusters of two or
 * more within radius_m and window_min (README). */
enum gw_status	board_clusters(struct gw *, double radius_m, int window_min,
		    struct cJSON **out, struct gw_err *);
/* The dispatcher's map: zones, open repairs by time left, crews with the age
 * of their position, framed on the orders and crews (the zones when there are
 * none), its words in lang. out is the caller's (maps_buf_init). */
enum gw_status	board_map_svg(struct gw *, double width, double height, enum board_lang lang,
		    struct maps_buf *out, struct gw_err *);
/*
 * One order's map (GET /api/v1/map.svg?order=ID): the zones, its site with the
 * geofence circle, the other open repairs dimmed, its crew's track (the
 * positions of GET /orders/{id}/track, thinned evenly to BOARD_TRACK_MAX keeping
 * the first and last) with start and end marks (Asia/Shanghai times in their
 * titles), the arrival point (the applied arrival's fix, else the track's
 * position nearest in time), the crew (its device's last position while the
 * order is on it, else the track's end); framed on the site, track and crew.
 * dept non-NULL: an order of another department is unknown. Words in lang (the
 * errors' messages stay English, as the whole API's). 400 (field "order") a
 * malformed id, 404 unknown (named), 409 no site. out is the caller's.
 */
enum gw_status	board_map_order_svg(struct gw *, const char *order_id, const char *dept,
		    double width, double height, enum board_lang lang, struct maps_buf *out,
		    struct gw_err *);

/* ------------------------------------------------------------------ live.c */

/*
 * The live stream GET /api/v1/stream (README "Live stream"): Server-Sent
 * Events over libmicrohttpd. Each client has a cursor over the timeline's ids;
 * the database is the replay buffer. A client with nothing to send is
 * suspended (MHD_suspend_connection) and resumed when the store's commit
 * counter moves, when a crew changed, or for the heartbeat.
 */
#define LIVE_PING_MS		15000	/* ": ping" comment to an idle client */
#define LIVE_CREW_MS		1000	/* crew events: at most one per crew per this */
#define LIVE_COALESCE_MS	10	/* commits within this wake the clients once */
#define LIVE_BATCH		64	/* timeline entries read per refill */
#define LIVE_BUF_MAX		(256 * 1024)	/* bytes buffered per client */
#define LIVE_REPLAY_DEFAULT	10000	/* stream_replay_max */

struct MHD_Connection;
struct MHD_Response;
struct gw_live;

/* The stream's state in gw's loop (a prepare hook and two timers). NULL on OOM. */
struct gw_live *live_start(struct gw *);
/* Resume every suspended client and make its stream end: before MHD_stop_daemon,
 * which refuses to stop with connections suspended. */
void		live_shutdown(struct gw_live *);
/* Free the state: after MHD_stop_daemon (which frees the clients). */
void		live_free(struct gw_live *);
/* A new stream for the caller tok (role, department), resuming after timeline
 * id after (-1: no resume point: start at the newest entry). The response is
 * the caller's to queue and destroy; NULL on OOM. */
struct MHD_Response *live_response(struct gw_live *, struct MHD_Connection *,
		    const struct token *tok, int64_t after);
/* Streams open now. */
int		live_clients(const struct gw_live *);
/*
 * One SSE event into dst: "id: N\n" when id >= 0, "event: NAME\n" when event
 * is not NULL, one "data: " line per line of data, then a blank line. A
 * comment when event is NULL and id < 0 (": data\n\n"). Returns the bytes
 * written, 0 when it does not fit cap (nothing usable is written then).
 */
size_t		live_frame(char *dst, size_t cap, int64_t id, const char *event,
		    const char *data);

/* ------------------------------------------------------------------ web.c */

/*
 * The pages, their static assets (compiled in by gateway/webpack.c), browser
 * sessions, the security headers, and the small JSON helpers of the board's
 * routes (alert acknowledgement, the report as CSV).
 */
#define WEB_COOKIE		"lc_session"
#define WEB_SECRET_HEX		65	/* 64 hex digits of a 256-bit session secret + NUL */
#define WEB_CSRF_HEX		33	/* 128-bit CSRF token */
#define WEB_CSP			"default-src 'self'; script-src 'self'; style-src 'self'; " \
				"img-src 'self' data:; connect-src 'self'; frame-ancestors " \
				"'none'; base-uri 'none'; form-action 'self'"

/* One file of gateway/web/, as $(B)/gen/web_assets.c holds it. */
struct web_asset {
	const char		*name;		/* "board.html", "app.css" ... */
	const char		*type;		/* Content-Type */
	const unsigned char	*data;
	size_t			 len;
	const char		*etag;		/* "\"<16 hex>\"": FNV-1a 64 of the bytes */
};
extern const struct web_asset web_assets[];
extern const size_t web_nassets;

/* The asset called name (no directory part), NULL when none. */
const struct web_asset *web_asset_find(const char *name);
/* 1 when s is exactly 64 lower-case hex digits (a session secret's syntax). */
int		web_secret_valid(const char *s);
/* A new session for tok lasting conf->session_hours: *out filled, the secret
 * (never stored) in secret. 0, or -1 (store error, no randomness). */
int		web_session_new(struct gw *, const struct token *tok, struct session *out,
		    char secret[WEB_SECRET_HEX]);
/* The session of a cookie value: 1 (out filled), 0 none/expired/malformed, -1
 * store error. */
int		web_session_lookup(struct gw *, const char *secret, struct session *out);
/* The Set-Cookie value for secret ("" clears the cookie), Max-Age max_age_s. */
void		web_cookie(char *buf, size_t cap, const char *secret, int64_t max_age_s,
		    int secure);
/* The headers of every page and asset: CSP, nosniff, referrer, frame, cache. */
void		web_headers(struct MHD_Response *);
/* A page, an asset, a redirect or an error page for a non-API path; *status
 * gets the HTTP status. NULL on OOM. */
struct MHD_Response *web_serve(struct gw *, struct MHD_Connection *, const char *method,
		    const char *url, unsigned *status);
/*
 * Acknowledge the warning or breach seq of order_id: one "alert_ack" entry
 * {"seq","kind","stage","by","note"} in its own transaction. *out gets
 * {"order_id","seq","kind","stage"}. 404 no such alert (field "seq"), 409
 * already acknowledged, 503 store.
 */
enum gw_status	web_alert_ack(struct gw *, const char *order_id, int seq, const char *by,
		    const char *note, struct cJSON **out, struct gw_err *);

/* ------------------------------------------------------------------ metrics.c */

/* GET /metrics, Prometheus text format 0.0.4 (README "Metrics"). */
enum metrics_route {
	MR_API_READ, MR_API_WRITE, MR_STREAM, MR_PAGE, MR_STATIC, MR_OTHER, MR_N
};
#define METRICS_CACHE_MS	3000	/* the SQL gauges are re-read at most this often */

struct gw_metrics;
struct gw_metrics *metrics_new(void);	/* NULL on OOM */
void		metrics_free(struct gw_metrics *);
/* The route class of a request path and method. */
enum metrics_route metrics_route_of(const char *method, const char *url);
/* An HTTP request of class r took seconds (NULL m: nothing). */
void		metrics_http(struct gw_metrics *, enum metrics_route, double seconds);
/* A device event received at rx_ms was handled (ingest time: now - rx_ms). */
void		metrics_event(struct gw *, int64_t rx_ms);
/* An order's push was acked by its device's first "delivered", ms after the
 * push was written (the dispatch -> ack histogram). */
void		metrics_push_acked(struct gw *, int64_t ms);
/* The whole exposition into out. 0, -1 when out is full. */
int		metrics_render(struct gw *, struct maps_buf *out);
/* A label value escaped as the text format wants (\\, \", \n). 0 / -1 full. */
int		metrics_label(struct maps_buf *, const char *v);

/* ------------------------------------------------------------------ admin.c */

/* `linecrew provision|token|audit ...`: local commands on the PKI directory and
 * the database. argv[0] is the command word. Returns the exit status, or -1
 * when argv is not one of these commands (the caller prints its usage). */
int	admin_main(int argc, char **argv);
/* 1 if role is one of agent, supervisor, dispatcher, department, admin. */
int	admin_role_valid(const char *role);
/* out = hex SHA-256 of the token secret, as stored. */
void	admin_token_hash(const char *secret, char out[STORE_HASH_HEX]);

/* ------------------------------------------------------------------ provision.c */

/*
 * the fleet's identities and the broker configuration made from
 * them (`linecrew provision ...`). The PKI directory is the device registry:
 *
 *   PKI/ca.key ca.crt              the fleet CA (key 0600)
 *   PKI/gateway.key gateway.crt    the gateway's identity: TLS client certificate
 *                                  (CN=linecrew-gateway), ECDSA/ECDH key
 *   PKI/gateway.pub                its public key, shipped to every device
 *   PKI/broker.key broker.crt      the broker's TLS server certificate (CN=localhost)
 *   PKI/serial                     last certificate serial issued
 *   PKI/revoked                    one revoked device id per line
 *   PKI/devices/<dev>/             a device's bundle, copied to the unit as is:
 *       device.key device.crt ca.crt gateway.pub device.conf
 *
 * The broker's mosquitto.conf and ACL are generated from it: a TLS listener with
 * require_certificate, the certificate's CN as the user name and the user name
 * as the client id, and per-identity ACL entries (revoked devices get none).
 * Every file is written new-file + fsync + rename; keys 0600.
 */

#define PROVISION_GATEWAY_CN	"linecrew-gateway"
#define PROVISION_BROKER_CN	"localhost"
#define PROVISION_CA_DAYS	3650
#define PROVISION_CERT_DAYS	825

/* Broker settings written into mosquitto.conf. */
struct provision_broker {
	int		port;		/* TLS listener on 127.0.0.1 (or bind) */
	const char     *bind;		/* NULL = 127.0.0.1 */
	int		dev_plain_port;	/* 0 = none; else a loopback-only plain listener
					 * for development, stated as such in the file */
	const char     *persist_dir;	/* persistence_location */
	int		max_queued;	/* per-client queue cap (messages) */
};

/* Create the CA, the gateway's and the broker's identities. Refuses an existing CA. */
int	provision_init(const char *pki, int64_t now_ms, char *err, size_t errcap);
/* Issue (or re-issue) a device's identity and bundle, its certificate valid
 * from now_ms for days (0 = PROVISION_CERT_DAYS). A revoked id stays revoked. */
int	provision_device(const char *pki, const char *dev, const char *mqtt_host,
	    int mqtt_port, int64_t now_ms, int days, char *err, size_t errcap);
/* Revoke a device: listed in PKI/revoked; the next ACL omits it. */
int	provision_revoke(const char *pki, const char *dev, char *err, size_t errcap);
/* 1 revoked, 0 not, -1 error. */
int	provision_is_revoked(const char *pki, const char *dev);
/* Write OUT/mosquitto.conf and OUT/acl for the current registry. */
int	provision_broker(const char *pki, const char *out_dir, const struct provision_broker *,
	    char *err, size_t errcap);
/* Call cb for every provisioned device id (revoked ones too), in name order. */
int	provision_devices(const char *pki, void (*cb)(void *, const char *dev, int revoked),
	    void *arg, char *err, size_t errcap);

#endif
