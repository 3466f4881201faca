/*
 * metrics.c: GET /metrics in the Prometheus text format 0.0.4 (README
 * "Metrics").
 *
 * Three histograms are kept in memory since start: HTTP request duration by
 * route class (http.c's dispatch), device event ingest (from the MQTT message's
 * arrival to the end of its handling) and dispatch push -> delivered ack (the
 * outbox row's creation to the device's delivered event), observed by
 * mqtt.c through metrics_event and by order.c, which has the push's row in
 * hand when it acks it, through metrics_push_acked. The database's figures (orders by
 * state, breaches, devices, outbox and journal backlog) are read by
 * store_gauges at most every METRICS_CACHE_MS, so a scraper cannot load the
 * store. Process figures come from /proc/self. Nothing here changes state
 * outside this file; a failed read shows as a missing family, never an error
 * of the daemon.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"

#define HIST_NB		12

/* Bucket bounds in seconds, shared by the three histograms: 1 ms .. 60 s. */
static const double bounds[HIST_NB] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
	0.5, 1, 5, 60 };

struct hist {
	uint64_t	counts[HIST_NB];	/* not cumulative; summed when shown */
	uint64_t	n;
	double		sum;
};

struct gw_metrics {
	struct hist		http[MR_N];
	struct hist		ingest, ack;
	struct store_gauges	g;
	int			g_ok;
	int64_t			g_at;		/* monotonic ms of the last read */
};

static const char *const route_names[MR_N] = { "api_read", "api_write", "stream", "page",
	"static", "other" };

struct gw_metrics *
metrics_new(void)
{
	return calloc(1, sizeof(struct gw_metrics));
}

void
metrics_free(struct gw_metrics *m)
{
	free(m);
}

enum metrics_route
metrics_route_of(const char *method, const char *url)
{
	if (strcmp(url, "/api/v1/stream") == 0)
		return MR_STREAM;
	if (strncmp(url, "/api/", 5) == 0)
		return strcmp(method, "GET") == 0 ? MR_API_READ : MR_API_WRITE;
	if (strncmp(url, "/static/", 8) == 0)
		return MR_STATIC;
	if (strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0)
		return MR_OTHER;
	return MR_PAGE;
}

static void
observe(struct hist *h, double s)
{
	int i;

	if (!(s >= 0))
		s = 0;
	for (i = 0; i < HIST_NB && s > bounds[i]; i++)
		;
	if (i < HIST_NB)
		h->counts[i]++;
	h->n++;
	h->sum += s;
}

void
metrics_http(struct gw_metrics *m, enum metrics_route r, double seconds)
{
	if (m != NULL && r < MR_N)
		observe(&m->http[r], seconds);
}

void
metrics_event(struct gw *gw, int64_t rx_ms)
{
	if (gw == NULL || gw->metrics == NULL)
		return;
	observe(&gw->metrics->ingest, (double)(clock_wall(gw->clock) - rx_ms) / 1000.0);
}

void
metrics_push_acked(struct gw *gw, int64_t ms)
{
	if (gw != NULL && gw->metrics != NULL)
		observe(&gw->metrics->ack, (double)ms / 1000.0);
}

int
metrics_label(struct maps_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			maps_buf_put(b, "\\\\", 2);
		else if (*v == '"')
			maps_buf_put(b, "\\\"", 2);
		else if (*v == '\n')
			maps_buf_put(b, "\\n", 2);
		else
			maps_buf_put(b, v, 1);
	}
	return b->full ? -1 : 0;
}

static void
family(struct maps_buf *b, const char *name, const char *type, const char *help)
{
	maps_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's series; label "" for none, else `key="value"`. */
static void
hist_lines(struct maps_buf *b, const char *name, const char *key, const char *val,
    const struct hist *h)
{
	uint64_t cum = 0;

	for (int i = 0; i <= HIST_NB; i++) {
		cum += i < HIST_NB ? h->counts[i] : 0;
		maps_buf_printf(b, "%s_bucket{", name);
		if (key[0]) {
			maps_buf_printf(b, "%s=\"", key);
			metrics_label(b, val);
			maps_buf_put(b, "\",", 2);
		}
		if (i < HIST_NB)
			maps_buf_printf(b, "le=\"%g\"} %llu\n", bounds[i], (unsigned long long)cum);
		else
			maps_buf_printf(b, "le=\"+Inf\"} %llu\n", (unsigned long long)h->n);
	}
	maps_buf_printf(b, "%s_sum", name);
	if (key[0]) {
		maps_buf_printf(b, "{%s=\"", key);
		metrics_label(b, val);
		maps_buf_put(b, "\"}", 2);
	}
	maps_buf_printf(b, " %.6f\n%s_count", h->sum, name);
	if (key[0]) {
		maps_buf_printf(b, "{%s=\"", key);
		metrics_label(b, val);
		maps_buf_put(b, "\"}", 2);
	}
	maps_buf_printf(b, " %llu\n", (unsigned long long)h->n);
}

static void
process_lines(struct maps_buf *b)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size, rss;
	DIR *d;
	int fds = 0;

	if (f != NULL) {
		if (fscanf(f, "%lu %lu", &size, &rss) == 2) {
			family(b, "process_resident_memory_bytes", "gauge",
			    "Resident memory size in bytes.");
			maps_buf_printf(b, "process_resident_memory_bytes %llu\n",
			    (unsigned long long)rss * (unsigned long long)sysconf(_SC_PAGESIZE));
		}
		fclose(f);
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		struct dirent *e;

		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				fds++;
		closedir(d);
		family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
		maps_buf_printf(b, "process_open_fds %d\n", fds - 1);	/* less the DIR's own */
	}
}

int
metrics_render(struct gw *gw, struct maps_buf *b)
{
	struct gw_metrics *m = gw->metrics;
	static struct gw_metrics none;
	int64_t now = clock_mono(clock_system());

	if (m == NULL)
		m = &none;	/* read-only zeros: a daemon without metrics still answers */
	if (m != &none && (!m->g_ok || now - m->g_at >= METRICS_CACHE_MS)) {
		m->g_ok = store_gauges(gw->store, &m->g) == 0;
		m->g_at = now;
	}
	if (m->g_ok) {
		const struct store_gauges *g = &m->g;

		family(b, "linecrew_orders", "gauge", "Orders by state.");
		for (int i = 0; i < ORD_NSTATES; i++)
			maps_buf_printf(b, "linecrew_orders{state=\"%s\"} %lld\n",
			    order_state_name((enum order_state)i), (long long)g->orders[i]);
		family(b, "linecrew_orders_open_breached", "gauge",
		    "Open orders with at least one breached deadline.");
		maps_buf_printf(b, "linecrew_orders_open_breached %lld\n",
		    (long long)g->open_breached);
		family(b, "linecrew_breached_orders", "gauge",
		    "Orders whose deadline of the stage was breached.");
		for (int i = 0; i < SLA_NSTAGES; i++)
			maps_buf_printf(b, "linecrew_breached_orders{stage=\"%s\"} %lld\n",
			    sla_stage_name((enum sla_stage)i), (long long)g->breached[i]);
		family(b, "linecrew_devices", "gauge", "Devices known to the gateway.");
		maps_buf_printf(b, "linecrew_devices %lld\n", (long long)g->devices_known);
		family(b, "linecrew_devices_online", "gauge", "Devices whose presence is online.");
		maps_buf_printf(b, "linecrew_devices_online %lld\n", (long long)g->devices_online);
		family(b, "linecrew_outbox_unacked", "gauge",
		    "Messages to devices not yet acknowledged by the device.");
		maps_buf_printf(b, "linecrew_outbox_unacked %lld\n", (long long)g->outbox_unacked);
		family(b, "linecrew_device_journal_backlog", "gauge",
		    "Events the units held at their last hello that the gateway has not stored.");
		maps_buf_printf(b, "linecrew_device_journal_backlog %lld\n",
		    (long long)g->journal_backlog);
	}
	family(b, "linecrew_mqtt_connected", "gauge", "1 when the broker connection is up.");
	maps_buf_printf(b, "linecrew_mqtt_connected %d\n",
	    gw->mqtt != NULL && mqtt_connected(gw->mqtt));
	family(b, "linecrew_sse_clients", "gauge", "Open live event streams.");
	maps_buf_printf(b, "linecrew_sse_clients %d\n", live_clients(gw->live));
	family(b, "linecrew_http_request_duration_seconds", "histogram",
	    "HTTP request handling time by route class.");
	for (int i = 0; i < MR_N; i++)
		hist_lines(b, "linecrew_http_request_duration_seconds", "route", route_names[i],
		    &m->http[i]);
	family(b, "linecrew_event_ingest_seconds", "histogram",
	    "Device event: from the MQTT message's arrival to the end of its handling.");
	hist_lines(b, "linecrew_event_ingest_seconds", "", "", &m->ingest);
	family(b, "linecrew_dispatch_ack_seconds", "histogram",
	    "Order push created to the device's delivered event received.");
	hist_lines(b, "linecrew_dispatch_ack_seconds", "", "", &m->ack);
	process_lines(b);
	return b->full ? -1 : 0;
}
