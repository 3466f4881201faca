/*
 * sla.c: the SLA engine and the order state machine of the gateway.
 *
 * Pure functions: no I/O, no logging, no statics that change. "Now" comes from
 * an injected clock so the unit tests run on virtual time. This file decides
 * which transitions an order may take and what each time-limit stage of 第十九条
 * says about an order; it does not store anything (order.c does) nor talk to
 * devices (mqtt.c does).
 *
 * Order states
 * ------------
 *
 *              dispatch            delivered           accept            arrive
 *   recorded ----------> dispatched ------> delivered ------> accepted ------> arrived
 *     |   ^                 |                  |                 |                |
 *     |   |                 +------------------+-----------------+----------------+
 *     |   |                              complete (a crew may declare it
 *     |   |                              without an arrival on record)
 *     |   |                                       |
 *     |   | dispatch                              v            callback: restored
 *     |   +----------------- reopened <------- completed ------------------------> closed
 *     |                         |     not_restored
 *     | decline                 | decline
 *     v                         v
 *   declined <------------------+
 *
 * Device events may also skip steps forward (an "arrive" straight after the
 * push when the "delivered" event is still in flight); they never go back.
 *
 * Transition table (state x action -> new state, "-" = not allowed):
 *
 *   from \ action  dispatch   decline   delivered  accept    arrive   complete   cb_close cb_reopen
 *   recorded       dispatched declined  -          -         -        -          -        -
 *   dispatched     -          -         delivered  accepted  arrived  completed  -        -
 *   delivered      -          -         -          accepted  arrived  completed  -        -
 *   accepted       -          -         -          -         arrived  completed  -        -
 *   arrived        -          -         -          -         -        completed  -        -
 *   completed      -          -         -          -         -        -          closed   reopened
 *   closed         -          -         -          -         -        -          -        -
 *   declined       -          -         -          -         -        -          -        -
 *   reopened       dispatched declined  -          -         -        -          -        -
 *
 * A device event the table does not allow is still recorded on the timeline
 * (what the crew said is evidence) but changes no state.
 *
 * Invariants (checked by sla_order_valid, asserted in debug builds by order.c):
 *   recorded     created_ms set; no crew/device; dispatched_ms 0
 *   dispatched.. crew, device, reviewed_ms and dispatched_ms set
 *   (to arrived) and each stage time set for the states it has passed
 *   completed    completed_ms, completed_rx_ms and callback_due_ms set; callback_ms 0
 *   closed       callback_ms and callback_outcome set
 *   declined     reviewed_ms and decline_reason set; no dispatched_ms
 *   reopened     callback_ms set, outcome "not_restored"
 *
 * Stages
 * ------
 *   review      from created_ms,       review_s;  done at the first review
 *   arrival     from dispatched_ms,    the zone's limit; done at arrived_ms
 *               (device time). A completion with no arrival on record closes
 *               the arrival stage at the completion time: the crew was there.
 *   completion  from dispatched_ms,    complete_h (meter fault: complete_meter_h);
 *               done at completed_ms (device time)
 *   callback    from completed_rx_ms,  callback_min; the agent cannot call back
 *               before the gateway knows of the completion, so the clock starts
 *               on receipt, not on the device's time. Done at callback_ms.
 * A done stage is met when done <= due; an open one is breached once now > due.
 * A declined order's later stages are n/a.
 */
#include <stdint.h>
#include <string.h>

#include "gateway.h"

#define MS_PER_S	1000LL
#define MS_PER_MIN	(60 * MS_PER_S)

static const char *const state_names[ORD_NSTATES] = {
	[ORD_RECORDED] = "recorded",	 [ORD_DISPATCHED] = "dispatched",
	[ORD_DELIVERED] = "delivered",	 [ORD_ACCEPTED] = "accepted",
	[ORD_ARRIVED] = "arrived",	 [ORD_COMPLETED] = "completed",
	[ORD_CLOSED] = "closed",	 [ORD_DECLINED] = "declined",
	[ORD_REOPENED] = "reopened",
};

#define X ORD_NSTATES	/* not allowed */
static const unsigned char transitions[ORD_NSTATES][ACT_NACTIONS] = {
	/*                dispatch        decline       delivered      accept        arrive       complete       cb_close    cb_reopen */
	[ORD_RECORDED] = { ORD_DISPATCHED, ORD_DECLINED, X,             X,            X,           X,             X,          X },
	[ORD_DISPATCHED] = { X,            X,            ORD_DELIVERED, ORD_ACCEPTED, ORD_ARRIVED, ORD_COMPLETED, X,          X },
	[ORD_DELIVERED] = { X,             X,            X,             ORD_ACCEPTED, ORD_ARRIVED, ORD_COMPLETED, X,          X },
	[ORD_ACCEPTED] = { X,              X,            X,             X,            ORD_ARRIVED, ORD_COMPLETED, X,          X },
	[ORD_ARRIVED] = { X,               X,            X,             X,            X,           ORD_COMPLETED, X,          X },
	[ORD_COMPLETED] = { X,             X,            X,             X,            X,           X,             ORD_CLOSED, ORD_REOPENED },
	[ORD_CLOSED] = { X, X, X, X, X, X, X, X },
	[ORD_DECLINED] = { X, X, X, X, X, X, X, X },
	[ORD_REOPENED] = { ORD_DISPATCHED, ORD_DECLINED, X,          X,            X,           X,             X,          X },
};
#undef X

static const char *const category_names[8] = {
	"", "外力破坏", "线路故障停电", "箱变、区变故障停电", "变压器过负荷停电",
	"低压保险故障停电", "电能表故障", "客户内部原因故障",
};

#define CATEGORY_METER		6

const char *
order_state_name(enum order_state s)
{
	return (unsigned)s < ORD_NSTATES ? state_names[s] : "unknown";
}

int
order_state_parse(const char *s, enum order_state *out)
{
	for (int i = 0; i < ORD_NSTATES; i++)
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum order_state)i;
			return 0;
		}
	return -1;
}

const char *
sla_stage_name(enum sla_stage s)
{
	static const char *const n[SLA_NSTAGES] = { "review", "arrival", "completion",
		"callback" };
	return (unsigned)s < SLA_NSTAGES ? n[s] : "unknown";
}

const char *
sla_verdict_name(enum sla_verdict v)
{
	static const char *const n[] = { "pending", "met", "breached", "n/a" };
	return (unsigned)v <= SLA_NA ? n[v] : "unknown";
}

const char *
sla_category_name(int category)
{
	return category >= 1 && category <= 7 ? category_names[category] : "";
}

int
sla_transition(enum order_state from, enum order_action act, enum order_state *to)
{
	if ((unsigned)from >= ORD_NSTATES || (unsigned)act >= ACT_NACTIONS)
		return 0;
	if (transitions[from][act] == ORD_NSTATES)
		return 0;
	*to = (enum order_state)transitions[from][act];
	return 1;
}

int
sla_state_open(enum order_state s)
{
	return s != ORD_CLOSED && s != ORD_DECLINED;
}

int
sla_state_on_device(enum order_state s)
{
	return s == ORD_DISPATCHED || s == ORD_DELIVERED || s == ORD_ACCEPTED ||
	    s == ORD_ARRIVED;
}

void
sla_profile_for(const struct sla_limits *l, int category, enum maps_zone zone,
    struct sla_profile *out)
{
	out->review_s = l->review_s;
	switch (zone) {
	case MAPS_ZONE_URBAN:
		out->arrive_min = l->arrive_urban_min;
		break;
	case MAPS_ZONE_REMOTE:
		out->arrive_min = l->arrive_remote_min;
		break;
	case MAPS_ZONE_RURAL:
	default:
		out->arrive_min = l->arrive_rural_min;
		break;
	}
	out->complete_min = 60 * (category == CATEGORY_METER ? l->complete_meter_h :
	    l->complete_h);
	out->callback_min = l->callback_min;
}

/* Judge one stage from its start, limit and completion. */
static void
judge(struct sla_result *r, int64_t start, int64_t limit_ms, int64_t done, int64_t now)
{
	r->limit_ms = limit_ms;
	r->start_ms = start;
	r->due_ms = start ? start + limit_ms : 0;
	r->done_ms = start ? done : 0;
	if (start == 0)
		r->verdict = SLA_PENDING;
	else if (done)
		r->verdict = done <= r->due_ms ? SLA_MET : SLA_BREACHED;
	else
		r->verdict = now > r->due_ms ? SLA_BREACHED : SLA_PENDING;
}

static void
not_applicable(struct sla_result *r, int64_t limit_ms)
{
	r->limit_ms = limit_ms;
	r->start_ms = r->due_ms = r->done_ms = 0;
	r->verdict = SLA_NA;
}

void
sla_eval(const struct order *o, const struct lc_clock *clk, struct sla_result out[SLA_NSTAGES])
{
	int64_t now = clock_wall(clk);
	int64_t arrive_done;

	for (int i = 0; i < SLA_NSTAGES; i++)
		out[i].stage = (enum sla_stage)i;

	judge(&out[SLA_REVIEW], o->created_ms, o->lim.review_s * MS_PER_S, o->reviewed_ms, now);
	if (o->state == ORD_DECLINED) {
		not_applicable(&out[SLA_ARRIVAL], o->lim.arrive_min * MS_PER_MIN);
		not_applicable(&out[SLA_COMPLETION], o->lim.complete_min * MS_PER_MIN);
		not_applicable(&out[SLA_CALLBACK], o->lim.callback_min * MS_PER_MIN);
		return;
	}
	arrive_done = o->arrived_ms ? o->arrived_ms : o->completed_ms;
	judge(&out[SLA_ARRIVAL], o->dispatched_ms, o->lim.arrive_min * MS_PER_MIN,
	    arrive_done, now);
	judge(&out[SLA_COMPLETION], o->dispatched_ms, o->lim.complete_min * MS_PER_MIN,
	    o->completed_ms, now);
	judge(&out[SLA_CALLBACK], o->completed_rx_ms, o->lim.callback_min * MS_PER_MIN,
	    o->callback_ms, now);
}

int64_t
sla_next_due(const struct sla_result r[SLA_NSTAGES], enum sla_stage *stage)
{
	int64_t best = 0;

	for (int i = 0; i < SLA_NSTAGES; i++) {
		if (r[i].verdict != SLA_PENDING || r[i].due_ms == 0)
			continue;
		if (best == 0 || r[i].due_ms < best) {
			best = r[i].due_ms;
			if (stage)
				*stage = (enum sla_stage)i;
		}
	}
	return best;
}

int
sla_order_valid(const struct order *o)
{
	int dispatched = o->state == ORD_DISPATCHED || o->state == ORD_DELIVERED ||
	    o->state == ORD_ACCEPTED || o->state == ORD_ARRIVED ||
	    o->state == ORD_COMPLETED || o->state == ORD_CLOSED;

	if ((unsigned)o->state >= ORD_NSTATES || o->created_ms == 0)
		return 0;
	switch (o->state) {
	case ORD_RECORDED:
		if (o->dispatched_ms != 0 || o->device[0] != '\0')
			return 0;
		break;
	case ORD_DECLINED:
		if (o->reviewed_ms == 0 || o->decline_reason[0] == '\0')
			return 0;
		break;
	case ORD_REOPENED:
		if (o->callback_ms == 0 || strcmp(o->callback_outcome, "not_restored") != 0)
			return 0;
		break;
	default:
		break;
	}
	if (dispatched && (o->crew[0] == '\0' || o->device[0] == '\0' ||
	    o->reviewed_ms == 0 || o->dispatched_ms == 0))
		return 0;
	if (o->state == ORD_ACCEPTED && o->accepted_ms == 0)
		return 0;
	if (o->state == ORD_ARRIVED && o->arrived_ms == 0)
		return 0;
	if ((o->state == ORD_COMPLETED || o->state == ORD_CLOSED) &&
	    (o->completed_ms == 0 || o->completed_rx_ms == 0 || o->callback_due_ms == 0))
		return 0;
	if (o->state == ORD_COMPLETED && o->callback_ms != 0)
		return 0;
	if (o->state == ORD_CLOSED && (o->callback_ms == 0 || o->callback_outcome[0] == '\0'))
		return 0;
	return 1;
}
