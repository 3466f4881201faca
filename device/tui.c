/*
 * tui.c: linecrew-screen, the crew's terminal screen (ncursesw), started by
 * `linecrew-device screen` (which reads device.conf and execs it with the
 * command socket's path).
 *
 * One order at a time, in large plain words: its address, the customer to
 * call, the symptom, how far and which way the site is, the time left to the
 * arrival and the completion deadlines; a line saying whether everything the
 * unit recorded has reached the gateway; the GPS state. Single keys act:
 *
 *     A accept   R arrived (by hand)   P progress   D delay   C complete
 *     N next order   Q quit
 *
 * R and C ask Y/N first (a glove can hit a key by accident); D asks for the
 * coded reason with one digit, then minutes to the new finish and, for
 * "other", a text. Every key press answers on the feedback line: what was
 * recorded and whether it already went to the gateway, or why nothing was.
 *
 * It is a client like the other commands: it talks to the running daemon over
 * the command socket (ctl_request), reads {"cmd":"status","json":true} once a
 * second while idle, and never opens the journal. The daemon does not know a
 * screen exists; closing the screen changes nothing on the unit.
 *
 * It is a program of its own so that the daemon, which runs all day on the
 * unit, does not map the curses libraries it never calls (README "Device
 * memory").
 */
#include <cJSON.h>
#include <curses.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "maps.h"

#define TUI_REFRESH_MS		1000	/* status poll while no key is pressed */
#define TUI_ORDERS_MAX		PROTO_OPEN_MAX
#define TUI_FEEDBACK_MAX	512
#define TUI_INPUT_MAX		PROTO_TEXT_MAX

struct tui {
	const char     *sock;
	char	       *ans;		/* CTL_ANSWER_MAX + 1 bytes */
	cJSON	       *st;		/* the last status, NULL when the daemon is away */
	char		down[256];	/* why there is no status */
	int		cur;		/* index among the open orders shown */
	char		fb[TUI_FEEDBACK_MAX];	/* feedback line 1 */
	char		fb2[TUI_FEEDBACK_MAX];	/* feedback line 2 */
	int		fb_bad;		/* the feedback is a refusal */
	int		color;
};

enum { C_OK = 1, C_BAD, C_WARN, C_HEAD };

/* ---- talking to the daemon ---- */

/* Send request object req (freed here). The answer is in t->ans. 0 / -1. */
static int
send_req(struct tui *t, cJSON *req)
{
	char *s = pj_print(req);
	int rc;

	cJSON_Delete(req);
	if (s == NULL)
		return -1;
	rc = ctl_request(t->sock, s, t->ans, CTL_ANSWER_MAX + 1, t->down, sizeof(t->down));
	free(s);
	return rc;
}

static void
poll_status(struct tui *t)
{
	cJSON *req = cJSON_CreateObject();

	cJSON_Delete(t->st);
	t->st = NULL;
	if (req == NULL)
		return;
	cJSON_AddStringToObject(req, "cmd", "status");
	cJSON_AddTrueToObject(req, "json");
	if (send_req(t, req) == -1)
		return;
	if (strncmp(t->ans, "ok\n", 3) != 0 || (t->st = cJSON_Parse(t->ans + 3)) == NULL)
		snprintf(t->down, sizeof(t->down), "the daemon gave no status");
}

/* Take the first two lines of an answer as feedback. */
static void
feedback_from(struct tui *t, const char *ans)
{
	const char *p = ans, *nl;
	char *dst[2] = { t->fb, t->fb2 };
	int i;

	t->fb[0] = t->fb2[0] = '\0';
	t->fb_bad = strncmp(ans, "ok\n", 3) != 0;
	if (!t->fb_bad)
		p += 3;
	else if (strncmp(p, "error: ", 7) == 0)
		p += 7;
	/* line 1: what happened; line 2: the event line (its id, and whether it
	 * went to the gateway or waits on the unit), else the next line */
	for (i = 0; i < 2 && *p; ) {
		while (*p == ' ')
			p++;
		nl = strchr(p, '\n');
		if (i == 0 || strncmp(p, "Event", 5) == 0 || strstr(ans, "  Event ") == NULL) {
			snprintf(dst[i], TUI_FEEDBACK_MAX, "%s%.*s", t->fb_bad && i == 0 ?
			    "NOT RECORDED: " : "", (int)(nl ? nl - p : (long)strlen(p)), p);
			i++;
		}
		p = nl ? nl + 1 : p + strlen(p);
	}
}

static void
act(struct tui *t, cJSON *req)
{
	if (send_req(t, req) == -1) {
		t->fb_bad = 1;
		snprintf(t->fb, sizeof(t->fb), "NOT RECORDED: %s", t->down);
		t->fb2[0] = '\0';
		return;
	}
	feedback_from(t, t->ans);
}

static cJSON *
order_req(const char *cmd, const char *id)
{
	cJSON *req = cJSON_CreateObject();

	if (req != NULL) {
		cJSON_AddStringToObject(req, "cmd", cmd);
		cJSON_AddStringToObject(req, "order", id);
	}
	return req;
}

/* ---- reading the status ---- */

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double
jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int
jbool(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const cJSON *
jobj(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsObject(v) ? v : NULL;
}

/* The open (not completed, not cancelled) orders of the status, oldest first. */
static int
open_orders(const struct tui *t, const cJSON **out, int max)
{
	const cJSON *arr, *o;
	int n = 0, i, total;

	if (t->st == NULL || !cJSON_IsArray(arr = cJSON_GetObjectItemCaseSensitive(t->st,
	    "orders")))
		return 0;
	total = cJSON_GetArraySize(arr);
	for (i = total - 1; i >= 0 && n < max; i--) {	/* the list is newest first */
		o = cJSON_GetArrayItem(arr, i);
		if (strcmp(jstr(o, "state"), "open") == 0 || strcmp(jstr(o, "state"), "arrived") == 0)
			out[n++] = o;
	}
	return n;
}

/* Initial bearing from (lat1, lon1) to (lat2, lon2), degrees from true north. */
static double
bearing_deg(double lat1, double lon1, double lat2, double lon2)
{
	double p1 = lat1 * M_PI / 180, p2 = lat2 * M_PI / 180;
	double dl = (lon2 - lon1) * M_PI / 180;
	double b = atan2(sin(dl) * cos(p2), cos(p1) * sin(p2) - sin(p1) * cos(p2) * cos(dl));

	return fmod(b * 180 / M_PI + 360, 360);
}

static const char *
compass(double deg)
{
	static const char *const pts[] = { "N", "NE", "E", "SE", "S", "SW", "W", "NW" };

	return pts[(int)floor(fmod(deg + 22.5, 360) / 45) % 8];
}

/* "in 42 min", "in 11 h 58 min", "LATE by 5 min" */
static void
time_left(int64_t due, int64_t now, char *buf, size_t cap)
{
	int64_t m = (due - now) / 60000;
	int late = due < now;

	if (late)
		m = (now - due) / 60000;
	if (m >= 60)
		snprintf(buf, cap, "%s%lld h %02lld min", late ? "LATE by " : "in ",
		    (long long)(m / 60), (long long)(m % 60));
	else
		snprintf(buf, cap, "%s%lld min", late ? "LATE by " : "in ", (long long)m);
}

/* ---- drawing ---- */

static void
tui_on(const struct tui *t, int pair, int extra)
{
	if (t->color)
		attron(COLOR_PAIR(pair));
	attron(extra);
}

static void
tui_off(const struct tui *t, int pair, int extra)
{
	if (t->color)
		attroff(COLOR_PAIR(pair));
	attroff(extra);
}

static void
label(int y, const char *l, const char *v)
{
	mvprintw(y, 1, "%-10s", l);
	attron(A_BOLD);
	mvprintw(y, 12, "%.*s", COLS > 14 ? COLS - 13 : 1, v);
	attroff(A_BOLD);
}

static void
draw(struct tui *t)
{
	const cJSON *ord[TUI_ORDERS_MAX], *o, *gps, *fix, *mq, *jn, *site;
	char buf[256], t1[CLOCK_FMT_MAX], left[64];
	int64_t now;
	int n, y = 3;

	erase();
	now = t->st ? (int64_t)jnum(t->st, "now_ms") : 0;
	tui_on(t, C_HEAD, A_BOLD | A_REVERSE);
	mvhline(0, 0, ' ', COLS);
	mvprintw(0, 1, "LINECREW  unit %s  %s", t->st ? jstr(t->st, "dev") : "?",
	    t->st ? clock_fmt_hms(now, t1, sizeof(t1)) : "--:--:--");
	tui_off(t, C_HEAD, A_BOLD | A_REVERSE);
	if (t->st == NULL) {
		tui_on(t, C_BAD, A_BOLD);
		mvprintw(2, 1, "UNIT DAEMON NOT ANSWERING: %s", t->down);
		tui_off(t, C_BAD, A_BOLD);
		mvprintw(4, 1, "Nothing can be recorded until it runs again.  [Q] quit");
		refresh();
		return;
	}
	mq = jobj(t->st, "mqtt");
	gps = jobj(t->st, "gps");
	jn = jobj(t->st, "journal");
	fix = gps ? jobj(gps, "fix") : NULL;

	/* links: gateway and GPS */
	if (mq && jbool(mq, "connected")) {
		tui_on(t, C_OK, A_BOLD);
		mvprintw(1, 1, "GATEWAY: CONNECTED");
		tui_off(t, C_OK, A_BOLD);
	} else {
		tui_on(t, C_BAD, A_BOLD);
		mvprintw(1, 1, "GATEWAY: NO NETWORK");
		tui_off(t, C_BAD, A_BOLD);
	}
	if (fix != NULL) {
		snprintf(buf, sizeof(buf), "GPS: %.0fD fix", jnum(fix, "mode"));
		if (isfinite(jnum(fix, "eph")))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " +-%.0f m",
			    jnum(fix, "eph"));
		tui_on(t, C_OK, A_BOLD);
	} else {
		snprintf(buf, sizeof(buf), "GPS: %s", gps && jbool(gps, "connected") ?
		    "NO FIX" : "NO RECEIVER");
		tui_on(t, C_WARN, A_BOLD);
	}
	mvprintw(1, 26, "%s", buf);
	tui_off(t, C_OK, A_BOLD);
	tui_off(t, C_WARN, A_BOLD);
	if (gps && jnum(gps, "rejected") > 0)
		mvprintw(1, 52, "(%.0f bad fixes ignored)", jnum(gps, "rejected"));

	n = open_orders(t, ord, TUI_ORDERS_MAX);
	if (n == 0) {
		attron(A_BOLD);
		mvprintw(y, 1, "NO OPEN ORDER. Waiting for the dispatcher.");
		attroff(A_BOLD);
		y += 2;
	} else {
		if (t->cur >= n)
			t->cur = n - 1;
		o = ord[t->cur];
		tui_on(t, C_HEAD, A_BOLD);
		mvprintw(y++, 1, "ORDER %s   (%d of %d)   %s%s", jstr(o, "id"), t->cur + 1, n,
		    strcmp(jstr(o, "state"), "arrived") == 0 ? "ON SITE" : "OPEN",
		    jbool(o, "accepted") ? ", ACCEPTED" : ", NOT YET ACCEPTED");
		tui_off(t, C_HEAD, A_BOLD);
		label(y++, "Fault", jstr(o, "category_name"));
		label(y++, "Address", jstr(o, "address"));
		snprintf(buf, sizeof(buf), "%s  %s", jstr(o, "customer"), jstr(o, "phone"));
		label(y++, "Customer", buf);
		label(y++, "Symptom", jstr(o, "summary"));
		site = jobj(o, "site");
		if (fix != NULL && site != NULL) {
			double d = maps_distance_m(jnum(fix, "lat"), jnum(fix, "lon"),
			    jnum(site, "lat"), jnum(site, "lon"));
			double b = bearing_deg(jnum(fix, "lat"), jnum(fix, "lon"),
			    jnum(site, "lat"), jnum(site, "lon"));

			if (d < 1000)
				snprintf(buf, sizeof(buf), "%.0f m, bearing %03.0f %s", d, b, compass(b));
			else
				snprintf(buf, sizeof(buf), "%.1f km, bearing %03.0f %s", d / 1000, b,
				    compass(b));
		} else
			snprintf(buf, sizeof(buf), "distance unknown (no GPS fix)");
		label(y++, "Site", buf);
		if (strcmp(jstr(o, "state"), "arrived") == 0)
			snprintf(buf, sizeof(buf), "arrived");
		else {
			time_left((int64_t)jnum(o, "arrive_by_ms"), now, left, sizeof(left));
			snprintf(buf, sizeof(buf), "%s  (%s)", clock_fmt_hms((int64_t)jnum(o,
			    "arrive_by_ms"), t1, sizeof(t1)), left);
		}
		label(y++, "Arrive by", buf);
		time_left((int64_t)jnum(o, "complete_by_ms"), now, left, sizeof(left));
		snprintf(buf, sizeof(buf), "%s  (%s)", clock_fmt_local((int64_t)jnum(o,
		    "complete_by_ms"), t1, sizeof(t1)), left);
		label(y++, "Finish by", buf);
		if (jbool(o, "delay_due")) {
			tui_on(t, C_WARN, A_BOLD | A_REVERSE);
			mvprintw(y, 1, " DELAY REASON NEEDED: press D ");
			tui_off(t, C_WARN, A_BOLD | A_REVERSE);
		} else if (jbool(o, "delay_sent"))
			mvprintw(y, 1, "Delay reported.");
		y++;
	}
	y++;
	if (jn != NULL) {
		int un = (int)jnum(jn, "unacked"), tb = (int)jnum(jn, "track_backlog");

		if (un == 0)
			tui_on(t, C_OK, A_BOLD);
		else
			tui_on(t, C_WARN, A_BOLD);
		mvprintw(y++, 1, "SENDING: %s", un == 0 ? "everything recorded is at the gateway" :
		    "");
		if (un > 0)
			printw("%d record(s) saved here, not yet confirmed by the gateway", un);
		tui_off(t, C_OK, A_BOLD);
		tui_off(t, C_WARN, A_BOLD);
		if (tb > 0)
			mvprintw(y++, 1, "         %d position(s) kept for the map", tb);
	}
	y = LINES - 4 > y ? LINES - 4 : y;
	attron(A_BOLD);
	mvprintw(y++, 1, "[A] ACCEPT  [R] ARRIVED  [P] PROGRESS  [D] DELAY  [C] COMPLETE");
	mvprintw(y++, 1, "[N] NEXT ORDER  [Q] QUIT");
	attroff(A_BOLD);
	if (t->fb[0]) {
		tui_on(t, t->fb_bad ? C_BAD : C_OK, A_BOLD | A_REVERSE);
		mvprintw(y++, 1, " %.*s ", COLS > 4 ? COLS - 4 : 1, t->fb);
		tui_off(t, t->fb_bad ? C_BAD : C_OK, A_BOLD | A_REVERSE);
		if (t->fb2[0])
			mvprintw(y, 1, " %.*s", COLS > 4 ? COLS - 4 : 1, t->fb2);
	}
	refresh();
}

/* ---- input ---- */

/* Ask on the bottom line; read a line into buf (cap). 0, or -1 when empty. */
static int
ask_line(const char *q, char *buf, int cap)
{
	int rc;

	move(LINES - 1, 0);
	clrtoeol();
	attron(A_BOLD | A_REVERSE);
	mvprintw(LINES - 1, 0, " %s ", q);
	attroff(A_BOLD | A_REVERSE);
	printw(" ");
	timeout(-1);
	echo();
	curs_set(1);
	rc = getnstr(buf, cap - 1);
	noecho();
	curs_set(0);
	timeout(TUI_REFRESH_MS);
	return rc == ERR || buf[0] == '\0' ? -1 : 0;
}

/* Ask a yes/no question; 1 yes. */
static int
ask_yes(const char *q)
{
	int ch;

	move(LINES - 1, 0);
	clrtoeol();
	attron(A_BOLD | A_REVERSE);
	mvprintw(LINES - 1, 0, " %s  [Y] yes  [N] no ", q);
	attroff(A_BOLD | A_REVERSE);
	timeout(-1);
	ch = getch();
	timeout(TUI_REFRESH_MS);
	return ch == 'y' || ch == 'Y';
}

static void
do_delay(struct tui *t, const char *id)
{
	char q[256] = "Reason:", in[TUI_INPUT_MAX];
	cJSON *req;
	long eta;
	char *end;
	int ch, i;

	for (i = 0; i < PROTO_DELAY_NREASONS; i++)
		snprintf(q + strlen(q), sizeof(q) - strlen(q), " %d %s", i + 1,
		    proto_delay_name((enum proto_delay_reason)i));
	move(LINES - 1, 0);
	clrtoeol();
	attron(A_BOLD | A_REVERSE);
	mvprintw(LINES - 1, 0, " %.*s ", COLS > 3 ? COLS - 3 : 1, q);
	attroff(A_BOLD | A_REVERSE);
	timeout(-1);
	ch = getch();
	timeout(TUI_REFRESH_MS);
	if (ch < '1' || ch >= '1' + PROTO_DELAY_NREASONS) {
		t->fb_bad = 1;
		snprintf(t->fb, sizeof(t->fb), "NOT RECORDED: no reason chosen (press D, then 1-%d)",
		    PROTO_DELAY_NREASONS);
		t->fb2[0] = '\0';
		return;
	}
	if ((req = order_req("delay", id)) == NULL)
		return;
	cJSON_AddStringToObject(req, "reason", proto_delay_name((enum proto_delay_reason)(ch - '1')));
	if (ask_line("New finish in how many minutes? (Enter: not known)", in, 16) == 0) {
		eta = strtol(in, &end, 10);
		if (*end != '\0' || eta < 1) {
			cJSON_Delete(req);
			t->fb_bad = 1;
			snprintf(t->fb, sizeof(t->fb), "NOT RECORDED: \"%.16s\" is not a number of "
			    "minutes", in);
			t->fb2[0] = '\0';
			return;
		}
		cJSON_AddNumberToObject(req, "eta_min", (double)eta);
	}
	if (ask_line(ch - '1' == PROTO_DELAY_OTHER ? "Why? (required)" :
	    "Note (Enter: none)", in, sizeof(in)) == 0)
		cJSON_AddStringToObject(req, "text", in);
	act(t, req);
}

/* Handle key ch. Returns 1 to quit. */
static int
key(struct tui *t, int ch)
{
	const cJSON *ord[TUI_ORDERS_MAX];
	char in[TUI_INPUT_MAX];
	const char *id;
	cJSON *req;
	int n = open_orders(t, ord, TUI_ORDERS_MAX);

	if (ch == 'q' || ch == 'Q')
		return 1;
	if (ch == 'n' || ch == 'N' || ch == '\t') {
		t->cur = n > 0 ? (t->cur + 1) % n : 0;
		snprintf(t->fb, sizeof(t->fb), "Showing order %d of %d", n ? t->cur + 1 : 0, n);
		t->fb2[0] = '\0';
		t->fb_bad = 0;
		return 0;
	}
	if (strchr("aArRpPdDcC", ch) == NULL || ch == 0) {
		if (ch != ERR && ch != KEY_RESIZE) {
			t->fb_bad = 1;
			snprintf(t->fb, sizeof(t->fb), "That key does nothing. Use A R P D C N Q.");
			t->fb2[0] = '\0';
		}
		return 0;
	}
	if (n == 0) {
		t->fb_bad = 1;
		snprintf(t->fb, sizeof(t->fb), "NOT RECORDED: there is no open order on this unit");
		t->fb2[0] = '\0';
		return 0;
	}
	id = jstr(ord[t->cur < n ? t->cur : 0], "id");
	switch (ch) {
	case 'a': case 'A':
		act(t, order_req("accept", id));
		break;
	case 'r': case 'R':
		if (!ask_yes("Declare ARRIVED by hand (recorded as not verified by GPS)?")) {
			t->fb_bad = 1;
			snprintf(t->fb, sizeof(t->fb), "Cancelled: arrival NOT recorded");
			t->fb2[0] = '\0';
			break;
		}
		act(t, order_req("arrive", id));
		break;
	case 'p': case 'P':
		if (ask_line("Progress (Enter to send, empty: cancel):", in, sizeof(in)) == -1) {
			t->fb_bad = 1;
			snprintf(t->fb, sizeof(t->fb), "Cancelled: no progress recorded");
			t->fb2[0] = '\0';
			break;
		}
		if ((req = order_req("progress", id)) != NULL) {
			cJSON_AddStringToObject(req, "text", in);
			act(t, req);
		}
		break;
	case 'd': case 'D':
		do_delay(t, id);
		break;
	case 'c': case 'C':
		if (!ask_yes("Repair COMPLETE, power restored?")) {
			t->fb_bad = 1;
			snprintf(t->fb, sizeof(t->fb), "Cancelled: completion NOT recorded");
			t->fb2[0] = '\0';
			break;
		}
		act(t, order_req("complete", id));
		break;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct tui t;
	int ch;

	if (argc != 2 || argv[1][0] == '\0') {
		fprintf(stderr, "usage: linecrew-screen SOCKET   (or: linecrew-device "
		    "-f device.conf screen)\n");
		return 2;
	}
	memset(&t, 0, sizeof(t));
	t.sock = argv[1];
	if ((t.ans = malloc(CTL_ANSWER_MAX + 1)) == NULL) {
		fprintf(stderr, "linecrew-screen: out of memory\n");
		return 2;
	}
	setlocale(LC_ALL, "");
	if (initscr() == NULL) {
		fprintf(stderr, "linecrew-screen: cannot start the terminal UI\n");
		free(t.ans);
		return 2;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors() && start_color() == OK) {
		use_default_colors();
		init_pair(C_OK, COLOR_GREEN, -1);
		init_pair(C_BAD, COLOR_RED, -1);
		init_pair(C_WARN, COLOR_YELLOW, -1);
		init_pair(C_HEAD, COLOR_CYAN, -1);
		t.color = 1;
	}
	timeout(TUI_REFRESH_MS);
	for (;;) {
		poll_status(&t);
		draw(&t);
		ch = getch();
		if (ch == ERR)
			continue;	/* a second passed: poll again */
		if (key(&t, ch))
			break;
	}
	endwin();
	cJSON_Delete(t.st);
	free(t.ans);
	return 0;
}
