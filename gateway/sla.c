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
 * A repair goes to a crew's device; every other type goes to a department
 * (forward), whose result ends the handling; a query is answered on the call
 * and closed at intake; a linked duplicate waits, declined, for its original.
 *
 *              dispatch            delivered           accept            arrive
 *   recorded ----------> dispatched ------> delivered ------> accepted ------> arrived
 *    | |  ^                 |                  |                 |                |
 *    | |  |                 +------------------+-----------------+----------------+
 *    | |  |                              complete (a crew may declare it
 *    | |  |                              without an arrival on record)
 *    | |  |                                       |
 *    | |  | dispatch / forward                    v            callback: conclusive
 *    | |  +----------------- reopened <------- completed ------------------------> closed
 *    | |                        |  not_restored  ^   ^
 *    | | forward                | decline        |   | link_done (the original completed)
 *    | +--------> forwarded ----|----------------+   |
 *    |                 result   v                    |
 *    +-- decline --> declined -----------------------+
 *
 * Device events may also skip steps forward (an "arrive" straight after the
 * push when the "delivered" event is still in flight); they never go back.
 *
 * Transition table (state x action -> new state, "-" = not allowed):
 *
 *   from \ action dispatch  decline  delivered accept   arrive   complete  cb_close cb_reopen forward   result    link_done
 *   recorded      dispatchd declined -         -        -        -         -        -         forwarded -         -
 *   dispatched    -         -        delivered accepted arrived  completed -        -         -         -         -
 *   delivered     -         -        -         accepted arrived  completed -        -         -         -         -
 *   accepted      -         -        -         -        arrived  completed -        -         -         -         -
 *   arrived       -         -        -         -        -        completed -        -         -         -         -
 *   completed     -         -        -         -        -        -         closed   reopened  -         -         -
 *   closed        -         -        -         -        -        -         -        -         -         -         -
 *   declined      -         -        -         -        -        -         -        -         -         -         completed
 *   reopened      dispatchd declined -         -        -        -         -        -         forwarded -         -
 *   forwarded     -         -        -         -        -        -         -        -         -         completed -
 *
 * Which of dispatch / forward applies is the order's type (order.c); link_done
 * applies only to a declined order linked to an original (o->linked).
 * A device event the table does not allow is still recorded on the timeline
 * (what the crew said is evidence) but changes no state.
 *
 * Invariants (checked by sla_order_valid, asserted in debug builds by order.c):
 *   recorded     created_ms set; no device; dispatched_ms 0
 *   dispatched.. crew, device, reviewed_ms and dispatched_ms set
 *   (to arrived) and each stage time set for the states it has passed
 *   forwarded    dept, forwarded_ms and handle_due_ms set
 *   completed    completed_ms, completed_rx_ms and callback_due_ms set; callback_ms 0
 *   closed       callback_ms and callback_outcome set, or a query closed at intake
 *   declined     decline_reason set; no device
 *   reopened     callback_ms set, outcome "not_restored"
 *
 * Stages (第十九条); 0 in the order's profile = not applicable to its type
 * ------
 *   answer      from ring_ms,          answer_s;   done at answered_ms (intake)
 *   record      from call_ended_ms,    record_s;   done at created_ms
 *   review      from created_ms,       review_s;   done at the first review;
 *               n/a when intake rules decided the order (declined at intake)
 *   arrival     repair: from dispatched_ms, the zone's limit; done at arrived_ms
 *               (device time). A completion with no arrival on record closes
 *               the arrival stage at the completion time: the crew was there.
 *   completion  repair: from dispatched_ms, complete_h (meter fault:
 *               complete_meter_h); done at completed_ms (device time)
 *   handling    other types: from forwarded_ms to handle_due_ms (handle_wd
 *               working days, computed on the calendar at forwarding); done at
 *               the department's result (completed_ms)
 *   callback    from completed_rx_ms,  callback_min; the agent cannot call back
 *               before the gateway knows of the end of handling, so the clock
 *               starts on receipt. Done at callback_ms.
 *   archive     from archive_start_ms (every order of the type in the order's
 *               shift finished, and the shift over), archive_min; done at
 *               archived_ms
 * A done stage is met when done <= due; an open one is breached once now > due.
 * A warning falls warn_pct of the way from start to due. A declined order's
 * handling stages are n/a (a linked duplicate's callback is pending until its
 * original completes).
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
	[ORD_REOPENED] = "reopened",	 [ORD_FORWARDED] = "forwarded",
};

#define X ORD_NSTATES	/* not allowed */
static const unsigned char transitions[ORD_NSTATES][ACT_NACTIONS] = {
	/*                dispatch        decline       delivered      accept        arrive       complete       cb_close    cb_reopen     forward        result         link_done */
	[ORD_RECORDED] = { ORD_DISPATCHED, ORD_DECLINED, X,             X,            X,           X,             X,          X,            ORD_FORWARDED, X,             X },
	[ORD_DISPATCHED] = { X,            X,            ORD_DELIVERED, ORD_ACCEPTED, ORD_ARRIVED, ORD_COMPLETED, X,          X,            X,             X,             X },
	[ORD_DELIVERED] = { X,             X,            X,             ORD_ACCEPTED, ORD_ARRIVED, ORD_COMPLETED, X,          X,            X,             X,             X },
	[ORD_ACCEPTED] = { X,              X,            X,             X,            ORD_ARRIVED, ORD_COMPLETED, X,          X,            X,             X,             X },
	[ORD_ARRIVED] = { X,               X,            X,             X,            X,           ORD_COMPLETED, X,          X,            X,             X,             X },
	[ORD_COMPLETED] = { X,             X,            X,             X,            X,           X,             ORD_CLOSED, ORD_REOPENED, X,             X,             X },
	[ORD_CLOSED] = { X, X, X, X, X, X, X, X, X, X, X },
	[ORD_DECLINED] = { X,              X,            X,             X,            X,           X,             X,          X,            X,             X,             ORD_COMPLETED },
	[ORD_REOPENED] = { ORD_DISPATCHED, ORD_DECLINED, X,             X,            X,           X,             X,          X,            ORD_FORWARDED, X,             X },
	[ORD_FORWARDED] = { X,             X,            X,             X,            X,           X,             X,          X,            X,             ORD_COMPLETED, X },
};
#undef X

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
	static const char *const n[SLA_NSTAGES] = { "answer", "record", "review", "arrival",
		"completion", "handling", "callback", "archive" };
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
	const struct tx_category *c = taxonomy_category(category);

	return c ? c->zh : "";
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

const struct sla_limits *
sla_limits_find(const struct gw_conf *cf, const char *name)
{
	if (name == NULL || name[0] == '\0' || strcmp(name, cf->limits.name) == 0)
		return &cf->limits;
	for (int i = 0; i < cf->nprofiles; i++)
		if (strcmp(name, cf->profiles[i].name) == 0)
			return &cf->profiles[i];
	return NULL;
}

void
sla_profile_for(const struct sla_limits *l, enum order_type type, int category,
    enum maps_zone zone, struct sla_profile *out)
{
	int repair = type == TYPE_REPAIR;

	memset(out, 0, sizeof(*out));
	memcpy(out->name, l->name, sizeof(out->name));
	out->answer_s = l->answer_s;
	out->record_s = repair ? l->record_repair_s : l->record_other_s;
	out->review_s = repair ? l->review_s : type == TYPE_QUERY ? 0 : l->review_other_s;
	if (repair) {
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
	}
	switch (type) {
	case TYPE_CONSULTATION:
		out->handle_wd = l->consult_wd;
		break;
	case TYPE_COMPLAINT:
	case TYPE_REPORT:
		out->handle_wd = l->complaint_wd;
		break;
	case TYPE_APPEAL:
	case TYPE_SUGGESTION:
	case TYPE_OPINION:
	case TYPE_PRAISE:
		out->handle_wd = l->appeal_wd;
		break;
	case TYPE_INSTALLATION:
		out->handle_wd = l->install_wd;
		break;
	case TYPE_REPAIR:
	case TYPE_QUERY:
	default:
		break;
	}
	out->callback_min = type == TYPE_QUERY ? 0 : l->callback_min;
	out->archive_min = l->archive_min;
	out->warn_pct = l->warn_pct;
}

/* Judge one stage from its start, due time and completion. */
static void
judge_due(struct sla_result *r, int64_t start, int64_t due, int64_t done, int64_t now,
    int warn_pct)
{
	r->start_ms = start;
	r->due_ms = start ? due : 0;
	r->done_ms = start ? done : 0;
	r->warn_ms = start && warn_pct > 0 && warn_pct < 100 ?
	    start + (due - start) * warn_pct / 100 : 0;
	if (start == 0)
		r->verdict = SLA_PENDING;
	else if (done)
		r->verdict = done <= r->due_ms ? SLA_MET : SLA_BREACHED;
	else
		r->verdict = now > r->due_ms ? SLA_BREACHED : SLA_PENDING;
}

static void
judge(struct sla_result *r, int64_t start, int64_t limit_ms, int64_t done, int64_t now,
    int warn_pct)
{
	r->limit_ms = limit_ms;
	judge_due(r, start, start + limit_ms, done, now, warn_pct);
}

static void
not_applicable(struct sla_result *r, int64_t limit_ms)
{
	r->limit_ms = limit_ms;
	r->start_ms = r->due_ms = r->done_ms = r->warn_ms = 0;
	r->verdict = SLA_NA;
}

void
sla_eval(const struct order *o, const struct lc_clock *clk, struct sla_result out[SLA_NSTAGES])
{
	const struct sla_profile *l = &o->lim;
	int64_t now = clock_wall(clk);
	int64_t arrive_done;
	int repair = o->type == TYPE_REPAIR;
	int declined = o->state == ORD_DECLINED;
	int pct = l->warn_pct;

	memset(out, 0, sizeof(struct sla_result) * SLA_NSTAGES);
	for (int i = 0; i < SLA_NSTAGES; i++)
		out[i].stage = (enum sla_stage)i;

	if (o->ring_ms && o->answered_ms && l->answer_s)
		judge(&out[SLA_ANSWER], o->ring_ms, l->answer_s * MS_PER_S, o->answered_ms, now, 0);
	else
		not_applicable(&out[SLA_ANSWER], l->answer_s * MS_PER_S);
	if (o->call_ended_ms && l->record_s)
		judge(&out[SLA_RECORD], o->call_ended_ms, l->record_s * MS_PER_S, o->created_ms,
		    now, 0);
	else
		not_applicable(&out[SLA_RECORD], l->record_s * MS_PER_S);
	if (l->review_s && !(declined && o->reviewed_ms == 0))
		judge(&out[SLA_REVIEW], o->created_ms, l->review_s * MS_PER_S, o->reviewed_ms,
		    now, pct);
	else
		not_applicable(&out[SLA_REVIEW], l->review_s * MS_PER_S);

	if (repair && !declined && !o->linked && o->decline_reason[0] == '\0') {
		arrive_done = o->arrived_ms ? o->arrived_ms : o->completed_ms;
		judge(&out[SLA_ARRIVAL], o->dispatched_ms, l->arrive_min * MS_PER_MIN,
		    arrive_done, now, pct);
		judge(&out[SLA_COMPLETION], o->dispatched_ms, l->complete_min * MS_PER_MIN,
		    o->completed_ms, now, pct);
	} else {
		not_applicable(&out[SLA_ARRIVAL], l->arrive_min * MS_PER_MIN);
		not_applicable(&out[SLA_COMPLETION], l->complete_min * MS_PER_MIN);
	}
	if (!repair && l->handle_wd && !declined && o->decline_reason[0] == '\0')
		judge_due(&out[SLA_HANDLING], o->forwarded_ms, o->handle_due_ms,
		    o->completed_ms, now, pct);
	else
		not_applicable(&out[SLA_HANDLING], 0);
	if (l->callback_min && (o->decline_reason[0] == '\0' || o->linked))
		judge(&out[SLA_CALLBACK], o->completed_rx_ms, l->callback_min * MS_PER_MIN,
		    o->callback_ms, now, pct);
	else
		not_applicable(&out[SLA_CALLBACK], l->callback_min * MS_PER_MIN);
	if (l->archive_min)
		judge(&out[SLA_ARCHIVE], o->archive_start_ms, l->archive_min * MS_PER_MIN,
		    o->archived_ms, now, pct);
	else
		not_applicable(&out[SLA_ARCHIVE], 0);
	for (int i = 0; i < SLA_NSTAGES; i++)
		out[i].late = out[i].done_ms != 0 && (o->late & (1u << i)) != 0;
}

int64_t
sla_next_due(const struct sla_result r[SLA_NSTAGES], unsigned warned, enum sla_stage *stage)
{
	int64_t best = 0;

	for (int i = 0; i < SLA_NSTAGES; i++) {
		int64_t t;

		if (r[i].verdict != SLA_PENDING || r[i].due_ms == 0)
			continue;
		t = r[i].due_ms;
		if (r[i].warn_ms && r[i].warn_ms < t && !(warned & (1u << i)))
			t = r[i].warn_ms;
		if (best == 0 || t < best) {
			best = t;
			if (stage)
				*stage = (enum sla_stage)i;
		}
	}
	return best;
}

int
sla_order_valid(const struct order *o)
{
	int on_device = sla_state_on_device(o->state);

	if ((unsigned)o->state >= ORD_NSTATES || o->created_ms == 0)
		return 0;
	switch (o->state) {
	case ORD_RECORDED:
		if (o->dispatched_ms != 0 || o->device[0] != '\0')
			return 0;
		break;
	case ORD_DECLINED:
		if (o->decline_reason[0] == '\0' || o->device[0] != '\0')
			return 0;
		break;
	case ORD_REOPENED:
		if (o->callback_ms == 0 || strcmp(o->callback_outcome, "not_restored") != 0)
			return 0;
		break;
	case ORD_FORWARDED:
		if (o->dept[0] == '\0' || o->forwarded_ms == 0 || o->handle_due_ms == 0)
			return 0;
		break;
	case ORD_COMPLETED:
		if (o->completed_ms == 0 || o->completed_rx_ms == 0 || o->callback_due_ms == 0 ||
		    o->callback_ms != 0)
			return 0;
		break;
	case ORD_CLOSED:
		if (o->type != TYPE_QUERY &&
		    (o->callback_ms == 0 || o->callback_outcome[0] == '\0'))
			return 0;
		break;
	default:
		break;
	}
	if (on_device && (o->crew[0] == '\0' || o->device[0] == '\0' ||
	    o->reviewed_ms == 0 || o->dispatched_ms == 0))
		return 0;
	if (o->state == ORD_ACCEPTED && o->accepted_ms == 0)
		return 0;
	if (o->state == ORD_ARRIVED && o->arrived_ms == 0)
		return 0;
	return 1;
}
