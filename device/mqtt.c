/*
 * mqtt.c: the device's link to the gateway over MQTT (common/mqttc.h).
 *
 * Session: client id = device id, persistent session (clean_session 0), so
 * QoS 1 orders pushed while the unit is away wait at the broker; will =
 * presence {"online":false}, retained, QoS 1. On every connect: presence online
 * (retained), subscribe to our order topic at QoS 1, a HELLO event listing the
 * orders held open, then every unacked event again, oldest first.
 *
 * Downlink (our order topic): ORDER -> stored in the journal, THEN a DELIVERED
 * event (the gateway counts delivery only on it; a broker PUBACK proves
 * nothing); an order pushed again is acknowledged again. CANCEL -> the order is
 * cancelled. ACK -> those events are marked acked and are not resent. SYNC ->
 * orders held open that the gateway no longer lists are cancelled; listed ones
 * we lack will be pushed again by the gateway. A malformed or oversized message
 * is logged and dropped; nothing stored changes.
 *
 * Uplink: every event is journaled before it is published (mqtt_event); a
 * timer resends unacked events every resend_s while connected. Positions go at
 * QoS 0: a lost one is replaced by the next.
 *
 * It does not decide anything about orders or arrival; it moves messages.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"
#include "mqttc.h"

#define MQTT_RESEND_BATCH	256	/* unacked events per resend pass */
#define MQTT_KEEPALIVE_S	30

static int
publish(struct device *d, const char *topic, const void *buf, size_t len, int qos,
    int retain)
{
	if (d->mq == NULL || !mqttc_connected(d->mq))
		return -1;
	return mqttc_publish(d->mq, topic, buf, len, qos, retain, NULL);
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
	if (proto_encode_presence(&p, buf, sizeof(buf), &len) == PROTO_OK)
		publish(d, d->t_presence, buf, len, 1, 1);
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
	ok = publish(d, d->t_event, buf, len, 1, 0) == 0;
	if (ok)
		d->events_sent++;
	log_debug("event %s %s%s%s: %s", e->eid, proto_ev_type_name(e->type),
	    e->order_id[0] ? " " : "", e->type == PROTO_EV_HELLO ? "" : e->order_id,
	    ok ? "sent" : "journaled, waiting for the broker");
	if (sent != NULL)
		*sent = ok;
	free(buf);
	return 0;
}

struct resend_ctx {
	struct device  *d;
	uint64_t	below_seq;	/* events from this one on were just sent */
	int		n;
};

static void
resend_one(void *arg, const struct jevent *ev)
{
	struct resend_ctx *x = arg;

	if (ev->seq >= x->below_seq)
		return;
	if (publish(x->d, x->d->t_event, ev->payload, ev->len, 1, 0) == 0) {
		x->d->events_sent++;
		x->n++;
	}
}

/* Publish unacked events created at or before created_before_ms with a
 * sequence number below below_seq, oldest first. */
static void
resend(struct device *d, int64_t created_before_ms, uint64_t below_seq)
{
	struct resend_ctx x = { d, below_seq, 0 };

	if (d->mq == NULL || !mqttc_connected(d->mq))
		return;
	journal_unacked(d->journal, created_before_ms, MQTT_RESEND_BATCH, resend_one, &x);
	if (x.n > 0)
		log_debug("mqtt: resent %d unacked event(s)", x.n);
}

static void
resend_timer(void *arg)
{
	struct device *d = arg;

	/* events younger than resend_s were sent moments ago; leave them */
	resend(d, clock_wall(d->clock) - (int64_t)d->conf.resend_s * 1000, UINT64_MAX);
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
	uint64_t below;

	log_debug("mqtt: connected to %s:%d (%s session)", d->conf.mqtt_host,
	    d->conf.mqtt_port, session_present ? "resumed" : "new");
	presence(d, 1);
	if (mqttc_subscribe(d->mq, d->t_order, 1) == -1)
		log_warnx("mqtt: subscribe %s failed", d->t_order);
	/* hello first, so the gateway learns what we hold; then what it may have
	 * missed, oldest first (not the hello itself, just sent) */
	below = journal_last_seq(d->journal) + 1;
	hello(d);
	resend(d, INT64_MAX, below);
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
	snprintf(e->order_id, sizeof(e->order_id), "%s", m->order.id);
	snprintf(e->msg_id, sizeof(e->msg_id), "%s", m->msg_id);
	e->has_fix = gps_last_fix(d, &e->fix);
	mqtt_event(d, e, NULL);
	free(e);
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
	if (proto_decode_down(payload, len, m, &err) != PROTO_OK) {
		d->down_bad++;
		log_warnx("mqtt: dropped a malformed message on %s: %s", d->t_order, err.msg);
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
		break;
	case PROTO_DOWN_ACK:
		for (i = 0, n = 0; i < m->neids; i++)
			if (journal_ack(d->journal, m->eids[i]) == 1)
				n++;
		log_debug("mqtt: gateway acked %d of %d event(s)", n, m->neids);
		break;
	case PROTO_DOWN_SYNC:
		if ((n = journal_sync(d->journal, m->open, m->nopen, m->at_ms)) > 0)
			watch_sync(d);
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
	if (proto_encode_presence(&will, wbuf, sizeof(wbuf), &wlen) != PROTO_OK) {
		log_warnx("mqtt: cannot encode the will");
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.host = d->conf.mqtt_host;
	c.port = d->conf.mqtt_port;
	c.client_id = d->conf.id;
	c.clean_session = 0;
	c.keepalive_s = MQTT_KEEPALIVE_S;
	c.will_topic = d->t_presence;
	c.will_payload = wbuf;
	c.will_qos = 1;
	c.will_retain = 1;
	if ((d->mq = mqttc_new(d->loop, &c, &h, d)) == NULL)
		return -1;
	loop_timer_init(&d->resend_timer, resend_timer, d);
	loop_timer_start(d->loop, &d->resend_timer, (int64_t)d->conf.resend_s * 1000,
	    (int64_t)d->conf.resend_s * 1000);
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

void
mqtt_position(struct device *d)
{
	char ids[1][PROTO_ID_MAX];
	struct proto_pos p;
	char buf[1024];
	size_t len;

	if (d->mq == NULL || !mqttc_connected(d->mq))
		return;
	if (journal_open_orders(d->journal, ids, 1) != 1)
		return;		/* not on an order: no position reports */
	memset(&p, 0, sizeof(p));
	if (!gps_last_fix(d, &p.fix))
		return;		/* no fix: nothing to report */
	snprintf(p.dev, sizeof(p.dev), "%s", d->conf.id);
	snprintf(p.order_id, sizeof(p.order_id), "%s", ids[0]);
	p.at_ms = clock_wall(d->clock);
	if (proto_encode_pos(&p, buf, sizeof(buf), &len) == PROTO_OK)
		publish(d, d->t_pos, buf, len, 0, 0);
}
