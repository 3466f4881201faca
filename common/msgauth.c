/*
 * msgauth.c: sealing and opening authenticated messages (policy in msgauth.h).
 *
 * Owns a small cache of derived MAC keys (a chained hash table, grown with the
 * number of peers; wiped on free). Does not own the crypto context, our key or
 * the peers' keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "msgauth.h"

#define MSGAUTH_BUCKETS	1024

struct mkey {
	struct mkey	*next;
	char		 peer[PROTO_DEV_MAX + 32];
	char		 dev[PROTO_DEV_MAX];
	unsigned char	 key[CRYPTO_MACKEY_LEN];
};

struct msgauth {
	struct crypto		*c;
	struct crypto_key	*own;
	msgauth_peer_fn		 peer;
	void			*arg;
	struct mkey		*b[MSGAUTH_BUCKETS];
};

static unsigned
hash(const char *a, const char *b)
{
	unsigned h = 2166136261u;

	while (*a)
		h = (h ^ (unsigned char)*a++) * 16777619u;
	h = (h ^ '/') * 16777619u;
	while (*b)
		h = (h ^ (unsigned char)*b++) * 16777619u;
	return h % MSGAUTH_BUCKETS;
}

struct msgauth *
msgauth_new(struct crypto *c, struct crypto_key *own, msgauth_peer_fn peer, void *arg)
{
	struct msgauth *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->c = c;
	m->own = own;
	m->peer = peer;
	m->arg = arg;
	return m;
}

static void
drop(struct mkey **pp)
{
	struct mkey *k = *pp;

	*pp = k->next;
	memset(k, 0, sizeof(*k));
	free(k);
}

void
msgauth_free(struct msgauth *m)
{
	int i;

	if (m == NULL)
		return;
	for (i = 0; i < MSGAUTH_BUCKETS; i++)
		while (m->b[i] != NULL)
			drop(&m->b[i]);
	free(m);
}

void
msgauth_forget(struct msgauth *m, const char *peer)
{
	struct mkey **pp;
	int i;

	for (i = 0; i < MSGAUTH_BUCKETS; i++)
		for (pp = &m->b[i]; *pp != NULL;)
			if (strcmp((*pp)->peer, peer) == 0)
				drop(pp);
			else
				pp = &(*pp)->next;
}

enum proto_auth
msgauth_policy_event(enum proto_ev_type t)
{
	switch (t) {
	case PROTO_EV_ARRIVE:
	case PROTO_EV_COMPLETE:
	case PROTO_EV_DELAY:
		return PROTO_AUTH_SIG;
	default:
		return PROTO_AUTH_MAC;
	}
}

/* The MAC key shared with peer under context dev, derived once. */
static const unsigned char *
mac_key(struct msgauth *m, const char *peer, const char *dev, char *err, size_t cap)
{
	unsigned h = hash(peer, dev);
	struct crypto_key *pub;
	struct mkey *k;

	for (k = m->b[h]; k != NULL; k = k->next)
		if (strcmp(k->peer, peer) == 0 && strcmp(k->dev, dev) == 0)
			return k->key;
	if ((pub = m->peer(m->arg, peer)) == NULL) {
		snprintf(err, cap, "%s: unknown or revoked identity", peer);
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	snprintf(k->peer, sizeof(k->peer), "%s", peer);
	snprintf(k->dev, sizeof(k->dev), "%s", dev);
	if (crypto_mac_key(m->c, m->own, pub, dev, k->key, err, cap) == -1) {
		free(k);
		return NULL;
	}
	k->next = m->b[h];
	m->b[h] = k;
	return k->key;
}

int
msgauth_seal(struct msgauth *m, const char *peer, const char *dev, enum proto_auth alg,
    const char *body, size_t len, char *out, size_t cap, size_t *outlen, char *err,
    size_t errcap)
{
	unsigned char tag[CRYPTO_SIG_MAX];
	const unsigned char *key;
	size_t taglen;
	enum proto_err pe;

	if (alg == PROTO_AUTH_MAC) {
		if ((key = mac_key(m, peer, dev, err, errcap)) == NULL)
			return -1;
		crypto_hmac(key, CRYPTO_MACKEY_LEN, body, len, tag);
		taglen = CRYPTO_MAC_LEN;
	} else if (alg == PROTO_AUTH_SIG) {
		if (crypto_sign(m->c, m->own, body, len, tag, &taglen, err, errcap) == -1)
			return -1;
	} else {
		snprintf(err, errcap, "seal: no tag kind given");
		return -1;
	}
	if ((pe = proto_auth_join(body, len, alg, tag, taglen, out, cap, outlen)) != PROTO_OK) {
		snprintf(err, errcap, "seal: %s", proto_strerror(pe));
		return -1;
	}
	return 0;
}

int
msgauth_open(struct msgauth *m, const char *peer, const char *dev, enum proto_auth want,
    const void *payload, size_t len, char *body, size_t bodycap, size_t *bodylen,
    unsigned char *sig, size_t *siglen, char *err, size_t errcap)
{
	unsigned char tag[PROTO_SIG_MAX], mac[CRYPTO_MAC_LEN];
	const unsigned char *key;
	struct crypto_key *pub;
	struct proto_error pe;
	enum proto_auth alg;
	size_t taglen;

	if (proto_auth_split(payload, len, body, bodycap, bodylen, &alg, tag, &taglen, &pe) !=
	    PROTO_OK) {
		snprintf(err, errcap, "%s", pe.msg);
		return -1;
	}
	if (alg != want) {
		snprintf(err, errcap, "%s: expected a %s tag, found %s", want == PROTO_AUTH_SIG ?
		    "sig" : "mac", proto_auth_name(want), proto_auth_name(alg));
		return -1;
	}
	if (alg == PROTO_AUTH_MAC) {
		if ((key = mac_key(m, peer, dev, err, errcap)) == NULL)
			return -1;
		crypto_hmac(key, CRYPTO_MACKEY_LEN, body, *bodylen, mac);
		if (!crypto_ct_equal(mac, tag, CRYPTO_MAC_LEN)) {
			snprintf(err, errcap, "mac: does not match the message (forged or altered)");
			return -1;
		}
		return 0;
	}
	if ((pub = m->peer(m->arg, peer)) == NULL) {
		snprintf(err, errcap, "%s: unknown or revoked identity", peer);
		return -1;
	}
	if (crypto_verify(pub, body, *bodylen, tag, taglen) == -1) {
		snprintf(err, errcap, "sig: not a valid signature of %s (forged or altered)", peer);
		return -1;
	}
	if (sig != NULL && siglen != NULL) {
		memcpy(sig, tag, taglen);
		*siglen = taglen;
	}
	return 0;
}
