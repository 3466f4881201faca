/*
 * log.h: the one logging API of both daemons and their tools (after OpenBSD's log.c).
 *
 * In the foreground lines go to stderr as
 *     2026-11-25 17:03:44.123 +08:00 gateway warning: <message>
 * otherwise to syslog. log_warn() appends ": strerror(errno)"; log_warnx() does not.
 * fatal()/fatalx() log and exit(1); use them only at start-up or on a broken invariant.
 */
#ifndef LC_LOG_H
#define LC_LOG_H

#define LC_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *ident, int foreground, int verbose);
void log_setverbose(int verbose);
void log_warn(const char *fmt, ...) LC_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LC_PRINTF(1, 2);
void log_info(const char *fmt, ...) LC_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LC_PRINTF(1, 2);
/* A security-relevant rejection (bad tag, replay, wrong device): always logged,
 * with the word "security" so operators can grep for it. */
void log_security(const char *fmt, ...) LC_PRINTF(1, 2);
_Noreturn void fatal(const char *fmt, ...) LC_PRINTF(1, 2);
_Noreturn void fatalx(const char *fmt, ...) LC_PRINTF(1, 2);

#endif
