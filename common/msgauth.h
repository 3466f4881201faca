/*
 * msgauth.h: end-to-end authentication of gateway <-> device messages.
 *
 * Policy, the same on both ends (see README "Messages that prove themselves"):
 *  - evidence a third party must later check (arrive, complete, delay) is
 *    signed by the device's own key: ECDSA P-256 / SHA-256 ("sig");
 *  - everything else (order pushes, cancels, acks, syncs, hello, delivered,
 *    accept, progress, positions, presence) carries an HMAC-SHA-256 ("mac")
 *    with a per-device key both ends derive by ECDH from their own private key
 *    and the other's public key (HKDF context: the device id), so the key
 *    never travels;
 *  - the tag covers the message body, which holds the device id, its sequence
 *    number and its time; replays are judged by the daemons (event ids are
 *    applied once, downlink counters only move forward, timestamps have a window).
 *
 * Peers' public keys come from a callback (the gateway reads them from the
 * device's certificate in the PKI registry, refusing revoked ones; the device
 * knows only the gateway's). Derived MAC keys are cached per (peer, context).
 */
#ifndef LC_MSGAUTH_H
#define LC_MSGAUTH_H

#include <stddef.h>

#include "proto.h"

struct crypto;
struct crypto_key;
struct msgauth;

/* Return the public key of peer (borrowed, valid until msgauth_forget(peer)),
 * or NULL if the peer is unknown or revoked. */
typedef struct crypto_key *(*msgauth_peer_fn)(void *arg, const char *peer);

/* own is borrowed and must outlive the msgauth. NULL on allocation failure. */
struct msgauth *msgauth_new(struct crypto *, struct crypto_key *own, msgauth_peer_fn, void *arg);
void	msgauth_free(struct msgauth *);
/* Drop cached keys of peer (after a revocation or re-provisioning). */
void	msgauth_forget(struct msgauth *, const char *peer);

/* The tag a message type must carry under the policy above. */
enum proto_auth msgauth_policy_event(enum proto_ev_type);

/* Tag body for peer: PROTO_AUTH_MAC with the key shared with peer under
 * context dev; PROTO_AUTH_SIG with our own key. Writes the framed payload to
 * out. 0, or -1 with err. */
int	msgauth_seal(struct msgauth *, const char *peer, const char *dev, enum proto_auth alg,
	    const char *body, size_t len, char *out, size_t cap, size_t *outlen,
	    char *err, size_t errcap);
/* Check payload from peer: its tag must be `want` (PROTO_AUTH_MAC: keyed for
 * (peer, dev); PROTO_AUTH_SIG: signed by peer's key). On success body holds the
 * signed bytes (bodycap >= len + 1), and for a signature sig/siglen (if not
 * NULL) the signature, to keep as evidence. -1 with a reason in err: missing tag,
 * wrong kind of tag, unknown/revoked peer, bad tag. */
int	msgauth_open(struct msgauth *, const char *peer, const char *dev, enum proto_auth want,
	    const void *payload, size_t len, char *body, size_t bodycap, size_t *bodylen,
	    unsigned char *sig, size_t *siglen, char *err, size_t errcap);

#endif
