/*
 * fuzz_http_body.c: libFuzzer target for the gateway's HTTP request-body
 * intake: the JSON parse exactly as gateway/http.c dispatch() does it
 * (pj_parse on at most GW_BODY_MAX bytes) and then the field readers of the three POST bodies
 * that carry the most fields, in the order and with the ranges of
 * h_order_create, h_outage_add and h_crew_put (pj_str, pj_int, pj_num and the
 * gateway's own taxonomy_type_parse / order_crs_parse).
 *
 * The handlers themselves are static and need a running daemon (store,
 * libmicrohttpd connection); the integration test test_hostile_http.py sends
 * the same kinds of bodies to the real gateway. Here any byte string must be
 * refused with a field path and a message, or read into the input structs,
 * without a crash, leak or undefined behaviour.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(enum proto_err rc, const struct proto_error *pe)
{
	if (rc != PROTO_OK && (pe->code != rc || pe->msg[0] == '\0'))
		abort();	/* a refusal that does not say what is wrong */
}

static void
order_fields(const cJSON *body)
{
	struct proto_error pe = { 0 };
	struct order_input in;
	char crs[16] = "wgs84", type[GW_WORD_MAX] = "repair";
	int64_t cat = 0, ended = 0, ring = 0, answered = 0;
	const cJSON *site;
	enum proto_err rc;

	memset(&in, 0, sizeof(in));
	rc = pj_str(body, "", "type", 0, type, sizeof(type), &pe);
	check(rc, &pe);
	if (rc == PROTO_OK)
		(void)taxonomy_type_parse(type, &in.type);
	check(pj_int(body, "", "category", 1, 1, TAXONOMY_NCATEGORIES, &cat, &pe), &pe);
	check(pj_str(body, "", "address", 1, in.address, sizeof(in.address), &pe), &pe);
	site = cJSON_GetObjectItemCaseSensitive(body, "site");
	if (site != NULL && cJSON_IsObject(site)) {
		check(pj_num(site, "site", "lat", 1, -90, 90, &in.lat, &pe), &pe);
		check(pj_num(site, "site", "lon", 1, -180, 180, &in.lon, &pe), &pe);
		rc = pj_str(site, "site", "crs", 0, crs, sizeof(crs), &pe);
		check(rc, &pe);
		if (rc == PROTO_OK)
			(void)order_crs_parse(crs, &in.crs);
	}
	check(pj_int(body, "", "ring_ms", 0, 1, INT64_MAX / 2, &ring, &pe), &pe);
	check(pj_int(body, "", "answered_ms", 0, 1, INT64_MAX / 2, &answered, &pe), &pe);
	check(pj_str(body, "", "summary", 0, in.summary, sizeof(in.summary), &pe), &pe);
	check(pj_str(body, "", "customer", 0, in.customer, sizeof(in.customer), &pe), &pe);
	check(pj_str(body, "", "phone", 0, in.phone, sizeof(in.phone), &pe), &pe);
	check(pj_num(body, "", "radius_m", 0, 20, 2000, &in.radius_m, &pe), &pe);
	check(pj_int(body, "", "call_ended_ms", 0, 1, INT64_MAX / 2, &ended, &pe), &pe);
}

static void
outage_fields(const cJSON *body)
{
	struct proto_error pe = { 0 };
	struct outage ot;

	memset(&ot, 0, sizeof(ot));
	check(pj_str(body, "", "name", 1, ot.name, sizeof(ot.name), &pe), &pe);
	check(pj_num(body, "", "radius_m", 1, 1, 100000, &ot.radius_m, &pe), &pe);
	check(pj_int(body, "", "start_ms", 1, 1, INT64_MAX / 2, &ot.start_ms, &pe), &pe);
	check(pj_int(body, "", "end_ms", 1, 1, INT64_MAX / 2, &ot.end_ms, &pe), &pe);
	check(pj_str(body, "", "note", 0, ot.note, sizeof(ot.note), &pe), &pe);
}

static void
crew_fields(const cJSON *body)
{
	struct proto_error pe = { 0 };
	struct crew cr;

	memset(&cr, 0, sizeof(cr));
	check(pj_str(body, "", "id", 1, cr.id, sizeof(cr.id), &pe), &pe);
	check(pj_str(body, "", "name", 1, cr.name, sizeof(cr.name), &pe), &pe);
	check(pj_str(body, "", "branch", 0, cr.branch, sizeof(cr.branch), &pe), &pe);
	check(pj_str(body, "", "device", 1, cr.device, sizeof(cr.device), &pe), &pe);
	(void)proto_valid_dev(cr.id);
	(void)proto_valid_dev(cr.device);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_error pe;
	cJSON *body, *it;

	if (size == 0 || size > GW_BODY_MAX)
		return 0;	/* refused before parsing (400, 413) */
	if (pj_parse(data, size, GW_BODY_MAX, &body, &pe) != PROTO_OK) {
		if (body != NULL || pe.msg[0] == '\0')
			abort();
		return 0;
	}
	cJSON_ArrayForEach(it, body)	/* only_fields() reads every key */
		if (it->string == NULL)
			abort();
	order_fields(body);
	outage_fields(body);
	crew_fields(body);
	cJSON_Delete(body);
	return 0;
}
