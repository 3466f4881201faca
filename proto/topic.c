/*
 * topic.c: the MQTT topic scheme, identifier syntax and the names of the
 * protocol's enumerations (error codes, zones, coordinate systems, message
 * types, delay reasons).
 *
 * Topics are "linecrew/v1/dev/<dev>/<kind>". Device ids are restricted to
 * [A-Za-z0-9_-]{1,32} so that a device id can never be an MQTT wildcard ("+",
 * "#"), a level separator ("/") or a "$"-topic, and so that it fits a file name
 * and a log line unquoted. Order and message ids add "." and ":".
 *
 * Everything here is a pure function over constant tables: no I/O, no state.
 * Encoding and decoding of message bodies is in codec.c.
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"

#define TOPIC_PREFIX	"linecrew/v1/dev/"

static const char *const topic_kinds[] = {
	[PROTO_T_ORDER] = "order",
	[PROTO_T_EVENT] = "event",
	[PROTO_T_POS] = "pos",
	[PROTO_T_PRESENCE] = "presence",
};
#define TOPIC_NKINDS	(sizeof(topic_kinds) / sizeof(topic_kinds[0]))

static const char *const topic_patterns[] = {
	[PROTO_T_ORDER] = TOPIC_PREFIX "+/order",
	[PROTO_T_EVENT] = TOPIC_PREFIX "+/event",
	[PROTO_T_POS] = TOPIC_PREFIX "+/pos",
	[PROTO_T_PRESENCE] = TOPIC_PREFIX "+/presence",
};

/* Look s up in a table of n names; the index, or -1. */
static int
proto_lookup(const char *const *names, size_t n, const char *s)
{
	size_t	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* names[i] when i is a valid index, else NULL. */
static const char *
proto_name(const char *const *names, size_t n, int i)
{
	if (i < 0 || (size_t)i >= n)
		return NULL;
	return names[i];
}

/* Static English description of an error code; never NULL. */
const char *
proto_strerror(enum proto_err e)
{
	static const char *const msgs[] = {
		[PROTO_OK] = "no error",
		[PROTO_E_SIZE] = "payload empty or too large",
		[PROTO_E_JSON] = "not a valid JSON object",
		[PROTO_E_VERSION] = "unsupported protocol version",
		[PROTO_E_TYPE] = "unknown message type",
		[PROTO_E_MISSING] = "required field missing",
		[PROTO_E_WRONGTYPE] = "field has the wrong type",
		[PROTO_E_RANGE] = "field out of range or badly formed",
		[PROTO_E_NOMEM] = "out of memory",
		[PROTO_E_BUFFER] = "output buffer too small",
		[PROTO_E_TOPIC] = "not a Linecrew topic",
	};
	const char *s = proto_name(msgs, sizeof(msgs) / sizeof(msgs[0]), (int)e);

	return s != NULL ? s : "unknown error";
}

/* 1 if s is 1..max characters, each alphanumeric or in extra; else 0. */
static int
proto_valid_chars(const char *s, size_t max, const char *extra)
{
	size_t	 n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= max)
			return 0;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (strchr(extra, c) == NULL)
			return 0;
	}
	return n > 0;
}

/* 1 if s is a device id, [A-Za-z0-9_-]{1,32}; NULL is not. */
int
proto_valid_dev(const char *s)
{
	return proto_valid_chars(s, PROTO_DEV_MAX - 1, "_-");
}

/* 1 if s is an order or message id, [A-Za-z0-9_.:-]{1,39}; NULL is not. */
int
proto_valid_id(const char *s)
{
	return proto_valid_chars(s, PROTO_ID_MAX - 1, "_.:-");
}

/*
 * Write "linecrew/v1/dev/<dev>/<kind>" into buf (cap bytes incl. NUL).
 * PROTO_E_RANGE for an invalid dev or kind, PROTO_E_BUFFER if it does not fit
 * (buf then holds "" when cap > 0).
 */
enum proto_err
proto_topic(char *buf, size_t cap, const char *dev, enum proto_topic kind)
{
	const char	*k = proto_name(topic_kinds, TOPIC_NKINDS, (int)kind);
	int		 n;

	if (cap > 0)
		buf[0] = '\0';
	if (!proto_valid_dev(dev) || k == NULL)
		return PROTO_E_RANGE;
	if (cap == 0)
		return PROTO_E_BUFFER;
	n = snprintf(buf, cap, TOPIC_PREFIX "%s/%s", dev, k);
	if (n < 0 || (size_t)n >= cap) {
		buf[0] = '\0';
		return PROTO_E_BUFFER;
	}
	return PROTO_OK;
}

/*
 * Parse a concrete topic: dev gets the device id, *kind the kind. Anything
 * else (another prefix, an invalid or wildcard device id, an unknown kind,
 * extra levels) is PROTO_E_TOPIC, with dev set to "" and *kind untouched.
 */
enum proto_err
proto_topic_parse(const char *topic, char dev[PROTO_DEV_MAX], enum proto_topic *kind)
{
	const char	*d, *slash;
	size_t		 dlen;
	int		 k;

	dev[0] = '\0';
	if (topic == NULL || strncmp(topic, TOPIC_PREFIX, strlen(TOPIC_PREFIX)) != 0)
		return PROTO_E_TOPIC;
	d = topic + strlen(TOPIC_PREFIX);
	if ((slash = strchr(d, '/')) == NULL)
		return PROTO_E_TOPIC;
	dlen = (size_t)(slash - d);
	if (dlen == 0 || dlen >= PROTO_DEV_MAX)
		return PROTO_E_TOPIC;
	if ((k = proto_lookup(topic_kinds, TOPIC_NKINDS, slash + 1)) < 0)
		return PROTO_E_TOPIC;
	memcpy(dev, d, dlen);
	dev[dlen] = '\0';
	if (!proto_valid_dev(dev)) {
		dev[0] = '\0';
		return PROTO_E_TOPIC;
	}
	*kind = (enum proto_topic)k;
	return PROTO_OK;
}

/* "linecrew/v1/dev/+/<kind>", a static string; NULL for an unknown kind. */
const char *
proto_topic_pattern(enum proto_topic kind)
{
	return proto_name(topic_patterns, TOPIC_NKINDS, (int)kind);
}

/* ---- enumeration names: each *_name returns NULL for a value out of range,
 * each *_parse returns 0 and sets *out, or -1 and leaves *out alone. ---- */

static const char *const crs_names[] = {
	[PROTO_CRS_WGS84] = "wgs84",
	[PROTO_CRS_GCJ02] = "gcj02",
	[PROTO_CRS_BD09] = "bd09",
};

const char *
proto_crs_name(enum proto_crs c)
{
	return proto_name(crs_names, sizeof(crs_names) / sizeof(crs_names[0]), (int)c);
}

int
proto_crs_parse(const char *s, enum proto_crs *out)
{
	int i = proto_lookup(crs_names, sizeof(crs_names) / sizeof(crs_names[0]), s);

	if (i < 0)
		return -1;
	*out = (enum proto_crs)i;
	return 0;
}

static const char *const zone_names[] = {
	[PROTO_ZONE_URBAN] = "urban",
	[PROTO_ZONE_RURAL] = "rural",
	[PROTO_ZONE_REMOTE] = "remote",
};

const char *
proto_zone_name(enum proto_zone z)
{
	return proto_name(zone_names, sizeof(zone_names) / sizeof(zone_names[0]), (int)z);
}

int
proto_zone_parse(const char *s, enum proto_zone *out)
{
	int i = proto_lookup(zone_names, sizeof(zone_names) / sizeof(zone_names[0]), s);

	if (i < 0)
		return -1;
	*out = (enum proto_zone)i;
	return 0;
}

static const char *const down_names[] = {
	[PROTO_DOWN_ORDER] = "order",
	[PROTO_DOWN_CANCEL] = "cancel",
	[PROTO_DOWN_ACK] = "ack",
	[PROTO_DOWN_SYNC] = "sync",
	[PROTO_DOWN_DELAY_REQUEST] = "delay_request",
};

const char *
proto_down_type_name(enum proto_down_type t)
{
	return proto_name(down_names, sizeof(down_names) / sizeof(down_names[0]), (int)t);
}

static const char *const ev_names[] = {
	[PROTO_EV_HELLO] = "hello",
	[PROTO_EV_DELIVERED] = "delivered",
	[PROTO_EV_ACCEPT] = "accept",
	[PROTO_EV_ARRIVE] = "arrive",
	[PROTO_EV_PROGRESS] = "progress",
	[PROTO_EV_DELAY] = "delay",
	[PROTO_EV_COMPLETE] = "complete",
};

const char *
proto_ev_type_name(enum proto_ev_type t)
{
	return proto_name(ev_names, sizeof(ev_names) / sizeof(ev_names[0]), (int)t);
}

static const char *const delay_names[PROTO_DELAY_NREASONS] = {
	[PROTO_DELAY_WEATHER] = "weather",
	[PROTO_DELAY_ROAD] = "road",
	[PROTO_DELAY_MATERIALS] = "materials",
	[PROTO_DELAY_UPSTREAM] = "upstream",
	[PROTO_DELAY_CUSTOMER_ABSENT] = "customer_absent",
	[PROTO_DELAY_SAFETY] = "safety",
	[PROTO_DELAY_OTHER] = "other",
};

const char *
proto_delay_name(enum proto_delay_reason r)
{
	return proto_name(delay_names, PROTO_DELAY_NREASONS, (int)r);
}

int
proto_delay_parse(const char *s, enum proto_delay_reason *out)
{
	int i = proto_lookup(delay_names, PROTO_DELAY_NREASONS, s);

	if (i < 0)
		return -1;
	*out = (enum proto_delay_reason)i;
	return 0;
}
