/*
 * mqttc.h: libmosquitto driven from our own poll loop (no second thread, no
 * mosquitto_loop_start), shared by the gateway and the device.
 *
 * It connects, reconnects with capped exponential backoff (0.2 s .. 10 s),
 * sets TCP_NODELAY (Debian's mosquitto 2.0.11 otherwise costs ~44 ms per QoS 1
 * round trip), keeps the socket registered with the loop (POLLOUT only while
 * libmosquitto has data queued) and runs mosquitto_loop_misc() for keepalives.
 * Subscriptions belong in on_connect: with a persistent session the broker
 * keeps them, but re-subscribing is harmless and covers a lost session.
 */
#ifndef LC_MQTTC_H
#define LC_MQTTC_H

#include <stddef.h>

struct loop;
struct mqttc;

struct mqttc_config {
	const char *host;
	int	    port;
	const char *client_id;		/* required, also the MQTT user name when no TLS */
	int	    clean_session;	/* 0 = persistent session (QoS 1 queued while away) */
	int	    keepalive_s;	/* 0 -> 30 */
	int	    misc_ms;		/* 0 -> 1000: libmosquitto housekeeping (keepalive
					 * pings, retries) this often; a battery unit
					 * wants it rare */
	const char *will_topic;		/* NULL = no will */
	const char *will_payload;
	int	    will_qos;
	int	    will_retain;
	/* TLS: all NULL = plain TCP (loopback development only). */
	const char *cafile;
	const char *certfile;
	const char *keyfile;
};

struct mqttc_handlers {
	/* Connected (CONNACK accepted). session_present: broker kept our session. */
	void (*on_connect)(void *arg, int session_present);
	/* Lost the connection; mqttc will reconnect by itself. */
	void (*on_disconnect)(void *arg, int rc);
	/* A message arrived. payload is not NUL-terminated and is only valid during the call. */
	void (*on_message)(void *arg, const char *topic, const void *payload, int len,
	    int qos, int retain);
	/* The broker acknowledged (PUBACK) message mid. That is not delivery. */
	void (*on_publish)(void *arg, int mid);
};

/* Creates the client (copies all strings of cfg). Returns NULL with a log line
 * on failure. mosquitto_lib_init() is called once per process here. */
struct mqttc   *mqttc_new(struct loop *, const struct mqttc_config *cfg,
		    const struct mqttc_handlers *h, void *arg);
void		mqttc_free(struct mqttc *);
/* Start connecting (first attempt now, then backoff). Returns 0 / -1. */
int		mqttc_start(struct mqttc *);
/* Disconnect cleanly (the will is not sent). */
void		mqttc_stop(struct mqttc *);
int		mqttc_connected(const struct mqttc *);
int		mqttc_subscribe(struct mqttc *, const char *topic, int qos);
/* Queue a publish. Returns 0 and sets *mid (if not NULL), or -1 when not
 * connected or libmosquitto refuses; the caller keeps the message and retries. */
int		mqttc_publish(struct mqttc *, const char *topic, const void *payload,
		    size_t len, int qos, int retain, int *mid);
/* Number of connections made so far (tests and status). */
unsigned	mqttc_connects(const struct mqttc *);

#endif
