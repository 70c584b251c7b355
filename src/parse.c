/*
 * parse: strict parsers for integers, sizes and durations.  Every parser
 * rejects empty strings, signs, trailing garbage and overflow.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "msgrouter/parse.h"

/* Parse the leading decimal digits of s into *v; return the rest or NULL. */
static const char *
parse_digits(const char *s, uint64_t *v)
{
	uint64_t	n = 0;

	if (!isdigit((unsigned char)*s))
		return NULL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			return NULL;
		n = n * 10 + d;
	}
	*v = n;
	return s;
}

int
parse_uint(const char *s, uint64_t *v)
{
	const char	*end;

	if ((end = parse_digits(s, v)) == NULL || *end != '\0')
		return -1;
	return 0;
}

int
parse_size(const char *s, uint64_t *v)
{
	const char	*end;
	uint64_t	 n, mult = 1;

	if ((end = parse_digits(s, &n)) == NULL)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	default:
		return -1;
	}
	/* Accept an optional trailing B or iB ("8MB", "8MiB"). */
	if (mult != 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (mult != 1 && (*end == 'b' || *end == 'B'))
		end++;
	if (*end != '\0')
		return -1;
	if (n > UINT64_MAX / mult)
		return -1;
	*v = n * mult;
	return 0;
}

int
parse_duration_ms(const char *s, uint64_t *v)
{
	const char	*end;
	uint64_t	 n, mult;

	if ((end = parse_digits(s, &n)) == NULL)
		return -1;
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		mult = 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60 * 1000;
	else
		return -1;
	if (n > UINT64_MAX / mult)
		return -1;
	*v = n * mult;
	return 0;
}

void
format_size(uint64_t n, char *buf, unsigned long len)
{
	if (n != 0 && n % (1ULL << 30) == 0)
		snprintf(buf, len, "%lluG", (unsigned long long)(n >> 30));
	else if (n != 0 && n % (1ULL << 20) == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(n >> 20));
	else if (n != 0 && n % (1ULL << 10) == 0)
		snprintf(buf, len, "%lluK", (unsigned long long)(n >> 10));
	else
		snprintf(buf, len, "%llu", (unsigned long long)n);
}

void
format_duration_ms(uint64_t ms, char *buf, unsigned long len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}
