/*
 * fuzz_proto_auth.c: libFuzzer target for proto_auth_split, which cuts the
 * authentication tag ("sig" or "mac", the last member) off every MQTT payload
 * before anything else looks at it.
 *
 * Any byte string must give PROTO_OK or a named error, never read or write out
 * of bounds. On PROTO_OK the body is no longer than the payload, the tag
 * length fits the algorithm, and joining body and tag again gives back a
 * payload that splits to the same body and tag. It does not verify tags
 * (common/msgauth.c does, with keys).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char body[PROTO_MAX_PAYLOAD + 2], joined[PROTO_MAX_PAYLOAD + 2];
	static char body2[PROTO_MAX_PAYLOAD + 2];
	unsigned char tag[PROTO_SIG_MAX], tag2[PROTO_SIG_MAX];
	struct proto_error err;
	enum proto_auth alg, alg2;
	size_t bodylen, taglen, jlen, bodylen2, taglen2;
	enum proto_err rc;

	rc = proto_auth_split(data, size, body, sizeof(body), &bodylen, &alg, tag, &taglen, &err);
	if (rc != PROTO_OK) {
		if (err.code != rc || err.msg[0] == '\0')
			abort();
		return 0;
	}
	if (bodylen > size || (alg == PROTO_AUTH_NONE && taglen != 0) ||
	    (alg == PROTO_AUTH_MAC && taglen != PROTO_MAC_LEN) ||
	    (alg == PROTO_AUTH_SIG && (taglen == 0 || taglen > PROTO_SIG_MAX)))
		abort();
	if (alg == PROTO_AUTH_NONE || bodylen == 0 || body[bodylen - 1] != '}')
		return 0;
	if (proto_auth_join(body, bodylen, alg, tag, taglen, joined, sizeof(joined), &jlen) !=
	    PROTO_OK)
		return 0;	/* e.g. the body had no member to follow */
	if (proto_auth_split(joined, jlen, body2, sizeof(body2), &bodylen2, &alg2, tag2,
	    &taglen2, &err) != PROTO_OK || alg2 != alg || taglen2 != taglen ||
	    memcmp(tag, tag2, taglen) != 0 || bodylen2 != bodylen ||
	    memcmp(body, body2, bodylen) != 0)
		abort();	/* join and split disagree */
	return 0;
}
