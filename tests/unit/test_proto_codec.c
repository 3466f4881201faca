/*
 * test_proto_codec.c: encoding and strict decoding of every message of
 * proto/codec.c and the pj_* readers of proto/json.c.
 *
 * Groups: round trips of every message type; encoder refusals; the
 * malformed-input group (syntax, size, version, type, every required field
 * missing / null / of the wrong type, out-of-range values, strings), each case
 * asserting the error code AND the field path; robustness (every truncation,
 * byte flips, non-NUL-terminated buffers); the pj_* readers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cJSON.h>

#include "proto.h"

#define BUFSZ	PROTO_MAX_PAYLOAD

/* ---- fixtures ---- */

static struct proto_fix
fix_at(double lat, double lon, int64_t t)
{
	struct proto_fix f = {
		.t_ms = t, .lat = lat, .lon = lon, .mode = 3, .eph_m = 4.5,
		.speed_mps = 0.25, .track_deg = 271.5, .alt_m = 1052.0,
	};

	return f;
}

static void
sample_order(struct proto_down *m)
{
	memset(m, 0, sizeof(*m));
	m->type = PROTO_DOWN_ORDER;
	snprintf(m->msg_id, sizeof(m->msg_id), "push-17");
	m->at_ms = 1764050000123;
	snprintf(m->order.id, sizeof(m->order.id), "LC-20261125-0001");
	m->order.category = 2;
	snprintf(m->order.category_name, sizeof(m->order.category_name), "线路故障停电");
	snprintf(m->order.summary, sizeof(m->order.summary), "整栋楼停电\n邻居家有电");
	snprintf(m->order.address, sizeof(m->order.address), "呼和浩特市新城区 \"东风路\" 12号");
	snprintf(m->order.customer, sizeof(m->order.customer), "王先生");
	snprintf(m->order.phone, sizeof(m->order.phone), "+86 471 555 0100");
	m->order.site_lat = 40.8423;
	m->order.site_lon = 111.7497;
	m->order.radius_m = 150;
	m->order.zone = PROTO_ZONE_RURAL;
	snprintf(m->order.zone_name, sizeof(m->order.zone_name), "Hohhot outskirts");
	m->order.created_ms = 1764049800000;
	m->order.dispatched_ms = 1764049900000;
	m->order.arrive_by_ms = 1764049800000 + 120 * 60000LL;
	m->order.complete_by_ms = 1764049800000 + 12 * 3600000LL;
}

static void
sample_event(struct proto_event *e, enum proto_ev_type type)
{
	int	 i;

	memset(e, 0, sizeof(*e));
	e->type = type;
	snprintf(e->dev, sizeof(e->dev), "dev-01");
	e->seq = 42;
	proto_event_make_eid(e);
	e->at_ms = 1764050100000;
	e->has_fix = 1;
	e->fix = fix_at(40.8420, 111.7490, 1764050099000);
	e->dist_m = NAN;
	if (type != PROTO_EV_HELLO)
		snprintf(e->order_id, sizeof(e->order_id), "LC-20261125-0001");
	switch (type) {
	case PROTO_EV_HELLO:
		e->nopen = 2;
		snprintf(e->open[0], sizeof(e->open[0]), "LC-1");
		snprintf(e->open[1], sizeof(e->open[1]), "LC-2");
		break;
	case PROTO_EV_DELIVERED:
		snprintf(e->msg_id, sizeof(e->msg_id), "push-17");
		break;
	case PROTO_EV_ACCEPT:
		break;
	case PROTO_EV_ARRIVE:
		e->method = PROTO_ARRIVE_GPS;
		e->dist_m = 37.5;
		e->dwell_ms = 60000;
		e->ntrack = 3;
		for (i = 0; i < 3; i++)
			e->track[i] = fix_at(40.8421 + i * 1e-5, 111.7491, 1764050040000 + i * 30000);
		e->track[1].eph_m = NAN;	/* unknowns stay unknown */
		e->track[2].alt_m = NAN;
		e->track[2].t_ms = 0;
		break;
	case PROTO_EV_PROGRESS:
		snprintf(e->note, sizeof(e->note), "找到故障点：10kV 线路断线\t更换中");
		break;
	case PROTO_EV_DELAY:
		e->reason = PROTO_DELAY_MATERIALS;
		snprintf(e->note, sizeof(e->note), "waiting for a transformer");
		e->eta_ms = 1764100000000;
		break;
	case PROTO_EV_COMPLETE:
		snprintf(e->note, sizeof(e->note), "power restored");
		break;
	}
}

static void
sample_pos(struct proto_pos *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->dev, sizeof(p->dev), "dev-01");
	p->at_ms = 1764050100000;
	snprintf(p->order_id, sizeof(p->order_id), "LC-20261125-0001");
	p->fix = fix_at(40.8, 111.7, 1764050099000);
}

/* Equal, where NaN equals NaN. */
static void
assert_num(double a, double b)
{
	if (isnan(a) || isnan(b)) {
		assert_true(isnan(a) && isnan(b));
		return;
	}
	assert_true(a == b);
}

static void
assert_fix(const struct proto_fix *a, const struct proto_fix *b)
{
	assert_int_equal(a->t_ms, b->t_ms);
	assert_num(a->lat, b->lat);
	assert_num(a->lon, b->lon);
	assert_int_equal(a->mode, b->mode);
	assert_num(a->eph_m, b->eph_m);
	assert_num(a->speed_mps, b->speed_mps);
	assert_num(a->track_deg, b->track_deg);
	assert_num(a->alt_m, b->alt_m);
}

static void
assert_event(const struct proto_event *a, const struct proto_event *b)
{
	int	 i;

	assert_int_equal(a->type, b->type);
	assert_string_equal(a->dev, b->dev);
	assert_int_equal(a->seq, b->seq);
	assert_string_equal(a->eid, b->eid);
	assert_string_equal(a->order_id, b->order_id);
	assert_int_equal(a->at_ms, b->at_ms);
	assert_int_equal(a->has_fix, b->has_fix);
	if (a->has_fix)
		assert_fix(&a->fix, &b->fix);
	assert_string_equal(a->msg_id, b->msg_id);
	assert_int_equal(a->method, b->method);
	assert_num(a->dist_m, b->dist_m);
	assert_int_equal(a->dwell_ms, b->dwell_ms);
	assert_int_equal(a->ntrack, b->ntrack);
	for (i = 0; i < a->ntrack; i++)
		assert_fix(&a->track[i], &b->track[i]);
	assert_string_equal(a->note, b->note);
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->eta_ms, b->eta_ms);
	assert_int_equal(a->nopen, b->nopen);
	for (i = 0; i < a->nopen; i++)
		assert_string_equal(a->open[i], b->open[i]);
}

/* ---- round trips ---- */

static void
test_roundtrip_order(void **state)
{
	static struct proto_down m, d;
	char			 buf[BUFSZ];
	size_t			 len;
	struct proto_error	 err;

	(void)state;
	sample_order(&m);
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_OK);
	assert_int_equal(len, strlen(buf));
	assert_non_null(strstr(buf, "\"v\":1,\"type\":\"order\""));
	assert_non_null(strstr(buf, "\"at\":1764050000123"));
	assert_int_equal(proto_decode_down(buf, len, &d, &err), PROTO_OK);
	assert_int_equal(err.code, PROTO_OK);
	assert_int_equal(d.type, PROTO_DOWN_ORDER);
	assert_string_equal(d.msg_id, m.msg_id);
	assert_int_equal(d.at_ms, m.at_ms);
	assert_string_equal(d.order.id, m.order.id);
	assert_int_equal(d.order.category, 2);
	assert_string_equal(d.order.category_name, m.order.category_name);
	assert_string_equal(d.order.summary, m.order.summary);
	assert_string_equal(d.order.address, m.order.address);
	assert_string_equal(d.order.customer, m.order.customer);
	assert_string_equal(d.order.phone, m.order.phone);
	assert_num(d.order.site_lat, m.order.site_lat);
	assert_num(d.order.site_lon, m.order.site_lon);
	assert_num(d.order.radius_m, 150);
	assert_int_equal(d.order.zone, PROTO_ZONE_RURAL);
	assert_string_equal(d.order.zone_name, m.order.zone_name);
	assert_int_equal(d.order.created_ms, m.order.created_ms);
	assert_int_equal(d.order.dispatched_ms, m.order.dispatched_ms);
	assert_int_equal(d.order.arrive_by_ms, m.order.arrive_by_ms);
	assert_int_equal(d.order.complete_by_ms, m.order.complete_by_ms);

	/* optional strings may be empty and are then left out */
	m.order.summary[0] = m.order.customer[0] = m.order.phone[0] = '\0';
	m.order.category_name[0] = m.order.zone_name[0] = m.order.address[0] = '\0';
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_OK);
	assert_null(strstr(buf, "summary"));
	assert_int_equal(proto_decode_down(buf, len, &d, &err), PROTO_OK);
	assert_string_equal(d.order.summary, "");
}

static void
test_roundtrip_cancel_ack_sync(void **state)
{
	static struct proto_down m, d;
	char			 buf[BUFSZ];
	size_t			 len;
	struct proto_error	 err;
	int			 i;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_DOWN_CANCEL;
	snprintf(m.msg_id, sizeof(m.msg_id), "push-18");
	m.at_ms = 1764050000999;
	snprintf(m.order_id, sizeof(m.order_id), "LC-20261125-0001");
	snprintf(m.reason, sizeof(m.reason), "reassigned");
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_OK);
	assert_int_equal(proto_decode_down(buf, len, &d, &err), PROTO_OK);
	assert_int_equal(d.type, PROTO_DOWN_CANCEL);
	assert_string_equal(d.msg_id, "push-18");
	assert_string_equal(d.order_id, m.order_id);
	assert_string_equal(d.reason, "reassigned");

	memset(&m, 0, sizeof(m));
	m.type = PROTO_DOWN_ACK;
	m.at_ms = 5;
	m.neids = PROTO_ACK_MAX;
	for (i = 0; i < PROTO_ACK_MAX; i++)
		snprintf(m.eids[i], sizeof(m.eids[i]), "dev-01:%d", i + 1);
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_OK);
	assert_null(strstr(buf, "msg_id"));
	assert_int_equal(proto_decode_down(buf, len, &d, &err), PROTO_OK);
	assert_int_equal(d.type, PROTO_DOWN_ACK);
	assert_int_equal(d.neids, PROTO_ACK_MAX);
	assert_string_equal(d.eids[0], "dev-01:1");
	assert_string_equal(d.eids[63], "dev-01:64");

	memset(&m, 0, sizeof(m));
	m.type = PROTO_DOWN_SYNC;
	m.at_ms = 6;
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_OK);
	assert_string_equal(buf, "{\"v\":1,\"type\":\"sync\",\"at\":6,\"open\":[]}");
	assert_int_equal(proto_decode_down(buf, len, &d, &err), PROTO_OK);
	assert_int_equal(d.type, PROTO_DOWN_SYNC);
	assert_int_equal(d.nopen, 0);
	m.nopen = PROTO_OPEN_MAX;
	for (i = 0; i < PROTO_OPEN_MAX; i++)
		snprintf(m.open[i], sizeof(m.open[i]), "LC-%d", i);
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_OK);
	assert_int_equal(proto_decode_down(buf, len, &d, &err), PROTO_OK);
	assert_int_equal(d.nopen, PROTO_OPEN_MAX);
	assert_string_equal(d.open[63], "LC-63");
}

static void
test_roundtrip_events(void **state)
{
	static struct proto_event e, d;
	char			 buf[BUFSZ];
	size_t			 len;
	struct proto_error	 err;
	int			 t;

	(void)state;
	for (t = PROTO_EV_HELLO; t <= PROTO_EV_COMPLETE; t++) {
		sample_event(&e, (enum proto_ev_type)t);
		assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_OK);
		assert_int_equal(proto_decode_event(buf, len, &d, &err), PROTO_OK);
		assert_event(&e, &d);

		/* and without a fix */
		e.has_fix = 0;
		assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_OK);
		assert_null(strstr(buf, "\"fix\""));
		assert_int_equal(proto_decode_event(buf, len, &d, &err), PROTO_OK);
		assert_event(&e, &d);
	}
}

static void
test_roundtrip_event_variants(void **state)
{
	static struct proto_event e, d;
	char			 buf[BUFSZ];
	size_t			 len;
	struct proto_error	 err;
	int			 i;

	(void)state;
	/* manual arrival: no track, no distance, a note */
	sample_event(&e, PROTO_EV_ARRIVE);
	e.method = PROTO_ARRIVE_MANUAL;
	e.ntrack = 0;
	e.dist_m = NAN;
	e.dwell_ms = 0;
	e.has_fix = 0;
	snprintf(e.note, sizeof(e.note), "GPS lost in the substation");
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_OK);
	assert_null(strstr(buf, "track"));
	assert_null(strstr(buf, "dist"));
	assert_int_equal(proto_decode_event(buf, len, &d, &err), PROTO_OK);
	assert_event(&e, &d);

	/* the longest track, seq at 2^53 */
	sample_event(&e, PROTO_EV_ARRIVE);
	e.seq = (uint64_t)PJ_INT_LIMIT;
	proto_event_make_eid(&e);
	assert_string_equal(e.eid, "dev-01:9007199254740992");
	e.ntrack = PROTO_TRACK_MAX;
	for (i = 0; i < PROTO_TRACK_MAX; i++)
		e.track[i] = fix_at(-89.999999, -179.5 + i, 1 + i);
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_OK);
	assert_int_equal(proto_decode_event(buf, len, &d, &err), PROTO_OK);
	assert_event(&e, &d);

	/* delay "other" with its required note; no eta */
	sample_event(&e, PROTO_EV_DELAY);
	e.reason = PROTO_DELAY_OTHER;
	e.eta_ms = 0;
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_OK);
	assert_int_equal(proto_decode_event(buf, len, &d, &err), PROTO_OK);
	assert_event(&e, &d);

	/* every delay reason */
	for (i = 0; i < PROTO_DELAY_NREASONS; i++) {
		sample_event(&e, PROTO_EV_DELAY);
		e.reason = (enum proto_delay_reason)i;
		assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_OK);
		assert_int_equal(proto_decode_event(buf, len, &d, &err), PROTO_OK);
		assert_int_equal(d.reason, i);
	}

	/* complete without a note; a fix with only the required members */
	sample_event(&e, PROTO_EV_COMPLETE);
	e.note[0] = '\0';
	e.fix.t_ms = 0;
	e.fix.mode = 2;
	e.fix.eph_m = e.fix.speed_mps = e.fix.track_deg = e.fix.alt_m = NAN;
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_OK);
	assert_non_null(strstr(buf, "\"fix\":{\"lat\":40.842,\"lon\":111.749,\"mode\":2}"));
	assert_int_equal(proto_decode_event(buf, len, &d, &err), PROTO_OK);
	assert_event(&e, &d);

	/* hello with no open orders */
	sample_event(&e, PROTO_EV_HELLO);
	e.nopen = 0;
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_OK);
	assert_int_equal(proto_decode_event(buf, len, &d, &err), PROTO_OK);
	assert_event(&e, &d);
}

static void
test_roundtrip_pos_presence(void **state)
{
	struct proto_pos	 p, dp;
	struct proto_presence	 s, ds;
	char			 buf[BUFSZ];
	size_t			 len;
	struct proto_error	 err;

	(void)state;
	sample_pos(&p);
	assert_int_equal(proto_encode_pos(&p, buf, sizeof(buf), &len), PROTO_OK);
	assert_int_equal(proto_decode_pos(buf, len, &dp, &err), PROTO_OK);
	assert_string_equal(dp.dev, p.dev);
	assert_int_equal(dp.at_ms, p.at_ms);
	assert_string_equal(dp.order_id, p.order_id);
	assert_fix(&dp.fix, &p.fix);

	p.order_id[0] = '\0';
	assert_int_equal(proto_encode_pos(&p, buf, sizeof(buf), &len), PROTO_OK);
	assert_null(strstr(buf, "order_id"));
	assert_int_equal(proto_decode_pos(buf, len, &dp, &err), PROTO_OK);
	assert_string_equal(dp.order_id, "");

	memset(&s, 0, sizeof(s));
	snprintf(s.dev, sizeof(s.dev), "dev-02");
	s.online = 1;
	s.at_ms = 1764050100000;
	assert_int_equal(proto_encode_presence(&s, buf, sizeof(buf), &len), PROTO_OK);
	assert_int_equal(proto_decode_presence(buf, len, &ds, &err), PROTO_OK);
	assert_string_equal(ds.dev, "dev-02");
	assert_int_equal(ds.online, 1);
	assert_int_equal(ds.at_ms, s.at_ms);

	/* the will: offline, time unknown */
	s.online = 0;
	s.at_ms = 0;
	assert_int_equal(proto_encode_presence(&s, buf, sizeof(buf), &len), PROTO_OK);
	assert_string_equal(buf,
	    "{\"v\":1,\"type\":\"presence\",\"dev\":\"dev-02\",\"online\":false,\"at\":0}");
	assert_int_equal(proto_decode_presence(buf, len, &ds, &err), PROTO_OK);
	assert_int_equal(ds.online, 0);
	assert_int_equal(ds.at_ms, 0);
}

/* Decoders ignore members they do not know (forward compatibility). */
static void
test_unknown_fields_ignored(void **state)
{
	const char		*j = "{\"v\":1,\"type\":\"presence\",\"dev\":\"d\",\"online\":true,"
				    "\"at\":1,\"battery\":{\"pct\":80,\"x\":[1,2,{\"y\":null}]}}";
	struct proto_presence	 s;
	struct proto_error	 err;

	(void)state;
	assert_int_equal(proto_decode_presence(j, strlen(j), &s, &err), PROTO_OK);
	assert_int_equal(s.online, 1);
}

/* ---- encoder refusals ---- */

static void
test_encode_refuses(void **state)
{
	static struct proto_event e;
	static struct proto_down m;
	struct proto_pos	 p;
	struct proto_presence	 s;
	char			 buf[BUFSZ];
	size_t			 len;

	(void)state;
	sample_event(&e, PROTO_EV_ACCEPT);
	snprintf(e.dev, sizeof(e.dev), "a/b");
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	assert_string_equal(buf, "");
	assert_int_equal(len, 0);

	sample_event(&e, PROTO_EV_ACCEPT);
	e.seq = 43;	/* eid still says 42 */
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	e.seq = (uint64_t)PJ_INT_LIMIT + 1;
	proto_event_make_eid(&e);
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);

	sample_event(&e, PROTO_EV_ACCEPT);
	e.fix.lat = NAN;
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	e.fix.lat = 91;
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	sample_event(&e, PROTO_EV_ACCEPT);
	e.fix.speed_mps = INFINITY;
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);

	sample_event(&e, PROTO_EV_ARRIVE);
	e.ntrack = 0;	/* gps needs evidence */
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	e.ntrack = PROTO_TRACK_MAX + 1;
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	e.ntrack = -1;
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);

	sample_event(&e, PROTO_EV_PROGRESS);
	e.note[0] = '\0';
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	sample_event(&e, PROTO_EV_PROGRESS);
	memset(e.note, 'x', sizeof(e.note));	/* not NUL-terminated: no overread */
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	sample_event(&e, PROTO_EV_PROGRESS);
	e.note[3] = '\x01';
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	sample_event(&e, PROTO_EV_PROGRESS);
	e.note[0] = '\xff';	/* not UTF-8 */
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);

	sample_event(&e, PROTO_EV_DELAY);
	e.reason = PROTO_DELAY_OTHER;
	e.note[0] = '\0';
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	e.reason = (enum proto_delay_reason)PROTO_DELAY_NREASONS;
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);
	sample_event(&e, (enum proto_ev_type)7);
	assert_int_equal(proto_encode_event(&e, buf, sizeof(buf), &len), PROTO_E_RANGE);

	sample_order(&m);
	m.order.category = 8;
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_E_RANGE);
	sample_order(&m);
	m.order.zone = (enum proto_zone)3;
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_E_RANGE);
	sample_order(&m);
	memset(m.order.id, 'A', sizeof(m.order.id));
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_E_RANGE);
	sample_order(&m);
	m.msg_id[0] = '\0';	/* an order push needs its msg_id */
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_E_RANGE);
	sample_order(&m);
	snprintf(m.order.customer, sizeof(m.order.customer), "two\nlines");
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_E_RANGE);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_DOWN_ACK;
	m.at_ms = 1;
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_E_RANGE);
	m.neids = 1;
	snprintf(m.eids[0], sizeof(m.eids[0]), "dev-01:0");
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_E_RANGE);
	m.neids = PROTO_ACK_MAX + 1;
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_E_RANGE);
	m.type = (enum proto_down_type)4;
	assert_int_equal(proto_encode_down(&m, buf, sizeof(buf), &len), PROTO_E_RANGE);

	sample_pos(&p);
	p.at_ms = 0;
	assert_int_equal(proto_encode_pos(&p, buf, sizeof(buf), &len), PROTO_E_RANGE);
	sample_pos(&p);
	p.fix.mode = 1;
	assert_int_equal(proto_encode_pos(&p, buf, sizeof(buf), &len), PROTO_E_RANGE);

	memset(&s, 0, sizeof(s));
	snprintf(s.dev, sizeof(s.dev), "#");
	assert_int_equal(proto_encode_presence(&s, buf, sizeof(buf), &len), PROTO_E_RANGE);
	snprintf(s.dev, sizeof(s.dev), "d");
	s.at_ms = -1;
	assert_int_equal(proto_encode_presence(&s, buf, sizeof(buf), &len), PROTO_E_RANGE);
}

/* Every buffer size: PROTO_E_BUFFER with "" or PROTO_OK with the whole message. */
static void
test_encode_small_buffer(void **state)
{
	static struct proto_event e;
	char			 full[BUFSZ], buf[BUFSZ];
	size_t			 flen, len, cap;
	enum proto_err		 rc;

	(void)state;
	sample_event(&e, PROTO_EV_ARRIVE);
	assert_int_equal(proto_encode_event(&e, full, sizeof(full), &flen), PROTO_OK);
	for (cap = 0; cap <= flen + 8; cap++) {
		memset(buf, 'x', sizeof(buf));
		rc = proto_encode_event(&e, buf, cap, &len);
		if (cap <= flen) {
			assert_int_equal(rc, PROTO_E_BUFFER);
			assert_int_equal(len, 0);
			if (cap > 0)
				assert_string_equal(buf, "");
			assert_true(buf[cap] == 'x');
		} else if (rc == PROTO_OK) {
			assert_int_equal(len, flen);
			assert_string_equal(buf, full);
		} else {
			assert_int_equal(rc, PROTO_E_BUFFER);
		}
	}
	assert_int_equal(proto_encode_event(&e, buf, flen + 8, &len), PROTO_OK);
}

/* ---- malformed input ---- */

enum kind { K_DOWN, K_EVENT, K_POS, K_PRESENCE };

/* Decode payload (len bytes) as kind; the code, with err filled. */
static enum proto_err
decode_as(enum kind k, const void *payload, size_t len, struct proto_error *err)
{
	static struct proto_down	 d;
	static struct proto_event	 e;
	struct proto_pos		 p;
	struct proto_presence		 s;

	switch (k) {
	case K_DOWN:
		return proto_decode_down(payload, len, &d, err);
	case K_EVENT:
		return proto_decode_event(payload, len, &e, err);
	case K_POS:
		return proto_decode_pos(payload, len, &p, err);
	case K_PRESENCE:
		return proto_decode_presence(payload, len, &s, err);
	}
	return PROTO_OK;
}

/* Assert that payload fails with code on field, and that msg starts "<field>: ". */
static void
expect_fail(enum kind k, const char *payload, size_t len, enum proto_err code,
    const char *field)
{
	struct proto_error	 err;
	enum proto_err		 rc;
	char			 prefix[80];

	memset(&err, 0x55, sizeof(err));
	rc = decode_as(k, payload, len, &err);
	if (rc != code || err.code != code || strcmp(err.field, field) != 0) {
		print_error("payload %.300s\n  want %s on \"%s\", got %d/%d on \"%.64s\": %.192s\n",
		    payload, proto_strerror(code), field, (int)rc, (int)err.code, err.field,
		    err.msg);
		fail();
	}
	if (code == PROTO_OK)
		return;
	snprintf(prefix, sizeof(prefix), "%s: ", field[0] != '\0' ? field : "payload");
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || strlen(err.msg) <= strlen(prefix)) {
		print_error("message \"%s\" does not start with \"%s\"\n", err.msg, prefix);
		fail();
	}
}

static void
expect_fail_str(enum kind k, const char *payload, enum proto_err code, const char *field)
{
	expect_fail(k, payload, strlen(payload), code, field);
}

/* A valid payload of every message, from the encoder. */
static char *
good_payload(enum kind k, int sub)
{
	static struct proto_down	 m;
	static struct proto_event	 e;
	struct proto_pos		 p;
	struct proto_presence		 s;
	char				 buf[BUFSZ];
	size_t				 len;
	enum proto_err			 rc = PROTO_E_RANGE;

	switch (k) {
	case K_DOWN:
		if (sub == PROTO_DOWN_ORDER)
			sample_order(&m);
		else {
			memset(&m, 0, sizeof(m));
			m.type = (enum proto_down_type)sub;
			snprintf(m.msg_id, sizeof(m.msg_id), "push-1");
			m.at_ms = 1000;
			snprintf(m.order_id, sizeof(m.order_id), "LC-1");
			snprintf(m.reason, sizeof(m.reason), "cancelled");
			m.neids = 2;
			snprintf(m.eids[0], sizeof(m.eids[0]), "dev-01:1");
			snprintf(m.eids[1], sizeof(m.eids[1]), "dev-01:2");
			m.nopen = 2;
			snprintf(m.open[0], sizeof(m.open[0]), "LC-1");
			snprintf(m.open[1], sizeof(m.open[1]), "LC-2");
		}
		rc = proto_encode_down(&m, buf, sizeof(buf), &len);
		break;
	case K_EVENT:
		sample_event(&e, (enum proto_ev_type)sub);
		rc = proto_encode_event(&e, buf, sizeof(buf), &len);
		break;
	case K_POS:
		sample_pos(&p);
		rc = proto_encode_pos(&p, buf, sizeof(buf), &len);
		break;
	case K_PRESENCE:
		memset(&s, 0, sizeof(s));
		snprintf(s.dev, sizeof(s.dev), "dev-01");
		s.online = 1;
		s.at_ms = 1000;
		rc = proto_encode_presence(&s, buf, sizeof(buf), &len);
		break;
	}
	assert_int_equal(rc, PROTO_OK);
	return strdup(buf);
}

/*
 * Find the parent of a dotted path ("order.site.lat", "track[1].lat",
 * "eids[0]") in root; *key / *idx name the last step (idx -1 for a member).
 */
static cJSON *
path_parent(cJSON *root, const char *path, char *key, size_t cap, int *idx)
{
	char	 tmp[128], *tok, *save = NULL, *br;
	cJSON	*cur = root, *parent = NULL;

	snprintf(tmp, sizeof(tmp), "%s", path);
	*idx = -1;
	for (tok = strtok_r(tmp, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save)) {
		int i = -1;

		if ((br = strchr(tok, '[')) != NULL) {
			*br = '\0';
			i = (int)strtol(br + 1, NULL, 10);
		}
		parent = cur;
		snprintf(key, cap, "%s", tok);
		*idx = i;
		cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
		assert_non_null(cur);
		if (i >= 0) {
			parent = cur;
			cur = cJSON_GetArrayItem(cur, i);
			assert_non_null(cur);
		}
	}
	return parent;
}

/* good with the value at path replaced by val (NULL: removed); malloc'd. */
static char *
mutate(const char *good, const char *path, cJSON *val)
{
	cJSON	*root = cJSON_Parse(good), *parent;
	char	 key[64], *out;
	int	 idx;

	assert_non_null(root);
	parent = path_parent(root, path, key, sizeof(key), &idx);
	if (idx >= 0) {
		if (val == NULL)
			cJSON_DeleteItemFromArray(parent, idx);
		else
			assert_true(cJSON_ReplaceItemInArray(parent, idx, val));
	} else {
		if (val == NULL)
			cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
		else
			assert_true(cJSON_ReplaceItemInObjectCaseSensitive(parent, key, val));
	}
	out = cJSON_PrintUnformatted(root);
	assert_non_null(out);
	cJSON_Delete(root);
	return out;
}

/* Raw JSON text for a replacement value. */
static cJSON *
raw(const char *json)
{
	cJSON *v = cJSON_Parse(json);

	assert_non_null(v);
	return v;
}

struct reqcase {
	enum kind	 kind;
	int		 sub;		/* message type */
	const char	*path;
	const char	*wrong;		/* a value of the wrong JSON type */
};

/* Every required field of every message. */
static const struct reqcase required[] = {
	{ K_DOWN, PROTO_DOWN_ORDER, "msg_id", "7" },
	{ K_DOWN, PROTO_DOWN_ORDER, "at", "\"1000\"" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order", "[]" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.id", "{}" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.category", "\"2\"" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.site", "\"40.8,111.7\"" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.site.lat", "\"40.8\"" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.site.lon", "true" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.radius_m", "[150]" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.zone", "0" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.created_ms", "\"now\"" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.dispatched_ms", "false" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.arrive_by_ms", "{}" },
	{ K_DOWN, PROTO_DOWN_ORDER, "order.complete_by_ms", "[1]" },
	{ K_DOWN, PROTO_DOWN_CANCEL, "msg_id", "[]" },
	{ K_DOWN, PROTO_DOWN_CANCEL, "at", "true" },
	{ K_DOWN, PROTO_DOWN_CANCEL, "order_id", "12" },
	{ K_DOWN, PROTO_DOWN_CANCEL, "reason", "1" },
	{ K_DOWN, PROTO_DOWN_ACK, "at", "\"x\"" },
	{ K_DOWN, PROTO_DOWN_ACK, "eids", "\"dev-01:1\"" },
	{ K_DOWN, PROTO_DOWN_ACK, "eids[1]", "2" },
	{ K_DOWN, PROTO_DOWN_SYNC, "at", "[]" },
	{ K_DOWN, PROTO_DOWN_SYNC, "open", "{}" },
	{ K_DOWN, PROTO_DOWN_SYNC, "open[0]", "true" },
	{ K_EVENT, PROTO_EV_HELLO, "dev", "1" },
	{ K_EVENT, PROTO_EV_HELLO, "seq", "\"42\"" },
	{ K_EVENT, PROTO_EV_HELLO, "eid", "42" },
	{ K_EVENT, PROTO_EV_HELLO, "at", "true" },
	{ K_EVENT, PROTO_EV_HELLO, "open", "\"LC-1\"" },
	{ K_EVENT, PROTO_EV_HELLO, "open[1]", "{}" },
	{ K_EVENT, PROTO_EV_DELIVERED, "order_id", "1" },
	{ K_EVENT, PROTO_EV_DELIVERED, "msg_id", "[\"push-17\"]" },
	{ K_EVENT, PROTO_EV_ACCEPT, "order_id", "{}" },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.lat", "\"40.8\"" },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.lon", "[]" },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.mode", "\"3d\"" },
	{ K_EVENT, PROTO_EV_ARRIVE, "order_id", "true" },
	{ K_EVENT, PROTO_EV_ARRIVE, "method", "1" },
	{ K_EVENT, PROTO_EV_ARRIVE, "track", "{}" },
	{ K_EVENT, PROTO_EV_ARRIVE, "track[2].lat", "\"n\"" },
	{ K_EVENT, PROTO_EV_ARRIVE, "track[0].lon", "{}" },
	{ K_EVENT, PROTO_EV_ARRIVE, "track[1].mode", "[3]" },
	{ K_EVENT, PROTO_EV_PROGRESS, "order_id", "1" },
	{ K_EVENT, PROTO_EV_PROGRESS, "note", "1" },
	{ K_EVENT, PROTO_EV_DELAY, "order_id", "1" },
	{ K_EVENT, PROTO_EV_DELAY, "reason", "3" },
	{ K_EVENT, PROTO_EV_COMPLETE, "order_id", "1" },
	{ K_EVENT, PROTO_EV_COMPLETE, "seq", "[]" },
	{ K_POS, 0, "dev", "[]" },
	{ K_POS, 0, "at", "\"1\"" },
	{ K_POS, 0, "fix", "[40.8, 111.7]" },
	{ K_POS, 0, "fix.lat", "false" },
	{ K_POS, 0, "fix.lon", "\"111\"" },
	{ K_POS, 0, "fix.mode", "3.5" },	/* a fraction is the wrong type for an integer */
	{ K_PRESENCE, 0, "dev", "true" },
	{ K_PRESENCE, 0, "online", "1" },
	{ K_PRESENCE, 0, "at", "\"0\"" },
};

static int
is_element(const char *path)
{
	size_t n = strlen(path);

	return n > 0 && path[n - 1] == ']';
}

static void
test_required_missing_null_wrongtype(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const struct reqcase	*c = &required[i];
		char			*good = good_payload(c->kind, c->sub), *bad;

		/* sanity: the unmodified payload decodes */
		expect_fail_str(c->kind, good, PROTO_OK, "");

		bad = mutate(good, c->path, raw(c->wrong));
		expect_fail_str(c->kind, bad, PROTO_E_WRONGTYPE, c->path);
		cJSON_free(bad);

		bad = mutate(good, c->path, cJSON_CreateNull());
		expect_fail_str(c->kind, bad, PROTO_E_MISSING, c->path);
		cJSON_free(bad);

		if (!is_element(c->path)) {
			bad = mutate(good, c->path, NULL);
			expect_fail_str(c->kind, bad, PROTO_E_MISSING, c->path);
			cJSON_free(bad);
		}
		free(good);
	}
}

struct valcase {
	enum kind	 kind;
	int		 sub;
	const char	*path;
	const char	*value;		/* JSON text, or NULL to delete */
	enum proto_err	 code;
	const char	*field;		/* expected field, NULL: same as path */
};

#define S53P2	"9007199254740994"

static const struct valcase values[] = {
	/* numbers out of range */
	{ K_DOWN, 0, "order.site.lat", "90.0000001", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.site.lat", "-91", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.site.lon", "180.5", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.category", "0", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.category", "8", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.category", "2.5", PROTO_E_WRONGTYPE, NULL },
	{ K_DOWN, 0, "order.radius_m", "0", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.radius_m", "10000.5", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.created_ms", "0", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.complete_by_ms", "-1", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.arrive_by_ms", S53P2, PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.arrive_by_ms", "1e300", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "at", "1764050000123.5", PROTO_E_WRONGTYPE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "seq", "0", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "seq", "-42", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "seq", "42.5", PROTO_E_WRONGTYPE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "seq", S53P2, PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "at", "0", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.lat", "-90.5", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.lon", "-180.0001", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.mode", "1", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.mode", "4", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.eph", "-0.1", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.eph", "\"4\"", PROTO_E_WRONGTYPE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.speed", "-1", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.speed", "1000", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.track", "360.1", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.alt", "-1e9", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.t", "0", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.t", "17.5", PROTO_E_WRONGTYPE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix", "\"none\"", PROTO_E_WRONGTYPE, NULL },
	{ K_EVENT, PROTO_EV_ARRIVE, "dist", "-1", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ARRIVE, "dist", "\"37\"", PROTO_E_WRONGTYPE, NULL },
	{ K_EVENT, PROTO_EV_ARRIVE, "dwell", "-1", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ARRIVE, "dwell", "0.5", PROTO_E_WRONGTYPE, NULL },
	{ K_EVENT, PROTO_EV_ARRIVE, "track[1].speed", "1e3", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ARRIVE, "track[2]", "[]", PROTO_E_WRONGTYPE, NULL },
	{ K_EVENT, PROTO_EV_ARRIVE, "track", "[]", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ARRIVE, "method", "\"walk\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ARRIVE, "method", "\"GPS\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_DELAY, "reason", "\"aliens\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_DELAY, "eta", "0", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_DELAY, "eta", "\"tomorrow\"", PROTO_E_WRONGTYPE, NULL },
	{ K_PRESENCE, 0, "at", "-1", PROTO_E_RANGE, NULL },
	{ K_PRESENCE, 0, "online", "null", PROTO_E_MISSING, NULL },
	{ K_PRESENCE, 0, "online", "\"true\"", PROTO_E_WRONGTYPE, NULL },
	{ K_POS, 0, "order_id", "\"\"", PROTO_E_RANGE, NULL },
	{ K_POS, 0, "order_id", "\"LC 1\"", PROTO_E_RANGE, NULL },
	/* ids */
	{ K_EVENT, PROTO_EV_ACCEPT, "dev", "\"a/b\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "dev", "\"+\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "dev", "\"\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "dev", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	  PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "order_id", "\"LC/1\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_ACCEPT, "order_id",
	  "\"0123456789012345678901234567890123456789\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_DELIVERED, "msg_id", "\"\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.id", "\"LC#1\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, PROTO_DOWN_SYNC, "open[1]", "\"bad id\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, PROTO_DOWN_ACK, "eids[0]", "\"dev-01\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, PROTO_DOWN_ACK, "eids[0]", "\"dev-01:0\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, PROTO_DOWN_ACK, "eids[0]", "\"dev-01:07\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, PROTO_DOWN_ACK, "eids[0]", "\":7\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, PROTO_DOWN_ACK, "eids[0]", "\"a/b:7\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, PROTO_DOWN_ACK, "eids[0]", "\"d:" S53P2 "\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, PROTO_DOWN_ACK, "eids", "[]", PROTO_E_RANGE, NULL },
	{ K_DOWN, PROTO_DOWN_CANCEL, "reason", "\"\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, PROTO_DOWN_ORDER, "msg_id", "\"\"", PROTO_E_RANGE, NULL },
	/* eid must be "<dev>:<seq>" */
	{ K_EVENT, PROTO_EV_COMPLETE, "eid", "\"dev-01:43\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_COMPLETE, "eid", "\"dev-02:42\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_COMPLETE, "eid", "\"dev-01:042\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_COMPLETE, "eid", "\"\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_COMPLETE, "seq", "43", PROTO_E_RANGE, "eid" },
	/* enumerations and conditional requirements */
	{ K_DOWN, 0, "order.zone", "\"suburban\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.zone", "\"Urban\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.site", "{\"lat\":40,\"lon\":111,\"crs\":\"gcj02\"}", PROTO_E_RANGE,
	  "order.site.crs" },
	{ K_DOWN, 0, "order.site", "{\"lat\":40,\"lon\":111,\"crs\":\"wgs84\"}", PROTO_OK, "" },
	{ K_DOWN, 0, "order.site", "{\"lon\":111}", PROTO_E_MISSING, "order.site.lat" },
	{ K_EVENT, PROTO_EV_ARRIVE, "track", NULL, PROTO_E_MISSING, NULL },
	{ K_EVENT, PROTO_EV_PROGRESS, "note", "\"\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_PROGRESS, "note", NULL, PROTO_E_MISSING, NULL },
	{ K_EVENT, PROTO_EV_DELAY, "reason", "\"other\"", PROTO_OK, "" },
	{ K_EVENT, PROTO_EV_DELAY, "note", NULL, PROTO_OK, "" },
	{ K_EVENT, PROTO_EV_COMPLETE, "note", NULL, PROTO_OK, "" },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix", NULL, PROTO_OK, "" },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix", "null", PROTO_OK, "" },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.eph", NULL, PROTO_OK, "" },
	{ K_EVENT, PROTO_EV_ACCEPT, "fix.t", NULL, PROTO_OK, "" },
	/* strings */
	{ K_EVENT, PROTO_EV_PROGRESS, "note", "\"bell \\u0007\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_PROGRESS, "note", "\"cr \\r\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_PROGRESS, "note", "\"del \\u007f\"", PROTO_E_RANGE, NULL },
	{ K_EVENT, PROTO_EV_PROGRESS, "note", "\"tab\\tand\\nnewline are fine\"", PROTO_OK, "" },
	{ K_EVENT, PROTO_EV_PROGRESS, "note", "\"\\ud83d\\ude00 emoji\"", PROTO_OK, "" },
	{ K_DOWN, 0, "order.customer", "\"two\\nlines\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.phone", "\"\\t123\"", PROTO_E_RANGE, NULL },
	{ K_DOWN, 0, "order.address", "12", PROTO_E_WRONGTYPE, NULL },
	{ K_DOWN, PROTO_DOWN_CANCEL, "reason", "\"a\\nb\"", PROTO_E_RANGE, NULL },
};

static void
test_values(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		const struct valcase	*c = &values[i];
		char			*good = good_payload(c->kind, c->sub), *bad;

		bad = mutate(good, c->path, c->value != NULL ? raw(c->value) : NULL);
		expect_fail_str(c->kind, bad, c->code, c->field != NULL ? c->field : c->path);
		cJSON_free(bad);
		free(good);
	}
}

/* A string member of n bytes of c into a good payload at path. */
static char *
with_long_string(enum kind k, int sub, const char *path, size_t n, const char *unit)
{
	char	*good = good_payload(k, sub), *s, *bad;
	size_t	 ulen = strlen(unit), i;

	s = malloc(n + 1);
	assert_non_null(s);
	for (i = 0; i + ulen <= n; i += ulen)
		memcpy(s + i, unit, ulen);
	s[i] = '\0';
	bad = mutate(good, path, cJSON_CreateString(s));
	free(s);
	free(good);
	return bad;
}

static void
test_string_caps(void **state)
{
	char	*p;

	(void)state;
	/* 511 bytes fit PROTO_TEXT_MAX, 512 do not; multibyte counts in bytes */
	p = with_long_string(K_EVENT, PROTO_EV_PROGRESS, "note", 511, "x");
	expect_fail_str(K_EVENT, p, PROTO_OK, "");
	cJSON_free(p);
	p = with_long_string(K_EVENT, PROTO_EV_PROGRESS, "note", 512, "x");
	expect_fail_str(K_EVENT, p, PROTO_E_RANGE, "note");
	cJSON_free(p);
	p = with_long_string(K_EVENT, PROTO_EV_PROGRESS, "note", 513, "停");
	expect_fail_str(K_EVENT, p, PROTO_E_RANGE, "note");
	cJSON_free(p);
	p = with_long_string(K_DOWN, 0, "order.customer", 96, "x");
	expect_fail_str(K_DOWN, p, PROTO_E_RANGE, "order.customer");
	cJSON_free(p);
	p = with_long_string(K_DOWN, 0, "order.summary", 600, "x");
	expect_fail_str(K_DOWN, p, PROTO_E_RANGE, "order.summary");
	cJSON_free(p);
	p = with_long_string(K_DOWN, PROTO_DOWN_CANCEL, "reason", 95, "r");
	expect_fail_str(K_DOWN, p, PROTO_OK, "");
	cJSON_free(p);
}

static void
test_bad_utf8(void **state)
{
	static const char *bad[] = {
		"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xc3", "abc\xe6\x96", "\x80",
	};
	char	 json[256];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json), "{\"v\":1,\"type\":\"progress\",\"dev\":\"d\","
		    "\"seq\":1,\"eid\":\"d:1\",\"at\":1,\"order_id\":\"o\",\"note\":\"%s\"}",
		    bad[i]);
		expect_fail_str(K_EVENT, json, PROTO_E_RANGE, "note");
	}
	snprintf(json, sizeof(json), "{\"v\":1,\"type\":\"progress\",\"dev\":\"d\",\"seq\":1,"
	    "\"eid\":\"d:1\",\"at\":1,\"order_id\":\"o\",\"note\":\"%s\"}",
	    "\xc3\xa9\xe6\x96\xad\xf0\x9f\x98\x80");
	expect_fail_str(K_EVENT, json, PROTO_OK, "");
}

/* "\u0000" must not silently cut a string short: it is refused, naming the field. */
static void
test_embedded_nul(void **state)
{
	static const struct {
		enum kind	 kind;
		const char	*json;
		const char	*field;
	} cases[] = {
		{ K_EVENT, "{\"v\":1,\"type\":\"progress\",\"dev\":\"d\",\"seq\":1,\"eid\":\"d:1\","
		  "\"at\":1,\"order_id\":\"o\",\"note\":\"a\\u0000b\"}", "note" },
		{ K_EVENT, "{\"v\":1,\"type\":\"progress\",\"dev\":\"d\",\"seq\":1,\"eid\":\"d:1\","
		  "\"at\":1,\"order_id\":\"o\",\"note\":\"\\u0000\"}", "note" },
		{ K_PRESENCE, "{\"v\":1,\"type\":\"presence\",\"dev\":\"d\\u0000x\",\"online\":true,"
		  "\"at\":1}", "dev" },
		{ K_EVENT, "{\"v\":1,\"type\":\"accept\",\"dev\":\"d\",\"seq\":1,\"eid\":\"d:1\\u0000\","
		  "\"at\":1,\"order_id\":\"o\"}", "eid" },
		{ K_DOWN, "{\"v\":1,\"type\":\"sync\",\"at\":1,\"open\":[\"o\",\"p\\u0000q\"]}",
		  "open[1]" },
		{ K_DOWN, "{\"v\":1,\"type\":\"order\\u0000\"}", "type" },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_fail_str(cases[i].kind, cases[i].json, PROTO_E_RANGE, cases[i].field);
	/* an escaped backslash before "u0000" is not an escape: plain text */
	expect_fail_str(K_EVENT, "{\"v\":1,\"type\":\"progress\",\"dev\":\"d\",\"seq\":1,"
	    "\"eid\":\"d:1\",\"at\":1,\"order_id\":\"o\",\"note\":\"C:\\\\u0000\"}", PROTO_OK, "");
}

/* Whole-payload failures: syntax, size, version, type. */
static void
test_payload_level(void **state)
{
	static const struct {
		enum kind	 kind;
		const char	*json;
		enum proto_err	 code;
		const char	*field;
	} cases[] = {
		{ K_PRESENCE, "{\"v\":1,\"type\":\"presence\",\"dev\":\"d\",\"online\":true,\"at\"",
		  PROTO_E_JSON, "" },
		{ K_PRESENCE, "{\"v\":1,", PROTO_E_JSON, "" },
		{ K_PRESENCE, "{", PROTO_E_JSON, "" },
		{ K_PRESENCE, "{\"v\":1,\"type\":\"pres", PROTO_E_JSON, "" },
		{ K_PRESENCE, "[1,2]", PROTO_E_JSON, "" },
		{ K_PRESENCE, "\"presence\"", PROTO_E_JSON, "" },
		{ K_PRESENCE, "1", PROTO_E_JSON, "" },
		{ K_PRESENCE, "null", PROTO_E_JSON, "" },
		{ K_PRESENCE, "   ", PROTO_E_JSON, "" },
		{ K_PRESENCE, "{} {}", PROTO_E_JSON, "" },
		{ K_PRESENCE, "{}x", PROTO_E_JSON, "" },
		{ K_PRESENCE, "{\"v\":1,\"type\":\"presence\",\"dev\":\"d\",\"online\":true,"
		  "\"at\":1e400}", PROTO_E_RANGE, "at" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":1,\"fix\":{\"lat\":1,"
		  "\"lon\":2,\"mode\":2,\"alt\":-1e999}}", PROTO_E_RANGE, "fix.alt" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":NaN}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":Infinity}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":-Infinity}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":-inf}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":0x10}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":01}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":1.}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":.5}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":+1}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":1e}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\",\"at\":-}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"a\tb\"}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"a\\u00zz\"}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",\"dev\":\"\\ud800\"}", PROTO_E_JSON, "" },
		{ K_POS, "{'v':1}", PROTO_E_JSON, "" },
		{ K_POS, "{\"v\":1,\"type\":\"pos\",}", PROTO_E_JSON, "" },
		{ K_PRESENCE, "{\"v\":1,\"v\":1,\"type\":\"presence\"}", PROTO_E_JSON, "v" },
		{ K_EVENT, "{\"v\":1,\"fix\":{\"lat\":1,\"lat\":2}}", PROTO_E_JSON, "fix.lat" },
		{ K_EVENT, "{\"v\":1,\"track\":[{},{\"a\":1,\"a\":1}]}", PROTO_E_JSON,
		  "track[1].a" },
		/* version */
		{ K_PRESENCE, "{\"type\":\"presence\"}", PROTO_E_VERSION, "v" },
		{ K_PRESENCE, "{\"v\":2,\"type\":\"presence\"}", PROTO_E_VERSION, "v" },
		{ K_PRESENCE, "{\"v\":0,\"type\":\"presence\"}", PROTO_E_VERSION, "v" },
		{ K_PRESENCE, "{\"v\":\"1\",\"type\":\"presence\"}", PROTO_E_VERSION, "v" },
		{ K_PRESENCE, "{\"v\":null,\"type\":\"presence\"}", PROTO_E_VERSION, "v" },
		{ K_PRESENCE, "{\"v\":1.5,\"type\":\"presence\"}", PROTO_E_VERSION, "v" },
		{ K_PRESENCE, "{\"V\":1,\"type\":\"presence\"}", PROTO_E_VERSION, "v" },
		/* type */
		{ K_PRESENCE, "{\"v\":1}", PROTO_E_MISSING, "type" },
		{ K_PRESENCE, "{\"v\":1,\"type\":7}", PROTO_E_WRONGTYPE, "type" },
		{ K_PRESENCE, "{\"v\":1,\"type\":\"pos\"}", PROTO_E_TYPE, "type" },
		{ K_POS, "{\"v\":1,\"type\":\"presence\"}", PROTO_E_TYPE, "type" },
		{ K_EVENT, "{\"v\":1,\"type\":\"order\"}", PROTO_E_TYPE, "type" },
		{ K_EVENT, "{\"v\":1,\"type\":\"Arrive\"}", PROTO_E_TYPE, "type" },
		{ K_EVENT, "{\"v\":1,\"type\":\"\"}", PROTO_E_TYPE, "type" },
		{ K_DOWN, "{\"v\":1,\"type\":\"arrive\"}", PROTO_E_TYPE, "type" },
		{ K_DOWN, "{\"v\":1,\"type\":\"a-very-long-type-name-that-is-over-the-cap\"}",
		  PROTO_E_RANGE, "type" },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_fail_str(cases[i].kind, cases[i].json, cases[i].code, cases[i].field);
}

static void
test_size_limits(void **state)
{
	const char	*head = "{\"v\":1,\"type\":\"presence\",\"dev\":\"d\",\"online\":true,"
			    "\"at\":1,\"pad\":\"";
	char		*big = malloc(PROTO_MAX_PAYLOAD + 2);
	size_t		 n;

	(void)state;
	assert_non_null(big);
	/* exactly PROTO_MAX_PAYLOAD bytes decodes, one more is refused unparsed */
	memset(big, 'p', PROTO_MAX_PAYLOAD + 1);
	memcpy(big, head, strlen(head));
	memcpy(big + PROTO_MAX_PAYLOAD - 2, "\"}", 2);
	expect_fail(K_PRESENCE, big, PROTO_MAX_PAYLOAD, PROTO_OK, "");
	memcpy(big + PROTO_MAX_PAYLOAD - 2, "p\"}", 3);
	expect_fail(K_PRESENCE, big, PROTO_MAX_PAYLOAD + 1, PROTO_E_SIZE, "");
	/* the size check comes before parsing: garbage over the cap is E_SIZE */
	memset(big, 0xff, PROTO_MAX_PAYLOAD + 1);
	for (n = 0; n < 4; n++)
		expect_fail((enum kind)n, big, PROTO_MAX_PAYLOAD + 1, PROTO_E_SIZE, "");
	expect_fail(K_EVENT, big, 0, PROTO_E_SIZE, "");
	expect_fail(K_EVENT, NULL, 0, PROTO_E_SIZE, "");
	free(big);
}

static void
test_deep_nesting(void **state)
{
	char	*deep = malloc(PROTO_MAX_PAYLOAD);
	size_t	 n, i, head;

	(void)state;
	assert_non_null(deep);
	/* the root object and PJ_DEPTH_MAX - 1 arrays are fine, one more is not */
	head = (size_t)snprintf(deep, PROTO_MAX_PAYLOAD, "{\"v\":1,\"type\":\"presence\","
	    "\"dev\":\"d\",\"online\":true,\"at\":1,\"x\":");
	n = head;
	for (i = 0; i < PJ_DEPTH_MAX - 1; i++)
		deep[n++] = '[';
	for (i = 0; i < PJ_DEPTH_MAX - 1; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	expect_fail(K_PRESENCE, deep, n, PROTO_OK, "");
	n = head;
	for (i = 0; i < PJ_DEPTH_MAX; i++)
		deep[n++] = '[';
	for (i = 0; i < PJ_DEPTH_MAX; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	expect_fail(K_PRESENCE, deep, n, PROTO_E_JSON, "");
	/* the whole budget as nesting: refused before cJSON recurses */
	memset(deep, '[', PROTO_MAX_PAYLOAD);
	deep[0] = '{';
	expect_fail(K_EVENT, deep, PROTO_MAX_PAYLOAD, PROTO_E_JSON, "");
	memset(deep, '{', PROTO_MAX_PAYLOAD);
	expect_fail(K_EVENT, deep, PROTO_MAX_PAYLOAD, PROTO_E_JSON, "");
	free(deep);
}

/* The decoder reads exactly len bytes: no NUL needed, nothing read past it. */
static void
test_not_nul_terminated(void **state)
{
	char	*good = good_payload(K_EVENT, PROTO_EV_ARRIVE), *exact;
	size_t	 len = strlen(good);

	(void)state;
	exact = malloc(len);	/* ASan catches any read past the end */
	assert_non_null(exact);
	memcpy(exact, good, len);
	expect_fail(K_EVENT, exact, len, PROTO_OK, "");
	/* a valid prefix followed by bytes that are not ours to read */
	expect_fail(K_EVENT, exact, len - 1, PROTO_E_JSON, "");
	free(exact);
	/* a NUL inside the length is not an end of input */
	exact = malloc(len + 3);
	assert_non_null(exact);
	memcpy(exact, good, len);
	memcpy(exact + len, "\0xx", 3);
	expect_fail(K_EVENT, exact, len + 3, PROTO_E_JSON, "");
	free(exact);
	free(good);
}

/* Every truncation of every message fails cleanly; none decodes. */
static void
test_every_truncation(void **state)
{
	static const struct { enum kind k; int sub; } msgs[] = {
		{ K_DOWN, PROTO_DOWN_ORDER }, { K_DOWN, PROTO_DOWN_ACK },
		{ K_EVENT, PROTO_EV_ARRIVE }, { K_EVENT, PROTO_EV_DELAY },
		{ K_POS, 0 }, { K_PRESENCE, 0 },
	};
	struct proto_error	 err;
	size_t			 i, n, len;

	(void)state;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		char *good = good_payload(msgs[i].k, msgs[i].sub), *p;

		len = strlen(good);
		for (n = 0; n < len; n++) {
			p = malloc(n + 1);
			assert_non_null(p);
			memcpy(p, good, n);
			assert_int_not_equal(decode_as(msgs[i].k, p, n, &err), PROTO_OK);
			assert_int_not_equal(err.code, PROTO_OK);
			assert_true(strlen(err.msg) > 0);
			free(p);
		}
		free(good);
	}
}

/* Byte flips: never a crash; a success re-encodes. */
static void
test_byte_flips(void **state)
{
	static struct proto_event	 e;
	struct proto_error		 err;
	char				*good = good_payload(K_EVENT, PROTO_EV_ARRIVE);
	char				 buf[BUFSZ], out[BUFSZ];
	size_t				 len = strlen(good), olen;
	uint32_t			 x = 12345;
	int				 i, j;

	(void)state;
	for (i = 0; i < 20000; i++) {
		memcpy(buf, good, len);
		for (j = 0; j < 3; j++) {
			x = x * 1103515245u + 12345u;
			buf[(x >> 8) % len] = (char)(x >> 24);
		}
		if (proto_decode_event(buf, len, &e, &err) == PROTO_OK)
			assert_int_equal(proto_encode_event(&e, out, sizeof(out), &olen), PROTO_OK);
		else
			assert_int_not_equal(err.code, PROTO_OK);
	}
	free(good);
}

/* A failed decode leaves out zeroed, never half-filled. */
static void
test_out_zeroed_on_failure(void **state)
{
	static struct proto_event e;
	const char		*j = "{\"v\":1,\"type\":\"arrive\",\"dev\":\"d\",\"seq\":1,"
				    "\"eid\":\"d:1\",\"at\":5,\"order_id\":\"o\",\"method\":\"x\"}";
	struct proto_error	 err;

	(void)state;
	memset(&e, 0x77, sizeof(e));
	assert_int_equal(proto_decode_event(j, strlen(j), &e, &err), PROTO_E_RANGE);
	assert_string_equal(err.field, "method");
	assert_string_equal(e.dev, "");
	assert_int_equal(e.seq, 0);
	assert_int_equal(e.at_ms, 0);
	/* err may be NULL */
	assert_int_equal(proto_decode_event(j, strlen(j), &e, NULL), PROTO_E_RANGE);
}

static void
test_error_messages(void **state)
{
	struct proto_error	 err;
	const char		*j = "{\"v\":1,\"type\":\"order\",\"msg_id\":\"m\",\"at\":1,"
				    "\"order\":{\"id\":\"o\",\"category\":2,\"site\":{\"lat\":95,"
				    "\"lon\":111}}}";
	static struct proto_down d;

	(void)state;
	assert_int_equal(proto_decode_down(j, strlen(j), &d, &err), PROTO_E_RANGE);
	assert_string_equal(err.field, "order.site.lat");
	assert_string_equal(err.msg, "order.site.lat: must be a number in [-90, 90]");
	assert_int_equal(proto_decode_down("{}", 2, &d, &err), PROTO_E_VERSION);
	assert_string_equal(err.msg, "v: is required (protocol version 1)");
	assert_int_equal(proto_decode_down("[]", 2, &d, &err), PROTO_E_JSON);
	assert_string_equal(err.field, "");
	assert_string_equal(err.msg, "payload: must be a JSON object");
	assert_int_equal(proto_decode_down("{\"v\":1,\"type\":\"x\"}", 18, &d, &err),
	    PROTO_E_TYPE);
	assert_string_equal(err.msg,
	    "type: \"x\" is not a message of this topic (one of order, cancel, ack, sync, delay_request)");
}

/* ---- pj_* readers directly ---- */

static void
test_pj_readers(void **state)
{
	const char		*j = "{\"s\":\"abc\",\"i\":42,\"f\":1.5,\"b\":false,\"n\":null,"
				    "\"o\":{\"k\":1},\"big\":1e20,\"neg\":-9007199254740992}";
	cJSON			*root;
	const cJSON		*o;
	struct proto_error	 err;
	char			 s[8] = "keep";
	int64_t			 i = 7;
	double			 d = 3;
	int			 b = 9;

	(void)state;
	assert_int_equal(pj_parse(j, strlen(j), 1000, &root, &err), PROTO_OK);
	assert_int_equal(pj_str(root, "", "s", 1, s, sizeof(s), &err), PROTO_OK);
	assert_string_equal(s, "abc");
	assert_int_equal(pj_str(root, "", "s", 1, s, 3, &err), PROTO_E_RANGE);
	assert_string_equal(err.msg, "s: must be at most 2 bytes (is 3)");
	assert_string_equal(s, "abc");
	assert_int_equal(pj_str(root, "x.y", "n", 0, s, sizeof(s), &err), PROTO_OK);
	assert_string_equal(s, "abc");
	assert_int_equal(pj_str(root, "x.y", "n", 1, s, sizeof(s), &err), PROTO_E_MISSING);
	assert_string_equal(err.field, "x.y.n");
	assert_string_equal(err.msg, "x.y.n: is required");
	assert_int_equal(pj_str(root, "", "i", 1, s, sizeof(s), &err), PROTO_E_WRONGTYPE);

	assert_int_equal(pj_int(root, "", "i", 1, 0, 100, &i, &err), PROTO_OK);
	assert_int_equal(i, 42);
	assert_int_equal(pj_int(root, "", "i", 1, 43, 100, &i, &err), PROTO_E_RANGE);
	assert_string_equal(err.msg, "i: must be an integer in [43, 100]");
	assert_int_equal(i, 42);
	assert_int_equal(pj_int(root, "", "f", 1, 0, 100, &i, &err), PROTO_E_WRONGTYPE);
	assert_int_equal(pj_int(root, "", "big", 1, INT64_MIN, INT64_MAX, &i, &err),
	    PROTO_E_RANGE);
	assert_int_equal(pj_int(root, "", "neg", 1, INT64_MIN, INT64_MAX, &i, &err), PROTO_OK);
	assert_int_equal(i, -PJ_INT_LIMIT);
	assert_int_equal(pj_int(root, "", "absent", 0, 0, 1, &i, &err), PROTO_OK);
	assert_int_equal(i, -PJ_INT_LIMIT);

	assert_int_equal(pj_num(root, "", "f", 1, 0, 2, &d, &err), PROTO_OK);
	assert_true(d == 1.5);
	assert_int_equal(pj_num(root, "", "i", 1, 0, 2, &d, &err), PROTO_E_RANGE);
	assert_int_equal(pj_num(root, "", "s", 1, 0, 2, &d, &err), PROTO_E_WRONGTYPE);
	assert_int_equal(pj_bool(root, "", "b", 1, &b, &err), PROTO_OK);
	assert_int_equal(b, 0);
	assert_int_equal(pj_bool(root, "", "i", 1, &b, &err), PROTO_E_WRONGTYPE);
	assert_int_equal(pj_obj(root, "", "o", 1, &o, &err), PROTO_OK);
	assert_non_null(o);
	assert_int_equal(pj_int(o, "o", "k", 1, 0, 1, &i, &err), PROTO_OK);
	assert_int_equal(pj_obj(root, "", "s", 1, &o, &err), PROTO_E_WRONGTYPE);
	assert_null(o);
	assert_int_equal(pj_obj(root, "", "n", 0, &o, &err), PROTO_OK);
	assert_null(o);
	cJSON_Delete(root);

	/* the caller's own size cap */
	assert_int_equal(pj_parse(j, strlen(j), 10, &root, &err), PROTO_E_SIZE);
	assert_null(root);
	pj_seterr(NULL, PROTO_E_RANGE, "a", "b", "no crash with %s", "NULL");
	pj_seterr(&err, PROTO_E_RANGE, "a[2]", "", "x %d", 1);
	assert_string_equal(err.field, "a[2]");
	assert_string_equal(err.msg, "a[2]: x 1");
}

/* The gateway's request for a delay reason: round trip, and its required fields. */
static void
test_delay_request(void **state)
{
	struct proto_down *d = calloc(1, sizeof(*d)), *b = calloc(1, sizeof(*b));
	struct proto_error err;
	char buf[1024];
	size_t len;
	const char *bad = "{\"v\":1,\"type\":\"delay_request\",\"msg_id\":\"LC-1.d2\","
	    "\"at\":1795597424000,\"reason\":\"completion_limit\"}";

	(void)state;
	d->type = PROTO_DOWN_DELAY_REQUEST;
	snprintf(d->msg_id, sizeof(d->msg_id), "LC-20261125-0001.d3");
	snprintf(d->order_id, sizeof(d->order_id), "LC-20261125-0001");
	snprintf(d->reason, sizeof(d->reason), "completion_limit");
	d->at_ms = 1795597424000LL;
	assert_int_equal(proto_encode_down(d, buf, sizeof(buf), &len), PROTO_OK);
	assert_non_null(strstr(buf, "\"type\":\"delay_request\""));
	assert_int_equal(proto_decode_down(buf, len, b, &err), PROTO_OK);
	assert_int_equal(b->type, PROTO_DOWN_DELAY_REQUEST);
	assert_string_equal(b->order_id, d->order_id);
	assert_string_equal(b->msg_id, d->msg_id);
	assert_string_equal(b->reason, "completion_limit");
	assert_string_equal(proto_down_type_name(PROTO_DOWN_DELAY_REQUEST), "delay_request");
	/* order_id is required */
	assert_int_equal(proto_decode_down(bad, strlen(bad), b, &err), PROTO_E_MISSING);
	assert_string_equal(err.field, "order_id");
	free(d);
	free(b);
}

/* ---- the position fast path: the same answer as the general decoder ---- */

/* A small deterministic generator (xorshift64*): the cases are the same on every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* If the fast path takes payload, the general decoder must give PROTO_OK and
 * the very same struct (bytes, NaN included); if the general decoder refuses,
 * the fast path must have declined. Returns whether the fast path took it. */
static int
fast_same(const char *payload, size_t len)
{
	static struct proto_pos a, b;
	struct proto_error err;
	int took = proto_decode_pos_fast(payload, len, &a);
	enum proto_err rc = proto_decode_pos_json(payload, len, &b, &err);

	if (took) {
		if (rc != PROTO_OK || memcmp(&a, &b, sizeof(a)) != 0)
			fail_msg("fast path and cJSON differ on %.*s (json rc %d)", (int)len,
			    payload, rc);
	}
	return took;
}

/*
 * Numbers: random decimal texts with 1..19 significant digits, integer part
 * and fraction of every length, read by the fast path as a fix's "alt" and by
 * strtod: the same double, bit for bit, and the fast path takes them all.
 */
static void
test_pos_fast_numbers(void **state)
{
	char num[64], buf[256];
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	struct proto_pos p;
	int i, took = 0, n = 200000;

	(void)state;
	for (i = 0; i < n; i++) {
		int ni = (int)(rnd(&s) % 6), nf = (int)(rnd(&s) % 20), o = 0, j, sig = 0;

		if (rnd(&s) % 4 == 0 && ni <= 4)	/* "alt" is in [-12000, 1e6] */
			num[o++] = '-';
		if (ni == 0)
			num[o++] = '0';
		for (j = 0; j < ni; j++, sig++)
			num[o++] = (char)((j == 0 ? '1' + rnd(&s) % 9 : '0' + rnd(&s) % 10));
		if (nf > 0) {
			num[o++] = '.';
			for (j = 0; j < nf && sig < 19; j++) {
				/* runs of 0 and 9 reach the rounding edge cases */
				uint64_t r = rnd(&s) % 14;
				num[o++] = (char)(r >= 12 ? '9' : r >= 10 ? '0' : '0' + r);
				if (sig > 0 || num[o - 1] != '0')
					sig++;
			}
			if (num[o - 1] == '.')
				num[o++] = '5';
		}
		num[o] = '\0';
		snprintf(buf, sizeof(buf), "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,"
		    "\"fix\":{\"lat\":1,\"lon\":2,\"mode\":3,\"alt\":%s}}", num);
		if (!proto_decode_pos_fast(buf, strlen(buf), &p))
			fail_msg("the fast path declined the number %s", num);
		if (memcmp(&p.fix.alt_m, &(double){ strtod(num, NULL) }, sizeof(double)) != 0)
			fail_msg("%s: fast %.17g, strtod %.17g", num, p.fix.alt_m,
			    strtod(num, NULL));
		took += fast_same(buf, strlen(buf));
	}
	assert_int_equal(took, n);
	/* the hard ones: ties of the 54th bit, 17 and 19 digits, the extremes */
	static const char *hard[] = { "90071992547409.93", "0.9007199254740993",
	    "40.842316666666667", "111.74971666666666", "0.30000000000000004",
	    "999999.9999999999999", "1.000000000000000111", "0.1000000000000000055",
	    "-11999.99999999999999", "0.000000000000000001", "-0", "0.0",
	    /* exact ties between two doubles: to even, down and up */
	    "9007199254740993.0", "9007199254740995.0", "4503599627370496.25",
	    "4503599627370497.75",
	    /* just above a tie, by the last bit of 55 */
	    "9007199254740993.5", "4503599627370496.75" };
	for (i = 0; i < (int)(sizeof(hard) / sizeof(hard[0])); i++) {
		snprintf(buf, sizeof(buf), "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,"
		    "\"fix\":{\"lat\":1,\"lon\":2,\"mode\":3,\"alt\":%s}}", hard[i]);
		double v;

		/* pj_read_dec, the fast path's number reader, takes them all */
		assert_int_equal(pj_read_dec(hard[i], strlen(hard[i]), &v), strlen(hard[i]));
		assert_memory_equal(&v, &(double){ strtod(hard[i], NULL) }, sizeof(double));
		if (proto_decode_pos_fast(buf, strlen(buf), &p))
			assert_memory_equal(&p.fix.alt_m, &v, sizeof(double));
		fast_same(buf, strlen(buf));
	}
}

/*
 * Whole messages: random positions as the unit writes them (every optional
 * member present or not, fixes as gpsd computes them, with and without the
 * MAC or signature tag) are all taken, identically; then every truncation
 * and random byte changes of them never make the two disagree.
 */
static void
test_pos_fast_messages(void **state)
{
	static char buf[BUFSZ], mut[BUFSZ];
	uint64_t s = 42;
	struct proto_pos p;
	size_t len, k;
	int i, j, took = 0, mtook = 0;

	(void)state;
	for (i = 0; i < 3000; i++) {
		memset(&p, 0, sizeof(p));
		snprintf(p.dev, sizeof(p.dev), "%s%d", i % 3 ? "dev-" : "U_", (int)(rnd(&s) % 5000));
		p.at_ms = 1764050100000 + (int64_t)(rnd(&s) % 100000000);
		if (rnd(&s) % 2)
			snprintf(p.order_id, sizeof(p.order_id), "LC-20261125-%04d.%d:x",
			    (int)(rnd(&s) % 10000), i);
		p.fix.t_ms = rnd(&s) % 3 ? p.at_ms - 1000 : 0;
		/* NMEA ddmm.mmmmm / 60, as gpsd turns it into degrees */
		p.fix.lat = (rnd(&s) % 2 ? 1 : -1) * (double)(rnd(&s) % 90) +
		    (double)(rnd(&s) % 6000000) / 100000.0 / 60.0;
		p.fix.lon = (rnd(&s) % 2 ? 1 : -1) * (double)(rnd(&s) % 180) +
		    (double)(rnd(&s) % 6000000) / 100000.0 / 60.0;
		p.fix.mode = 2 + (int)(rnd(&s) % 2);
		p.fix.eph_m = rnd(&s) % 2 ? (double)(rnd(&s) % 100000) / 1000.0 : NAN;
		p.fix.speed_mps = rnd(&s) % 2 ? (double)(rnd(&s) % 100000) / 1944.0 : NAN;
		p.fix.track_deg = rnd(&s) % 2 ? (double)(rnd(&s) % 3600) / 10.0 : NAN;
		p.fix.alt_m = rnd(&s) % 2 ? (double)(rnd(&s) % 200000) / 3.0 - 1000.0 : NAN;
		assert_int_equal(proto_encode_pos(&p, buf, sizeof(buf), &len), PROTO_OK);
		if (i % 3 == 1) {
			unsigned char tag[PROTO_MAC_LEN];
			char joined[BUFSZ];
			size_t jl;

			memset(tag, i & 0xff, sizeof(tag));
			assert_int_equal(proto_auth_join(buf, len, PROTO_AUTH_MAC, tag, sizeof(tag),
			    joined, sizeof(joined), &jl), PROTO_OK);
			memcpy(buf, joined, jl + 1);
			len = jl;
		}
		if (!fast_same(buf, len))
			fail_msg("the fast path declined the unit's own text %s", buf);
		took++;
		/* every truncation: never taken (the closing brace is the last byte) */
		for (k = 0; k < len; k++)
			assert_false(fast_same(buf, k));
		/* random byte changes: taken or not, never a different answer */
		for (j = 0; j < 20; j++) {
			memcpy(mut, buf, len);
			for (int c = 0; c < 1 + (int)(rnd(&s) % 3); c++)
				mut[rnd(&s) % len] = "0123456789.-eE\" ,:{}ab"[rnd(&s) % 22];
			mtook += fast_same(mut, len);
		}
	}
	assert_int_equal(took, 3000);
	assert_true(mtook > 0);	/* some changes (a digit for a digit) stay canonical */
	print_message("fast path: 3000 unit texts taken; %d of 60000 changed texts taken, "
	    "all as cJSON reads them\n", mtook);
}

/* What the fast path declines still decodes, or fails naming its field, as before. */
static void
test_pos_fast_declines(void **state)
{
	static const struct {
		const char *json;
		enum proto_err rc;	/* of proto_decode_pos */
		const char *field;
	} c[] = {
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":1e1,\"lon\":2,"
		  "\"mode\":3}}", PROTO_OK, NULL },
		{ "{\"v\":1, \"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":3}}", PROTO_OK, NULL },
		{ "{\"type\":\"pos\",\"v\":1,\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":3}}", PROTO_OK, NULL },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":3},\"x\":[1]}", PROTO_OK, NULL },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":"
		  "1.00000000000000000001,\"lon\":2,\"mode\":3}}", PROTO_OK, NULL },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d\\u0031\",\"at\":1,\"fix\":{\"lat\":1,"
		  "\"lon\":2,\"mode\":3}}", PROTO_OK, NULL },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":90.0000001,"
		  "\"lon\":2,\"mode\":3}}", PROTO_E_RANGE, "fix.lat" },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":3,\"speed\":1000}}", PROTO_E_RANGE, "fix.speed" },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":4}}", PROTO_E_RANGE, "fix.mode" },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":0,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":3}}", PROTO_E_RANGE, "at" },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1.5,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":3}}", PROTO_E_WRONGTYPE, "at" },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"order_id\":\"\",\"fix\":{"
		  "\"lat\":1,\"lon\":2,\"mode\":3}}", PROTO_E_RANGE, "order_id" },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d.1\",\"at\":1,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":3}}", PROTO_E_RANGE, "dev" },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":01,\"lon\":2,"
		  "\"mode\":3}}", PROTO_E_JSON, "" },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":3}} ", PROTO_OK, NULL },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":3},\"mac\":\"\"}", PROTO_OK, NULL },
		{ "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\",\"at\":1,\"fix\":{\"lat\":1,\"lon\":2,"
		  "\"mode\":3}}x", PROTO_E_JSON, "" },
	};
	struct proto_pos p;
	struct proto_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t len = strlen(c[i].json);

		if (proto_decode_pos_fast(c[i].json, len, &p))
			fail_msg("case %zu taken by the fast path: %s", i, c[i].json);
		if (proto_decode_pos(c[i].json, len, &p, &err) != c[i].rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, err.code, c[i].rc, err.msg);
		if (c[i].field != NULL)
			assert_string_equal(err.field, c[i].field);
	}
	/* a NUL inside an id (the fuzzer's find): "de" would pass the id check */
	{
		static const char nul[] = "{\"v\":1,\"type\":\"pos\",\"dev\":\"de\0\0x1\","
		    "\"at\":1,\"fix\":{\"lat\":1,\"lon\":2,\"mode\":3}}";

		assert_false(proto_decode_pos_fast(nul, sizeof(nul) - 1, &p));
		assert_int_equal(proto_decode_pos(nul, sizeof(nul) - 1, &p, &err), PROTO_E_JSON);
	}
	/* and the canonical form of the first is taken */
	{
		static const char canon[] = "{\"v\":1,\"type\":\"pos\",\"dev\":\"d1\","
		    "\"at\":1,\"fix\":{\"lat\":10,\"lon\":2,\"mode\":3}}";

		assert_true(proto_decode_pos_fast(canon, sizeof(canon) - 1, &p));
	}
	assert_true(p.fix.lat == 10.0 && p.fix.lon == 2.0 && p.fix.mode == 3 && p.at_ms == 1 &&
	    isnan(p.fix.eph_m) && p.fix.t_ms == 0 && strcmp(p.dev, "d1") == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_order),
		cmocka_unit_test(test_roundtrip_cancel_ack_sync),
		cmocka_unit_test(test_roundtrip_events),
		cmocka_unit_test(test_roundtrip_event_variants),
		cmocka_unit_test(test_roundtrip_pos_presence),
		cmocka_unit_test(test_pos_fast_numbers),
		cmocka_unit_test(test_pos_fast_messages),
		cmocka_unit_test(test_pos_fast_declines),
		cmocka_unit_test(test_unknown_fields_ignored),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_encode_small_buffer),
		cmocka_unit_test(test_required_missing_null_wrongtype),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_string_caps),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_payload_level),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_byte_flips),
		cmocka_unit_test(test_out_zeroed_on_failure),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_pj_readers),
		cmocka_unit_test(test_delay_request),
	};

	return cmocka_run_group_tests_name("proto_codec", tests, NULL, NULL);
}
