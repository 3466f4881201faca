/*
 * test_gw_calendar.c: working days, shifts (gateway/calendar.c) and the
 * taxonomy (gateway/taxonomy.c).
 *
 * The calendar is the project's own gateway/data/calendar.conf. Cases: the
 * 2026 Spring Festival with its make-up Saturdays (the example of
 * ../shared/data/calendar/README.md), 1 and 3 working days across a weekend
 * and a holiday, no calendar = Monday..Friday, bad calendar lines refused
 * naming the line, shifts across midnight, the 44 categories and their types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "../../gateway/gateway.h"

#define H	3600000LL
#define DAY	(24 * H)

/* Local (Asia/Shanghai) y-m-d hh:mm in UTC ms. */
static int64_t
local(int y, unsigned m, unsigned d, int hh, int mm)
{
	return clock_days_from_civil(y, m, d) * DAY + hh * H + mm * 60000LL -
	    CLOCK_LOCAL_OFFSET_MS;
}

static struct calendar *
load(void)
{
	struct calendar *c = NULL;
	char err[256] = "";

	if (calendar_load("gateway/data/calendar.conf", &c, err, sizeof(err)) != 0)
		fail_msg("calendar: %s", err);
	return c;
}

static void
test_spring_festival_2026(void **state)
{
	struct calendar *c = load();

	(void)state;
	assert_true(calendar_covers(c, 2026));
	assert_false(calendar_covers(c, 2027));
	/* Sat 14 Feb is a make-up working day; 15..23 Feb off; Sat 28 Feb worked. */
	assert_true(calendar_is_workday(c, clock_days_from_civil(2026, 2, 14)));
	for (unsigned d = 15; d <= 23; d++)
		assert_false(calendar_is_workday(c, clock_days_from_civil(2026, 2, d)));
	assert_true(calendar_is_workday(c, clock_days_from_civil(2026, 2, 24)));
	assert_true(calendar_is_workday(c, clock_days_from_civil(2026, 2, 28)));
	assert_false(calendar_is_workday(c, clock_days_from_civil(2026, 3, 1)));
	/* A complaint recorded Fri 13 Feb 16:00, 10 working days: 14, 24, 25, 26,
	 * 27, 28 Feb, 2, 3, 4, 5 Mar: due at the end of Thu 5 Mar. */
	assert_int_equal(calendar_add_workdays(c, local(2026, 2, 13, 16, 0), 10),
	    local(2026, 3, 6, 0, 0));
	/* 1 working day from Fri 13 Feb: Sat 14 (make-up). */
	assert_int_equal(calendar_add_workdays(c, local(2026, 2, 13, 9, 0), 1),
	    local(2026, 2, 15, 0, 0));
	/* 3 working days from Sat 14 Feb: 24, 25, 26 Feb. */
	assert_int_equal(calendar_add_workdays(c, local(2026, 2, 14, 9, 0), 3),
	    local(2026, 2, 27, 0, 0));
	/* Without a calendar the holidays count: Mon 16 Feb is day 1. */
	assert_int_equal(calendar_add_workdays(NULL, local(2026, 2, 13, 16, 0), 1),
	    local(2026, 2, 17, 0, 0));
	/* National Day 2026 (1..7 Oct off): Wed 30 Sep + 1 = Thu 8 Oct; Fri 9
	 * Oct + 1 = Sat 10 Oct (make-up). */
	assert_int_equal(calendar_add_workdays(c, local(2026, 9, 30, 12, 0), 1),
	    local(2026, 10, 9, 0, 0));
	assert_int_equal(calendar_add_workdays(c, local(2026, 10, 9, 12, 0), 1),
	    local(2026, 10, 11, 0, 0));
	/* New Year 2025 is one day: Tue 31 Dec 2024 + 1 = Thu 2 Jan. */
	assert_int_equal(calendar_add_workdays(c, local(2024, 12, 31, 12, 0), 1),
	    local(2025, 1, 3, 0, 0));
	calendar_free(c);
}

static void
bad_file(const char *text, const char *want)
{
	char path[] = "/tmp/test_gw_calendar.XXXXXX", err[256] = "";
	struct calendar *c = NULL;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	assert_int_equal(calendar_load(path, &c, err, sizeof(err)), -1);
	assert_null(c);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	unlink(path);
}

static void
test_bad_calendar(void **state)
{
	(void)state;
	bad_file("year 2026\nholiday 2026-02-30\n", ":2: holiday: expects a date");
	bad_file("workday 2026-02-16\n", ":1: workday: 2026-02-16 is not a Saturday");
	bad_file("year 2026\nvacation 2026-02-16\n", ":2: unknown keyword");
	bad_file("holiday 2026-02-20 2026-02-10\n", "range");
	bad_file("year 26x\n", ":1: year");
}

static void
test_shifts_midnight(void **state)
{
	struct gw_shifts three = { 3, { 0, 8 * 60, 16 * 60 } };
	struct gw_shifts two = { 2, { 8 * 60, 20 * 60 } };
	int64_t s, e;

	(void)state;
	/* Three shifts: 23:59 is in the 16:00 shift, which ends at midnight. */
	calendar_shift(&three, local(2026, 2, 14, 23, 59), &s, &e);
	assert_int_equal(s, local(2026, 2, 14, 16, 0));
	assert_int_equal(e, local(2026, 2, 15, 0, 0));
	calendar_shift(&three, local(2026, 2, 15, 0, 0), &s, &e);
	assert_int_equal(s, local(2026, 2, 15, 0, 0));
	assert_int_equal(e, local(2026, 2, 15, 8, 0));
	/* Two 12 h shifts: 01:00 belongs to the night shift begun at 20:00 the day before. */
	calendar_shift(&two, local(2026, 2, 15, 1, 0), &s, &e);
	assert_int_equal(s, local(2026, 2, 14, 20, 0));
	assert_int_equal(e, local(2026, 2, 15, 8, 0));
	calendar_shift(&two, local(2026, 2, 15, 19, 59), &s, &e);
	assert_int_equal(s, local(2026, 2, 15, 8, 0));
	assert_int_equal(e, local(2026, 2, 15, 20, 0));
	/* No shifts: the local day. */
	calendar_shift(NULL, local(2026, 2, 15, 1, 0), &s, &e);
	assert_int_equal(s, local(2026, 2, 15, 0, 0));
	assert_int_equal(e, local(2026, 2, 16, 0, 0));
}

static void
test_taxonomy(void **state)
{
	static const struct { int id; enum order_type t; const char *zh; } want[] = {
		{ 1, TYPE_REPAIR, "外力破坏" }, { 6, TYPE_REPAIR, "电能表故障" },
		{ 7, TYPE_REPAIR, "客户内部原因故障" }, { 8, TYPE_CONSULTATION, "计划停电" },
		{ 14, TYPE_CONSULTATION, "故障报修处理进度" }, { 15, TYPE_QUERY, "电量、电费查询" },
		{ 17, TYPE_QUERY, "其它" }, { 18, TYPE_COMPLAINT, "线路频繁停电" },
		{ 30, TYPE_COMPLAINT, "行风问题" }, { 31, TYPE_APPEAL, "电费通知单内容咨询" },
		{ 39, TYPE_APPEAL, "其它" }, { 40, TYPE_REPORT, "举报" },
		{ 41, TYPE_SUGGESTION, "建议" }, { 42, TYPE_OPINION, "意见" },
		{ 43, TYPE_PRAISE, "表扬" }, { 44, TYPE_INSTALLATION, "报装预约" },
	};
	int per_type[TYPE_N] = { 0 };
	enum order_type t;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct tx_category *c = taxonomy_category(want[i].id);

		assert_non_null(c);
		assert_int_equal(c->id, want[i].id);
		assert_int_equal(c->type, want[i].t);
		assert_string_equal(c->zh, want[i].zh);
		assert_true(taxonomy_matches(want[i].t, want[i].id));
	}
	for (int id = 1; id <= TAXONOMY_NCATEGORIES; id++)
		per_type[taxonomy_category(id)->type]++;
	assert_int_equal(per_type[TYPE_REPAIR], 7);
	assert_int_equal(per_type[TYPE_CONSULTATION], 7);
	assert_int_equal(per_type[TYPE_QUERY], 3);
	assert_int_equal(per_type[TYPE_COMPLAINT], 13);
	assert_int_equal(per_type[TYPE_APPEAL], 9);
	assert_null(taxonomy_category(0));
	assert_null(taxonomy_category(45));
	assert_false(taxonomy_matches(TYPE_REPAIR, 10));
	assert_int_equal(taxonomy_category(28)->grade, GRADE_GENERAL);
	assert_int_equal(taxonomy_category(29)->grade, GRADE_IMPORTANT);
	assert_int_equal(taxonomy_category(2)->grade, GRADE_NONE);
	assert_int_equal(taxonomy_type_parse("installation", &t), 0);
	assert_int_equal(t, TYPE_INSTALLATION);
	assert_int_equal(taxonomy_type_parse("Repair", &t), -1);
	assert_string_equal(taxonomy_type_zh(TYPE_APPEAL), "诉求");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spring_festival_2026),
		cmocka_unit_test(test_bad_calendar),
		cmocka_unit_test(test_shifts_midnight),
		cmocka_unit_test(test_taxonomy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
