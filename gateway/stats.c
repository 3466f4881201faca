/*
 * stats.c: SLA compliance statistics over a period (第九条: the centre keeps
 * statistics of its operations; the managers read them).
 *
 * For the orders recorded in [from, to) it recomputes every stage's verdict
 * with sla_eval (so a figure is never a stale stored verdict), groups the
 * orders by business type, category, zone, branch, crew or shift, and
 * reports per group: on-time arrival rate, average and p90 arrival minutes,
 * completion within its limit (12 h / 24 h), callbacks within 10 min and the
 * callback rate (target 100 %), calls answered within 12 s, department
 * results within their working days, and the breaches. A rate counts only
 * the judged stages (met or breached); pending and n/a stages are not in it.
 *
 * It reads the store and builds JSON; it writes nothing. The report's rows
 * as text (stats_report_row) and as CSV (stats_report_csv) are made here
 * once, for GET /api/v1/stats?format=csv and `linecrew report`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "gateway.h"
#include "grow.h"
#include "log.h"

#define STATS_GROUPS_MAX	4096	/* distinct keys in one report */
#define STATS_KEY_MAX		128

struct counter {
	int	judged, met;
};

struct group {
	char		key[STATS_KEY_MAX];
	char		label[STATS_KEY_MAX];
	int		orders;
	struct counter	answer, arrival, completion, handling, callback;
	int		callback_due, callback_done;
	int		breaches;
	double	       *arr_min;		/* arrival minutes, for average and p90 */
	int		narr;
	size_t		caparr;
};

struct report {
	struct gw      *gw;
	enum stats_key	key;
	struct group   *g;
	int		n;
	size_t		cap;
	struct group	total;
	struct crew	crew;			/* the last crew looked up (branch) */
	int		failed;
};

static const char *const key_names[STATS_NKEYS] = {
	"type", "category", "zone", "branch", "crew", "shift"
};

const char *
stats_key_name(enum stats_key k)
{
	return (unsigned)k < STATS_NKEYS ? key_names[k] : "unknown";
}

int
stats_key_parse(const char *s, enum stats_key *out)
{
	for (int i = 0; i < STATS_NKEYS; i++)
		if (strcmp(s, key_names[i]) == 0) {
			*out = (enum stats_key)i;
			return 0;
		}
	return -1;
}

static void
count(struct counter *c, const struct sla_result *r)
{
	if (r->verdict == SLA_MET || r->verdict == SLA_BREACHED) {
		c->judged++;
		c->met += r->verdict == SLA_MET;
	}
}

static int
add_minutes(struct group *g, double m)
{
	if (grow(&g->arr_min, &g->caparr, (size_t)g->narr + 1, sizeof(*g->arr_min), 32) == -1)
		return -1;
	g->arr_min[g->narr++] = m;
	return 0;
}

static int
accumulate(struct group *g, const struct sla_result r[SLA_NSTAGES])
{
	g->orders++;
	count(&g->answer, &r[SLA_ANSWER]);
	count(&g->arrival, &r[SLA_ARRIVAL]);
	count(&g->completion, &r[SLA_COMPLETION]);
	count(&g->handling, &r[SLA_HANDLING]);
	count(&g->callback, &r[SLA_CALLBACK]);
	if (r[SLA_CALLBACK].start_ms) {
		g->callback_due++;
		g->callback_done += r[SLA_CALLBACK].done_ms != 0;
	}
	for (int i = 0; i < SLA_NSTAGES; i++)
		g->breaches += r[i].verdict == SLA_BREACHED;
	if (r[SLA_ARRIVAL].done_ms && r[SLA_ARRIVAL].start_ms)
		return add_minutes(g, (double)(r[SLA_ARRIVAL].done_ms -
		    r[SLA_ARRIVAL].start_ms) / 60000.0);
	return 0;
}

/* The group key and label of o. 0 / -1 (store error). */
static int
group_key(struct report *rp, const struct order *o, char *key, char *label)
{
	char b[CLOCK_FMT_MAX];
	int rc;

	switch (rp->key) {
	case STATS_BY_CATEGORY:
		snprintf(key, STATS_KEY_MAX, "%d", o->category);
		snprintf(label, STATS_KEY_MAX, "%s", sla_category_name(o->category));
		break;
	case STATS_BY_ZONE:
		snprintf(key, STATS_KEY_MAX, "%s", maps_zone_name(o->zone));
		snprintf(label, STATS_KEY_MAX, "%s", o->type == TYPE_REPAIR ? "" : "(no site)");
		break;
	case STATS_BY_CREW:
		snprintf(key, STATS_KEY_MAX, "%s", o->crew[0] ? o->crew : "-");
		label[0] = '\0';
		break;
	case STATS_BY_BRANCH:
		if (o->crew[0] == '\0') {
			snprintf(key, STATS_KEY_MAX, "-");
			snprintf(label, STATS_KEY_MAX, "no crew");
			break;
		}
		if (strcmp(rp->crew.id, o->crew) != 0) {
			if ((rc = store_crew_get(rp->gw->store, o->crew, &rp->crew)) == -1)
				return -1;
			if (rc == 0) {
				memset(&rp->crew, 0, sizeof(rp->crew));
				snprintf(rp->crew.id, sizeof(rp->crew.id), "%s", o->crew);
			}
		}
		snprintf(key, STATS_KEY_MAX, "%s", rp->crew.branch[0] ? rp->crew.branch : "-");
		label[0] = '\0';
		break;
	case STATS_BY_SHIFT:
		clock_fmt_local(o->shift_ms, b, sizeof(b));
		snprintf(key, STATS_KEY_MAX, "%lld", (long long)o->shift_ms);
		snprintf(label, STATS_KEY_MAX, "%.16s", b);
		break;
	case STATS_BY_TYPE:
	default:
		snprintf(key, STATS_KEY_MAX, "%s", taxonomy_type_name(o->type));
		snprintf(label, STATS_KEY_MAX, "%s", taxonomy_type_zh(o->type));
		break;
	}
	return 0;
}

static int
one_order(const struct order *o, void *arg)
{
	struct report *rp = arg;
	struct sla_result r[SLA_NSTAGES];
	char key[STATS_KEY_MAX], label[STATS_KEY_MAX];
	struct group *g = NULL;

	if (group_key(rp, o, key, label) == -1)
		goto fail;
	for (int i = 0; i < rp->n; i++)
		if (strcmp(rp->g[i].key, key) == 0) {
			g = &rp->g[i];
			break;
		}
	if (g == NULL) {
		if (rp->n == STATS_GROUPS_MAX)
			goto fail;
		if (grow(&rp->g, &rp->cap, (size_t)rp->n + 1, sizeof(*rp->g), 16) == -1)
			goto fail;
		g = &rp->g[rp->n++];
		memset(g, 0, sizeof(*g));
		memcpy(g->key, key, sizeof(g->key));
		memcpy(g->label, label, sizeof(g->label));
	}
	sla_eval(o, rp->gw->clock, r);
	if (accumulate(g, r) == -1 || accumulate(&rp->total, r) == -1)
		goto fail;
	return 0;
fail:
	rp->failed = 1;
	return 1;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
rate(cJSON *j, const char *name, int part, int whole)
{
	if (whole == 0)
		cJSON_AddNullToObject(j, name);
	else
		cJSON_AddNumberToObject(j, name, (double)part / whole);
}

static cJSON *
group_json(struct group *g, enum stats_key key)
{
	cJSON *j = cJSON_CreateObject();
	double sum = 0;

	if (j == NULL)
		return NULL;
	if (key == STATS_BY_CATEGORY || key == STATS_BY_SHIFT)
		cJSON_AddNumberToObject(j, "key", strtod(g->key, NULL));
	else
		cJSON_AddStringToObject(j, "key", g->key);
	cJSON_AddStringToObject(j, "label", g->label);
	cJSON_AddNumberToObject(j, "orders", g->orders);
	cJSON_AddNumberToObject(j, "arrivals_judged", g->arrival.judged);
	rate(j, "arrival_on_time_rate", g->arrival.met, g->arrival.judged);
	if (g->narr > 0)	/* qsort wants a valid pointer even for no elements */
		qsort(g->arr_min, (size_t)g->narr, sizeof(double), cmpd);
	for (int i = 0; i < g->narr; i++)
		sum += g->arr_min[i];
	if (g->narr) {
		/* Nearest rank: the smallest value with >= 90 % at or below it. */
		int k = (9 * g->narr + 9) / 10;

		cJSON_AddNumberToObject(j, "arrival_avg_min", sum / g->narr);
		cJSON_AddNumberToObject(j, "arrival_p90_min", g->arr_min[k - 1]);
	} else {
		cJSON_AddNullToObject(j, "arrival_avg_min");
		cJSON_AddNullToObject(j, "arrival_p90_min");
	}
	cJSON_AddNumberToObject(j, "completions_judged", g->completion.judged);
	rate(j, "completion_in_limit_rate", g->completion.met, g->completion.judged);
	cJSON_AddNumberToObject(j, "handling_judged", g->handling.judged);
	rate(j, "handling_in_limit_rate", g->handling.met, g->handling.judged);
	cJSON_AddNumberToObject(j, "callbacks_due", g->callback_due);
	cJSON_AddNumberToObject(j, "callbacks_done", g->callback_done);
	rate(j, "callback_rate", g->callback_done, g->callback_due);
	rate(j, "callback_in_10min_rate", g->callback.met, g->callback.judged);
	cJSON_AddNumberToObject(j, "answers_judged", g->answer.judged);
	rate(j, "answered_in_12s_rate", g->answer.met, g->answer.judged);
	cJSON_AddNumberToObject(j, "breaches", g->breaches);
	return j;
}

static int
cmpg(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->key, ((const struct group *)b)->key);
}

int
stats_report(struct gw *gw, int64_t from_ms, int64_t to_ms, enum stats_key key, cJSON **out)
{
	struct report rp;
	cJSON *j = NULL, *arr, *t;
	int rc = -1;

	*out = NULL;
	memset(&rp, 0, sizeof(rp));
	rp.gw = gw;
	rp.key = key;
	snprintf(rp.total.key, sizeof(rp.total.key), "total");
	if (store_order_created(gw->store, from_ms, to_ms, one_order, &rp) == -1)
		goto out;
	if (rp.failed) {
		log_warnx("stats: out of memory, too many groups or a store error");
		goto out;
	}
	if ((key == STATS_BY_TYPE || key == STATS_BY_ZONE || key == STATS_BY_CREW ||
	    key == STATS_BY_BRANCH) && rp.n > 0)
		qsort(rp.g, (size_t)rp.n, sizeof(*rp.g), cmpg);
	if ((j = cJSON_CreateObject()) == NULL)
		goto out;
	cJSON_AddNumberToObject(j, "from_ms", (double)from_ms);
	cJSON_AddNumberToObject(j, "to_ms", (double)to_ms);
	cJSON_AddStringToObject(j, "by", stats_key_name(key));
	cJSON_AddNumberToObject(j, "as_of_ms", (double)clock_wall(gw->clock));
	if ((arr = cJSON_AddArrayToObject(j, "groups")) == NULL)
		goto out;
	for (int i = 0; i < rp.n; i++) {
		cJSON *g = group_json(&rp.g[i], key);

		if (g == NULL)
			goto out;
		cJSON_AddItemToArray(arr, g);
	}
	if ((t = group_json(&rp.total, STATS_BY_TYPE)) == NULL)
		goto out;
	cJSON_AddItemToObject(j, "total", t);
	*out = j;
	j = NULL;
	rc = 0;
out:
	cJSON_Delete(j);
	for (int i = 0; i < rp.n; i++)
		free(rp.g[i].arr_min);
	free(rp.g);
	free(rp.total.arr_min);
	return rc;
}

/* A rate or a figure with one decimal, "-" when nothing was judged. */
static void
fmt_num(char *buf, size_t cap, const cJSON *g, const char *k, double scale)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, k);

	if (cJSON_IsNumber(v))
		snprintf(buf, cap, "%.1f", scale * v->valuedouble);
	else
		snprintf(buf, cap, "-");
}

static void
fmt_count(char *buf, size_t cap, const cJSON *g, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, k);

	snprintf(buf, cap, "%lld", cJSON_IsNumber(v) ? (long long)v->valuedouble : 0LL);
}

void
stats_report_row(const cJSON *g, const char *key, char k[STATS_CELL_MAX],
    char f[STATS_COLS][STATS_CELL_MAX])
{
	static const char *const rates[] = { "completion_in_limit_rate",
		"handling_in_limit_rate", "callback_rate", "callback_in_10min_rate",
		"answered_in_12s_rate" };
	const cJSON *kv = cJSON_GetObjectItemCaseSensitive(g, "key");

	if (key)
		snprintf(k, STATS_CELL_MAX, "%s", key);
	else if (cJSON_IsString(kv))
		snprintf(k, STATS_CELL_MAX, "%s", kv->valuestring);
	else
		snprintf(k, STATS_CELL_MAX, "%.0f", cJSON_GetNumberValue(kv));
	fmt_count(f[0], STATS_CELL_MAX, g, "orders");
	fmt_num(f[1], STATS_CELL_MAX, g, "arrival_on_time_rate", 100);
	fmt_num(f[2], STATS_CELL_MAX, g, "arrival_avg_min", 1);
	fmt_num(f[3], STATS_CELL_MAX, g, "arrival_p90_min", 1);
	for (int i = 0; i < 5; i++)
		fmt_num(f[4 + i], STATS_CELL_MAX, g, rates[i], 100);
	fmt_count(f[9], STATS_CELL_MAX, g, "breaches");
}

/* CSV field: quoted when it holds a comma, quote or line break. */
static void
csv_field(struct maps_buf *b, const char *s, int last)
{
	if (strpbrk(s, ",\"\n\r") == NULL)
		maps_buf_put(b, s, strlen(s));
	else {
		maps_buf_put(b, "\"", 1);
		for (; *s; s++) {
			if (*s == '"')
				maps_buf_put(b, "\"", 1);
			maps_buf_put(b, s, 1);
		}
		maps_buf_put(b, "\"", 1);
	}
	maps_buf_put(b, last ? "\n" : ",", 1);
}

static void
csv_row(struct maps_buf *b, const cJSON *g, const char *key)
{
	const cJSON *lb = cJSON_GetObjectItemCaseSensitive(g, "label");
	char f[STATS_COLS][STATS_CELL_MAX], k[STATS_CELL_MAX];

	stats_report_row(g, key, k, f);
	csv_field(b, k, 0);
	csv_field(b, cJSON_IsString(lb) ? lb->valuestring : "", 0);
	for (int i = 0; i < STATS_COLS; i++)
		csv_field(b, f[i], i == STATS_COLS - 1);
}

int
stats_report_csv(const cJSON *report, const char *by, struct maps_buf *out)
{
	const cJSON *g;

	maps_buf_printf(out, "%s,label,orders,arrival_on_time_pct,arrival_avg_min,"
	    "arrival_p90_min,completion_in_limit_pct,handling_in_limit_pct,callback_rate_pct,"
	    "callback_in_10min_pct,answered_in_12s_pct,breaches\n", by);
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(report, "groups"))
		csv_row(out, g, NULL);
	csv_row(out, cJSON_GetObjectItemCaseSensitive(report, "total"), "total");
	return out->full ? -1 : 0;
}
