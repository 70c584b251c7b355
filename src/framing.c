/*
 * framing: find the next frame at the head of an evbuffer.
 */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include <event2/buffer.h>

#include "msgrouter/framing.h"

enum framing_result
framing_next(struct framing *fr, struct evbuffer *buf, size_t max,
    uint32_t *dst, size_t *len)
{
	struct evbuffer_ptr	 start, found;
	size_t			 have, limit;
	uint32_t		 be;

	have = evbuffer_get_length(buf);
	if (have < FRAMING_MIN_FRAME)
		return FRAMING_NEED_MORE;
	have -= FRAMING_HEADER_LEN;

	/*
	 * Search only the bytes not yet scanned, and no further than the
	 * largest frame allowed: a sender cannot make us scan more than max.
	 * The limit comes first: max may have shrunk (a reload) below what
	 * was already scanned, and "nothing new to scan" must not hide that
	 * the frame is oversize, or a full input would never be consumed.
	 */
	limit = have < max ? have : max;
	if (fr->fr_scanned >= limit)
		return limit >= max ? FRAMING_OVERSIZE : FRAMING_NEED_MORE;
	if (evbuffer_ptr_set(buf, &start, FRAMING_HEADER_LEN + fr->fr_scanned,
	    EVBUFFER_PTR_SET) != 0)
		return FRAMING_NEED_MORE;
	if (limit < have) {
		struct evbuffer_ptr end;
		if (evbuffer_ptr_set(buf, &end, FRAMING_HEADER_LEN + limit,
		    EVBUFFER_PTR_SET) != 0)
			return FRAMING_NEED_MORE;
		found = evbuffer_search_range(buf, "", 1, &start, &end);
	} else
		found = evbuffer_search(buf, "", 1, &start);

	if (found.pos < 0) {
		fr->fr_scanned = limit;
		return limit >= max ? FRAMING_OVERSIZE : FRAMING_NEED_MORE;
	}

	evbuffer_copyout(buf, &be, sizeof be);
	*dst = ntohl(be);
	*len = (size_t)found.pos - FRAMING_HEADER_LEN + 1;
	fr->fr_scanned = 0;
	return FRAMING_FRAME;
}
