/*
 * tool: the command line, flag errors and clock of the client tools.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include "tool.h"

#define TOOL_NS		1000000000ULL
#define TOOL_NS_PER_MS	1000000ULL

void
tool_getopt(int argc, char **argv, void *arg)
{
	const struct tool	*t = &tool_self;
	int			 ch;

	while ((ch = getopt_long(argc, argv, t->tl_shortopts, t->tl_longopts,
	    NULL)) != -1) {
		if (ch == 'h') {
			t->tl_usage(stdout);
			exit(0);
		}
		if (ch == '?' || t->tl_option(arg, ch, optarg) != 0) {
			t->tl_usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", t->tl_name,
		    argv[optind]);
		t->tl_usage(stderr);
		exit(EXIT_USAGE);
	}
}

void
tool_bad_flag(const char *flag, const char *value, const char *expected)
{
	fprintf(stderr, "%s: %s: expected %s, got \"%s\"\n", tool_self.tl_name,
	    flag, expected, value);
	exit(EXIT_USAGE);
}

int
tool_parse_seconds(const char *s, double min, double max, double *out)
{
	double	 v;
	char	*end;

	errno = 0;
	v = strtod(s, &end);
	/* Written so that NaN fails too. */
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
		return -1;
	*out = v;
	return 0;
}

uint64_t
tool_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TOOL_NS + (uint64_t)ts.tv_nsec;
}

int
tool_ms_until(uint64_t deadline)
{
	uint64_t	now = tool_now_ns(), ms;

	if (deadline <= now)
		return 0;
	ms = (deadline - now + TOOL_NS_PER_MS - 1) / TOOL_NS_PER_MS;
	return ms >= INT_MAX ? INT_MAX : (int)ms;
}
