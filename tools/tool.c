/*
 * tool: the command line, flag errors, TLS flags and connect, and clock of
 * the client tools.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
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

int
tool_tls_option(struct tool_tls *tt, int ch, const char *value)
{
	switch (ch) {
	case TOOL_OPT_TLS:
		tt->tt_on = 1;
		break;
	case TOOL_OPT_CA:
		tt->tt_ca = value;
		break;
	case TOOL_OPT_CERT:
		tt->tt_cert = value;
		break;
	case TOOL_OPT_KEY:
		tt->tt_key = value;
		break;
	case TOOL_OPT_INSECURE:
		tt->tt_insecure = 1;
		break;
	default:
		return -1;
	}
	return 0;
}

/* A TLS flag without --tls, or a lone --cert or --key: exit 2. */
static void
tool_tls_check(const struct tool_tls *tt)
{
	const char	*flag = NULL;

	if (!tt->tt_on) {
		if (tt->tt_ca != NULL)
			flag = "--ca";
		else if (tt->tt_cert != NULL)
			flag = "--cert";
		else if (tt->tt_key != NULL)
			flag = "--key";
		else if (tt->tt_insecure)
			flag = "--insecure";
		if (flag != NULL) {
			fprintf(stderr, "%s: %s needs --tls\n",
			    tool_self.tl_name, flag);
			exit(EXIT_USAGE);
		}
		return;
	}
	if ((tt->tt_cert == NULL) != (tt->tt_key == NULL)) {
		fprintf(stderr, "%s: %s needs %s\n", tool_self.tl_name,
		    tt->tt_cert != NULL ? "--cert" : "--key",
		    tt->tt_cert != NULL ? "--key" : "--cert");
		exit(EXIT_USAGE);
	}
}

void
tool_tls_start(struct tool_tls *tt)
{
	int	r = MR_OK;

	tool_tls_check(tt);
	if (!tt->tt_on)
		return;
	if ((tt->tt_tls = mr_tls_new()) == NULL) {
		fprintf(stderr, "%s: cannot start TLS: out of memory\n",
		    tool_self.tl_name);
		exit(1);
	}
	mr_tls_set_insecure(tt->tt_tls, tt->tt_insecure);
	if (tt->tt_ca != NULL)
		r = mr_tls_set_ca(tt->tt_tls, tt->tt_ca);
	if (r == MR_OK && tt->tt_cert != NULL)
		r = mr_tls_set_cert(tt->tt_tls, tt->tt_cert, tt->tt_key);
	if (r != MR_OK) {
		fprintf(stderr, "%s: %s\n", tool_self.tl_name,
		    r == MR_ETLS ? mr_tls_error(tt->tt_tls) : mr_strerror(r));
		exit(1);
	}
}

int
tool_connect(struct tool_tls *tt, const char *host, int timeout_ms,
    struct mr_client **out)
{
	if (tt->tt_tls != NULL)
		return mr_client_connect_tls(host, tt->tt_tls, timeout_ms, out);
	return mr_client_connect(host, timeout_ms, out);
}

const char *
tool_connect_error(const struct tool_tls *tt, int r)
{
	static char	buf[512];

	if (r == MR_ETLS && tt->tt_tls != NULL)
		return mr_tls_error(tt->tt_tls);
	if (r == MR_ECONNECT)
		return strerror(errno);
	if (r == MR_EIO) {
		snprintf(buf, sizeof buf, "%s: %s", mr_strerror(r),
		    strerror(errno));
		return buf;
	}
	return mr_strerror(r);
}

void
tool_tls_free(struct tool_tls *tt)
{
	mr_tls_free(tt->tt_tls);
	tt->tt_tls = NULL;
}
