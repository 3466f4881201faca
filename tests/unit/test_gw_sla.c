/*
 * test_gw_sla.c: the gateway's SLA engine (gateway/sla.c) on virtual time.
 *
 * Every stage met / breached / pending / n/a, the zone limits (urban 60, rural
 * 120, remote 240 min), the meter-fault 24 h completion limit, the callback
 * clock starting on receipt, the next deadline, and the transition table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "../../gateway/gateway.h"

#define MIN	60000LL
#define HOUR	(60 * MIN)
#define T0	1795000000000LL		/* 2026-11-18, a fixed virtual "now" */

static const struct sla_limits limits = {
	.review_s = 180, .arrive_urban_min = 60, .arrive_rural_min = 120,
	.arrive_remote_min = 240, .complete_h = 12, .complete_meter_h = 24,
	.callback_min = 10,
};

/* A recorded order of category cat in zone z, created at T0. */
static void
mk(struct order *o, int cat, enum maps_zone z)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "LC-20261118-0001");
	o->category = cat;
	o->zone = z;
	o->state = ORD_RECORDED;
	o->created_ms = T0;
	sla_profile_for(&limits, TYPE_REPAIR, cat, z, &o->lim);
}

static void
dispatch(struct order *o, int64_t at)
{
	o->state = ORD_DISPATCHED;
	o->reviewed_ms = at;
	o->dispatched_ms = at;
	snprintf(o->crew, sizeof(o->crew), "crew-north");
	snprintf(o->device, sizeof(o->device), "dev-01");
}

static void
complete(struct order *o, int64_t at, int64_t rx)
{
	o->state = ORD_COMPLETED;
	o->completed_ms = at;
	o->completed_rx_ms = rx;
	o->callback_due_ms = rx + o->lim.callback_min * MIN;
}

static enum sla_verdict
verdict(const struct order *o, struct vclock *vc, enum sla_stage s)
{
	struct sla_result r[SLA_NSTAGES];

	sla_eval(o, &vc->clock, r);
	assert_int_equal(r[s].stage, s);
	return r[s].verdict;
}

static void
test_profile_zones(void **state)
{
	struct sla_profile p;

	(void)state;
	sla_profile_for(&limits, TYPE_REPAIR, 2, MAPS_ZONE_URBAN, &p);
	assert_int_equal(p.arrive_min, 60);
	assert_int_equal(p.complete_min, 12 * 60);
	assert_int_equal(p.review_s, 180);
	assert_int_equal(p.callback_min, 10);
	sla_profile_for(&limits, TYPE_REPAIR, 2, MAPS_ZONE_RURAL, &p);
	assert_int_equal(p.arrive_min, 120);
	sla_profile_for(&limits, TYPE_REPAIR, 2, MAPS_ZONE_REMOTE, &p);
	assert_int_equal(p.arrive_min, 240);
	sla_profile_for(&limits, TYPE_REPAIR, 6, MAPS_ZONE_URBAN, &p);
	assert_int_equal(p.complete_min, 24 * 60);
}

static void
test_review(void **state)
{
	struct vclock vc;
	struct order o;

	(void)state;
	vclock_init(&vc, T0);
	mk(&o, 2, MAPS_ZONE_URBAN);
	assert_int_equal(verdict(&o, &vc, SLA_REVIEW), SLA_PENDING);
	vclock_advance(&vc, 180 * 1000);	/* exactly at the limit: still on time */
	assert_int_equal(verdict(&o, &vc, SLA_REVIEW), SLA_PENDING);
	vclock_advance(&vc, 1);
	assert_int_equal(verdict(&o, &vc, SLA_REVIEW), SLA_BREACHED);
	dispatch(&o, T0 + 2 * MIN);
	assert_int_equal(verdict(&o, &vc, SLA_REVIEW), SLA_MET);
	dispatch(&o, T0 + 4 * MIN);
	assert_int_equal(verdict(&o, &vc, SLA_REVIEW), SLA_BREACHED);
}

static void
arrival_case(enum maps_zone z, int limit_min)
{
	struct vclock vc;
	struct order o;
	struct sla_result r[SLA_NSTAGES];

	vclock_init(&vc, T0);
	mk(&o, 2, z);
	/* Not dispatched: pending, not started. */
	sla_eval(&o, &vc.clock, r);
	assert_int_equal(r[SLA_ARRIVAL].verdict, SLA_PENDING);
	assert_int_equal(r[SLA_ARRIVAL].start_ms, 0);
	assert_int_equal(r[SLA_ARRIVAL].due_ms, 0);
	dispatch(&o, T0 + MIN);
	sla_eval(&o, &vc.clock, r);
	assert_int_equal(r[SLA_ARRIVAL].start_ms, T0 + MIN);
	assert_int_equal(r[SLA_ARRIVAL].due_ms, T0 + MIN + limit_min * MIN);
	assert_int_equal(r[SLA_ARRIVAL].limit_ms, limit_min * MIN);
	assert_int_equal(r[SLA_ARRIVAL].verdict, SLA_PENDING);
	/* Arrived one minute before the limit: met. */
	o.state = ORD_ARRIVED;
	o.arrived_ms = T0 + MIN + (limit_min - 1) * MIN;
	vclock_advance(&vc, 10 * HOUR);
	assert_int_equal(verdict(&o, &vc, SLA_ARRIVAL), SLA_MET);
	/* One minute after: breached. */
	o.arrived_ms = T0 + MIN + (limit_min + 1) * MIN;
	assert_int_equal(verdict(&o, &vc, SLA_ARRIVAL), SLA_BREACHED);
	/* Not arrived and the limit passed: breached. */
	o.state = ORD_DISPATCHED;
	o.arrived_ms = 0;
	assert_int_equal(verdict(&o, &vc, SLA_ARRIVAL), SLA_BREACHED);
}

static void
test_arrival_zones(void **state)
{
	(void)state;
	arrival_case(MAPS_ZONE_URBAN, 60);
	arrival_case(MAPS_ZONE_RURAL, 120);
	arrival_case(MAPS_ZONE_REMOTE, 240);
}

static void
test_completion(void **state)
{
	struct vclock vc;
	struct order o, m;

	(void)state;
	vclock_init(&vc, T0);
	mk(&o, 2, MAPS_ZONE_URBAN);
	dispatch(&o, T0);
	vclock_advance(&vc, 11 * HOUR);
	assert_int_equal(verdict(&o, &vc, SLA_COMPLETION), SLA_PENDING);
	vclock_advance(&vc, 1 * HOUR + 1);
	assert_int_equal(verdict(&o, &vc, SLA_COMPLETION), SLA_BREACHED);
	/* Meter fault: 24 h. Done at 20 h: met, where 12 h would have breached. */
	mk(&m, 6, MAPS_ZONE_URBAN);
	dispatch(&m, T0);
	assert_int_equal(verdict(&m, &vc, SLA_COMPLETION), SLA_PENDING);
	complete(&m, T0 + 20 * HOUR, T0 + 20 * HOUR);
	vclock_advance(&vc, 20 * HOUR);
	assert_int_equal(verdict(&m, &vc, SLA_COMPLETION), SLA_MET);
	complete(&m, T0 + 25 * HOUR, T0 + 25 * HOUR);
	assert_int_equal(verdict(&m, &vc, SLA_COMPLETION), SLA_BREACHED);
}

static void
test_completion_without_arrival(void **state)
{
	struct vclock vc;
	struct order o;
	struct sla_result r[SLA_NSTAGES];

	(void)state;
	vclock_init(&vc, T0);
	mk(&o, 2, MAPS_ZONE_URBAN);
	dispatch(&o, T0);
	complete(&o, T0 + 30 * MIN, T0 + 31 * MIN);
	vclock_advance(&vc, 2 * HOUR);
	sla_eval(&o, &vc.clock, r);
	/* The crew was on site at the latest when it completed. */
	assert_int_equal(r[SLA_ARRIVAL].verdict, SLA_MET);
	assert_int_equal(r[SLA_ARRIVAL].done_ms, T0 + 30 * MIN);
	assert_int_equal(r[SLA_COMPLETION].verdict, SLA_MET);
}

static void
test_callback_from_receipt(void **state)
{
	struct vclock vc;
	struct order o;
	struct sla_result r[SLA_NSTAGES];

	(void)state;
	vclock_init(&vc, T0);
	mk(&o, 2, MAPS_ZONE_URBAN);
	dispatch(&o, T0);
	/* Before completion the callback has not started. */
	sla_eval(&o, &vc.clock, r);
	assert_int_equal(r[SLA_CALLBACK].verdict, SLA_PENDING);
	assert_int_equal(r[SLA_CALLBACK].start_ms, 0);
	/* Completed on the device at +1 h, received 30 min later (offline spell). */
	complete(&o, T0 + HOUR, T0 + HOUR + 30 * MIN);
	vclock_init(&vc, T0 + HOUR + 35 * MIN);
	sla_eval(&o, &vc.clock, r);
	assert_int_equal(r[SLA_CALLBACK].start_ms, T0 + HOUR + 30 * MIN);
	assert_int_equal(r[SLA_CALLBACK].due_ms, T0 + HOUR + 40 * MIN);
	assert_int_equal(r[SLA_CALLBACK].verdict, SLA_PENDING);
	/* Called back 9 min after receipt (39 min after the device's time): met. */
	o.state = ORD_CLOSED;
	o.callback_ms = T0 + HOUR + 39 * MIN;
	snprintf(o.callback_outcome, sizeof(o.callback_outcome), "restored_satisfied");
	assert_int_equal(verdict(&o, &vc, SLA_CALLBACK), SLA_MET);
	/* Not called back 11 min after receipt: breached. */
	o.state = ORD_COMPLETED;
	o.callback_ms = 0;
	vclock_init(&vc, T0 + HOUR + 41 * MIN);
	assert_int_equal(verdict(&o, &vc, SLA_CALLBACK), SLA_BREACHED);
}

static void
test_declined_na(void **state)
{
	struct vclock vc;
	struct order o;
	struct sla_result r[SLA_NSTAGES];

	(void)state;
	vclock_init(&vc, T0 + MIN);
	mk(&o, 7, MAPS_ZONE_URBAN);
	o.state = ORD_DECLINED;
	o.reviewed_ms = T0 + MIN;
	snprintf(o.decline_reason, sizeof(o.decline_reason), "customer_internal");
	assert_true(sla_order_valid(&o));
	sla_eval(&o, &vc.clock, r);
	assert_int_equal(r[SLA_REVIEW].verdict, SLA_MET);
	assert_int_equal(r[SLA_ARRIVAL].verdict, SLA_NA);
	assert_int_equal(r[SLA_COMPLETION].verdict, SLA_NA);
	assert_int_equal(r[SLA_CALLBACK].verdict, SLA_NA);
	assert_int_equal(sla_next_due(r, 0, NULL), 0);
	assert_string_equal(sla_verdict_name(SLA_NA), "n/a");
}

static void
test_next_due(void **state)
{
	struct vclock vc;
	struct order o;
	struct sla_result r[SLA_NSTAGES];
	enum sla_stage st = SLA_CALLBACK;

	(void)state;
	vclock_init(&vc, T0);
	mk(&o, 2, MAPS_ZONE_RURAL);
	sla_eval(&o, &vc.clock, r);
	assert_int_equal(sla_next_due(r, 0, &st), T0 + 180 * 1000);
	assert_int_equal(st, SLA_REVIEW);
	dispatch(&o, T0 + MIN);
	sla_eval(&o, &vc.clock, r);
	assert_int_equal(sla_next_due(r, 0, &st), T0 + MIN + 120 * MIN);
	assert_int_equal(st, SLA_ARRIVAL);
	/* Arrival breached: the next deadline moves on to completion. */
	vclock_advance(&vc, 3 * HOUR);
	sla_eval(&o, &vc.clock, r);
	assert_int_equal(sla_next_due(r, 0, &st), T0 + MIN + 12 * HOUR);
	assert_int_equal(st, SLA_COMPLETION);
	complete(&o, T0 + 4 * HOUR, T0 + 4 * HOUR);
	vclock_init(&vc, T0 + 4 * HOUR);
	sla_eval(&o, &vc.clock, r);
	assert_int_equal(sla_next_due(r, 0, &st), T0 + 4 * HOUR + 10 * MIN);
	assert_int_equal(st, SLA_CALLBACK);
	o.state = ORD_CLOSED;
	o.callback_ms = T0 + 4 * HOUR + 5 * MIN;
	snprintf(o.callback_outcome, sizeof(o.callback_outcome), "restored_satisfied");
	sla_eval(&o, &vc.clock, r);
	assert_int_equal(sla_next_due(r, 0, NULL), 0);
}

static void
test_transitions(void **state)
{
	enum order_state to = ORD_NSTATES;

	(void)state;
	assert_true(sla_transition(ORD_RECORDED, ACT_DISPATCH, &to));
	assert_int_equal(to, ORD_DISPATCHED);
	assert_true(sla_transition(ORD_RECORDED, ACT_DECLINE, &to));
	assert_int_equal(to, ORD_DECLINED);
	assert_false(sla_transition(ORD_DISPATCHED, ACT_DISPATCH, &to));
	assert_true(sla_transition(ORD_DISPATCHED, ACT_ARRIVE, &to));
	assert_int_equal(to, ORD_ARRIVED);
	assert_true(sla_transition(ORD_DELIVERED, ACT_COMPLETE, &to));
	assert_int_equal(to, ORD_COMPLETED);
	/* Never backwards: an arrive after completion changes nothing. */
	assert_false(sla_transition(ORD_COMPLETED, ACT_ARRIVE, &to));
	assert_false(sla_transition(ORD_ARRIVED, ACT_DELIVERED, &to));
	assert_true(sla_transition(ORD_COMPLETED, ACT_CALLBACK_REOPEN, &to));
	assert_int_equal(to, ORD_REOPENED);
	assert_true(sla_transition(ORD_REOPENED, ACT_DISPATCH, &to));
	assert_false(sla_transition(ORD_CLOSED, ACT_CALLBACK_CLOSE, &to));
	assert_false(sla_transition(ORD_DECLINED, ACT_DISPATCH, &to));
	assert_false(sla_transition((enum order_state)99, ACT_DISPATCH, &to));
	assert_true(sla_state_open(ORD_REOPENED));
	assert_false(sla_state_open(ORD_CLOSED));
	assert_true(sla_state_on_device(ORD_ARRIVED));
	assert_false(sla_state_on_device(ORD_COMPLETED));
}

static void
test_names(void **state)
{
	enum order_state s;

	(void)state;
	for (int i = 0; i < ORD_NSTATES; i++) {
		assert_int_equal(order_state_parse(order_state_name((enum order_state)i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(order_state_parse("bogus", &s), -1);
	assert_string_equal(sla_category_name(6), "电能表故障");
	assert_string_equal(sla_category_name(0), "");
	assert_string_equal(sla_stage_name(SLA_CALLBACK), "callback");
}

static void
test_invariants(void **state)
{
	struct order o;

	(void)state;
	mk(&o, 2, MAPS_ZONE_URBAN);
	assert_true(sla_order_valid(&o));
	o.state = ORD_DISPATCHED;		/* no crew, no dispatch time */
	assert_false(sla_order_valid(&o));
	dispatch(&o, T0);
	assert_true(sla_order_valid(&o));
	o.state = ORD_COMPLETED;		/* no completion times */
	assert_false(sla_order_valid(&o));
	complete(&o, T0 + HOUR, T0 + HOUR);
	assert_true(sla_order_valid(&o));
}

static const struct sla_limits regulation = {
	.name = "default", .answer_s = 12, .record_repair_s = 180, .record_other_s = 300,
	.review_s = 180, .review_other_s = 300, .arrive_urban_min = 60,
	.arrive_rural_min = 120, .arrive_remote_min = 240, .complete_h = 12,
	.complete_meter_h = 24, .consult_wd = 1, .complaint_wd = 10, .appeal_wd = 3,
	.install_wd = 5, .callback_min = 10, .archive_min = 60, .warn_pct = 80,
};

/* Every type: which stages apply, and the answer / record / review limits. */
static void
test_types_table(void **state)
{
	static const struct {
		enum order_type t;
		int cat, record_s, review_s, wd, callback;
	} cases[] = {
		{ TYPE_REPAIR, 2, 180, 180, 0, 10 },
		{ TYPE_CONSULTATION, 9, 300, 300, 1, 10 },
		{ TYPE_QUERY, 15, 300, 0, 0, 0 },
		{ TYPE_COMPLAINT, 20, 300, 300, 10, 10 },
		{ TYPE_APPEAL, 36, 300, 300, 3, 10 },
		{ TYPE_REPORT, 40, 300, 300, 10, 10 },
		{ TYPE_SUGGESTION, 41, 300, 300, 3, 10 },
		{ TYPE_OPINION, 42, 300, 300, 3, 10 },
		{ TYPE_PRAISE, 43, 300, 300, 3, 10 },
		{ TYPE_INSTALLATION, 44, 300, 300, 5, 10 },
	};
	struct vclock vc;
	struct sla_result r[SLA_NSTAGES];
	struct order o;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vclock_init(&vc, T0);
		memset(&o, 0, sizeof(o));
		o.type = cases[i].t;
		o.category = cases[i].cat;
		o.state = ORD_RECORDED;
		o.created_ms = T0;
		sla_profile_for(&regulation, o.type, o.category, MAPS_ZONE_URBAN, &o.lim);
		assert_int_equal(o.lim.record_s, cases[i].record_s);
		assert_int_equal(o.lim.review_s, cases[i].review_s);
		assert_int_equal(o.lim.handle_wd, cases[i].wd);
		assert_int_equal(o.lim.callback_min, cases[i].callback);
		assert_int_equal(o.lim.arrive_min, cases[i].t == TYPE_REPAIR ? 60 : 0);
		/* No ring / hang-up times given: those stages are n/a. */
		sla_eval(&o, &vc.clock, r);
		assert_int_equal(r[SLA_ANSWER].verdict, SLA_NA);
		assert_int_equal(r[SLA_RECORD].verdict, SLA_NA);
		/* Answered after 12 s: met; 13 s: breached. Recorded at the limit: met. */
		o.ring_ms = T0 - 60000;
		o.answered_ms = o.ring_ms + 12000;
		o.call_ended_ms = T0 - cases[i].record_s * 1000LL;
		sla_eval(&o, &vc.clock, r);
		assert_int_equal(r[SLA_ANSWER].verdict, SLA_MET);
		assert_int_equal(r[SLA_RECORD].verdict, SLA_MET);
		o.answered_ms += 1000;
		o.call_ended_ms -= 1000;
		sla_eval(&o, &vc.clock, r);
		assert_int_equal(r[SLA_ANSWER].verdict, SLA_BREACHED);
		assert_int_equal(r[SLA_RECORD].verdict, SLA_BREACHED);
		assert_int_equal(r[SLA_REVIEW].verdict, cases[i].review_s ? SLA_PENDING : SLA_NA);
		assert_int_equal(r[SLA_HANDLING].verdict, cases[i].wd ? SLA_PENDING : SLA_NA);
		assert_int_equal(r[SLA_ARRIVAL].verdict,
		    cases[i].t == TYPE_REPAIR ? SLA_PENDING : SLA_NA);
		/* The review warns at 80 % of its time, then breaches. */
		if (cases[i].review_s) {
			assert_int_equal(r[SLA_REVIEW].warn_ms, T0 + cases[i].review_s * 800LL);
			assert_int_equal(sla_next_due(r, 0, NULL), T0 + cases[i].review_s * 800LL);
			assert_int_equal(sla_next_due(r, 1u << SLA_REVIEW, NULL),
			    T0 + cases[i].review_s * 1000LL);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_table),
		cmocka_unit_test(test_profile_zones),
		cmocka_unit_test(test_review),
		cmocka_unit_test(test_arrival_zones),
		cmocka_unit_test(test_completion),
		cmocka_unit_test(test_completion_without_arrival),
		cmocka_unit_test(test_callback_from_receipt),
		cmocka_unit_test(test_declined_na),
		cmocka_unit_test(test_next_due),
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
