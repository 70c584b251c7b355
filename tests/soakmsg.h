/*
 * soakmsg: the verified messages of the chaos soaks (tests/test_soak,
 * tests/test_soak_cluster).  A message from well-behaved client `from` to
 * client `to` (indices in the test, not ids) is one frame whose payload is
 *
 *	"W" from(4 hex) to(4 hex) seq(8 hex) len(4 hex) body checksum(8 hex)
 *
 * where seq numbers the pair's messages from 0, body is len printable
 * bytes derived from (from, to, seq), and checksum is FNV-1a over
 * everything before it.  A receiver that checks one knows it is whole,
 * which pair it belongs to and where in the pair's order; the order and
 * loss rules are the caller's.  Faulty clients' payloads never start with
 * 'W'.
 */
#ifndef MSGROUTER_TESTS_SOAKMSG_H
#define MSGROUTER_TESTS_SOAKMSG_H

#include <stddef.h>
#include <stdint.h>

#define SOAKMSG_BODY_MAX	12000
/* The longest frame soakmsg_build makes: id, header, body, sum, 0x00. */
#define SOAKMSG_FRAME_MAX	(4 + 21 + SOAKMSG_BODY_MAX + 8 + 1)

/* What soakmsg_check found in one payload. */
enum soakmsg_result {
	SOAKMSG_OK,		/* whole; the fields are set */
	SOAKMSG_FOREIGN,	/* not a soak message (a faulty client's) */
	SOAKMSG_MALFORMED,	/* 'W', but the header or length is wrong */
	SOAKMSG_CORRUPT,	/* the body or checksum differs */
};

struct soakmsg {
	unsigned	from, to;
	uint32_t	seq;
	size_t		len;		/* body bytes */
};

/* A small deterministic generator (xorshift32); *s must not be 0. */
uint32_t	soakmsg_rng(uint32_t *s);
/*
 * Build message seq from `from` to `to`, addressed to the id dst, with a
 * body of len bytes (at most SOAKMSG_BODY_MAX), into out (at least
 * SOAKMSG_FRAME_MAX bytes): the frame's length.
 */
size_t		soakmsg_build(char *out, uint32_t dst, unsigned from,
		    unsigned to, uint32_t seq, size_t len);
/*
 * Check one payload of mlen bytes (its 0x00 not counted); nclients bounds
 * from and to.
 */
enum soakmsg_result soakmsg_check(const char *m, size_t mlen,
		    unsigned nclients, struct soakmsg *);
/*
 * A faulty client's frame to dst: len payload bytes of random letters,
 * never 'W' first (so never taken for a verified message) nor 0x00,
 * appended at out + *used if it fits in cap (else nothing); 1 if added.
 */
int		soakmsg_junk(char *out, size_t cap, size_t *used, uint32_t dst,
		    size_t len, uint32_t *seed);

#endif
