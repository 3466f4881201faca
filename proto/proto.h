/*
 * proto.h: the wire protocol between the gateway and crews' devices (libproto.a).
 *
 * Pure library: no I/O, no logging, no mutable statics. Every message is a JSON
 * object with "v" (protocol version, PROTO_VERSION) and "type". Decoders are
 * strict: the payload must be at most PROTO_MAX_PAYLOAD bytes, valid JSON, an
 * object, the right version, every required field present with the right type
 * and in range, strings within their caps. A failure fills struct proto_error
 * with the code, the dotted field path ("order.site.lat", "track[3].lat") and a
 * sentence a person can act on. Unknown extra fields are ignored (forward
 * compatibility within a major version).
 *
 * Structures are fixed-size and caller-allocated; encoders write into the
 * caller's buffer. See proto/PROTOCOL.md for every topic and message with
 * examples.
 *
 * Topics (dev = device id, [A-Za-z0-9_-]{1,32}):
 *   linecrew/v1/dev/<dev>/order     gateway -> device  QoS 1  order, cancel, ack, sync
 *   linecrew/v1/dev/<dev>/event     device -> gateway  QoS 1  every crew/device event
 *   linecrew/v1/dev/<dev>/pos       device -> gateway  QoS 0  position reports
 *   linecrew/v1/dev/<dev>/presence  device -> gateway  QoS 1 retained, also the MQTT will
 */
#ifndef LC_PROTO_H
#define LC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION		1
#define PROTO_MAX_PAYLOAD	16384	/* bytes; larger payloads are refused unparsed */
#define PROTO_ID_MAX		40	/* order ids, message ids, incl. NUL */
#define PROTO_DEV_MAX		33	/* device ids: 1..32 chars + NUL */
#define PROTO_EID_MAX		64	/* event ids "<dev>:<seq>" + NUL */
#define PROTO_TEXT_MAX		512	/* free text (notes, addresses), bytes incl. NUL */
#define PROTO_NAME_MAX		96	/* names, zone names, phone numbers */
#define PROTO_TRACK_MAX		16	/* fixes of arrival evidence */
#define PROTO_ACK_MAX		64	/* event ids in one ack */
#define PROTO_OPEN_MAX		64	/* open orders in hello / sync */
#define PROTO_TOPIC_MAX		96

enum proto_err {
	PROTO_OK = 0,
	PROTO_E_SIZE,		/* payload larger than PROTO_MAX_PAYLOAD or empty */
	PROTO_E_JSON,		/* not valid JSON, or not an object */
	PROTO_E_VERSION,	/* "v" missing or not PROTO_VERSION */
	PROTO_E_TYPE,		/* "type" unknown for this topic */
	PROTO_E_MISSING,	/* a required field is absent */
	PROTO_E_WRONGTYPE,	/* a field has the wrong JSON type */
	PROTO_E_RANGE,		/* a number out of range, a string too long or badly formed */
	PROTO_E_NOMEM,		/* allocation failed */
	PROTO_E_BUFFER,		/* the output buffer is too small */
	PROTO_E_TOPIC,		/* a topic that is not ours */
};

struct proto_error {
	enum proto_err	code;
	char		field[64];	/* dotted path of the offending field, "" if none */
	char		msg[192];	/* "order.site.lat: must be a number in [-90, 90]" */
};

const char *proto_strerror(enum proto_err);

/* ---- topics ---- */

enum proto_topic {
	PROTO_T_ORDER,		/* downlink: order, cancel, ack, sync */
	PROTO_T_EVENT,		/* uplink: events */
	PROTO_T_POS,		/* uplink: positions */
	PROTO_T_PRESENCE,	/* uplink: presence (will) */
};

/* 1 if s is a valid device id ([A-Za-z0-9_-]{1,32}), else 0. */
int		proto_valid_dev(const char *s);
/* 1 if s is a valid order or message id ([A-Za-z0-9_.:-]{1,39}), else 0. */
int		proto_valid_id(const char *s);
/* Write the topic for dev and kind. PROTO_OK or PROTO_E_BUFFER / PROTO_E_RANGE. */
enum proto_err	proto_topic(char *buf, size_t cap, const char *dev, enum proto_topic kind);
/* Parse one of our topics. "+" for dev in a subscription pattern is not parsed. */
enum proto_err	proto_topic_parse(const char *topic, char dev[PROTO_DEV_MAX],
		    enum proto_topic *kind);
/* Subscription pattern for every device's topics of a kind ("linecrew/v1/dev/+/event"). */
const char     *proto_topic_pattern(enum proto_topic kind);

/* ---- shared pieces ---- */

/* A GNSS fix as gpsd reported it, WGS-84. Unknown values are NaN (never 0). */
struct proto_fix {
	int64_t	t_ms;		/* GPS time of the fix, UTC ms; 0 = unknown */
	double	lat, lon;	/* degrees, required */
	int	mode;		/* 2 = 2D, 3 = 3D */
	double	eph_m;		/* estimated horizontal error, metres (95%); NaN unknown */
	double	speed_mps;	/* NaN unknown */
	double	track_deg;	/* course over ground; NaN unknown */
	double	alt_m;		/* NaN unknown */
};

enum proto_crs { PROTO_CRS_WGS84, PROTO_CRS_GCJ02, PROTO_CRS_BD09 };
const char     *proto_crs_name(enum proto_crs);		/* "wgs84" ... */
int		proto_crs_parse(const char *s, enum proto_crs *out); /* 0 / -1 */

enum proto_zone { PROTO_ZONE_URBAN, PROTO_ZONE_RURAL, PROTO_ZONE_REMOTE };
const char     *proto_zone_name(enum proto_zone);	/* "urban" ... */
int		proto_zone_parse(const char *s, enum proto_zone *out);

/* ---- downlink: gateway -> device, topic .../order ---- */

/* A dispatched repair order as the crew's unit needs it. */
struct proto_order {
	char		id[PROTO_ID_MAX];
	int		category;		/* 1..7: the fault-repair categories of 第十八条 */
	char		category_name[PROTO_NAME_MAX];	/* "线路故障停电" */
	char		summary[PROTO_TEXT_MAX];	/* what the customer said */
	char		address[PROTO_TEXT_MAX];
	char		customer[PROTO_NAME_MAX];
	char		phone[PROTO_NAME_MAX];
	double		site_lat, site_lon;	/* WGS-84 always on the wire */
	double		radius_m;		/* geofence radius, > 0 */
	enum proto_zone	zone;
	char		zone_name[PROTO_NAME_MAX];
	int64_t		created_ms;		/* order recorded (agent) */
	int64_t		dispatched_ms;		/* reviewed and dispatched (supervisor) */
	int64_t		arrive_by_ms;		/* arrival deadline */
	int64_t		complete_by_ms;		/* completion deadline */
};

enum proto_down_type {
	PROTO_DOWN_ORDER,	/* push an order (msg_id identifies this push) */
	PROTO_DOWN_CANCEL,	/* withdraw an order (reassigned, cancelled) */
	PROTO_DOWN_ACK,		/* application ack of device events by event id */
	PROTO_DOWN_SYNC,	/* reconcile: the complete set of the device's open orders */
	PROTO_DOWN_DELAY_REQUEST,	/* the completion limit passed with no delay reason:
				 * ask the crew for one (msg_id, order_id, reason) */
};
const char *proto_down_type_name(enum proto_down_type);

struct proto_down {
	enum proto_down_type type;
	char		msg_id[PROTO_ID_MAX];	/* order, cancel: unique per push; the
						 * device echoes it in its "delivered" event */
	int64_t		at_ms;			/* gateway time of sending */
	int64_t		n;			/* 0 = absent; else the per-device downlink
						 * counter, strictly increasing (authenticated
						 * downlink: the device refuses n <= last seen) */
	int64_t		tx_ms;			/* with n: gateway time of this transmission
						 * (the device refuses it outside its window) */
	struct proto_order order;		/* ORDER */
	char		order_id[PROTO_ID_MAX];	/* CANCEL, DELAY_REQUEST */
	char		reason[PROTO_NAME_MAX];	/* CANCEL: "reassigned", "cancelled" ...;
						 * DELAY_REQUEST: "completion_limit" */
	int		neids;			/* ACK */
	char		eids[PROTO_ACK_MAX][PROTO_EID_MAX];
	int		nopen;			/* SYNC */
	char		open[PROTO_OPEN_MAX][PROTO_ID_MAX];
};

/* ---- uplink: device -> gateway, topic .../event ---- */

enum proto_ev_type {
	PROTO_EV_HELLO,		/* on every (re)connect: the orders the device holds open */
	PROTO_EV_DELIVERED,	/* the order (msg_id) is stored on the device: delivery ack */
	PROTO_EV_ACCEPT,	/* the crew accepted the order and is on the way */
	PROTO_EV_ARRIVE,	/* arrived on site: by GPS (with evidence) or declared by hand */
	PROTO_EV_PROGRESS,	/* free-text progress report */
	PROTO_EV_DELAY,		/* coded reason why the repair will be late, new ETA */
	PROTO_EV_COMPLETE,	/* repair done, power restored */
};
const char *proto_ev_type_name(enum proto_ev_type);	/* "hello", "delivered", ... */

enum proto_arrive_method { PROTO_ARRIVE_GPS, PROTO_ARRIVE_MANUAL };

enum proto_delay_reason {
	PROTO_DELAY_WEATHER,
	PROTO_DELAY_ROAD,		/* road access */
	PROTO_DELAY_MATERIALS,
	PROTO_DELAY_UPSTREAM,		/* upstream outage */
	PROTO_DELAY_CUSTOMER_ABSENT,
	PROTO_DELAY_SAFETY,		/* safety hold */
	PROTO_DELAY_OTHER,		/* text required */
};
#define PROTO_DELAY_NREASONS 7
const char *proto_delay_name(enum proto_delay_reason);	/* "weather", "road", ... */
int	    proto_delay_parse(const char *s, enum proto_delay_reason *out);

/*
 * Every event carries: the device id, its per-device sequence number (gap-free,
 * from 1), the event id "<dev>:<seq>" that makes re-sending harmless, the time it
 * happened on the device (UTC ms, device clock) and the GPS fix it was based on
 * (has_fix = 0 when the unit had none).
 */
struct proto_event {
	enum proto_ev_type type;
	char		dev[PROTO_DEV_MAX];
	uint64_t	seq;
	char		eid[PROTO_EID_MAX];
	char		order_id[PROTO_ID_MAX];	/* all but HELLO */
	int64_t		at_ms;
	int		has_fix;
	struct proto_fix fix;
	/* DELIVERED */
	char		msg_id[PROTO_ID_MAX];
	/* ARRIVE */
	enum proto_arrive_method method;
	double		dist_m;			/* distance to site at decision; NaN for manual w/o fix */
	int64_t		dwell_ms;		/* time spent inside before deciding */
	int		ntrack;
	struct proto_fix track[PROTO_TRACK_MAX];	/* the fixes that decided it */
	/* PROGRESS, COMPLETE, DELAY (text), ARRIVE (manual: why) */
	char		note[PROTO_TEXT_MAX];
	/* DELAY */
	enum proto_delay_reason reason;
	int64_t		eta_ms;			/* new estimated finish, UTC ms */
	/* HELLO */
	int		nopen;
	char		open[PROTO_OPEN_MAX][PROTO_ID_MAX];
};

/* ---- uplink: positions and presence ---- */

struct proto_pos {
	char		dev[PROTO_DEV_MAX];
	int64_t		at_ms;			/* device clock */
	char		order_id[PROTO_ID_MAX];	/* the order the crew is on, "" if none */
	struct proto_fix fix;
};

struct proto_presence {
	char		dev[PROTO_DEV_MAX];
	int		online;
	int64_t		at_ms;			/* 0 in the will (time unknown then) */
};

/*
 * Encoders: write compact JSON into buf (cap bytes, NUL-terminated), set *len to
 * the length without the NUL. Return PROTO_OK, PROTO_E_BUFFER, PROTO_E_NOMEM or
 * PROTO_E_RANGE (a struct that would not decode, e.g. an invalid id).
 * Decoders: parse payload (len bytes, not necessarily NUL-terminated) into out.
 * Return PROTO_OK, or a code with *err filled. out is zeroed first, never left
 * half-valid on success.
 */
enum proto_err proto_encode_down(const struct proto_down *, char *buf, size_t cap, size_t *len);
enum proto_err proto_decode_down(const void *payload, size_t len, struct proto_down *out,
		    struct proto_error *err);
enum proto_err proto_encode_event(const struct proto_event *, char *buf, size_t cap, size_t *len);
enum proto_err proto_decode_event(const void *payload, size_t len, struct proto_event *out,
		    struct proto_error *err);
enum proto_err proto_encode_pos(const struct proto_pos *, char *buf, size_t cap, size_t *len);
enum proto_err proto_decode_pos(const void *payload, size_t len, struct proto_pos *out,
		    struct proto_error *err);
/*
 * proto_decode_pos reads the exact text proto_encode_pos writes (with or
 * without the tag of proto_auth_join) without cJSON: proto_decode_pos_fast
 * answers 1 with out filled exactly as the general decoder would, or 0 for
 * any other form or any value the general decoder refuses, which then goes
 * through proto_decode_pos_json (cJSON, any member order, white space,
 * exponents, unknown members; errors name their field). Both are exposed for
 * the tests that hold them to the same answer.
 */
int		proto_decode_pos_fast(const void *payload, size_t len, struct proto_pos *out);
enum proto_err proto_decode_pos_json(const void *payload, size_t len, struct proto_pos *out,
		    struct proto_error *err);
enum proto_err proto_encode_presence(const struct proto_presence *, char *buf, size_t cap,
		    size_t *len);
enum proto_err proto_decode_presence(const void *payload, size_t len,
		    struct proto_presence *out, struct proto_error *err);

/* Fill e->eid from e->dev and e->seq. */
void	proto_event_make_eid(struct proto_event *e);

/*
 * Strict field readers over cJSON objects, shared with the gateway's HTTP API so
 * both report bad input the same way. path is the parent's dotted path ("" for
 * the root). Each returns PROTO_OK, or fills err and returns the code.
 * required = 0: an absent field (or JSON null) leaves *out unchanged and returns PROTO_OK.
 * required = 1: absent or null is PROTO_E_MISSING.
 * pj_str: a JSON string of valid UTF-8, no control characters but tab and
 *   newline, shorter than cap bytes (else PROTO_E_RANGE).
 * pj_int: a JSON number that is integral (1.5 is PROTO_E_WRONGTYPE), within
 *   [min, max] and within +-2^53, where doubles are exact (else PROTO_E_RANGE).
 * pj_num: a finite JSON number within [min, max].
 */
#define PJ_INT_LIMIT	9007199254740992LL	/* 2^53: the largest exact JSON integer */
struct cJSON;
enum proto_err pj_str(const struct cJSON *obj, const char *path, const char *key,
		    int required, char *out, size_t cap, struct proto_error *err);
enum proto_err pj_int(const struct cJSON *obj, const char *path, const char *key,
		    int required, int64_t min, int64_t max, int64_t *out,
		    struct proto_error *err);
enum proto_err pj_num(const struct cJSON *obj, const char *path, const char *key,
		    int required, double min, double max, double *out,
		    struct proto_error *err);
enum proto_err pj_bool(const struct cJSON *obj, const char *path, const char *key,
		    int required, int *out, struct proto_error *err);
/*
 * Parse len bytes (not necessarily NUL-terminated) as one strict JSON object of
 * at most max bytes: PROTO_E_SIZE if empty or over max (nothing parsed),
 * PROTO_E_JSON for bad syntax, raw control characters in strings, malformed
 * numbers, nesting deeper than PJ_DEPTH_MAX, duplicate keys, trailing data or a
 * root that is not an object. An escaped NUL ("\u0000") is kept visible as a
 * control character so pj_str rejects it naming the field. On PROTO_OK *out
 * owns the tree and the caller frees it with cJSON_Delete; on failure *out is NULL.
 */
#define PJ_DEPTH_MAX	32
enum proto_err pj_parse(const void *buf, size_t len, size_t max, struct cJSON **out,
		    struct proto_error *err);
/* pj_str's checks on a value that is not an object member (an array element);
 * path names it in full ("open[2]"). NULL is PROTO_E_MISSING. */
enum proto_err pj_strval(const struct cJSON *item, const char *path, char *out, size_t cap,
		    struct proto_error *err);
/* *out = the object member key (absent/null and not required: *out = NULL, PROTO_OK). */
enum proto_err pj_obj(const struct cJSON *obj, const char *path, const char *key,
		    int required, const struct cJSON **out, struct proto_error *err);
/*
 * Writing (jsonout.c). pj_print: the compact JSON text of item, allocated with
 * cJSON_malloc (free with cJSON_free), NULL when out of memory: cJSON's
 * printer with exact, cheap numbers (integral values as integers, others with
 * the fewest of 15..17 digits that read back exactly; NaN and infinities as
 * null). pj_fmt_num: that number text of a finite v into buf (PJ_NUM_MAX
 * bytes), NUL-terminated; returns its length.
 */
#define PJ_NUM_MAX		32
#define PJ_PRINT_DEPTH_MAX	256
char	*pj_print(const struct cJSON *item);
size_t	 pj_fmt_num(char *buf, double v);
/*
 * pj_read_dec (json.c): the JSON number at s (len bytes) as strtod reads it,
 * bit for bit, when it is written without exponent with at most 19
 * significant digits and 22 decimals (what pj_fmt_num writes for every value
 * of magnitude from 1e-4 to 2^53); returns the bytes it took, or 0 for any other
 * text (then use a general parser). No locale, no allocation (codec.c's
 * position fast path).
 */
size_t	 pj_read_dec(const char *s, size_t len, double *out);

void	pj_seterr(struct proto_error *err, enum proto_err code, const char *path,
	    const char *key, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- end-to-end authentication envelope ----
 *
 * An authenticated message is an ordinary message whose LAST member is the tag:
 *     {"v":1,"type":"arrive",...,"sig":"3045...."}     ECDSA P-256 / SHA-256, DER, hex
 *     {"v":1,"type":"ack",...,"mac":"9f1c...."}        HMAC-SHA-256, 32 bytes, hex
 * The tag covers the "body": the exact bytes of the message without the tag
 * member, i.e. payload[0 .. start of ',"sig":' or ',"mac":'] followed by '}'.
 * No canonical JSON is needed: the signer signs the bytes it sends, the
 * receiver rebuilds those bytes by cutting the tag off. Which messages carry
 * which tag, and how replays and staleness are judged, is the daemons' policy
 * (see PROTOCOL.md); libproto only frames. The tag member is ignored by the
 * decoders, so a message decodes the same with or without it.
 */
#define PROTO_MAC_LEN		32
#define PROTO_SIG_MAX		72	/* DER ECDSA P-256 */

enum proto_auth { PROTO_AUTH_NONE, PROTO_AUTH_MAC, PROTO_AUTH_SIG };
const char *proto_auth_name(enum proto_auth);	/* "none", "mac", "sig" */

/* Append the tag to body (a compact JSON object of bodylen bytes, ending in '}')
 * into out (cap bytes, NUL-terminated). PROTO_E_BUFFER if the result would not
 * fit in cap or exceed PROTO_MAX_PAYLOAD; PROTO_E_RANGE for a bad tag length. */
enum proto_err proto_auth_join(const char *body, size_t bodylen, enum proto_auth alg,
		    const unsigned char *tag, size_t taglen, char *out, size_t cap,
		    size_t *outlen);
/* Split payload into the body (rebuilt into body, bodycap >= len) and the tag.
 * A payload without a tag member gives PROTO_AUTH_NONE and body = payload.
 * PROTO_E_RANGE naming "sig"/"mac" when the tag is malformed (not hex, wrong
 * length, not the last member). */
enum proto_err proto_auth_split(const void *payload, size_t len, char *body,
		    size_t bodycap, size_t *bodylen, enum proto_auth *alg,
		    unsigned char tag[PROTO_SIG_MAX], size_t *taglen,
		    struct proto_error *err);

#endif
