/*
 * codec.c: JSON encoding and strict decoding of every Linecrew message: the
 * downlink (order, cancel, ack, sync), device events (hello, delivered,
 * accept, arrive, progress, delay, complete), position reports and presence.
 *
 * Decoding goes pj_parse (size cap, strict syntax) -> "v" -> "type" -> the
 * fields of that type, stopping at the first failure, which names its field.
 * Encoding builds a cJSON tree and prints it into the caller's buffer; then it
 * decodes its own output and answers PROTO_E_RANGE if that fails, so a daemon
 * can never send what the other side would refuse, and the rules live in one
 * place (the decoders) instead of two that could drift apart.
 *
 * What this file does not do: check that an event's "dev" matches the topic
 * it came on, that an order id is known, or that a sequence number is the next
 * one. Those need state and belong to the daemons. No I/O, no logging, no
 * static state.
 */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "proto.h"

/* Numeric ranges of the wire format (inclusive unless noted). */
#define FIX_EPH_MAX_M		1e6	/* horizontal error estimate */
#define FIX_SPEED_MAX_MPS	1000.0	/* exclusive: nothing on the ground is faster */
#define FIX_TRACK_MAX_DEG	360.0
#define FIX_ALT_MIN_M		(-12000.0)
#define FIX_ALT_MAX_M		1e6
#define ORDER_RADIUS_MIN_M	1.0
#define ORDER_RADIUS_MAX_M	10000.0
#define ORDER_CATEGORY_MIN	1
#define ORDER_CATEGORY_MAX	7
#define ARRIVE_DIST_MAX_M	2.1e7	/* more than half the Earth's circumference */
#define TYPE_NAME_MAX		32	/* bytes incl. NUL of a "type" or enum value */

/* String flags for dec_str. */
#define S_ONELINE	0x1	/* names: no tab or newline either */
#define S_NONEMPTY	0x2	/* "" is PROTO_E_RANGE */

/* ---- decoding ---- */

/* Decoding state: the first failure sticks and later steps do nothing. */
struct dec {
	enum proto_err		 rc;
	struct proto_error	*err;
};

static int
dec_has(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return it != NULL && !cJSON_IsNull(it);
}

static void
dec_fail(struct dec *d, enum proto_err code, const char *path, const char *key,
    const char *what)
{
	if (d->rc != PROTO_OK)
		return;
	d->rc = code;
	pj_seterr(d->err, code, path, key, "%s", what);
}

static void
dec_str(struct dec *d, const cJSON *obj, const char *path, const char *key, int req,
    char *out, size_t cap, int flags)
{
	if (d->rc != PROTO_OK)
		return;
	if ((d->rc = pj_str(obj, path, key, req, out, cap, d->err)) != PROTO_OK)
		return;
	if ((flags & S_ONELINE) && strpbrk(out, "\t\n") != NULL)
		dec_fail(d, PROTO_E_RANGE, path, key, "must be one line (no tab or newline)");
	else if ((flags & S_NONEMPTY) && (req || dec_has(obj, key)) && out[0] == '\0')
		dec_fail(d, PROTO_E_RANGE, path, key, "must not be empty");
}

static void
dec_id(struct dec *d, const cJSON *obj, const char *path, const char *key, int req,
    char out[PROTO_ID_MAX])
{
	dec_str(d, obj, path, key, req, out, PROTO_ID_MAX, 0);
	if (d->rc == PROTO_OK && (req || dec_has(obj, key)) && !proto_valid_id(out))
		dec_fail(d, PROTO_E_RANGE, path, key,
		    "must be 1..39 characters from [A-Za-z0-9_.:-]");
}

static void
dec_dev(struct dec *d, const cJSON *obj, const char *path, const char *key,
    char out[PROTO_DEV_MAX])
{
	dec_str(d, obj, path, key, 1, out, PROTO_DEV_MAX, 0);
	if (d->rc == PROTO_OK && !proto_valid_dev(out))
		dec_fail(d, PROTO_E_RANGE, path, key,
		    "must be 1..32 characters from [A-Za-z0-9_-]");
}

static void
dec_int(struct dec *d, const cJSON *obj, const char *path, const char *key, int req,
    int64_t min, int64_t max, int64_t *out)
{
	if (d->rc == PROTO_OK)
		d->rc = pj_int(obj, path, key, req, min, max, out, d->err);
}

static void
dec_num(struct dec *d, const cJSON *obj, const char *path, const char *key, int req,
    double min, double max, double *out)
{
	if (d->rc == PROTO_OK)
		d->rc = pj_num(obj, path, key, req, min, max, out, d->err);
}

static const cJSON *
dec_obj(struct dec *d, const cJSON *obj, const char *path, const char *key, int req)
{
	const cJSON *o = NULL;

	if (d->rc == PROTO_OK)
		d->rc = pj_obj(obj, path, key, req, &o, d->err);
	return d->rc == PROTO_OK ? o : NULL;
}

/* The array member key with min..max elements; NULL when absent (or failed). */
static const cJSON *
dec_arr(struct dec *d, const cJSON *obj, const char *path, const char *key, int req,
    int min, int max, int *n)
{
	const cJSON	*a;
	char		 what[64];

	*n = 0;
	if (d->rc != PROTO_OK)
		return NULL;
	a = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (a == NULL || cJSON_IsNull(a)) {
		if (req)
			dec_fail(d, PROTO_E_MISSING, path, key, "is required");
		return NULL;
	}
	if (!cJSON_IsArray(a)) {
		dec_fail(d, PROTO_E_WRONGTYPE, path, key, "must be an array");
		return NULL;
	}
	*n = cJSON_GetArraySize(a);
	if (*n < min || *n > max) {
		snprintf(what, sizeof(what), "must have %d..%d elements (has %d)", min, max, *n);
		dec_fail(d, PROTO_E_RANGE, path, key, what);
		*n = 0;
		return NULL;
	}
	return a;
}

/* "<path>.<key>[i]" into buf. */
static void
dec_elpath(char *buf, size_t cap, const char *path, const char *key, int i)
{
	if (path[0] != '\0')
		snprintf(buf, cap, "%s.%s[%d]", path, key, i);
	else
		snprintf(buf, cap, "%s[%d]", key, i);
}

/* An array of order ids: 0..PROTO_OPEN_MAX, each valid. */
static void
dec_ids(struct dec *d, const cJSON *obj, const char *path, const char *key, int req,
    char out[][PROTO_ID_MAX], int *nout)
{
	const cJSON	*a, *it;
	char		 ep[64];
	int		 n, i = 0;

	*nout = 0;
	if ((a = dec_arr(d, obj, path, key, req, 0, PROTO_OPEN_MAX, &n)) == NULL)
		return;
	cJSON_ArrayForEach(it, a) {
		dec_elpath(ep, sizeof(ep), path, key, i);
		if ((d->rc = pj_strval(it, ep, out[i], PROTO_ID_MAX, d->err)) != PROTO_OK)
			return;
		if (!proto_valid_id(out[i])) {
			dec_fail(d, PROTO_E_RANGE, ep, NULL,
			    "must be 1..39 characters from [A-Za-z0-9_.:-]");
			return;
		}
		i++;
	}
	*nout = i;
}

/* 1 if s is "<dev>:<seq>" with a valid device id and seq in 1..2^53. */
static int
valid_eid(const char *s)
{
	const char	*colon = strrchr(s, ':');
	char		 dev[PROTO_DEV_MAX];
	size_t		 dlen;
	uint64_t	 seq = 0;
	const char	*p;

	if (colon == NULL || (dlen = (size_t)(colon - s)) == 0 || dlen >= PROTO_DEV_MAX)
		return 0;
	memcpy(dev, s, dlen);
	dev[dlen] = '\0';
	if (!proto_valid_dev(dev))
		return 0;
	p = colon + 1;
	if (*p < '1' || *p > '9')
		return 0;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		seq = seq * 10 + (uint64_t)(*p - '0');
		if (seq > (uint64_t)PJ_INT_LIMIT)
			return 0;
	}
	return 1;
}

/* The members of a fix object fo, whose full path is fpath. */
static void
dec_fix(struct dec *d, const cJSON *fo, const char *fpath, struct proto_fix *f)
{
	int64_t	 mode = 0;

	memset(f, 0, sizeof(*f));
	f->eph_m = f->speed_mps = f->track_deg = f->alt_m = NAN;
	dec_int(d, fo, fpath, "t", 0, 1, PJ_INT_LIMIT, &f->t_ms);
	dec_num(d, fo, fpath, "lat", 1, -90.0, 90.0, &f->lat);
	dec_num(d, fo, fpath, "lon", 1, -180.0, 180.0, &f->lon);
	dec_int(d, fo, fpath, "mode", 1, 2, 3, &mode);
	f->mode = (int)mode;
	dec_num(d, fo, fpath, "eph", 0, 0.0, FIX_EPH_MAX_M, &f->eph_m);
	dec_num(d, fo, fpath, "speed", 0, 0.0, FIX_SPEED_MAX_MPS, &f->speed_mps);
	if (d->rc == PROTO_OK && f->speed_mps >= FIX_SPEED_MAX_MPS)
		dec_fail(d, PROTO_E_RANGE, fpath, "speed", "must be a number in [0, 1000)");
	dec_num(d, fo, fpath, "track", 0, 0.0, FIX_TRACK_MAX_DEG, &f->track_deg);
	dec_num(d, fo, fpath, "alt", 0, FIX_ALT_MIN_M, FIX_ALT_MAX_M, &f->alt_m);
}

/* A member "key" of obj that is a fix object; returns 1 if present. */
static int
dec_fix_member(struct dec *d, const cJSON *obj, const char *key, int req,
    struct proto_fix *f)
{
	const cJSON *fo = dec_obj(d, obj, "", key, req);

	if (fo == NULL)
		return 0;
	dec_fix(d, fo, key, f);
	return d->rc == PROTO_OK;
}

/*
 * Common start of every decoder: parse, check "v" and read "type" as one of
 * the n names produced by name(i). *root is the tree (caller frees) or NULL.
 */
static void
dec_begin(struct dec *d, const void *payload, size_t len, cJSON **root,
    const char *(*name)(int), int n, int *type)
{
	const cJSON	*v;
	char		 t[TYPE_NAME_MAX] = "";
	char		 what[160];
	size_t		 off = 0;
	int		 i;

	*root = NULL;
	if ((d->rc = pj_parse(payload, len, PROTO_MAX_PAYLOAD, root, d->err)) != PROTO_OK)
		return;
	v = cJSON_GetObjectItemCaseSensitive(*root, "v");
	if (v == NULL) {
		dec_fail(d, PROTO_E_VERSION, "", "v", "is required (protocol version 1)");
		return;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)PROTO_VERSION) {
		dec_fail(d, PROTO_E_VERSION, "", "v",
		    "must be 1 (this side speaks protocol version 1)");
		return;
	}
	dec_str(d, *root, "", "type", 1, t, sizeof(t), 0);
	if (d->rc != PROTO_OK)
		return;
	for (i = 0; i < n; i++)
		if (strcmp(name(i), t) == 0) {
			*type = i;
			return;
		}
	off = (size_t)snprintf(what, sizeof(what), "\"%s\" is not a message of this topic"
	    " (one of", t);
	for (i = 0; i < n && off < sizeof(what); i++)
		off += (size_t)snprintf(what + off, sizeof(what) - off, "%s %s",
		    i > 0 ? "," : "", name(i));
	if (off < sizeof(what))
		snprintf(what + off, sizeof(what) - off, ")");
	dec_fail(d, PROTO_E_TYPE, "", "type", what);
}

/* Adapters from the typed name functions to dec_begin's int interface. */
static const char *
down_name(int i)
{
	return proto_down_type_name((enum proto_down_type)i);
}

static const char *
ev_name(int i)
{
	return proto_ev_type_name((enum proto_ev_type)i);
}

static const char *
pos_name(int i)
{
	(void)i;
	return "pos";
}

static const char *
presence_name(int i)
{
	(void)i;
	return "presence";
}

/* The order object o at path "order". */
static void
dec_order(struct dec *d, const cJSON *o, struct proto_order *ord)
{
	const char	*P = "order";
	const cJSON	*site;
	char		 s[TYPE_NAME_MAX] = "";
	int64_t		 cat = 0;
	enum proto_zone	 zone = PROTO_ZONE_URBAN;
	enum proto_crs	 crs = PROTO_CRS_WGS84;

	dec_id(d, o, P, "id", 1, ord->id);
	dec_int(d, o, P, "category", 1, ORDER_CATEGORY_MIN, ORDER_CATEGORY_MAX, &cat);
	ord->category = (int)cat;
	dec_str(d, o, P, "category_name", 0, ord->category_name, PROTO_NAME_MAX, S_ONELINE);
	dec_str(d, o, P, "summary", 0, ord->summary, PROTO_TEXT_MAX, 0);
	dec_str(d, o, P, "address", 0, ord->address, PROTO_TEXT_MAX, 0);
	dec_str(d, o, P, "customer", 0, ord->customer, PROTO_NAME_MAX, S_ONELINE);
	dec_str(d, o, P, "phone", 0, ord->phone, PROTO_NAME_MAX, S_ONELINE);
	if ((site = dec_obj(d, o, P, "site", 1)) != NULL) {
		dec_num(d, site, "order.site", "lat", 1, -90.0, 90.0, &ord->site_lat);
		dec_num(d, site, "order.site", "lon", 1, -180.0, 180.0, &ord->site_lon);
		dec_str(d, site, "order.site", "crs", 0, s, sizeof(s), 0);
		if (d->rc == PROTO_OK && s[0] != '\0' &&
		    (proto_crs_parse(s, &crs) == -1 || crs != PROTO_CRS_WGS84))
			dec_fail(d, PROTO_E_RANGE, "order.site", "crs",
			    "must be \"wgs84\" on the wire (or absent)");
	}
	dec_num(d, o, P, "radius_m", 1, ORDER_RADIUS_MIN_M, ORDER_RADIUS_MAX_M, &ord->radius_m);
	s[0] = '\0';
	dec_str(d, o, P, "zone", 1, s, sizeof(s), 0);
	if (d->rc == PROTO_OK && proto_zone_parse(s, &zone) == -1)
		dec_fail(d, PROTO_E_RANGE, P, "zone", "must be one of urban, rural, remote");
	ord->zone = zone;
	dec_str(d, o, P, "zone_name", 0, ord->zone_name, PROTO_NAME_MAX, S_ONELINE);
	dec_int(d, o, P, "created_ms", 1, 1, PJ_INT_LIMIT, &ord->created_ms);
	dec_int(d, o, P, "dispatched_ms", 1, 1, PJ_INT_LIMIT, &ord->dispatched_ms);
	dec_int(d, o, P, "arrive_by_ms", 1, 1, PJ_INT_LIMIT, &ord->arrive_by_ms);
	dec_int(d, o, P, "complete_by_ms", 1, 1, PJ_INT_LIMIT, &ord->complete_by_ms);
}

/*
 * Decode a downlink message (topic .../order). See proto.h for the contract;
 * the rules are in PROTOCOL.md.
 */
enum proto_err
proto_decode_down(const void *payload, size_t len, struct proto_down *out,
    struct proto_error *err)
{
	struct dec	 d = { PROTO_OK, err };
	cJSON		*root;
	const cJSON	*o, *a, *it;
	int		 type = 0, n, i;
	char		 ep[64];

	memset(out, 0, sizeof(*out));
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	dec_begin(&d, payload, len, &root, down_name, PROTO_DOWN_DELAY_REQUEST + 1, &type);
	out->type = (enum proto_down_type)type;
	dec_id(&d, root, "", "msg_id", type == PROTO_DOWN_ORDER || type == PROTO_DOWN_CANCEL ||
	    type == PROTO_DOWN_DELAY_REQUEST,
	    out->msg_id);
	dec_int(&d, root, "", "at", 1, 1, PJ_INT_LIMIT, &out->at_ms);
	/* Replay protection of authenticated downlink (optional members). */
	dec_int(&d, root, "", "n", 0, 1, PJ_INT_LIMIT, &out->n);
	dec_int(&d, root, "", "tx", 0, 1, PJ_INT_LIMIT, &out->tx_ms);
	if (d.rc == PROTO_OK) {
		switch (out->type) {
		case PROTO_DOWN_ORDER:
			if ((o = dec_obj(&d, root, "", "order", 1)) != NULL)
				dec_order(&d, o, &out->order);
			break;
		case PROTO_DOWN_CANCEL:
		case PROTO_DOWN_DELAY_REQUEST:
			dec_id(&d, root, "", "order_id", 1, out->order_id);
			dec_str(&d, root, "", "reason", 1, out->reason, PROTO_NAME_MAX,
			    S_ONELINE | S_NONEMPTY);
			break;
		case PROTO_DOWN_ACK:
			a = dec_arr(&d, root, "", "eids", 1, 1, PROTO_ACK_MAX, &n);
			i = 0;
			if (a != NULL)
				cJSON_ArrayForEach(it, a) {
					snprintf(ep, sizeof(ep), "eids[%d]", i);
					d.rc = pj_strval(it, ep, out->eids[i], PROTO_EID_MAX, err);
					if (d.rc != PROTO_OK)
						break;
					if (!valid_eid(out->eids[i])) {
						dec_fail(&d, PROTO_E_RANGE, ep, NULL,
						    "must be \"<dev>:<seq>\"");
						break;
					}
					i++;
				}
			out->neids = i;
			break;
		case PROTO_DOWN_SYNC:
			dec_ids(&d, root, "", "open", 1, out->open, &out->nopen);
			break;
		}
	}
	cJSON_Delete(root);
	if (d.rc != PROTO_OK)
		memset(out, 0, sizeof(*out));
	return d.rc;
}

/* The arrive-specific members of event root into e. */
static void
dec_arrive(struct dec *d, const cJSON *root, struct proto_event *e)
{
	const cJSON	*a, *it;
	char		 m[TYPE_NAME_MAX] = "", ep[32];
	int		 n, i = 0;

	dec_str(d, root, "", "method", 1, m, sizeof(m), 0);
	if (d->rc != PROTO_OK)
		return;
	if (strcmp(m, "gps") == 0)
		e->method = PROTO_ARRIVE_GPS;
	else if (strcmp(m, "manual") == 0)
		e->method = PROTO_ARRIVE_MANUAL;
	else {
		dec_fail(d, PROTO_E_RANGE, "", "method", "must be \"gps\" or \"manual\"");
		return;
	}
	dec_num(d, root, "", "dist", 0, 0.0, ARRIVE_DIST_MAX_M, &e->dist_m);
	dec_int(d, root, "", "dwell", 0, 0, PJ_INT_LIMIT, &e->dwell_ms);
	a = dec_arr(d, root, "", "track", e->method == PROTO_ARRIVE_GPS,
	    e->method == PROTO_ARRIVE_GPS ? 1 : 0, PROTO_TRACK_MAX, &n);
	if (a != NULL)
		cJSON_ArrayForEach(it, a) {
			snprintf(ep, sizeof(ep), "track[%d]", i);
			if (!cJSON_IsObject(it)) {
				dec_fail(d, PROTO_E_WRONGTYPE, ep, NULL, "must be an object");
				return;
			}
			dec_fix(d, it, ep, &e->track[i]);
			if (d->rc != PROTO_OK)
				return;
			i++;
		}
	e->ntrack = i;
	dec_str(d, root, "", "note", 0, e->note, PROTO_TEXT_MAX, 0);
}

/*
 * Decode a device event (topic .../event). See proto.h for the contract; the
 * rules are in PROTOCOL.md. Does not compare "dev" with the topic.
 */
enum proto_err
proto_decode_event(const void *payload, size_t len, struct proto_event *out,
    struct proto_error *err)
{
	struct dec	 d = { PROTO_OK, err };
	cJSON		*root;
	int		 type = 0;
	int64_t		 seq = 0;
	char		 want[PROTO_EID_MAX], r[TYPE_NAME_MAX] = "";

	memset(out, 0, sizeof(*out));
	out->dist_m = NAN;
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	dec_begin(&d, payload, len, &root, ev_name, PROTO_EV_COMPLETE + 1, &type);
	out->type = (enum proto_ev_type)type;
	dec_dev(&d, root, "", "dev", out->dev);
	dec_int(&d, root, "", "seq", 1, 1, PJ_INT_LIMIT, &seq);
	out->seq = (uint64_t)seq;
	dec_str(&d, root, "", "eid", 1, out->eid, PROTO_EID_MAX, 0);
	if (d.rc == PROTO_OK) {
		snprintf(want, sizeof(want), "%s:%" PRIu64, out->dev, out->seq);
		if (strcmp(want, out->eid) != 0) {
			char what[128];

			snprintf(what, sizeof(what), "must be \"<dev>:<seq>\", here \"%s\"", want);
			dec_fail(&d, PROTO_E_RANGE, "", "eid", what);
		}
	}
	dec_int(&d, root, "", "at", 1, 1, PJ_INT_LIMIT, &out->at_ms);
	if (d.rc == PROTO_OK)
		out->has_fix = dec_fix_member(&d, root, "fix", 0, &out->fix);
	if (out->type != PROTO_EV_HELLO)
		dec_id(&d, root, "", "order_id", 1, out->order_id);
	if (d.rc == PROTO_OK) {
		switch (out->type) {
		case PROTO_EV_HELLO:
			dec_ids(&d, root, "", "open", 1, out->open, &out->nopen);
			break;
		case PROTO_EV_DELIVERED:
			dec_id(&d, root, "", "msg_id", 1, out->msg_id);
			break;
		case PROTO_EV_ACCEPT:
			break;
		case PROTO_EV_ARRIVE:
			dec_arrive(&d, root, out);
			break;
		case PROTO_EV_PROGRESS:
			dec_str(&d, root, "", "note", 1, out->note, PROTO_TEXT_MAX, S_NONEMPTY);
			break;
		case PROTO_EV_DELAY:
			dec_str(&d, root, "", "reason", 1, r, sizeof(r), 0);
			if (d.rc == PROTO_OK && proto_delay_parse(r, &out->reason) == -1)
				dec_fail(&d, PROTO_E_RANGE, "", "reason", "must be one of "
				    "weather, road, materials, upstream, customer_absent, "
				    "safety, other");
			dec_str(&d, root, "", "note", out->reason == PROTO_DELAY_OTHER,
			    out->note, PROTO_TEXT_MAX,
			    out->reason == PROTO_DELAY_OTHER ? S_NONEMPTY : 0);
			dec_int(&d, root, "", "eta", 0, 1, PJ_INT_LIMIT, &out->eta_ms);
			break;
		case PROTO_EV_COMPLETE:
			dec_str(&d, root, "", "note", 0, out->note, PROTO_TEXT_MAX, 0);
			break;
		}
	}
	cJSON_Delete(root);
	if (d.rc != PROTO_OK) {
		memset(out, 0, sizeof(*out));
		out->dist_m = NAN;
	}
	return d.rc;
}

/* ---- the position fast path ----
 *
 * Positions are the one flood of the protocol: every unit sends one every few
 * seconds, and through cJSON (a node per member, strtod per number) decoding
 * was half of the gateway's work per stored position (issue 9). What units
 * send is always the text proto_encode_pos writes, so that exact form is read
 * here directly, byte by byte, with no allocation:
 *
 *   {"v":1,"type":"pos","dev":D,"at":N[,"order_id":I],"fix":{["t":N,]
 *    "lat":X,"lon":X,"mode":2|3[,"eph":X][,"speed":X][,"track":X][,"alt":X]}
 *    [,"mac":H|,"sig":H]}
 *
 * no white space, members in that order, strings of the id alphabets (no
 * escapes), integers without sign, fraction or exponent, numbers X without
 * exponent and with at most 19 significant digits. Anything else, and any
 * value the general decoder would refuse, is declined (0) and goes through
 * the general decoder, which then names the field: the fast path never
 * decides that a message is bad, and what it accepts it fills exactly as the
 * general decoder would (the unit tests and fuzz_proto_pos hold them to it).
 */

/* A number X at *pp, read exactly (pj_read_dec). */
static int
fp_num(const char **pp, const char *end, double *out)
{
	size_t n = pj_read_dec(*pp, (size_t)(end - *pp), out);

	*pp += n;
	return n != 0;
}

/* An integer in [1, 2^53] at *pp: [1-9][0-9]*, not followed by a fraction or
 * an exponent. */
static int
fp_int(const char **pp, const char *end, int64_t *out)
{
	const char	*p = *pp;
	int64_t		 v = 0;
	int		 nd = 0;

	if (p >= end || *p < '1' || *p > '9')
		return 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (++nd > 16)
			return 0;
		v = v * 10 + (*p - '0');
	}
	if (v > PJ_INT_LIMIT || (p < end && (*p == '.' || *p == 'e' || *p == 'E')))
		return 0;
	*out = v;
	*pp = p;
	return 1;
}

/* The literal lit (no NUL) at *pp. */
static int
fp_lit(const char **pp, const char *end, const char *lit, size_t n)
{
	if ((size_t)(end - *pp) < n || memcmp(*pp, lit, n) != 0)
		return 0;
	*pp += n;
	return 1;
}
#define FP_LIT(pp, end, s)	fp_lit((pp), (end), (s), sizeof(s) - 1)

/* The rest of a string whose opening quote is behind *pp, up to its closing
 * quote, into out (cap bytes); the caller checks it against its id alphabet
 * (proto_valid_dev, proto_valid_id), which has no quote, backslash or control
 * byte, so a string that passes needed no unescaping. */
static int
fp_idstr(const char **pp, const char *end, char *out, size_t cap)
{
	const char	*q = memchr(*pp, '"', (size_t)(end - *pp));
	size_t		 n;

	/* a NUL inside would hide the rest from the caller's check */
	if (q == NULL || (n = (size_t)(q - *pp)) >= cap || memchr(*pp, '\0', n) != NULL)
		return 0;
	memcpy(out, *pp, n);
	out[n] = '\0';
	*pp = q + 1;
	return 1;
}

/* An optional fix member ,"<key>":X with X in [min, max]; absent leaves *v. */
static int
fp_optnum(const char **pp, const char *end, const char *lit, size_t n, double min,
    double max, double *v)
{
	if (!fp_lit(pp, end, lit, n))
		return 1;
	return fp_num(pp, end, v) && *v >= min && *v <= max;
}
#define FP_OPTNUM(pp, end, s, min, max, v) \
	fp_optnum((pp), (end), (s), sizeof(s) - 1, (min), (max), (v))

int
proto_decode_pos_fast(const void *payload, size_t len, struct proto_pos *out)
{
	const char		*p = payload, *end = p + len;
	struct proto_fix	*f = &out->fix;
	size_t			 n;

	memset(out, 0, sizeof(*out));
	f->eph_m = f->speed_mps = f->track_deg = f->alt_m = NAN;
	if (payload == NULL || len == 0 || len > PROTO_MAX_PAYLOAD)
		return 0;
	if (!FP_LIT(&p, end, "{\"v\":1,\"type\":\"pos\",\"dev\":\"") ||
	    !fp_idstr(&p, end, out->dev, sizeof(out->dev)) || !proto_valid_dev(out->dev) ||
	    !FP_LIT(&p, end, ",\"at\":") || !fp_int(&p, end, &out->at_ms))
		return 0;
	if (FP_LIT(&p, end, ",\"order_id\":\"") &&
	    (!fp_idstr(&p, end, out->order_id, sizeof(out->order_id)) ||
	    !proto_valid_id(out->order_id)))
		return 0;
	if (!FP_LIT(&p, end, ",\"fix\":{"))
		return 0;
	if (FP_LIT(&p, end, "\"t\":") && (!fp_int(&p, end, &f->t_ms) ||
	    !FP_LIT(&p, end, ",")))
		return 0;
	if (!FP_LIT(&p, end, "\"lat\":") || !fp_num(&p, end, &f->lat) ||
	    !(f->lat >= -90.0 && f->lat <= 90.0) ||
	    !FP_LIT(&p, end, ",\"lon\":") || !fp_num(&p, end, &f->lon) ||
	    !(f->lon >= -180.0 && f->lon <= 180.0) ||
	    !FP_LIT(&p, end, ",\"mode\":") || end - p < 1 || (*p != '2' && *p != '3'))
		return 0;
	f->mode = *p++ - '0';
	if (!FP_OPTNUM(&p, end, ",\"eph\":", 0.0, FIX_EPH_MAX_M, &f->eph_m) ||
	    !FP_OPTNUM(&p, end, ",\"speed\":", 0.0, FIX_SPEED_MAX_MPS, &f->speed_mps) ||
	    f->speed_mps >= FIX_SPEED_MAX_MPS ||
	    !FP_OPTNUM(&p, end, ",\"track\":", 0.0, FIX_TRACK_MAX_DEG, &f->track_deg) ||
	    !FP_OPTNUM(&p, end, ",\"alt\":", FIX_ALT_MIN_M, FIX_ALT_MAX_M, &f->alt_m) ||
	    !FP_LIT(&p, end, "}"))
		return 0;
	/* the authentication tag of proto_auth_join: lower-case hex */
	if (FP_LIT(&p, end, ",\"mac\":\"") || FP_LIT(&p, end, ",\"sig\":\"")) {
		for (n = 0; p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
		    p++)
			n++;
		if (n == 0 || !FP_LIT(&p, end, "\""))
			return 0;
	}
	return FP_LIT(&p, end, "}") && p == end;
}

/* Decode a position report (topic .../pos) through cJSON: any form. */
enum proto_err
proto_decode_pos_json(const void *payload, size_t len, struct proto_pos *out,
    struct proto_error *err)
{
	struct dec	 d = { PROTO_OK, err };
	cJSON		*root;
	int		 type = 0;

	memset(out, 0, sizeof(*out));
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	dec_begin(&d, payload, len, &root, pos_name, 1, &type);
	dec_dev(&d, root, "", "dev", out->dev);
	dec_int(&d, root, "", "at", 1, 1, PJ_INT_LIMIT, &out->at_ms);
	dec_id(&d, root, "", "order_id", 0, out->order_id);
	if (d.rc == PROTO_OK)
		(void)dec_fix_member(&d, root, "fix", 1, &out->fix);
	cJSON_Delete(root);
	if (d.rc != PROTO_OK)
		memset(out, 0, sizeof(*out));
	return d.rc;
}

/* Decode a position report (topic .../pos): the fast path, else cJSON. */
enum proto_err
proto_decode_pos(const void *payload, size_t len, struct proto_pos *out,
    struct proto_error *err)
{
	if (proto_decode_pos_fast(payload, len, out)) {
		if (err != NULL)
			memset(err, 0, sizeof(*err));
		return PROTO_OK;
	}
	return proto_decode_pos_json(payload, len, out, err);
}

/* Decode a presence message or will (topic .../presence). */
enum proto_err
proto_decode_presence(const void *payload, size_t len, struct proto_presence *out,
    struct proto_error *err)
{
	struct dec	 d = { PROTO_OK, err };
	cJSON		*root;
	int		 type = 0;

	memset(out, 0, sizeof(*out));
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	dec_begin(&d, payload, len, &root, presence_name, 1, &type);
	dec_dev(&d, root, "", "dev", out->dev);
	if (d.rc == PROTO_OK)
		d.rc = pj_bool(root, "", "online", 1, &out->online, err);
	dec_int(&d, root, "", "at", 1, 0, PJ_INT_LIMIT, &out->at_ms);
	cJSON_Delete(root);
	if (d.rc != PROTO_OK)
		memset(out, 0, sizeof(*out));
	return d.rc;
}

/* ---- encoding ---- */

/* Encoding state: the first failure sticks. */
struct enc {
	enum proto_err	 rc;
};

static void
enc_check(struct enc *e, const void *p)
{
	if (p == NULL && e->rc == PROTO_OK)
		e->rc = PROTO_E_NOMEM;
}

/* Integers are printed by us, exactly, instead of through a double. */
static void
enc_int(struct enc *e, cJSON *o, const char *key, int64_t v)
{
	char	 s[24];

	if (e->rc != PROTO_OK)
		return;
	snprintf(s, sizeof(s), "%" PRId64, v);
	enc_check(e, cJSON_AddRawToObject(o, key, s));
}

/*
 * Finite numbers only: NaN means "absent" to callers and is never encoded.
 * Printed here, not by cJSON, because cJSON settles for 15 digits when they
 * come back within an epsilon; we use the fewest digits (15..17) that parse
 * back to exactly the same double, so a round trip is lossless.
 */
static void
enc_num(struct enc *e, cJSON *o, const char *key, double v)
{
	char	 s[PJ_NUM_MAX];

	if (e->rc != PROTO_OK)
		return;
	if (!isfinite(v)) {
		e->rc = PROTO_E_RANGE;
		return;
	}
	pj_fmt_num(s, v);
	enc_check(e, cJSON_AddRawToObject(o, key, s));
}

/* s must be NUL-terminated within cap bytes (it is a fixed array of a struct). */
static void
enc_str(struct enc *e, cJSON *o, const char *key, const char *s, size_t cap)
{
	if (e->rc != PROTO_OK)
		return;
	if (s == NULL || strnlen(s, cap) >= cap) {
		e->rc = PROTO_E_RANGE;
		return;
	}
	enc_check(e, cJSON_AddStringToObject(o, key, s));
}

/* As enc_str, but "" is left out. */
static void
enc_optstr(struct enc *e, cJSON *o, const char *key, const char *s, size_t cap)
{
	if (s != NULL && s[0] != '\0')
		enc_str(e, o, key, s, cap);
}

static cJSON *
enc_obj(struct enc *e, cJSON *parent, const char *key)
{
	cJSON	*o;

	if (e->rc != PROTO_OK)
		return NULL;
	o = cJSON_AddObjectToObject(parent, key);
	enc_check(e, o);
	return o;
}

/* "v" and "type" on a new root. */
static cJSON *
enc_begin(struct enc *e, const char *type)
{
	cJSON	*root;

	if (type == NULL) {
		e->rc = PROTO_E_RANGE;
		return NULL;
	}
	if ((root = cJSON_CreateObject()) == NULL) {
		e->rc = PROTO_E_NOMEM;
		return NULL;
	}
	enc_int(e, root, "v", PROTO_VERSION);
	enc_str(e, root, "type", type, TYPE_NAME_MAX);
	return root;
}

/* A fix into a new object member key (or an array element when key is NULL). */
static void
enc_fix(struct enc *e, cJSON *parent, const char *key, const struct proto_fix *f)
{
	cJSON	*o;

	if (e->rc != PROTO_OK)
		return;
	if (key != NULL)
		o = enc_obj(e, parent, key);
	else {
		o = cJSON_CreateObject();
		enc_check(e, o);
		if (o != NULL && !cJSON_AddItemToArray(parent, o)) {
			cJSON_Delete(o);
			o = NULL;
			enc_check(e, o);
		}
	}
	if (o == NULL)
		return;
	if (f->t_ms != 0)
		enc_int(e, o, "t", f->t_ms);
	enc_num(e, o, "lat", f->lat);
	enc_num(e, o, "lon", f->lon);
	enc_int(e, o, "mode", f->mode);
	if (!isnan(f->eph_m))
		enc_num(e, o, "eph", f->eph_m);
	if (!isnan(f->speed_mps))
		enc_num(e, o, "speed", f->speed_mps);
	if (!isnan(f->track_deg))
		enc_num(e, o, "track", f->track_deg);
	if (!isnan(f->alt_m))
		enc_num(e, o, "alt", f->alt_m);
}

/* An array of n strings of up to cap bytes each, stride cap. */
static void
enc_strs(struct enc *e, cJSON *o, const char *key, const char *base, int n, int max,
    size_t cap)
{
	cJSON	*a, *s;
	int	 i;

	if (e->rc != PROTO_OK)
		return;
	if (n < 0 || n > max) {
		e->rc = PROTO_E_RANGE;
		return;
	}
	a = cJSON_AddArrayToObject(o, key);
	enc_check(e, a);
	for (i = 0; a != NULL && i < n && e->rc == PROTO_OK; i++) {
		const char *str = base + (size_t)i * cap;

		if (strnlen(str, cap) >= cap) {
			e->rc = PROTO_E_RANGE;
			return;
		}
		s = cJSON_CreateString(str);
		enc_check(e, s);
		if (s != NULL && !cJSON_AddItemToArray(a, s)) {
			cJSON_Delete(s);
			e->rc = PROTO_E_NOMEM;
		}
	}
}

/*
 * Print root into buf and free it. *len is the length without the NUL. buf
 * holds "" on any failure.
 */
static enum proto_err
enc_finish(struct enc *e, cJSON *root, char *buf, size_t cap, size_t *len)
{
	int	 icap = cap > INT_MAX ? INT_MAX : (int)cap;

	*len = 0;
	if (cap > 0)
		buf[0] = '\0';
	if (e->rc == PROTO_OK && (cap == 0 || !cJSON_PrintPreallocated(root, buf, icap, 0)))
		e->rc = PROTO_E_BUFFER;
	cJSON_Delete(root);
	if (e->rc != PROTO_OK) {
		if (cap > 0)
			buf[0] = '\0';
		return e->rc;
	}
	*len = strlen(buf);
	return PROTO_OK;
}

/* After encoding: the output must decode, else it is the struct's fault. */
static enum proto_err
enc_verified(enum proto_err rc, enum proto_err drc, char *buf, size_t *len)
{
	if (rc != PROTO_OK)
		return rc;
	if (drc == PROTO_E_NOMEM)
		rc = PROTO_E_NOMEM;
	else if (drc != PROTO_OK)
		rc = PROTO_E_RANGE;
	if (rc != PROTO_OK) {
		buf[0] = '\0';
		*len = 0;
	}
	return rc;
}

static void
enc_order(struct enc *e, cJSON *root, const struct proto_order *ord)
{
	cJSON	*o = enc_obj(e, root, "order"), *site;

	if (o == NULL)
		return;
	enc_str(e, o, "id", ord->id, PROTO_ID_MAX);
	enc_int(e, o, "category", ord->category);
	enc_optstr(e, o, "category_name", ord->category_name, PROTO_NAME_MAX);
	enc_optstr(e, o, "summary", ord->summary, PROTO_TEXT_MAX);
	enc_optstr(e, o, "address", ord->address, PROTO_TEXT_MAX);
	enc_optstr(e, o, "customer", ord->customer, PROTO_NAME_MAX);
	enc_optstr(e, o, "phone", ord->phone, PROTO_NAME_MAX);
	if ((site = enc_obj(e, o, "site")) != NULL) {
		enc_num(e, site, "lat", ord->site_lat);
		enc_num(e, site, "lon", ord->site_lon);
	}
	enc_num(e, o, "radius_m", ord->radius_m);
	enc_str(e, o, "zone", proto_zone_name(ord->zone), TYPE_NAME_MAX);
	enc_optstr(e, o, "zone_name", ord->zone_name, PROTO_NAME_MAX);
	enc_int(e, o, "created_ms", ord->created_ms);
	enc_int(e, o, "dispatched_ms", ord->dispatched_ms);
	enc_int(e, o, "arrive_by_ms", ord->arrive_by_ms);
	enc_int(e, o, "complete_by_ms", ord->complete_by_ms);
}

/* Encode a downlink message; see proto.h. */
enum proto_err
proto_encode_down(const struct proto_down *m, char *buf, size_t cap, size_t *len)
{
	struct enc		 e = { PROTO_OK };
	struct proto_down	 check;
	cJSON			*root;
	enum proto_err		 rc;

	*len = 0;
	if (cap > 0)
		buf[0] = '\0';
	if ((root = enc_begin(&e, proto_down_type_name(m->type))) == NULL)
		return e.rc;
	enc_optstr(&e, root, "msg_id", m->msg_id, PROTO_ID_MAX);
	enc_int(&e, root, "at", m->at_ms);
	if (m->n > 0) {
		enc_int(&e, root, "n", m->n);
		enc_int(&e, root, "tx", m->tx_ms);
	}
	switch (m->type) {
	case PROTO_DOWN_ORDER:
		enc_order(&e, root, &m->order);
		break;
	case PROTO_DOWN_CANCEL:
	case PROTO_DOWN_DELAY_REQUEST:
		enc_str(&e, root, "order_id", m->order_id, PROTO_ID_MAX);
		enc_str(&e, root, "reason", m->reason, PROTO_NAME_MAX);
		break;
	case PROTO_DOWN_ACK:
		enc_strs(&e, root, "eids", &m->eids[0][0], m->neids, PROTO_ACK_MAX,
		    PROTO_EID_MAX);
		break;
	case PROTO_DOWN_SYNC:
		enc_strs(&e, root, "open", &m->open[0][0], m->nopen, PROTO_OPEN_MAX,
		    PROTO_ID_MAX);
		break;
	}
	rc = enc_finish(&e, root, buf, cap, len);
	return enc_verified(rc, rc == PROTO_OK ?
	    proto_decode_down(buf, *len, &check, NULL) : rc, buf, len);
}

/* Encode a device event; see proto.h. e->eid must already be "<dev>:<seq>". */
enum proto_err
proto_encode_event(const struct proto_event *ev, char *buf, size_t cap, size_t *len)
{
	struct enc		 e = { PROTO_OK };
	struct proto_event	 check;
	cJSON			*root, *a;
	enum proto_err		 rc;
	int			 i;

	*len = 0;
	if (cap > 0)
		buf[0] = '\0';
	if ((root = enc_begin(&e, proto_ev_type_name(ev->type))) == NULL)
		return e.rc;
	enc_str(&e, root, "dev", ev->dev, PROTO_DEV_MAX);
	if (ev->seq > (uint64_t)PJ_INT_LIMIT)
		e.rc = PROTO_E_RANGE;
	enc_int(&e, root, "seq", (int64_t)ev->seq);
	enc_str(&e, root, "eid", ev->eid, PROTO_EID_MAX);
	enc_int(&e, root, "at", ev->at_ms);
	if (ev->type != PROTO_EV_HELLO)
		enc_str(&e, root, "order_id", ev->order_id, PROTO_ID_MAX);
	if (ev->has_fix)
		enc_fix(&e, root, "fix", &ev->fix);
	switch (ev->type) {
	case PROTO_EV_HELLO:
		enc_strs(&e, root, "open", &ev->open[0][0], ev->nopen, PROTO_OPEN_MAX,
		    PROTO_ID_MAX);
		break;
	case PROTO_EV_DELIVERED:
		enc_str(&e, root, "msg_id", ev->msg_id, PROTO_ID_MAX);
		break;
	case PROTO_EV_ACCEPT:
		break;
	case PROTO_EV_ARRIVE:
		enc_str(&e, root, "method",
		    ev->method == PROTO_ARRIVE_GPS ? "gps" :
		    ev->method == PROTO_ARRIVE_MANUAL ? "manual" : NULL, TYPE_NAME_MAX);
		if (!isnan(ev->dist_m))
			enc_num(&e, root, "dist", ev->dist_m);
		if (ev->dwell_ms != 0)
			enc_int(&e, root, "dwell", ev->dwell_ms);
		if (ev->ntrack < 0 || ev->ntrack > PROTO_TRACK_MAX)
			e.rc = PROTO_E_RANGE;
		if (e.rc == PROTO_OK && ev->ntrack > 0) {
			a = cJSON_AddArrayToObject(root, "track");
			enc_check(&e, a);
			for (i = 0; a != NULL && i < ev->ntrack; i++)
				enc_fix(&e, a, NULL, &ev->track[i]);
		}
		enc_optstr(&e, root, "note", ev->note, PROTO_TEXT_MAX);
		break;
	case PROTO_EV_PROGRESS:
		enc_str(&e, root, "note", ev->note, PROTO_TEXT_MAX);
		break;
	case PROTO_EV_DELAY:
		enc_str(&e, root, "reason", proto_delay_name(ev->reason), TYPE_NAME_MAX);
		enc_optstr(&e, root, "note", ev->note, PROTO_TEXT_MAX);
		if (ev->eta_ms != 0)
			enc_int(&e, root, "eta", ev->eta_ms);
		break;
	case PROTO_EV_COMPLETE:
		enc_optstr(&e, root, "note", ev->note, PROTO_TEXT_MAX);
		break;
	}
	rc = enc_finish(&e, root, buf, cap, len);
	return enc_verified(rc, rc == PROTO_OK ?
	    proto_decode_event(buf, *len, &check, NULL) : rc, buf, len);
}

/* Encode a position report; see proto.h. order_id "" is left out. */
enum proto_err
proto_encode_pos(const struct proto_pos *p, char *buf, size_t cap, size_t *len)
{
	struct enc		 e = { PROTO_OK };
	struct proto_pos	 check;
	cJSON			*root;
	enum proto_err		 rc;

	*len = 0;
	if (cap > 0)
		buf[0] = '\0';
	if ((root = enc_begin(&e, "pos")) == NULL)
		return e.rc;
	enc_str(&e, root, "dev", p->dev, PROTO_DEV_MAX);
	enc_int(&e, root, "at", p->at_ms);
	enc_optstr(&e, root, "order_id", p->order_id, PROTO_ID_MAX);
	enc_fix(&e, root, "fix", &p->fix);
	rc = enc_finish(&e, root, buf, cap, len);
	return enc_verified(rc, rc == PROTO_OK ?
	    proto_decode_pos(buf, *len, &check, NULL) : rc, buf, len);
}

/* Encode presence (at_ms 0 for the will); see proto.h. */
enum proto_err
proto_encode_presence(const struct proto_presence *p, char *buf, size_t cap, size_t *len)
{
	struct enc		 e = { PROTO_OK };
	struct proto_presence	 check;
	cJSON			*root;
	enum proto_err		 rc;

	*len = 0;
	if (cap > 0)
		buf[0] = '\0';
	if ((root = enc_begin(&e, "presence")) == NULL)
		return e.rc;
	enc_str(&e, root, "dev", p->dev, PROTO_DEV_MAX);
	if (e.rc == PROTO_OK)
		enc_check(&e, cJSON_AddBoolToObject(root, "online", p->online != 0));
	enc_int(&e, root, "at", p->at_ms);
	rc = enc_finish(&e, root, buf, cap, len);
	return enc_verified(rc, rc == PROTO_OK ?
	    proto_decode_presence(buf, *len, &check, NULL) : rc, buf, len);
}

/* Fill e->eid with "<dev>:<seq>"; a dev longer than its array is cut there. */
void
proto_event_make_eid(struct proto_event *e)
{
	snprintf(e->eid, sizeof(e->eid), "%.*s:%" PRIu64, PROTO_DEV_MAX - 1, e->dev, e->seq);
}
