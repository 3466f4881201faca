/*
 * mqttc.c: libmosquitto on our poll loop.
 *
 * States:
 *
 *   IDLE --start--> CONNECTING --CONNACK ok--> CONNECTED
 *                      |  ^                        |
 *        refused/lost  v  | backoff timer          | read/write error, keepalive lost,
 *                     WAIT <------------------------+ broker closed
 *
 * In CONNECTING and CONNECTED the library's socket is registered with the loop:
 * POLLIN always, POLLOUT while mosquitto_want_write(). We call loop_read /
 * loop_write / loop_misc ourselves; libmosquitto neither closes the socket nor
 * calls on_disconnect when those fail (that is mosquitto_loop()'s job, which we
 * do not use), so conn_lost() does both: it is the one place a connection ends.
 * The reconnect goes through mosquitto_reconnect(), which closes the old socket.
 *
 * Owns: the struct mosquitto, copies of every configuration string.
 */
#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "mqttc.h"

#define MQTTC_BACKOFF_MIN_MS	200
#define MQTTC_BACKOFF_MAX_MS	10000
#define MQTTC_MISC_MS		1000
#define MQTTC_KEEPALIVE_S	30
#define MQTTC_READ_BURST	64	/* packets read per readiness at most */

enum mstate { M_IDLE, M_CONNECTING, M_CONNECTED, M_WAIT };

struct mqttc {
	struct loop		*loop;
	struct mosquitto	*mosq;
	struct mqttc_handlers	 h;
	void			*arg;
	enum mstate		 state;
	int			 fd;		/* registered with the loop, -1 none */
	int64_t			 backoff_ms;
	unsigned		 connects;
	int			 started;	/* first connect attempted */
	struct loop_timer	 retry;
	struct loop_timer	 misc;
	char			*host, *client_id;
	int			 port, keepalive, misc_ms;
};

static int mqttc_lib_ready;

static void conn_attempt(void *arg);

static void
unwatch(struct mqttc *m)
{
	if (m->fd >= 0) {
		loop_io_del(m->loop, m->fd);
		m->fd = -1;
	}
}

static void
schedule_retry(struct mqttc *m)
{
	m->state = M_WAIT;
	loop_timer_start(m->loop, &m->retry, m->backoff_ms, 0);
	m->backoff_ms *= 2;
	if (m->backoff_ms > MQTTC_BACKOFF_MAX_MS)
		m->backoff_ms = MQTTC_BACKOFF_MAX_MS;
}

/* The one place a connection ends. Idempotent. */
static void
conn_lost(struct mqttc *m, int rc)
{
	int was = m->state;

	if (was != M_CONNECTING && was != M_CONNECTED)
		return;
	unwatch(m);
	if (was == M_CONNECTED)
		log_warnx("mqtt: connection to %s:%d lost: %s", m->host, m->port,
		    mosquitto_strerror(rc));
	schedule_retry(m);
	if (was == M_CONNECTED && m->h.on_disconnect)
		m->h.on_disconnect(m->arg, rc);
}

static void
on_io(int fd, short revents, void *arg)
{
	struct mqttc *m = arg;
	int rc = MOSQ_ERR_SUCCESS;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		int burst = 0, avail = 0;

		/* libmosquitto reads one packet per call when no QoS > 0 flow is
		 * pending; under a flood of QoS 0 positions that would cost a poll
		 * round per message. Drain what the kernel already holds, bounded so
		 * other fds and timers still get their turn. */
		do
			rc = mosquitto_loop_read(m->mosq, 1);
		while (rc == MOSQ_ERR_SUCCESS && ++burst < MQTTC_READ_BURST &&
		    mosquitto_socket(m->mosq) == fd && ioctl(fd, FIONREAD, &avail) == 0 &&
		    avail > 0);
	}
	if (rc == MOSQ_ERR_SUCCESS && m->state != M_WAIT && (revents & POLLOUT))
		rc = mosquitto_loop_write(m->mosq, 1);
	if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m->mosq) < 0)
		conn_lost(m, rc != MOSQ_ERR_SUCCESS ? rc : MOSQ_ERR_CONN_LOST);
}

static void
prepare(void *arg)
{
	struct mqttc *m = arg;
	int fd;
	short ev;

	if (m->state != M_CONNECTING && m->state != M_CONNECTED)
		return;
	fd = mosquitto_socket(m->mosq);
	if (fd < 0) {
		conn_lost(m, MOSQ_ERR_CONN_LOST);
		return;
	}
	ev = POLLIN | (mosquitto_want_write(m->mosq) ? POLLOUT : 0);
	if (fd != m->fd) {
		unwatch(m);
		if (loop_io_add(m->loop, fd, ev, on_io, m) == -1) {
			conn_lost(m, MOSQ_ERR_NOMEM);
			return;
		}
		m->fd = fd;
	} else
		loop_io_events(m->loop, fd, ev);
}

static void
on_misc(void *arg)
{
	struct mqttc *m = arg;
	int rc;

	if (m->state != M_CONNECTING && m->state != M_CONNECTED)
		return;
	rc = mosquitto_loop_misc(m->mosq);
	if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m->mosq) < 0)
		conn_lost(m, rc != MOSQ_ERR_SUCCESS ? rc : MOSQ_ERR_KEEPALIVE);
}

static void
cb_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
    const mosquitto_property *props)
{
	struct mqttc *m = obj;

	(void)mosq;
	(void)props;
	if (rc != 0) {
		log_warnx("mqtt: %s:%d refused the connection: %s", m->host, m->port,
		    mosquitto_connack_string(rc));
		conn_lost(m, MOSQ_ERR_CONN_REFUSED);
		return;
	}
	m->state = M_CONNECTED;
	m->backoff_ms = MQTTC_BACKOFF_MIN_MS;
	m->connects++;
	log_info("mqtt: connected to %s:%d as %s (session %s)", m->host, m->port,
	    m->client_id, (flags & 1) ? "resumed" : "new");
	if (m->h.on_connect)
		m->h.on_connect(m->arg, flags & 1);
}

static void
cb_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	(void)mosq;
	(void)props;
	conn_lost(obj, rc ? rc : MOSQ_ERR_CONN_LOST);
}

static void
cb_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
    const mosquitto_property *props)
{
	struct mqttc *m = obj;

	(void)mosq;
	(void)props;
	if (m->h.on_message)
		m->h.on_message(m->arg, msg->topic, msg->payload, msg->payloadlen,
		    msg->qos, msg->retain);
}

static void
cb_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
    const mosquitto_property *props)
{
	struct mqttc *m = obj;

	(void)mosq;
	(void)reason;
	(void)props;
	if (m->h.on_publish)
		m->h.on_publish(m->arg, mid);
}

static void
conn_attempt(void *arg)
{
	struct mqttc *m = arg;
	int rc;

	if (!m->started) {
		m->started = 1;
		rc = mosquitto_connect(m->mosq, m->host, m->port, m->keepalive);
	} else
		rc = mosquitto_reconnect(m->mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_debug("mqtt: connect to %s:%d: %s", m->host, m->port,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		schedule_retry(m);
		return;
	}
	m->state = M_CONNECTING;
	prepare(m);
}

struct mqttc *
mqttc_new(struct loop *l, const struct mqttc_config *cfg, const struct mqttc_handlers *h,
    void *arg)
{
	struct mqttc *m;
	int rc;

	if (!mqttc_lib_ready) {
		mosquitto_lib_init();
		mqttc_lib_ready = 1;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_warn("mqtt: calloc");
		return NULL;
	}
	m->loop = l;
	m->h = *h;
	m->arg = arg;
	m->fd = -1;
	m->port = cfg->port;
	m->keepalive = cfg->keepalive_s > 0 ? cfg->keepalive_s : MQTTC_KEEPALIVE_S;
	m->misc_ms = cfg->misc_ms > 0 ? cfg->misc_ms : MQTTC_MISC_MS;
	m->backoff_ms = MQTTC_BACKOFF_MIN_MS;
	m->host = strdup(cfg->host);
	m->client_id = strdup(cfg->client_id);
	if (m->host == NULL || m->client_id == NULL)
		goto fail;
	m->mosq = mosquitto_new(cfg->client_id, cfg->clean_session ? true : false, m);
	if (m->mosq == NULL) {
		log_warn("mqtt: mosquitto_new");
		goto fail;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (cfg->will_topic != NULL) {
		rc = mosquitto_will_set(m->mosq, cfg->will_topic,
		    (int)strlen(cfg->will_payload), cfg->will_payload, cfg->will_qos,
		    cfg->will_retain ? true : false);
		if (rc != MOSQ_ERR_SUCCESS) {
			log_warnx("mqtt: will: %s", mosquitto_strerror(rc));
			goto fail;
		}
	}
	if (cfg->cafile != NULL) {
		rc = mosquitto_tls_set(m->mosq, cfg->cafile, NULL, cfg->certfile,
		    cfg->keyfile, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			log_warnx("mqtt: tls: %s", mosquitto_strerror(rc));
			goto fail;
		}
	} else {
		/* Plain TCP (loopback development listener): the broker's ACL keys
		 * on the user name, which TLS would take from the certificate. */
		rc = mosquitto_username_pw_set(m->mosq, cfg->client_id, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			log_warnx("mqtt: user name: %s", mosquitto_strerror(rc));
			goto fail;
		}
	}
	mosquitto_connect_v5_callback_set(m->mosq, cb_connect);
	mosquitto_disconnect_v5_callback_set(m->mosq, cb_disconnect);
	mosquitto_message_v5_callback_set(m->mosq, cb_message);
	mosquitto_publish_v5_callback_set(m->mosq, cb_publish);
	loop_timer_init(&m->retry, conn_attempt, m);
	loop_timer_init(&m->misc, on_misc, m);
	if (loop_prepare_add(l, prepare, m) == -1) {
		log_warnx("mqtt: too many loop hooks");
		goto fail;
	}
	return m;
fail:
	if (m->mosq)
		mosquitto_destroy(m->mosq);
	free(m->host);
	free(m->client_id);
	free(m);
	return NULL;
}

int
mqttc_start(struct mqttc *m)
{
	loop_timer_start(m->loop, &m->misc, m->misc_ms, m->misc_ms);
	conn_attempt(m);
	return 0;
}

void
mqttc_stop(struct mqttc *m)
{
	int was = m->state;

	/* Idle first: the disconnect callback must not re-arm the retry timer. */
	m->state = M_IDLE;
	loop_timer_stop(m->loop, &m->retry);
	loop_timer_stop(m->loop, &m->misc);
	if (was == M_CONNECTED || was == M_CONNECTING) {
		mosquitto_disconnect(m->mosq);
		/* flush the DISCONNECT packet; the socket is ours to drop after */
		mosquitto_loop_write(m->mosq, 1);
	}
	unwatch(m);
}

void
mqttc_free(struct mqttc *m)
{
	if (m == NULL)
		return;
	mqttc_stop(m);
	loop_prepare_del(m->loop, prepare, m);
	mosquitto_destroy(m->mosq);
	free(m->host);
	free(m->client_id);
	free(m);
}

int
mqttc_connected(const struct mqttc *m)
{
	return m->state == M_CONNECTED;
}

unsigned
mqttc_connects(const struct mqttc *m)
{
	return m->connects;
}

int
mqttc_subscribe(struct mqttc *m, const char *topic, int qos)
{
	int rc;

	if (m->state != M_CONNECTED)
		return -1;
	rc = mosquitto_subscribe(m->mosq, NULL, topic, qos);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warnx("mqtt: subscribe %s: %s", topic, mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

int
mqttc_publish(struct mqttc *m, const char *topic, const void *payload, size_t len, int qos,
    int retain, int *mid)
{
	int rc;

	if (m->state != M_CONNECTED)
		return -1;
	rc = mosquitto_publish(m->mosq, mid, topic, (int)len, payload, qos,
	    retain ? true : false);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warnx("mqtt: publish %s: %s", topic, mosquitto_strerror(rc));
		if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST)
			conn_lost(m, rc);
		return -1;
	}
	return 0;
}
