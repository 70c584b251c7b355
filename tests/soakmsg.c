/*
 * soakmsg: the verified messages of the chaos soaks (tests/soakmsg.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "soakmsg.h"

/* The header: "W" from to seq len, in hex. */
#define SOAKMSG_HEAD	21

static uint32_t
soakmsg_fnv1a(const char *p, size_t n)
{
	uint32_t	h = 2166136261u;

	while (n-- > 0)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

uint32_t
soakmsg_rng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* The body of message seq from one client to another: printable bytes. */
static void
soakmsg_body(char *p, size_t len, unsigned from, unsigned to, uint32_t seq)
{
	uint32_t	s = (uint32_t)from * 7919u + (uint32_t)to * 104729u +
			    seq * 2654435761u + 1;
	size_t		i;

	if (s == 0)
		s = 1;
	for (i = 0; i < len; i++)
		p[i] = (char)('a' + soakmsg_rng(&s) % 26);
}

size_t
soakmsg_build(char *out, uint32_t dst, unsigned from, unsigned to,
    uint32_t seq, size_t len)
{
	char		*p = out + 4;
	uint32_t	 be = htonl(dst);
	int		 n;

	memcpy(out, &be, 4);
	n = snprintf(p, 32, "W%04x%04x%08x%04zx", from, to, seq, len);
	soakmsg_body(p + n, len, from, to, seq);
	snprintf(p + n + len, 9, "%08x", soakmsg_fnv1a(p, (size_t)n + len));
	p[n + len + 8] = '\0';
	return 4 + (size_t)n + len + 8 + 1;
}

enum soakmsg_result
soakmsg_check(const char *m, size_t mlen, unsigned nclients,
    struct soakmsg *sm)
{
	unsigned int	 from, to, seq, len;
	char		 body[SOAKMSG_BODY_MAX], hex[9];

	if (mlen == 0 || m[0] != 'W')
		return SOAKMSG_FOREIGN;
	if (mlen < SOAKMSG_HEAD + 8 || sscanf(m, "W%4x%4x%8x%4x", &from, &to,
	    &seq, &len) != 4 || from >= nclients || to >= nclients ||
	    len > SOAKMSG_BODY_MAX || mlen != SOAKMSG_HEAD + len + 8)
		return SOAKMSG_MALFORMED;
	sm->from = from;
	sm->to = to;
	sm->seq = seq;
	sm->len = len;
	snprintf(hex, sizeof hex, "%08x", soakmsg_fnv1a(m, SOAKMSG_HEAD + len));
	soakmsg_body(body, len, from, to, seq);
	if (memcmp(m + SOAKMSG_HEAD + len, hex, 8) != 0 ||
	    memcmp(m + SOAKMSG_HEAD, body, len) != 0)
		return SOAKMSG_CORRUPT;
	return SOAKMSG_OK;
}

int
soakmsg_junk(char *out, size_t cap, size_t *used, uint32_t dst, size_t len,
    uint32_t *seed)
{
	uint32_t	 be = htonl(dst);
	char		*p = out + *used;
	size_t		 i;

	if (*used + 4 + len + 1 > cap)
		return 0;
	memcpy(p, &be, 4);
	p[4] = 'X';
	for (i = 1; i < len; i++)
		p[4 + i] = (char)('A' + soakmsg_rng(seed) % 20);
	p[4 + len] = '\0';
	*used += 4 + len + 1;
	return 1;
}
