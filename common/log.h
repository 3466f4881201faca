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
/*
 * The `log` and `log_level` config keys of both daemons. log_dest_parse():
 * "auto" (stderr in the foreground, syslog when daemonised), "stderr" or
 * "syslog" into *dest; log_level_parse(): "info" 0 or "debug" 1 into *verbose.
 * Both return 0, or -1 for any other word (*out untouched); they do not log.
 */
enum log_dest { LOG_DEST_AUTO, LOG_DEST_STDERR, LOG_DEST_SYSLOG };
int log_dest_parse(const char *s, enum log_dest *dest);
int log_level_parse(const char *s, int *verbose);
_Noreturn void fatal(const char *fmt, ...) LC_PRINTF(1, 2);
_Noreturn void fatalx(const char *fmt, ...) LC_PRINTF(1, 2);

#endif
