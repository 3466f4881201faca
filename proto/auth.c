/*
 * auth.c: framing of the end-to-end authentication tag (see proto.h).
 *
 * Pure byte work: no cryptography here (the daemons compute and check tags with
 * common/crypto.c), no allocation, no state. The tag is always the last member
 * so the signed body is a byte prefix of what travels, and the receiver never
 * has to re-serialise JSON to check it.
 */
#include <string.h>

#include "proto.h"

static const char *const auth_names[] = { "none", "mac", "sig" };

const char *
proto_auth_name(enum proto_auth a)
{
	return (unsigned)a < 3 ? auth_names[a] : "?";
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;	/* upper case is not produced by us and not accepted */
}

enum proto_err
proto_auth_join(const char *body, size_t bodylen, enum proto_auth alg,
    const unsigned char *tag, size_t taglen, char *out, size_t cap, size_t *outlen)
{
	static const char digits[] = "0123456789abcdef";
	const char *key;
	size_t need, i, o;

	if (alg == PROTO_AUTH_MAC && taglen != PROTO_MAC_LEN)
		return PROTO_E_RANGE;
	if (alg == PROTO_AUTH_SIG && (taglen < 8 || taglen > PROTO_SIG_MAX))
		return PROTO_E_RANGE;
	if (alg == PROTO_AUTH_NONE || bodylen < 2 || body[0] != '{' || body[bodylen - 1] != '}')
		return PROTO_E_RANGE;
	key = alg == PROTO_AUTH_MAC ? ",\"mac\":\"" : ",\"sig\":\"";
	/* body without '}' + key + hex + "\"}" + NUL */
	need = bodylen - 1 + strlen(key) + 2 * taglen + 2;
	if (need + 1 > cap || need > PROTO_MAX_PAYLOAD)
		return PROTO_E_BUFFER;
	o = bodylen - 1;
	memmove(out, body, o);
	if (bodylen == 2)	/* "{}": no member before the tag, so no comma */
		key++;
	memcpy(out + o, key, strlen(key));
	o += strlen(key);
	for (i = 0; i < taglen; i++) {
		out[o++] = digits[tag[i] >> 4];
		out[o++] = digits[tag[i] & 15];
	}
	out[o++] = '"';
	out[o++] = '}';
	out[o] = '\0';
	*outlen = o;
	return PROTO_OK;
}

enum proto_err
proto_auth_split(const void *payload, size_t len, char *body, size_t bodycap,
    size_t *bodylen, enum proto_auth *alg, unsigned char tag[PROTO_SIG_MAX], size_t *taglen,
    struct proto_error *err)
{
	const char *p = payload, *q;
	size_t hexlen, start, i;
	enum proto_auth a;

	memset(err, 0, sizeof(*err));
	*taglen = 0;
	if (len == 0 || len > PROTO_MAX_PAYLOAD) {
		pj_seterr(err, PROTO_E_SIZE, "", "", "payload of %zu bytes (1..%d allowed)",
		    len, PROTO_MAX_PAYLOAD);
		return PROTO_E_SIZE;
	}
	if (bodycap < len + 1) {
		pj_seterr(err, PROTO_E_BUFFER, "", "", "body buffer too small");
		return PROTO_E_BUFFER;
	}
	/* The tag, if any, is '"<hex>"}' at the very end (no whitespace after). */
	q = NULL;
	a = PROTO_AUTH_NONE;
	if (len >= 2 && p[len - 1] == '}' && p[len - 2] == '"') {
		size_t j = len - 2;

		while (j > 0 && hexval((unsigned char)p[j - 1]) >= 0)
			j--;
		/* p[j-1] must be the opening quote of the value, preceded by the key */
		if (j >= 8 && p[j - 1] == '"') {
			if (memcmp(p + j - 7, "\"mac\":", 6) == 0)
				a = PROTO_AUTH_MAC;
			else if (memcmp(p + j - 7, "\"sig\":", 6) == 0)
				a = PROTO_AUTH_SIG;
			if (a != PROTO_AUTH_NONE)
				q = p + j;
		}
	}
	if (a == PROTO_AUTH_NONE) {
		memcpy(body, p, len);
		body[len] = '\0';
		*bodylen = len;
		*alg = PROTO_AUTH_NONE;
		return PROTO_OK;
	}
	hexlen = (size_t)((p + len - 2) - q);
	if (hexlen % 2 != 0 || (a == PROTO_AUTH_MAC && hexlen != 2 * PROTO_MAC_LEN) ||
	    (a == PROTO_AUTH_SIG && (hexlen < 16 || hexlen > 2 * PROTO_SIG_MAX))) {
		pj_seterr(err, PROTO_E_RANGE, "", proto_auth_name(a),
		    "must be %s in lower-case hex", a == PROTO_AUTH_MAC ?
		    "32 bytes" : "a DER signature of 8..72 bytes");
		return PROTO_E_RANGE;
	}
	for (i = 0; i < hexlen / 2; i++)
		tag[i] = (unsigned char)(hexval((unsigned char)q[2 * i]) << 4 |
		    hexval((unsigned char)q[2 * i + 1]));
	*taglen = hexlen / 2;
	/* body = everything before ',"mac":"' (or '{' + nothing) plus '}' */
	start = (size_t)(q - 7 - p);		/* index of the key's opening quote */
	if (start >= 1 && p[start - 1] == ',')
		start--;
	else if (!(start == 1 && p[0] == '{')) {
		pj_seterr(err, PROTO_E_RANGE, "", proto_auth_name(a),
		    "must be the last member of the message");
		return PROTO_E_RANGE;
	}
	memcpy(body, p, start);
	body[start] = '}';
	body[start + 1] = '\0';
	*bodylen = start + 1;
	*alg = a;
	return PROTO_OK;
}
