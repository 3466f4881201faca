/*
 * log.c: stderr in the foreground, syslog otherwise (after OpenBSD's log.c).
 *
 * Foreground lines carry the Asia/Shanghai time with milliseconds so a person
 * reading a test log or the demo can line events up with the timeline. The
 * module keeps three process-wide settings (ident, foreground, verbosity) set
 * by log_init(); nothing else here has state. Which of the two a daemon uses
 * is its `log` config key (log_dest_parse), decided in its main.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "clock.h"
#include "log.h"

static const char *log_ident = "linecrew";
static int log_fg = 1;
static int log_verbose;

void
log_init(const char *ident, int foreground, int verbose)
{
	log_ident = ident;
	log_fg = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_dest_parse(const char *s, enum log_dest *dest)
{
	if (strcmp(s, "auto") == 0)
		*dest = LOG_DEST_AUTO;
	else if (strcmp(s, "stderr") == 0)
		*dest = LOG_DEST_STDERR;
	else if (strcmp(s, "syslog") == 0)
		*dest = LOG_DEST_SYSLOG;
	else
		return -1;
	return 0;
}

int
log_level_parse(const char *s, int *verbose)
{
	if (strcmp(s, "info") == 0)
		*verbose = 0;
	else if (strcmp(s, "debug") == 0)
		*verbose = 1;
	else
		return -1;
	return 0;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

static void
vlog(int pri, const char *level, const char *fmt, va_list ap, int with_errno)
{
	char msg[2048];
	int saved = errno;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (with_errno && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(saved));
	if (log_fg) {
		struct timespec ts;
		char tbuf[CLOCK_FMT_MAX];
		int64_t ms;

		clock_gettime(CLOCK_REALTIME, &ts);
		ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		clock_fmt_local(ms, tbuf, sizeof(tbuf));
		/* "2026-11-25 17:03:44 +08:00" -> insert milliseconds before the zone */
		fprintf(stderr, "%.19s.%03d %s %s%s%s\n", tbuf, (int)(ms % 1000),
		    log_ident, level, *level ? ": " : "", msg);
		fflush(stderr);
	} else
		syslog(pri, "%s%s%s", level, *level ? ": " : "", msg);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning", fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning", fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, "", fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, "debug", fmt, ap, 0);
	va_end(ap);
}

void
log_security(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "security", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal", fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
