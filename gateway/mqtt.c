/*
 * mqtt.c: the gateway's link to the crews' devices over MQTT (common/mqttc.h).
 *
 * Downlink: order pushes live in the outbox table (written by order.c in the
 * same transaction as the dispatch). They are published with QoS 1 on the
 * device's order topic, and published again every resend_s until the device's
 * own "delivered" event acks them: a broker PUBACK only says the broker has
 * the message, not that the unit stored it (Debian's mosquitto drops QoS 1
 * messages under load and saves its persistence only periodically). All of a
 * device's unacked pushes go out again at once when it comes online or says
 * hello; a hello also gets a SYNC with the gateway's view of its open orders.
 *
 * Uplink: events are decoded strictly (proto), checked against the topic's
 * device, applied once per event id by order.c, and acknowledged with a
 * PROTO_DOWN_ACK naming the event ids, batched per device. Positions are
 * buffered and written together (one INSERT each, one update of each
 * device's row per batch) with the pass's group when there is one, else when
 * POS_BATCH_MAX are buffered or the oldest waited POS_HOLD_MS. Presence
 * updates the device row.
 *
 * Group commit (gateway.h store.c section, README "Group commit"): all a pass
 * writes is one transaction, committed before the next poll. Nothing that
 * reports a write leaves before that commit: acks, hello's sync and outbox
 * pushes wait in queues here and go out when the store tells us the group is
 * DONE; when it FAILED the acks and syncs are dropped (the devices resend, and
 * their events are applied then) and the pushes are looked up again from what
 * is stored. When a queue is full, the group is ended early. Positions join
 * the group when the pass has one; otherwise they are a light transaction
 * (no fsync: a QoS 0 sample lost on a power cut is harmless).
 *
 * End-to-end authentication (common/msgauth.h, README "Messages that prove
 * themselves"): every downlink message is sealed with the device's MAC key
 * and carries a per-device counter "n", strictly increasing (our send time in
 * microseconds, pushed past the last one given), and its send time "tx"; the
 * device refuses n <= the last it accepted and a tx outside its window.
 * Every uplink message is opened before anything acts on it: arrive, complete
 * and delay must carry the device's ECDSA signature (kept with the stored
 * event as evidence), everything else its MAC; a missing or bad tag, an
 * unknown, revoked or expired device and a position outside the time window
 * are refused and logged as security events. Device keys come from the
 * certificates in the PKI directory, checked against the fleet CA; the list
 * of revoked devices is re-read whenever its file changes.
 *
 * This file does not decide anything about orders; it does not touch SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "gateway.h"
#include "grow.h"
#include "log.h"
#include "mqttc.h"
#include "msgauth.h"
#include "pki.h"

#define MQTT_KEEPALIVE_S	30
#define ACK_DEVS_MAX		32	/* devices with acks waiting in one loop pass */
#define SYNC_MAX		16	/* hello answers waiting for the group commit */
#define WANT_MAX		64	/* outbox flushes waiting for the group commit */
#define POS_BATCH_MAX		256	/* positions buffered before a forced write */
#define POS_HOLD_MS		100	/* ... or held at most this long, ms */
#define FLUSH_MAX		128	/* outbox rows published per flush */
#define RESEND_TICK_MS		1000	/* how often the outbox is scanned for resends */
#define RESEND_LOG_EVERY	60	/* attempts between two "sent again" log lines */
#define POS_WINDOW_MS		(10 * 60 * 1000LL)	/* a position this far from our
							 * clock is refused (replay) */
#define PEERS_MAX		100000	/* device keys held in memory */

/* A device's public key, from its certificate. */
struct peer {
	char			 dev[PROTO_DEV_MAX];
	struct crypto_key	*key;
	int			 untagged_warned;
};

struct ackq {
	char	dev[PROTO_DEV_MAX];
	int	n;
	char	eids[PROTO_ACK_MAX][PROTO_EID_MAX];
};

struct gw_mqtt {
	struct gw	       *gw;
	struct mqttc	       *c;
	struct loop_timer	resend;
	struct loop_timer	pos_timer;	/* POS_HOLD_MS after the first buffered */
	unsigned		seq;		/* for ack/sync message ids */
	int			stopping;	/* mqtt_stop called: a disconnect is expected */
	int			nacks;
	struct ackq		acks[ACK_DEVS_MAX];
	int			npos;
	struct position		pos[POS_BATCH_MAX];
	unsigned char		pos_done[POS_BATCH_MAX];
	uint32_t		pos_hash[POS_BATCH_MAX];	/* of pos[i].dev */
	/* effects waiting for the group commit (top of this file) */
	int			nsync;
	struct {
		char			 dev[PROTO_DEV_MAX];
		struct proto_down	*d;	/* the SYNC, owned */
		int			 nheld;	/* orders the device said it holds */
	}			syncs[SYNC_MAX];
	int			nwant;
	struct {
		char	dev[PROTO_DEV_MAX];	/* "" = every device */
		int64_t	before_ms;
	}			want[WANT_MAX];
	char		       *open_buf;	/* PROTO_MAX_PAYLOAD + 1: open_up's body */
	/* end-to-end authentication; ma == NULL: off (plain development only) */
	struct crypto	       *crypto;
	struct crypto_key      *own;
	struct msgauth	       *ma;
	int64_t			last_n;		/* last downlink counter given */
	struct peer	       *peers;
	int			npeers;
	size_t			cpeers;
	char		       *revoked;	/* "\ndev\ndev\n" */
	struct timespec		revoked_mtime;
	off_t			revoked_size;
};

static void flush_acks(struct gw_mqtt *);
static void want_flush(struct gw_mqtt *, const char *dev, int64_t before_ms);

/* ---- authentication ---- */

static int	revoked(struct gw_mqtt *, const char *dev);

/* msgauth's peer lookup: the device's key from its certificate, checked
 * against the fleet CA (expired or foreign certificates fail), NULL if the
 * device is revoked or unknown. Keys are kept until a revocation. */
static struct crypto_key *
peer_key(void *arg, const char *dev)
{
	struct gw_mqtt *m = arg;
	char crt[GW_PATH_MAX + PROTO_DEV_MAX + 32], cn[PROTO_DEV_MAX + 8], err[512];
	struct crypto_key *k;

	if (revoked(m, dev))
		return NULL;
	for (int i = 0; i < m->npeers; i++)
		if (strcmp(m->peers[i].dev, dev) == 0)
			return m->peers[i].key;
	snprintf(crt, sizeof(crt), "%s/devices/%s/device.crt", m->gw->conf->pki, dev);
	if (pki_check_key(m->gw->conf->pki, crt, cn, sizeof(cn), &k, err, sizeof(err)) == -1) {
		log_security("device %s: no valid certificate: %s", dev, err);
		return NULL;
	}
	if (strcmp(cn, dev) != 0 || m->npeers >= PEERS_MAX) {
		log_security("device %s: certificate names %s", dev, cn);
		crypto_key_free(k);
		return NULL;
	}
	if (grow(&m->peers, &m->cpeers, (size_t)m->npeers + 1, sizeof(*m->peers), 64) == -1) {
		crypto_key_free(k);
		return NULL;
	}
	memset(&m->peers[m->npeers], 0, sizeof(m->peers[0]));
	snprintf(m->peers[m->npeers].dev, PROTO_DEV_MAX, "%s", dev);
	m->peers[m->npeers].key = k;
	return m->peers[m->npeers++].key;
}

static void
peers_clear(struct gw_mqtt *m)
{
	for (int i = 0; i < m->npeers; i++) {
		msgauth_forget(m->ma, m->peers[i].dev);
		crypto_key_free(m->peers[i].key);
	}
	m->npeers = 0;
}

/* 1 if dev is listed in PKI/revoked. The file is re-read when it changes
 * (one stat per check), and then every cached key is dropped. */
static int
revoked(struct gw_mqtt *m, const char *dev)
{
	char p[GW_PATH_MAX + 16], needle[PROTO_DEV_MAX + 2];
	struct stat st;

	snprintf(p, sizeof(p), "%s/revoked", m->gw->conf->pki);
	if (stat(p, &st) == 0 && (st.st_mtim.tv_sec != m->revoked_mtime.tv_sec ||
	    st.st_mtim.tv_nsec != m->revoked_mtime.tv_nsec || st.st_size != m->revoked_size ||
	    m->revoked == NULL)) {
		FILE *f = fopen(p, "r");
		char *b = malloc((size_t)st.st_size + 3);
		size_t n = 0;

		if (f != NULL && b != NULL) {
			b[0] = '\n';
			n = fread(b + 1, 1, (size_t)st.st_size, f);
			b[n + 1] = '\n';
			b[n + 2] = '\0';
			free(m->revoked);
			m->revoked = b;
			b = NULL;
			m->revoked_mtime = st.st_mtim;
			m->revoked_size = st.st_size;
			peers_clear(m);
			log_info("mqtt: revocation list %s read", p);
		}
		free(b);
		if (f != NULL)
			fclose(f);
	}
	if (m->revoked == NULL)
		return 0;
	snprintf(needle, sizeof(needle), "\n%s\n", dev);
	return strstr(m->revoked, needle) != NULL;
}

static struct peer *
peer_of(struct gw_mqtt *m, const char *dev)
{
	for (int i = 0; i < m->npeers; i++)
		if (strcmp(m->peers[i].dev, dev) == 0)
			return &m->peers[i];
	return NULL;
}

/* Open an uplink payload of dev that must carry `want`. 1 authentic, 0 accepted
 * without a tag (auth_unsigned_devices), -1 refused (logged). sig/siglen get
 * the signature of a signed message (may be NULL). */
static int
open_up(struct gw_mqtt *m, const char *dev, const char *what, enum proto_auth want,
    const void *payload, int len)
{
	char err[256], *body;
	size_t bodylen;
	unsigned char tag[PROTO_SIG_MAX];
	size_t taglen;
	struct proto_error pe;
	enum proto_auth alg;
	int rc;

	if (m->ma == NULL)
		return 0;
	body = m->open_buf;	/* len <= PROTO_MAX_PAYLOAD: on_message checked */
	if (revoked(m, dev)) {
		log_security("device %s: %s refused: the device is revoked", dev, what);
		return -1;
	}
	if (m->gw->conf->auth_unsigned_dev &&
	    proto_auth_split(payload, (size_t)len, body, (size_t)len + 1, &bodylen, &alg, tag,
	    &taglen, &pe) == PROTO_OK && alg == PROTO_AUTH_NONE) {
		struct peer *p = peer_of(m, dev);

		if (p == NULL && peer_key(m, dev) != NULL)
			p = peer_of(m, dev);
		if (p == NULL)
			return -1;
		if (!p->untagged_warned)
			log_warnx("device %s: messages without a tag accepted "
			    "(auth_unsigned_devices yes: transition only)", dev);
		p->untagged_warned = 1;
		return 0;
	}
	rc = msgauth_open(m->ma, dev, dev, want, payload, (size_t)len, body, (size_t)len + 1,
	    &bodylen, NULL, NULL, err, sizeof(err));
	if (rc == -1) {
		log_security("device %s: %s refused: %s", dev, what, err);
		return -1;
	}
	return 1;
}

/* Give the next downlink counter: our clock in microseconds, past the last. */
static int64_t
next_n(struct gw_mqtt *m)
{
	/* the system clock, not the gateway's (test) clock: freshness is judged
	 * by the unit against its own real clock */
	int64_t n = clock_wall(clock_system()) * 1000;

	if (n <= m->last_n)
		n = m->last_n + 1;
	m->last_n = n;
	return n;
}

/* Publish the encoded downlink body for dev, sealed when authentication is on.
 * The body is re-encoded with a fresh counter and send time, so a resend of a
 * stored push is not a replay to the device. */
static int
publish_sealed(struct gw_mqtt *m, const char *topic, const char *dev, const char *body,
    size_t len)
{
	struct proto_down *d = NULL;
	char *plain = NULL, *sealed = NULL, err[256];
	size_t plen, slen;
	int rc = -1;

	if (m->ma == NULL)
		return mqttc_publish(m->c, topic, body, len, 1, 0, NULL);
	d = malloc(sizeof(*d));
	plain = malloc(PROTO_MAX_PAYLOAD + 1);
	sealed = malloc(PROTO_MAX_PAYLOAD + 1);
	if (d == NULL || plain == NULL || sealed == NULL) {
		log_warn("mqtt: seal");
		goto out;
	}
	if (proto_decode_down(body, len, d, NULL) != PROTO_OK) {
		log_warnx("mqtt: a stored message for %s does not decode: not sent", dev);
		goto out;
	}
	d->n = next_n(m);
	d->tx_ms = clock_wall(clock_system());
	if (proto_encode_down(d, plain, PROTO_MAX_PAYLOAD + 1, &plen) != PROTO_OK ||
	    msgauth_seal(m->ma, dev, dev, PROTO_AUTH_MAC, plain, plen, sealed,
	    PROTO_MAX_PAYLOAD + 1, &slen, err, sizeof(err)) == -1) {
		log_security("mqtt: %s for %s not sealed, not sent: %s",
		    proto_down_type_name(d->type), dev, err);
		goto out;
	}
	rc = mqttc_publish(m->c, topic, sealed, slen, 1, 0, NULL);
out:
	free(d);
	free(plain);
	free(sealed);
	return rc;
}

/* ---- downlink ---- */

static int
publish_down(struct gw_mqtt *m, const char *dev, const struct proto_down *d)
{
	char topic[PROTO_TOPIC_MAX], *buf;
	size_t len;
	enum proto_err pe;
	int rc = -1;

	if (proto_topic(topic, sizeof(topic), dev, PROTO_T_ORDER) != PROTO_OK) {
		log_warnx("mqtt: no topic for device %s", dev);
		return -1;
	}
	if ((buf = malloc(PROTO_MAX_PAYLOAD + 1)) == NULL) {
		log_warn("mqtt: publish");
		return -1;
	}
	if ((pe = proto_encode_down(d, buf, PROTO_MAX_PAYLOAD + 1, &len)) != PROTO_OK)
		log_warnx("mqtt: cannot encode %s for %s: %s", proto_down_type_name(d->type), dev,
		    proto_strerror(pe));
	else
		rc = publish_sealed(m, topic, dev, buf, len);
	free(buf);
	return rc;
}

struct flush_ids {
	char	ids[FLUSH_MAX][PROTO_ID_MAX];
	int	n;
};

static int
collect_ids(const struct outbox_row *r, void *arg)
{
	struct flush_ids *f = arg;

	memcpy(f->ids[f->n++], r->msg_id, PROTO_ID_MAX);
	return f->n >= FLUSH_MAX;
}

/* Publish unacked outbox rows of dev (NULL = all devices) that were never sent
 * or last sent before before_ms. Rows of devices known to be offline wait for
 * their presence or hello (they would only pile up in the broker), except when
 * dev is given: the caller knows better. Only when no group is pending (the
 * rows read must be committed ones): callers go through want_flush. The sent
 * marks are written in one light transaction: losing them on a power cut
 * only makes the rows go out again after the restart, which the device's
 * msg_id check makes harmless. */
static void
flush(struct gw_mqtt *m, const char *dev, int64_t before_ms)
{
	struct gw *gw = m->gw;
	struct flush_ids *f;
	struct outbox_row *r;
	struct device dv;
	char topic[PROTO_TOPIC_MAX];
	int64_t now = clock_wall(gw->clock);
	int intx = 0;

	if (!mqttc_connected(m->c))
		return;
	f = calloc(1, sizeof(*f));
	r = malloc(sizeof(*r));
	if (f == NULL || r == NULL) {
		log_warn("mqtt: flush");
		goto out;
	}
	if (store_outbox_pending(gw->store, dev, before_ms, collect_ids, f) == -1)
		goto out;
	for (int i = 0; i < f->n; i++) {
		if (store_outbox_get(gw->store, f->ids[i], r) != 1)
			continue;
		if (dev == NULL && store_device_get(gw->store, r->dev, &dv) == 1 &&
		    dv.online == 0)
			continue;
		if (proto_topic(topic, sizeof(topic), r->dev, PROTO_T_ORDER) != PROTO_OK) {
			log_warnx("mqtt: outbox %s: bad device %s", r->msg_id, r->dev);
			continue;
		}
		if (publish_sealed(m, topic, r->dev, r->payload, strlen(r->payload)) == -1)
			break;	/* not connected any more: the next connect flushes */
		if (!intx && store_begin_light(gw->store) == -1)
			break;
		intx = 1;
		if (store_outbox_sent(gw->store, r->msg_id, now) == -1) {
			store_rollback(gw->store);
			intx = 0;
			break;
		}
		log_debug("mqtt: %s %s to %s (attempt %d)", r->kind, r->msg_id, r->dev,
		    r->attempts + 1);
		/* Say it on the first resend and then every RESEND_LOG_EVERY: a
		 * unit that is off for hours must not flood the log. */
		if (r->attempts == 1 || (r->attempts > 0 && r->attempts % RESEND_LOG_EVERY == 0))
			log_info("mqtt: %s not acked by %s yet: sent again (attempt %d)",
			    r->msg_id, r->dev, r->attempts + 1);
	}
	if (intx && store_commit(gw->store) == -1)
		store_rollback(gw->store);	/* the marks only: the rows went out */
out:
	free(f);
	free(r);
}

/* Flush now, or once the pass's group is committed when one is pending. */
static void
want_flush(struct gw_mqtt *m, const char *dev, int64_t before_ms)
{
	struct store *st = m->gw->store;

	if (store_group_pending(st)) {
		for (int i = 0; i < m->nwant; i++)
			if (strcmp(m->want[i].dev, dev ? dev : "") == 0) {
				if (before_ms > m->want[i].before_ms)
					m->want[i].before_ms = before_ms;
				return;
			}
		if (m->nwant < WANT_MAX) {
			snprintf(m->want[m->nwant].dev, PROTO_DEV_MAX, "%s", dev ? dev : "");
			m->want[m->nwant++].before_ms = before_ms;
			return;
		}
		(void)store_group_end(st);	/* the queue is full: commit early */
		if (store_group_pending(st)) {
			/* inside an operation: the resend timer will send it */
			log_debug("mqtt: flush of %s deferred to the resend timer",
			    dev ? dev : "all devices");
			return;
		}
	}
	flush(m, dev, before_ms);
}

void
mqtt_flush(struct gw_mqtt *m, const char *dev)
{
	int64_t now = clock_wall(m->gw->clock);

	want_flush(m, dev, now - (int64_t)m->gw->conf->resend_s * 1000);
}

static void
resend_cb(void *arg)
{
	struct gw_mqtt *m = arg;
	int64_t now = clock_wall(m->gw->clock);

	want_flush(m, NULL, now - (int64_t)m->gw->conf->resend_s * 1000);
}

/* Queue an ack of eid to dev, sent before the next poll. */
static void
queue_ack(struct gw_mqtt *m, const char *dev, const char *eid)
{
	struct ackq *q = NULL;

	for (int i = 0; i < m->nacks; i++)
		if (strcmp(m->acks[i].dev, dev) == 0)
			q = &m->acks[i];
	if ((q != NULL && q->n >= PROTO_ACK_MAX) || (q == NULL && m->nacks >= ACK_DEVS_MAX)) {
		/* full: the group is committed now and the acks go with it */
		(void)store_group_end(m->gw->store);
		if (m->nacks > 0 && !store_group_pending(m->gw->store))
			flush_acks(m);	/* no group armed (or none open) */
		q = NULL;
	}
	if (q == NULL) {
		if (m->nacks >= ACK_DEVS_MAX) {
			log_warnx("mqtt: ack of %s to %s dropped: the device resends", eid, dev);
			return;
		}
		q = &m->acks[m->nacks++];
		snprintf(q->dev, sizeof(q->dev), "%s", dev);
		q->n = 0;
	}
	snprintf(q->eids[q->n++], PROTO_EID_MAX, "%s", eid);
}

static void
make_msg_id(struct gw_mqtt *m, const char *prefix, char out[PROTO_ID_MAX])
{
	snprintf(out, PROTO_ID_MAX, "%s.%lld.%u", prefix,
	    (long long)clock_wall(m->gw->clock), ++m->seq);
}

static void
flush_acks(struct gw_mqtt *m)
{
	struct proto_down *d;

	if (m->nacks == 0)
		return;
	if ((d = malloc(sizeof(*d))) == NULL) {
		log_warn("mqtt: acks");
		m->nacks = 0;
		return;
	}
	for (int i = 0; i < m->nacks; i++) {
		struct ackq *q = &m->acks[i];

		memset(d, 0, sizeof(*d));
		d->type = PROTO_DOWN_ACK;
		make_msg_id(m, "ack", d->msg_id);
		d->at_ms = clock_wall(m->gw->clock);
		d->neids = q->n;
		memcpy(d->eids, q->eids, sizeof(q->eids[0]) * (size_t)q->n);
		/* A lost ack costs only a resend: the device sends the event
		 * again and it is acked again as a duplicate. */
		if (publish_down(m, q->dev, d) == -1)
			log_debug("mqtt: %d acks to %s not sent", q->n, q->dev);
	}
	free(d);
	m->nacks = 0;
}

/*
 * Write the buffered positions: per device, one update of its row with its
 * newest position (which also says whether the device is registered), then
 * the positions of registered devices, STORE_POS_ROWS to an INSERT. A light
 * transaction, or part of the pass's group when there is one.
 */
static void
flush_positions(struct gw_mqtt *m)
{
	struct store *st = m->gw->store;
	const struct position *rows[POS_BATCH_MAX];
	int rc, nrows;

	loop_timer_stop(m->gw->loop, &m->pos_timer);
	if (m->npos == 0)
		return;
	if (store_begin_light(st) == -1)
		goto drop;
	memset(m->pos_done, 0, (size_t)m->npos);
	nrows = 0;
	for (int i = 0; i < m->npos; i++) {
		struct position *p = &m->pos[i], *newest = p;
		int n = 0;

		if (m->pos_done[i])
			continue;
		for (int j = i + 1; j < m->npos; j++)
			if (!m->pos_done[j] && m->pos_hash[j] == m->pos_hash[i] &&
			    strcmp(m->pos[j].dev, p->dev) == 0 && m->pos[j].at_ms > newest->at_ms)
				newest = &m->pos[j];
		if ((rc = store_device_position(st, p->dev, newest->lat, newest->lon,
		    newest->at_ms, newest->rx_ms)) == -1)
			goto fail;
		for (int j = i; j < m->npos; j++) {
			if (m->pos_done[j] || m->pos_hash[j] != m->pos_hash[i] ||
			    strcmp(m->pos[j].dev, p->dev) != 0)
				continue;
			m->pos_done[j] = 1;
			n++;
			if (rc == 1)
				rows[nrows++] = &m->pos[j];
		}
		if (rc == 0)
			log_security("device %s: not registered: %d positions dropped", p->dev, n);
	}
	if (store_positions_add(st, rows, nrows) == -1 || store_commit(st) == -1)
		goto fail;
	m->npos = 0;
	return;
fail:
	store_rollback(st);
drop:
	/* Positions are QoS 0 samples; the next ones replace them. */
	log_warnx("mqtt: %d positions could not be stored", m->npos);
	m->npos = 0;
}

static void
send_syncs(struct gw_mqtt *m, int send)
{
	for (int i = 0; i < m->nsync; i++) {
		if (send) {
			if (publish_down(m, m->syncs[i].dev, m->syncs[i].d) == -1)
				log_warnx("mqtt: device %s: sync not sent", m->syncs[i].dev);
			log_info("device %s says hello holding %d open orders; the gateway has "
			    "%d for it", m->syncs[i].dev, m->syncs[i].nheld,
			    m->syncs[i].d->nopen);
			flush(m, m->syncs[i].dev, INT64_MAX);
		}
		free(m->syncs[i].d);
	}
	m->nsync = 0;
}

static void
pos_timer_cb(void *arg)
{
	flush_positions(arg);
}

/* The store's group watcher (top of this file). */
static void
group_cb(void *arg, enum store_group_phase ph)
{
	struct gw_mqtt *m = arg;
	int nwant, light;

	if (ph == STORE_GROUP_CLOSING) {
		/* With a group to join they cost no commit of their own; else
		 * they wait for more (a commit per 256 rather than per pass
		 * writes the same index pages once), at most POS_HOLD_MS. */
		if (store_group_pending(m->gw->store))
			flush_positions(m);
		else if (m->npos > 0 && !loop_timer_armed(&m->pos_timer))
			loop_timer_start(m->gw->loop, &m->pos_timer, POS_HOLD_MS, 0);
		return;
	}
	if (ph == STORE_GROUP_FAILED) {
		if (m->nacks > 0 || m->nsync > 0)
			log_warnx("mqtt: the store failed: acks to %d devices and %d syncs not "
			    "sent; the devices resend", m->nacks, m->nsync);
		m->nacks = 0;
	}
	flush_acks(m);
	/* Only committed rows are visible now, whatever the outcome. The sent
	 * marks of every flush below go into one light transaction. */
	nwant = m->nwant;
	m->nwant = 0;
	light = (nwant > 0 || m->nsync > 0) && store_begin_light(m->gw->store) == 0;
	send_syncs(m, ph == STORE_GROUP_DONE);
	for (int i = 0; i < nwant; i++)
		flush(m, m->want[i].dev[0] ? m->want[i].dev : NULL, m->want[i].before_ms);
	if (light && store_commit(m->gw->store) == -1)
		store_rollback(m->gw->store);	/* sent marks only */
}

/* ---- uplink ---- */

/* FNV-1a of a device id: positions of one device are found in a batch by it. */
static uint32_t
dev_hash(const char *dev)
{
	uint32_t h = 2166136261u;

	for (; *dev; dev++)
		h = (h ^ (unsigned char)*dev) * 16777619u;
	return h;
}

/* Reconcile a hello; its SYNC and the re-pushes go out with the group's
 * commit (group_cb). */
static void
on_hello(struct gw_mqtt *m, const char *dev, const struct proto_event *ev)
{
	struct proto_down *d;

	if (m->nsync >= SYNC_MAX)
		(void)store_group_end(m->gw->store);	/* full: commit early */
	if (m->nsync >= SYNC_MAX) {
		log_warnx("mqtt: device %s: too many hellos at once: no sync now, the "
		    "device says hello again", dev);
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("mqtt: hello");
		return;
	}
	if (order_reconcile(m->gw, ev, d->open, &d->nopen) == -1) {
		log_warnx("mqtt: device %s: hello not reconciled (store)", dev);
		free(d);
		return;
	}
	d->type = PROTO_DOWN_SYNC;
	make_msg_id(m, "sync", d->msg_id);
	d->at_ms = clock_wall(m->gw->clock);
	snprintf(m->syncs[m->nsync].dev, PROTO_DEV_MAX, "%s", dev);
	m->syncs[m->nsync].d = d;
	m->syncs[m->nsync++].nheld = ev->nopen;
	if (!store_group_pending(m->gw->store))
		send_syncs(m, 1);	/* no group armed: now */
}

static void
on_event(struct gw_mqtt *m, const char *dev, const void *payload, int len, int64_t rx)
{
	struct proto_event *ev;
	struct proto_error err;
	enum ev_disposition disp;

	if ((ev = malloc(sizeof(*ev))) == NULL) {
		log_warn("mqtt: event");
		return;
	}
	memset(&err, 0, sizeof(err));
	if (proto_decode_event(payload, (size_t)len, ev, &err) != PROTO_OK) {
		log_warnx("mqtt: device %s: event dropped (%d bytes): %s", dev, len,
		    err.msg[0] ? err.msg : proto_strerror(err.code));
		free(ev);
		return;
	}
	/* Verified before anything acts on it; a refused message is not acked
	 * and leaves no trace but the log (its event id stays free for the
	 * device's own, authentic event). The stored payload keeps the tag, so a
	 * signature stays with its evidence. */
	if (open_up(m, dev, proto_ev_type_name(ev->type), msgauth_policy_event(ev->type),
	    payload, len) == -1) {
		free(ev);
		return;
	}
	disp = order_event(m->gw, dev, ev, payload, (size_t)len, rx);
	metrics_event(m->gw, rx);
	switch (disp) {
	case EV_APPLIED:
		if (ev->type == PROTO_EV_HELLO)
			on_hello(m, dev, ev);
		queue_ack(m, dev, ev->eid);
		break;
	case EV_DUPLICATE:
		log_debug("device %s: event %s again: acked, not applied", dev, ev->eid);
		if (ev->type == PROTO_EV_HELLO)
			on_hello(m, dev, ev);
		queue_ack(m, dev, ev->eid);
		break;
	case EV_REFUSED:
		/*
		 * A refused event (unknown order, an order of another device, a
		 * device id that is not the topic's) is still acked to the sender:
		 * its journal resends every unacked event forever, and a refusal is
		 * final, so not acking would only make it repeat (and could starve
		 * its later events). The refusal is logged as a security event and
		 * nothing is recorded on any order.
		 */
		queue_ack(m, dev, ev->eid);
		break;
	case EV_RETRY:
		log_warnx("device %s: event %s not stored: not acked, the device will resend",
		    dev, ev->eid);
		break;
	}
	free(ev);
}

static void
on_pos(struct gw_mqtt *m, const char *dev, const void *payload, int len, int64_t rx)
{
	struct proto_pos p;
	struct proto_error err;
	struct position *q;

	memset(&err, 0, sizeof(err));
	if (proto_decode_pos(payload, (size_t)len, &p, &err) != PROTO_OK) {
		log_warnx("mqtt: device %s: position dropped: %s", dev,
		    err.msg[0] ? err.msg : proto_strerror(err.code));
		return;
	}
	if (strcmp(p.dev, dev) != 0) {
		log_security("device %s: position claims device %s: dropped", dev, p.dev);
		return;
	}
	if (open_up(m, dev, "position", PROTO_AUTH_MAC, payload, len) == -1)
		return;
	if (m->ma != NULL && (p.at_ms < rx - POS_WINDOW_MS || p.at_ms > rx + POS_WINDOW_MS)) {
		log_security("device %s: position of %lld outside the %lld min window: dropped "
		    "(replayed?)", dev, (long long)p.at_ms, POS_WINDOW_MS / 60000);
		return;
	}
	/* Whether dev is registered is found out when the batch is written. */
	if (m->npos >= POS_BATCH_MAX)
		flush_positions(m);
	m->pos_hash[m->npos] = dev_hash(dev);
	q = &m->pos[m->npos++];
	memset(q, 0, sizeof(*q));
	memcpy(q->dev, p.dev, sizeof(q->dev));
	q->at_ms = p.at_ms;
	q->rx_ms = rx;
	q->lat = p.fix.lat;
	q->lon = p.fix.lon;
	q->eph_m = p.fix.eph_m;
	q->speed_mps = p.fix.speed_mps;
	memcpy(q->order_id, p.order_id, sizeof(q->order_id));
}

static void
on_presence(struct gw_mqtt *m, const char *dev, const void *payload, int len, int64_t rx)
{
	struct proto_presence p;
	struct proto_error err;
	struct device dv;
	int rc;

	memset(&err, 0, sizeof(err));
	if (proto_decode_presence(payload, (size_t)len, &p, &err) != PROTO_OK) {
		log_warnx("mqtt: device %s: presence dropped: %s", dev,
		    err.msg[0] ? err.msg : proto_strerror(err.code));
		return;
	}
	if (strcmp(p.dev, dev) != 0) {
		log_security("device %s: presence claims device %s: dropped", dev, p.dev);
		return;
	}
	/* The will is sealed when the device connects: no time window here. */
	if (open_up(m, dev, "presence", PROTO_AUTH_MAC, payload, len) == -1)
		return;
	if ((rc = store_device_get(m->gw->store, dev, &dv)) != 1) {
		if (rc == 0)
			log_warnx("device %s: not registered: presence ignored", dev);
		return;
	}
	if (store_device_presence(m->gw->store, dev, p.online, rx) == -1)
		return;
	log_info("device %s is %s", dev, p.online ? "online" : "offline");
	if (p.online)
		want_flush(m, dev, INT64_MAX);
}

static void
on_message(void *arg, const char *topic, const void *payload, int len, int qos, int retain)
{
	struct gw_mqtt *m = arg;
	char dev[PROTO_DEV_MAX];
	enum proto_topic kind;
	int64_t rx = clock_wall(m->gw->clock);

	(void)qos;
	(void)retain;
	if (proto_topic_parse(topic, dev, &kind) != PROTO_OK) {
		log_warnx("mqtt: message on foreign topic \"%.80s\" dropped", topic);
		return;
	}
	if (len <= 0 || len > PROTO_MAX_PAYLOAD) {
		log_warnx("mqtt: device %s: payload of %d bytes on %s dropped", dev, len, topic);
		return;
	}
	switch (kind) {
	case PROTO_T_EVENT:
		on_event(m, dev, payload, len, rx);
		break;
	case PROTO_T_POS:
		on_pos(m, dev, payload, len, rx);
		break;
	case PROTO_T_PRESENCE:
		on_presence(m, dev, payload, len, rx);
		break;
	case PROTO_T_ORDER:
	default:
		break;	/* our own downlink: not subscribed */
	}
}

static void
on_connect(void *arg, int session_present)
{
	struct gw_mqtt *m = arg;
	static const enum proto_topic kinds[] = { PROTO_T_EVENT, PROTO_T_POS,
		PROTO_T_PRESENCE };

	log_debug("mqtt: subscribing (session %s)", session_present ? "kept" : "new");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (mqttc_subscribe(m->c, proto_topic_pattern(kinds[i]), 1) == -1)
			log_warnx("mqtt: cannot subscribe to %s", proto_topic_pattern(kinds[i]));
	/* Pushes made while we were away go out now; the rest on their timer. */
	want_flush(m, NULL, clock_wall(m->gw->clock) - (int64_t)m->gw->conf->resend_s * 1000);
}

static void
on_disconnect(void *arg, int rc)
{
	struct gw_mqtt *m = arg;

	if (m->stopping)
		return;
	log_warnx("mqtt: disconnected from %s:%d (%d); reconnecting", m->gw->conf->mqtt_host,
	    m->gw->conf->mqtt_port, rc);
}

static void
on_publish(void *arg, int mid)
{
	(void)arg;
	/* The broker has it. That is not delivery: see the top of this file. */
	log_debug("mqtt: PUBACK %d", mid);
}

/* Our key (mqtt_keyfile, else PKI/gateway.key) and the msgauth context; with
 * no PKI directory authentication is off (plain development only). */
static int
auth_start(struct gw_mqtt *m)
{
	const struct gw_conf *cf = m->gw->conf;
	char kp[GW_PATH_MAX + 16], err[512];

	if (cf->pki[0] == '\0') {
		log_warnx("mqtt: no pki directory: messages are NOT authenticated "
		    "(development only)");
		return 0;
	}
	if (cf->mqtt_keyfile[0])
		snprintf(kp, sizeof(kp), "%s", cf->mqtt_keyfile);
	else
		snprintf(kp, sizeof(kp), "%s/gateway.key", cf->pki);
	if ((m->crypto = crypto_new("linecrew-gateway")) == NULL) {
		log_warnx("mqtt: cannot seed the random generator");
		return -1;
	}
	if (crypto_key_load(kp, 1, &m->own, err, sizeof(err)) == -1) {
		log_warnx("mqtt: %s", err);
		return -1;
	}
	if ((m->ma = msgauth_new(m->crypto, m->own, peer_key, m)) == NULL) {
		log_warnx("mqtt: msgauth: out of memory");
		return -1;
	}
	(void)revoked(m, "");	/* read the list now */
	log_info("mqtt: messages authenticated end to end (device registry %s)", cf->pki);
	return 0;
}

static void
auth_free(struct gw_mqtt *m)
{
	if (m->ma != NULL)
		peers_clear(m);
	free(m->peers);
	msgauth_free(m->ma);
	crypto_key_free(m->own);
	crypto_free(m->crypto);
	free(m->revoked);
	m->ma = NULL;
	m->own = NULL;
	m->crypto = NULL;
	m->peers = NULL;
	m->revoked = NULL;
}

struct gw_mqtt *
mqtt_start(struct gw *gw)
{
	static const struct mqttc_handlers h = { on_connect, on_disconnect, on_message,
		on_publish };
	struct mqttc_config cfg;
	struct gw_mqtt *m;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_warn("mqtt: calloc");
		return NULL;
	}
	m->gw = gw;
	loop_timer_init(&m->resend, resend_cb, m);
	loop_timer_init(&m->pos_timer, pos_timer_cb, m);
	if ((m->open_buf = malloc(PROTO_MAX_PAYLOAD + 1)) == NULL) {
		log_warn("mqtt: malloc");
		free(m);
		return NULL;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.host = gw->conf->mqtt_host;
	cfg.port = gw->conf->mqtt_port;
	cfg.client_id = gw->conf->mqtt_client_id;
	cfg.clean_session = 0;
	cfg.keepalive_s = MQTT_KEEPALIVE_S;
	if (!gw->conf->mqtt_plain_dev) {
		cfg.cafile = gw->conf->mqtt_cafile;
		cfg.certfile = gw->conf->mqtt_certfile;
		cfg.keyfile = gw->conf->mqtt_keyfile;
	}
	if (auth_start(m) == -1)
		goto fail;
	/* The group's prepare hook (store_group_start, before this) runs before
	 * mqttc's own, so acks written when a group ends are out before mqttc
	 * decides whether to watch for POLLOUT. */
	if (store_group_watch(gw->store, group_cb, m) == -1) {
		log_warnx("mqtt: cannot watch the store's group commit");
		goto fail;
	}
	if ((m->c = mqttc_new(gw->loop, &cfg, &h, m)) == NULL)
		goto fail_watch;
	if (mqttc_start(m->c) == -1) {
		mqttc_free(m->c);
		goto fail_watch;
	}
	loop_timer_start(gw->loop, &m->resend, RESEND_TICK_MS, RESEND_TICK_MS);
	return m;
fail_watch:
	store_group_unwatch(gw->store, group_cb, m);
fail:
	auth_free(m);
	free(m->open_buf);
	free(m);
	return NULL;
}

void
mqtt_stop(struct gw_mqtt *m)
{
	if (m == NULL)
		return;
	/* main.c has ended the last group (store_group_stop) */
	store_group_unwatch(m->gw->store, group_cb, m);
	flush_positions(m);	/* stops pos_timer */
	flush_acks(m);
	send_syncs(m, 1);
	loop_timer_stop(m->gw->loop, &m->resend);
	m->stopping = 1;
	mqttc_stop(m->c);
	mqttc_free(m->c);
	auth_free(m);
	free(m->open_buf);
	free(m);
}

int
mqtt_connected(const struct gw_mqtt *m)
{
	return m != NULL && mqttc_connected(m->c);
}
