/*
 * crypto.c: P-256 keys, ECDSA, ECDH+HKDF MAC keys, HMAC and SHA-256 on mbedTLS.
 *
 * Owns: struct crypto (entropy source + CTR-DRBG, seeded once) and struct
 * crypto_key (an mbedtls_pk_context). Does not own files beyond the write in
 * crypto_key_save, and never logs: errors come back as text in err.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>

#include "crypto.h"

#define CRYPTO_HKDF_SALT	"linecrew-mac-v1"
#define CRYPTO_FILE_MAX		16384

struct crypto {
	mbedtls_entropy_context	 entropy;
	mbedtls_ctr_drbg_context drbg;
};

struct crypto_key {
	mbedtls_pk_context	 pk;
	int			 has_private;
};

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

struct crypto *
crypto_new(const char *pers)
{
	struct crypto *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	if (mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
	    (const unsigned char *)pers, pers ? strlen(pers) : 0) != 0) {
		crypto_free(c);
		return NULL;
	}
	return c;
}

void
crypto_free(struct crypto *c)
{
	if (c == NULL)
		return;
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	free(c);
}

int
crypto_random(struct crypto *c, unsigned char *buf, size_t len)
{
	return mbedtls_ctr_drbg_random(&c->drbg, buf, len) == 0 ? 0 : -1;
}

static struct crypto_key *
key_new(void)
{
	struct crypto_key *k = calloc(1, sizeof(*k));

	if (k != NULL)
		mbedtls_pk_init(&k->pk);
	return k;
}

void
crypto_key_free(struct crypto_key *k)
{
	if (k == NULL)
		return;
	mbedtls_pk_free(&k->pk);
	free(k);
}

void *
crypto_key_pk(struct crypto_key *k)
{
	return &k->pk;
}

int
crypto_keygen(struct crypto *c, struct crypto_key **out, char *err, size_t cap)
{
	struct crypto_key *k = key_new();
	int rc;

	*out = NULL;
	if (k == NULL)
		return fail(err, cap, 0, "keygen: out of memory");
	if ((rc = mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
	    (rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk),
	    mbedtls_ctr_drbg_random, &c->drbg)) != 0) {
		crypto_key_free(k);
		return fail(err, cap, rc, "keygen");
	}
	k->has_private = 1;
	*out = k;
	return 0;
}

static int
check_p256(struct crypto_key *k, char *err, size_t cap)
{
	if (!mbedtls_pk_can_do(&k->pk, MBEDTLS_PK_ECKEY) ||
	    mbedtls_pk_ec(k->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
		return fail(err, cap, 0, "key: not an EC P-256 key");
	return 0;
}

int
crypto_key_parse(const char *pem, size_t len, int is_private, struct crypto_key **out,
    char *err, size_t cap)
{
	struct crypto_key *k;
	unsigned char *buf;
	int rc;

	*out = NULL;
	if (len == 0 || len > CRYPTO_FILE_MAX)
		return fail(err, cap, 0, "key: empty or larger than %d bytes", CRYPTO_FILE_MAX);
	if ((k = key_new()) == NULL || (buf = malloc(len + 1)) == NULL) {
		crypto_key_free(k);
		return fail(err, cap, 0, "key: out of memory");
	}
	memcpy(buf, pem, len);
	buf[len] = '\0';	/* mbedTLS wants PEM NUL-terminated, length included */
	if (is_private)
		rc = mbedtls_pk_parse_key(&k->pk, buf, len + 1, NULL, 0);
	else
		rc = mbedtls_pk_parse_public_key(&k->pk, buf, len + 1);
	mbedtls_platform_zeroize(buf, len);
	free(buf);
	if (rc != 0) {
		crypto_key_free(k);
		return fail(err, cap, rc, "key: cannot parse %s key", is_private ? "private" :
		    "public");
	}
	if (check_p256(k, err, cap) == -1) {
		crypto_key_free(k);
		return -1;
	}
	k->has_private = is_private;
	*out = k;
	return 0;
}

int
crypto_key_load(const char *path, int is_private, struct crypto_key **out, char *err,
    size_t cap)
{
	char buf[CRYPTO_FILE_MAX];
	size_t n;
	FILE *f;
	int rc;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return fail(err, cap, 0, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == sizeof(buf))
		return fail(err, cap, 0, "%s: larger than %d bytes", path, CRYPTO_FILE_MAX);
	rc = crypto_key_parse(buf, n, is_private, out, err, cap);
	mbedtls_platform_zeroize(buf, sizeof(buf));
	if (rc == -1 && err != NULL) {
		char tmp[256];

		snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
		snprintf(err, cap, "%s", tmp);
	}
	return rc;
}

int
crypto_key_pem(const struct crypto_key *k, int is_private, char *buf, size_t cap, char *err,
    size_t errcap)
{
	int rc;

	if (is_private && !k->has_private)
		return fail(err, errcap, 0, "key: no private part");
	/* mbedtls_pk_write_* take a non-const context but do not change it */
	if (is_private)
		rc = mbedtls_pk_write_key_pem((mbedtls_pk_context *)&k->pk,
		    (unsigned char *)buf, cap);
	else
		rc = mbedtls_pk_write_pubkey_pem((mbedtls_pk_context *)&k->pk,
		    (unsigned char *)buf, cap);
	if (rc != 0)
		return fail(err, errcap, rc, "key: write PEM");
	return 0;
}

int
crypto_key_save(const struct crypto_key *k, int is_private, const char *path, char *err,
    size_t cap)
{
	char pem[CRYPTO_PEM_MAX * 2], tmp[4096];
	size_t len;
	int fd, rc;

	if (crypto_key_pem(k, is_private, pem, sizeof(pem), err, cap) == -1)
		return -1;
	len = strlen(pem);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return fail(err, cap, 0, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, is_private ? 0600 : 0644);
	if (fd < 0)
		return fail(err, cap, 0, "%s: %s", tmp, strerror(errno));
	rc = (write(fd, pem, len) == (ssize_t)len && fsync(fd) == 0) ? 0 : -1;
	mbedtls_platform_zeroize(pem, sizeof(pem));
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && fchmodat(AT_FDCWD, tmp, is_private ? 0600 : 0644, 0) != 0)
		rc = -1;
	if (rc == -1 || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return fail(err, cap, 0, "%s: %s", path, strerror(e));
	}
	return 0;
}

int
crypto_sign(struct crypto *c, struct crypto_key *k, const void *msg, size_t len,
    unsigned char sig[CRYPTO_SIG_MAX], size_t *siglen, char *err, size_t cap)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	unsigned char der[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t n = 0;
	int rc;

	if (!k->has_private)
		return fail(err, cap, 0, "sign: key has no private part");
	crypto_sha256(msg, len, h);
	rc = mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, h, sizeof(h), der, &n,
	    mbedtls_ctr_drbg_random, &c->drbg);
	if (rc != 0)
		return fail(err, cap, rc, "sign");
	if (n > CRYPTO_SIG_MAX)
		return fail(err, cap, 0, "sign: signature of %zu bytes", n);
	memcpy(sig, der, n);
	*siglen = n;
	return 0;
}

int
crypto_verify(struct crypto_key *k, const void *msg, size_t len, const unsigned char *sig,
    size_t siglen)
{
	unsigned char h[CRYPTO_SHA256_LEN];

	if (siglen == 0 || siglen > CRYPTO_SIG_MAX)
		return -1;
	crypto_sha256(msg, len, h);
	return mbedtls_pk_verify(&k->pk, MBEDTLS_MD_SHA256, h, sizeof(h), sig, siglen) == 0 ?
	    0 : -1;
}

int
crypto_mac_key(struct crypto *c, struct crypto_key *mine, struct crypto_key *theirs,
    const char *context, unsigned char out[CRYPTO_MACKEY_LEN], char *err, size_t cap)
{
	mbedtls_ecp_keypair *a, *b;
	mbedtls_mpi z;
	unsigned char zb[32];
	int rc;

	if (!mine->has_private)
		return fail(err, cap, 0, "ecdh: own key has no private part");
	a = mbedtls_pk_ec(mine->pk);
	b = mbedtls_pk_ec(theirs->pk);
	mbedtls_mpi_init(&z);
	rc = mbedtls_ecdh_compute_shared(&a->grp, &z, &b->Q, &a->d, mbedtls_ctr_drbg_random,
	    &c->drbg);
	if (rc == 0)
		rc = mbedtls_mpi_write_binary(&z, zb, sizeof(zb));
	mbedtls_mpi_free(&z);
	if (rc == 0)
		rc = mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
		    (const unsigned char *)CRYPTO_HKDF_SALT, strlen(CRYPTO_HKDF_SALT), zb,
		    sizeof(zb), (const unsigned char *)context, strlen(context), out,
		    CRYPTO_MACKEY_LEN);
	mbedtls_platform_zeroize(zb, sizeof(zb));
	if (rc != 0)
		return fail(err, cap, rc, "ecdh");
	return 0;
}

void
crypto_sha256(const void *msg, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	mbedtls_sha256_ret(msg, len, out, 0);
}

void
crypto_hmac(const unsigned char *key, size_t keylen, const void *msg, size_t len,
    unsigned char out[CRYPTO_MAC_LEN])
{
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, keylen, msg, len,
	    out);
}

int
crypto_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void
crypto_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
crypto_unhex(const char *hex, unsigned char *out, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int hi = nibble(hex[2 * i]), lo = hi < 0 ? -1 : nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return hex[2 * len] == '\0' ? 0 : -1;
}
