/*
 * framing: bytes to frames.  A frame on the wire is a 4-byte big-endian
 * destination id, payload bytes (none of them 0x00) and one 0x00.  Framing
 * does no I/O: it looks at an evbuffer and says what its head holds.
 */
#ifndef MSGROUTER_FRAMING_H
#define MSGROUTER_FRAMING_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define FRAMING_HEADER_LEN	4
/* The smallest frame: a header and an empty payload's 0x00. */
#define FRAMING_MIN_FRAME	(FRAMING_HEADER_LEN + 1)

enum framing_result {
	FRAMING_NEED_MORE,	/* no complete frame yet */
	FRAMING_FRAME,		/* a complete frame is at the head */
	FRAMING_OVERSIZE,	/* no 0x00 within max bytes: unrecoverable */
};

/*
 * Per-connection framing state: how many bytes after the header are already
 * known to hold no 0x00, so a frame arriving in pieces is scanned once.
 */
struct framing {
	size_t	fr_scanned;
};

/*
 * Look at the head of buf.  On FRAMING_FRAME, *dst is the destination id and
 * *len the bytes of payload plus its 0x00 (the header not counted); the
 * caller consumes FRAMING_HEADER_LEN + *len bytes and the state is ready for
 * the next frame.  max bounds payload plus 0x00.
 */
enum framing_result	framing_next(struct framing *, struct evbuffer *,
			    size_t max, uint32_t *dst, size_t *len);

#endif
