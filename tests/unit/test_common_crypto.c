/*
 * test_common_crypto.c: mbedTLS wrappers against published vectors (FIPS 180-2
 * SHA-256 "abc", RFC 4231 HMAC-SHA-256 test case 2), ECDSA sign/verify and its
 * failure on any change, ECDH MAC-key symmetry, key files (0600, reload), and
 * the CA: create once, issue, verify the chain, reject a foreign CA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "pki.h"

#define NOW_MS	1795597424000LL		/* 2026-11-25T09:03:44Z */

static struct crypto *C;

static int
setup(void **state)
{
	(void)state;
	C = crypto_new("test");
	return C == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	crypto_free(C);
	return 0;
}

static void
test_vectors(void **state)
{
	unsigned char h[32], mac[32];
	char hex[65];

	(void)state;
	crypto_sha256("abc", 3, h);
	crypto_hex(h, 32, hex);
	assert_string_equal(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	crypto_hmac((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28, mac);
	crypto_hex(mac, 32, hex);
	assert_string_equal(hex,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(crypto_unhex(hex, h, 32), 0);
	assert_memory_equal(h, mac, 32);
	assert_int_equal(crypto_unhex("zz", h, 1), -1);
	assert_true(crypto_ct_equal(h, mac, 32));
	h[31] ^= 1;
	assert_false(crypto_ct_equal(h, mac, 32));
}

static void
test_sign_verify(void **state)
{
	struct crypto_key *a, *b;
	unsigned char sig[CRYPTO_SIG_MAX];
	const char msg[] = "{\"type\":\"arrive\",\"dev\":\"dev-01\",\"seq\":7}";
	char err[256];
	size_t n;

	(void)state;
	assert_int_equal(crypto_keygen(C, &a, err, sizeof(err)), 0);
	assert_int_equal(crypto_keygen(C, &b, err, sizeof(err)), 0);
	assert_int_equal(crypto_sign(C, a, msg, strlen(msg), sig, &n, err, sizeof(err)), 0);
	assert_true(n > 60 && n <= 72);
	assert_int_equal(crypto_verify(a, msg, strlen(msg), sig, n), 0);
	assert_int_equal(crypto_verify(b, msg, strlen(msg), sig, n), -1);	/* other key */
	assert_int_equal(crypto_verify(a, msg, strlen(msg) - 1, sig, n), -1);	/* changed msg */
	sig[n / 2] ^= 0x40;
	assert_int_equal(crypto_verify(a, msg, strlen(msg), sig, n), -1);	/* changed sig */
	assert_int_equal(crypto_verify(a, msg, strlen(msg), sig, 0), -1);
	crypto_key_free(a);
	crypto_key_free(b);
}

static void
test_mac_key_agreement(void **state)
{
	struct crypto_key *gw, *dev, *gwpub, *devpub;
	unsigned char k1[32], k2[32], k3[32];
	char pem[CRYPTO_PEM_MAX], err[256];

	(void)state;
	assert_int_equal(crypto_keygen(C, &gw, err, sizeof(err)), 0);
	assert_int_equal(crypto_keygen(C, &dev, err, sizeof(err)), 0);
	/* each side knows only the other's public key */
	assert_int_equal(crypto_key_pem(gw, 0, pem, sizeof(pem), err, sizeof(err)), 0);
	assert_int_equal(crypto_key_parse(pem, strlen(pem), 0, &gwpub, err, sizeof(err)), 0);
	assert_int_equal(crypto_key_pem(dev, 0, pem, sizeof(pem), err, sizeof(err)), 0);
	assert_int_equal(crypto_key_parse(pem, strlen(pem), 0, &devpub, err, sizeof(err)), 0);
	assert_int_equal(crypto_mac_key(C, gw, devpub, "dev-01", k1, err, sizeof(err)), 0);
	assert_int_equal(crypto_mac_key(C, dev, gwpub, "dev-01", k2, err, sizeof(err)), 0);
	assert_memory_equal(k1, k2, 32);
	assert_int_equal(crypto_mac_key(C, dev, gwpub, "dev-02", k3, err, sizeof(err)), 0);
	assert_memory_not_equal(k1, k3, 32);	/* the context binds the device */
	/* a public key cannot sign or agree */
	assert_int_equal(crypto_mac_key(C, gwpub, devpub, "x", k3, err, sizeof(err)), -1);
	crypto_key_free(gw);
	crypto_key_free(dev);
	crypto_key_free(gwpub);
	crypto_key_free(devpub);
}

static void
test_key_files(void **state)
{
	char dir[] = "/tmp/lc-crypto-XXXXXX", path[128], err[256];
	struct crypto_key *k, *r;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dev.key", dir);
	assert_int_equal(crypto_keygen(C, &k, err, sizeof(err)), 0);
	assert_int_equal(crypto_key_save(k, 1, path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(crypto_key_load(path, 1, &r, err, sizeof(err)), 0);
	crypto_key_free(r);
	assert_int_equal(crypto_key_parse("garbage", 7, 1, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot parse private key"));
	assert_int_equal(crypto_key_load("/nonexistent/k", 1, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/k"));
	unlink(path);
	rmdir(dir);
	crypto_key_free(k);
}

static void
test_ca(void **state)
{
	char dir[] = "/tmp/lc-pki-XXXXXX", other[] = "/tmp/lc-pki2-XXXXXX";
	char ca[128], ca2[128], crt[128], cn[192], err[512];
	struct crypto_key *dev;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(other));
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	snprintf(ca2, sizeof(ca2), "%s/ca", other);
	snprintf(crt, sizeof(crt), "%s/dev-01.crt", dir);
	assert_int_equal(pki_ca_create(C, ca, "Linecrew test CA", 3650, NOW_MS, err,
	    sizeof(err)), 0);
	snprintf(cn, sizeof(cn), "%s/ca.key", ca);
	assert_int_equal(stat(cn, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(pki_ca_create(C, ca, "again", 10, NOW_MS, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "refusing to replace"));
	assert_int_equal(crypto_keygen(C, &dev, err, sizeof(err)), 0);
	assert_int_equal(pki_issue(C, ca, dev, "bad,cn=x", PKI_CLIENT, 2, 365, NOW_MS, crt, err,
	    sizeof(err)), -1);
	assert_int_equal(pki_issue(C, ca, dev, "dev-01", PKI_CLIENT, 2, 365, NOW_MS, crt, err,
	    sizeof(err)), 0);
	assert_int_equal(pki_check(ca, crt, cn, sizeof(cn), err, sizeof(err)), 0);
	assert_string_equal(cn, "dev-01");
	/* the same certificate does not chain to another CA */
	assert_int_equal(pki_ca_create(C, ca2, "Other CA", 3650, NOW_MS, err, sizeof(err)), 0);
	assert_int_equal(pki_check(ca2, crt, cn, sizeof(cn), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not valid under"));
	/* a certificate that expired last year: refused for a connection, still
	 * good to check the signatures it made while valid; never from a foreign CA */
	{
		struct crypto_key *pub = NULL;
		char old[160];

		snprintf(old, sizeof(old), "%s/dev-old.crt", dir);
		assert_int_equal(pki_issue(C, ca, dev, "dev-old", PKI_CLIENT, 3, 30,
		    NOW_MS - 400LL * 86400 * 1000, old, err, sizeof(err)), 0);
		assert_int_equal(pki_check(ca, old, cn, sizeof(cn), err, sizeof(err)), -1);
		assert_non_null(strstr(err, "expired"));
		assert_int_equal(pki_check_key_evidence(ca, old, cn, sizeof(cn), &pub, err,
		    sizeof(err)), 0);
		assert_string_equal(cn, "dev-old");
		crypto_key_free(pub);
		assert_int_equal(pki_check_key_evidence(ca2, old, cn, sizeof(cn), &pub, err,
		    sizeof(err)), -1);
	}
	crypto_key_free(dev);
	assert_int_equal(system("rm -rf /tmp/lc-pki-* /tmp/lc-pki2-*"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_mac_key_agreement),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_ca),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
