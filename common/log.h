/* Logging: levels, subsystem tokens for debug output, syslog or stderr. */
#ifndef AM_LOG_H
#define AM_LOG_H

#include <stdarg.h>

#define AM_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* progname: shown in every line; use_syslog: 0 = stderr. */
void log_init(const char *progname, int use_syslog);
/* Verbosity: 0 warnings, 1 info, 2 debug (all tokens). */
void log_set_level(int level);
/* Comma-separated list of debug tokens to show ("tracker,rules"); "all" for all. */
void log_set_debug_tokens(const char *tokens);
int log_debug_enabled(const char *token);

/* An error: something artmond cannot do (it usually exits), "error:" on stderr. */
void log_errx(const char *token, const char *fmt, ...) AM_PRINTF(2, 3);
void log_warn(const char *token, const char *fmt, ...) AM_PRINTF(2, 3);  /* appends strerror(errno) */
void log_warnx(const char *token, const char *fmt, ...) AM_PRINTF(2, 3);
void log_info(const char *token, const char *fmt, ...) AM_PRINTF(2, 3);
void log_debug(const char *token, const char *fmt, ...) AM_PRINTF(2, 3);
void fatalx(const char *fmt, ...) AM_PRINTF(1, 2) __attribute__((noreturn));

#endif
