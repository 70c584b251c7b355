/*
 * log: timestamped lines on stderr, filtered by level.  libevent's own
 * messages are routed here too, so everything the daemon says has one shape.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "msgrouter/log.h"

static enum log_level log_level = LOG_LEVEL_INFO;

static const char *const log_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

/*
 * Write one line: ISO 8601 UTC time with milliseconds, level, message and,
 * when err is not 0, ": " and its strerror.
 */
static void
log_vwrite(enum log_level level, int err, const char *fmt, va_list ap)
{
	struct timespec	ts;
	struct tm	tm;
	char		line[1024], stamp[32];
	int		n, m;

	if (level < log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%03ldZ %-5s ", stamp,
	    ts.tv_nsec / 1000000, log_level_name(level));
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	m = vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (err != 0 && m >= 0 && (size_t)n + (size_t)m < sizeof line)
		snprintf(line + n + m, sizeof line - n - m, ": %s",
		    strerror(err));
	/*
	 * stderr is line buffered (log_init) and the line fits its buffer:
	 * one write(2) per line, so lines never interleave.
	 */
	fprintf(stderr, "%s\n", line);
}

/* Format and write one line at the given level. */
static void __attribute__((format(printf, 2, 3)))
log_write(enum log_level level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(level, 0, fmt, ap);
	va_end(ap);
}

/* Route libevent's internal messages into our log. */
static void
log_event_cb(int severity, const char *msg)
{
	enum log_level	level;

	switch (severity) {
	case EVENT_LOG_DEBUG:
		level = LOG_LEVEL_DEBUG;
		break;
	case EVENT_LOG_MSG:
		level = LOG_LEVEL_INFO;
		break;
	case EVENT_LOG_WARN:
		level = LOG_LEVEL_WARN;
		break;
	default:
		level = LOG_LEVEL_ERROR;
		break;
	}
	log_write(level, "libevent: %s", msg);
}

/* Set the level and take over libevent's logging; stderr is line buffered. */
void
log_init(enum log_level level)
{
	log_level = level;
	setvbuf(stderr, NULL, _IOLBF, 0);
	event_set_log_callback(log_event_cb);
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

/* Parse "debug", "info", "warn" or "error"; -1 if it is none of them. */
int
log_parse_level(const char *s, enum log_level *level)
{
	size_t	i;

	for (i = 0; i < sizeof log_names / sizeof log_names[0]; i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*level = LOG_LEVEL_WARN;
		return 0;
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if ((size_t)level >= sizeof log_names / sizeof log_names[0])
		return "unknown";
	return log_names[level];
}

/*
 * One function per level; the errno variants take errno before anything
 * (even the clock) can change it.
 */
#define LOG_FUNC(name, level, with_errno)			\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	ap;						\
	int	err = (with_errno) ? errno : 0;			\
								\
	va_start(ap, fmt);					\
	log_vwrite(level, err, fmt, ap);			\
	va_end(ap);						\
}

LOG_FUNC(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FUNC(log_info, LOG_LEVEL_INFO, 0)
LOG_FUNC(log_warn, LOG_LEVEL_WARN, 1)
LOG_FUNC(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FUNC(log_error, LOG_LEVEL_ERROR, 1)
LOG_FUNC(log_errorx, LOG_LEVEL_ERROR, 0)
