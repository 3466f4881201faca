/*
 * mqtt.c: the device's link to the gateway over MQTT (common/mqttc.h).
 *
 * Session: client id = device id, persistent session (clean_session 0), so
 * QoS 1 orders pushed while the unit is away wait at the broker; will =
 * presence {"online":false}, retained, QoS 1. On every connect: presence online
 * (retained), subscribe to our order topic at QoS 1, every unacked event again,
 * oldest first, a HELLO event listing the orders held open (the gateway answers
 * SYNC: reconcile), the current position; once the SYNC came, the current
 * position again and the offline track's backlog.
 *
 * Downlink (our order topic): ORDER -> stored in the journal, THEN a DELIVERED
 * event (the gateway counts delivery only on it; a broker PUBACK proves
 * nothing); an order pushed again is acknowledged again. CANCEL -> the order is
 * cancelled. ACK -> those events are marked acked and are not resent. SYNC ->
 * orders held open that the gateway no longer lists are cancelled; listed ones
 * we lack will be pushed again by the gateway. A malformed or oversized message
 * is logged and dropped; nothing stored changes.
 *
 * Uplink: every event is journaled before it is published (mqtt_event), then
 * sent in sequence through a window (below). Positions: see mqtt_position.
 *
 * It does not decide anything about orders or arrival; it moves messages.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "device.h"
#include "log.h"
#include "maps.h"
#include "mqttc.h"
#include "msgauth.h"

#define MQTT_KEEPALIVE_S	60	/* a ping a minute keeps the session; NAT on
					 * cellular links often forgets after ~2 min */
#define MQTT_MISC_MS		15000	/* libmosquitto housekeeping: a quarter of the
					 * keepalive, so a ping is never late by more */

static int
publish(struct device *d, const char *topic, const void *buf, size_t len, int qos,
    int retain)
{
	if (d->mq == NULL || !mqttc_connected(d->mq))
		return -1;
	return mqttc_publish(d->mq, topic, buf, len, qos, retain, NULL);
}

/* Tag an encoded message in buf in place (policy: msgauth.h). 0 / -1; without
 * authentication configured (development) the message stays untagged. */
static int
seal(struct device *d, enum proto_auth alg, char *buf, size_t cap, size_t *len)
{
	char body[PROTO_MAX_PAYLOAD + 1], err[256];

	if (d->ma == NULL)
		return 0;
	if (*len > PROTO_MAX_PAYLOAD)
		return -1;
	memcpy(body, buf, *len);
	if (msgauth_seal(d->ma, DEV_GATEWAY_ID, d->conf.id, alg, body, *len, buf, cap, len,
	    err, sizeof(err)) == -1) {
		log_warnx("mqtt: cannot tag a message: %s", err);
		return -1;
	}
	return 0;
}

static int
seal_event(void *arg, enum proto_ev_type type, char *buf, size_t cap, size_t *len)
{
	return seal(arg, msgauth_policy_event(type), buf, cap, len);
}

static struct crypto_key *
peer_key(void *arg, const char *peer)
{
	struct device *d = arg;

	return strcmp(peer, DEV_GATEWAY_ID) == 0 ? d->gwpub : NULL;
}

int
mqtt_auth_start(struct device *d)
{
	char err[512];

	if (d->conf.mqtt_keyfile[0] == '\0') {
		log_warnx("mqtt: no key configured: messages go untagged "
		    "(development only; the gateway refuses them unless told otherwise)");
		return 0;
	}
	if ((d->crypto = crypto_new(d->conf.id)) == NULL) {
		log_warnx("mqtt: cannot seed the random generator");
		return -1;
	}
	if (crypto_key_load(d->conf.mqtt_keyfile, 1, &d->key, err, sizeof(err)) == -1 ||
	    crypto_key_load(d->conf.gateway_pubkey, 0, &d->gwpub, err, sizeof(err)) == -1) {
		log_warnx("mqtt: %s", err);
		return -1;
	}
	if ((d->ma = msgauth_new(d->crypto, d->key, peer_key, d)) == NULL) {
		log_warnx("mqtt: msgauth: out of memory");
		return -1;
	}
	journal_set_sealer(d->journal, seal_event, d);
	log_info("mqtt: messages authenticated: evidence signed with %s, the rest MACed "
	    "with a key agreed with the gateway", d->conf.mqtt_keyfile);
	return 0;
}

void
mqtt_auth_stop(struct device *d)
{
	if (d->journal != NULL)
		journal_set_sealer(d->journal, NULL, NULL);
	msgauth_free(d->ma);
	crypto_key_free(d->key);
	crypto_key_free(d->gwpub);
	crypto_free(d->crypto);
	d->ma = NULL;
	d->key = d->gwpub = NULL;
	d->crypto = NULL;
}

static void
presence(struct device *d, int online)
{
	struct proto_presence p;
	char buf[256];
	size_t len;

	memset(&p, 0, sizeof(p));
	snprintf(p.dev, sizeof(p.dev), "%s", d->conf.id);
	p.online = online;
	p.at_ms = clock_wall(d->clock);
	if (proto_encode_presence(&p, buf, sizeof(buf), &len) == PROTO_OK &&
	    seal(d, PROTO_AUTH_MAC, buf, sizeof(buf), &len) == 0)
		publish(d, d->t_presence, buf, len, 1, 1);
}

/*
 * Uplink flow: a window, go-back-N. At most send_window events are out
 * (published, not yet acknowledged by the gateway) at any time, sent strictly
 * by sequence number. When no ack has come for resend_s, the window is sent
 * again from the oldest unacked event (the gateway applies an eid once, so the
 * repeats are harmless). sent_upto is the highest seq published on this
 * connection; 0 after a (re)connect, so everything unacked goes again, oldest
 * first.
 *
 * Why the default window is 1: the gateway applies events as they arrive. A
 * broker drops what it cannot queue (max_queued_messages, a restart that lost
 * the gateway's subscription), and with two events out, the first dropped and
 * the second delivered, the gateway would apply them out of order (seen in
 * test_device_kill with a window of 16). One event out at a time costs a round
 * trip per event when catching up, and keeps the crew's order on the timeline.
 */
/* The resend timer runs only while something waits for an ack (events, or the
 * track backlog); an idle unit has no timer of its own. */
static void
resend_arm(struct device *d)
{
	if (!loop_timer_armed(&d->resend_timer))
		loop_timer_start(d->loop, &d->resend_timer, (int64_t)d->conf.resend_s * 1000,
		    (int64_t)d->conf.resend_s * 1000);
}

struct pump_ctx {
	struct device  *d;
	int		n, stop;
};

static void
pump_one(void *arg, const struct jevent *ev)
{
	struct pump_ctx *x = arg;

	if (x->stop)
		return;
	if (publish(x->d, x->d->t_event, ev->payload, ev->len, 1, 0) != 0) {
		x->stop = 1;	/* the link went: the rest waits for the next connect */
		return;
	}
	x->d->sent_upto = ev->seq;
	x->d->events_sent++;
	x->n++;
}

/* Publish the next unacked events, oldest first, while the window has room. */
static void
pump(struct device *d)
{
	struct pump_ctx x = { d, 0, 0 };
	int out;

	if (d->mq == NULL || !mqttc_connected(d->mq))
		return;
	if ((out = journal_unacked_upto(d->journal, d->sent_upto)) < 0)
		return;
	if (out >= d->conf.send_window)
		return;
	journal_unacked_after(d->journal, d->sent_upto, d->conf.send_window - out, pump_one, &x);
	if (x.n > 0) {
		log_debug("mqtt: sent %d event(s), up to seq %llu", x.n,
		    (unsigned long long)d->sent_upto);
		resend_arm(d);
	}
}

int
mqtt_event(struct device *d, struct proto_event *e, int *sent)
{
	char *buf;
	size_t len;
	int ok;

	if (sent != NULL)
		*sent = 0;
	if ((buf = malloc(PROTO_MAX_PAYLOAD + 1)) == NULL) {
		log_warn("mqtt: malloc");
		return -1;
	}
	if (e->at_ms == 0)
		e->at_ms = clock_wall(d->clock);
	if (journal_event_add(d->journal, e, buf, PROTO_MAX_PAYLOAD + 1, &len) == -1) {
		free(buf);
		return -1;
	}
	free(buf);
	pump(d);
	ok = d->sent_upto >= e->seq;
	log_debug("event %s %s%s%s: %s", e->eid, proto_ev_type_name(e->type),
	    e->order_id[0] ? " " : "", e->type == PROTO_EV_HELLO ? "" : e->order_id,
	    ok ? "sent" : "journaled, waiting for the broker or the send window");
	if (sent != NULL)
		*sent = ok;
	return 0;
}

static void
resend_timer(void *arg)
{
	struct device *d = arg;
	int out;

	if (d->mq == NULL || !mqttc_connected(d->mq)) {
		loop_timer_stop(d->loop, &d->resend_timer);	/* on_connect sends all */
		return;
	}
	out = journal_unacked_upto(d->journal, d->sent_upto);
	if (out == 0 && journal_unacked_count(d->journal) == 0 &&
	    journal_track_count(d->journal) == 0) {
		loop_timer_stop(d->loop, &d->resend_timer);	/* nothing waits */
		return;
	}
	if (out > 0 && d->acks == d->acks_at_tick) {
		/* nothing acknowledged for resend_s: lost on the way; go back */
		log_debug("mqtt: %d event(s) unacknowledged for %d s: sending again from the "
		    "oldest", out, d->conf.resend_s);
		d->sent_upto = 0;
	}
	d->acks_at_tick = d->acks;
	pump(d);
	mqtt_track_flush(d);
}

static void
hello(struct device *d)
{
	struct proto_event *e;
	int n;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		log_warn("mqtt: calloc");
		return;
	}
	e->type = PROTO_EV_HELLO;
	if ((n = journal_open_orders(d->journal, e->open, PROTO_OPEN_MAX)) >= 0) {
		e->nopen = n;
		e->has_fix = gps_last_fix(d, &e->fix);
		mqtt_event(d, e, NULL);
	}
	free(e);
}

static void
on_connect(void *arg, int session_present)
{
	struct device *d = arg;

	log_debug("mqtt: connected to %s:%d (%s session)", d->conf.mqtt_host,
	    d->conf.mqtt_port, session_present ? "resumed" : "new");
	presence(d, 1);
	if (mqttc_subscribe(d->mq, d->t_order, 1) == -1)
		log_warnx("mqtt: subscribe %s failed", d->t_order);
	/* everything unacked again, oldest first, then the hello that asks the
	 * gateway to reconcile our open orders (journaled, in sequence) */
	d->sent_upto = 0;
	d->acks_at_tick = d->acks;
	pump(d);
	hello(d);
	d->gw_synced = 0;
	mqtt_position_now(d);
}

static void
on_disconnect(void *arg, int rc)
{
	struct device *d = arg;

	log_info("mqtt: disconnected from %s:%d (rc %d); events wait in the journal",
	    d->conf.mqtt_host, d->conf.mqtt_port, rc);
}

static void
delivered(struct device *d, const struct proto_down *m)
{
	struct proto_event *e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		log_warn("mqtt: calloc");
		return;
	}
	e->type = PROTO_EV_DELIVERED;
	/* an order push names its order inside, a cancel beside it */
	snprintf(e->order_id, sizeof(e->order_id), "%s",
	    m->type == PROTO_DOWN_ORDER ? m->order.id : m->order_id);
	snprintf(e->msg_id, sizeof(e->msg_id), "%s", m->msg_id);
	e->has_fix = gps_last_fix(d, &e->fix);
	mqtt_event(d, e, NULL);
	free(e);
}

/* The gateway's MAC must check before anything is read from the message. */
static int
downlink_open(struct device *d, const void *payload, size_t len)
{
	char *body = malloc(len + 1), err[256];
	size_t bl;
	int rc;

	if (body == NULL)
		return -1;
	rc = msgauth_open(d->ma, DEV_GATEWAY_ID, d->conf.id, PROTO_AUTH_MAC, payload, len,
	    body, len + 1, &bl, NULL, NULL, err, sizeof(err));
	free(body);
	if (rc == -1) {
		d->down_refused++;
		log_security("mqtt: message on %s refused: %s", d->t_order, err);
	}
	return rc;
}

/* Replays: the gateway's counter only moves forward, and its send time must be
 * near our clock (after a restart of this unit only the window holds). */
static int
downlink_fresh(struct device *d, const struct proto_down *m)
{
	int64_t now = clock_wall(d->clock), win = (int64_t)d->conf.down_window_s * 1000;

	if (m->n <= 0 || m->tx_ms <= 0) {
		d->down_refused++;
		log_security("mqtt: %s refused: no counter or send time",
		    proto_down_type_name(m->type));
		return -1;
	}
	if (m->n <= d->down_last_n) {
		d->down_refused++;
		log_security("mqtt: %s refused: counter %lld replayed (last %lld)",
		    proto_down_type_name(m->type), (long long)m->n, (long long)d->down_last_n);
		return -1;
	}
	if (m->tx_ms < now - win || m->tx_ms > now + win) {
		d->down_refused++;
		log_security("mqtt: %s refused: sent %lld s from our clock (window %d s)",
		    proto_down_type_name(m->type), (long long)((m->tx_ms - now) / 1000),
		    d->conf.down_window_s);
		return -1;
	}
	d->down_last_n = m->n;
	return 0;
}

void
mqtt_downlink(struct device *d, const void *payload, size_t len)
{
	struct proto_down *m;
	struct proto_error err;
	int i, n, is_new;

	if (len > PROTO_MAX_PAYLOAD) {
		d->down_bad++;
		log_warnx("mqtt: dropped a %zu-byte message on %s: larger than %d bytes", len,
		    d->t_order, PROTO_MAX_PAYLOAD);
		return;
	}
	if ((m = malloc(sizeof(*m))) == NULL) {
		log_warn("mqtt: malloc");
		return;
	}
	if (d->ma != NULL && downlink_open(d, payload, len) == -1) {
		free(m);
		return;
	}
	if (proto_decode_down(payload, len, m, &err) != PROTO_OK) {
		d->down_bad++;
		log_warnx("mqtt: dropped a malformed message on %s: %s", d->t_order, err.msg);
		free(m);
		return;
	}
	if (d->ma != NULL && downlink_fresh(d, m) == -1) {
		free(m);
		return;
	}
	switch (m->type) {
	case PROTO_DOWN_ORDER:
		if (journal_add_order(d->journal, m, payload, len, &is_new) == -1) {
			/* not stored, so not acknowledged: the gateway pushes it again */
			log_warnx("order %s: not stored; not acknowledged", m->order.id);
			break;
		}
		log_info("order %s %s (push %s): %s", m->order.id,
		    is_new ? "received" : "pushed again", m->msg_id, m->order.address);
		delivered(d, m);
		if (is_new)
			watch_sync(d);
		break;
	case PROTO_DOWN_CANCEL:
		if ((n = journal_cancel_order(d->journal, m->order_id, m->at_ms)) == 1) {
			log_info("order %s cancelled by the gateway (%s)", m->order_id,
			    m->reason);
			watch_sync(d);
		} else if (n == 0)
			log_info("order %s: cancel (%s) ignored: not open here", m->order_id,
			    m->reason);
		/* Acknowledge a cancel once it is journaled (or was moot), as an
		 * order push is: the gateway stops resending it on our word, not
		 * on the broker's PUBACK. */
		if (n >= 0)
			delivered(d, m);
		break;
	case PROTO_DOWN_DELAY_REQUEST:
		if ((n = journal_delay_requested(d->journal, m->order_id, m->at_ms)) == 1)
			log_info("order %s: the gateway asks for a delay reason (%s)",
			    m->order_id, m->reason);
		if (n >= 0)
			delivered(d, m);	/* recorded (or already): stop the resends */
		break;
	case PROTO_DOWN_ACK:
		for (i = 0, n = 0; i < m->neids; i++)
			if (journal_ack(d->journal, m->eids[i]) == 1)
				n++;
		log_debug("mqtt: gateway acked %d of %d event(s)", n, m->neids);
		if (n > 0) {
			d->acks += (unsigned long)n;
			pump(d);
		}
		break;
	case PROTO_DOWN_SYNC:
		if ((n = journal_sync(d->journal, m->open, m->nopen, m->at_ms)) > 0)
			watch_sync(d);
		/* The gateway answered our hello: it is subscribed and listening
		 * now. Only then the offline track goes, because positions have no
		 * application ack: a broker that restarted without the gateway's
		 * session drops what is published before it subscribes again. The
		 * live map gets where we are now first, the backlog after. */
		if (!d->gw_synced) {
			d->gw_synced = 1;
			mqtt_position_now(d);
			mqtt_track_flush(d);
		}
		log_debug("mqtt: sync: gateway lists %d open order(s); %d cancelled here",
		    m->nopen, n < 0 ? 0 : n);
		break;
	}
	free(m);
}

static void
on_message(void *arg, const char *topic, const void *payload, int len, int qos, int retain)
{
	struct device *d = arg;

	(void)qos;
	(void)retain;
	if (strcmp(topic, d->t_order) != 0) {
		log_warnx("mqtt: dropped a message on unexpected topic %.100s", topic);
		return;
	}
	mqtt_downlink(d, payload, len < 0 ? 0 : (size_t)len);
}

int
mqtt_start(struct device *d)
{
	static const struct mqttc_handlers h = {
		.on_connect = on_connect,
		.on_disconnect = on_disconnect,
		.on_message = on_message,
	};
	struct proto_presence will;
	struct mqttc_config c;
	char wbuf[256];
	size_t wlen;

	memset(&will, 0, sizeof(will));
	snprintf(will.dev, sizeof(will.dev), "%s", d->conf.id);
	will.online = 0;
	will.at_ms = 0;		/* the broker sends it: the time is unknown then */
	/* The will is tagged once, now: the broker sends it as it is. Replaying
	 * it only says again that this unit went offline. */
	if (proto_encode_presence(&will, wbuf, sizeof(wbuf), &wlen) != PROTO_OK ||
	    seal(d, PROTO_AUTH_MAC, wbuf, sizeof(wbuf), &wlen) == -1) {
		log_warnx("mqtt: cannot encode the will");
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.host = d->conf.mqtt_host;
	c.port = d->conf.mqtt_port;
	c.client_id = d->conf.id;
	c.clean_session = 0;
	c.keepalive_s = MQTT_KEEPALIVE_S;
	c.misc_ms = MQTT_MISC_MS;
	c.will_topic = d->t_presence;
	c.will_payload = wbuf;
	c.will_qos = 1;
	c.will_retain = 1;
	if (!d->conf.mqtt_plain_dev) {
		c.cafile = d->conf.mqtt_cafile;
		c.certfile = d->conf.mqtt_certfile;
		c.keyfile = d->conf.mqtt_keyfile;
	}
	if ((d->mq = mqttc_new(d->loop, &c, &h, d)) == NULL)
		return -1;
	loop_timer_init(&d->resend_timer, resend_timer, d);	/* armed by resend_arm */
	return mqttc_start(d->mq);
}

void
mqtt_stop(struct device *d)
{
	if (d->mq == NULL)
		return;
	loop_timer_stop(d->loop, &d->resend_timer);
	if (mqttc_connected(d->mq))
		presence(d, 0);
	mqttc_free(d->mq);	/* disconnects cleanly, flushing what is queued */
	d->mq = NULL;
}

/* Encode a position from the last fix into buf. 0, or -1 when there is none. */
static int
pos_encode(struct device *d, struct proto_pos *p, char *buf, size_t cap, size_t *len)
{
	char ids[1][PROTO_ID_MAX];

	memset(p, 0, sizeof(*p));
	if (!gps_last_fix(d, &p->fix))
		return -1;
	snprintf(p->dev, sizeof(p->dev), "%s", d->conf.id);
	if (journal_open_orders(d->journal, ids, 1) == 1)
		snprintf(p->order_id, sizeof(p->order_id), "%s", ids[0]);
	p->at_ms = clock_wall(d->clock);
	if (proto_encode_pos(p, buf, cap, len) != PROTO_OK)
		return -1;
	return seal(d, PROTO_AUTH_MAC, buf, cap, len);
}

void
mqtt_position_now(struct device *d)
{
	struct proto_pos p;
	char buf[1024];
	size_t len;

	if (d->mq == NULL || !mqttc_connected(d->mq) ||
	    pos_encode(d, &p, buf, sizeof(buf), &len) == -1)
		return;
	if (publish(d, d->t_pos, buf, len, 0, 0) == 0) {
		d->pos_sent++;
		d->pos_mono_ms = clock_mono(d->clock);
	}
}

void
mqtt_position(struct device *d)
{
	struct proto_pos p;
	char buf[1024];
	size_t len;
	int64_t now = clock_mono(d->clock), every;
	int moving, online = d->mq != NULL && mqttc_connected(d->mq);

	if (pos_encode(d, &p, buf, sizeof(buf), &len) == -1)
		return;
	moving = isfinite(p.fix.speed_mps) && p.fix.speed_mps > POS_MOVING_MPS;
	every = (int64_t)(moving && p.order_id[0] ? d->conf.pos_interval_s :
	    d->conf.pos_parked_s) * 1000;
	if (online) {
		if (d->pos_mono_ms != 0 && now - d->pos_mono_ms < every)
			return;
		if (publish(d, d->t_pos, buf, len, 0, 0) == 0)
			d->pos_sent++;
		d->pos_mono_ms = now;
		return;
	}
	/* offline: a thinned track, a point per POS_TRACK_MIN_M moved or per
	 * pos_parked_s, so a long spell costs little and keeps the route */
	if (d->has_track_pt && now - d->track_mono_ms < (int64_t)d->conf.pos_parked_s * 1000 &&
	    maps_distance_m(d->track_lat, d->track_lon, p.fix.lat, p.fix.lon) < POS_TRACK_MIN_M)
		return;
	if (journal_track_add(d->journal, buf, len, p.at_ms) == 0) {
		d->track_kept++;
		d->has_track_pt = 1;
		d->track_mono_ms = now;
		d->track_lat = p.fix.lat;
		d->track_lon = p.fix.lon;
	}
}

static int
track_one(void *arg, const char *payload, size_t len)
{
	struct device *d = arg;

	/* QoS 1: the backlog is history the map cannot get again */
	if (publish(d, d->t_pos, payload, len, 1, 0) != 0)
		return -1;
	d->track_sent++;
	return 0;
}

void
mqtt_track_flush(struct device *d)
{
	int n;

	if (d->mq == NULL || !mqttc_connected(d->mq) || !d->gw_synced)
		return;
	if ((n = journal_track_take(d->journal, JOURNAL_TRACK_BATCH, track_one, d)) > 0) {
		log_debug("mqtt: sent %d point(s) of the offline track", n);
		d->has_track_pt = 0;
		resend_arm(d);		/* the next batch on the next tick */
	}
}
