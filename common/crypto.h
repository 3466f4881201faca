/*
 * crypto.h: the cryptography both daemons share, on mbedTLS (2.28 in Debian 12).
 *
 *  - P-256 key pairs: generate, load and save as PEM (private keys 0600, written
 *    new-file + fsync + rename).
 *  - ECDSA P-256 / SHA-256 signatures, DER-encoded, for evidence a third party
 *    must be able to check later (arrival, completion, delay).
 *  - HMAC-SHA-256 for messages only the two ends need to trust (order pushes,
 *    acks, positions), with a per-device key agreed by ECDH at provisioning and
 *    derived with HKDF-SHA-256, so neither side ever sends the key.
 *  - SHA-256, constant-time comparison, hex encoding.
 *
 * Every function returns 0 on success or -1 and fills the caller's err buffer
 * (when given) with a sentence; nothing here logs.
 */
#ifndef LC_CRYPTO_H
#define LC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN	32
#define CRYPTO_MAC_LEN		32
#define CRYPTO_MACKEY_LEN	32
#define CRYPTO_SIG_MAX		80	/* DER ECDSA P-256: at most 72 bytes */
#define CRYPTO_PEM_MAX		1024	/* a P-256 key in PEM */

struct crypto;		/* entropy + DRBG, one per process */
struct crypto_key;	/* a P-256 key pair, or a public key only */

struct crypto	*crypto_new(const char *personalisation);
void		 crypto_free(struct crypto *);

/* Generate a new P-256 key pair. */
int	crypto_keygen(struct crypto *, struct crypto_key **out, char *err, size_t errcap);
/* Parse a PEM private key (pair) or public key. */
int	crypto_key_parse(const char *pem, size_t len, int is_private, struct crypto_key **out,
	    char *err, size_t errcap);
int	crypto_key_load(const char *path, int is_private, struct crypto_key **out,
	    char *err, size_t errcap);
/* PEM of the private key (pair only) or the public key, into buf. */
int	crypto_key_pem(const struct crypto_key *, int is_private, char *buf, size_t cap,
	    char *err, size_t errcap);
/* Write the PEM to path: private keys mode 0600, public 0644; new file, fsync, rename. */
int	crypto_key_save(const struct crypto_key *, int is_private, const char *path,
	    char *err, size_t errcap);
void	crypto_key_free(struct crypto_key *);
/* The mbedtls_pk_context inside (for the PKI code); opaque to everyone else. */
void   *crypto_key_pk(struct crypto_key *);

/* ECDSA over SHA-256(msg). sig gets DER, *siglen its length. */
int	crypto_sign(struct crypto *, struct crypto_key *priv, const void *msg, size_t len,
	    unsigned char sig[CRYPTO_SIG_MAX], size_t *siglen, char *err, size_t errcap);
/* 0 if sig is a valid signature of msg by key, -1 otherwise. */
int	crypto_verify(struct crypto_key *key, const void *msg, size_t len,
	    const unsigned char *sig, size_t siglen);

/* ECDH(mine, theirs) -> HKDF-SHA-256(salt "linecrew-mac-v1", info context) -> 32 bytes.
 * Both ends get the same key: ecdh(a, B) == ecdh(b, A). */
int	crypto_mac_key(struct crypto *, struct crypto_key *mine_priv, struct crypto_key *theirs,
	    const char *context, unsigned char out[CRYPTO_MACKEY_LEN], char *err, size_t errcap);

void	crypto_sha256(const void *msg, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
void	crypto_hmac(const unsigned char *key, size_t keylen, const void *msg, size_t len,
	    unsigned char out[CRYPTO_MAC_LEN]);
/* 1 if equal; time depends only on len. */
int	crypto_ct_equal(const void *a, const void *b, size_t len);
/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void	crypto_hex(const unsigned char *in, size_t len, char *out);
/* Parse 2*len hex chars into out. 0 / -1. */
int	crypto_unhex(const char *hex, unsigned char *out, size_t len);
/* Fill buf with len random bytes from the DRBG. */
int	crypto_random(struct crypto *, unsigned char *buf, size_t len);

#endif
