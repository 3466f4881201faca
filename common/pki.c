/*
 * pki.c: CA creation and certificate issuance with mbedTLS's x509write.
 *
 * Owns nothing past a call: keys are the caller's (struct crypto_key), files are
 * written whole or not at all (new file, fsync, rename).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "clock.h"
#include "crypto.h"
#include "pki.h"

#define PKI_CRT_MAX	4096

static int
fail(char *err, size_t cap, int mbed, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t cap, int mbed, const char *fmt, ...)
{
	va_list ap;
	char why[128];
	int n;

	if (err == NULL || cap == 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	if (mbed != 0 && n >= 0 && (size_t)n < cap) {
		mbedtls_strerror(mbed, why, sizeof(why));
		snprintf(err + n, cap - (size_t)n, ": %s", why);
	}
	return -1;
}

/* "YYYYMMDDhhmmss" in UTC, as x509write wants it. */
static void
x509_time(int64_t ms, char out[32])
{
	int64_t s = ms / 1000, days = s / 86400;
	unsigned rem = (unsigned)(s % 86400);
	unsigned m, d;
	int y;

	clock_civil_from_days(days, &y, &m, &d);
	snprintf(out, 32, "%04d%02u%02u%02u%02u%02u", y, m, d, rem / 3600, rem % 3600 / 60,
	    rem % 60);
}

static int
write_file(const char *path, const void *data, size_t len, int mode, char *err, size_t cap)
{
	char tmp[4096];
	int fd, ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return fail(err, cap, 0, "%s: path too long", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
		return fail(err, cap, 0, "%s: %s", tmp, strerror(errno));
	ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return fail(err, cap, 0, "%s: %s", path, strerror(e));
	}
	return 0;
}

static int
name_ok(const char *cn)
{
	size_t i, n = strlen(cn);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)	/* no ',' '=' '+' that would change the DN */
		if (!(cn[i] == '-' || cn[i] == '_' || cn[i] == '.' || cn[i] == ' ' ||
		    (cn[i] >= '0' && cn[i] <= '9') || (cn[i] >= 'a' && cn[i] <= 'z') ||
		    (cn[i] >= 'A' && cn[i] <= 'Z')))
			return 0;
	return 1;
}

static int
drbg_random(void *p, unsigned char *buf, size_t len)
{
	return crypto_random(p, buf, len);
}

/* Write one certificate: subject key, issuer key (same for the CA), names. */
static int
write_crt(struct crypto *c, struct crypto_key *subject, struct crypto_key *issuer,
    const char *subject_dn, const char *issuer_dn, int is_ca, enum pki_kind kind,
    uint64_t serial, int days, int64_t now_ms, const char *path, char *err, size_t cap)
{
	mbedtls_x509write_cert crt;
	mbedtls_mpi sn;
	unsigned char pem[PKI_CRT_MAX];
	char nb[32], na[32];
	int rc;

	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&sn);
	x509_time(now_ms - 3600 * 1000LL, nb);	/* an hour of slack for skewed clocks */
	x509_time(now_ms + (int64_t)days * 86400 * 1000, na);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, crypto_key_pk(subject));
	mbedtls_x509write_crt_set_issuer_key(&crt, crypto_key_pk(issuer));
	if ((rc = mbedtls_mpi_lset(&sn, (mbedtls_mpi_sint)(serial & 0x7fffffffffffLL))) != 0 ||
	    (rc = mbedtls_x509write_crt_set_serial(&crt, &sn)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_subject_name(&crt, subject_dn)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_issuer_name(&crt, issuer_dn)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_validity(&crt, nb, na)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_basic_constraints(&crt, is_ca, is_ca ? 0 : -1)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_key_usage(&crt, is_ca ?
	    (MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN) :
	    (MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_AGREEMENT))) != 0 ||
	    (rc = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_authority_key_identifier(&crt)) != 0)
		goto out;
	if (!is_ca)
		rc = mbedtls_x509write_crt_set_ns_cert_type(&crt, kind == PKI_SERVER ?
		    MBEDTLS_X509_NS_CERT_TYPE_SSL_SERVER : MBEDTLS_X509_NS_CERT_TYPE_SSL_CLIENT);
	if (rc != 0)
		goto out;
	rc = mbedtls_x509write_crt_pem(&crt, pem, sizeof(pem), drbg_random, c);
out:
	mbedtls_x509write_crt_free(&crt);
	mbedtls_mpi_free(&sn);
	if (rc != 0)
		return fail(err, cap, rc, "certificate %s", subject_dn);
	return write_file(path, pem, strlen((char *)pem), 0644, err, cap);
}

int
pki_ca_create(struct crypto *c, const char *dir, const char *cn, int days, int64_t now_ms,
    char *err, size_t cap)
{
	struct crypto_key *k;
	char kp[4096], cp[4096], dn[128];
	struct stat st;
	int rc;

	if (!name_ok(cn))
		return fail(err, cap, 0, "ca: bad common name \"%s\"", cn);
	snprintf(kp, sizeof(kp), "%s/ca.key", dir);
	snprintf(cp, sizeof(cp), "%s/ca.crt", dir);
	if (stat(kp, &st) == 0 || stat(cp, &st) == 0)
		return fail(err, cap, 0, "ca: %s already holds a CA; refusing to replace it", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fail(err, cap, 0, "%s: %s", dir, strerror(errno));
	if (crypto_keygen(c, &k, err, cap) == -1)
		return -1;
	snprintf(dn, sizeof(dn), "CN=%s,O=Linecrew", cn);
	rc = crypto_key_save(k, 1, kp, err, cap);
	if (rc == 0)
		rc = write_crt(c, k, k, dn, dn, 1, PKI_SERVER, 1, days, now_ms, cp, err, cap);
	crypto_key_free(k);
	return rc;
}

/* The CA's subject DN, as written in its certificate. */
static int
ca_load(const char *ca_dir, struct crypto_key **key, char *dn, size_t dncap, char *err,
    size_t cap)
{
	mbedtls_x509_crt ca;
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/ca.key", ca_dir);
	if (crypto_key_load(path, 1, key, err, cap) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/ca.crt", ca_dir);
	mbedtls_x509_crt_init(&ca);
	if ((rc = mbedtls_x509_crt_parse_file(&ca, path)) != 0) {
		mbedtls_x509_crt_free(&ca);
		crypto_key_free(*key);
		return fail(err, cap, rc, "%s", path);
	}
	rc = mbedtls_x509_dn_gets(dn, dncap, &ca.subject);
	mbedtls_x509_crt_free(&ca);
	if (rc < 0) {
		crypto_key_free(*key);
		return fail(err, cap, rc, "%s: subject", path);
	}
	return 0;
}

int
pki_issue(struct crypto *c, const char *ca_dir, struct crypto_key *subject, const char *cn,
    enum pki_kind kind, uint64_t serial, int days, int64_t now_ms, const char *out_crt,
    char *err, size_t cap)
{
	struct crypto_key *ca;
	char dn[128], issuer[256];
	int rc;

	if (!name_ok(cn))
		return fail(err, cap, 0, "certificate: bad common name \"%s\"", cn);
	if (ca_load(ca_dir, &ca, issuer, sizeof(issuer), err, cap) == -1)
		return -1;
	snprintf(dn, sizeof(dn), "CN=%s,O=Linecrew", cn);
	rc = write_crt(c, subject, ca, dn, issuer, 0, kind, serial, days, now_ms, out_crt, err,
	    cap);
	crypto_key_free(ca);
	return rc;
}

static int check_key(const char *, const char *, int, char *, size_t, struct crypto_key **,
    char *, size_t);

int
pki_check(const char *ca_dir, const char *crt_path, char *cn, size_t cncap, char *err,
    size_t cap)
{
	return pki_check_key(ca_dir, crt_path, cn, cncap, NULL, err, cap);
}

int
pki_check_key(const char *ca_dir, const char *crt_path, char *cn, size_t cncap,
    struct crypto_key **pub, char *err, size_t cap)
{
	return check_key(ca_dir, crt_path, 0, cn, cncap, pub, err, cap);
}

int
pki_check_key_evidence(const char *ca_dir, const char *crt_path, char *cn, size_t cncap,
    struct crypto_key **pub, char *err, size_t cap)
{
	return check_key(ca_dir, crt_path, 1, cn, cncap, pub, err, cap);
}

/* evidence: a certificate that has expired since still identifies the key
 * that signed while it was valid; every other fault still fails. */
static int
check_key(const char *ca_dir, const char *crt_path, int evidence, char *cn, size_t cncap,
    struct crypto_key **pub, char *err, size_t cap)
{
	mbedtls_x509_crt ca, crt;
	const mbedtls_x509_name *n;
	char path[4096];
	uint32_t flags = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/ca.crt", ca_dir);
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&crt);
	if ((rc = mbedtls_x509_crt_parse_file(&ca, path)) != 0) {
		fail(err, cap, rc, "%s", path);
		goto out;
	}
	if ((rc = mbedtls_x509_crt_parse_file(&crt, crt_path)) != 0) {
		fail(err, cap, rc, "%s", crt_path);
		goto out;
	}
	rc = mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, NULL, NULL);
	if (rc != 0 && evidence && flags != 0 && (flags & ~MBEDTLS_X509_BADCERT_EXPIRED) == 0)
		rc = 0;
	if (rc != 0) {
		char why[256];

		mbedtls_x509_crt_verify_info(why, sizeof(why), "", flags);
		why[strcspn(why, "\n")] = '\0';
		fail(err, cap, 0, "%s: not valid under %s: %s", crt_path, path, why);
		goto out;
	}
	rc = -1;
	for (n = &crt.subject; n != NULL; n = n->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
			snprintf(cn, cncap, "%.*s", (int)n->val.len, (const char *)n->val.p);
			rc = 0;
		}
	if (rc != 0)
		fail(err, cap, 0, "%s: no common name", crt_path);
	if (rc == 0 && pub != NULL) {
		unsigned char pem[CRYPTO_PEM_MAX];

		/* The subject's public key, through PEM so the key object is
		 * crypto.c's own (it stays opaque here). */
		if ((rc = mbedtls_pk_write_pubkey_pem(&crt.pk, pem, sizeof(pem))) != 0)
			fail(err, cap, rc, "%s: public key", crt_path);
		else
			rc = crypto_key_parse((const char *)pem, strlen((const char *)pem), 0, pub,
			    err, cap);
	}
out:
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&crt);
	return rc == 0 ? 0 : -1;
}
