/*
 * fuzz_admin_query: the admin interface's pure request functions and the
 * value parsers they share with the command line.  The first byte picks
 * the function; the rest is its argument (two arguments split at the first
 * newline).  Each result is checked against its documented contract.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msgrouter/admin.h"
#include "msgrouter/config.h"
#include "msgrouter/parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The /clients query string: accepted values are within their bounds. */
static void
fuzz_query(const char *s)
{
	struct admin_query	 q;
	const char		*why = NULL;

	if (admin_parse_clients_query(s, &q, &why) == 0) {
		if (q.aq_limit < 1 || q.aq_limit > ADMIN_LIMIT_MAX)
			abort();
		if (q.aq_sort_queued && (q.aq_closed || q.aq_cursor != 0))
			abort();
	} else if (why == NULL || why[0] == '\0')
		abort();
}

/* The bearer token check: only the exact token grants access. */
static void
fuzz_token(char *s)
{
	char	*auth = strchr(s, '\n'), hdr[512];
	size_t	 tlen;

	if (auth == NULL)
		return;
	*auth++ = '\0';
	tlen = strlen(s);
	/* Longer tokens are refused by the configuration: none to check. */
	if (tlen >= CONFIG_TOKEN_MAX)
		return;
	if (admin_token_ok(s, auth) && tlen > 0) {
		/* Granted: auth is "Bearer", spaces, then exactly the token. */
		if (strncasecmp(auth, "Bearer ", 7) != 0)
			abort();
		auth += 7;
		while (*auth == ' ')
			auth++;
		if (strcmp(auth, s) != 0)
			abort();
	}
	/* The header form grants its token (spaces after Bearer are skipped). */
	snprintf(hdr, sizeof hdr, "Bearer %s", s);
	if (s[0] != ' ' && !admin_token_ok(s, hdr))
		abort();
}

/* Sizes, durations, integers: what parses formats back to itself. */
static void
fuzz_values(const char *s)
{
	uint64_t	v, w;
	char		buf[32];

	if (parse_size(s, &v) == 0) {
		format_size(v, buf, sizeof buf);
		if (parse_size(buf, &w) != 0 || w != v)
			abort();
	}
	if (parse_uint(s, &v) == 0 && parse_size(s, &w) != 0)
		abort();
	(void)parse_duration_ms(s, &v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size < 1)
		return 0;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		fuzz_query(s);
		break;
	case 1:
		fuzz_token(s);
		break;
	default:
		fuzz_values(s);
		break;
	}
	free(s);
	return 0;
}
