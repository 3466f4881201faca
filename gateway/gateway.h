/*
 * gateway.h: the private header of linecrew-gateway, one section per module
 * (after OpenBSD's ntpd.h). Nothing outside gateway/ includes it except the
 * gateway's unit tests.
 *
 *   main.c   config, start-up, the loop, signals, shutdown
 *   store.c  SQLite: schema and migrations, prepared statements, row I/O
 *   sla.c    pure SLA engine: limits, stage verdicts, next deadline, order states
 *   order.c  the order operations (create, review, device events, callback, SLA
 *            tick), each one transaction over the store
 *   http.c   the HTTP JSON API on libmicrohttpd, driven from our loop
 *   mqtt.c   the device link: outbox push, event ingest, acks, reconcile
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

struct sla_limits {
	int	review_s;		/* supervisor review, from creation */
	int	arrive_urban_min;	/* arrival, from dispatch, per zone */
	int	arrive_rural_min;
	int	arrive_remote_min;
	int	complete_h;		/* repair finished, from dispatch */
	int	complete_meter_h;	/* the same for category 6, meter fault */
	int	callback_min;		/* callback, from the gateway receiving the completion */
};

struct gw_conf {
	char	db[GW_PATH_MAX];
	char	http_bind[64];
	int	http_port;
	char	mqtt_host[256];
	int	mqtt_port;
	char	mqtt_client_id[64];
	char	zones[GW_PATH_MAX];	/* "" = no zone file: every site gets zone_default */
	char	zone_default[16];
	double	radius_m;
	int	resend_s;
	int	sla_tick_ms;
	struct sla_limits limits;
};

struct store;
struct gw_http;
struct gw_mqtt;

/* The daemon's context, owned by main.c; modules borrow it. */
struct gw {
	const struct gw_conf   *conf;
	const struct lc_clock  *clock;		/* wall time for everything stored */
	struct loop	       *loop;		/* NULL in unit tests */
	struct store	       *store;
	struct maps_zones      *zones;		/* NULL: no zone file */
	enum maps_zone		zone_default;
	struct gw_http	       *http;
	struct gw_mqtt	       *mqtt;		/* NULL in unit tests */
};

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
	ORD_NSTATES
};

/* What can happen to an order: the columns of the transition table. */
enum order_action {
	ACT_DISPATCH,		/* supervisor review: dispatch to a crew */
	ACT_DECLINE,		/* supervisor review: decline */
	ACT_DELIVERED,		/* device: order stored */
	ACT_ACCEPT,		/* device: crew on the way */
	ACT_ARRIVE,		/* device: on site */
	ACT_COMPLETE,		/* device: repair done */
	ACT_CALLBACK_CLOSE,	/* agent: callback, power restored */
	ACT_CALLBACK_REOPEN,	/* agent: callback, power not restored */
	ACT_NACTIONS
};

enum sla_stage { SLA_REVIEW, SLA_ARRIVAL, SLA_COMPLETION, SLA_CALLBACK, SLA_NSTAGES };
enum sla_verdict { SLA_PENDING, SLA_MET, SLA_BREACHED, SLA_NA };

/* The limits in force when an order was created, resolved for its zone and
 * category and copied onto the order, so a later config change never rewrites
 * an old verdict. */
struct sla_profile {
	int	review_s;
	int	arrive_min;
	int	complete_min;
	int	callback_min;
};

/* One repair order: every column of the orders table. */
struct order {
	char		id[PROTO_ID_MAX];
	int		category;		/* 1..7 */
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
	int64_t		call_ended_ms;
	int64_t		created_ms;
	int64_t		reviewed_ms;		/* the first review */
	int64_t		dispatched_ms;
	int64_t		delivered_ms;		/* device clock */
	int64_t		accepted_ms;		/* device clock */
	int64_t		arrived_ms;		/* device clock */
	char		arrive_method[GW_WORD_MAX];	/* "gps" / "manual" / "" */
	int64_t		completed_ms;		/* device clock */
	int64_t		completed_rx_ms;	/* gateway clock: when we learned it */
	int64_t		callback_due_ms;
	int64_t		callback_ms;		/* a conclusive callback */
	char		callback_outcome[GW_WORD_MAX];
	int		rating;			/* 1..5, 0 = none */
	char		callback_note[PROTO_TEXT_MAX];
	int		callback_attempts;
	char		decline_reason[GW_WORD_MAX];
	char		duplicate_of[PROTO_ID_MAX];
	char		review_note[PROTO_TEXT_MAX];
	char		delay_reason[GW_WORD_MAX];	/* "" = no delay reported */
	char		delay_text[PROTO_TEXT_MAX];
	int64_t		delay_eta_ms;
	int64_t		delay_at_ms;
	struct sla_profile lim;
	unsigned	breached;		/* bit per sla_stage: breach entry written */
	enum sla_stage	next_stage;
	int64_t		next_due_ms;		/* 0 = nothing pending */
};

struct sla_result {
	enum sla_stage	 stage;
	int64_t		 limit_ms;
	int64_t		 start_ms;	/* 0 = not started */
	int64_t		 due_ms;	/* 0 = not started */
	int64_t		 done_ms;	/* 0 = not done */
	enum sla_verdict verdict;
};

const char *sla_stage_name(enum sla_stage);
const char *sla_verdict_name(enum sla_verdict);
const char *order_state_name(enum order_state);
int	    order_state_parse(const char *s, enum order_state *out);	/* 0 / -1 */
/* "线路故障停电" for 1..7, "" otherwise. */
const char *sla_category_name(int category);

/* Resolve the limits for an order of category in zone. */
void	sla_profile_for(const struct sla_limits *, int category, enum maps_zone zone,
	    struct sla_profile *out);
/* Verdicts of every stage of o as of the clock's wall time; out[i].stage == i. */
void	sla_eval(const struct order *o, const struct lc_clock *clk,
	    struct sla_result out[SLA_NSTAGES]);
/* The earliest due time among pending stages that have started, and its stage;
 * 0 when none. */
int64_t	sla_next_due(const struct sla_result r[SLA_NSTAGES], enum sla_stage *stage);
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

#define STORE_SCHEMA_VERSION	1

/* Open (creating and migrating) the database at path. NULL with a log line on
 * failure. The store owns the connection and its prepared statements. */
struct store   *store_open(const char *path);
void		store_close(struct store *);
int		store_version(struct store *);

/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK. 0 / -1. */
int		store_begin(struct store *);
int		store_commit(struct store *);
void		store_rollback(struct store *);

/* Orders. get: 1 found, 0 not found, -1 error. */
int		store_order_get(struct store *, const char *id, struct order *out);
int		store_order_insert(struct store *, const struct order *);
int		store_order_update(struct store *, const struct order *);
/* Next id "LC-YYYYMMDD-NNNN" for the Asia/Shanghai date of now_ms. 0 / -1. */
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
int		store_device_position(struct store *, const char *id, double lat, double lon,
		    int64_t at_ms, int64_t seen_ms);

/* Device events, for idempotent ingest. insert: 1 inserted, 0 already there, -1. */
int		store_event_insert(struct store *, const char *eid, const char *dev,
		    uint64_t seq, const char *order_id, const char *type, int64_t at_ms,
		    int64_t rx_ms, const char *status, const char *payload, size_t len);
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
	int		category;
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
	int	dispatch;		/* 1 dispatch, 0 decline */
	char	crew[GW_CREW_MAX];
	char	reason[GW_WORD_MAX];	/* decline: duplicate, planned_outage, customer_internal */
	char	duplicate_of[PROTO_ID_MAX];
	char	note[PROTO_TEXT_MAX];
};

struct callback_input {
	char	outcome[GW_WORD_MAX];	/* restored_satisfied, restored_unsatisfied,
					 * not_restored, unreachable */
	int	rating;			/* 0 = none */
	char	note[PROTO_TEXT_MAX];
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
/* The SLA tick: for open orders whose next deadline passed, append one
 * "breach" entry per newly breached stage and move next_due_ms on. Returns
 * the number of breach entries written, -1 on a store error. */
int		order_sla_tick(struct gw *);
/* Recompute verdicts: write breach entries for newly breached stages and set
 * next_stage/next_due_ms. Inside the caller's transaction. 0 / -1. */
int		order_settle(struct gw *, struct order *);

/* ------------------------------------------------------------------ http.c */

/* Start the API on conf->http_bind:http_port inside gw->loop. NULL with a log line. */
struct gw_http *http_start(struct gw *);
/* Close the API. Only after the loop has stopped: the loop keeps the prepare hook. */
void		http_stop(struct gw_http *);

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

#endif
