/*
 * fuzz_proto_pos.c: libFuzzer target for proto_decode_pos, the decoder of
 * every payload that arrives on the gateway's pos topic.
 *
 * Any byte string must give PROTO_OK or an error code with a field path and a
 * message, never a crash, a leak or undefined behaviour (ASan + UBSan). A
 * payload that decodes must encode again and decode to the same struct
 * (round trip), so the decoder never accepts what the encoder cannot write.
 * Whatever the fast path (proto_decode_pos_fast) takes, the general decoder
 * (proto_decode_pos_json) must take too, giving the very same struct; and the
 * re-encoded text, the unit's own form, must be taken by the fast path.
 * It does not check policy (who may send what): that is the daemons'.
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
	static struct proto_pos a, b, f;	/* large: not on the fuzzer's stack */
	static char buf[PROTO_MAX_PAYLOAD + 1];
	struct proto_error err;
	enum proto_err rc;
	size_t len;
	int took;

	took = proto_decode_pos_fast(data, size, &f);
	rc = proto_decode_pos_json(data, size, &a, &err);
	if (took && (rc != PROTO_OK || memcmp(&f, &a, sizeof(f)) != 0))
		abort();	/* the fast path read it differently */
	if (proto_decode_pos(data, size, &b, NULL) != rc ||
	    (rc == PROTO_OK && memcmp(&a, &b, sizeof(a)) != 0))
		abort();
	if (rc != PROTO_OK) {
		if (err.code != rc || err.msg[0] == '\0' || memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			abort();	/* every refusal says why */
		return 0;
	}
	rc = proto_encode_pos(&a, buf, sizeof(buf), &len);
	if (rc == PROTO_E_BUFFER)
		return 0;	/* escapes can make the re-encoding longer than the input */
	if (rc != PROTO_OK)
		abort();	/* accepted but cannot be written back */
	if (proto_decode_pos(buf, len, &b, &err) != PROTO_OK)
		abort();	/* what we write, we read */
	/* ... and the unit's own form takes the fast path, but for numbers
	 * under 1e-4, which it writes with an exponent */
	if (strstr(buf, "e-") == NULL && strstr(buf, "e+") == NULL &&
	    (!proto_decode_pos_fast(buf, len, &f) || memcmp(&f, &b, sizeof(f)) != 0))
		abort();
	return 0;
}
