/*
 * Unit tests for framing: frames found in in-memory evbuffers, whatever the
 * chunking.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "msgrouter/framing.h"

static const char hdr7[4] = { 0, 0, 0, 7 };

/* A frame whose payload is "hello" to id 7. */
static void
test_whole_frame(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	struct framing	 fr = { 0 };
	uint32_t	 dst;
	size_t		 len;

	evbuffer_add(b, hdr7, 4);
	evbuffer_add(b, "hello", 6);
	assert_int_equal(framing_next(&fr, b, 1024, &dst, &len),
	    FRAMING_FRAME);
	assert_int_equal(dst, 7);
	assert_int_equal(len, 6);
	evbuffer_free(b);
}

/* Fewer than five bytes is never a frame, even a header alone. */
static void
test_short_input(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	struct framing	 fr = { 0 };
	uint32_t	 dst;
	size_t		 len;

	assert_int_equal(framing_next(&fr, b, 1024, &dst, &len),
	    FRAMING_NEED_MORE);
	evbuffer_add(b, hdr7, 4);
	assert_int_equal(framing_next(&fr, b, 1024, &dst, &len),
	    FRAMING_NEED_MORE);
	evbuffer_free(b);
}

/* Ids hold 0x00 bytes: the search must start after the header. */
static void
test_header_zero_bytes(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	struct framing	 fr = { 0 };
	const char	 hdr[4] = { 0, 0, 0, 0 };
	uint32_t	 dst;
	size_t		 len;

	evbuffer_add(b, hdr, 4);
	evbuffer_add(b, "x", 2);
	assert_int_equal(framing_next(&fr, b, 1024, &dst, &len),
	    FRAMING_FRAME);
	assert_int_equal(dst, 0);
	assert_int_equal(len, 2);
	evbuffer_free(b);
}

/* An empty payload is a frame of one byte, the 0x00. */
static void
test_empty_payload(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	struct framing	 fr = { 0 };
	const char	 f[5] = { 0x12, 0x34, 0x56, 0x78, 0 };
	uint32_t	 dst;
	size_t		 len;

	evbuffer_add(b, f, 5);
	assert_int_equal(framing_next(&fr, b, 1, &dst, &len), FRAMING_FRAME);
	assert_int_equal(dst, 0x12345678);
	assert_int_equal(len, 1);
	evbuffer_free(b);
}

/* Byte by byte: NEED_MORE until the 0x00, and each byte scanned once. */
static void
test_one_byte_at_a_time(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	struct framing	 fr = { 0 };
	const char	*msg = "fragmented payload";
	uint32_t	 dst;
	size_t		 len, i;

	for (i = 0; i < 4; i++) {
		evbuffer_add(b, hdr7 + i, 1);
		assert_int_equal(framing_next(&fr, b, 1024, &dst, &len),
		    FRAMING_NEED_MORE);
	}
	for (i = 0; i < strlen(msg); i++) {
		evbuffer_add(b, msg + i, 1);
		assert_int_equal(framing_next(&fr, b, 1024, &dst, &len),
		    FRAMING_NEED_MORE);
		/* The scan resumes where it stopped. */
		assert_int_equal(fr.fr_scanned, i + 1);
	}
	evbuffer_add(b, "", 1);
	assert_int_equal(framing_next(&fr, b, 1024, &dst, &len),
	    FRAMING_FRAME);
	assert_int_equal(len, strlen(msg) + 1);
	assert_int_equal(fr.fr_scanned, 0);
	evbuffer_free(b);
}

/* Hundreds of frames in one buffer to different ids come out in order. */
static void
test_coalesced(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	struct framing	 fr = { 0 };
	char		 payload[32];
	uint32_t	 dst, be;
	size_t		 len;
	int		 i;

	for (i = 0; i < 500; i++) {
		be = htonl((uint32_t)(1000 + i));
		evbuffer_add(b, &be, 4);
		snprintf(payload, sizeof payload, "m%d", i);
		evbuffer_add(b, payload, strlen(payload) + 1);
	}
	for (i = 0; i < 500; i++) {
		assert_int_equal(framing_next(&fr, b, 1024, &dst, &len),
		    FRAMING_FRAME);
		assert_int_equal(dst, 1000 + i);
		snprintf(payload, sizeof payload, "m%d", i);
		assert_int_equal(len, strlen(payload) + 1);
		evbuffer_drain(b, 4);
		assert_memory_equal(evbuffer_pullup(b, (ev_ssize_t)len),
		    payload, len);
		evbuffer_drain(b, len);
	}
	assert_int_equal(framing_next(&fr, b, 1024, &dst, &len),
	    FRAMING_NEED_MORE);
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

/* Exactly max bytes (payload + 0x00) passes; one more is oversize. */
static void
test_max_boundary(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	struct framing	 fr = { 0 };
	char		 payload[16];
	uint32_t	 dst;
	size_t		 len;

	memset(payload, 'a', sizeof payload);
	evbuffer_add(b, hdr7, 4);
	evbuffer_add(b, payload, 9);
	evbuffer_add(b, "", 1);
	assert_int_equal(framing_next(&fr, b, 10, &dst, &len), FRAMING_FRAME);
	assert_int_equal(len, 10);
	evbuffer_drain(b, evbuffer_get_length(b));

	fr.fr_scanned = 0;
	evbuffer_add(b, hdr7, 4);
	evbuffer_add(b, payload, 10);
	evbuffer_add(b, "", 1);
	assert_int_equal(framing_next(&fr, b, 10, &dst, &len),
	    FRAMING_OVERSIZE);
	evbuffer_free(b);
}

/* Oversize is known as soon as max bytes without 0x00 have arrived. */
static void
test_oversize_early(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	struct framing	 fr = { 0 };
	char		 payload[100];
	uint32_t	 dst;
	size_t		 len;

	memset(payload, 'z', sizeof payload);
	evbuffer_add(b, hdr7, 4);
	evbuffer_add(b, payload, 49);
	assert_int_equal(framing_next(&fr, b, 50, &dst, &len),
	    FRAMING_NEED_MORE);
	evbuffer_add(b, payload, 1);
	assert_int_equal(framing_next(&fr, b, 50, &dst, &len),
	    FRAMING_OVERSIZE);
	evbuffer_free(b);
}

/* A large frame spread over many chains is found, scanning each byte once. */
static void
test_many_chains(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	struct framing	 fr = { 0 };
	static char	 chunk[4096];
	uint32_t	 dst;
	size_t		 len;
	int		 i;

	memset(chunk, 'q', sizeof chunk);
	evbuffer_add(b, hdr7, 4);
	for (i = 0; i < 64; i++) {
		/* Separate chains: evbuffer_add_reference keeps them apart. */
		evbuffer_add_reference(b, chunk, sizeof chunk, NULL, NULL);
		assert_int_equal(framing_next(&fr, b, 1 << 20, &dst, &len),
		    FRAMING_NEED_MORE);
		assert_int_equal(fr.fr_scanned, (size_t)(i + 1) * sizeof chunk);
	}
	evbuffer_add(b, "", 1);
	assert_int_equal(framing_next(&fr, b, 1 << 20, &dst, &len),
	    FRAMING_FRAME);
	assert_int_equal(len, 64 * sizeof chunk + 1);
	evbuffer_free(b);
}

/*
 * A smaller max after part of a frame was scanned (a reload): the bytes
 * already scanned, with no 0x00 among them, are past the new max, so the
 * frame is oversize at once, not "need more".  Found by fuzz_router: with
 * the input already holding max + 4 bytes the daemon would not read, and
 * "need more" left the readable socket spinning the loop.
 */
static void
test_max_shrinks(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	struct framing	 fr = { 0 };
	uint32_t	 dst;
	size_t		 len;

	evbuffer_add(b, hdr7, 4);
	evbuffer_add(b, "abcde", 5);
	assert_int_equal(framing_next(&fr, b, 17, &dst, &len),
	    FRAMING_NEED_MORE);
	/* Nothing new arrived; the limit is now below what was scanned. */
	assert_int_equal(framing_next(&fr, b, 1, &dst, &len),
	    FRAMING_OVERSIZE);
	assert_int_equal(framing_next(&fr, b, 5, &dst, &len),
	    FRAMING_OVERSIZE);
	/* A limit still above what was scanned waits for more, as before. */
	fr.fr_scanned = 0;
	assert_int_equal(framing_next(&fr, b, 17, &dst, &len),
	    FRAMING_NEED_MORE);
	assert_int_equal(framing_next(&fr, b, 6, &dst, &len),
	    FRAMING_NEED_MORE);
	evbuffer_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_frame),
		cmocka_unit_test(test_short_input),
		cmocka_unit_test(test_header_zero_bytes),
		cmocka_unit_test(test_empty_payload),
		cmocka_unit_test(test_one_byte_at_a_time),
		cmocka_unit_test(test_coalesced),
		cmocka_unit_test(test_max_boundary),
		cmocka_unit_test(test_oversize_early),
		cmocka_unit_test(test_many_chains),
		cmocka_unit_test(test_max_shrinks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
