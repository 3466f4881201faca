/*
 * pki.h: the fleet's certificate authority, on mbedTLS.
 *
 * The gateway is the CA: pki_ca_create() makes a P-256 CA key and a self-signed
 * certificate once; pki_issue() signs a certificate for a device (client) or for
 * the broker/gateway (server) whose common name is its identity — mosquitto's
 * use_identity_as_username makes that the MQTT user name, and the ACL keys on it.
 * Key files are written 0600 by crypto_key_save(); certificates 0644, new-file +
 * fsync + rename. Nothing here logs.
 */
#ifndef LC_PKI_H
#define LC_PKI_H

#include <stddef.h>
#include <stdint.h>

struct crypto;
struct crypto_key;

enum pki_kind { PKI_CLIENT, PKI_SERVER };

/* Create dir/ca.key and dir/ca.crt (CN=cn, valid `days` from now_ms). Refuses to
 * overwrite an existing CA. Returns 0 / -1 with err. */
int	pki_ca_create(struct crypto *, const char *dir, const char *cn, int days,
	    int64_t now_ms, char *err, size_t errcap);
/* Issue a certificate for key subject (public part used) with CN=cn, signed by
 * the CA in ca_dir, serial `serial`, valid `days` from now_ms; written to out_crt.
 * For PKI_SERVER, san_ip (e.g. "127.0.0.1") or NULL is ignored by mbedTLS 2.28
 * (no SAN writer): servers are verified by CN. */
int	pki_issue(struct crypto *, const char *ca_dir, struct crypto_key *subject,
	    const char *cn, enum pki_kind kind, uint64_t serial, int days, int64_t now_ms,
	    const char *out_crt, char *err, size_t errcap);
/* Verify that crt_path chains to ca_dir/ca.crt and read its CN into cn. 0 / -1. */
int	pki_check(const char *ca_dir, const char *crt_path, char *cn, size_t cncap,
	    char *err, size_t errcap);
/* pki_check, and on success *pub = the certificate's public key (caller frees
 * with crypto_key_free). A certificate outside its validity period (expired or
 * not yet valid) or not signed by the CA fails. 0 / -1 with err. */
int	pki_check_key(const char *ca_dir, const char *crt_path, char *cn, size_t cncap,
	    struct crypto_key **pub, char *err, size_t errcap);
/* pki_check_key for checking stored evidence later: a certificate that has
 * expired since is accepted (it still names the key that signed); a foreign,
 * malformed or not-yet-valid certificate is not. */
int	pki_check_key_evidence(const char *ca_dir, const char *crt_path, char *cn,
	    size_t cncap, struct crypto_key **pub, char *err, size_t errcap);

#endif
