/*
 * fuzz_proto_presence.c: libFuzzer target for proto_decode_presence, the decoder of
 * every payload that arrives on the gateway's presence topic.
 *
 * Any byte string must give PROTO_OK or an error code with a field path and a
 * message, never a crash, a leak or undefined behaviour (ASan + UBSan). A
 * payload that decodes must encode again and decode to the same struct
 * (round trip), so the decoder never accepts what the encoder cannot write.
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
	static struct proto_presence a, b;	/* large: not on the fuzzer's stack */
	static char buf[PROTO_MAX_PAYLOAD + 1];
	struct proto_error err;
	enum proto_err rc;
	size_t len;

	rc = proto_decode_presence(data, size, &a, &err);
	if (rc != PROTO_OK) {
		if (err.code != rc || err.msg[0] == '\0' || memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			abort();	/* every refusal says why */
		return 0;
	}
	rc = proto_encode_presence(&a, buf, sizeof(buf), &len);
	if (rc == PROTO_E_BUFFER)
		return 0;	/* escapes can make the re-encoding longer than the input */
	if (rc != PROTO_OK)
		abort();	/* accepted but cannot be written back */
	if (proto_decode_presence(buf, len, &b, &err) != PROTO_OK)
		abort();	/* what we write, we read */
	return 0;
}
