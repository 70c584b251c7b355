/*
 * fuzz_framing: framing_next against a plain reference parser.  The input's
 * first byte picks max_message_size; the rest alternates a chunk length and
 * that many bytes.  Each chunk is moved into the buffer as a chain of its own
 * (as the daemon's reads land), then every frame framing_next finds is
 * checked against what a byte-by-byte scan of the whole stream says, and
 * consumed the way the router consumes it.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "msgrouter/framing.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What the stream holds at pos, by definition of the protocol. */
static enum framing_result
reference_next(const uint8_t *s, size_t end, size_t pos, size_t max,
    uint32_t *dst, size_t *len)
{
	size_t	i, avail;

	if (end - pos < FRAMING_MIN_FRAME)
		return FRAMING_NEED_MORE;
	avail = end - pos - FRAMING_HEADER_LEN;
	for (i = 0; i < avail && i < max; i++) {
		if (s[pos + FRAMING_HEADER_LEN + i] == 0) {
			*dst = (uint32_t)s[pos] << 24 |
			    (uint32_t)s[pos + 1] << 16 |
			    (uint32_t)s[pos + 2] << 8 | s[pos + 3];
			*len = i + 1;
			return FRAMING_FRAME;
		}
	}
	return avail >= max ? FRAMING_OVERSIZE : FRAMING_NEED_MORE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer	*buf, *chunk;
	struct framing	 fr = { 0 };
	uint8_t		*stream;
	size_t		 max, off = 1, end = 0, pos = 0, n, len, rlen;
	uint32_t	 dst, rdst;
	enum framing_result r, want;

	if (size < 1)
		return 0;
	/* Small limits reach the oversize edge often; 0 means "large". */
	max = data[0] == 0 ? 1024 * 1024 : data[0];
	if ((stream = malloc(size)) == NULL)
		return 0;
	buf = evbuffer_new();
	chunk = evbuffer_new();
	if (buf == NULL || chunk == NULL)
		abort();

	while (off < size) {
		n = data[off++] % 32 + 1;
		if (n > size - off)
			n = size - off;
		memcpy(stream + end, data + off, n);
		end += n;
		evbuffer_add(chunk, data + off, n);
		evbuffer_add_buffer(buf, chunk);
		off += n;

		for (;;) {
			r = framing_next(&fr, buf, max, &dst, &len);
			want = reference_next(stream, end, pos, max, &rdst,
			    &rlen);
			if (r != want)
				abort();
			if (evbuffer_get_length(buf) != end - pos)
				abort();
			if (r != FRAMING_FRAME)
				break;
			if (dst != rdst || len != rlen || len > max)
				abort();
			evbuffer_drain(buf, FRAMING_HEADER_LEN + len);
			pos += FRAMING_HEADER_LEN + len;
		}
		if (r == FRAMING_OVERSIZE)
			break;
	}
	evbuffer_free(chunk);
	evbuffer_free(buf);
	free(stream);
	return 0;
}
