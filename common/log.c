/* Logging to stderr or syslog with per-subsystem debug tokens. */
#include "config.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static const char *log_prog = "artmon";
static int log_syslog;
static int log_level;            /* 0 warn, 1 info, 2 debug */
static char log_tokens[256];     /* ",tok1,tok2," or "" for all */

void
log_init(const char *progname, int use_syslog)
{
	log_prog = progname;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(int level)
{
	log_level = level;
}

void
log_set_debug_tokens(const char *tokens)
{
	if (tokens == NULL || *tokens == '\0' || strcmp(tokens, "all") == 0) {
		log_tokens[0] = '\0';
	} else {
		snprintf(log_tokens, sizeof(log_tokens), ",%s,", tokens);
	}
	if (log_level < 2)
		log_level = 2;
}

int
log_debug_enabled(const char *token)
{
	char want[64];

	if (log_level < 2)
		return 0;
	if (log_tokens[0] == '\0' || token == NULL)
		return 1;
	snprintf(want, sizeof(want), ",%s,", token);
	return strstr(log_tokens, want) != NULL;
}

static void
log_vemit(int prio, const char *token, const char *fmt, va_list ap, const char *suffix)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		if (suffix)
			syslog(prio, "%s%s%s: %s", token ? "[" : "", token ? token : "", token ? "] " : "", msg);
		else
			syslog(prio, "%s%s%s%s", token ? "[" : "", token ? token : "", token ? "] " : "", msg);
		if (suffix)
			syslog(prio, "  (%s)", suffix);
		return;
	}
	const char *lvl = prio == LOG_DEBUG ? "debug" : prio == LOG_INFO ? "info" :
	    prio == LOG_CRIT ? "fatal" : prio == LOG_ERR ? "error" : "warning";
	fprintf(stderr, "%s: %s: %s%s%s%s%s%s\n", log_prog, lvl,
	    token ? "[" : "", token ? token : "", token ? "] " : "",
	    msg, suffix ? ": " : "", suffix ? suffix : "");
}

void
log_warn(const char *token, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	log_vemit(LOG_WARNING, token, fmt, ap, strerror(e));
	va_end(ap);
	errno = e;
}

void
log_errx(const char *token, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_ERR, token, fmt, ap, NULL);
	va_end(ap);
}

void
log_warnx(const char *token, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_WARNING, token, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *token, const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	log_vemit(LOG_INFO, token, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *token, const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_enabled(token))
		return;
	va_start(ap, fmt);
	log_vemit(LOG_DEBUG, token, fmt, ap, NULL);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_CRIT, NULL, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
