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
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "msgrouter/framing.h"

static const char hdr7[4] = { 0, 0, 0, 7 };

/* An input buffer and the framing state that scans it. */
struct fixture {
	struct evbuffer	*b;
	struct framing	 fr;
	uint32_t	 dst;	/* of the last frame found */
	size_t		 len;
};

static int
setup(void **state)
{
	struct fixture	*fx;

	if ((fx = calloc(1, sizeof *fx)) == NULL ||
	    (fx->b = evbuffer_new()) == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	evbuffer_free(fx->b);
	free(fx);
	return 0;
}

#define framing_test(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

/* framing_next on the fixture's input, with max for the frame's length. */
static enum framing_result
next(struct fixture *fx, size_t max)
{
	return framing_next(&fx->fr, fx->b, max, &fx->dst, &fx->len);
}

/* One whole frame in the buffer: its id and length (payload and 0x00). */
static void
test_one_frame(void **state)
{
	static const struct {
		const char	*bytes;	/* and the literal's 0x00 */
		size_t		 n, max;
		uint32_t	 dst;
		size_t		 len;
	} cases[] = {
		/* "hello" to id 7. */
		{ "\0\0\0\7hello", 10, 1024, 7, 6 },
		/* Ids hold 0x00 bytes: the search must start after them. */
		{ "\0\0\0\0x", 6, 1024, 0, 2 },
		/* An empty payload is a frame of one byte, the 0x00. */
		{ "\x12\x34\x56\x78", 5, 1, 0x12345678, 1 },
	};
	struct fixture	*fx = *state;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		evbuffer_drain(fx->b, evbuffer_get_length(fx->b));
		memset(&fx->fr, 0, sizeof fx->fr);
		evbuffer_add(fx->b, cases[i].bytes, cases[i].n);
		assert_int_equal(next(fx, cases[i].max), FRAMING_FRAME);
		assert_int_equal(fx->dst, cases[i].dst);
		assert_int_equal(fx->len, cases[i].len);
	}
}

/* Fewer than five bytes is never a frame, even a header alone. */
static void
test_short_input(void **state)
{
	struct fixture	*fx = *state;

	assert_int_equal(next(fx, 1024), FRAMING_NEED_MORE);
	evbuffer_add(fx->b, hdr7, 4);
	assert_int_equal(next(fx, 1024), FRAMING_NEED_MORE);
}

/* Byte by byte: NEED_MORE until the 0x00, and each byte scanned once. */
static void
test_one_byte_at_a_time(void **state)
{
	struct fixture	*fx = *state;
	const char	*msg = "fragmented payload";
	size_t		 i;

	for (i = 0; i < 4; i++) {
		evbuffer_add(fx->b, hdr7 + i, 1);
		assert_int_equal(next(fx, 1024), FRAMING_NEED_MORE);
	}
	for (i = 0; i < strlen(msg); i++) {
		evbuffer_add(fx->b, msg + i, 1);
		assert_int_equal(next(fx, 1024), FRAMING_NEED_MORE);
		/* The scan resumes where it stopped. */
		assert_int_equal(fx->fr.fr_scanned, i + 1);
	}
	evbuffer_add(fx->b, "", 1);
	assert_int_equal(next(fx, 1024), FRAMING_FRAME);
	assert_int_equal(fx->len, strlen(msg) + 1);
	assert_int_equal(fx->fr.fr_scanned, 0);
}

/* Hundreds of frames in one buffer to different ids come out in order. */
static void
test_coalesced(void **state)
{
	struct fixture	*fx = *state;
	char		 payload[32];
	uint32_t	 be;
	int		 i;

	for (i = 0; i < 500; i++) {
		be = htonl((uint32_t)(1000 + i));
		evbuffer_add(fx->b, &be, 4);
		snprintf(payload, sizeof payload, "m%d", i);
		evbuffer_add(fx->b, payload, strlen(payload) + 1);
	}
	for (i = 0; i < 500; i++) {
		assert_int_equal(next(fx, 1024), FRAMING_FRAME);
		assert_int_equal(fx->dst, 1000 + i);
		snprintf(payload, sizeof payload, "m%d", i);
		assert_int_equal(fx->len, strlen(payload) + 1);
		evbuffer_drain(fx->b, 4);
		assert_memory_equal(evbuffer_pullup(fx->b,
		    (ev_ssize_t)fx->len), payload, fx->len);
		evbuffer_drain(fx->b, fx->len);
	}
	assert_int_equal(next(fx, 1024), FRAMING_NEED_MORE);
	assert_int_equal(evbuffer_get_length(fx->b), 0);
}

/* Exactly max bytes (payload + 0x00) passes; one more is oversize. */
static void
test_max_boundary(void **state)
{
	struct fixture	*fx = *state;
	char		 payload[16];

	memset(payload, 'a', sizeof payload);
	evbuffer_add(fx->b, hdr7, 4);
	evbuffer_add(fx->b, payload, 9);
	evbuffer_add(fx->b, "", 1);
	assert_int_equal(next(fx, 10), FRAMING_FRAME);
	assert_int_equal(fx->len, 10);
	evbuffer_drain(fx->b, evbuffer_get_length(fx->b));

	fx->fr.fr_scanned = 0;
	evbuffer_add(fx->b, hdr7, 4);
	evbuffer_add(fx->b, payload, 10);
	evbuffer_add(fx->b, "", 1);
	assert_int_equal(next(fx, 10), FRAMING_OVERSIZE);
}

/* Oversize is known as soon as max bytes without 0x00 have arrived. */
static void
test_oversize_early(void **state)
{
	struct fixture	*fx = *state;
	char		 payload[100];

	memset(payload, 'z', sizeof payload);
	evbuffer_add(fx->b, hdr7, 4);
	evbuffer_add(fx->b, payload, 49);
	assert_int_equal(next(fx, 50), FRAMING_NEED_MORE);
	evbuffer_add(fx->b, payload, 1);
	assert_int_equal(next(fx, 50), FRAMING_OVERSIZE);
}

/* A large frame spread over many chains is found, scanning each byte once. */
static void
test_many_chains(void **state)
{
	struct fixture	*fx = *state;
	static char	 chunk[4096];
	int		 i;

	memset(chunk, 'q', sizeof chunk);
	evbuffer_add(fx->b, hdr7, 4);
	for (i = 0; i < 64; i++) {
		/* Separate chains: evbuffer_add_reference keeps them apart. */
		evbuffer_add_reference(fx->b, chunk, sizeof chunk, NULL, NULL);
		assert_int_equal(next(fx, 1 << 20), FRAMING_NEED_MORE);
		assert_int_equal(fx->fr.fr_scanned,
		    (size_t)(i + 1) * sizeof chunk);
	}
	evbuffer_add(fx->b, "", 1);
	assert_int_equal(next(fx, 1 << 20), FRAMING_FRAME);
	assert_int_equal(fx->len, 64 * sizeof chunk + 1);
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
	struct fixture	*fx = *state;

	evbuffer_add(fx->b, hdr7, 4);
	evbuffer_add(fx->b, "abcde", 5);
	assert_int_equal(next(fx, 17), FRAMING_NEED_MORE);
	/* Nothing new arrived; the limit is now below what was scanned. */
	assert_int_equal(next(fx, 1), FRAMING_OVERSIZE);
	assert_int_equal(next(fx, 5), FRAMING_OVERSIZE);
	/* A limit still above what was scanned waits for more, as before. */
	fx->fr.fr_scanned = 0;
	assert_int_equal(next(fx, 17), FRAMING_NEED_MORE);
	assert_int_equal(next(fx, 6), FRAMING_NEED_MORE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		framing_test(test_one_frame),
		framing_test(test_short_input),
		framing_test(test_one_byte_at_a_time),
		framing_test(test_coalesced),
		framing_test(test_max_boundary),
		framing_test(test_oversize_early),
		framing_test(test_many_chains),
		framing_test(test_max_shrinks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
